//! report.html through the real binary, on `fixtures/html` (agent, role,
//! group, channel, IdP file and exception texts that are hostile markup) and
//! on a generated account long enough to be split into a live page and a
//! `<noscript>` rest. The browser half is in tests/browser.rs.

mod common;

use common::{audit_into, repo, sealed_snapshot};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// An IdP export name a browser would run, were it markup.
const HOSTILE_IDP_FILE: &str = "okta <img src=x onerror=alert(5)> '&\".csv";

const CSP: &str = r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">"#;

/// `deskaudit audit` on fixtures/html; returns the temp dir and report.html.
fn fixture_report() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let idp = dir.path().join(HOSTILE_IDP_FILE);
    std::fs::copy(repo().join("fixtures/html/okta.csv"), &idp).expect("copy okta.csv");
    let out = dir.path().join("out");
    audit_into(
        &repo().join("fixtures/html/snapshot.json"),
        &[&format!("okta:{}", idp.display())],
        Some(&repo().join("fixtures/html/policy.toml")),
        &out,
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    (dir, html)
}

/// A snapshot of `n` agents, none in any IdP (so each is orphaned), named
/// `Agent <i>N</i>`: long enough for the report to split its lists.
fn long_snapshot(dir: &Path, n: u64) -> PathBuf {
    let agents: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"id": 5000 + i, "ticket_scope": 3, "role_ids": [1], "group_ids": [],
                "created_at": "2025-01-01T00:00:00Z", "last_active_at": "2026-09-30T00:00:00Z",
                "deactivated": false, "type": "support_agent",
                "contact": {"active": true, "email": format!("agent{i:05}@acme.test"),
                            "name": format!("Agent <i>{i}</i>"), "last_login_at": "2026-09-30T00:00:00Z"}})
        })
        .collect();
    let snapshot = serde_json::json!({"schema_version": 1,
        "meta": {"domain": "long", "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
                 "collected_at": "2026-10-01T00:00:00Z",
                 "channels": [{"name": "GET /api/v2/agents", "requests": 25, "pages": 25, "objects": n,
                               "outcome": "complete (short page)"}],
                 "account_total_agents": n},
        "agents": agents, "roles": [{"id": 1, "name": "Agent", "default": true}], "groups": []});
    let path = dir.join("long.json");
    std::fs::write(&path, sealed_snapshot(snapshot)).expect("write snapshot");
    path
}

/// The page with its one stylesheet and its scripts cut out: what is left is
/// markup the templates wrote around escaped values.
fn markup(html: &str) -> String {
    let mut rest = html;
    let mut kept = String::new();
    let next = |s: &str| {
        [s.find("<script>"), s.find("<style>")]
            .into_iter()
            .flatten()
            .min()
    };
    while let Some(start) = next(rest) {
        let close = if rest[start..].starts_with("<script>") {
            "</script>"
        } else {
            "</style>"
        };
        kept.push_str(&rest[..start]);
        let end = rest[start..].find(close).expect("closed") + start + close.len();
        rest = &rest[end..];
    }
    kept.push_str(rest);
    kept
}

/// Every tag in `markup`, as (name, attribute text).
fn tags(markup: &str) -> Vec<(String, String)> {
    markup
        .split('<')
        .skip(1)
        .filter(|t| !t.starts_with('/') && !t.starts_with('!'))
        .map(|t| {
            let tag = &t[..t.find('>').expect("tag closes")];
            let name_end = tag.find([' ', '\n']).unwrap_or(tag.len());
            (tag[..name_end].to_ascii_lowercase(), tag[name_end..].to_owned())
        })
        .collect()
}

/// The tags the templates use. Anything else came from data.
const TEMPLATE_TAGS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "script",
    "body",
    "header",
    "nav",
    "main",
    "section",
    "footer",
    "h1",
    "h2",
    "h3",
    "p",
    "a",
    "b",
    "em",
    "small",
    "code",
    "span",
    "div",
    "ul",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "form",
    "label",
    "input",
    "select",
    "option",
    "button",
    "details",
    "summary",
    "figure",
    "figcaption",
    "svg",
    "g",
    "text",
    "rect",
    "noscript",
    "br",
];

#[test]
fn hostile_values_stay_text() {
    let (_dir, html) = fixture_report();
    let page = markup(&html);
    let mut unexpected = BTreeSet::new();
    for (name, attrs) in tags(&page) {
        if !TEMPLATE_TAGS.contains(&name.as_str()) {
            unexpected.insert(name.clone());
        }
        let lower = attrs.to_ascii_lowercase();
        for banned in [" on", "\non", "javascript:", "style="] {
            assert!(!lower.contains(banned), "<{name}{attrs}> carries {banned:?}");
        }
    }
    assert!(unexpected.is_empty(), "tags no template writes: {unexpected:?}");
    // Exactly the two scripts of the page, and none injected.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script").count(), 2);
    for raw in [
        "<img",
        "<svg onload",
        "</textarea>",
        "<b>Mallory",
        "<i>x</i>",
        "</noscript><",
        "onerror=\"",
        "'&\".csv",
    ] {
        assert!(!html.contains(raw), "unescaped {raw:?} in report.html");
    }
    // ... and each hostile value is there, escaped, where it belongs.
    for escaped in [
        // agent name
        "&lt;img src=x onerror=&quot;document.documentElement.setAttribute(&#x27;data-pwned&#x27;,&#x27;name&#x27;)&quot;&gt;",
        // agent name that closes a script
        "&lt;&#x2f;script&gt;&lt;script&gt;document.documentElement.setAttribute(&#x27;data-pwned&#x27;,&#x27;script&#x27;)",
        // "'& in a name and an email
        "Quote &quot;double&quot; &#x27;single&#x27; &amp; amp",
        "q&quot;&#x27;&amp;&lt;i&gt;x&lt;&#x2f;i&gt;@acme.test",
        // role, group, channel, IdP file name, exception justification and approver
        "&lt;script&gt;document.documentElement.setAttribute(&#x27;data-pwned&#x27;,&#x27;role&#x27;)",
        "&lt;&#x2f;textarea&gt;&lt;svg onload=",
        "&#x27;channel&#x27;",
        "okta &lt;img src=x onerror=alert(5)&gt; &#x27;&amp;&quot;.csv",
        "&lt;&#x2f;script&gt;&lt;img src=x onerror=&quot;document.documentElement.setAttribute(&#x27;data-pwned&#x27;,&#x27;justification&#x27;)&quot;&gt; &quot;&#x27;&amp;",
        "&lt;b&gt;Mallory&lt;&#x2f;b&gt; &amp; &quot;Co&quot;",
    ] {
        assert!(html.contains(escaped), "missing {escaped:?}");
    }
}

#[test]
fn fetches_nothing() {
    let (_dir, html) = fixture_report();
    assert!(html.contains(CSP), "no CSP meta");
    for (name, attrs) in tags(&markup(&html)) {
        for url_attr in [
            " src=",
            " action=",
            " formaction=",
            " srcset=",
            " poster=",
            " data=",
        ] {
            assert!(!attrs.contains(url_attr), "<{name}{attrs}> loads something");
        }
        if let Some(at) = attrs.find(" href=\"") {
            let target = &attrs[at + 7..];
            assert!(target.starts_with('#'), "<{name}{attrs}> links out of the page");
        }
    }
    // Not even as text: a plain grep is how many check self-containment.
    for banned in [
        "http://", "https://", "<link", "@import", "url(", "<iframe", "<object", "<embed",
    ] {
        assert!(!html.contains(banned), "report.html contains {banned}");
    }
}

#[test]
fn sections_an_auditor_needs() {
    let (_dir, html) = fixture_report();
    for id in [
        "verdict",
        "population",
        "overview",
        "findings",
        "agents",
        "unclassified",
        "suppressed",
        "inputs",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\"")), "no #{id}");
    }
    assert!(html.contains("Population complete"));
    assert!(html.contains("the account reports 7 agents and 8 were found"));
    // Charts are inline SVG, drawn without a script.
    assert_eq!(html.matches("<svg class=\"bars\" role=\"img\"").count(), 3);
    // Every finding has its row, every agent its panel, the suppressed one its row.
    assert_eq!(html.matches("<tr id=\"f-").count(), 7);
    assert_eq!(html.matches("<details class=\"agent\"").count(), 8);
    assert_eq!(html.matches("<tr id=\"s-").count(), 1);
    // The permission surface: a grant's path, an identity and how it matched.
    assert!(html.contains("<code>↳ has_role → role:11</code>"), "role path");
    assert!(html.contains("matched by login"), "match method");
    assert!(html.contains("<em>privileged</em>"));
    // Short lists are live markup, with nothing held back for the script.
    assert!(!markup(&html).contains("<noscript"));
    // Sortable headers say so to assistive technology; filters are labelled.
    assert_eq!(markup(&html).matches("aria-sort=\"none\"").count(), 6);
    assert!(html.contains("<label>Severity <select data-col=\"0\">"));
}

#[test]
fn verdict_and_findings_snapshot() {
    let (_dir, html) = fixture_report();
    let section = |id: &str| {
        let start = html.find(&format!("<section id=\"{id}\"")).expect("section");
        let end = html[start..].find("</section>").expect("end") + start + "</section>".len();
        html[start..end].to_owned()
    };
    let findings = section("findings");
    let rows = &findings[findings.find("<tbody").expect("tbody")..findings.find("</tbody>").expect("end")];
    insta::assert_snapshot!("html_verdict", section("verdict"));
    insta::assert_snapshot!("html_finding_rows", rows.replace("</tr>", "</tr>\n"));
}

#[test]
fn long_lists_keep_one_live_page_and_the_rest_in_noscript() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = long_snapshot(dir.path(), 2_050);
    let out = dir.path().join("out");
    audit_into(&snapshot, &[], None, &out);
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");

    assert_eq!(html.matches("<tr id=\"f-").count(), 2_050);
    assert_eq!(html.matches("<details class=\"agent\"").count(), 2_050);
    for (rest, item) in [
        ("<noscript data-pg-rest=\"tr\">", "<tr id=\"f-"),
        ("<noscript data-pg-rest=\"details\">", "<details class=\"agent\""),
    ] {
        let at = html.find(rest).expect("a <noscript> rest");
        let end = html[at..].find("</noscript>").expect("closed") + at;
        assert_eq!(html[..at].matches(item).count(), 100, "live page before {rest}");
        assert_eq!(html[at..end].matches(item).count(), 1_950, "the rest in {rest}");
    }
    // Data can neither open nor close the inert block.
    let page = markup(&html);
    assert_eq!(page.matches("<noscript").count(), 2);
    assert_eq!(page.matches("</noscript>").count(), 2);
    assert!(!html.contains("<i>"));
    assert!(html.contains("Agent &lt;i&gt;2049&lt;&#x2f;i&gt;"));
    // Past 2,000 findings the rule's text is linked rather than repeated.
    assert!(!html.contains("What to do: Find the owner"));
}

/// Characters a reader cannot see (bidi overrides, zero-width, NUL, BEL, BOM,
/// soft hyphen), in every kind of name the snapshot and the IdP export bring.
const HIDDEN: [char; 7] = [
    '\u{202E}', '\u{200B}', '\0', '\u{7}', '\u{FEFF}', '\u{AD}', '\u{2066}',
];

/// `Bob\u{202E}nimda` reached report.html and findings.csv as it was, so a
/// reader saw `Bobadmin`; findings.json keeps the exact value.
#[test]
fn control_and_format_characters_are_shown_as_code_points() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = |id: u64, name: &str, email: &str| {
        serde_json::json!({"id": id, "ticket_scope": 1, "role_ids": [7], "group_ids": [3],
            "created_at": "2025-01-01T00:00:00Z", "last_active_at": "2026-09-30T00:00:00Z",
            "deactivated": false, "type": "support_agent",
            "contact": {"active": true, "email": email, "name": name,
                        "last_login_at": "2026-09-30T00:00:00Z"}})
    };
    let snapshot = serde_json::json!({"schema_version": 1,
        "meta": {"domain": "acme\u{200B}", "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
                 "collected_at": "2026-10-01T00:00:00Z"},
        "agents": [agent(1, "Bob\u{202E}nimda", "bob\u{200B}@acme.test"),
                   agent(2, "Nul\0l\u{7}", "nul@acme.test")],
        "roles": [{"id": 7, "name": "Helper\u{FEFF}"}],
        "groups": [{"id": 3, "name": "Tier\u{AD}1"}]});
    let snapshot_path = dir.path().join("snapshot.json");
    std::fs::write(&snapshot_path, sealed_snapshot(snapshot)).expect("write");
    let okta = dir.path().join("okta.csv");
    std::fs::write(
        &okta,
        "User,Login,Status,Last Login\n\"Nul\u{2066}x\",nul@acme.test,DEPROVISIONED,\n",
    )
    .expect("write okta.csv");
    let out = dir.path().join("out");
    audit_into(&snapshot_path, &[&format!("okta:{}", okta.display())], None, &out);

    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let csv = std::fs::read_to_string(out.join("findings.csv")).expect("findings.csv");
    let csv = csv.strip_prefix('\u{FEFF}').unwrap_or(&csv);
    for (file, text) in [("report.html", html.as_str()), ("findings.csv", csv)] {
        for c in HIDDEN {
            assert!(!text.contains(c), "{file} holds U+{:04X} as it is", u32::from(c));
        }
        for shown in [
            "Bob[U+202E]nimda",
            "bob[U+200B]@acme.test",
            "Nul[U+0000]l[U+0007]",
        ] {
            assert!(text.contains(shown), "{file} does not show {shown}");
        }
    }
    // Both ways report.html is written: the hand-written rows and panels,
    // and the template frame (title, heading, roles to classify).
    for shown in [
        "Helper[U+FEFF]",
        "Tier[U+00AD]1",
        "<title>Access review: acme[U+200B]",
    ] {
        assert!(html.contains(shown), "report.html does not show {shown}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings.json"))
            .expect("findings.json parses");
    let names: BTreeSet<&str> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["agent_name"].as_str())
        .collect();
    assert_eq!(names, BTreeSet::from(["Bob\u{202E}nimda", "Nul\0l\u{7}"]));
}
