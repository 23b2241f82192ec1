//! The diff as plain text: revokes not carried out first and loud, then each
//! section's counts followed by one line per item.

use std::io::{self, Write};

use super::decisions::now_str;
use super::{AgentSummary, DecisionCheck, Diff, FindingChange, Outcome, RemovalReason};

pub fn write_text(diff: &Diff, out: &mut dyn Write) -> io::Result<()> {
    let s = &diff.summary;
    writeln!(out, "deskaudit diff")?;
    for (label, run) in [("old", &diff.old), ("new", &diff.new)] {
        writeln!(
            out,
            "  {label}: {}  as of {}  snapshot sha256 {}",
            run.dir,
            run.as_of,
            short(&run.snapshot_sha256)
        )?;
    }
    if let Some(accounts) = &diff.accounts {
        writeln!(out, "  accounts compared: {}", list_or_none(&accounts.compared))?;
        for (label, list) in [
            ("audited by NEW only", &accounts.added),
            ("audited by OLD only", &accounts.removed),
        ] {
            if !list.is_empty() {
                let domains: Vec<String> = list.iter().map(|a| a.domain.clone()).collect();
                writeln!(out, "  accounts {label}: {}", domains.join(", "))?;
            }
        }
    }
    for w in &diff.warnings {
        writeln!(out, "\nWARNING: {w}")?;
    }

    let unmet = &diff.decisions.revokes_not_carried_out;
    if !unmet.is_empty() {
        writeln!(
            out,
            "\n!! {} REVOKE(S) NOT CARRIED OUT: access the reviewers decided to remove is still there",
            unmet.len()
        )?;
        for c in unmet {
            decision_line(out, "!!", c)?;
        }
    }

    let f = &diff.findings;
    writeln!(
        out,
        "\nFindings: {} new, {} resolved, {} accepted (suppressed), {} persisting ({} severity changed)",
        s.findings_new, s.findings_resolved, s.findings_accepted, s.findings_persisting, s.severity_changed
    )?;
    finding_list(out, "new", "+", &f.new)?;
    finding_list(out, "resolved", "-", &f.resolved)?;
    finding_list(
        out,
        "accepted (suppressed by a policy exception)",
        "~",
        &f.accepted,
    )?;
    finding_list(out, "persisting", "=", &f.persisting)?;

    let a = &diff.agents;
    writeln!(
        out,
        "\nAgents: {} added, {} removed ({} deleted, {} missing), {} status changed, {} access changed",
        s.agents_added,
        s.agents_removed_deleted + s.agents_removed_missing,
        s.agents_removed_deleted,
        s.agents_removed_missing,
        s.status_changed,
        s.access_changed
    )?;
    if !a.added.is_empty() {
        writeln!(out, "  added:")?;
        for agent in &a.added {
            writeln!(out, "    + {}", agent_line(agent))?;
        }
    }
    if !a.removed.is_empty() {
        writeln!(out, "  removed:")?;
        for r in &a.removed {
            let why = match (r.reason, r.contact_id) {
                (RemovalReason::Deleted, Some(contact)) => format!("deleted (now contact {contact})"),
                (RemovalReason::Deleted, None) => "deleted".to_owned(),
                (RemovalReason::Missing, _) => {
                    "MISSING: not in NEW's snapshot, not even as a contact (population may be incomplete)"
                        .to_owned()
                }
            };
            writeln!(out, "    - {}: {why}", agent_line(&r.agent))?;
        }
    }
    if !a.status_changed.is_empty() {
        writeln!(out, "  status changed:")?;
        for c in &a.status_changed {
            let (from, to) = (c.before.as_str(), c.after.as_str());
            let who = in_account(c.account.as_deref());
            writeln!(out, "    ~ {who}{} {}: {from} -> {to}", c.agent_id, c.agent_email)?;
        }
    }
    if !a.access_changed.is_empty() {
        writeln!(out, "  access changed:")?;
        for c in &a.access_changed {
            writeln!(
                out,
                "    ~ {}{} {}: {}",
                in_account(c.account.as_deref()),
                c.agent_id,
                c.agent_email,
                c.delta.describe()
            )?;
        }
    }

    let d = &diff.decisions;
    if !d.recorded {
        writeln!(out, "\nDecisions: none recorded in OLD (no decisions.json)")?;
        return Ok(());
    }
    writeln!(
        out,
        "\nDecisions of OLD: {} revoke ({} carried out, {} NOT carried out), {} modify ({} changed, {} unchanged, {} unknown), {} keep",
        s.revokes_carried_out + s.revokes_not_carried_out,
        s.revokes_carried_out,
        s.revokes_not_carried_out,
        s.modifies_changed + s.modifies_unchanged + s.modifies_unknown,
        s.modifies_changed,
        s.modifies_unchanged,
        s.modifies_unknown,
        s.keeps
    )?;
    if !unmet.is_empty() {
        writeln!(
            out,
            "  revoke NOT carried out: {} (listed at the top)",
            unmet.len()
        )?;
    }
    for (label, mark, list) in [
        ("revoke carried out", "ok", &d.revokes_carried_out),
        ("modify", "~", &d.modifies),
        ("keep", "=", &d.keeps),
        ("NOT CHECKED (account not compared)", "?", &d.unchecked),
    ] {
        if !list.is_empty() {
            writeln!(out, "  {label}:")?;
            for c in list {
                decision_line(out, mark, c)?;
            }
        }
    }
    Ok(())
}

fn finding_list(out: &mut dyn Write, label: &str, mark: &str, list: &[FindingChange]) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(out, "  {label}:")?;
    for f in list {
        let severity = match &f.old_severity {
            Some(old) => format!("{old} -> {}", f.severity),
            None => f.severity.clone(),
        };
        write!(
            out,
            "    {mark} [{severity}] {} {}{} {} ({})",
            f.rule,
            in_account(f.account.as_deref()),
            f.agent_id,
            f.agent_email,
            f.finding_id
        )?;
        if let Some(r) = f.resolution {
            write!(out, ": {}", r.describe())?;
        }
        if let Some(note) = &f.note {
            write!(out, ": {note}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn decision_line(out: &mut dyn Write, mark: &str, c: &DecisionCheck) -> io::Result<()> {
    let before = c.before.map_or("not in OLD", |s| s.as_str());
    // A modify's outcome is not implied by its list, so it is spelled out.
    let outcome = match c.outcome {
        Outcome::Changed => "changed: ",
        Outcome::Unchanged => "UNCHANGED: ",
        Outcome::Unknown => "unknown: ",
        Outcome::CarriedOut | Outcome::NotCarriedOut | Outcome::Kept => "",
    };
    writeln!(
        out,
        "    {mark} {}{} {} ({before} -> {}): {outcome}{}",
        in_account(c.account.as_deref()),
        c.agent_id,
        c.agent_email,
        now_str(c.now),
        c.detail
    )?;
    writeln!(
        out,
        "       {} by {}: {}",
        c.decision.as_str(),
        c.reviewer,
        one_line(&c.justification)
    )
}

/// `acme-eu/` before an agent id where the diff compares several accounts.
fn in_account(account: Option<&str>) -> String {
    account.map(|a| format!("{a}/")).unwrap_or_default()
}

fn list_or_none(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

fn agent_line(a: &AgentSummary) -> String {
    let mut line = format!(
        "{}{} {} ({}) {}",
        in_account(a.account.as_deref()),
        a.agent_id,
        a.agent_email,
        a.agent_name,
        a.status.as_str()
    );
    if !a.roles.is_empty() {
        line += &format!(", roles {}", a.roles.join(";"));
    }
    line
}

/// The first 12 hex digits: enough to tell snapshots apart on screen.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Justifications come from a workbook and may hold line breaks.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
