//! One row of the findings table and one agent panel, written straight into a
//! byte buffer: at 20,000 agents and as many findings, evaluating a template
//! per item was most of the report's time.
//!
//! Each writer is one line with few elements: the browser's parse time
//! follows the node count, so there are no whitespace nodes, and a finding's
//! evidence is text in one block. What they write is what the page's script
//! and stylesheet expect (`f-<id>` and `agent-<id>` anchors, `sev-*`, `idp-*`,
//! `to-*` classes, the `data-status` and `data-sev` the agent filters read).
//! Markup goes in as string literals only, data through [`Html::text`] and its
//! siblings, which escape it (see `markup.rs`).

use super::markup::Html;
use crate::graph::surface::{IdpStanding, Membership, PermissionSurface, Step};
use crate::report::view::{AgentEntry, FindingRow, SuppressedRow};

/// `text`, or `fallback` when `text` is empty.
fn or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

/// Present and not empty: what a template's `{% if x %}` tests for a string.
fn present(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.is_empty())
}

/// `<span class="sev sev-high">high</span>`: a severity as the page styles it.
fn severity_badge(h: &mut Html, severity: &str) {
    h.markup("<span class=\"sev sev-");
    h.text(severity);
    h.markup("\">");
    h.text(severity);
    h.markup("</span>");
}

/// One `<tr>` of the findings table. `inline_rule_text`: the rule's summary,
/// action and controls are repeated in the row (small reports); otherwise the
/// row links to the rule's entry in the catalogue. `show_account`: several
/// accounts were audited, so the agent cell names the agent's account.
pub fn finding_row(h: &mut Html, f: &FindingRow, inline_rule_text: bool, show_account: bool) {
    h.markup("<tr id=\"f-");
    h.text(&f.finding_id);
    h.markup("\"><td>");
    severity_badge(h, f.severity);
    h.markup("</td><td><a href=\"#rule-");
    h.text(f.rule);
    h.markup("\">");
    h.text(f.rule);
    h.markup("</a></td><td><a href=\"#agent-");
    h.number(f.agent_id);
    h.markup("\">");
    h.text(or(&f.agent_name, "(no name)"));
    h.markup("</a> <small>");
    h.text(&f.agent_email);
    if show_account {
        h.markup(" · account ");
        h.text(f.account.as_str());
    }
    h.markup("</small></td><td>");
    h.text(f.agent_status);
    h.markup("</td><td>");
    h.text_replacing(&f.roles, ';', ", ");
    h.markup("</td><td>");
    idp_cell(h, f);
    h.markup("</td><td>");
    h.text(&f.detail);
    h.markup("<details><summary>");
    if inline_rule_text {
        h.markup("Why, and what to do</summary><div class=\"ev\">");
        h.text(f.text.summary());
        h.markup("\nWhat to do: ");
        h.text(f.text.action());
        h.markup("\nPath: ");
    } else {
        h.markup("Evidence</summary><div class=\"ev\">Path: ");
    }
    // How the rules name this agent in a path step, shown as just "agent"
    // since the row already names them.
    let agent_label = (!f.evidence.path.is_empty()).then(|| agent_label(f));
    for step in &f.evidence.path {
        h.markup("\n  ");
        if Some(&step.from) == agent_label.as_ref() {
            h.markup("agent");
        } else {
            h.text(&step.from);
        }
        h.markup(" —");
        h.text(&step.edge);
        h.markup("→ ");
        h.text(&step.to);
    }
    if !f.evidence.values.is_empty() {
        h.markup("\nCompared: ");
        for (i, (name, value)) in f.evidence.values.iter().enumerate() {
            if i > 0 {
                h.markup("; ");
            }
            h.text(name);
            h.markup(" = ");
            h.text(value);
        }
    }
    h.markup("\nFinding ");
    h.text(&f.finding_id);
    if inline_rule_text {
        h.markup(" · evidences ");
        for (i, control) in f.text.controls().iter().enumerate() {
            if i > 0 {
                h.markup(", ");
            }
            h.text(control);
        }
    }
    h.markup("</div></details></td></tr>");
}

/// As `rules::evidence::agent_label` writes it.
fn agent_label(f: &FindingRow) -> String {
    match f.agent_email.trim() {
        "" => format!("agent {}", f.agent_id),
        email => format!("agent {} <{email}>", f.agent_id),
    }
}

/// The row's `;`-joined sources and statuses (one per identity), paired up:
/// `deprovisioned (okta)`, space-separated; `none` without an identity.
fn idp_cell(h: &mut Html, f: &FindingRow) {
    if f.idp_status.is_empty() {
        h.markup("none");
        return;
    }
    let cells = f.idp_source.split(';').zip(f.idp_status.split(';'));
    for (i, (source, status)) in cells.enumerate() {
        if i > 0 {
            h.markup(" ");
        }
        let kind = source.split(':').next().unwrap_or(source);
        h.markup("<span class=\"idp-");
        h.text(status);
        h.markup("\">");
        h.text(status);
        h.markup(" (");
        h.text(kind);
        h.markup(")</span>");
    }
}

/// One agent's permission surface as a `<details>`: roles, tickets, groups
/// and identities, each with the graph path that grants it, and links to the
/// agent's findings (`findings` and `suppressed` are what the agent's indexes
/// point into).
pub fn agent_panel(
    h: &mut Html,
    s: &PermissionSurface,
    agent: &AgentEntry,
    findings: &[FindingRow],
    suppressed: &[SuppressedRow],
) {
    let facts = &s.agent;
    let worst = present(agent.worst_severity);
    h.markup("<details class=\"agent\" id=\"agent-");
    h.number(facts.id);
    h.markup("\" data-status=\"");
    h.text(facts.status.as_str());
    h.markup("\" data-sev=\"");
    h.text(worst.unwrap_or("none"));
    h.markup("\"><summary>");
    match worst {
        Some(worst) => severity_badge(h, worst),
        None => h.markup("<span class=\"sev sev-none\">no findings</span>"),
    }
    h.markup(" <b>");
    h.text(or(&facts.name, "(no name)"));
    h.markup("</b> <code>");
    h.text(present(facts.email.as_deref()).unwrap_or("(no email)"));
    h.markup("</code> <small>");
    h.text(facts.status.as_str());
    h.markup(" · ");
    role_names(h, s);
    if !agent.findings.is_empty() {
        h.markup(" · ");
        h.number(agent.findings.len() as u64);
        h.markup(" finding");
        if agent.findings.len() != 1 {
            h.markup("s");
        }
    }
    h.markup("</small></summary><p class=\"facts\">Graph paths start at ");
    h.text(&facts.node);
    if let Some(agent_type) = present(facts.agent_type.as_deref()) {
        h.markup(" · ");
        h.text(agent_type);
    }
    if facts.occasional {
        h.markup(" · occasional");
    }
    h.markup(" · created ");
    match &facts.created_at {
        Some(at) => h.display(at),
        None => h.markup("unknown"),
    }
    h.markup(" · last activity ");
    match &facts.last_activity {
        Some(at) => h.display(at),
        None => h.markup("never"),
    }
    h.markup(" · ");
    h.text(standing(s.idp_standing));
    h.markup("</p><ul class=\"grants\">");
    for r in &s.roles {
        h.markup("<li>Role <b>");
        h.text(&r.name);
        h.markup("</b>");
        if r.privileged {
            h.markup(" <em>privileged</em>");
        }
        if !r.known {
            h.markup(" (not in the snapshot)");
        }
        path(h, &r.path, &facts.node);
    }
    h.markup("<li>Tickets: <b>");
    h.text(&s.tickets.sees);
    h.markup("</b>");
    if let Some(scope) = s.tickets.scope {
        h.markup(" (scope ");
        h.text(scope.as_str());
        h.markup(")");
    }
    path(h, &s.tickets.path, &facts.node);
    for g in &s.groups {
        h.markup("<li>Group <b>");
        h.text(&g.name);
        match g.membership {
            Membership::Member => h.markup("</b> (member"),
            Membership::ViewOnly => h.markup("</b> (view-only"),
        }
        if !g.known {
            h.markup(", not in the snapshot");
        }
        h.markup(")");
        path(h, &g.path, &facts.node);
    }
    for i in &s.identities {
        h.markup("<li>Identity <b>");
        h.text(&i.login);
        h.markup("</b> in ");
        h.text(&i.source);
        h.markup(" ");
        h.text(i.position);
        h.markup(" ");
        h.number(i.line);
        h.markup(": <span class=\"idp-");
        h.text(i.status.as_str());
        h.markup("\">");
        h.text(&i.raw_status);
        h.markup(" → ");
        h.text(i.status.as_str());
        h.markup("</span>, matched by ");
        h.text(i.method.as_str());
        if i.key != i.login {
            h.markup(" = ");
            h.text(&i.key);
        }
        if let Some(at) = &i.last_login {
            h.markup(", last login ");
            h.display(at);
        }
        path(h, &i.path, &facts.node);
    }
    if s.identities.is_empty() {
        h.markup("<li class=\"warn\">Identity: none in any IdP export</li>");
    }
    h.markup("</ul>");
    if !agent.findings.is_empty() {
        h.markup("<p>Findings: ");
        for (n, &k) in agent.findings.iter().enumerate() {
            let f = &findings[k];
            if n > 0 {
                h.markup(", ");
            }
            h.markup("<a href=\"#f-");
            h.text(&f.finding_id);
            h.markup("\" class=\"to-");
            h.text(f.severity);
            h.markup("\">");
            h.text(f.severity);
            h.markup(" ");
            h.text(f.rule);
            h.markup("</a>");
        }
        h.markup("</p>");
    }
    if !agent.suppressed.is_empty() {
        h.markup("<p>Suppressed by exception: ");
        for (n, &k) in agent.suppressed.iter().enumerate() {
            let f = &suppressed[k].finding;
            if n > 0 {
                h.markup(", ");
            }
            h.markup("<a href=\"#s-");
            h.text(&f.finding_id);
            h.markup("\">");
            h.text(f.rule);
            h.markup("</a>");
        }
        h.markup("</p>");
    }
    h.markup("</details>");
}

/// The role names, comma-separated, or `no role` when that comes out empty.
fn role_names(h: &mut Html, s: &PermissionSurface) {
    match s.roles.as_slice() {
        [] => h.markup("no role"),
        [only] if only.name.is_empty() => h.markup("no role"),
        roles => {
            for (i, r) in roles.iter().enumerate() {
                if i > 0 {
                    h.markup(", ");
                }
                h.text(&r.name);
            }
        }
    }
}

/// ` <code>↳ agent → edge → node↳ …</code></li>`: a grant's path, each step
/// from the node before it, the agent's own node left out.
fn path(h: &mut Html, steps: &[Step], agent_node: &str) {
    h.markup(" <code>");
    for step in steps {
        h.markup("↳ ");
        if step.from != agent_node {
            h.text(&step.from);
            h.markup(" → ");
        }
        h.text(step.edge);
        h.markup(" → ");
        h.text(&step.to);
    }
    h.markup("</code></li>");
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
    use crate::graph::surface::{AgentFacts, GroupGrant, IdentityGrant, RoleGrant, TicketVisibility};
    use crate::idp::{IdpStatus, MatchMethod};
    use crate::model::{AgentStatus, TicketScope};
    use crate::report::view::RuleText;
    use crate::rules::{Evidence, PathStep, RuleMeta};

    /// Markup a browser would run, quotes that would close an attribute, an
    /// ampersand, a slash that would close a tag, and non-ASCII text (no `;`,
    /// which would split the row's `;`-joined IdP columns).
    /// A value's name: the rule's own constant, never data.
    const KEY: &str = "key ";
    const HOSTILE: &str = "<script>alert('x')</script> \"&copy\" a/b Zoë 東京";
    const HOSTILE_ESCAPED: &str =
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &quot;&amp;copy&quot; a&#x2f;b Zoë 東京";

    /// Rule texts with the characters HTML escapes.
    static HOSTILE_RULE: RuleMeta = RuleMeta {
        id: "orphaned-agent",
        severity: crate::catalogue::Severity::High,
        summary: "summary <b>",
        action: "act & fix",
        controls: &["CC6.2", "A.5/18"],
    };

    fn finding(text: &str) -> FindingRow {
        FindingRow {
            finding_id: format!("id{text}"),
            rule: "orphaned-agent",
            severity: "high",
            account: crate::report::view::Account::new("acme"),
            agent_id: 7,
            agent_email: format!("a{text}@x.test"),
            agent_name: format!("name {text}"),
            agent_status: "active",
            roles: format!("Admin;role {text}"),
            groups: String::new(),
            ticket_scope: "",
            idp_source: format!("okta:{text}.csv;entra:e.csv"),
            idp_status: format!("deprovisioned;{text}"),
            idp_last_login: String::new(),
            detail: format!("detail {text}"),
            text: RuleText(&HOSTILE_RULE),
            evidence: Evidence {
                path: vec![PathStep {
                    from: format!("agent 7 <a{text}@x.test>"),
                    edge: format!("edge {text}"),
                    to: format!("to {text}"),
                }],
                values: [(KEY, format!("value {text}"))].into_iter().collect(),
            },
        }
    }

    fn step(from: &str, edge: &'static str, to: &str) -> Step {
        Step {
            from: from.into(),
            edge,
            to: to.into(),
        }
    }

    fn agent(text: &str) -> (PermissionSurface, AgentEntry) {
        let node = format!("agent:7{text}");
        (
            PermissionSurface {
                agent: AgentFacts {
                    node: node.clone(),
                    id: 7,
                    name: format!("name {text}"),
                    email: Some(format!("a{text}@x.test")),
                    status: AgentStatus::Active,
                    agent_type: Some(format!("type {text}")),
                    occasional: true,
                    created_at: Some("2025-01-02T03:04:05Z".parse().expect("timestamp")),
                    last_activity: None,
                },
                identities: vec![IdentityGrant {
                    node: format!("identity:1{text}"),
                    source: format!("okta:{text}.csv"),
                    position: "line",
                    line: 12,
                    login: format!("login {text}"),
                    display_name: format!("display {text}"),
                    raw_status: format!("raw {text}"),
                    status: IdpStatus::Deprovisioned,
                    method: MatchMethod::PrimaryEmail,
                    key: format!("key {text}"),
                    last_login: Some("2026-01-02T03:04:05.5Z".parse().expect("timestamp")),
                    path: vec![step(&node, "resolves_to", &format!("identity:1{text}"))],
                    explanation: String::new(),
                }],
                idp_standing: IdpStanding::IdpTerminated,
                roles: vec![RoleGrant {
                    node: format!("role:1{text}"),
                    id: 1,
                    name: format!("role {text}"),
                    known: false,
                    privileged: true,
                    path: vec![step(&node, "has_role", &format!("role:1{text}"))],
                    explanation: String::new(),
                }],
                tickets: TicketVisibility {
                    scope: Some(TicketScope::Group),
                    sees: format!("sees {text}"),
                    via_groups: true,
                    path: vec![
                        step(&node, "member_of", &format!("group:2{text}")),
                        step(&format!("group:2{text}"), "has_scope", &format!("scope {text}")),
                    ],
                    explanation: String::new(),
                },
                groups: vec![GroupGrant {
                    node: format!("group:2{text}"),
                    id: 2,
                    name: format!("group {text}"),
                    known: true,
                    membership: Membership::ViewOnly,
                    path: vec![step(&node, "contributes_to", &format!("group:2{text}"))],
                    explanation: String::new(),
                }],
            },
            AgentEntry {
                agent: 0,
                worst_severity: Some("high"),
                findings: vec![0],
                suppressed: Vec::new(),
            },
        )
    }

    fn row(text: &str, inline: bool) -> String {
        let mut buf = Vec::new();
        finding_row(&mut Html::new(&mut buf), &finding(text), inline, false);
        String::from_utf8(buf).expect("utf-8")
    }

    #[test]
    fn the_account_is_named_only_where_several_were_audited() {
        let mut f = finding("x");
        f.account = crate::report::view::Account::new("acme-eu<b>");
        let mut buf = Vec::new();
        finding_row(&mut Html::new(&mut buf), &f, false, true);
        let several = String::from_utf8(buf).expect("utf-8");
        assert!(
            several.contains(" · account acme-eu&lt;b&gt;</small>"),
            "{several}"
        );
        assert!(
            !row("x", false).contains("account"),
            "one account: the row is as ever"
        );
    }

    fn panel(text: &str) -> String {
        let mut buf = Vec::new();
        let (surface, entry) = agent(text);
        agent_panel(&mut Html::new(&mut buf), &surface, &entry, &[finding(text)], &[]);
        String::from_utf8(buf).expect("utf-8")
    }

    /// Hostile text in every field comes out escaped: the page's structure
    /// (its tags and attribute quotes) is that of a harmless row.
    fn assert_escaped(hostile: &str, harmless: &str) {
        assert!(!hostile.contains("<script"), "{hostile}");
        assert!(!hostile.contains("'x'"), "{hostile}");
        assert!(hostile.contains(HOSTILE_ESCAPED), "{hostile}");
        assert!(hostile.contains("Zoë 東京"), "{hostile}");
        for structural in ['<', '>', '"', '\''] {
            assert_eq!(
                hostile.matches(structural).count(),
                harmless.matches(structural).count(),
                "{structural} in {hostile}"
            );
        }
    }

    #[test]
    fn a_finding_row_escapes_every_value() {
        for inline in [true, false] {
            let hostile = row(HOSTILE, inline);
            assert_escaped(&hostile, &row("x", inline));
            assert!(
                hostile.starts_with(&format!("<tr id=\"f-id{HOSTILE_ESCAPED}\"><td>")),
                "{hostile}"
            );
            assert!(
                hostile.contains(&format!(
                    "<span class=\"idp-{HOSTILE_ESCAPED}\">{HOSTILE_ESCAPED} (entra)</span>"
                )),
                "{hostile}"
            );
            // The agent's own label is shortened to "agent", as before escaping.
            assert!(hostile.contains("\n  agent —edge "), "{hostile}");
            assert!(hostile.ends_with("</div></details></td></tr>"), "{hostile}");
        }
        assert!(row(HOSTILE, true).contains("summary &lt;b&gt;\nWhat to do: act &amp; fix\nPath: "));
        assert!(row(HOSTILE, true).contains(" · evidences CC6.2, A.5&#x2f;18</div>"));
    }

    #[test]
    fn a_finding_row_reads_as_the_template_wrote_it() {
        assert_eq!(
            row("", true),
            "<tr id=\"f-id\"><td><span class=\"sev sev-high\">high</span></td>\
             <td><a href=\"#rule-orphaned-agent\">orphaned-agent</a></td>\
             <td><a href=\"#agent-7\">name </a> <small>a@x.test</small></td><td>active</td>\
             <td>Admin, role </td>\
             <td><span class=\"idp-deprovisioned\">deprovisioned (okta)</span> <span class=\"idp-\"> (entra)</span></td>\
             <td>detail <details><summary>Why, and what to do</summary><div class=\"ev\">summary &lt;b&gt;\n\
             What to do: act &amp; fix\nPath: \n  agent —edge → to \nCompared: key  = value \n\
             Finding id · evidences CC6.2, A.5&#x2f;18</div></details></td></tr>"
        );
    }

    #[test]
    fn an_agent_panel_escapes_every_value() {
        let hostile = panel(HOSTILE);
        assert_escaped(&hostile, &panel("x"));
        assert!(
            hostile.starts_with(
                "<details class=\"agent\" id=\"agent-7\" data-status=\"active\" data-sev=\"high\">"
            ),
            "{hostile}"
        );
        assert!(hostile.contains(&format!(
            "<b>login {HOSTILE_ESCAPED}</b> in okta:{HOSTILE_ESCAPED}.csv line 12: "
        )));
        assert!(hostile.contains(", matched by primary email = key "), "{hostile}");
        assert!(
            hostile.contains(", last login 2026-01-02T03:04:05.5Z <code>↳ resolves_to → "),
            "{hostile}"
        );
        assert!(
            hostile.contains(" · created 2025-01-02T03:04:05Z · last activity never · IdP-terminated</p>")
        );
        assert!(hostile.contains(&format!(
            "<a href=\"#f-id{HOSTILE_ESCAPED}\" class=\"to-high\">high orphaned-agent</a>"
        )));
        assert!(hostile.ends_with("</a></p></details>"), "{hostile}");
    }

    #[test]
    fn an_agent_panel_without_roles_identities_or_findings() {
        let (mut surface, mut bare) = agent("");
        let s = &mut surface;
        s.roles.clear();
        s.identities.clear();
        s.groups.clear();
        s.tickets.scope = None;
        s.tickets.path.clear();
        s.agent.name.clear();
        s.agent.email = None;
        s.agent.agent_type = Some(String::new());
        s.agent.occasional = false;
        s.agent.created_at = None;
        s.idp_standing = IdpStanding::NoIdentity;
        bare.worst_severity = None;
        bare.findings.clear();
        let mut buf = Vec::new();
        agent_panel(&mut Html::new(&mut buf), &surface, &bare, &[], &[]);
        assert_eq!(
            String::from_utf8(buf).expect("utf-8"),
            "<details class=\"agent\" id=\"agent-7\" data-status=\"active\" data-sev=\"none\"><summary>\
             <span class=\"sev sev-none\">no findings</span> <b>(no name)</b> <code>(no email)</code> \
             <small>active · no role</small></summary><p class=\"facts\">Graph paths start at agent:7 · \
             created unknown · last activity never · no IdP identity</p><ul class=\"grants\">\
             <li>Tickets: <b>sees </b> <code></code></li>\
             <li class=\"warn\">Identity: none in any IdP export</li></ul></details>"
        );
    }

    /// The words the writers use for these enums are the names serde gives
    /// them (what the templates printed), `_` read as a space for the method.
    #[test]
    fn enum_words_are_their_serde_names() {
        let serde_name = |v: serde_json::Value| v.as_str().expect("a string").to_owned();
        for status in [
            AgentStatus::Active,
            AgentStatus::Pending,
            AgentStatus::Deactivated,
        ] {
            // An exhaustive match: a new variant must be added to the list above.
            match status {
                AgentStatus::Active | AgentStatus::Pending | AgentStatus::Deactivated => {}
            }
            assert_eq!(status.as_str(), serde_name(serde_json::json!(status)));
        }
        for status in [
            IdpStatus::Active,
            IdpStatus::Staged,
            IdpStatus::Suspended,
            IdpStatus::Deprovisioned,
            IdpStatus::Unknown,
        ] {
            match status {
                IdpStatus::Active
                | IdpStatus::Staged
                | IdpStatus::Suspended
                | IdpStatus::Deprovisioned
                | IdpStatus::Unknown => {}
            }
            assert_eq!(status.as_str(), serde_name(serde_json::json!(status)));
        }
        for scope in [TicketScope::Global, TicketScope::Group, TicketScope::Restricted] {
            match scope {
                TicketScope::Global | TicketScope::Group | TicketScope::Restricted => {}
            }
            assert_eq!(scope.as_str(), serde_name(serde_json::json!(scope)));
        }
        for method in [
            MatchMethod::Login,
            MatchMethod::PrimaryEmail,
            MatchMethod::SecondaryEmail,
            MatchMethod::DomainAlias,
            MatchMethod::IdentityMap,
        ] {
            match method {
                MatchMethod::Login
                | MatchMethod::PrimaryEmail
                | MatchMethod::SecondaryEmail
                | MatchMethod::DomainAlias
                | MatchMethod::IdentityMap => {}
            }
            assert_eq!(
                method.as_str(),
                serde_name(serde_json::json!(method)).replace('_', " ")
            );
        }
        assert_eq!(serde_name(serde_json::json!(Membership::Member)), "member");
    }
}
