//! The command line as a user meets it: `run` and `sim`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use deskaudit::sim::Profile;

#[test]
fn run_collects_then_audits_into_one_directory() {
    let (_rt, server) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8");
    let run = deskaudit(
        &[
            "run",
            "--domain",
            "acme",
            "--base-url",
            &server.base_url(),
            "--idp",
            "fixtures/acme/idp/okta-password-health.csv",
            "--idp",
            "fixtures/acme/idp/entra-users.csv",
            "--as-of",
            "2026-10-01T00:00:00Z",
            "--fail-on",
            "high",
            "--out",
            out,
        ],
        Some(ADMIN_KEY),
    );
    // The fixture has critical findings, so --fail-on high exits 1 after writing everything.
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    for file in [
        "snapshot.json",
        "findings.csv",
        "findings.json",
        "report.html",
        "run.json",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(run_json["inputs"]["idp"][0]["kind"], "okta");
    assert_eq!(run_json["inputs"]["idp"][1]["kind"], "entra");
    assert_eq!(run_json["as_of"], "2026-10-01T00:00:00Z");
}

#[test]
fn sim_command_serves_the_fixture_until_stopped() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskaudit"))
        .args(["sim", "--fixture", "fixtures/acme", "--port", "0"])
        .current_dir(repo())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("serving at"))
        .expect("announces its URL");
    // Keep draining stderr so the simulator never writes into a closed pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).count());
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url")
        .to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let run = collect(&url, &out, Some("demo-admin-key"));
    let _ = child.kill();
    let _ = child.wait();
    let _ = drain.join();
    assert!(run.status.success(), "{}", text(&run));
    assert!(out.is_file());
}

#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_deskaudit"))
        .args(["audit", "--snapshot", "reports/demo/snapshot.json", "--out"])
        .arg(&out)
        .current_dir(repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    // `| head -0`: the reader is gone before the summary is printed.
    drop(child.stdout.take());
    let run = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.join("report.html").is_file(), "the run itself is written");
}

#[test]
fn completions_and_man_page_come_from_the_flags() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = deskaudit(&["completions", shell], None);
        assert_eq!(run.status.code(), Some(0), "{shell}: {}", text(&run));
        let script = String::from_utf8_lossy(&run.stdout);
        assert!(
            script.contains("accept-edited-snapshot"),
            "{shell}: every flag is completed"
        );
    }
    let man = deskaudit(&["man"], None);
    assert_eq!(man.status.code(), Some(0), "{}", text(&man));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH deskaudit 1"), "{page}");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = deskaudit(&["man", "--out", dir.path().to_str().expect("utf-8")], None);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let audit_page = std::fs::read_to_string(dir.path().join("deskaudit-audit.1")).expect("audit page");
    assert!(audit_page.contains("replace"), "{audit_page}");
}
