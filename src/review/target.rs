//! A `modify`'s target: the workbook's `target_roles`, `target_groups` and
//! `target_ticket_scope` cells resolved against the run's snapshot into the
//! ids a later step writes ([`Target`]), so nothing downstream reads names.

use crate::model::{Agent, Directory, TicketScope};
use crate::rundir::{DecisionKind, Target};
use crate::text::show_invisible;

use super::{TARGET_COLUMNS, WorkbookLine};

/// Close names a refusal suggests, at most.
const CLOSE_LISTED: usize = 3;
/// Up to this many roles or groups, a refusal with no close name lists them all.
const ALL_LISTED: usize = 10;

/// The snapshots' role and group names, by account (an index into
/// `Directory::accounts`), looked up by every row.
pub(super) struct Names<'a> {
    roles: Vec<Vec<(u64, &'a str)>>,
    groups: Vec<Vec<(u64, &'a str)>>,
}

impl<'a> Names<'a> {
    pub(super) fn new(directory: &'a Directory) -> Names<'a> {
        let mut names = Names {
            roles: vec![Vec::new(); directory.accounts.len()],
            groups: vec![Vec::new(); directory.accounts.len()],
        };
        for (key, r) in &directory.roles {
            if let Some(known) = names.roles.get_mut(key.account) {
                known.push((r.id, r.name.as_str()));
            }
        }
        for (key, g) in &directory.groups {
            if let Some(known) = names.groups.get_mut(key.account) {
                known.push((g.id, g.name.as_str()));
            }
        }
        names
    }

    /// The row's target in `account` (a role or group is named within the
    /// agent's own account), `Ok(None)` when its three cells are blank;
    /// else every problem with it, each naming its column.
    pub(super) fn resolve(&self, line: &WorkbookLine, account: usize) -> Result<Option<Target>, Vec<String>> {
        let roles = resolve_names(
            "target_roles",
            "role",
            &line.target_roles,
            in_account(&self.roles, account),
        );
        let groups = resolve_names(
            "target_groups",
            "group",
            &line.target_groups,
            in_account(&self.groups, account),
        );
        let scope = scope_code(&line.target_ticket_scope).map_err(|why| vec![why]);
        let (roles, groups, scope) = match (roles, groups, scope) {
            (Ok(roles), Ok(groups), Ok(scope)) => (roles, groups, scope),
            (roles, groups, scope) => {
                let reasons = [roles.err(), groups.err(), scope.err()];
                return Err(reasons.into_iter().flatten().flatten().collect());
            }
        };
        let (role_ids, role_names) = roles.unzip();
        let (group_ids, group_names) = groups.unzip();
        let target = Target {
            role_ids,
            role_names,
            group_ids,
            group_names,
            ticket_scope: scope,
            ticket_scope_name: scope.map(|_| line.target_ticket_scope.clone()),
        };
        Ok((target != Target::default()).then_some(target))
    }
}

fn in_account<'n, 'a>(all: &'n [Vec<(u64, &'a str)>], account: usize) -> &'n [(u64, &'a str)] {
    all.get(account).map_or(&[][..], Vec::as_slice)
}

/// The target columns `line` fills in, in workbook order.
fn filled(line: &WorkbookLine) -> Vec<&'static str> {
    let cells = [&line.target_roles, &line.target_groups, &line.target_ticket_scope];
    TARGET_COLUMNS
        .into_iter()
        .zip(cells)
        .filter(|(_, cell)| !cell.is_empty())
        .map(|(column, _)| column)
        .collect()
}

/// Why `line` is refused for holding a target, if it is: only a `modify`
/// has one, and a target on an undecided row would otherwise be dropped as
/// silently as the row.
pub(super) fn misplaced(kind: Option<DecisionKind>, line: &WorkbookLine) -> Option<String> {
    let columns = filled(line);
    if columns.is_empty() {
        return None;
    }
    let why = match kind {
        None => "no decision; a target is for modify",
        Some(DecisionKind::Modify) => return None,
        Some(DecisionKind::Keep) => "keep leaves the access as it is; clear it, or decide modify",
        Some(DecisionKind::Revoke) => "revoke removes all of the access; clear it, or decide modify",
    };
    Some(format!("{} filled in, but {why}", columns.join(", ")))
}

/// Why `target` would change nothing for `agent`, if every field it sets is
/// already the agent's: a reviewer who wrote it meant another agent or
/// another target (or `keep`), and an update that writes nothing would
/// only look done.
pub(super) fn changes_nothing(target: &Target, agent: &Agent) -> Option<String> {
    let same_ids = |target: &Option<Vec<u64>>, current: &[u64]| {
        target.as_ref().is_none_or(|ids| *ids == sorted(current.to_vec()))
    };
    let same_scope = target
        .ticket_scope
        .is_none_or(|code| TicketScope::from_code(u64::from(code)) == agent.ticket_scope);
    if !(same_ids(&target.role_ids, &agent.role_ids)
        && same_ids(&target.group_ids, &agent.group_ids)
        && same_scope)
    {
        return None;
    }
    let mut has = Vec::new();
    if let Some(names) = &target.role_names {
        has.push(format!("roles {}", names.join(";")));
    }
    if let Some(names) = &target.group_names {
        has.push(format!("groups {}", names.join(";")));
    }
    if let Some(name) = &target.ticket_scope_name {
        has.push(format!("ticket scope {name}"));
    }
    Some(format!(
        "the target changes nothing: the agent already has {}; decide keep, or correct the target",
        has.join(", ")
    ))
}

/// Ids, sorted and without repeats, and the names as the reviewer wrote them.
type Resolved = (Vec<u64>, Vec<String>);

/// A `;`-joined cell of names as ids (sorted, without repeats) and the names
/// as written (trimmed, blanks between `;` dropped); `Ok(None)` when blank.
fn resolve_names(
    column: &str,
    kind: &str,
    cell: &str,
    known: &[(u64, &str)],
) -> Result<Option<Resolved>, Vec<String>> {
    if cell.is_empty() {
        return Ok(None);
    }
    let written: Vec<&str> = cell.split(';').map(str::trim).filter(|n| !n.is_empty()).collect();
    if written.is_empty() {
        // Blank means unchanged; a cell of only `;` may mean "none", which
        // the workbook cannot say, so it is refused rather than guessed.
        return Err(vec![format!(
            "{column} `{cell}` names no {kind} (leave it blank to keep the {kind}s unchanged)"
        )]);
    }
    let mut ids = Vec::new();
    let mut reasons = Vec::new();
    for name in &written {
        match find(name, kind, known) {
            Ok(id) => ids.push(id),
            Err(why) => reasons.push(format!("{column}: {why}")),
        }
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    Ok(Some((
        sorted(ids),
        written.into_iter().map(str::to_owned).collect(),
    )))
}

/// The id of the one `kind` called `name`: exactly as the snapshot has it,
/// or as the workbook shows it (invisible characters as `[U+XXXX]`, so a
/// name copied from the `roles` column matches), else ignoring case. Two
/// matches are refused, not guessed between.
fn find(name: &str, kind: &str, known: &[(u64, &str)]) -> Result<u64, String> {
    for ignore_case in [false, true] {
        let key = |s: &str| {
            if ignore_case {
                s.to_lowercase()
            } else {
                s.to_owned()
            }
        };
        let wanted = key(name);
        let matches: Vec<&(u64, &str)> = known
            .iter()
            .filter(|(_, n)| key(n) == wanted || key(&show_invisible(n)) == wanted)
            .collect();
        match matches[..] {
            [] => continue,
            [(id, _)] => return Ok(*id),
            _ => {
                let each: Vec<String> = matches.iter().map(|(id, n)| format!("`{n}` (id {id})")).collect();
                return Err(format!(
                    "`{name}` is ambiguous: {} {kind}s match it, {}; name one exactly",
                    matches.len(),
                    each.join(", ")
                ));
            }
        }
    }
    Err(unknown(name, kind, known))
}

/// An unknown name's refusal, with the names it is close to (or, for a
/// short list, every name there is).
fn unknown(name: &str, kind: &str, known: &[(u64, &str)]) -> String {
    let wanted = name.to_lowercase();
    let mut close: Vec<(usize, &str)> = known
        .iter()
        .filter_map(|&(_, n)| {
            let candidate = n.to_lowercase();
            let distance = strsim::levenshtein(&wanted, &candidate);
            let related = distance <= 2.max(wanted.chars().count() / 3)
                || (!candidate.is_empty() && (wanted.contains(&candidate) || candidate.contains(&wanted)));
            related.then_some((distance, n))
        })
        .collect();
    close.sort();
    close.dedup();
    let hint = if !close.is_empty() {
        let names: Vec<&str> = close.iter().take(CLOSE_LISTED).map(|(_, n)| *n).collect();
        format!(" (close: {})", names.join(", "))
    } else if !known.is_empty() && known.len() <= ALL_LISTED {
        let mut names: Vec<&str> = known.iter().map(|(_, n)| *n).collect();
        names.sort_unstable();
        format!(" (its {kind}s: {})", names.join(", "))
    } else {
        String::new()
    };
    format!("no {kind} `{name}` in the run's snapshot{hint}")
}

/// The API's `ticket_scope` for a scope's name, in any case; `Ok(None)` when blank.
fn scope_code(cell: &str) -> Result<Option<u8>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    (1..=3u8)
        .find(|&code| {
            TicketScope::from_code(u64::from(code)).is_some_and(|s| s.as_str().eq_ignore_ascii_case(cell))
        })
        .map(Some)
        .ok_or_else(|| format!("target_ticket_scope `{cell}` is not Global, Group or Restricted"))
}

fn sorted(mut ids: Vec<u64>) -> Vec<u64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Snapshot;

    /// Roles 1 Administrator, 2 Agent, 3 `agent` (a case-only twin) and 4
    /// `Tier<U+00AD>One`; groups 10 Billing, 11 Tier 1, 12 and 13 both `Night`.
    /// Agent 7: Agent, groups Billing and Tier 1, scope Group.
    fn directory() -> Directory {
        let snapshot = serde_json::json!({
            "schema_version": 1,
            "meta": {"domain": "t", "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
                     "collected_at": "2026-10-01T00:00:00Z"},
            "agents": [{"id": 7, "contact": {"email": "a@t.test", "name": "A", "active": true},
                        "role_ids": [2], "group_ids": [11, 10], "ticket_scope": 2}],
            "roles": [{"id": 1, "name": "Administrator"}, {"id": 2, "name": "Agent"},
                      {"id": 3, "name": "agent"}, {"id": 4, "name": "Tier\u{AD}One"}],
            "groups": [{"id": 10, "name": "Billing"}, {"id": 11, "name": "Tier 1"},
                       {"id": 12, "name": "Night"}, {"id": 13, "name": "Night"}]
        });
        let snapshot = serde_json::from_value::<Snapshot>(snapshot).expect("test snapshot");
        Directory::from_snapshot(&snapshot).expect("test directory")
    }

    fn line(roles: &str, groups: &str, scope: &str) -> WorkbookLine {
        WorkbookLine {
            target_roles: roles.into(),
            target_groups: groups.into(),
            target_ticket_scope: scope.into(),
            ..WorkbookLine::default()
        }
    }

    #[test]
    fn targets_resolve_to_sorted_ids_and_keep_the_written_names() {
        let dir = directory();
        let names = Names::new(&dir);
        let target = |roles: &[u64], role_names: &[&str]| Target {
            role_ids: Some(roles.to_vec()),
            role_names: Some(role_names.iter().map(|n| n.to_string()).collect()),
            ..Target::default()
        };
        for (cells, want) in [
            (line("", "", ""), None),
            (line("Agent", "", ""), Some(target(&[2], &["Agent"]))),
            // Exact wins over a case-only twin; trimmed; repeats and blanks dropped.
            (
                line(" agent ;Agent;; Agent", "", ""),
                Some(target(&[2, 3], &["agent", "Agent", "Agent"])),
            ),
            // No exact match, one ignoring case.
            (
                line("ADMINISTRATOR", "", ""),
                Some(target(&[1], &["ADMINISTRATOR"])),
            ),
            // As the workbook shows a hidden character.
            (
                line("Tier[U+00AD]One", "", ""),
                Some(target(&[4], &["Tier[U+00AD]One"])),
            ),
            (
                line("", "tier 1;Billing", "restricted"),
                Some(Target {
                    group_ids: Some(vec![10, 11]),
                    group_names: Some(vec!["tier 1".into(), "Billing".into()]),
                    ticket_scope: Some(3),
                    ticket_scope_name: Some("restricted".into()),
                    ..Target::default()
                }),
            ),
            (
                line("", "", "Global"),
                Some(Target {
                    ticket_scope: Some(1),
                    ticket_scope_name: Some("Global".into()),
                    ..Target::default()
                }),
            ),
        ] {
            assert_eq!(names.resolve(&cells, 0), Ok(want), "{cells:?}");
        }
    }

    #[test]
    fn bad_targets_are_refused_with_every_reason() {
        let dir = directory();
        let names = Names::new(&dir);
        for (cells, want) in [
            (
                line("AGENT", "", ""),
                vec![
                    "target_roles: `AGENT` is ambiguous: 2 roles match it, `Agent` (id 2), `agent` (id 3); name one exactly",
                ],
            ),
            (
                line("Administrater;Owner", "", ""),
                vec![
                    "target_roles: no role `Administrater` in the run's snapshot (close: Administrator)",
                    "target_roles: no role `Owner` in the run's snapshot (its roles: Administrator, Agent, Tier\u{AD}One, agent)",
                ],
            ),
            (
                line("", "Night", ""),
                vec![
                    "target_groups: `Night` is ambiguous: 2 groups match it, `Night` (id 12), `Night` (id 13)",
                ],
            ),
            (
                line(";", "", "Everything"),
                vec![
                    "target_roles `;` names no role (leave it blank to keep the roles unchanged)",
                    "target_ticket_scope `Everything` is not Global, Group or Restricted",
                ],
            ),
            (
                line("", "", "2"),
                vec!["target_ticket_scope `2` is not Global, Group or Restricted"],
            ),
        ] {
            let got = names.resolve(&cells, 0).expect_err("refused");
            assert_eq!(got.len(), want.len(), "{got:?}");
            for (got, want) in got.iter().zip(&want) {
                assert!(got.starts_with(want), "{got}\nwant {want}");
            }
        }
    }

    #[test]
    fn only_a_modify_holds_a_target() {
        let target = line("Agent", "", "Global");
        for (kind, says) in [
            (Some(DecisionKind::Modify), None),
            (
                Some(DecisionKind::Keep),
                Some("target_roles, target_ticket_scope filled in, but keep leaves the access as it is"),
            ),
            (
                Some(DecisionKind::Revoke),
                Some("target_roles, target_ticket_scope filled in, but revoke removes all of the access"),
            ),
            (
                None,
                Some("target_roles, target_ticket_scope filled in, but no decision"),
            ),
        ] {
            let why = misplaced(kind, &target);
            assert_eq!(why.is_some(), says.is_some(), "{kind:?}: {why:?}");
            if let (Some(why), Some(says)) = (why, says) {
                assert!(why.starts_with(says), "{why}");
            }
            assert_eq!(misplaced(kind, &line("", "", "")), None);
        }
    }

    #[test]
    fn a_target_that_is_the_current_access_changes_nothing() {
        let dir = directory();
        let names = Names::new(&dir);
        let agent = &dir.agents[0];
        for (cells, nothing) in [
            (line("Agent", "", ""), true),
            (line("Agent", "Tier 1;Billing", "Group"), true),
            (line("Agent", "Billing", "Group"), false),
            (line("Administrator", "", ""), false),
            (line("", "", "Global"), false),
        ] {
            let target = names.resolve(&cells, 0).expect("resolves").expect("a target");
            let why = changes_nothing(&target, agent);
            assert_eq!(why.is_some(), nothing, "{cells:?}: {why:?}");
        }
        let why = changes_nothing(
            &names
                .resolve(&line("Agent", "", "group"), 0)
                .expect("resolves")
                .expect("a target"),
            agent,
        )
        .expect("nothing changes");
        assert!(
            why.contains("the agent already has roles Agent, ticket scope group"),
            "{why}"
        );
    }
}
