//! `review import`: the filled-in workbook back into the run as decisions.json.
//!
//! Every fact a check relies on (who the agent is, its email, its findings)
//! comes from the run, never from the workbook's own columns, so editing a
//! cell cannot dodge a check. All bad rows are reported at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::{Agent, Directory};
use crate::rundir::{DECISIONS_JSON, Decision, DecisionKind, Decisions, FindingRecord, RunDir, WorkbookRef};

use super::export::{finding_account, load_directory};
use super::target::{self, Names};
use super::workbook::read_workbook;
use super::{ReviewError, RowProblem, lookalike_key, reviewer_address};

#[derive(Clone, Debug)]
pub struct ImportSummary {
    /// The decisions.json written.
    pub path: PathBuf,
    pub keep: usize,
    pub revoke: usize,
    pub modify: usize,
    /// Rows naming an agent but holding no decision.
    pub undecided: usize,
    /// Agents in scope that have no row in the workbook at all.
    pub missing: usize,
    /// A previous decisions.json was replaced.
    pub replaced: bool,
}

/// Reads `workbook` and records its decisions in the run in `run_dir`.
pub fn import(run_dir: &Path, workbook: &Path, now: jiff::Timestamp) -> Result<ImportSummary, ReviewError> {
    let label = workbook.display().to_string();
    let bytes = std::fs::read(workbook).map_err(|source| ReviewError::Io {
        file: label.clone(),
        source,
    })?;
    let run = RunDir::open(run_dir)?;
    let directory = load_directory(&run)?;
    let lines = read_workbook(&label, &bytes)?;

    // Keyed by (account, agent id): ids of different accounts may collide.
    let agents: BTreeMap<AgentKey, &Agent> =
        directory.agents.iter().map(|a| ((a.account, a.id), a)).collect();
    let names = Names::new(&directory);
    let account_index = |f: &FindingRecord| {
        let domain = finding_account(&directory, f);
        directory.accounts.iter().position(|d| *d == domain)
    };
    let mut finding_ids: BTreeMap<AgentKey, Vec<String>> = BTreeMap::new();
    for f in &run.findings.findings {
        if let Some(account) = account_index(f) {
            finding_ids
                .entry((account, f.agent_id))
                .or_default()
                .push(f.finding_id.clone());
        }
    }
    let same_person = same_person_links(
        run.findings
            .findings
            .iter()
            .chain(&run.findings.suppressed)
            .filter_map(|f| Some((account_index(f)?, f))),
    );

    let mut problems = Vec::new();
    let mut decisions = Vec::new();
    let mut decided_on: BTreeMap<AgentKey, u64> = BTreeMap::new();
    let mut rows_for = BTreeSet::new();
    let mut undecided = 0;
    for line in &lines {
        let mut refuse = |agent: String, reasons: Vec<String>| {
            problems.push(RowProblem {
                line: line.line,
                agent,
                reason: reasons.join("; "),
            });
        };
        let raw_label = || match line.agent_email.as_str() {
            "" => format!(
                "agent {}",
                if line.agent_id.is_empty() {
                    "?"
                } else {
                    &line.agent_id
                }
            ),
            email => format!("agent {} <{email}>", line.agent_id),
        } + &line
            .account
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| format!(" in {a}"))
            .unwrap_or_default();
        if line.agent_id.is_empty() {
            if !line.decision.is_empty() {
                refuse(raw_label(), vec!["a decision on a row with no agent_id".into()]);
            }
            continue;
        }
        let Ok(id) = line.agent_id.parse::<u64>() else {
            refuse(raw_label(), vec![bad_id(&line.agent_id)]);
            continue;
        };
        let account = match which_account(&directory, line.account.as_deref()) {
            Ok(account) => account,
            Err(why) => {
                refuse(raw_label(), vec![why]);
                continue;
            }
        };
        let key = (account, id);
        let Some(agent) = agents.get(&key) else {
            let snapshot = if directory.several_accounts() {
                format!("{}'s snapshot", directory.accounts[account])
            } else {
                "the run's snapshot".to_owned()
            };
            refuse(raw_label(), vec![format!("agent {id} is not in {snapshot}")]);
            continue;
        };
        rows_for.insert(key);
        let email = agent.email.clone().unwrap_or_default();
        let domain = directory.account_of(agent).to_owned();
        let who = if directory.several_accounts() {
            format!("agent {id} <{email}> in {domain}")
        } else {
            format!("agent {id} <{email}>")
        };
        if line.decision.is_empty() {
            match target::misplaced(None, line) {
                Some(why) => refuse(who, vec![why]),
                None => undecided += 1,
            }
            continue;
        }
        let findings = finding_ids.get(&key).map_or(&[][..], Vec::as_slice);
        let mut reasons = Vec::new();
        if let Some(first) = decided_on.insert(key, line.line) {
            reasons.push(format!(
                "a second decision for the agent (the first is on line {first})"
            ));
        }
        let kind = parse_decision(&line.decision)
            .map_err(|why| reasons.push(why))
            .ok();
        let reviewer = if line.reviewer.is_empty() {
            reasons.push("no reviewer (the reviewer's email)".into());
            None
        } else {
            reviewer_address(&line.reviewer)
                .map_err(|why| reasons.push(why))
                .ok()
        };
        if let Some(reviewer) = &reviewer
            && let Some(why) = self_review(reviewer, agent, &agents, same_person.get(&key))
        {
            reasons.push(why);
        }
        if line.justification.is_empty() {
            match kind {
                Some(DecisionKind::Modify) => {
                    reasons.push("modify needs a justification saying what changes".into())
                }
                Some(DecisionKind::Keep) if !findings.is_empty() => reasons.push(format!(
                    "keep needs a justification: the agent has {} finding(s)",
                    findings.len()
                )),
                _ => {}
            }
        }
        if let Some(listed) = &line.finding_ids
            && let Some(why) = other_run(listed, findings)
        {
            reasons.push(why);
        }
        let target = names
            .resolve(line, account)
            .map_err(|mut why| reasons.append(&mut why))
            .ok()
            .flatten();
        if let Some(kind) = kind
            && let Some(why) = target::misplaced(Some(kind), line)
        {
            reasons.push(why);
        }
        if kind == Some(DecisionKind::Modify)
            && let Some(why) = target.as_ref().and_then(|t| target::changes_nothing(t, agent))
        {
            reasons.push(why);
        }
        match (kind, reviewer) {
            (Some(decision), Some(reviewer)) if reasons.is_empty() => decisions.push(Decision {
                account: Some(domain),
                agent_id: id,
                agent_email: email,
                decision,
                reviewer,
                justification: line.justification.clone(),
                finding_ids: findings.to_vec(),
                target,
            }),
            _ => refuse(who, reasons),
        }
    }
    if !problems.is_empty() {
        return Err(ReviewError::Rows {
            file: label,
            problems,
        });
    }
    if decisions.is_empty() {
        // Recording nothing would silently wipe an earlier import.
        return Err(ReviewError::Input {
            file: label,
            reason: format!("no row has a decision ({undecided} undecided); nothing recorded"),
        });
    }

    let count = |k: DecisionKind| decisions.iter().filter(|d| d.decision == k).count();
    let (keep, revoke, modify) = (
        count(DecisionKind::Keep),
        count(DecisionKind::Revoke),
        count(DecisionKind::Modify),
    );
    let missing = directory
        .agents
        .iter()
        .filter(|a| a.status.holds_access() || finding_ids.contains_key(&(a.account, a.id)))
        .filter(|a| !rows_for.contains(&(a.account, a.id)))
        .count();
    let replaced = run.dir.join(DECISIONS_JSON).exists();
    let record = Decisions {
        schema_version: 1,
        imported_at: now,
        workbook: WorkbookRef {
            // As given, like run.json's inputs: a relative path keeps a
            // committed run free of one machine's directories.
            path: workbook.display().to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
        },
        run: Some(run.binding()),
        decisions,
    };
    let path = run.write_decisions(&record)?;
    Ok(ImportSummary {
        path,
        keep,
        revoke,
        modify,
        undecided,
        missing,
        replaced,
    })
}

/// An agent of the run: its account (an index into `Directory::accounts`) and id.
type AgentKey = (usize, u64);

/// The row's account: the run's only one when the cell is blank or the
/// column absent (a workbook from before the column); with several, the one
/// the cell names, which it must.
fn which_account(directory: &Directory, cell: Option<&str>) -> Result<usize, String> {
    let listed = || directory.accounts.join(", ");
    let cell = cell.unwrap_or_default();
    if cell.is_empty() {
        return match directory.several_accounts() {
            false => Ok(0),
            true => Err(format!(
                "account: blank, but the run reviews several accounts ({}): say which the agent is in",
                listed()
            )),
        };
    }
    // As `--domain` takes it: `acme` or `acme.freshdesk.com`.
    let name = cell.trim_end_matches(".freshdesk.com");
    directory
        .accounts
        .iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("account `{cell}` is not an account of this run ({})", listed()))
}

fn bad_id(raw: &str) -> String {
    let hint = if raw.contains(['E', 'e', '.', ',']) {
        " (a spreadsheet may have reformatted it; format the agent_id column as Text)"
    } else {
        ""
    };
    format!("agent_id `{raw}` is not an agent id{hint}")
}

fn parse_decision(raw: &str) -> Result<DecisionKind, String> {
    [DecisionKind::Keep, DecisionKind::Revoke, DecisionKind::Modify]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(raw))
        .ok_or_else(|| format!("decision `{raw}` is not keep, revoke or modify"))
}

/// Other agents that are the same person, from the run's `duplicate-identity`
/// findings (accepted ones included): a reviewer must not decide on their
/// second account either.
/// (`duplicate-identity` compares agents within one account: the linked
/// agents are in the finding's account.)
fn same_person_links<'a>(
    findings: impl Iterator<Item = (usize, &'a FindingRecord)>,
) -> BTreeMap<AgentKey, Vec<AgentKey>> {
    let mut links: BTreeMap<AgentKey, Vec<AgentKey>> = BTreeMap::new();
    for (account, f) in findings.filter(|(_, f)| f.rule == "duplicate-identity") {
        let others = f
            .rest
            .get("evidence")
            .and_then(|e| e.get("values"))
            .and_then(|v| v.get("other_agent_ids"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let ids = others
            .split(';')
            .filter_map(|s| Some((account, s.trim().parse::<u64>().ok()?)));
        links.entry((account, f.agent_id)).or_default().extend(ids);
    }
    links
}

/// Why `reviewer` is the reviewed person, if they are: the same address once
/// both are folded alike ([`fold_email`]: invisible characters, `mailto:`,
/// quotes, case and any `+tag` removed) and reduced to their confusable
/// skeleton ([`lookalike_key`]: a lookalike address is no second person), on
/// this agent or on another account of the same person.
fn self_review(
    reviewer: &str,
    agent: &Agent,
    agents: &BTreeMap<AgentKey, &Agent>,
    linked: Option<&Vec<AgentKey>>,
) -> Option<String> {
    let folded = lookalike_key(reviewer);
    let same = |a: &Agent| {
        a.email
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty() && lookalike_key(e) == folded)
    };
    if same(agent) {
        return Some(format!(
            "reviewer {reviewer} is the reviewed person ({}); someone else must decide",
            agent.email.as_deref().unwrap_or_default()
        ));
    }
    linked
        .into_iter()
        .flatten()
        .filter_map(|id| agents.get(id))
        .find(|other| same(other))
        .map(|other| {
            format!(
                "reviewer {reviewer} is the reviewed person (their account agent {} <{}> shares an identity with this one); someone else must decide",
                other.id,
                other.email.as_deref().unwrap_or_default()
            )
        })
}

/// Set when the row's finding ids are not the run's: the workbook came from another run.
fn other_run(listed: &str, run_ids: &[String]) -> Option<String> {
    let listed: BTreeSet<&str> = listed
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let run: BTreeSet<&str> = run_ids.iter().map(String::as_str).collect();
    (listed != run).then(|| {
        let show = |s: &BTreeSet<&str>| match s.len() {
            0 => "none".to_owned(),
            _ => s.iter().copied().collect::<Vec<_>>().join(";"),
        };
        format!(
            "the row lists findings {} but the run has {}: was the workbook exported from another run?",
            show(&listed),
            show(&run)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::export::tests::directory;

    #[test]
    fn decisions_parse_case_insensitively() {
        assert_eq!(parse_decision("REVOKE"), Ok(DecisionKind::Revoke));
        assert_eq!(parse_decision("Modify"), Ok(DecisionKind::Modify));
        assert!(parse_decision("remove").is_err());
    }

    #[test]
    fn self_review_folds_case_and_tags() {
        let dir = directory();
        let agents: BTreeMap<AgentKey, &Agent> = dir.agents.iter().map(|a| ((a.account, a.id), a)).collect();
        let zed = agents[&(0, 1)];
        for reviewer in ["zed@t.test", " ZED@T.TEST", "zed+review@t.test"] {
            assert!(self_review(reviewer, zed, &agents, None).is_some(), "{reviewer}");
        }
        assert!(self_review("amy@t.test", zed, &agents, None).is_none());
        // Amy's other account (a duplicate-identity link) is Zed's: Zed cannot review it.
        let amy = agents[&(0, 2)];
        let why = self_review("zed@t.test", amy, &agents, Some(&vec![(0, 1)])).expect("refused");
        assert!(why.contains("agent 1 <zed@t.test>"), "{why}");
    }

    /// A reviewer written `mailto:zed@t.test` or `"zed"@t.test`, or an agent
    /// whose snapshot address holds a zero-width space, slipped past the check.
    #[test]
    fn self_review_sees_through_mailto_quotes_and_invisible_characters() {
        let dir = directory();
        let agents: BTreeMap<AgentKey, &Agent> = dir.agents.iter().map(|a| ((a.account, a.id), a)).collect();
        let zed = agents[&(0, 1)];
        for reviewer in ["mailto:zed@t.test", "MAILTO:Zed@T.test", "\"zed\"@t.test"] {
            assert!(self_review(reviewer, zed, &agents, None).is_some(), "{reviewer}");
        }
        let mut hidden = zed.clone();
        hidden.email = Some("\u{FEFF}z\u{200B}ed@t.test\u{202C}".into());
        let why = self_review("zed@t.test", &hidden, &agents, None).expect("refused");
        assert!(
            why.starts_with("reviewer zed@t.test is the reviewed person"),
            "{why}"
        );
    }

    fn two_accounts() -> Directory {
        let mut eu = directory();
        eu.accounts = vec!["t-eu".into()];
        Directory::merge(vec![directory(), eu]).expect("merged")
    }

    #[test]
    fn the_account_cell_picks_the_account_and_is_needed_only_with_several() {
        let one = directory();
        assert_eq!(
            which_account(&one, None),
            Ok(0),
            "a workbook from before the column"
        );
        assert_eq!(which_account(&one, Some("")), Ok(0));
        assert_eq!(which_account(&one, Some("T.freshdesk.com")), Ok(0));
        let err = which_account(&one, Some("t-eu")).expect_err("not the run's");
        assert_eq!(err, "account `t-eu` is not an account of this run (t)");

        let two = two_accounts();
        assert_eq!(which_account(&two, Some("t-eu")), Ok(1));
        assert_eq!(which_account(&two, Some("t")), Ok(0));
        for cell in [None, Some("")] {
            let err = which_account(&two, cell).expect_err("ambiguous");
            assert!(
                err.starts_with("account: blank, but the run reviews several accounts (t, t-eu)"),
                "{err}"
            );
        }
        let err = which_account(&two, Some("globex")).expect_err("unknown");
        assert_eq!(err, "account `globex` is not an account of this run (t, t-eu)");
    }

    #[test]
    fn finding_ids_must_match_the_run() {
        let run = vec!["DA-1".to_owned(), "DA-2".to_owned()];
        assert_eq!(other_run("DA-2; DA-1", &run), None);
        assert!(other_run("DA-1", &run).is_some());
        assert_eq!(other_run("", &[]), None);
    }
}
