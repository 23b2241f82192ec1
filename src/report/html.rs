//! report.html: one self-contained file (inline CSS, no fetches), rendered
//! through a template engine that escapes every value.

use std::io::Write;

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use super::ReportData;

const TEMPLATE: &str = include_str!("templates/report.html");

pub fn write_html(data: &ReportData, out: &mut dyn Write) -> Result<(), String> {
    let mut env = Environment::new();
    // The `.html` name turns on HTML auto-escaping for every `{{ }}`.
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let tmpl = env.get_template("report.html").map_err(|e| e.to_string())?;
    let severities: Vec<(&str, u64)> = crate::rules::Severity::ALL
        .iter()
        .map(|s| {
            (
                s.as_str(),
                data.summary.by_severity.get(s.as_str()).copied().unwrap_or(0),
            )
        })
        .collect();
    let run = &data.run;
    let ctx = Page {
        tool_version: &run.tool_version,
        domain: &run.snapshot_meta.domain,
        as_of: run.as_of.to_string(),
        as_of_source: &run.as_of_source,
        collected_at: run.snapshot_meta.collected_at.to_string(),
        meta: &run.snapshot_meta,
        snapshot: &run.snapshot,
        idp_sources: &run.idp_sources,
        policy_file: run.policy_file.as_ref(),
        population: &data.summary.population,
        by_rule: &data.summary.by_rule,
        severities,
        findings: &data.findings,
        ambiguous: &data.ambiguous,
        suppressed: &data.suppressed,
        unclassified_roles: &data.unclassified_roles,
    };
    tmpl.render_captured_to(Value::from(Serde(&ctx)), out)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[derive(Serialize)]
struct Page<'a> {
    tool_version: &'a str,
    domain: &'a str,
    as_of: String,
    as_of_source: &'a str,
    collected_at: String,
    meta: &'a crate::model::SnapshotMeta,
    snapshot: &'a super::InputFile,
    idp_sources: &'a [crate::idp::IdpSource],
    policy_file: Option<&'a super::InputFile>,
    population: &'a super::Population,
    by_rule: &'a std::collections::BTreeMap<&'static str, u64>,
    severities: Vec<(&'static str, u64)>,
    findings: &'a [super::FindingRow],
    ambiguous: &'a [super::AmbiguousMatch],
    suppressed: &'a [super::SuppressedRow],
    unclassified_roles: &'a [super::UnclassifiedRole],
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_has_no_external_fetches() {
        let t = super::TEMPLATE;
        for banned in ["http://", "https://", "<link", "src="] {
            assert!(!t.contains(banned), "template contains {banned}");
        }
    }
}
