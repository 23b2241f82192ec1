//! `deskaudit remediate plan|apply` against the simulator over loopback HTTP,
//! in both API profiles: the whole loop, drift, the key owner, the last
//! administrator, refused approvals, lost answers, a killed run resumed, and
//! a dry run. The simulator's request log proves what was (not) written.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use deskaudit::sim::{FaultTiming, Profile, RunningSim, SimConfig, WriteFault, WriteFaultKind, WriteMethod};
use serde_json::Value;

const OLIVIA: u64 = 67013470001; // Account Administrator, and the admin key's owner
const KEVIN: u64 = 67013470205; // active leaver: revoke
const SOFIA: u64 = 67013470154; // active leaver: revoke
const LIAM: u64 = 67013470681; // pending leaver: revoke
const PRIYA: u64 = 67013470120; // modify: Administrator removed
const PETER: u64 = 67013470426; // modify: ticket scope to Restricted
const APPROVER: &str = "ciso@acme.test";

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A review of the acme account served by a simulator: audited, the
/// fixture workbook (as `edit` changes it) imported, and planned.
struct Review {
    rt: tokio::runtime::Runtime,
    sim: RunningSim,
    _tmp: tempfile::TempDir,
    run: PathBuf,
    plan: Value,
}

impl Review {
    fn new(config: SimConfig, edit: impl FnOnce(&mut Workbook)) -> Review {
        let (rt, sim) = start_sim(acme(), config);
        let tmp = tempfile::tempdir().expect("tempdir");
        let run = tmp.path().join("q4");
        let url = sim.base_url();
        let mut args = vec!["run", "--domain", "acme", "--base-url", &url, "--out", utf8(&run)];
        args.extend(ACME_INPUTS);
        args.extend(ACME_WATCH);
        let audited = deskaudit(&args, Some(ADMIN_KEY));
        assert_eq!(audited.status.code(), Some(0), "{}", text(&audited));
        let mut workbook = Workbook::fixture();
        edit(&mut workbook);
        let filled = tmp.path().join("filled.csv");
        workbook.write(&filled);
        let imported = deskaudit(&["review", "import", "--run", utf8(&run), utf8(&filled)], None);
        assert_eq!(imported.status.code(), Some(0), "{}", text(&imported));
        let planned = deskaudit(&["remediate", "plan", "--run", utf8(&run)], None);
        assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));
        let plan = read_json(&run.join("remediation-plan.json"));
        Review {
            rt,
            sim,
            _tmp: tmp,
            run,
            plan,
        }
    }

    fn plan_id(&self) -> String {
        self.plan["plan_id"].as_str().expect("plan_id").to_owned()
    }

    fn apply(&self, extra: &[&str]) -> Output {
        let id = self.plan_id();
        self.apply_as(&id[..12], APPROVER, extra)
    }

    fn apply_as(&self, approve: &str, approver: &str, extra: &[&str]) -> Output {
        let url = self.sim.base_url();
        let plan = self.run.join("remediation-plan.json");
        let mut args = vec![
            "remediate",
            "apply",
            "--plan",
            utf8(&plan),
            "--approve",
            approve,
            "--approver",
            approver,
            "--domain",
            "acme",
            "--base-url",
            &url,
        ];
        args.extend_from_slice(extra);
        deskaudit(&args, Some(ADMIN_KEY))
    }

    fn outcome(&self) -> Value {
        read_json(&self.run.join("remediation.json"))
    }

    fn outcome_of(&self, agent: u64) -> (String, bool) {
        let doc = self.outcome();
        let a = doc["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .find(|a| a["agent_id"] == agent)
            .unwrap_or_else(|| panic!("no action for {agent}"))
            .clone();
        (
            a["outcome"].as_str().expect("outcome").to_owned(),
            a["verified"] == true,
        )
    }

    fn action_kind(&self, agent: u64) -> String {
        self.plan["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .find(|a| a["agent_id"] == agent)
            .and_then(|a| a["action"].as_str())
            .unwrap_or_default()
            .to_owned()
    }

    fn writes(&self) -> usize {
        self.sim.requests().iter().filter(|r| r.is_write()).count()
    }
}

/// The fixture workbook, row by row, editable by agent id.
struct Workbook {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Workbook {
    fn fixture() -> Workbook {
        let text =
            std::fs::read_to_string(repo().join("fixtures/acme/review-workbook.csv")).expect("workbook");
        let text = text.trim_start_matches('\u{feff}');
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.expect("row").iter().map(str::to_owned).collect())
            .collect();
        Workbook { header, rows }
    }

    fn set(&mut self, agent: u64, column: &str, value: &str) {
        let col = self.header.iter().position(|h| h == column).expect("column");
        let row = self
            .rows
            .iter_mut()
            .find(|r| r[0] == agent.to_string())
            .expect("agent row");
        row[col] = value.to_owned();
    }

    fn write(&self, path: &Path) {
        let mut w = csv::Writer::from_path(path).expect("workbook");
        w.write_record(&self.header).expect("header");
        for row in &self.rows {
            w.write_record(row).expect("row");
        }
        w.flush().expect("flush");
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    let schema = read_json(&repo().join("docs/remediation.schema.json"));
    jsonschema::draft202012::meta::validate(&schema).expect("a draft 2020-12 schema");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compiles")
}

fn journal_validator() -> jsonschema::Validator {
    let mut schema = read_json(&repo().join("docs/remediation.schema.json"));
    schema["$ref"] = Value::String("#/$defs/journal_line".into());
    for key in ["required", "properties", "additionalProperties", "type"] {
        schema.as_object_mut().expect("object").remove(key);
    }
    jsonschema::draft202012::options()
        .build(&schema)
        .expect("compiles")
}

fn no_key_in(path: &Path) {
    let bytes = std::fs::read(path).expect("file");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains(ADMIN_KEY),
        "{}: the API key leaked",
        path.display()
    );
}

#[test]
fn the_whole_loop_carries_out_every_decision_and_verifies_it_in_both_profiles() {
    for profile in [Profile::Documented, Profile::Seed] {
        let review = Review::new(config(profile), |_| {});
        assert_eq!(review.action_kind(KEVIN), "deactivate");
        assert_eq!(review.action_kind(PRIYA), "update");
        assert_eq!(review.action_kind(67013470324), "manual");
        let applied = review.apply(&[]);
        assert_eq!(applied.status.code(), Some(0), "{profile:?}: {}", text(&applied));
        assert!(!text(&applied).contains(ADMIN_KEY));
        for agent in [KEVIN, SOFIA, PRIYA, PETER] {
            assert_eq!(
                review.outcome_of(agent),
                ("done".to_owned(), true),
                "{profile:?} {agent}"
            );
            assert_eq!(
                review.sim.writes_to(agent).len(),
                1,
                "{profile:?} {agent}: written once"
            );
        }
        // An invited agent: verified by 404 in the documented API; under
        // the older one, the DELETE's answer is the only evidence.
        let liam = review.outcome_of(LIAM);
        assert_eq!(
            liam,
            ("done".to_owned(), profile == Profile::Documented),
            "{profile:?}"
        );
        assert_eq!(review.outcome_of(OLIVIA).0, "nothing-to-do");
        // Freshdesk holds the new state.
        match profile {
            Profile::Documented => assert!(review.sim.agent(KEVIN).is_none(), "demoted to a contact"),
            Profile::Seed => assert_eq!(review.sim.agent(KEVIN).expect("kept")["contact"]["active"], false),
        }
        let priya = review.sim.agent(PRIYA).expect("priya");
        let roles: Vec<u64> = priya["role_ids"]
            .as_array()
            .expect("roles")
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        assert!(!roles.contains(&67000110002), "Administrator removed: {roles:?}");
        // The files match their schema, hold no key, and go into the bundle.
        let outcome = review.outcome();
        let errors: Vec<String> = validator().iter_errors(&outcome).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        let journal = std::fs::read_to_string(review.run.join("remediation.jsonl")).expect("journal");
        let lines = journal_validator();
        for line in journal.lines() {
            let doc: Value = serde_json::from_str(line).expect("a JSON line");
            let errors: Vec<String> = lines.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{line}: {errors:?}");
        }
        for file in ["remediation-plan.json", "remediation.jsonl", "remediation.json"] {
            no_key_in(&review.run.join(file));
        }
        let bundle = review.run.with_extension("zip");
        let packed = deskaudit(
            &["evidence", "--run", utf8(&review.run), "--out", utf8(&bundle)],
            None,
        );
        assert_eq!(packed.status.code(), Some(0), "{}", text(&packed));
        no_key_in(&bundle);
        let zip = std::fs::read(&bundle).expect("bundle");
        for name in [
            "run/remediation-plan.json",
            "run/remediation.jsonl",
            "run/remediation.json",
        ] {
            assert!(
                zip.windows(name.len()).any(|w| w == name.as_bytes()),
                "{name} is bundled"
            );
        }
        // Applying again writes nothing.
        let before = review.writes();
        let again = review.apply(&[]);
        assert_eq!(again.status.code(), Some(0), "{}", text(&again));
        assert_eq!(
            review.writes(),
            before,
            "{profile:?}: a settled plan sends no write"
        );
    }
}

#[test]
fn a_drifted_agent_is_skipped_and_left_untouched() {
    for profile in [Profile::Documented, Profile::Seed] {
        let review = Review::new(config(profile), |_| {});
        // Someone gives Kevin another group through the API after the review.
        let url = format!("{}/api/v2/agents/{KEVIN}", review.sim.base_url());
        let changed = review
            .rt
            .block_on(
                reqwest::Client::new()
                    .put(url)
                    .basic_auth(ADMIN_KEY, Some("X"))
                    .json(&serde_json::json!({"group_ids": [67000220001u64, 67000220002u64]}))
                    .send(),
            )
            .expect("the change is sent");
        assert!(changed.status().is_success(), "{}", changed.status());
        let before = review.sim.writes_to(KEVIN).len();
        let applied = review.apply(&[]);
        assert_eq!(applied.status.code(), Some(1), "{}", text(&applied));
        assert_eq!(review.outcome_of(KEVIN).0, "drifted");
        assert_eq!(
            review.sim.writes_to(KEVIN).len(),
            before,
            "nothing written to Kevin"
        );
        assert_eq!(
            review.outcome_of(SOFIA),
            ("done".to_owned(), true),
            "the others still applied"
        );
    }
}

#[test]
fn the_key_owners_own_agent_is_blocked_at_apply() {
    // A modify of Olivia's groups: no privileged role is lost, so only
    // apply can tell that she owns the key.
    for profile in [Profile::Documented, Profile::Seed] {
        let review = Review::new(config(profile), |wb| {
            wb.set(OLIVIA, "decision", "modify");
            wb.set(OLIVIA, "target_ticket_scope", "Group");
        });
        assert_eq!(review.action_kind(OLIVIA), "update");
        let applied = review.apply(&[]);
        assert_eq!(applied.status.code(), Some(1), "{}", text(&applied));
        assert_eq!(review.outcome_of(OLIVIA).0, "blocked", "{profile:?}");
        assert!(review.sim.writes_to(OLIVIA).is_empty());
    }
}

#[test]
fn the_last_account_administrator_is_blocked_at_plan_time() {
    let review = Review::new(config(Profile::Documented), |wb| {
        wb.set(OLIVIA, "decision", "revoke");
    });
    assert_eq!(review.action_kind(OLIVIA), "blocked");
    let reason = review.plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["agent_id"] == OLIVIA)
        .and_then(|a| a["reason"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("last active holder of Account Administrator"),
        "{reason}"
    );
}

#[test]
fn a_wrong_approval_or_a_reviewer_approving_writes_nothing() {
    let review = Review::new(config(Profile::Documented), |_| {});
    let before = review.sim.total_requests();
    let id = review.plan_id();
    // The 12th digit changed to one it is not (the plan_id varies by run).
    let twelfth = if &id[11..12] == "0" { "1" } else { "0" };
    let wrong = format!("{}{twelfth}", &id[..11]);
    for (approve, approver, says) in [
        (wrong.as_str(), APPROVER, "does not approve this plan"),
        (&id[..8], APPROVER, "does not approve this plan"),
        (&id[..12], "IT.Lead@acme.test", "reviewed action"),
        // Lookalikes of the reviewer's address: a Cyrillic `ӏ` (palochka), and `1`, for `l`.
        (&id[..12], "it.\u{4cf}ead@acme.test", "reviewed action"),
        (&id[..12], "it.1ead@acme.test", "reviewed action"),
        // ... and of a reviewed agent's: a Cyrillic `е`.
        (
            &id[..12],
            "k\u{435}vin.brandt@acme.test",
            "is the agent of action",
        ),
        (
            &id[..12],
            "mailto:kevin.brandt@acme.test",
            "is the agent of action",
        ),
    ] {
        let applied = review.apply_as(approve, approver, &[]);
        assert_eq!(
            applied.status.code(),
            Some(2),
            "{approve} {approver}: {}",
            text(&applied)
        );
        assert!(text(&applied).contains(says), "{}", text(&applied));
    }
    assert_eq!(review.sim.total_requests(), before, "no request at all");
    assert!(!review.run.join("remediation.jsonl").exists());
    // Another account's domain is refused too.
    let url = review.sim.base_url();
    let plan = review.run.join("remediation-plan.json");
    let other = deskaudit(
        &[
            "remediate",
            "apply",
            "--plan",
            utf8(&plan),
            "--approve",
            &id,
            "--approver",
            APPROVER,
            "--domain",
            "acme-eu",
            "--base-url",
            &url,
        ],
        Some(ADMIN_KEY),
    );
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    // And a plan edited after planning.
    let mut edited = review.plan.clone();
    edited["actions"][0]["agent_id"] = Value::from(1u64);
    std::fs::write(&plan, serde_json::to_vec_pretty(&edited).expect("json")).expect("write");
    let tampered = review.apply(&[]);
    assert_eq!(tampered.status.code(), Some(2), "{}", text(&tampered));
    assert!(
        text(&tampered).contains("no longer matches its plan_id"),
        "{}",
        text(&tampered)
    );
    assert_eq!(review.sim.total_requests(), before);
}

#[test]
fn a_delete_whose_answer_is_lost_after_it_took_effect_is_done_with_one_delete() {
    for profile in [Profile::Documented, Profile::Seed] {
        let config = SimConfig {
            write_faults: vec![WriteFault::once(
                WriteMethod::Delete,
                Some(KEVIN),
                FaultTiming::AfterEffect,
                WriteFaultKind::Drop,
            )],
            ..config(profile)
        };
        let review = Review::new(config, |_| {});
        let applied = review.apply(&[]);
        assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
        assert_eq!(review.outcome_of(KEVIN), ("done".to_owned(), true));
        let deletes = review.sim.writes_to(KEVIN);
        assert_eq!(deletes.len(), 1, "{profile:?}: exactly one DELETE: {deletes:?}");
    }
}

#[test]
fn a_killed_apply_resumes_and_writes_no_agent_twice() {
    for profile in [Profile::Documented, Profile::Seed] {
        killed_and_resumed(profile);
    }
}

fn killed_and_resumed(profile: Profile) {
    let slow = SimConfig {
        latency: std::time::Duration::from_millis(60),
        ..config(profile)
    };
    let review = Review::new(slow, |_| {});
    let url = review.sim.base_url();
    let plan = review.run.join("remediation-plan.json");
    let id = review.plan_id();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_deskaudit"))
        .args([
            "remediate",
            "apply",
            "--plan",
            utf8(&plan),
            "--approve",
            &id[..12],
        ])
        .args(["--approver", APPROVER, "--domain", "acme", "--base-url", &url])
        .current_dir(repo())
        .env("FRESHDESK_API_KEY", ADMIN_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawns");
    // Killed once the journal shows a write carried out and before the end.
    kill_after_writes(child, &review.run.join("remediation.jsonl"), 2);
    let resumed = review.apply(&[]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    for agent in [KEVIN, SOFIA, PRIYA, PETER] {
        assert_eq!(
            review.outcome_of(agent),
            ("done".to_owned(), true),
            "{profile:?} {agent}"
        );
    }
    // Liam is an invited agent: under the older API his DELETE's answer is its only evidence.
    let liam = review.outcome_of(LIAM);
    assert_eq!(
        liam,
        ("done".to_owned(), profile == Profile::Documented),
        "{profile:?}"
    );
    for r in review.sim.requests().iter().filter(|r| r.is_write()) {
        let id = r.agent_id.expect("agent writes");
        assert_eq!(review.sim.writes_to(id).len(), 1, "agent {id} written once");
    }
}

#[test]
fn a_dry_run_sends_no_write_and_records_nothing() {
    for profile in [Profile::Documented, Profile::Seed] {
        let review = Review::new(config(profile), |_| {});
        let dry = review.apply(&["--dry-run"]);
        assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
        assert!(
            text(&dry).contains(&format!("would send DELETE /api/v2/agents/{KEVIN}")),
            "{}",
            text(&dry)
        );
        assert_eq!(review.writes(), 0, "{profile:?}");
        assert!(!review.run.join("remediation.jsonl").exists());
        assert!(!review.run.join("remediation.json").exists());
    }
}
