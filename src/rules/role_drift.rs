use super::evidence::{agent_label, identity_label, identity_steps, role_step};
use super::{AuditContext, Finding, PathStep, Rule, RuleMeta, Severity};
use crate::graph::IdentityGraph;
use crate::model::{AgentStatus, InAccount, TicketScope};
use crate::policy::{RoleMapping, RoleRef};

pub struct RoleDrift;

static META: RuleMeta = RuleMeta {
    id: "role-drift",
    severity: Severity::Medium,
    summary: "Active agent holds a role, ticket scope or group that the policy's role_mapping does not grant to its IdP department or groups.",
    action: "Bring the agent back to what its department allows (remove the role, narrow the scope, leave the group), or record the approved difference in role_mapping or as an exception.",
    controls: &[
        "SOC 2 CC6.2",
        "SOC 2 CC6.3",
        "ISO 27001 A.5.15",
        "ISO 27001 A.5.18",
        "ISO 27001 A.8.2",
    ],
};

impl Rule for RoleDrift {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let mapping = &ctx.policy.role_mapping;
        if mapping.is_empty() {
            return Vec::new();
        }
        let g = ctx.graph;
        g.agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Active)
            .filter_map(|(i, _)| check_agent(g, mapping, i))
            .collect()
    }
}

/// What the IdP says about the person: departments and groups over all their identities.
struct Attributes {
    departments: Vec<String>,
    groups: Vec<String>,
}

impl Attributes {
    fn of(g: &IdentityGraph, agent: usize) -> Attributes {
        let mut attrs = Attributes {
            departments: Vec::new(),
            groups: Vec::new(),
        };
        for link in g.identities_of(agent) {
            if let Some(dept) = &link.identity.department {
                push_unique(&mut attrs.departments, dept.trim());
            }
            for group in &link.identity.groups {
                push_unique(&mut attrs.groups, group.trim());
            }
        }
        attrs
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.departments.is_empty() {
            parts.push(format!("department {}", self.departments.join(", ")));
        }
        if !self.groups.is_empty() {
            parts.push(format!("IdP groups {}", self.groups.join(", ")));
        }
        parts.join("; ")
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !list.iter().any(|v| v.eq_ignore_ascii_case(value)) {
        list.push(value.to_owned());
    }
}

/// An entry applies when every attribute it names matches the person (case-insensitively):
/// `department` one of their departments, `group` one of their IdP groups.
fn applies(entry: &RoleMapping, attrs: &Attributes) -> bool {
    let has = |want: &Option<String>, have: &[String]| {
        want.as_deref()
            .is_none_or(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w.trim())))
    };
    (entry.department.is_some() || entry.group.is_some())
        && has(&entry.department, &attrs.departments)
        && has(&entry.group, &attrs.groups)
}

fn entry_label(index: usize, entry: &RoleMapping) -> String {
    let mut names = Vec::new();
    if let Some(d) = &entry.department {
        names.push(format!("department = \"{d}\""));
    }
    if let Some(gr) = &entry.group {
        names.push(format!("group = \"{gr}\""));
    }
    format!("role_mapping[{index}] ({})", names.join(", "))
}

fn role_ref_label(r: &RoleRef) -> String {
    match r {
        RoleRef::Name(name) => name.clone(),
        RoleRef::Id(id) => format!("#{id}"),
    }
}

/// What the matching entries grant together: a union, so a person in two mapped
/// departments may hold what either allows. `None` means unconstrained (some
/// matching entry leaves that list empty, or that bound unset).
struct Grant {
    roles: Option<Vec<RoleRef>>,
    groups: Option<Vec<String>>,
    max_scope: Option<TicketScope>,
}

impl Grant {
    fn of(entries: &[(usize, &RoleMapping)]) -> Grant {
        let any_empty = |f: fn(&RoleMapping) -> bool| entries.iter().any(|(_, e)| f(e));
        Grant {
            roles: (!any_empty(|e| e.roles.is_empty())).then(|| {
                entries
                    .iter()
                    .flat_map(|(_, e)| e.roles.iter().cloned())
                    .collect()
            }),
            groups: (!any_empty(|e| e.groups.is_empty())).then(|| {
                entries
                    .iter()
                    .flat_map(|(_, e)| e.groups.iter().cloned())
                    .collect()
            }),
            max_scope: entries
                .iter()
                .map(|(_, e)| e.max_ticket_scope)
                .collect::<Option<Vec<_>>>()
                .and_then(|scopes| scopes.into_iter().min()),
        }
    }

    fn allows_role(&self, g: &IdentityGraph, role: InAccount) -> bool {
        let name = g.directory.roles.get(&role).map(|r| r.name.as_str());
        self.roles.as_ref().is_none_or(|roles| {
            roles.iter().any(|r| match r {
                RoleRef::Id(id) => *id == role.id,
                RoleRef::Name(want) => name.is_some_and(|n| n.trim().eq_ignore_ascii_case(want.trim())),
            })
        })
    }

    fn allows_group(&self, name: &str) -> bool {
        self.groups.as_ref().is_none_or(|groups| {
            groups
                .iter()
                .any(|gr| gr.trim().eq_ignore_ascii_case(name.trim()))
        })
    }
}

fn check_agent(g: &IdentityGraph, mapping: &[RoleMapping], i: usize) -> Option<Finding> {
    let agent = g.agent(i);
    let links = g.identities_of(i);
    // No identity at all is orphaned-agent's finding; there is no department to compare.
    if links.is_empty() {
        return None;
    }
    let roles: Vec<InAccount> = g.role_ids_of(i).collect();
    let role_names: Vec<String> = roles.iter().map(|&r| g.directory.role_name(r)).collect();
    let attrs = Attributes::of(g, i);
    let entries: Vec<(usize, &RoleMapping)> = mapping
        .iter()
        .enumerate()
        .filter(|(_, e)| applies(e, &attrs))
        .collect();

    let mut steps = identity_steps(g, agent, &links);
    for link in &links {
        if let Some(dept) = &link.identity.department {
            steps.push(PathStep {
                from: identity_label(g, link),
                edge: "in department".to_owned(),
                to: format!("department {dept}"),
            });
        }
        for group in &link.identity.groups {
            steps.push(PathStep {
                from: identity_label(g, link),
                edge: "member of IdP group".to_owned(),
                to: format!("IdP group {group}"),
            });
        }
    }

    if entries.is_empty() {
        // No department or group at all (e.g. Okta's Password Health report
        // has none): nothing to compare, so no finding rather than noise.
        if roles.is_empty() || attrs.departments.is_empty() && attrs.groups.is_empty() {
            return None;
        }
        return Some(
            META.finding(
                i,
                agent.id,
                if attrs.departments.is_empty() && attrs.groups.is_empty() {
                    format!(
                        "holds {} but its IdP identities name no department or group, so no role_mapping \
                         entry covers it",
                        role_names.join(", ")
                    )
                } else {
                    format!(
                        "holds {} but no role_mapping entry covers its {}",
                        role_names.join(", "),
                        attrs.describe()
                    )
                },
            )
            .steps(roles.iter().map(|&r| role_step(g, agent, r)))
            .steps(steps)
            .value("held_roles", role_names.join("; "))
            .value("departments", list_or_none(&attrs.departments))
            .value("idp_groups", list_or_none(&attrs.groups))
            .value("matching_entries", "none"),
        );
    }

    let grant = Grant::of(&entries);
    let drifted: Vec<InAccount> = roles
        .iter()
        .copied()
        .filter(|&r| !grant.allows_role(g, r))
        .collect();
    let scope = g.scope_of(i);
    let too_broad = match (scope, grant.max_scope) {
        (Some(have), Some(max)) => have < max,
        _ => false,
    };
    let group_ids: Vec<InAccount> = g.group_ids_of(i).collect();
    let outside: Vec<InAccount> = group_ids
        .iter()
        .copied()
        .filter(|&gid| !grant.allows_group(&g.directory.group_name(gid)))
        .collect();
    if drifted.is_empty() && !too_broad && outside.is_empty() {
        return None;
    }

    let entry_labels: Vec<String> = entries.iter().map(|(k, e)| entry_label(*k, e)).collect();
    for (k, e) in &entries {
        let mut grants = Vec::new();
        if !e.roles.is_empty() {
            grants.push(format!(
                "roles {}",
                e.roles.iter().map(role_ref_label).collect::<Vec<_>>().join(", ")
            ));
        }
        if !e.groups.is_empty() {
            grants.push(format!("groups {}", e.groups.join(", ")));
        }
        if let Some(max) = e.max_ticket_scope {
            grants.push(format!("ticket scope up to {}", max.as_str()));
        }
        steps.push(PathStep {
            from: entry_label(*k, e),
            edge: "allows".to_owned(),
            to: if grants.is_empty() {
                "anything".to_owned()
            } else {
                grants.join("; ")
            },
        });
    }

    let mut problems = Vec::new();
    let mut finding_steps: Vec<PathStep> = Vec::new();
    let drifted_names: Vec<String> = drifted.iter().map(|&r| g.directory.role_name(r)).collect();
    if !drifted.is_empty() {
        problems.push(format!(
            "holds {} beyond what its mapping allows",
            drifted_names.join(", ")
        ));
        finding_steps.extend(drifted.iter().map(|&r| role_step(g, agent, r)));
    }
    if let (true, Some(have), Some(max)) = (too_broad, scope, grant.max_scope) {
        problems.push(format!(
            "ticket scope {} is broader than the mapping's {}",
            have.as_str(),
            max.as_str()
        ));
        finding_steps.push(PathStep {
            from: agent_label(agent),
            edge: "has ticket scope".to_owned(),
            to: format!("scope {}", have.as_str()),
        });
    }
    let outside_names: Vec<String> = outside.iter().map(|&gid| g.directory.group_name(gid)).collect();
    if !outside.is_empty() {
        problems.push(format!(
            "is in group {} outside its mapping",
            outside_names.join(", ")
        ));
        finding_steps.extend(outside.iter().map(|&gid| PathStep {
            from: agent_label(agent),
            edge: "member of".to_owned(),
            to: format!("group {} \"{}\"", gid.id, g.directory.group_name(gid)),
        }));
    }
    let allowed_roles = grant.roles.as_ref().map_or_else(
        || "any".to_owned(),
        |r| r.iter().map(role_ref_label).collect::<Vec<_>>().join("; "),
    );
    let allowed_groups = grant
        .groups
        .as_ref()
        .map_or_else(|| "any".to_owned(), |gr| gr.join("; "));
    let held_groups: Vec<String> = group_ids.iter().map(|&gid| g.directory.group_name(gid)).collect();
    Some(
        META.finding(
            i,
            agent.id,
            format!(
                "{} ({}; {})",
                problems.join("; "),
                attrs.describe(),
                entry_labels.join(", ")
            ),
        )
        .steps(finding_steps)
        .steps(steps)
        .value("held_roles", role_names.join("; "))
        .value("drifted_roles", list_or_none(&drifted_names))
        .value("allowed_roles", allowed_roles)
        .value("departments", list_or_none(&attrs.departments))
        .value("idp_groups", list_or_none(&attrs.groups))
        .value("matching_entries", entry_labels.join("; "))
        .value("ticket_scope", scope.map_or("none", TicketScope::as_str))
        .value(
            "max_ticket_scope",
            grant.max_scope.map_or("any", TicketScope::as_str),
        )
        .value("groups", list_or_none(&held_groups))
        .value("allowed_groups", allowed_groups)
        .value("groups_outside", list_or_none(&outside_names)),
    )
}

fn list_or_none(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(department: Option<&str>, group: Option<&str>) -> RoleMapping {
        RoleMapping {
            department: department.map(str::to_owned),
            group: group.map(str::to_owned),
            roles: Vec::new(),
            groups: Vec::new(),
            max_ticket_scope: None,
        }
    }

    #[test]
    fn an_entry_applies_when_every_attribute_it_names_matches() {
        let attrs = Attributes {
            departments: vec!["Billing".into()],
            groups: vec!["Support Tier 2".into(), "Freshdesk Admins".into()],
        };
        let cases = [
            (entry(Some("billing"), None), true),
            (entry(Some(" BILLING "), None), true),
            (entry(Some("Support"), None), false),
            (entry(None, Some("freshdesk admins")), true),
            (entry(None, Some("Freshdesk")), false),
            (entry(Some("Billing"), Some("Freshdesk Admins")), true),
            (entry(Some("Billing"), Some("Sales")), false),
            (entry(Some("Sales"), Some("Freshdesk Admins")), false),
            (entry(None, None), false),
        ];
        for (e, want) in cases {
            assert_eq!(applies(&e, &attrs), want, "{e:?}");
        }
    }

    #[test]
    fn grants_are_a_union_and_an_empty_list_is_unconstrained() {
        let mut a = entry(Some("Billing"), None);
        a.roles = vec![RoleRef::Name("Agent".into())];
        a.groups = vec!["Billing".into()];
        a.max_ticket_scope = Some(TicketScope::Restricted);
        let mut b = entry(Some("Sales"), None);
        b.roles = vec![RoleRef::Id(6)];
        b.groups = vec!["Sales".into()];
        b.max_ticket_scope = Some(TicketScope::Group);
        let grant = Grant::of(&[(0, &a), (1, &b)]);
        assert_eq!(grant.roles.as_ref().map(Vec::len), Some(2));
        assert!(grant.allows_group("sales") && grant.allows_group("Billing") && !grant.allows_group("IT"));
        assert_eq!(grant.max_scope, Some(TicketScope::Group));

        let open = entry(Some("IT"), None);
        let grant = Grant::of(&[(0, &a), (2, &open)]);
        assert!(grant.roles.is_none() && grant.groups.is_none() && grant.max_scope.is_none());
        assert!(grant.allows_group("anything"));
    }
}
