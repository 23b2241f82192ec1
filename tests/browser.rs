//! report.html in headless Chromium (Debian's `chromium`): it renders, its
//! script enhances it without a console message, hostile values stay inert
//! after the script pages them in, and with scripts off every row is there.
//!
//! Without a Chromium on PATH (or at `DESKAUDIT_CHROMIUM`) each test prints a
//! skip line and passes, unless `DESKAUDIT_REQUIRE_BROWSER=1` (CI sets it).
//! `cargo test --release --test browser -- --ignored --nocapture` measures a
//! 20,000-agent report.

mod common;

use common::{audit_into, repo, sealed_snapshot};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The browser, or `None` after printing why the test is skipped.
fn chromium(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("DESKAUDIT_CHROMIUM")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            [
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
            ]
            .iter()
            .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
            .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var("DESKAUDIT_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{test}: DESKAUDIT_REQUIRE_BROWSER=1 but no chromium on PATH (or DESKAUDIT_CHROMIUM)"
        );
        eprintln!("skipping {test}: no chromium on PATH (DESKAUDIT_REQUIRE_BROWSER=1 makes this a failure)");
    }
    found
}

struct Page {
    dom: String,
    /// Console messages (errors, CSP violations, uncaught exceptions): the
    /// report logs nothing, so any line is a failure.
    console: Vec<String>,
    elapsed: Duration,
}

/// Loads `url` headless and returns what `what` (`--dump-dom` or
/// `--screenshot=PATH`) produced, with the console lines from stderr.
fn chrome(browser: &Path, profile: &Path, url: &str, what: &str) -> Page {
    let started = Instant::now();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--window-size=1400,2200",
            "--virtual-time-budget=10000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(what)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes while waiting, and give up on a hung browser.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let read_out = std::thread::spawn(move || read_all(&mut stdout));
    let read_err = std::thread::spawn(move || read_all(&mut stderr));
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish {url} within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = (read_out.join().expect("stdout"), read_err.join().expect("stderr"));
    let stderr = String::from_utf8_lossy(&out.1);
    Page {
        dom: String::from_utf8_lossy(&out.0).into_owned(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .map(str::to_owned)
            .collect(),
        elapsed: started.elapsed(),
    }
}

fn read_all(pipe: &mut impl std::io::Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    bytes
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).expect("absolute path").to_string()
}

/// Writes `host.html` beside the report: it loads `report.html{hash}` in an
/// iframe (`sandbox` for a scriptless one), runs `check` (JS with `doc` and
/// `win` of the report) after the load, and prints its JSON into `#result`.
fn host(dir: &Path, hash: &str, sandbox: bool, check: &str) -> String {
    let sandbox = if sandbox {
        " sandbox=\"allow-same-origin\""
    } else {
        ""
    };
    let page = format!(
        r#"<!doctype html><html><body><iframe id="r"{sandbox} src="report.html{hash}" width="1400" height="2000"></iframe>
<pre id="result">pending</pre><script>
document.getElementById("r").addEventListener("load", function () {{
  var win = this.contentWindow, doc = this.contentDocument;
  var done = function (v) {{ document.getElementById("result").textContent = JSON.stringify(v); }};
  try {{ {check} }} catch (e) {{ done({{ error: String(e) }}); }}
}});
</script></body></html>"#
    );
    let path = dir.join("host.html");
    std::fs::write(&path, page).expect("host page");
    file_url(&path)
}

/// The JSON `host` printed.
fn result(page: &Page) -> Value {
    let start = page.dom.find("<pre id=\"result\">").expect("result block") + 17;
    let end = page.dom[start..].find("</pre>").expect("end") + start;
    let text = page.dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn audit(snapshot: &Path, idp: &[&str], policy: Option<&Path>, out: &Path) -> Duration {
    let started = Instant::now();
    audit_into(snapshot, idp, policy, out);
    started.elapsed()
}

/// fixtures/html (hostile names everywhere) audited into `dir/out`.
fn fixture_report(dir: &Path) -> PathBuf {
    let idp = dir.join("okta <img src=x onerror=alert(5)> '&\".csv");
    std::fs::copy(repo().join("fixtures/html/okta.csv"), &idp).expect("copy okta.csv");
    let out = dir.join("out");
    audit(
        &repo().join("fixtures/html/snapshot.json"),
        &[&format!("okta:{}", idp.display())],
        Some(&repo().join("fixtures/html/policy.toml")),
        &out,
    );
    out
}

/// `n` orphaned agents; the last one's name is a script-running payload, so
/// it lands in the `<noscript>` rest that the script parses on demand.
fn long_report(dir: &Path, n: u64) -> PathBuf {
    let agents: Vec<Value> = (0..n)
        .map(|i| {
            let name = if i + 1 == n {
                r#"<img src=x onerror="document.documentElement.setAttribute('data-pwned','lazy')">"#
                    .to_owned()
            } else {
                format!("Agent {i}")
            };
            serde_json::json!({"id": 5000 + i, "ticket_scope": 3, "role_ids": [1], "group_ids": [],
                "created_at": "2025-01-01T00:00:00Z", "last_active_at": "2026-09-30T00:00:00Z",
                "deactivated": false, "type": "support_agent",
                "contact": {"active": true, "email": format!("agent{i:05}@acme.test"), "name": name,
                            "last_login_at": "2026-09-30T00:00:00Z"}})
        })
        .collect();
    let snapshot = serde_json::json!({"schema_version": 1,
        "meta": {"domain": "long", "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
                 "collected_at": "2026-10-01T00:00:00Z"},
        "agents": agents, "roles": [{"id": 1, "name": "Agent", "default": true}], "groups": []});
    let path = dir.join("long.json");
    std::fs::write(&path, sealed_snapshot(snapshot)).expect("write");
    let out = dir.join("out");
    audit(&path, &[], None, &out);
    out
}

fn assert_quiet_and_clean(page: &Page) {
    assert_quiet_but(page, &[]);
}

/// As above, except console lines containing one of `expected`.
fn assert_quiet_but(page: &Page, expected: &[&str]) {
    let unexpected: Vec<&String> = page
        .console
        .iter()
        .filter(|l| !expected.iter().any(|e| l.contains(e)))
        .collect();
    assert!(unexpected.is_empty(), "console output: {unexpected:#?}");
    assert!(!page.dom.contains("data-pwned=\""), "a hostile value ran");
}

#[test]
fn fixture_report_renders_enhanced_and_quiet() {
    let Some(browser) = chromium("fixture_report_renders_enhanced_and_quiet") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture_report(dir.path());
    let report = out.join("report.html");
    let page = chrome(
        &browser,
        &dir.path().join("profile"),
        &file_url(&report),
        "--dump-dom",
    );
    assert_quiet_and_clean(&page);
    let root = &page.dom[page.dom.find("<html").expect("html")..];
    let root = &root[..root.find('>').expect("tag end")];
    assert!(
        root.contains("data-enhanced=\"true\""),
        "the script did not finish: {root}"
    );
    assert!(page.dom.contains("Showing 1–7 of 7 findings."), "pager status");
    assert!(page.dom.contains("Showing 1–8 of 8 agents."), "pager status");
    assert!(page.dom.contains("<th scope=\"col\" data-sort=\"sev\" aria-sort=\"none\"><button type=\"button\">Severity</button></th>"));
    assert!(!page.dom.contains("<img"), "an <img> element exists");

    let png = dir.path().join("report.png");
    let shot = chrome(
        &browser,
        &dir.path().join("profile"),
        &file_url(&report),
        &format!("--screenshot={}", png.display()),
    );
    assert_quiet_and_clean(&shot);
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 40_000,
        "screenshot is nearly blank: {} bytes",
        bytes.len()
    );
}

#[test]
fn filters_sort_and_links_work() {
    let Some(browser) = chromium("filters_sort_and_links_work") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture_report(dir.path());
    let check = r##"
      var status = function (id) { return doc.querySelector(id + " .pg-status").textContent; };
      var rows = function () { return Array.prototype.map.call(doc.querySelectorAll("#findings tbody tr"), function (r) { return r.cells[1].textContent; }); };
      var r = { enhanced: doc.documentElement.getAttribute("data-enhanced") };
      var sev = doc.querySelector("#findings select[data-col='0']");
      sev.value = "high"; sev.dispatchEvent(new win.Event("change", { bubbles: true }));
      r.high = status("#findings");
      r.highRules = rows();
      sev.value = ""; sev.dispatchEvent(new win.Event("change", { bubbles: true }));
      var rule = doc.querySelector("#findings th:nth-child(2) button");
      rule.click();
      r.sortedRules = rows();
      r.ariaSort = rule.parentNode.getAttribute("aria-sort");
      var agentsSev = doc.querySelector("#agents select[data-key=sev]");
      agentsSev.value = "none"; agentsSev.dispatchEvent(new win.Event("change", { bubbles: true }));
      r.noFindings = status("#agents");
      doc.querySelector("#findings tbody tr a[href^='#agent-']").click();
      r.opened = doc.querySelectorAll("details.agent[open]").length;
      r.agentsAfterLink = status("#agents");
      done(r);
    "##;
    let url = host(&out, "", false, check);
    let page = chrome(&browser, &dir.path().join("profile"), &url, "--dump-dom");
    assert_quiet_and_clean(&page);
    let r = result(&page);
    assert_eq!(r["enhanced"], "true", "{r}");
    assert_eq!(
        r["high"], "Showing 1–3 of 3 findings matching the filters (of 7).",
        "{r}"
    );
    assert_eq!(
        r["highRules"],
        serde_json::json!(["orphaned-agent", "orphaned-agent", "orphaned-agent"]),
        "{r}"
    );
    let sorted: Vec<&str> = r["sortedRules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut expected = sorted.clone();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "sorted by rule");
    assert_eq!(r["ariaSort"], "ascending");
    assert_eq!(
        r["noFindings"], "Showing 1–2 of 2 agents matching the filters (of 8).",
        "{r}"
    );
    // Following a finding's agent link clears the filter that hid the agent and opens it.
    assert_eq!(r["opened"], 1, "{r}");
    assert_eq!(r["agentsAfterLink"], "Showing 1–8 of 8 agents.", "{r}");
}

#[test]
fn long_report_pages_in_items_from_the_noscript_rest() {
    let Some(browser) = chromium("long_report_pages_in_items_from_the_noscript_rest") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = long_report(dir.path(), 2_050);
    // The hostile agent is the last one: on the last page, parsed on demand.
    let url = format!("{}#agent-7049", file_url(&out.join("report.html")));
    let page = chrome(&browser, &dir.path().join("profile"), &url, "--dump-dom");
    assert_quiet_and_clean(&page);
    assert!(
        page.dom.contains("Showing 2001–2050 of 2050 agents."),
        "agents page"
    );
    assert!(
        page.dom.contains("Showing 1–100 of 2050 findings."),
        "findings page"
    );
    let panel = page.dom.find("id=\"agent-7049\"").expect("panel paged in");
    let tag = &page.dom[page.dom[..panel].rfind('<').expect("tag")..];
    assert!(
        tag[..tag.find('>').expect("end")].contains("open"),
        "panel opened"
    );
    assert!(page.dom.contains("&lt;img src=x onerror="), "name shown as text");
    assert!(!page.dom.contains("<img"), "an <img> element exists");
}

#[test]
fn without_scripts_every_row_is_there() {
    let Some(browser) = chromium("without_scripts_every_row_is_there") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = long_report(dir.path(), 2_050);
    // A sandboxed iframe runs no script: <noscript> content is markup there.
    let check = r##"done({
        enhanced: doc.documentElement.getAttribute("data-enhanced"),
        findings: doc.querySelectorAll("tr[id^='f-']").length,
        agents: doc.querySelectorAll("details.agent").length,
        controlsHidden: doc.querySelector("#findings .pg-controls").hidden,
        img: doc.querySelectorAll("img").length
    });"##;
    let url = host(&out, "", true, check);
    let page = chrome(&browser, &dir.path().join("profile"), &url, "--dump-dom");
    // The sandbox says, once per script, that it kept it from running.
    assert_quiet_but(&page, &["because the document's frame is sandboxed"]);
    let r = result(&page);
    assert_eq!(
        r,
        serde_json::json!({"enhanced": null, "findings": 2050, "agents": 2050, "controlsHidden": true, "img": 0})
    );
}

/// 20,000 agents from the simulator's synthetic account, an Okta export for
/// 93% of them: the report's size, and how long Chromium takes to load it.
#[test]
#[ignore = "measurement: cargo test --release --test browser -- --ignored --nocapture"]
fn scale_20k_agents() {
    let Some(browser) = chromium("scale_20k_agents") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = deskaudit::sim::Fixture::synthetic(20_000, 7);
    let mut okta = String::from(
        "User,Login,Status,Activation date,Authentication Source,Last Login,Last Password Change\n",
    );
    let statuses = [
        "ACTIVE",
        "ACTIVE",
        "ACTIVE",
        "ACTIVE",
        "ACTIVE",
        "ACTIVE",
        "DEPROVISIONED",
        "SUSPENDED",
    ];
    for (i, agent) in fixture.agents.iter().enumerate() {
        if i % 15 == 14 {
            continue; // no identity: orphaned
        }
        let email = agent["contact"]["email"].as_str().expect("email");
        let status = statuses[(i * 7) % statuses.len()];
        okta.push_str(&format!(
            "Agent {i},{email},{status},,OKTA,2026-09-01T00:00:00.000Z,\n"
        ));
    }
    std::fs::write(dir.path().join("okta.csv"), okta).expect("okta");
    let snapshot = serde_json::json!({"schema_version": 1,
        "meta": {"domain": "synthetic", "tool_version": "0", "started_at": "2026-11-01T00:00:00Z",
                 "collected_at": "2026-11-01T00:00:00Z",
                 "channels": [{"name": "GET /api/v2/agents", "requests": 200, "pages": 200,
                               "objects": 20_000, "outcome": "complete (short page)"}],
                 "account_total_agents": 20_000},
        "agents": fixture.agents, "roles": fixture.roles, "groups": fixture.groups});
    let snapshot_path = dir.path().join("snapshot.json");
    std::fs::write(&snapshot_path, sealed_snapshot(snapshot)).expect("write");
    let out = dir.path().join("out");
    let okta = format!("okta:{}", dir.path().join("okta.csv").display());
    let audit_time = audit(&snapshot_path, &[&okta], None, &out);
    let report = out.join("report.html");
    let size = std::fs::metadata(&report).expect("report").len();

    let profile = dir.path().join("profile");
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!doctype html><title>blank</title>").expect("blank");
    let baseline = chrome(&browser, &profile, &file_url(&blank), "--dump-dom").elapsed;
    let check = r##"var t = win.performance.getEntriesByType("navigation")[0];
      done({ interactive: Math.round(t.domInteractive), loaded: Math.round(t.loadEventEnd),
             enhanced: doc.documentElement.getAttribute("data-enhanced"),
             status: doc.querySelector("#findings .pg-status").textContent });"##;
    let url = host(&out, "", false, check);
    let page = chrome(&browser, &profile, &url, "--dump-dom");
    assert_quiet_and_clean(&page);
    let r = result(&page);
    assert_eq!(r["enhanced"], "true", "{r}");
    eprintln!(
        "20,000 agents: audit {:.1} s; report.html {:.1} MB; Chromium: DOM interactive {} ms, \
         load event end {} ms, whole run {:.1} s (a blank page: {:.1} s); {}",
        audit_time.as_secs_f64(),
        size as f64 / 1e6,
        r["interactive"],
        r["loaded"],
        page.elapsed.as_secs_f64(),
        baseline.as_secs_f64(),
        r["status"]
    );
    assert!(size < 60_000_000, "report.html is {size} bytes");
}
