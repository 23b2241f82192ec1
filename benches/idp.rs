//! IdP reading benchmark: one pass of deskaudit's reader over an Okta
//! export of the same users in two forms, the profile-attribute CSV
//! (`okta_users.csv`) and the users API's JSON (`okta_users.json`, written
//! from the CSV once, untimed, as `GET /api/v1/users` returns each user),
//! timed alternately with a bare streaming pass of the `csv` crate over the
//! CSV (the floor), medians of N runs; then each reader's peak memory,
//! measured in a child process of its own.
//!
//! python3 ../shared/bench/gen_data.py DIR 20000 1000000
//! cargo bench --bench idp -- DIR [RUNS]
#![allow(clippy::print_stdout)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deskaudit::idp::{IdpKind, IdpSet, IdpSpec, KeySet, LoadOptions};
use serde::Deserialize;
use serde_json::{Value, json};

/// Agent emails only (serde skips every other field), so the keys cost little memory.
fn agent_keys(dir: &Path) -> KeySet {
    #[derive(Deserialize)]
    struct Doc {
        agents: Vec<Agent>,
    }
    #[derive(Deserialize)]
    struct Agent {
        contact: Contact,
    }
    #[derive(Deserialize)]
    struct Contact {
        email: String,
    }
    let file = std::fs::File::open(dir.join("freshdesk.json")).expect("freshdesk.json");
    let doc: Doc = serde_json::from_reader(std::io::BufReader::new(file)).expect("json");
    doc.agents
        .into_iter()
        .map(|a| a.contact.email.trim().to_lowercase())
        .collect()
}

/// The two forms of the same export: (kind, file name).
const FORMS: [(IdpKind, &str); 2] = [
    (IdpKind::Okta, "okta_users.csv"),
    (IdpKind::OktaJson, "okta_users.json"),
];

fn load(kind: IdpKind, path: &Path, wanted: &KeySet) -> (Duration, usize, u64) {
    let spec = IdpSpec {
        kind: Some(kind),
        path: path.to_path_buf(),
    };
    let opts = LoadOptions {
        wanted: Some(wanted),
        as_of: "2026-11-01T00:00:00Z".parse().expect("ts"),
        lenient: false,
        csv_mapping: None,
    };
    let start = Instant::now();
    let set = IdpSet::load(&[spec], &opts).expect("loads");
    (start.elapsed(), set.identities.len(), set.sources[0].rows)
}

fn bare_csv(csv: &Path) -> (Duration, u64) {
    let start = Instant::now();
    let mut reader = csv::Reader::from_path(csv).expect("open");
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record).expect("row") {
        rows += 1;
    }
    (start.elapsed(), rows)
}

/// `okta_users.json` beside the CSV, unless it is there and newer: each row as
/// the users API returns the user (the fields of `fixtures/idp/okta-json`),
/// one user per line.
fn write_okta_json(dir: &Path) -> PathBuf {
    let (csv, out) = (dir.join(FORMS[0].1), dir.join(FORMS[1].1));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&out).is_some() && modified(&out) >= modified(&csv) {
        return out;
    }
    let mut reader = csv::Reader::from_path(&csv).expect("okta_users.csv");
    let headers = reader.headers().expect("header").clone();
    let tmp = dir.join("okta_users.json.tmp");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).expect("create"));
    w.write_all(b"[").expect("write");
    for (i, row) in reader.records().enumerate() {
        let row = row.expect("row");
        let cell = |name: &str| {
            let v = headers.iter().position(|h| h == name).and_then(|c| row.get(c));
            v.filter(|v| !v.is_empty()).map_or(Value::Null, |v| json!(v))
        };
        let id = format!("00u{i:017}");
        let user = json!({
            "id": id,
            "status": cell("status"),
            "created": "2024-02-05T09:12:44.000Z",
            "activated": "2024-02-05T09:14:02.000Z",
            "statusChanged": "2024-02-05T09:14:02.000Z",
            "lastLogin": cell("lastLogin"),
            "lastUpdated": "2026-06-11T15:02:37.000Z",
            "passwordChanged": "2026-06-11T15:02:37.000Z",
            "type": {"id": "oty1benchdefault0001"},
            "profile": {
                "firstName": cell("firstName"),
                "lastName": cell("lastName"),
                "mobilePhone": null,
                "secondEmail": cell("secondEmail"),
                "login": cell("login"),
                "email": cell("email"),
                "department": cell("department"),
                "title": cell("title"),
                "employeeNumber": cell("employeeNumber"),
            },
            "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": format!("https://bench.okta.test/api/v1/users/{id}")}},
        });
        w.write_all(if i == 0 { b"\n" } else { b",\n" }).expect("write");
        serde_json::to_writer(&mut w, &user).expect("write");
    }
    w.write_all(b"\n]\n").expect("write");
    w.into_inner().expect("flush").sync_all().expect("sync");
    std::fs::rename(&tmp, &out).expect("rename");
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak resident memory of this process so far (Linux), in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// This bench re-run as `--child-load DIR FILE`: the keys, one load of FILE, peak memory out.
fn child_peak(dir: &Path, name: &str) -> Option<(u64, u64)> {
    let exe = std::env::current_exe().expect("exe");
    let out = std::process::Command::new(exe)
        .args(["--child-load", dir.to_str().expect("utf-8"), name])
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    match nums[..] {
        [_, before, after] => Some((before, after)),
        _ => None,
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--child-load") {
        // Measures the reader alone: keys in, one load, peak memory out.
        let dir = PathBuf::from(&args[1]);
        let kind = FORMS.iter().find(|(_, n)| *n == args[2]).expect("a known file").0;
        let wanted = agent_keys(&dir);
        let before = peak_kib();
        let (_, kept, _) = load(kind, &dir.join(&args[2]), &wanted);
        println!("{kept} {before} {}", peak_kib());
        return;
    }
    let Some(dir) = args.first().map(PathBuf::from) else {
        println!("usage: cargo bench --bench idp -- DATADIR [RUNS]  (DATADIR from gen_data.py)");
        return;
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let csv = dir.join(FORMS[0].1);
    let json = write_okta_json(&dir);
    let wanted = agent_keys(&dir);
    let size = |p: &Path| std::fs::metadata(p).expect("file").len() / 1_000_000;
    println!(
        "idp bench: {} ({} MB) and {} ({} MB), {} agent keys, {runs} runs each, alternating",
        csv.display(),
        size(&csv),
        json.display(),
        size(&json),
        wanted.len()
    );
    let (mut times, mut floor) = ([Vec::new(), Vec::new()], Vec::new());
    let mut seen = [(0, 0); 2];
    for _ in 0..runs {
        for (n, (kind, name)) in FORMS.iter().enumerate() {
            let (t, kept, rows) = load(*kind, &dir.join(name), &wanted);
            times[n].push(t);
            seen[n] = (kept, rows);
        }
        let (t, rows) = bare_csv(&csv);
        floor.push(t);
        assert_eq!(rows, seen[0].1, "both passes see every row");
    }
    assert_eq!(seen[0], seen[1], "both forms keep and count the same users");
    let [csv_time, json_time] = times.map(median);
    let floor = median(floor);
    let (kept, rows) = seen[0];
    println!(
        "deskaudit okta reader        median {:>8.3} s  ({rows} rows, {kept} identities kept)",
        csv_time.as_secs_f64()
    );
    println!(
        "deskaudit okta-json reader   median {:>8.3} s  (the same users)",
        json_time.as_secs_f64()
    );
    println!(
        "bare csv pass                median {:>8.3} s",
        floor.as_secs_f64()
    );
    println!(
        "ratio okta reader / floor    {:.2} (target <= 1.3); okta-json / okta {:.2}",
        csv_time.as_secs_f64() / floor.as_secs_f64(),
        json_time.as_secs_f64() / csv_time.as_secs_f64()
    );
    let peaks = FORMS.map(|(_, name)| child_peak(&dir, name));
    for ((_, name), peak) in FORMS.iter().zip(peaks) {
        if let Some((before, after)) = peak {
            println!(
                "peak RSS of a process that reads the keys then {name}: {:.1} MiB (before the export {:.1} MiB; target <= 64 MiB)",
                mib(after),
                mib(before)
            );
        }
    }
    if let [Some((_, csv_peak)), Some((_, json_peak))] = peaks {
        println!(
            "peak RSS okta-json / okta    {:.2} (target <= 2)",
            json_peak as f64 / csv_peak as f64
        );
    }
}
