//! `deskaudit review export` / `review import` on an audit of the fixture
//! organisation: the workbook's rows, the round trip into decisions.json, and
//! every refusal (self-review, bad values, overwriting, a tampered run).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use deskaudit::review::TARGET_COLUMNS;
use deskaudit::rundir::{DecisionKind, RunDir};
use sha2::{Digest, Sha256};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Agents that are active or pending (34 + 5), plus the deactivated
/// administrator with a `deactivated-privileged` finding.
const IN_SCOPE: usize = 42;

/// A temporary review period: the demo's snapshot audited with the demo's inputs into `run/`.
struct Period {
    tmp: tempfile::TempDir,
    run: PathBuf,
}

impl Period {
    fn new() -> Period {
        Period::with_snapshot(|text| text)
    }

    /// A period whose snapshot is the demo's as `edit` changes its text.
    fn with_snapshot(edit: impl FnOnce(String) -> String) -> Period {
        let tmp = tempfile::tempdir().expect("tempdir");
        // A copy, so the run never depends on (or writes near) reports/demo.
        let snapshot = tmp.path().join("snapshot.json");
        let demo = std::fs::read_to_string(repo().join("reports/demo/snapshot.json")).expect("demo snapshot");
        // An edited copy is sealed as a collector would have written it.
        let edited = edit(demo.clone());
        let bytes = if edited == demo {
            edited.into_bytes()
        } else {
            sealed_snapshot(serde_json::from_str(&edited).expect("edited snapshot is JSON"))
        };
        std::fs::write(&snapshot, bytes).expect("write snapshot");
        let run = tmp.path().join("run");
        let mut args = vec!["audit", "--snapshot", path(&snapshot), "--out", path(&run)];
        args.extend(ACME_INPUTS);
        args.extend(ACME_WATCH);
        let out = deskaudit(&args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        Period { tmp, run }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn export(&self, out: &Path) -> std::process::Output {
        deskaudit(
            &["review", "export", "--run", path(&self.run), "--out", path(out)],
            None,
        )
    }

    fn import(&self, workbook: &Path) -> std::process::Output {
        deskaudit(
            &["review", "import", "--run", path(&self.run), path(workbook)],
            None,
        )
    }

    /// Imports `table`, which must be refused with nothing recorded; the message.
    fn refused(&self, table: &Table) -> String {
        let workbook = self.file("filled.csv");
        table.write(&workbook, true, false);
        let run = self.import(&workbook);
        assert_eq!(run.status.code(), Some(2), "{}", text(&run));
        assert!(!self.run.join("decisions.json").exists(), "nothing is recorded");
        text(&run)
    }

    /// Imports `table`, which must be accepted with a summary saying `says`; what is recorded.
    fn accepted(&self, table: &Table, says: &str) -> serde_json::Value {
        let workbook = self.file("filled.csv");
        table.write(&workbook, true, false);
        self.accepted_file(&workbook, says)
    }

    /// Imports `workbook`, which must be accepted with a summary saying
    /// `says`; decisions.json as JSON, so its exact shape is what is checked.
    fn accepted_file(&self, workbook: &Path, says: &str) -> serde_json::Value {
        let run = self.import(workbook);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        assert!(
            String::from_utf8_lossy(&run.stdout).contains(says),
            "{}",
            text(&run)
        );
        let bytes = std::fs::read(self.run.join("decisions.json")).expect("decisions.json");
        serde_json::from_slice(&bytes).expect("json")
    }

    /// Exports the workbook and reads it back as a table.
    fn workbook(&self) -> Table {
        let out = self.file("export.csv");
        let run = self.export(&out);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        Table::parse(&std::fs::read(&out).expect("workbook"))
    }
}

/// The refusal `message` lists workbook line `line` with `why`.
fn assert_line_says(message: &str, line: u64, why: &str) {
    assert!(
        message
            .lines()
            .any(|l| l.starts_with(&format!("  line {line}, ")) && l.contains(why)),
        "line {line}: `{why}` missing from: {message}"
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A workbook as a reviewer's spreadsheet would hold it.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn parse(bytes: &[u8]) -> Table {
        assert!(
            bytes.starts_with(BOM),
            "the workbook starts with a UTF-8 byte-order mark"
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&bytes[BOM.len()..]);
        let mut records = reader
            .records()
            .map(|r| r.expect("csv row").iter().map(str::to_owned).collect::<Vec<_>>());
        let header = records.next().expect("header");
        Table {
            header,
            rows: records.collect(),
        }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).expect("column")
    }

    /// The 0-based row of an agent; its workbook line is this + 2.
    fn row_of(&self, agent_id: u64) -> usize {
        let col = self.col("agent_id");
        self.rows
            .iter()
            .position(|r| r[col] == agent_id.to_string())
            .expect("agent has a row")
    }

    fn decide(&mut self, agent_id: u64, decision: &str, reviewer: &str, justification: &str) -> u64 {
        let row = self.row_of(agent_id);
        for (name, value) in [
            ("decision", decision),
            ("reviewer", reviewer),
            ("justification", justification),
        ] {
            let col = self.col(name);
            self.rows[row][col] = value.to_owned();
        }
        row as u64 + 2
    }

    fn set(&mut self, agent_id: u64, column: &str, value: &str) {
        let (row, col) = (self.row_of(agent_id), self.col(column));
        self.rows[row][col] = value.to_owned();
    }

    /// Fills in a `modify`'s target cells; `""` leaves one blank.
    fn target(&mut self, agent_id: u64, roles: &str, groups: &str, scope: &str) {
        for (column, value) in TARGET_COLUMNS.into_iter().zip([roles, groups, scope]) {
            self.set(agent_id, column, value);
        }
    }

    /// The table without `columns`, as an older workbook (or a trimmed copy) has it.
    fn without(&self, columns: &[&str]) -> Table {
        let keep: Vec<usize> = (0..self.header.len())
            .filter(|&i| !columns.contains(&self.header[i].as_str()))
            .collect();
        let pick = |row: &Vec<String>| keep.iter().map(|&i| row[i].clone()).collect();
        Table {
            header: pick(&self.header),
            rows: self.rows.iter().map(pick).collect(),
        }
    }

    fn write(&self, to: &Path, bom: bool, crlf: bool) {
        let mut bytes = if bom { BOM.to_vec() } else { Vec::new() };
        let terminator = if crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        };
        let mut w = csv::WriterBuilder::new()
            .terminator(terminator)
            .from_writer(&mut bytes);
        w.write_record(&self.header).expect("header");
        for row in &self.rows {
            w.write_record(row).expect("row");
        }
        w.flush().expect("flush");
        drop(w);
        std::fs::write(to, bytes).expect("write workbook");
    }
}

const OLIVIA: u64 = 67013470001; // Account Administrator, privileged-agent + admin-count
const MARCUS: u64 = 67013470086; // Head of Support, privileged-agent + role-drift + admin-count
const SOFIA: u64 = 67013470154; // terminated-active
const JANE_FD: u64 = 67013470562; // jane+fd@acme.test: orphaned-agent + duplicate-identity
const R_CHEN: u64 = 67013470052; // r.chen@acme.test, same Entra identity as rachel.chen@acme.test
const NO_FINDINGS: u64 = 67013470375; // an active agent with no finding
const PETER: u64 = 67013470426; // collaborator with a Global ticket scope: broad-ticket-scope
const LINH: u64 = 67013470528; // occasional, Global, Tier 1 Support: broad-ticket-scope
const AUDITOR: &str = "auditor@acme.test";
const AGENT_ROLE: u64 = 67000110004;
const SUPERVISOR_ROLE: u64 = 67000110003;
const TIER_1: u64 = 67000220001;
const BILLING: u64 = 67000220003;

#[test]
fn export_has_one_row_per_agent_in_scope() {
    let period = Period::new();
    let out = period.file("workbook.csv");
    let run = period.export(&out);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains(&format!(
            "{IN_SCOPE} agents in scope, 30 with findings, 7 suggested for revoke"
        )),
        "{stdout}"
    );
    let table = Table::parse(&std::fs::read(&out).expect("workbook"));
    assert_eq!(table.header, deskaudit::review::COLUMNS);
    assert_eq!(table.rows.len(), IN_SCOPE);
    let ids: std::collections::BTreeSet<&str> = table.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), IN_SCOPE, "one row per agent");
    assert_eq!(
        &table.header[table.header.len() - 4..table.header.len() - 1],
        TARGET_COLUMNS,
        "the target columns follow justification"
    );
    // The account is last, as in findings.csv; a run of one account names it too.
    assert_eq!(table.header.last().map(String::as_str), Some("account"));
    assert!(
        table
            .rows
            .iter()
            .all(|r| r.last().map(String::as_str) == Some("acme"))
    );
    for decision_col in ["decision", "reviewer", "justification"]
        .into_iter()
        .chain(TARGET_COLUMNS)
    {
        let col = table.col(decision_col);
        assert!(
            table.rows.iter().all(|r| r[col].is_empty()),
            "{decision_col} is blank"
        );
    }
    // The three critical rows first, by email; then the deactivated administrator is in scope.
    let first: Vec<String> = table.rows[..3].iter().map(|r| r.join(",")).collect();
    let deactivated = &table.rows[table.row_of(67013470018)];
    let shown = format!(
        "{}\n{}\n{}",
        table.header.join(","),
        first.join("\n"),
        deactivated.join(",")
    );
    insta::assert_snapshot!("review_export_rows", shown);
}

#[test]
fn export_refuses_to_overwrite() {
    let period = Period::new();
    let out = period.file("workbook.csv");
    std::fs::write(&out, "a reviewer's work\n").expect("write");
    let run = period.export(&out);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("will not be overwritten"), "{}", text(&run));
    assert_eq!(
        std::fs::read_to_string(&out).expect("kept"),
        "a reviewer's work\n"
    );
}

#[test]
fn export_refuses_a_run_whose_snapshot_changed() {
    let period = Period::new();
    let snapshot = period.file("snapshot.json");
    let mut bytes = std::fs::read(&snapshot).expect("snapshot");
    bytes.push(b'\n');
    std::fs::write(&snapshot, bytes).expect("tamper");
    let out = period.file("workbook.csv");
    let run = period.export(&out);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(
        text(&run).contains("has changed since the audit"),
        "{}",
        text(&run)
    );
    assert!(!out.exists());
}

#[test]
fn round_trip_records_every_decision() {
    let period = Period::new();
    let mut table = period.workbook();
    let suggested = table.col("suggested");
    let revoke: Vec<u64> = table
        .rows
        .iter()
        .filter(|r| r[suggested] == "revoke")
        .map(|r| r[0].parse().expect("id"))
        .collect();
    for &id in &revoke {
        table.decide(id, "revoke", AUDITOR, "");
    }
    table.decide(
        OLIVIA,
        "Keep",
        "Marcus.Bell@acme.test",
        "Account owner; re-approved for Q4",
    );
    table.decide(
        MARCUS,
        "modify",
        "olivia.hart@acme.test",
        "Remove Administrator, keep Supervisor",
    );
    table.decide(NO_FINDINGS, "keep", AUDITOR, "");
    let workbook = period.file("filled.csv");
    table.write(&workbook, true, false);

    let run = period.import(&workbook);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let decided = revoke.len() + 3;
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains(&format!(
            "recorded {decided} decisions (keep 2, revoke {}, modify 1), undecided {}",
            revoke.len(),
            IN_SCOPE - decided
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("replaced"), "{stdout}");

    let recorded = RunDir::open(&period.run)
        .expect("run")
        .decisions()
        .expect("decisions.json parses")
        .expect("decisions.json written");
    assert_eq!(recorded.schema_version, 1);
    assert_eq!(recorded.decisions.len(), decided);
    let bytes = std::fs::read(&workbook).expect("workbook");
    assert_eq!(recorded.workbook.sha256, hex::encode(Sha256::digest(&bytes)));
    assert!(
        recorded.workbook.path.ends_with("filled.csv"),
        "{}",
        recorded.workbook.path
    );
    let olivia = recorded
        .decisions
        .iter()
        .find(|d| d.agent_id == OLIVIA)
        .expect("Olivia's decision");
    assert_eq!(olivia.decision, DecisionKind::Keep);
    assert_eq!(olivia.reviewer, "marcus.bell@acme.test");
    assert_eq!(olivia.agent_email, "olivia.hart@acme.test");
    assert_eq!(olivia.justification, "Account owner; re-approved for Q4");
    assert_eq!(olivia.finding_ids.len(), 2, "{:?}", olivia.finding_ids);
    let sofia = recorded
        .decisions
        .iter()
        .find(|d| d.agent_id == SOFIA)
        .expect("Sofia");
    assert_eq!(sofia.decision, DecisionKind::Revoke);

    // Importing again replaces the record, and says so.
    let again = period.import(&workbook);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("replaced the previous decisions"),
        "{}",
        text(&again)
    );
}

#[test]
fn a_decision_by_the_reviewed_person_is_refused() {
    let period = Period::new();
    let mut table = period.workbook();
    let line = table.decide(OLIVIA, "keep", "olivia.hart@acme.test", "I still need it");
    // Editing the workbook's email column does not dodge the check: the snapshot decides.
    table.set(OLIVIA, "agent_email", "someone.else@acme.test");
    table.decide(SOFIA, "revoke", AUDITOR, "");
    let workbook = period.file("filled.csv");
    table.write(&workbook, true, false);

    let run = period.import(&workbook);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let message = text(&run);
    assert!(
        message.contains("filled.csv: 1 row refused, nothing recorded"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "line {line}, agent {OLIVIA} <olivia.hart@acme.test>: reviewer olivia.hart@acme.test is the reviewed person"
        )),
        "{message}"
    );
    assert!(!period.run.join("decisions.json").exists(), "nothing is recorded");
}

#[test]
fn a_tagged_or_second_address_of_the_reviewed_person_is_refused() {
    let period = Period::new();
    let mut table = period.workbook();
    let lines = [
        // The reviewer's +tag variant of the agent's address, in any case.
        (
            table.decide(OLIVIA, "keep", "Olivia.Hart+review@ACME.test", "ok"),
            OLIVIA,
        ),
        // The agent's address is the tagged one.
        (
            table.decide(JANE_FD, "keep", "jane@acme.test", "test account"),
            JANE_FD,
        ),
        // Another account of the same person (duplicate-identity).
        (
            table.decide(R_CHEN, "keep", "rachel.chen@acme.test", "mine"),
            R_CHEN,
        ),
    ];
    let workbook = period.file("filled.csv");
    table.write(&workbook, false, false);

    let run = period.import(&workbook);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let message = text(&run);
    assert!(message.contains("3 rows refused"), "{message}");
    for (line, agent) in lines {
        assert!(
            message.contains(&format!("line {line}, agent {agent} <"))
                && message.contains("is the reviewed person"),
            "line {line} (agent {agent}) missing from: {message}"
        );
    }
    assert!(
        message.contains("agent 67013470511 <rachel.chen@acme.test>"),
        "{message}"
    );
}

/// `mailto:`, a quoted local part or a zero-width space in the reviewer
/// cell made the reviewed person's own address look like someone else's.
#[test]
fn a_reviewer_written_as_mailto_quoted_or_with_an_invisible_character_is_refused() {
    let period = Period::new();
    let mut table = period.workbook();
    let mailto = table.decide(OLIVIA, "keep", "MAILTO:Olivia.Hart@acme.test", "I still need it");
    let quoted = table.decide(MARCUS, "keep", "\"marcus.bell\"@acme.test", "mine");
    let hidden = table.decide(SOFIA, "revoke", "sofia\u{200B}.marquez@acme.test", "");

    let message = period.refused(&table);
    assert!(message.contains("3 rows refused"), "{message}");
    for (line, why) in [
        (mailto, "reviewer olivia.hart@acme.test is the reviewed person"),
        (quoted, "reviewer marcus.bell@acme.test is the reviewed person"),
        (
            hidden,
            "reviewer `sofia[U+200B].marquez@acme.test` holds an invisible character, U+200B",
        ),
    ] {
        assert_line_says(&message, line, why);
    }
    assert!(
        !message.contains('\u{200B}'),
        "the message shows the character: {message}"
    );
}

/// The snapshot's own address held a zero-width space, so the reviewed
/// person's plain address did not match it.
#[test]
fn an_invisible_character_in_the_agents_address_does_not_hide_self_review() {
    let period = Period::with_snapshot(|text| {
        text.replace("\"olivia.hart@acme.test\"", "\"olivia\\u200b.hart@acme.test\"")
    });
    let mut table = period.workbook();
    let line = table.decide(OLIVIA, "keep", "olivia.hart@acme.test", "I still need it");

    let message = period.refused(&table);
    assert_line_says(
        &message,
        line,
        &format!(
            "agent {OLIVIA} <olivia[U+200B].hart@acme.test>: reviewer olivia.hart@acme.test is the reviewed person"
        ),
    );
}

/// What decisions.json records is the address itself, not how it was typed.
#[test]
fn a_mailto_or_quoted_reviewer_is_recorded_as_the_plain_address() {
    let period = Period::new();
    let mut table = period.workbook();
    table.decide(SOFIA, "revoke", "MAILTO:Auditor@ACME.test", "");
    table.decide(NO_FINDINGS, "keep", "\"auditor\"@acme.test", "");
    let workbook = period.file("filled.csv");
    table.write(&workbook, true, false);

    let run = period.import(&workbook);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let decisions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(period.run.join("decisions.json")).expect("decisions.json"))
            .expect("json");
    let reviewers: Vec<&str> = decisions["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter_map(|d| d["reviewer"].as_str())
        .collect();
    assert_eq!(reviewers, [AUDITOR, AUDITOR]);
}

#[test]
fn every_bad_row_is_listed_with_its_line() {
    let period = Period::new();
    let mut table = period.workbook();
    let maybe = table.decide(SOFIA, "maybe", AUDITOR, "");
    let nameless = table.decide(JANE_FD, "revoke", "Marcus Bell", "");
    let unjustified_keep = table.decide(OLIVIA, "keep", AUDITOR, "");
    let unjustified_modify = table.decide(NO_FINDINGS, "modify", AUDITOR, "");
    let other_run = table.decide(R_CHEN, "keep", AUDITOR, "fine");
    table.set(R_CHEN, "finding_ids", "DA-000000000000");
    let mut stranger = vec![String::new(); table.header.len()];
    stranger[0] = "12345".into();
    stranger[table.col("decision")] = "revoke".into();
    stranger[table.col("reviewer")] = AUDITOR.into();
    table.rows.push(stranger);
    let stranger_line = table.rows.len() as u64 + 1;

    let message = period.refused(&table);
    assert!(message.contains("filled.csv: 6 rows refused"), "{message}");
    for (line, why) in [
        (maybe, "decision `maybe` is not keep, revoke or modify"),
        (nameless, "reviewer `Marcus Bell` is not an email address"),
        (unjustified_keep, "keep needs a justification"),
        (unjustified_modify, "modify needs a justification"),
        (other_run, "was the workbook exported from another run?"),
        (stranger_line, "agent 12345 is not in the run's snapshot"),
    ] {
        assert_line_says(&message, line, why);
    }
}

#[test]
fn a_workbook_resaved_with_bom_and_crlf_is_accepted() {
    let period = Period::new();
    let mut table = period.workbook();
    table.decide(SOFIA, " Revoke ", " auditor@acme.test ", "");
    table.decide(OLIVIA, "KEEP", AUDITOR, "Account owner");
    // As a spreadsheet re-saves it: CRLF, header case changed, cells padded.
    for h in &mut table.header {
        *h = format!(" {} ", h.to_uppercase());
    }
    for (bom, name) in [(true, "bom-crlf.csv"), (false, "crlf.csv")] {
        let workbook = period.file(name);
        table.write(&workbook, bom, true);
        let run = period.import(&workbook);
        assert_eq!(run.status.code(), Some(0), "{name}: {}", text(&run));
        assert!(
            String::from_utf8_lossy(&run.stdout)
                .contains("recorded 2 decisions (keep 1, revoke 1, modify 0)"),
            "{name}: {}",
            text(&run)
        );
    }
}

#[test]
fn a_workbook_with_no_decision_is_refused() {
    let period = Period::new();
    let table = period.workbook();
    let workbook = period.file("blank.csv");
    table.write(&workbook, true, false);
    let run = period.import(&workbook);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(
        text(&run).contains(&format!("no row has a decision ({IN_SCOPE} undecided)")),
        "{}",
        text(&run)
    );
}

fn decision_of(recorded: &serde_json::Value, agent_id: u64) -> &serde_json::Value {
    recorded["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|d| d["agent_id"] == agent_id)
        .expect("the agent's decision")
}

#[test]
fn a_modify_records_each_kind_of_target_as_ids_and_the_names_written() {
    let period = Period::new();
    let mut table = period.workbook();
    table.decide(MARCUS, "modify", AUDITOR, "Administrator to Supervisor");
    table.target(MARCUS, "Supervisor", "", "");
    table.decide(LINH, "modify", AUDITOR, "Billing only, own group's tickets");
    // Names in another case, padded, repeated: matched, trimmed, ids sorted without repeats.
    table.target(LINH, "", " billing ; Tier 1 Support;BILLING", "group");
    table.decide(
        PETER,
        "modify",
        AUDITOR,
        "Collaborator sees only tickets shared with him",
    );
    table.target(PETER, "", "", "Restricted");
    table.decide(
        NO_FINDINGS,
        "modify",
        AUDITOR,
        "Reduce; the team lead will say how",
    );
    table.decide(SOFIA, "revoke", AUDITOR, "");

    let recorded = period.accepted(&table, "(keep 0, revoke 1, modify 4)");
    assert_eq!(
        decision_of(&recorded, MARCUS)["target"],
        serde_json::json!({"role_ids": [SUPERVISOR_ROLE], "role_names": ["Supervisor"]})
    );
    assert_eq!(
        decision_of(&recorded, LINH)["target"],
        serde_json::json!({
            "group_ids": [TIER_1, BILLING],
            "group_names": ["billing", "Tier 1 Support", "BILLING"],
            "ticket_scope": 2,
            "ticket_scope_name": "group"
        })
    );
    assert_eq!(
        decision_of(&recorded, PETER)["target"],
        serde_json::json!({"ticket_scope": 3, "ticket_scope_name": "Restricted"})
    );
    // A modify without a target, and any other decision, has no `target` key at all.
    for agent in [NO_FINDINGS, SOFIA] {
        let decision = decision_of(&recorded, agent);
        assert!(decision.get("target").is_none(), "{decision}");
    }
    // The library reads what it wrote.
    let decisions = RunDir::open(&period.run)
        .expect("run")
        .decisions()
        .expect("decisions.json parses")
        .expect("written");
    let marcus = decisions
        .decisions
        .iter()
        .find(|d| d.agent_id == MARCUS)
        .expect("Marcus");
    let target = marcus.target.as_ref().expect("a target");
    assert_eq!(target.role_ids, Some(vec![SUPERVISOR_ROLE]));
    assert_eq!((target.group_ids.as_ref(), target.ticket_scope), (None, None));
}

#[test]
fn an_unknown_role_name_is_refused_naming_the_line_the_agent_and_the_name() {
    let period = Period::new();
    let mut table = period.workbook();
    let line = table.decide(MARCUS, "modify", AUDITOR, "Administrator to Agent");
    table.target(MARCUS, "Agent;Admin", "", "");
    table.decide(SOFIA, "revoke", AUDITOR, "");

    let message = period.refused(&table);
    assert!(message.contains("filled.csv: 1 row refused"), "{message}");
    assert_line_says(
        &message,
        line,
        &format!(
            "agent {MARCUS} <marcus.bell@acme.test>: target_roles: no role `Admin` in the run's snapshot (close: "
        ),
    );
    assert_line_says(&message, line, "Administrator");
}

#[test]
fn every_bad_target_is_listed_with_its_line() {
    let period = Period::new();
    let mut table = period.workbook();
    let bad_scope = table.decide(PETER, "modify", AUDITOR, "narrower");
    table.target(PETER, "", "", "Everything");
    let unknown_group = table.decide(LINH, "modify", AUDITOR, "other group");
    table.target(LINH, "", "Tier 3 Support", "");
    let on_revoke = table.decide(SOFIA, "revoke", AUDITOR, "left");
    table.target(SOFIA, "Agent", "", "");
    let on_keep = table.decide(OLIVIA, "keep", AUDITOR, "Account owner");
    table.target(OLIVIA, "", "", "Global");
    // Marcus already is an Administrator in Tier 2 Support and Escalations.
    let no_change = table.decide(MARCUS, "modify", AUDITOR, "tidy up");
    table.target(MARCUS, "administrator", "Escalations;Tier 2 Support", "");
    let undecided = table.row_of(R_CHEN) as u64 + 2;
    table.target(R_CHEN, "", "Billing", "");

    let message = period.refused(&table);
    assert!(message.contains("filled.csv: 6 rows refused"), "{message}");
    for (line, why) in [
        (
            bad_scope,
            "target_ticket_scope `Everything` is not Global, Group or Restricted",
        ),
        (
            unknown_group,
            "target_groups: no group `Tier 3 Support` in the run's snapshot (close: Tier 1 Support, Tier 2 Support",
        ),
        (
            on_revoke,
            "target_roles filled in, but revoke removes all of the access; clear it, or decide modify",
        ),
        (
            on_keep,
            "target_ticket_scope filled in, but keep leaves the access as it is",
        ),
        (
            no_change,
            "the target changes nothing: the agent already has roles administrator, groups Escalations;Tier 2 Support",
        ),
        (
            undecided,
            "target_groups filled in, but no decision; a target is for modify",
        ),
    ] {
        assert_line_says(&message, line, why);
    }
    // Sofia's target is her current role, but on a revoke that is not the point.
    assert!(
        !message
            .lines()
            .any(|l| l.starts_with(&format!("  line {on_revoke}, ")) && l.contains("changes nothing")),
        "{message}"
    );
}

/// The target and account columns are optional: a workbook exported before
/// they existed still imports into a run of one account.
#[test]
fn a_workbook_without_the_target_columns_imports() {
    let period = Period::new();
    let mut table = period.workbook();
    table.decide(MARCUS, "modify", AUDITOR, "Remove Administrator");
    table.decide(SOFIA, "revoke", AUDITOR, "");
    let old = table.without(&[TARGET_COLUMNS.as_slice(), &["account"]].concat());
    assert_eq!(old.header.last().map(String::as_str), Some("justification"));

    let recorded = period.accepted(&old, "recorded 2 decisions (keep 0, revoke 1, modify 1)");
    assert!(decision_of(&recorded, MARCUS).get("target").is_none());
}

/// fixtures/acme/review-workbook.csv is the demo's workbook as a reviewer
/// filled it in (see fixtures/acme/README.md): it imports cleanly, and it
/// is still what `review export` writes, but for the reviewer's columns.
#[test]
fn the_acme_fixture_workbook_imports_cleanly() {
    let period = Period::new();
    let fixture = repo().join("fixtures/acme/review-workbook.csv");
    let filled = Table::parse(&std::fs::read(&fixture).expect("fixture workbook"));
    // The fixture predates the account column: a run of one account does without it.
    let exported = period.workbook().without(&["account"]);
    let reviewers = ["decision", "reviewer", "justification"]
        .into_iter()
        .chain(TARGET_COLUMNS)
        .map(|c| exported.col(c))
        .collect::<Vec<_>>();
    assert_eq!(filled.header, exported.header);
    assert_eq!(filled.rows.len(), exported.rows.len());
    for (got, want) in filled.rows.iter().zip(&exported.rows) {
        for (i, (got, want)) in got.iter().zip(want).enumerate() {
            if !reviewers.contains(&i) {
                assert_eq!(got, want, "column {}", exported.header[i]);
            }
        }
    }
    // The reviewer is nobody the review decides on.
    let snapshot = std::fs::read_to_string(repo().join("reports/demo/snapshot.json")).expect("snapshot");
    assert!(!snapshot.to_lowercase().contains("it.lead"));

    let recorded = period.accepted_file(
        &fixture,
        "recorded 42 decisions (keep 31, revoke 6, modify 5), undecided 0 in",
    );
    let targets: Vec<(u64, serde_json::Value)> = recorded["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter(|d| d["decision"] == "modify")
        .map(|d| (d["agent_id"].as_u64().expect("id"), d["target"].clone()))
        .collect();
    assert_eq!(
        targets,
        [
            (
                67013470120, // Priya Raman: Administrator removed, Billing Manager kept
                serde_json::json!({"role_ids": [AGENT_ROLE, 67000110011_u64], "role_names": ["Agent", "Billing Manager"]})
            ),
            (
                67013470545, // Jane Morgan: Tier 1 Support left
                serde_json::json!({"group_ids": [67000220002_u64], "group_names": ["Tier 2 Support"]})
            ),
            (
                LINH,
                serde_json::json!({"ticket_scope": 2, "ticket_scope_name": "Group"})
            ),
            (
                PETER,
                serde_json::json!({"ticket_scope": 3, "ticket_scope_name": "Restricted"})
            ),
            // The shared mailbox: a modify without a target, done by hand.
            (67013470324, serde_json::Value::Null),
        ]
    );
}
