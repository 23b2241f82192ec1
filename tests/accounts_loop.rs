//! The review of several accounts carried through (#17): export, decide,
//! import, plan, approve and `remediate apply --accounts` over two
//! simulators, each action with its own account's key and base URL.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::accounts::*;
use common::*;
use deskaudit::sim::{Profile, RunningSim, SimConfig};
use serde_json::Value;

/// acme-eu's agent with the id of acme's Olivia Hart (Jonas Berg).
const COLLIDING: u64 = 67013470001;
/// Kevin Brandt, the leaver, in acme-eu and in acme.
const KEVIN_EU: u64 = 68013470004;
const KEVIN_ACME: u64 = 67013470205;
const REVIEWER: &str = "it.lead@acme.test";
const APPROVER: &str = "ciso@acme.test";

/// Two simulators, a run of both accounts, and its decisions planned.
struct Loop {
    _sims: [tokio::runtime::Runtime; 2],
    acme: RunningSim,
    eu: RunningSim,
    tmp: tempfile::TempDir,
    run: PathBuf,
    accounts: PathBuf,
}

impl Loop {
    /// `decisions`: (account, agent id, decision), each with a justification.
    fn new(latency_ms: u64, decisions: &[(&str, u64, &str)]) -> Loop {
        // Latency lets a killed apply stop between two writes.
        let latency = std::time::Duration::from_millis(latency_ms);
        let (a, acme) = start_sim(
            acme(),
            SimConfig {
                latency,
                ..config(Profile::Documented)
            },
        );
        let eu_config = SimConfig {
            latency,
            api_key: EU_KEY.to_owned(),
            ..config(Profile::Seed)
        };
        let (b, eu) = start_sim(acme_eu(), eu_config);
        let tmp = tempfile::tempdir().expect("tempdir");
        let accounts = accounts_file(tmp.path(), &acme.base_url(), &eu.base_url());
        let run = tmp.path().join("q4");
        let audited = run_accounts(&accounts, &run);
        assert_eq!(audited.status.code(), Some(0), "{}", text(&audited));

        let exported = tmp.path().join("workbook.csv");
        let out = deskaudit(
            &["review", "export", "--run", utf8(&run), "--out", utf8(&exported)],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let filled = tmp.path().join("filled.csv");
        fill(&exported, &filled, decisions);
        let out = deskaudit(&["review", "import", "--run", utf8(&run), utf8(&filled)], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let out = deskaudit(&["remediate", "plan", "--run", utf8(&run)], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        Loop {
            _sims: [a, b],
            acme,
            eu,
            tmp,
            run,
            accounts,
        }
    }

    fn plan(&self) -> Value {
        read_json(&self.run.join("remediation-plan.json"))
    }

    fn apply_args(&self, accounts: &Path) -> Vec<String> {
        apply_args(&self.run, &["--accounts", utf8(accounts), "--rate-window", "2"])
    }

    /// `remediate apply --accounts FILE`, each key in its own variable
    /// (acme-eu's being `eu_key`).
    fn apply(&self, accounts: &Path, eu_key: &str) -> Output {
        keyed(
            Command::new(env!("CARGO_BIN_EXE_deskaudit")).args(self.apply_args(accounts)),
            eu_key,
        )
        .output()
        .expect("binary runs")
    }

    /// (account, agent id, outcome, verified) of every action.
    fn outcomes(&self) -> Vec<(String, u64, String, bool)> {
        let outcome = read_json(&self.run.join("remediation.json"));
        outcome["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|a| {
                (
                    a["account"].as_str().unwrap_or_default().to_owned(),
                    a["agent_id"].as_u64().expect("id"),
                    a["outcome"].as_str().expect("outcome").to_owned(),
                    a["verified"].as_bool().expect("verified"),
                )
            })
            .collect()
    }

    /// The reason remediation.json gives for action `index`.
    fn outcomes_reason(&self, index: usize) -> String {
        let outcome = read_json(&self.run.join("remediation.json"));
        outcome["actions"][index]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn writes(sim: &RunningSim) -> Vec<(String, Option<u64>)> {
        sim.requests()
            .into_iter()
            .filter(|r| r.is_write())
            .map(|r| (r.method, r.agent_id))
            .collect()
    }

    /// No simulator ever answered 401: no key went to another account's URL.
    fn no_key_crossed(&self) {
        for sim in [&self.acme, &self.eu] {
            assert!(
                sim.requests().iter().all(|r| r.status != Some(401)),
                "a key was sent to another account"
            );
        }
    }

    /// Neither key is in any file the loop wrote.
    fn no_key_written(&self) {
        for name in [
            "remediation.jsonl",
            "remediation.json",
            "remediation-plan.json",
            "decisions.json",
        ] {
            let text = std::fs::read_to_string(self.run.join(name)).unwrap_or_default();
            assert!(
                !text.contains(ADMIN_KEY) && !text.contains(EU_KEY),
                "a key in {name}"
            );
        }
    }
}

/// `remediate apply` of the plan in `run`, approved by its id's first 12
/// digits, then `how` (which account flags).
fn apply_args(run: &Path, how: &[&str]) -> Vec<String> {
    let plan_path = run.join("remediation-plan.json");
    let plan = read_json(&plan_path);
    let id = &plan["plan_id"].as_str().expect("plan_id")[..12];
    let approve = ["remediate", "apply", "--plan", utf8(&plan_path), "--approve", id];
    let mut args: Vec<String> = approve.into_iter().map(str::to_owned).collect();
    args.extend(
        ["--approver", APPROVER]
            .into_iter()
            .chain(how.iter().copied())
            .map(str::to_owned),
    );
    args
}

fn keyed<'c>(cmd: &'c mut Command, eu_key: &str) -> &'c mut Command {
    cmd.current_dir(repo())
        .env_remove("FRESHDESK_API_KEY")
        .env("DA_TEST_ACME_KEY", ADMIN_KEY)
        .env("DA_TEST_EU_KEY", eu_key)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("file")).expect("json")
}

/// The exported workbook with `decisions` filled in on the rows of that
/// (account, agent id); every other row left undecided.
fn fill(exported: &Path, filled: &Path, decisions: &[(&str, u64, &str)]) {
    let bytes = std::fs::read(exported).expect("workbook");
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let mut writer = csv::Writer::from_path(filled).expect("filled");
    writer.write_record(&header).expect("header");
    let mut found = 0;
    for record in reader.records() {
        let mut row: Vec<String> = record.expect("row").iter().map(str::to_owned).collect();
        let key = (row[col("account")].clone(), row[col("agent_id")].clone());
        if let Some((_, _, decision)) = decisions
            .iter()
            .find(|(account, id, _)| (account.to_string(), id.to_string()) == key)
        {
            row[col("decision")] = (*decision).to_owned();
            row[col("reviewer")] = REVIEWER.to_owned();
            row[col("justification")] = "quarterly review".to_owned();
            found += 1;
        }
        writer.write_record(&row).expect("row");
    }
    writer.flush().expect("flushed");
    assert_eq!(found, decisions.len(), "every decided agent has a row");
}

fn active(sim: &RunningSim, id: u64) -> Option<bool> {
    sim.agent(id).map(|a| a["contact"]["active"] == true)
}

#[test]
fn a_revoke_lands_in_its_own_account_only() {
    let review = Loop::new(
        0,
        &[
            ("acme-eu", COLLIDING, "revoke"),
            ("acme-eu", KEVIN_EU, "revoke"),
            ("acme", COLLIDING, "keep"),
        ],
    );
    let plan = review.plan();
    assert_eq!(plan["accounts"], serde_json::json!(["acme", "acme-eu"]));
    // The plan's shape, its hashes (of files with times in them) redacted.
    insta::assert_json_snapshot!("accounts_plan", plan, {
        ".plan_id" => "[plan_id]",
        ".run.snapshot_sha256" => "[sha256]",
        ".run.findings_sha256" => "[sha256]",
        ".run.decisions_sha256" => "[sha256]",
    });
    let steps = each(&plan, "actions", &["account", "agent_id", "action"]);
    assert_eq!(
        steps,
        [
            format!("\"acme\" {COLLIDING} \"nothing-to-do\""),
            format!("\"acme-eu\" {COLLIDING} \"deactivate\""),
            format!("\"acme-eu\" {KEVIN_EU} \"deactivate\"")
        ]
    );

    // A dry run reads each account through its own client and writes nothing.
    let mut dry = review.apply_args(&review.accounts);
    dry.push("--dry-run".into());
    let dry = keyed(Command::new(env!("CARGO_BIN_EXE_deskaudit")).args(dry), EU_KEY)
        .output()
        .expect("binary runs");
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let would =
        format!("#3 would send DELETE acme-eu: /api/v2/agents/{KEVIN_EU} (agent kevin.brandt@acme.test");
    assert!(text(&dry).contains(&would), "{}", text(&dry));
    assert!(Loop::writes(&review.eu).is_empty() && Loop::writes(&review.acme).is_empty());

    let applied = review.apply(&review.accounts, EU_KEY);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let said = text(&applied);
    assert!(!said.contains(ADMIN_KEY) && !said.contains(EU_KEY), "{said}");
    assert!(
        said.contains(&format!("agent acme-eu/{KEVIN_EU} kevin.brandt@acme.test: done")),
        "{said}"
    );
    assert_eq!(
        review.outcomes(),
        [
            ("acme".into(), COLLIDING, "nothing-to-do".into(), false),
            ("acme-eu".into(), COLLIDING, "done".into(), true),
            ("acme-eu".into(), KEVIN_EU, "done".into(), true)
        ]
    );
    // Read back from the simulators: acme-eu's two are inactive (the older
    // API keeps them), acme's Olivia Hart with the same id and acme's Kevin
    // are untouched, and acme saw no write at all.
    assert_eq!(active(&review.eu, COLLIDING), Some(false));
    assert_eq!(active(&review.eu, KEVIN_EU), Some(false));
    assert_eq!(active(&review.acme, COLLIDING), Some(true));
    assert_eq!(active(&review.acme, KEVIN_ACME), Some(true));
    assert_eq!(Loop::writes(&review.acme), []);
    assert_eq!(
        Loop::writes(&review.eu),
        [
            ("DELETE".to_owned(), Some(COLLIDING)),
            ("DELETE".to_owned(), Some(KEVIN_EU))
        ]
    );
    review.no_key_crossed();
    review.no_key_written();
    let journal = std::fs::read_to_string(review.run.join("remediation.jsonl")).expect("journal");
    for line in journal.lines().filter(|l| l.contains("\"write-sent\"")) {
        assert!(line.contains(r#""account":"acme-eu""#), "{line}");
    }
    // remediation.json of several accounts is still the documented document.
    let schema = read_json(&repo().join("docs/remediation.schema.json"));
    let validator = jsonschema::validator_for(&schema).expect("schema");
    let outcome = read_json(&review.run.join("remediation.json"));
    let errors: Vec<String> = validator.iter_errors(&outcome).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(outcome["key_owners"].as_object().map(|o| o.len()), Some(2));
    evidence_holds_both_snapshots(&review);
}

/// One bundle of the run: both accounts' snapshots, each named with its
/// domain and SHA-256 (run.json's), and `verify` passes.
fn evidence_holds_both_snapshots(review: &Loop) {
    let bundle = review.tmp.path().join("evidence.zip");
    let out = deskaudit(
        &["evidence", "--run", utf8(&review.run), "--out", utf8(&bundle)],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let verified = deskaudit(&["verify", utf8(&bundle)], None);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&bundle).expect("bundle")).expect("zip");
    let manifest: Value =
        serde_json::from_reader(zip.by_name("manifest.json").expect("manifest")).expect("json");
    let run = read_json(&review.run.join("run.json"));
    let listed: Vec<(&Value, &Value, &Value)> = manifest["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| (&a["domain"], &a["snapshot"]["path"], &a["snapshot"]["sha256"]))
        .collect();
    let recorded: Vec<(&Value, Value, &Value)> = run["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (
                &a["domain"],
                format!("snapshots/{}.json", a["domain"].as_str().expect("domain")).into(),
                &a["snapshot"]["sha256"],
            )
        })
        .collect();
    assert_eq!(listed.len(), 2);
    for ((domain, path, sha), (want_domain, want_path, want_sha)) in listed.iter().zip(&recorded) {
        assert_eq!((*domain, *path, *sha), (*want_domain, want_path, *want_sha));
        assert!(
            zip.by_name(path.as_str().expect("path")).is_ok(),
            "{path} bundled"
        );
    }
    for name in [
        "run/remediation-plan.json",
        "run/remediation.jsonl",
        "run/remediation.json",
    ] {
        assert!(zip.by_name(name).is_ok(), "{name} bundled");
    }
}

#[test]
fn a_plan_with_an_account_missing_from_the_file_is_refused_before_any_request() {
    let review = Loop::new(
        0,
        &[("acme", KEVIN_ACME, "revoke"), ("acme-eu", KEVIN_EU, "revoke")],
    );
    let only_acme = review.tmp.path().join("only-acme.toml");
    std::fs::write(
        &only_acme,
        format!(
            "[[account]]\ndomain = \"acme\"\nbase_url = \"{}\"\napi_key_env = \"DA_TEST_ACME_KEY\"\n",
            review.acme.base_url()
        ),
    )
    .expect("file");
    let before = [review.acme.total_requests(), review.eu.total_requests()];
    let refused = review.apply(&only_acme, EU_KEY);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("the plan has actions for acme-eu, which"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        [review.acme.total_requests(), review.eu.total_requests()],
        before,
        "no request at all"
    );
    assert!(!review.run.join("remediation.jsonl").exists());

    // --domain cannot apply a plan of several accounts either.
    let url = review.acme.base_url();
    let args = apply_args(&review.run, &["--domain", "acme", "--base-url", &url]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let refused = deskaudit(&args, Some(ADMIN_KEY));
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("apply it with --accounts"),
        "{}",
        text(&refused)
    );
    assert_eq!([review.acme.total_requests(), review.eu.total_requests()], before);
}

/// acme-eu's key in the file is wrong: its steps fail with nothing written
/// there, acme's go ahead with acme's own key, and the wrong key never
/// reaches acme. With the key fixed, a re-run finishes acme-eu only.
#[test]
fn a_wrong_key_fails_its_own_accounts_steps_only_and_a_rerun_finishes_them() {
    let review = Loop::new(
        0,
        &[("acme", KEVIN_ACME, "revoke"), ("acme-eu", KEVIN_EU, "revoke")],
    );
    let applied = review.apply(&review.accounts, "not-the-eu-key");
    assert_eq!(applied.status.code(), Some(1), "{}", text(&applied));
    let outcomes = review.outcomes();
    assert_eq!(outcomes[0], ("acme".into(), KEVIN_ACME, "done".into(), true));
    assert_eq!(outcomes[1].2, "failed");
    assert_eq!(
        active(&review.acme, KEVIN_ACME),
        None,
        "documented API: demoted to a contact"
    );
    assert_eq!(active(&review.eu, KEVIN_EU), Some(true));
    assert_eq!(Loop::writes(&review.eu), []);
    assert!(
        review.acme.requests().iter().all(|r| r.status != Some(401)),
        "acme never got acme-eu's key"
    );
    assert!(!text(&applied).contains("not-the-eu-key"), "{}", text(&applied));
    let reason = review.outcomes_reason(1);
    assert!(
        reason.starts_with("nothing was sent: acme-eu's key could not be used ("),
        "{reason}"
    );
    for name in ["remediation.jsonl", "remediation.json"] {
        let written = std::fs::read_to_string(review.run.join(name)).expect(name);
        assert!(!written.contains("not-the-eu-key"), "the wrong key is in {name}");
    }

    let again = review.apply(&review.accounts, EU_KEY);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let outcomes = review.outcomes();
    assert_eq!(outcomes[1], ("acme-eu".into(), KEVIN_EU, "done".into(), true));
    assert_eq!(active(&review.eu, KEVIN_EU), Some(false));
    assert_eq!(
        Loop::writes(&review.acme).len(),
        1,
        "acme's revoke is not sent again"
    );
    assert_eq!(Loop::writes(&review.eu).len(), 1);
    review.no_key_written();
}

/// Killed after its first write was answered: the re-run reads first and
/// writes no agent of either account twice.
#[test]
fn an_interrupted_apply_resumes_without_writing_twice() {
    let review = Loop::new(
        80,
        &[
            ("acme", KEVIN_ACME, "revoke"),
            ("acme-eu", COLLIDING, "revoke"),
            ("acme-eu", KEVIN_EU, "revoke"),
        ],
    );
    let child = keyed(
        Command::new(env!("CARGO_BIN_EXE_deskaudit")).args(review.apply_args(&review.accounts)),
        EU_KEY,
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("spawns");
    kill_after_writes(child, &review.run.join("remediation.jsonl"), 1);

    let resumed = review.apply(&review.accounts, EU_KEY);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert!(review.outcomes().iter().all(|(_, _, o, v)| o == "done" && *v));
    for (sim, ids) in [
        (&review.acme, &[KEVIN_ACME][..]),
        (&review.eu, &[COLLIDING, KEVIN_EU]),
    ] {
        for id in ids {
            assert_eq!(sim.writes_to(*id).len(), 1, "agent {id} written once");
        }
    }
    assert_eq!(active(&review.acme, COLLIDING), Some(true));
    review.no_key_crossed();
}

/// With several accounts a decided row must say its account, and one the
/// run has: every such row is refused at once, by line and field, and the
/// decisions recorded before stay as they were.
#[test]
fn a_row_without_a_known_account_is_refused_by_line() {
    let review = Loop::new(
        0,
        &[("acme-eu", KEVIN_EU, "revoke"), ("acme-eu", COLLIDING, "revoke")],
    );
    let decisions = std::fs::read(review.run.join("decisions.json")).expect("decisions");
    let filled = review.tmp.path().join("filled.csv");
    let written = std::fs::read_to_string(&filled).expect("filled");
    let mut lines: Vec<String> = written.lines().map(str::to_owned).collect();
    let line_of = |id: u64| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("{id},")) && l.ends_with(",acme-eu"))
            .expect("row")
    };
    let (kevin, jonas) = (line_of(KEVIN_EU), line_of(COLLIDING));
    lines[kevin] = lines[kevin].trim_end_matches("acme-eu").to_owned();
    lines[jonas] = format!("{}globex", lines[jonas].trim_end_matches("acme-eu"));
    let broken = review.tmp.path().join("broken.csv");
    std::fs::write(&broken, lines.join("\n") + "\n").expect("broken");

    let out = deskaudit(
        &["review", "import", "--run", utf8(&review.run), utf8(&broken)],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    for want in [
        "broken.csv: 2 rows refused, nothing recorded".to_owned(),
        format!(
            "line {}, agent {KEVIN_EU} <kevin.brandt@acme.test>: account: blank, but the run reviews several accounts (acme, acme-eu)",
            kevin + 1
        ),
        format!(
            "line {}, agent {COLLIDING} <jonas.berg@eu.acme.test> in globex: account `globex` is not an account of this run (acme, acme-eu)",
            jonas + 1
        ),
    ] {
        assert!(said.contains(&want), "{want}\n{said}");
    }

    assert_eq!(
        std::fs::read(review.run.join("decisions.json")).expect("kept"),
        decisions
    );
}

/// A plan of one account applies with `--accounts` too (the file's other
/// accounts are never contacted), and stays as it was before several
/// accounts: no `accounts`, no action `account`.
#[test]
fn a_one_account_plan_applies_with_the_accounts_file() {
    let (_rt, acme) = start_sim(acme(), config(Profile::Documented));
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = acme.base_url();
    let run = tmp.path().join("q4");
    let mut args = vec!["run", "--domain", "acme", "--base-url", &url, "--out", utf8(&run)];
    args.extend(ACME_INPUTS);
    let audited = deskaudit(&args, Some(ADMIN_KEY));
    assert_eq!(audited.status.code(), Some(0), "{}", text(&audited));
    let exported = tmp.path().join("workbook.csv");
    let filled = tmp.path().join("filled.csv");
    let out = deskaudit(
        &["review", "export", "--run", utf8(&run), "--out", utf8(&exported)],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    fill(&exported, &filled, &[("acme", KEVIN_ACME, "revoke")]);
    for args in [
        vec!["review", "import", "--run", utf8(&run), utf8(&filled)],
        vec!["remediate", "plan", "--run", utf8(&run)],
    ] {
        let out = deskaudit(&args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let plan = read_json(&run.join("remediation-plan.json"));
    assert!(plan.get("accounts").is_none(), "{plan}");
    assert!(
        plan["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .all(|a| a.get("account").is_none())
    );

    // acme-eu's entry points at a port nobody serves: it is never asked.
    let file = accounts_file(tmp.path(), &url, "http://127.0.0.1:9");
    let args = apply_args(&run, &["--accounts", utf8(&file)]);
    let applied = keyed(Command::new(env!("CARGO_BIN_EXE_deskaudit")).args(args), EU_KEY)
        .output()
        .expect("binary runs");
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert_eq!(
        active(&acme, KEVIN_ACME),
        None,
        "documented API: demoted to a contact"
    );
    assert_eq!(acme.writes_to(KEVIN_ACME).len(), 1);
}
