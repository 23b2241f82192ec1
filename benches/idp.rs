//! IdP reading benchmark: one pass of deskaudit's reader over an Okta-style
//! export, timed alternately with a bare streaming pass of the `csv` crate
//! over the same file (the floor), medians of N runs, and the reader's peak
//! memory measured in a child process of its own.
//!
//! python3 ../shared/bench/gen_data.py DIR 20000 1000000
//! cargo bench --bench idp -- DIR [RUNS]
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deskaudit::idp::{IdpKind, IdpSet, IdpSpec, KeySet, LoadOptions};
use serde::Deserialize;

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

fn load(csv: &Path, wanted: &KeySet) -> (Duration, usize, u64) {
    let spec = IdpSpec {
        kind: Some(IdpKind::Okta),
        path: csv.to_path_buf(),
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--child-load") {
        // Measures the reader alone: keys in, one load, peak memory out.
        let dir = PathBuf::from(&args[1]);
        let wanted = agent_keys(&dir);
        let before = peak_kib();
        let (_, kept, _) = load(&dir.join("okta_users.csv"), &wanted);
        println!("{kept} {before} {}", peak_kib());
        return;
    }
    let Some(dir) = args.first().map(PathBuf::from) else {
        println!("usage: cargo bench --bench idp -- DATADIR [RUNS]  (DATADIR from gen_data.py)");
        return;
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let csv = dir.join("okta_users.csv");
    let wanted = agent_keys(&dir);
    let size = std::fs::metadata(&csv).expect("csv").len();
    println!(
        "idp bench: {} ({} MB), {} agent keys, {runs} runs each, alternating",
        csv.display(),
        size / 1_000_000,
        wanted.len()
    );
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    let (mut kept, mut rows) = (0, 0);
    for _ in 0..runs {
        let (t, k, r) = load(&csv, &wanted);
        ours.push(t);
        (kept, rows) = (k, r);
        let (t, r) = bare_csv(&csv);
        floor.push(t);
        assert_eq!(r, rows, "both passes see every row");
    }
    let (ours, floor) = (median(ours), median(floor));
    println!(
        "deskaudit okta reader   median {:>8.3} s  ({rows} rows, {kept} identities kept)",
        ours.as_secs_f64()
    );
    println!("bare csv crate pass     median {:>8.3} s", floor.as_secs_f64());
    println!(
        "ratio reader / floor    {:.2} (target <= 1.3)",
        ours.as_secs_f64() / floor.as_secs_f64()
    );
    let exe = std::env::current_exe().expect("exe");
    let out = std::process::Command::new(exe)
        .args(["--child-load", dir.to_str().expect("utf-8")])
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    if let [_, before, after] = nums[..] {
        println!(
            "peak RSS of a process that reads the keys then the export: {:.1} MiB (before the export {:.1} MiB; target <= 64 MiB)",
            after as f64 / 1024.0,
            before as f64 / 1024.0
        );
    }
}
