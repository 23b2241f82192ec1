//! The policy exactly as written; unknown keys are errors, not silently ignored.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use super::types::{AdminCount, AgentRef, Exception, RoleMapping};
use super::{Policy, RoleRef, RuleSettings};
use crate::catalogue::is_rule_id;
use crate::idp::CsvMapping;
use crate::model::TicketScope;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    dormant_days: Option<u32>,
    occasional_dormant_days: Option<u32>,
    invite_days: Option<u32>,
    privileged_roles: Option<Vec<RawRoleRef>>,
    /// Custom roles reviewed and judged not privileged.
    #[serde(default)]
    standard_roles: Vec<RawRoleRef>,
    #[serde(default)]
    rules: BTreeMap<String, RawRuleSettings>,
    /// Column mapping for `--idp csv:PATH` exports.
    idp_csv: Option<CsvMapping>,
    /// Agent email domain → IdP domain.
    #[serde(default)]
    domain_aliases: BTreeMap<String, String>,
    /// Agent email → IdP login.
    #[serde(default)]
    identity_map: BTreeMap<String, String>,
    org_domains: Option<Vec<String>>,
    shared_mailbox_names: Option<Vec<String>>,
    #[serde(default)]
    role_mapping: Vec<RawRoleMapping>,
    admin_count: Option<RawAdminCount>,
    #[serde(default)]
    exceptions: Vec<RawException>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoleMapping {
    department: Option<String>,
    group: Option<String>,
    #[serde(default)]
    roles: Vec<RawRoleRef>,
    #[serde(default)]
    groups: Vec<String>,
    max_ticket_scope: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdminCount {
    min: Option<u32>,
    max: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    rule: String,
    agent: RawAgentRef,
    justification: String,
    approver: String,
    /// A TOML date (`2026-12-31`) or date-time.
    expires: toml::value::Datetime,
}

/// A role by name or id. Read by [`RefVisitor`] rather than as an untagged
/// enum, whose only message is that nothing matched.
#[derive(Debug)]
enum RawRoleRef {
    Id(u64),
    Name(String),
}

impl<'de> Deserialize<'de> for RawRoleRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawRoleRef, D::Error> {
        deserializer.deserialize_any(RefVisitor("a role is a role name or integer id"))
    }
}

/// An exception's agent: an email or an agent id.
#[derive(Debug)]
struct RawAgentRef(RawRoleRef);

impl<'de> Deserialize<'de> for RawAgentRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawAgentRef, D::Error> {
        deserializer
            .deserialize_any(RefVisitor(
                "`agent` is an agent's email or integer id (agent = \"ann@example.com\" or agent = 67013470001)",
            ))
            .map(RawAgentRef)
    }
}

/// A name or a non-negative integer; anything else is refused with the rule
/// it breaks (`.0`), and the value, at the value's own position.
struct RefVisitor(&'static str);

impl RefVisitor {
    fn refuse<E: de::Error>(&self, got: impl fmt::Display) -> E {
        E::custom(format!("{}, not {got}", self.0))
    }
}

impl<'de> Visitor<'de> for RefVisitor {
    type Value = RawRoleRef;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawRoleRef, E> {
        Ok(RawRoleRef::Id(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawRoleRef, E> {
        u64::try_from(v).map(RawRoleRef::Id).map_err(|_| self.refuse(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawRoleRef, E> {
        // Debug keeps the point: `2.0`, not `2`.
        Err(self.refuse(format_args!("{v:?}")))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawRoleRef, E> {
        Err(self.refuse(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRoleRef, E> {
        Ok(RawRoleRef::Name(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawRoleRef, E> {
        Ok(RawRoleRef::Name(v))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<RawRoleRef, A::Error> {
        Err(self.refuse("a list"))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<RawRoleRef, A::Error> {
        // A TOML date reaches here too, as toml's private one-key table.
        Err(self.refuse("a table or date"))
    }
}

impl RawRoleRef {
    fn into_typed(self) -> RoleRef {
        match self {
            RawRoleRef::Id(id) => RoleRef::Id(id),
            RawRoleRef::Name(name) => RoleRef::Name(name),
        }
    }
}

/// A TOML date means the end of that day (UTC); a date-time needs an offset.
fn toml_datetime(dt: &toml::value::Datetime) -> Result<jiff::Timestamp, String> {
    match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => {
            let date = jiff::civil::date(d.year as i16, d.month as i8, d.day as i8);
            jiff::tz::TimeZone::UTC
                .to_timestamp(date.to_datetime(jiff::civil::time(23, 59, 59, 0)))
                .map_err(|e| e.to_string())
        }
        (Some(_), Some(_), Some(_)) => dt.to_string().parse().map_err(|e: jiff::Error| e.to_string()),
        _ => Err(format!(
            "`{dt}` is not a date (2026-12-31) or a date-time with an offset"
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleSettings {
    enabled: Option<bool>,
    severity: Option<String>,
}

impl RawPolicy {
    /// Typed policy, or the offending key and why.
    pub(super) fn validate(self) -> Result<Policy, (String, String)> {
        let mut policy = Policy::default();
        let t = &mut policy.thresholds;
        t.dormant_days = self.dormant_days.unwrap_or(t.dormant_days);
        t.occasional_dormant_days = self.occasional_dormant_days.unwrap_or(t.occasional_dormant_days);
        t.invite_days = self.invite_days.unwrap_or(t.invite_days);
        for (key, days) in [
            ("dormant_days", t.dormant_days),
            ("occasional_dormant_days", t.occasional_dormant_days),
            ("invite_days", t.invite_days),
        ] {
            if days == 0 {
                return Err((key.to_owned(), "must be at least 1 day".to_owned()));
            }
        }
        if let Some(roles) = self.privileged_roles {
            // The contract: privileged_roles adds to the two default roles.
            for role in roles.into_iter().map(RawRoleRef::into_typed) {
                if !policy.privileged_roles.contains(&role) {
                    policy.privileged_roles.push(role);
                }
            }
        }
        policy.standard_roles = self
            .standard_roles
            .into_iter()
            .map(RawRoleRef::into_typed)
            .collect();
        if let Some(domains) = self.org_domains {
            for d in &domains {
                if d.trim().is_empty() || d.contains(['@', ' ']) {
                    return Err(("org_domains".to_owned(), format!("`{d}` is not a domain")));
                }
            }
            policy.org_domains = domains
                .iter()
                .map(|d| d.trim().trim_start_matches('.').to_lowercase())
                .collect();
        }
        if let Some(names) = self.shared_mailbox_names {
            policy.shared_mailbox_names = names.iter().map(|n| n.trim().to_lowercase()).collect();
        }
        for (i, m) in self.role_mapping.into_iter().enumerate() {
            let key = format!("role_mapping[{i}]");
            if m.department.is_none() && m.group.is_none() {
                return Err((key, "names neither a department nor a group".to_owned()));
            }
            let max_ticket_scope = match m
                .max_ticket_scope
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None => None,
                Some("global") => Some(TicketScope::Global),
                Some("group") => Some(TicketScope::Group),
                Some("restricted") => Some(TicketScope::Restricted),
                Some(other) => {
                    return Err((
                        format!("{key}.max_ticket_scope"),
                        format!("`{other}` is not global, group or restricted"),
                    ));
                }
            };
            policy.role_mapping.push(RoleMapping {
                department: m.department,
                group: m.group,
                roles: m.roles.into_iter().map(RawRoleRef::into_typed).collect(),
                groups: m.groups,
                max_ticket_scope,
            });
        }
        if let Some(bounds) = self.admin_count {
            if let (Some(min), Some(max)) = (bounds.min, bounds.max)
                && min > max
            {
                return Err(("admin_count".to_owned(), format!("min {min} is above max {max}")));
            }
            policy.admin_count = AdminCount {
                min: bounds.min,
                max: bounds.max,
            };
        }
        for (i, e) in self.exceptions.into_iter().enumerate() {
            let key = format!("exceptions[{i}]");
            if !is_rule_id(&e.rule) {
                return Err((format!("{key}.rule"), format!("no rule is called `{}`", e.rule)));
            }
            for (field, value) in [("justification", &e.justification), ("approver", &e.approver)] {
                if value.trim().is_empty() {
                    return Err((
                        format!("{key}.{field}"),
                        "must not be empty: an auditor asks who and why".to_owned(),
                    ));
                }
            }
            let expires = toml_datetime(&e.expires).map_err(|why| (format!("{key}.expires"), why))?;
            policy.exceptions.push(Exception {
                rule: e.rule,
                agent: match e.agent.0 {
                    RawRoleRef::Id(id) => AgentRef::Id(id),
                    RawRoleRef::Name(email) => AgentRef::Email(email.trim().to_lowercase()),
                },
                justification: e.justification,
                approver: e.approver,
                expires,
            });
        }
        for (from, to) in &self.domain_aliases {
            for (key, domain) in [(from, from), (from, to)] {
                if domain.is_empty() || domain.contains(['@', ' ']) {
                    return Err((
                        format!("domain_aliases.\"{key}\""),
                        format!("`{domain}` is not a domain"),
                    ));
                }
            }
        }
        policy.rewrites.domain_aliases = lower(self.domain_aliases);
        for (agent, login) in &self.identity_map {
            if !agent.contains('@') || login.trim().is_empty() {
                return Err((
                    format!("identity_map.\"{agent}\""),
                    "maps an agent email to an IdP login: \"agent@example.com\" = \"login\"".to_owned(),
                ));
            }
        }
        policy.rewrites.identity_map = lower(self.identity_map);
        if let Some(mapping) = self.idp_csv {
            if mapping.login.trim().is_empty() {
                return Err((
                    "idp_csv.login".to_owned(),
                    "must name the login column".to_owned(),
                ));
            }
            policy.idp_csv = Some(mapping);
        }
        for (id, raw) in self.rules {
            if !is_rule_id(&id) {
                return Err((format!("rules.\"{id}\""), format!("no rule is called `{id}`")));
            }
            let severity = raw
                .severity
                .map(|s| s.parse())
                .transpose()
                .map_err(|why| (format!("rules.\"{id}\".severity"), why))?;
            policy.rules.insert(
                id,
                RuleSettings {
                    enabled: raw.enabled,
                    severity,
                },
            );
        }
        Ok(policy)
    }
}

fn lower(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter()
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_lowercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    const EXCEPTION: &str = "[[exceptions]]\nrule = \"dormant-agent\"\nagent = AGENT\njustification = \"seasonal\"\napprover = \"Head of Support\"\nexpires = 2027-01-31\n";

    /// `agent = 1.5` was refused as "data did not match any variant of
    /// untagged enum RawRoleRef", which names neither the key nor what it takes.
    #[test]
    fn a_float_exception_agent_names_the_key_and_what_an_agent_is() {
        for (agent, shown) in [
            ("1.5", "1.5"),
            ("-3", "-3"),
            ("true", "true"),
            ("[1]", "a list"),
            ("{ id = 1 }", "a table"),
            ("2027-01-01", "a table or date"),
        ] {
            let text = EXCEPTION.replace("AGENT", agent);
            let err = Policy::parse("p.toml", &text).expect_err(agent).to_string();
            assert!(err.starts_with("p.toml:3:9: "), "{err}");
            assert!(err.contains("`agent` is an agent's email or integer id"), "{err}");
            assert!(err.contains(shown), "{err}");
            assert!(!err.contains("untagged"), "{err}");
        }
        for agent in ["12", "\"ann@acme.test\""] {
            let text = EXCEPTION.replace("AGENT", agent);
            Policy::parse("p.toml", &text).expect(agent);
        }
    }

    #[test]
    fn a_float_role_names_what_a_role_is() {
        for (text, at) in [
            ("privileged_roles = [\"Billing\", 2.5]\n", "p.toml:1:32: "),
            ("standard_roles = [2.5]\n", "p.toml:1:19: "),
            (
                "[[role_mapping]]\ngroup = \"Billing\"\nroles = [2.5]\n",
                "p.toml:3:10: ",
            ),
        ] {
            let err = Policy::parse("p.toml", text).expect_err(text).to_string();
            assert!(err.starts_with(at), "{err}");
            assert!(err.contains("a role is a role name or integer id"), "{err}");
            assert!(!err.contains("untagged"), "{err}");
        }
    }
}
