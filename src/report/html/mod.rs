//! report.html: one self-contained file (inline CSS, script and SVG, and a
//! Content-Security-Policy that forbids every fetch).
//!
//! The page frame is rendered once through minijinja, with HTML auto-escaping
//! for every `{{ }}`, from one small context. The finding rows and agent
//! panels, one per finding and per agent, are written by hand (`rows.rs`),
//! escaped the same way (`markup.rs`), on every core a few chunks at a time
//! and written in order. The page is never held in memory, and the findings
//! are never copied into a template value tree.

mod leavers;
mod markup;
mod page;
mod rows;

use std::io::Write;

use minijinja::value::{Serde, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, Value};

use super::chunks::write_chunks_in_order;
use super::view::{AgentEntry, FindingRow, ReportData};
use crate::graph::IdentityGraph;
use crate::graph::surface::surface;
use markup::Html;
use page::{Page, live_count};

/// Template name → source. The `.html` names turn on HTML auto-escaping.
const TEMPLATES: [(&str, &str); 7] = [
    ("page_start.html", include_str!("../templates/page_start.html")),
    ("leavers.html", include_str!("../templates/leavers.html")),
    ("chart.html", include_str!("../templates/chart.html")),
    (
        "findings_rest.html",
        include_str!("../templates/findings_rest.html"),
    ),
    (
        "agents_start.html",
        include_str!("../templates/agents_start.html"),
    ),
    ("agents_rest.html", include_str!("../templates/agents_rest.html")),
    ("page_end.html", include_str!("../templates/page_end.html")),
];
const CSS: &str = include_str!("../templates/report.css");
const SCRIPT: &str = include_str!("../templates/report.js");

/// `graph` is the one the report was built from: agent panels read their
/// permission surface from it as they are written.
pub fn write_html(data: &ReportData, graph: &IdentityGraph, out: &mut dyn Write) -> std::io::Result<()> {
    let env = environment()?;
    let page = Page::new(data);
    let inline_rule_text = page.inline_rule_text;
    let show_account = data.run.accounts.len() > 1;
    let frame = Value::from(Serde(&page));

    render(&env, "page_start.html", frame.clone(), out)?;
    let rows = |_: usize, chunk: &[FindingRow], buf: &mut Vec<u8>| {
        let mut html = Html::new(buf);
        for f in chunk {
            rows::finding_row(&mut html, f, inline_rule_text, show_account);
        }
        Ok(())
    };
    let (live, rest) = data.findings.split_at(live_count(data.findings.len()));
    write_chunks_in_order(live, ROW_BYTES, rows, out)?;
    if !rest.is_empty() {
        render(&env, "findings_rest.html", frame.clone(), out)?;
        write_chunks_in_order(rest, ROW_BYTES, rows, out)?;
    }
    render(&env, "agents_start.html", frame.clone(), out)?;
    let panels = |_: usize, chunk: &[AgentEntry], buf: &mut Vec<u8>| {
        let mut html = Html::new(buf);
        for agent in chunk {
            let surface = surface(graph, agent.agent, &data.run.policy);
            rows::agent_panel(&mut html, &surface, agent, &data.findings, &data.suppressed);
        }
        Ok(())
    };
    let (live, rest) = data.agents.split_at(live_count(data.agents.len()));
    write_chunks_in_order(live, PANEL_BYTES, panels, out)?;
    if !rest.is_empty() {
        render(&env, "agents_rest.html", frame.clone(), out)?;
        write_chunks_in_order(rest, PANEL_BYTES, panels, out)?;
    }
    render(&env, "page_end.html", frame, out)
}

fn environment() -> std::io::Result<Environment<'static>> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source).map_err(std::io::Error::other)?;
    }
    // `reports/x/policy.toml` → `policy.toml`, where the full path would crowd a line.
    env.add_filter("basename", |path: String| {
        std::path::Path::new(&path)
            .file_name()
            .map_or_else(|| path.clone(), |f| f.to_string_lossy().into_owned())
    });
    env.set_formatter(format_value);
    // Our own constants, not data: inserted as they are.
    env.add_global("css", Value::from_safe_string(CSS.to_owned()));
    env.add_global("script", Value::from_safe_string(SCRIPT.to_owned()));
    Ok(env)
}

/// Every `{{ }}` of the frame: text escaped as the rows escape it
/// ([`markup::escape_into`]: invisible characters shown, then minijinja's
/// HTML escaping), so both halves of the page follow one rule. Safe strings
/// (our CSS and script), numbers and the like go to minijinja's own formatter.
fn format_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let plain = matches!(
        value.kind(),
        ValueKind::Undefined | ValueKind::None | ValueKind::Bool | ValueKind::Number
    );
    if value.is_safe() || plain || *state.auto_escape() != AutoEscape::Html {
        return minijinja::escape_formatter(out, state, value);
    }
    let mut escaped = Vec::new();
    match value.as_str() {
        Some(text) => markup::escape_into(&mut escaped, text),
        None => markup::escape_into(&mut escaped, &value.to_string()),
    }
    let escaped = String::from_utf8(escaped)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "escaping split a character"))?;
    out.write_str(&escaped).map_err(Error::from)
}

/// About what a finding row and an agent panel take (~0.7 and ~1.1 KiB at
/// the reference size; a longer chunk grows its buffer once).
const ROW_BYTES: usize = 1024;
const PANEL_BYTES: usize = 1536;

/// A write error inside the template comes back as minijinja's error with
/// the io::Error as its source: kept whole, so the cause reaches the user.
fn render(env: &Environment, name: &str, ctx: Value, out: &mut dyn Write) -> std::io::Result<()> {
    env.get_template(name)
        .and_then(|t| t.render_captured_to(ctx, &mut *out))
        .map(drop)
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written rows, without their tests.
    fn rows_code() -> &'static str {
        let source = include_str!("rows.rs");
        source.split("#[cfg(test)]").next().unwrap_or(source)
    }

    #[test]
    fn templates_fetch_nothing_and_never_bypass_escaping() {
        for (name, source) in TEMPLATES.iter().chain(&[
            ("report.css", CSS),
            ("report.js", SCRIPT),
            ("rows.rs", rows_code()),
        ]) {
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
    fn rows_write_markup_only_from_literals() {
        // rows.rs reaches its buffer only through `Html` (whose buffer is
        // private to markup.rs): data through the escaping methods, markup
        // through `markup`, which must be handed a string literal.
        let code = rows_code();
        let calls: Vec<&str> = code.split(".markup(").skip(1).collect();
        assert!(calls.len() > 50, "rows.rs writes its markup with `markup`");
        for call in calls {
            let arg = call.trim_start();
            let head: String = arg.chars().take(60).collect();
            assert!(arg.starts_with('"'), "markup( not given a literal: {head}");
        }
        for banned in [
            "Vec<u8>",
            "push_str",
            "extend_from_slice",
            "write!",
            "from_safe_string",
            "|safe",
        ] {
            assert!(!code.contains(banned), "rows.rs uses {banned}");
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
    fn the_frame_shows_invisible_characters_as_the_rows_do() {
        let env = environment().expect("templates compile");
        let text = "Bob\u{202E}<i>\0";
        let mut rows = Vec::new();
        markup::escape_into(&mut rows, text);
        let frame = env
            .render_str(
                "{% autoescape 'html' %}{{ s }}|{{ l }}|{{ n }}{% endautoescape %}",
                minijinja::context! { s => text, l => vec![text], n => 7 },
            )
            .expect("render");
        assert_eq!(
            frame,
            format!(
                // A list prints as its repr, which already escapes the NUL.
                "{}|[&#x27;Bob[U+202E]&lt;i&gt;\\x00&#x27;]|7",
                String::from_utf8(rows).expect("utf-8")
            )
        );
    }

    #[test]
    fn every_template_parses() {
        environment().expect("templates compile");
    }
}
