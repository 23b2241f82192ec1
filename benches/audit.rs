//! Audit benchmark: `deskaudit audit` (every rule; CSV, JSON and HTML written)
//! over a snapshot of `gen_data.py`'s agents and its Okta export, timed
//! alternately with `duckdb_reconcile.py` on the same data and with a bare
//! streaming pass of the `csv` crate over the export (the floor). Each of the
//! three runs as a child process: wall time, CPU time and peak RSS of each,
//! medians of N runs, the ratios, and how time and memory grow between sizes.
//!
//! cargo bench --bench audit -- [--size small|ref|large|all|AGENTSxUSERS]... [--runs N]
//!                              [--data DIR] [--snapshot wrap|sim] [--no-duckdb]
//!
//! Data is generated once per size into `target/bench-data/AGENTSxUSERS/` (set
//! DESKAUDIT_BENCH_DATA to put it elsewhere); `gen_data.py` and
//! `duckdb_reconcile.py` are read from `../shared/bench` (DESKAUDIT_BENCH_SHARED).
//! See docs/performance.md.
#![allow(clippy::print_stdout)]

#[path = "audit/leavers.rs"]
mod leavers;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use deskaudit::collect::{ApiKey, CollectOptions, Target, collect};
use deskaudit::model::snapshot::SCHEMA_VERSION;
use deskaudit::model::{Snapshot, SnapshotMeta};
use deskaudit::sim::{self, Fixture, Profile, SimConfig};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

/// The audit's as-of and the wrapped snapshot's collection time: `gen_data.py`'s "now".
const AS_OF: &str = "2026-11-01T00:00:00Z";
const GNU_TIME: &str = "/usr/bin/time";
const USAGE: &str = "usage: cargo bench --bench audit -- [--size small|ref|large|all|AGENTSxUSERS]... \
                     [--runs N] [--data DIR] [--snapshot wrap|sim] [--no-duckdb]";

/// The sizes: reference 20,000 x 1,000,000, and a tenth and five times that.
const SIZES: [(&str, u64, u64); 3] = [
    ("small", 2_000, 100_000),
    ("ref", 20_000, 1_000_000),
    ("large", 100_000, 5_000_000),
];

#[derive(Clone, Debug)]
struct Size {
    label: String,
    agents: u64,
    users: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum SnapshotFrom {
    /// `freshdesk.json`'s arrays in a snapshot written by the tool's own writer.
    Wrap,
    /// The simulator serves the dataset, and the collector writes the snapshot.
    Sim,
}

struct Opts {
    sizes: Vec<Size>,
    data: Option<PathBuf>,
    runs: usize,
    from: SnapshotFrom,
    duckdb: bool,
}

fn parse_size(s: &str) -> Result<Vec<Size>, String> {
    let named = |(label, agents, users): (&str, u64, u64)| Size {
        label: label.to_owned(),
        agents,
        users,
    };
    if s == "all" {
        return Ok(SIZES.into_iter().map(named).collect());
    }
    if let Some(&size) = SIZES.iter().find(|(label, _, _)| *label == s) {
        return Ok(vec![named(size)]);
    }
    let (a, u) = s.split_once('x').ok_or(format!("unknown size {s:?}"))?;
    let agents = a.parse().map_err(|_| format!("bad agent count in {s:?}"))?;
    let users = u.parse().map_err(|_| format!("bad user count in {s:?}"))?;
    Ok(vec![Size {
        label: s.to_owned(),
        agents,
        users,
    }])
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut opts = Opts {
        sizes: Vec::new(),
        data: None,
        runs: 5,
        from: SnapshotFrom::Wrap,
        duckdb: true,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--size" => opts.sizes.extend(parse_size(value()?)?),
            "--runs" => {
                opts.runs = value()?.parse().map_err(|_| "--runs needs a number".to_owned())?;
                if opts.runs == 0 {
                    return Err("--runs must be at least 1".to_owned());
                }
            }
            "--data" => opts.data = Some(PathBuf::from(value()?)),
            "--snapshot" => {
                opts.from = match value()?.as_str() {
                    "wrap" => SnapshotFrom::Wrap,
                    "sim" => SnapshotFrom::Sim,
                    other => return Err(format!("--snapshot is wrap or sim, not {other:?}")),
                }
            }
            "--no-duckdb" => opts.duckdb = false,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if opts.sizes.is_empty() && opts.data.is_none() {
        opts.sizes = parse_size("ref")?;
    }
    Ok(opts)
}

/// Where everything lives, found once.
struct Env {
    shared: PathBuf,
    bin: PathBuf,
    cache: PathBuf,
    python: PathBuf,
    /// DuckDB's version, when `import duckdb` works.
    duckdb: Option<String>,
    gnu_time: bool,
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn find_env(want_duckdb: bool) -> Env {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = env_path("DESKAUDIT_BENCH_SHARED").unwrap_or_else(|| manifest.join("../shared/bench"));
    assert!(
        shared.join("gen_data.py").is_file(),
        "{}: no gen_data.py there (set DESKAUDIT_BENCH_SHARED to the shared/bench directory)",
        shared.display()
    );
    // Cargo builds the binary for benches, in the bench profile's directory (target/release).
    let bin = env_path("DESKAUDIT_BIN").unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_deskaudit")));
    let cache = env_path("DESKAUDIT_BENCH_DATA").unwrap_or_else(|| {
        bin.parent()
            .and_then(Path::parent)
            .unwrap_or(&manifest.join("target"))
            .join("bench-data")
    });
    fs::create_dir_all(&cache).expect("bench data directory");
    // The interpreter itself, not a shim script in front of it (pyenv's costs tens of ms a run).
    let python = env_path("DESKAUDIT_BENCH_PYTHON").unwrap_or_else(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 on PATH (gen_data.py needs it)");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    });
    let duckdb = if want_duckdb {
        Command::new(&python)
            .args(["-c", "import duckdb; print(duckdb.__version__)"])
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    } else {
        None
    };
    if want_duckdb && duckdb.is_none() {
        println!(
            "NOTE: `import duckdb` fails in {}: `pip install duckdb` to time duckdb_reconcile.py; \
             the DuckDB column is skipped",
            python.display()
        );
    }
    // DESKAUDIT_BENCH_NO_GNU_TIME=1 tries the fallback on a machine that has GNU time.
    let gnu_time = std::env::var_os("DESKAUDIT_BENCH_NO_GNU_TIME").is_none()
        && Command::new(GNU_TIME)
            .args(["-f", "%M", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !gnu_time {
        println!(
            "NOTE: not using GNU time ({GNU_TIME}, Debian package `time`): peak RSS is polled from \
             /proc/PID/status VmHWM every 2 ms instead, and CPU time is not reported"
        );
    }
    Env {
        shared,
        bin,
        cache,
        python,
        duckdb,
        gnu_time,
    }
}

// ---------------------------------------------------------------- data (setup, not timed)

struct Dataset {
    label: String,
    /// The gen_data.py directory: freshdesk.json, agents.ndjson, okta_users.csv.
    dir: PathBuf,
    snapshot: PathBuf,
    /// The leavers case's HRIS export, and the same with nobody terminated
    /// (benches/audit/leavers.rs).
    hris: PathBuf,
    hris_active: PathBuf,
    agents: u64,
    csv_bytes: u64,
    snapshot_bytes: u64,
}

fn newer_than(a: &Path, b: &Path) -> bool {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((mtime(a), mtime(b)), (Some(x), Some(y)) if x >= y)
}

/// Runs gen_data.py into `target/bench-data/AGENTSxUSERS/` unless it is there already.
fn generate(env: &Env, size: &Size) -> PathBuf {
    let name = format!("{}x{}", size.agents, size.users);
    let dir = env.cache.join(&name);
    let complete = ["freshdesk.json", "agents.ndjson", "okta_users.csv"]
        .iter()
        .all(|f| dir.join(f).is_file());
    if complete {
        return dir;
    }
    let partial = env.cache.join(format!("{name}.partial"));
    let _ = fs::remove_dir_all(&partial);
    println!(
        "generating {} agents x {} IdP users into {} (once) ...",
        size.agents,
        size.users,
        dir.display()
    );
    let start = Instant::now();
    let status = Command::new(&env.python)
        .arg(env.shared.join("gen_data.py"))
        .arg(&partial)
        .arg(size.agents.to_string())
        .arg(size.users.to_string())
        .stdout(Stdio::null())
        .status()
        .expect("run gen_data.py");
    assert!(status.success(), "gen_data.py failed: {status}");
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&partial, &dir).expect("move the generated data into place");
    println!("  generated in {:.1} s", start.elapsed().as_secs_f64());
    dir
}

#[derive(Deserialize)]
struct FreshdeskDoc {
    agents: Vec<Value>,
    roles: Vec<Value>,
    groups: Vec<Value>,
}

fn read_freshdesk(dir: &Path) -> FreshdeskDoc {
    let path = dir.join("freshdesk.json");
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_reader(BufReader::new(file)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// freshdesk.json's arrays in a snapshot, written as `collect` writes one.
fn wrap(data: &Path, out: &Path) {
    let doc = read_freshdesk(data);
    let at: jiff::Timestamp = AS_OF.parse().expect("timestamp");
    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        meta: SnapshotMeta {
            domain: "bench".to_owned(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: at,
            collected_at: at,
            ..SnapshotMeta::default()
        },
        agents: doc.agents,
        roles: doc.roles,
        groups: doc.groups,
        contacts: Vec::new(),
    };
    snapshot.meta.data_sha256 = snapshot.compute_data_sha256();
    snapshot.write_atomic(out).expect("write the snapshot");
}

/// The simulator serves the dataset (documented profile, no latency, a limit
/// too high to matter) and the collector writes what it gathered.
fn collect_from_sim(data: &Path, out: &Path) {
    let fixture = Fixture::load(data).expect("the dataset loads as a simulator fixture");
    let config = SimConfig {
        profile: Profile::Documented,
        rate_limit: 1_000_000,
        window: Duration::from_secs(60),
        ..SimConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = sim::start(fixture, config.clone(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("simulator");
        let opts = CollectOptions {
            target: Target::new("bench", Some(&server.base_url())).expect("target"),
            key: ApiKey::new(&config.api_key).expect("key"),
            previous_ids: Vec::new(),
            max_in_flight: 8,
            reserve_pct: 20,
            rate_window: config.window,
            progress: false,
        };
        let start = Instant::now();
        let snapshot = collect(opts).await.expect("collection succeeds");
        println!(
            "  collected {} agents from the simulator in {:.1} s with {} requests",
            snapshot.agents.len(),
            start.elapsed().as_secs_f64(),
            server.total_requests()
        );
        snapshot.write_atomic(out).expect("write the snapshot");
        server.shutdown().await;
    });
}

fn prepare(env: &Env, dir: PathBuf, label: String, from: SnapshotFrom) -> Dataset {
    // Our snapshots live in the cache, never in a --data directory someone else owns.
    let own = if dir.starts_with(&env.cache) {
        dir.clone()
    } else {
        let name = dir.file_name().map_or("data".into(), |n| n.to_string_lossy());
        env.cache.join(format!("data-{name}"))
    };
    fs::create_dir_all(&own).expect("snapshot directory");
    let (file, how) = match from {
        SnapshotFrom::Wrap => ("snapshot.json", "wrapped freshdesk.json"),
        SnapshotFrom::Sim => ("snapshot-sim.json", "collected from the simulator"),
    };
    let snapshot = own.join(file);
    let freshdesk = dir.join("freshdesk.json");
    if !newer_than(&snapshot, &freshdesk) {
        println!("writing {} ({how}) ...", snapshot.display());
        match from {
            SnapshotFrom::Wrap => wrap(&dir, &snapshot),
            SnapshotFrom::Sim => collect_from_sim(&dir, &snapshot),
        }
    }
    #[derive(Deserialize)]
    struct Count {
        agents: Vec<IgnoredAny>,
    }
    let file = File::open(&freshdesk).expect("freshdesk.json");
    let count: Count = serde_json::from_reader(BufReader::new(file)).expect("freshdesk.json");
    let csv = dir.join("okta_users.csv");
    let hris = leavers::hris(&own, count.agents.len() as u64, true);
    let hris_active = leavers::hris(&own, count.agents.len() as u64, false);
    Dataset {
        label,
        hris,
        hris_active,
        agents: count.agents.len() as u64,
        csv_bytes: fs::metadata(&csv).map(|m| m.len()).expect("okta_users.csv"),
        snapshot_bytes: fs::metadata(&snapshot).map(|m| m.len()).expect("snapshot"),
        dir,
        snapshot,
    }
}

// ---------------------------------------------------------------- measuring a child

#[derive(Clone, Copy)]
struct Sample {
    wall: f64,
    /// User + system CPU seconds (GNU time only).
    cpu: Option<f64>,
    rss_kib: u64,
}

/// Runs `program args` with stdout and stderr in `logs`, timing it from spawn to exit.
fn measure(env: &Env, program: &Path, args: &[OsString], logs: &Path) -> (Sample, ExitStatus) {
    let stdout = File::create(logs.join("stdout")).expect("log file");
    let stderr = File::create(logs.join("stderr")).expect("log file");
    if env.gnu_time {
        let time_file = logs.join("time");
        let start = Instant::now();
        let status = Command::new(GNU_TIME)
            .args(["-f", "%M %U %S", "-o"])
            .arg(&time_file)
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .expect("spawn");
        let wall = start.elapsed().as_secs_f64();
        // GNU time writes "Command exited with non-zero status N" first when it did.
        let text = fs::read_to_string(&time_file).unwrap_or_default();
        let nums: Vec<f64> = text
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let (rss_kib, cpu) = match nums[..] {
            [rss, user, sys] => (rss as u64, Some(user + sys)),
            _ => (0, None),
        };
        return (Sample { wall, cpu, rss_kib }, status);
    }
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("spawn");
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut rss_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        rss_kib = rss_kib.max(vm_hwm(&status_file).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed().as_secs_f64();
    (
        Sample {
            wall,
            cpu: None,
            rss_kib,
        },
        status,
    )
}

fn vm_hwm(status_file: &Path) -> Option<u64> {
    let text = fs::read_to_string(status_file).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Engine {
    Audit,
    /// The same audit with an HRIS export added in which nobody left.
    AuditHris,
    /// The same audit with the HRIS export added: termination times, leavers.
    AuditLeavers,
    Duckdb,
    Floor,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Audit => "deskaudit audit",
            Engine::AuditHris => "audit + HRIS, no leaver",
            Engine::AuditLeavers => "audit + HRIS (leavers)",
            Engine::Duckdb => "duckdb_reconcile.py",
            Engine::Floor => "bare csv pass (floor)",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Engine::Audit => "audit",
            Engine::AuditHris => "hris",
            Engine::AuditLeavers => "leavers",
            Engine::Duckdb => "duckdb",
            Engine::Floor => "floor",
        }
    }
}

/// What one run produced, kept from the warm-up run for the report.
#[derive(Default)]
struct Produced {
    summary: String,
    /// Findings by rule, as the run printed them.
    by_rule: BTreeMap<String, u64>,
}

/// `audit` prints `  RULE  N` under its `Findings:` line.
fn audit_rules(stdout: &str) -> BTreeMap<String, u64> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("Findings:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let (rule, n) = l.trim().split_once(char::is_whitespace)?;
            Some((rule.to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

/// duckdb_reconcile.py prints a Python list: `[('dormant-agent', 1491), ...]`.
fn duckdb_rules(stdout: &str) -> BTreeMap<String, u64> {
    stdout
        .split("('")
        .skip(1)
        .filter_map(|part| {
            let (rule, rest) = part.split_once('\'')?;
            let n = rest.trim_start_matches([',', ' ']).split(')').next()?;
            Some((rule.to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

/// One run of one engine in a fresh scratch directory, removed afterwards.
fn run_once(env: &Env, ds: &Dataset, engine: Engine) -> (Sample, Produced) {
    let scratch = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&env.cache)
        .expect("scratch directory");
    let logs = scratch.path();
    let csv = ds.dir.join("okta_users.csv");
    let (program, args): (PathBuf, Vec<OsString>) = match engine {
        Engine::Audit | Engine::AuditHris | Engine::AuditLeavers => {
            let mut idp = OsString::from("okta:");
            idp.push(&csv);
            let mut args = vec![
                "audit".into(),
                "--snapshot".into(),
                ds.snapshot.clone().into(),
                "--idp".into(),
                idp,
                "--as-of".into(),
                AS_OF.into(),
                "--out".into(),
                logs.join("out").into(),
            ];
            let hris = match engine {
                Engine::AuditLeavers => Some(&ds.hris),
                Engine::AuditHris => Some(&ds.hris_active),
                _ => None,
            };
            if let Some(path) = hris {
                let mut hris = OsString::from("hris:");
                hris.push(path);
                args.extend(["--idp".into(), hris]);
            }
            (env.bin.clone(), args)
        }
        Engine::Duckdb => {
            let args = vec![
                env.shared.join("duckdb_reconcile.py").into(),
                ds.dir.clone().into(),
                logs.join("duckdb.csv").into(),
            ];
            (env.python.clone(), args)
        }
        Engine::Floor => {
            let exe = std::env::current_exe().expect("this bench's executable");
            (exe, vec!["--child-floor".into(), csv.into()])
        }
    };
    let (sample, status) = measure(env, &program, &args, logs);
    let stdout = fs::read_to_string(logs.join("stdout")).unwrap_or_default();
    // `audit` exits 1 only with --fail-on, which this bench does not pass.
    if !status.success() {
        let stderr = fs::read_to_string(logs.join("stderr")).unwrap_or_default();
        panic!("{} failed ({status}):\n{stdout}\n{stderr}", engine.name());
    }
    let by_rule = match engine {
        Engine::Audit | Engine::AuditHris | Engine::AuditLeavers => audit_rules(&stdout),
        Engine::Duckdb => duckdb_rules(&stdout),
        Engine::Floor => BTreeMap::new(),
    };
    let summary = match engine {
        Engine::Audit | Engine::AuditHris | Engine::AuditLeavers => {
            let out = logs.join("out");
            let mut parts = Vec::new();
            for file in ["findings.csv", "findings.json", "report.html", "terminations.csv"] {
                let len = fs::metadata(out.join(file))
                    .unwrap_or_else(|_| panic!("audit wrote no {file}"))
                    .len();
                parts.push(format!("{file} {}", mb(len)));
            }
            let findings = stdout
                .lines()
                .find(|l| l.starts_with("Findings:"))
                .unwrap_or("Findings: ?")
                .to_owned();
            format!("{findings}; wrote {}", parts.join(", "))
        }
        Engine::Duckdb => format!("rows by rule {}", stdout.trim()),
        Engine::Floor => format!("{} rows", stdout.trim()),
    };
    (sample, Produced { summary, by_rule })
}

/// The floor: one streaming pass of the csv crate over the export, as benches/idp.rs does.
fn child_floor(csv: &Path) {
    let mut reader = csv::Reader::from_path(csv).expect("open the export");
    let mut record = csv::ByteRecord::new();
    let mut rows: u64 = 0;
    while reader.read_byte_record(&mut record).expect("row") {
        rows += 1;
    }
    println!("{rows}");
}

// ---------------------------------------------------------------- statistics and report

#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    cpu: Option<f64>,
    rss_kib: u64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn stats(samples: &[Sample]) -> Stats {
    let walls: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    let cpus: Vec<f64> = samples.iter().filter_map(|s| s.cpu).collect();
    let rss: Vec<f64> = samples.iter().map(|s| s.rss_kib as f64).collect();
    Stats {
        median: median(walls.clone()),
        min: walls.iter().copied().fold(f64::INFINITY, f64::min),
        max: walls.iter().copied().fold(0.0, f64::max),
        cpu: (!cpus.is_empty()).then(|| median(cpus)),
        rss_kib: median(rss) as u64,
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn stats_json(s: &Stats) -> Value {
    json!({
        "median_s": round(s.median, 4),
        "min_s": round(s.min, 4),
        "max_s": round(s.max, 4),
        "cpu_s": s.cpu.map(|c| round(c, 2)),
        "peak_rss_kib": s.rss_kib,
    })
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

struct Machine {
    cpus: usize,
    model: String,
    mem_gib: f64,
    commit: String,
    date: String,
}

fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_owned(), |(_, m)| m.trim().to_owned());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let mut commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) {
        commit.push_str("+dirty");
    }
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        model,
        mem_gib: mem_kib / 1024.0 / 1024.0,
        commit,
        date: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

struct Measured {
    label: String,
    agents: u64,
    rows: u64,
    audit: Stats,
    duckdb: Option<Stats>,
    floor: Stats,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn bench(env: &Env, m: &Machine, ds: &Dataset, opts: &Opts, results_file: &Path) -> Measured {
    let mut engines = vec![Engine::Audit, Engine::AuditHris, Engine::AuditLeavers];
    if env.duckdb.is_some() {
        engines.push(Engine::Duckdb);
    }
    engines.push(Engine::Floor);
    let load_before = loadavg();
    println!();
    println!(
        "== {}: {} agents, okta_users.csv {}, snapshot {} ({}) ==",
        ds.label,
        ds.agents,
        mb(ds.csv_bytes),
        mb(ds.snapshot_bytes),
        ds.snapshot.display()
    );
    println!(
        "{} timed runs of each after one warm-up run, alternating (order rotated every round); load average {load_before}",
        opts.runs
    );
    let mut produced = Vec::new();
    for &engine in &engines {
        let (sample, p) = run_once(env, ds, engine);
        println!(
            "  warm-up {:<22} {:>8.3} s  {:>7.1} MiB  {}",
            engine.name(),
            sample.wall,
            mib(sample.rss_kib),
            p.summary
        );
        produced.push((engine, p));
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); engines.len()];
    for round in 0..opts.runs {
        let mut line = format!("  round {:>2}:", round + 1);
        for k in 0..engines.len() {
            let i = (round + k) % engines.len();
            let (sample, _) = run_once(env, ds, engines[i]);
            line.push_str(&format!("  {} {:.3} s", engines[i].key(), sample.wall));
            samples[i].push(sample);
        }
        println!("{line}");
    }
    let load_after = loadavg();
    let get = |e: Engine| engines.iter().position(|&x| x == e).map(|i| stats(&samples[i]));
    let audit = get(Engine::Audit).expect("audit ran");
    let with_hris = get(Engine::AuditHris).expect("audit with the HRIS export ran");
    let with_leavers = get(Engine::AuditLeavers).expect("audit with leavers ran");
    let floor = get(Engine::Floor).expect("floor ran");
    let duckdb = get(Engine::Duckdb);
    let rows: u64 = produced
        .iter()
        .find(|(e, _)| *e == Engine::Floor)
        .and_then(|(_, p)| p.summary.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);

    println!();
    println!(
        "  {:<24} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "", "median", "min", "max", "cpu", "peak RSS"
    );
    let row = |name: &str, s: &Stats| {
        let cpu = s.cpu.map_or("-".to_owned(), |c| format!("{c:.2} s"));
        println!(
            "  {name:<24} {:>7.3} s {:>7.3} s {:>7.3} s {cpu:>9} {:>7.1} MiB",
            s.median,
            s.min,
            s.max,
            mib(s.rss_kib)
        );
    };
    row(Engine::Audit.name(), &audit);
    row(Engine::AuditHris.name(), &with_hris);
    row(Engine::AuditLeavers.name(), &with_leavers);
    match &duckdb {
        Some(d) => row(Engine::Duckdb.name(), d),
        None => println!("  {:<24} skipped (pip install duckdb)", Engine::Duckdb.name()),
    }
    row(Engine::Floor.name(), &floor);
    let ratio_duckdb = duckdb.map(|d| audit.median / d.median);
    let ratio_floor = audit.median / floor.median;
    // The leavers against the same audit without them (the same HR export,
    // nobody terminated); and against the audit without any HR export.
    let ratio_leavers = with_leavers.median / with_hris.median;
    let ratio_leavers_audit = with_leavers.median / audit.median;
    println!(
        "  leavers / hris  {ratio_leavers:>6.3}   (target <= 1.10: {}); leavers / audit {ratio_leavers_audit:.3}",
        verdict(ratio_leavers <= 1.10)
    );
    if let Some(r) = ratio_duckdb {
        println!(
            "  audit / duckdb  {r:>6.3}   (target <= 0.35: {})",
            verdict(r <= 0.35)
        );
    }
    println!(
        "  audit / floor   {ratio_floor:>6.3}   (target <= 1.5: {})",
        verdict(ratio_floor <= 1.5)
    );
    let audit_mib = mib(audit.rss_kib);
    print!(
        "  audit peak RSS  {audit_mib:>6.1} MiB (target <= 64 MiB: {})",
        verdict(audit_mib <= 64.0)
    );
    if let Some(d) = &duckdb {
        print!("; duckdb {:.1} MiB", mib(d.rss_kib));
    }
    println!();
    if rows > 0 {
        println!(
            "  per IdP row: audit {:.0} ns, floor {:.0} ns{}",
            audit.median / rows as f64 * 1e9,
            floor.median / rows as f64 * 1e9,
            duckdb.map_or(String::new(), |d| format!(
                ", duckdb {:.0} ns",
                d.median / rows as f64 * 1e9
            ))
        );
    }
    let rules_of = |e: Engine| produced.iter().find(|(x, _)| *x == e).map(|(_, p)| &p.by_rule);
    if let (Some(ours), Some(theirs)) = (rules_of(Engine::Audit), rules_of(Engine::Duckdb)) {
        let pairs: Vec<String> = theirs
            .iter()
            .map(|(rule, n)| format!("{rule} {} vs {n}", ours.get(rule).copied().unwrap_or(0)))
            .collect();
        println!("  same rules, audit vs duckdb: {}", pairs.join(", "));
    }
    println!("  load average before {load_before}, after {load_after}");

    let line = json!({
        "bench": "audit",
        "size": ds.label,
        "agents": ds.agents,
        "idp_users": rows,
        "csv_bytes": ds.csv_bytes,
        "snapshot": if opts.from == SnapshotFrom::Sim { "sim" } else { "wrap" },
        "snapshot_bytes": ds.snapshot_bytes,
        "runs": opts.runs,
        "audit": stats_json(&audit),
        "audit_hris": stats_json(&with_hris),
        "audit_leavers": stats_json(&with_leavers),
        "ratio_leavers_hris": round(ratio_leavers, 3),
        "ratio_leavers_audit": round(ratio_leavers_audit, 3),
        "leavers_findings": produced.iter().find(|(e, _)| *e == Engine::AuditLeavers).map(|(_, p)| p.summary.clone()),
        "duckdb": duckdb.as_ref().map(stats_json),
        "floor": stats_json(&floor),
        "ratio_audit_duckdb": ratio_duckdb.map(|r| round(r, 3)),
        "ratio_audit_floor": round(ratio_floor, 3),
        "findings": produced.iter().find(|(e, _)| *e == Engine::Audit).map(|(_, p)| p.summary.clone()),
        "audit_by_rule": rules_of(Engine::Audit),
        "duckdb_by_rule": rules_of(Engine::Duckdb),
        "duckdb_version": env.duckdb,
        "rss_method": if env.gnu_time { "gnu-time" } else { "proc-vmhwm-poll" },
        "load_before": load_before,
        "load_after": load_after,
        "cpus": m.cpus,
        "cpu_model": m.model,
        "mem_gib": round(m.mem_gib, 1),
        "commit": m.commit,
        "date": m.date,
    });
    let text = serde_json::to_string(&line).expect("json");
    println!("{text}");
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(results_file)
        .expect("results file");
    writeln!(f, "{text}").expect("append results");
    Measured {
        label: ds.label.clone(),
        agents: ds.agents,
        rows,
        audit,
        duckdb,
        floor,
    }
}

fn scaling(results: &[Measured]) {
    if results.len() < 2 {
        return;
    }
    println!();
    println!(
        "scaling (x = growth from one size to the next; input = IdP rows; target: time x and RSS x <= input x)"
    );
    println!(
        "  {:<16} {:>8} {:>8} {:>9} {:>9} {:>10} {:>10} {:>9}",
        "", "agents x", "input x", "audit t x", "audit RSS", "ns/row", "duckdb t x", "floor t x"
    );
    for pair in results.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let input = b.rows as f64 / a.rows.max(1) as f64;
        let t = b.audit.median / a.audit.median;
        let rss = b.audit.rss_kib as f64 / a.audit.rss_kib.max(1) as f64;
        let ns = |r: &Measured| r.audit.median / r.rows.max(1) as f64 * 1e9;
        let duck = match (&a.duckdb, &b.duckdb) {
            (Some(x), Some(y)) => format!("{:.2}", y.median / x.median),
            _ => "-".to_owned(),
        };
        println!(
            "  {:<16} {:>8.2} {:>8.2} {:>9.2} {:>9.2} {:>4.0}->{:<5.0} {:>10} {:>9.2}   time {}, RSS {}",
            format!("{} -> {}", a.label, b.label),
            b.agents as f64 / a.agents.max(1) as f64,
            input,
            t,
            rss,
            ns(a),
            ns(b),
            duck,
            b.floor.median / a.floor.median,
            verdict(t <= input),
            verdict(rss <= input)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--child-floor") {
        child_floor(Path::new(args.get(1).expect("--child-floor CSV")));
        return;
    }
    let opts = match parse_args(&args) {
        Ok(opts) => opts,
        Err(e) => {
            if !e.is_empty() {
                println!("{e}");
            }
            println!("{USAGE}");
            std::process::exit(2);
        }
    };
    let env = find_env(opts.duckdb);
    let m = machine();
    println!(
        "audit bench: {} CPUs ({}), {:.1} GiB; commit {}; {}",
        m.cpus, m.model, m.mem_gib, m.commit, m.date
    );
    println!(
        "  deskaudit {}\n  python {} (duckdb {})\n  data {}\n  peak RSS and CPU via {}",
        env.bin.display(),
        env.python.display(),
        env.duckdb.as_deref().unwrap_or("not installed"),
        env.cache.display(),
        if env.gnu_time {
            "GNU time (/usr/bin/time -f '%M %U %S')"
        } else {
            "/proc/PID/status VmHWM polling"
        }
    );
    let mut datasets = Vec::new();
    if let Some(dir) = &opts.data {
        let label = format!("data:{}", dir.display());
        datasets.push(prepare(&env, dir.clone(), label, opts.from));
    }
    for size in &opts.sizes {
        let dir = generate(&env, size);
        datasets.push(prepare(&env, dir, size.label.clone(), opts.from));
    }
    let results_file = env.cache.join("audit-results.jsonl");
    let results: Vec<Measured> = datasets
        .iter()
        .map(|ds| bench(&env, &m, ds, &opts, &results_file))
        .collect();
    scaling(&results);
    println!();
    println!("JSON lines appended to {}", results_file.display());
}
