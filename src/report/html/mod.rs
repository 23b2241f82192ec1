//! report.html: one self-contained file (inline CSS, script and SVG, and a
//! Content-Security-Policy that forbids every fetch), rendered through
//! minijinja with HTML auto-escaping for every `{{ }}`.
//!
//! Written in pieces straight into the writer: the page frame from one small
//! context, then each finding row and each agent panel from its own. The page
//! is never held in memory, and the findings are never copied into one big
//! template value tree (20,000 agents would mean tens of MB of copies).

mod page;

use std::io::Write;

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use rayon::prelude::*;
use serde::Serialize;

use super::FindingRow;
use super::view::{AgentAccess, ReportData};
use crate::graph::surface::{IdpStanding, PermissionSurface};
use page::{Page, live_count};

/// Template name → source. The `.html` names turn on HTML auto-escaping.
const TEMPLATES: [(&str, &str); 8] = [
    ("page_start.html", include_str!("../templates/page_start.html")),
    ("chart.html", include_str!("../templates/chart.html")),
    ("finding_row.html", include_str!("../templates/finding_row.html")),
    (
        "findings_rest.html",
        include_str!("../templates/findings_rest.html"),
    ),
    (
        "agents_start.html",
        include_str!("../templates/agents_start.html"),
    ),
    ("agent_panel.html", include_str!("../templates/agent_panel.html")),
    ("agents_rest.html", include_str!("../templates/agents_rest.html")),
    ("page_end.html", include_str!("../templates/page_end.html")),
];
const CSS: &str = include_str!("../templates/report.css");
const SCRIPT: &str = include_str!("../templates/report.js");

pub fn write_html(data: &ReportData, out: &mut dyn Write) -> Result<(), String> {
    let env = environment()?;
    let page = Page::new(data);
    let inline_rule_text = page.inline_rule_text;
    let frame = Value::from(Serde(&page));

    render(&env, "page_start.html", frame.clone(), out)?;
    let (live, rest) = data.findings.split_at(live_count(data.findings.len()));
    let row = |f: &FindingRow| {
        Value::from(Serde(&FindingCtx {
            f,
            agent_label: agent_label(f),
            idp: idp_cells(f),
            inline_rule_text,
        }))
    };
    render_each(&env, "finding_row.html", live, row, out)?;
    if !rest.is_empty() {
        render(&env, "findings_rest.html", frame.clone(), out)?;
        render_each(&env, "finding_row.html", rest, row, out)?;
    }
    render(&env, "agents_start.html", frame.clone(), out)?;
    let (live, rest) = data.agents.split_at(live_count(data.agents.len()));
    let panel = |agent: &AgentAccess| Value::from(Serde(&AgentCtx::new(agent, data)));
    render_each(&env, "agent_panel.html", live, panel, out)?;
    if !rest.is_empty() {
        render(&env, "agents_rest.html", frame.clone(), out)?;
        render_each(&env, "agent_panel.html", rest, panel, out)?;
    }
    render(&env, "page_end.html", frame, out)
}

fn environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("template {name}: {e}"))?;
    }
    // `reports/x/policy.toml` → `policy.toml`, where the full path would crowd a line.
    env.add_filter("basename", |path: String| {
        std::path::Path::new(&path)
            .file_name()
            .map_or_else(|| path.clone(), |f| f.to_string_lossy().into_owned())
    });
    // Our own constants, not data: inserted as they are.
    env.add_global("css", Value::from_safe_string(CSS.to_owned()));
    env.add_global("script", Value::from_safe_string(SCRIPT.to_owned()));
    Ok(env)
}

/// Items rendered per task: enough to make a task worth its overhead.
const CHUNK: usize = 256;

/// One template per item, in order. Thousands of rows are rendered on every
/// core a few chunks at a time (each into its own buffer), then written in
/// order, so the output is the same and only a few MiB are ever buffered.
fn render_each<T: Sync>(
    env: &Environment,
    name: &str,
    items: &[T],
    ctx: impl Fn(&T) -> Value + Sync,
    out: &mut dyn Write,
) -> Result<(), String> {
    let wave = CHUNK * rayon::current_num_threads().max(1) * 2;
    for batch in items.chunks(wave) {
        let rendered: Vec<Result<Vec<u8>, String>> = batch
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 1024);
                for item in chunk {
                    render(env, name, ctx(item), &mut buf)?;
                }
                Ok(buf)
            })
            .collect();
        for buf in rendered {
            out.write_all(&buf?).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn render(env: &Environment, name: &str, ctx: Value, out: &mut dyn Write) -> Result<(), String> {
    env.get_template(name)
        .and_then(|t| t.render_captured_to(ctx, &mut *out))
        .map(drop)
        .map_err(|e| format!("template {name}: {e:#}"))
}

#[derive(Serialize)]
struct FindingCtx<'a> {
    f: &'a FindingRow,
    /// How the rules name this agent in a path step, shown as just "agent"
    /// since the row already names them.
    agent_label: String,
    idp: Vec<IdpCell<'a>>,
    inline_rule_text: bool,
}

/// One identity's status in the IdP column: `deprovisioned` and the source kind.
#[derive(Serialize)]
struct IdpCell<'a> {
    kind: &'a str,
    status: &'a str,
}

/// As `rules::evidence::agent_label` writes it.
fn agent_label(f: &FindingRow) -> String {
    match f.agent_email.trim() {
        "" => format!("agent {}", f.agent_id),
        email => format!("agent {} <{email}>", f.agent_id),
    }
}

/// The row's `;`-joined sources and statuses (one per identity), paired up.
fn idp_cells(f: &FindingRow) -> Vec<IdpCell<'_>> {
    if f.idp_status.is_empty() {
        return Vec::new();
    }
    f.idp_source
        .split(';')
        .zip(f.idp_status.split(';'))
        .map(|(source, status)| IdpCell {
            kind: source.split(':').next().unwrap_or(source),
            status,
        })
        .collect()
}

#[derive(Serialize)]
struct AgentCtx<'a> {
    s: &'a PermissionSurface,
    standing: &'static str,
    worst: Option<&'static str>,
    findings: Vec<FindingRef<'a>>,
    suppressed: Vec<FindingRef<'a>>,
}

/// A link from an agent's panel to one of its findings.
#[derive(Serialize)]
struct FindingRef<'a> {
    id: &'a str,
    rule: &'static str,
    severity: &'static str,
}

impl<'a> AgentCtx<'a> {
    fn new(agent: &'a AgentAccess, data: &'a ReportData) -> AgentCtx<'a> {
        let link = |f: &'a FindingRow| FindingRef {
            id: &f.finding_id,
            rule: f.rule,
            severity: f.severity,
        };
        AgentCtx {
            s: &agent.surface,
            standing: standing(agent.surface.idp_standing),
            worst: agent.worst_severity,
            findings: agent.findings.iter().map(|&k| link(&data.findings[k])).collect(),
            suppressed: agent
                .suppressed
                .iter()
                .map(|&k| link(&data.suppressed[k].finding))
                .collect(),
        }
    }
}

/// A few words for the panel's facts line (`describe` is a sentence).
fn standing(standing: IdpStanding) -> &'static str {
    match standing {
        IdpStanding::IdpActive => "IdP-active",
        IdpStanding::IdpTerminated => "IdP-terminated",
        IdpStanding::NotActive => "not active in any IdP",
        IdpStanding::NoIdentity => "no IdP identity",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fetch_nothing_and_never_bypass_escaping() {
        for (name, source) in TEMPLATES
            .iter()
            .chain(&[("report.css", CSS), ("report.js", SCRIPT)])
        {
            for banned in [
                "http://",
                "https://",
                "<link",
                "src=",
                "url(",
                "@import",
                "|safe",
                "javascript:",
            ] {
                assert!(!source.contains(banned), "{name} contains {banned}");
            }
        }
    }

    #[test]
    fn script_parses_only_the_pages_own_markup() {
        // The one string the script turns into nodes is the page's own
        // escaped markup, read from a <noscript>, parsed by an inert
        // <template>. Nothing else may parse strings as HTML.
        assert_eq!(SCRIPT.matches("innerHTML").count(), 1);
        assert!(SCRIPT.contains("template.innerHTML = todo.map(function (it) { return it.html; })"));
        for banned in [
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!SCRIPT.contains(banned), "report.js uses {banned}");
        }
    }

    #[test]
    fn every_template_parses() {
        environment().expect("templates compile");
    }
}
