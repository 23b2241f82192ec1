//! `deskaudit explain`: one person's effective permission surface, the path
//! behind every grant, and every finding on them.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};

use serde::Serialize;

use super::context;
use super::stdout::stdout;
use super::{Failure, Loaded, load};
use crate::cli::ExplainArgs;
use crate::graph::IdentityGraph;
use crate::graph::surface::{Membership, PermissionSurface, surface};
use crate::model::{AgentStatus, TicketScope};
use crate::rules::{AuditContext, Finding, PathStep, registry};

const SCHEMA_VERSION: u32 = 1;

pub fn run(args: &ExplainArgs) -> Result<u8, Failure> {
    let Loaded {
        graph, policy, as_of, ..
    } = load(&args.snapshot, &args.inputs)?;
    let matches = find_agents(&graph, &args.email);
    if matches.is_empty() {
        return Err(not_found(
            &graph,
            &args.email,
            &args
                .snapshot
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let set = registry::run(&AuditContext {
        graph: &graph,
        policy: &policy,
        as_of,
        leavers: None,
    });
    // One person may be an agent in several accounts: each agent says which.
    let several = graph.directory.several_accounts();
    let explained: Vec<Explained> = matches
        .iter()
        .map(|&i| Explained {
            account: several.then(|| graph.directory.account_of(graph.agent(i)).to_owned()),
            surface: surface(&graph, i, &policy),
            findings: set
                .findings
                .iter()
                .filter(|f| f.agent == i)
                .map(|f| FindingView::of(f, &graph))
                .collect(),
        })
        .collect();

    let mut w = BufWriter::new(stdout());
    let written = if args.json {
        let doc = ExplainDocument {
            schema_version: SCHEMA_VERSION,
            query: args.email.clone(),
            as_of: as_of.to_string(),
            agents: explained,
        };
        serde_json::to_writer_pretty(&mut w, &doc)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(w))
    } else {
        write_text(&mut w, &args.email, &as_of.to_string(), &explained)
    };
    written
        .and_then(|()| w.flush())
        .map_err(|e| Failure::output(context("stdout", e)))?;
    Ok(0)
}

/// One person's agents across the accounts of `graph`: (account, agent id,
/// status), in the accounts' order (the demo shows them).
pub(super) fn agents_of<'g>(graph: &'g IdentityGraph, email: &str) -> Vec<(&'g str, u64, AgentStatus)> {
    find_agents(graph, email)
        .into_iter()
        .map(|i| {
            let agent = graph.agent(i);
            (graph.directory.account_of(agent), agent.id, agent.status)
        })
        .collect()
}

/// Agents whose key (email trimmed, lower-cased) is the query, or whose id it is.
fn find_agents(graph: &IdentityGraph, query: &str) -> Vec<usize> {
    let needle = query.trim().to_lowercase();
    let id: Option<u64> = needle.parse().ok();
    graph
        .agents()
        .filter(|(_, a)| a.key().as_deref() == Some(needle.as_str()) || Some(a.id) == id)
        .map(|(i, _)| i)
        .collect()
}

fn not_found(graph: &IdentityGraph, query: &str, snapshot: &str) -> Failure {
    let needle = query.trim().to_lowercase();
    let local = needle.split('@').next().unwrap_or_default();
    let mut close: Vec<(usize, String)> = graph
        .agents()
        .filter_map(|(_, a)| a.key())
        .filter_map(|key| {
            let d = strsim::levenshtein(&needle, &key);
            let related = d <= 3.max(needle.chars().count() / 4) || (local.len() >= 3 && key.contains(local));
            related.then_some((d, key))
        })
        .collect();
    close.sort();
    close.dedup();
    let mut message = format!(
        "no agent with email or id `{}` in {snapshot} ({} agents searched by email, trimmed and lower-cased, and by id)",
        clean(query),
        graph.agents().count()
    );
    if !close.is_empty() {
        let names: Vec<String> = close.into_iter().take(5).map(|(_, k)| clean(&k)).collect();
        message.push_str(&format!("; close: {}", names.join(", ")));
    }
    Failure::input(message)
}

/// Control characters (ANSI escapes, carriage returns) and format characters
/// (bidi overrides, zero-width spaces) written visibly, so a hostile name
/// cannot rewrite the terminal or read as another.
fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() || crate::text::is_invisible(c) {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// The public JSON of `explain --json`.
#[derive(Serialize)]
struct ExplainDocument {
    schema_version: u32,
    query: String,
    as_of: String,
    agents: Vec<Explained>,
}

#[derive(Serialize)]
struct Explained {
    /// The agent's account (its domain); only where several are explained.
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(flatten)]
    surface: PermissionSurface,
    findings: Vec<FindingView>,
}

#[derive(Serialize)]
struct FindingView {
    finding_id: String,
    rule: &'static str,
    severity: &'static str,
    detail: String,
    path: Vec<PathStep>,
    values: BTreeMap<String, String>,
}

impl FindingView {
    fn of(f: &Finding, graph: &IdentityGraph) -> FindingView {
        FindingView {
            finding_id: f.id(&graph.directory),
            rule: f.rule.id,
            severity: f.severity.as_str(),
            detail: f.detail.clone(),
            path: f.evidence.path.clone(),
            values: f
                .evidence
                .values
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}

fn write_text(w: &mut impl Write, query: &str, as_of: &str, explained: &[Explained]) -> io::Result<()> {
    if explained.len() > 1 {
        let mut accounts: Vec<&str> = explained.iter().filter_map(|e| e.account.as_deref()).collect();
        accounts.dedup();
        let across = match accounts.as_slice() {
            [] | [_] => String::new(),
            several => format!(" in {} accounts ({})", several.len(), clean(&several.join(", "))),
        };
        writeln!(
            w,
            "{} agents match `{}`{across}.",
            explained.len(),
            clean(query.trim())
        )?;
        writeln!(w)?;
    }
    for (n, e) in explained.iter().enumerate() {
        if n > 0 {
            writeln!(w)?;
            writeln!(w, "----------------------------------------")?;
            writeln!(w)?;
        }
        write_one(w, as_of, e)?;
    }
    Ok(())
}

fn write_one(w: &mut impl Write, as_of: &str, e: &Explained) -> io::Result<()> {
    let s = &e.surface;
    let a = &s.agent;
    let email = a.email.as_deref().map_or_else(|| "no email".to_owned(), clean);
    let name = if a.name.trim().is_empty() {
        "(no name)".to_owned()
    } else {
        clean(&a.name)
    };
    let account = e
        .account
        .as_deref()
        .map(|d| format!(" in account {}", clean(d)))
        .unwrap_or_default();
    writeln!(w, "Agent {}{account}: {name} <{email}>", a.id)?;
    let kind = a
        .agent_type
        .as_deref()
        .map_or_else(|| "type not given".to_owned(), clean);
    let time = if a.occasional { "occasional" } else { "full-time" };
    writeln!(w, "  status:        {} ({kind}, {time})", a.status.as_str())?;
    let when = |t: Option<jiff::Timestamp>| t.map_or_else(|| "never".to_owned(), |t| t.to_string());
    writeln!(w, "  created:       {}", when(a.created_at))?;
    writeln!(w, "  last activity: {}", when(a.last_activity))?;
    writeln!(w, "  as of:         {as_of}")?;
    match a.status {
        AgentStatus::Deactivated => writeln!(
            w,
            "  note: deactivated; the grants below come back if the agent is reactivated"
        )?,
        AgentStatus::Pending => writeln!(
            w,
            "  note: pending invite; the grants below take effect once it is accepted"
        )?,
        AgentStatus::Active => {}
    }

    writeln!(w)?;
    writeln!(
        w,
        "Identities ({}): {}",
        s.identities.len(),
        s.idp_standing.describe()
    )?;
    for i in &s.identities {
        writeln!(
            w,
            "  - {} {} {}: {} [{} → {}]",
            clean(&i.source),
            i.position,
            i.line,
            clean(&i.login),
            clean(&i.raw_status),
            i.status.as_str()
        )?;
        let last = i
            .last_login
            .map(|t| format!(", last login {t}"))
            .unwrap_or_default();
        writeln!(
            w,
            "      matched by {} = {}{last}",
            i.method.as_str(),
            clean(&i.key)
        )?;
    }

    writeln!(w)?;
    writeln!(w, "Roles ({}):", s.roles.len())?;
    for r in &s.roles {
        let flag = if r.privileged { " [privileged]" } else { "" };
        let unknown = if r.known {
            ""
        } else {
            " (not in the snapshot's roles)"
        };
        writeln!(w, "  - {} (id {}){flag}{unknown}", clean(&r.name), r.id)?;
        writeln!(w, "      path: {}", clean(&r.explanation))?;
    }

    writeln!(w)?;
    let t = &s.tickets;
    writeln!(w, "Tickets they can see: {}", t.sees)?;
    if !t.explanation.is_empty() {
        writeln!(w, "  path: {}", t.explanation)?;
    }
    let n = s.groups.len();
    match t.scope {
        Some(TicketScope::Group) => writeln!(w, "Groups whose tickets they can see ({n}):")?,
        Some(scope) => writeln!(
            w,
            "Groups ({n}; membership only, the {} scope decides what they see):",
            scope.as_str()
        )?,
        None => writeln!(w, "Groups ({n}):")?,
    }
    for g in &s.groups {
        let how = match g.membership {
            Membership::Member => "member",
            Membership::ViewOnly => "view-only",
        };
        writeln!(w, "  - {} (id {}), {how}", clean(&g.name), g.id)?;
        let path = if t.via_groups {
            format!("{} + {}", t.explanation, g.explanation)
        } else {
            g.explanation.clone()
        };
        writeln!(w, "      path: {}", clean(&path))?;
    }

    writeln!(w)?;
    writeln!(w, "Findings ({}):", e.findings.len())?;
    for f in &e.findings {
        writeln!(
            w,
            "  - [{}] {} ({}): {}",
            f.severity,
            f.rule,
            f.finding_id,
            clean(&f.detail)
        )?;
        for step in &f.path {
            writeln!(
                w,
                "      {} —{}→ {}",
                clean(&step.from),
                clean(&step.edge),
                clean(&step.to)
            )?;
        }
        for (name, value) in &f.values {
            writeln!(w, "      {name} = {}", clean(value))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_makes_control_characters_visible() {
        assert_eq!(clean("a\u{1b}[31mb\r"), "a\\u{1b}[31mb\\r");
        assert_eq!(clean("Zoë <img>"), "Zoë <img>");
        assert_eq!(clean("Bob\u{202e}nimda"), "Bob\\u{202e}nimda");
    }
}
