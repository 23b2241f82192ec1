//! `deskaudit demo`: the whole review on the embedded fixture organisation,
//! served by the simulator over real loopback HTTP.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::collect::write_result;
use super::context;
use super::stdout::say;
use super::{Failure, audit, runtime};
use crate::cli::{AuditInputArgs, DemoArgs};
use crate::collect::{ApiKey, CollectOptions, Target, collect};
use crate::rundir::{Existing, Staging};
use crate::sim::{self, Fixture, SimConfig};

/// The fixture account, built into the binary so the demo runs anywhere.
const ACCOUNT: &[(&str, &str)] = &[
    ("agents.json", include_str!("../../fixtures/acme/agents.json")),
    ("roles.json", include_str!("../../fixtures/acme/roles.json")),
    ("groups.json", include_str!("../../fixtures/acme/groups.json")),
    ("account.json", include_str!("../../fixtures/acme/account.json")),
    ("contacts.json", include_str!("../../fixtures/acme/contacts.json")),
];
const DEMO_SPEC: &str = include_str!("../../fixtures/acme/demo.json");
const IDP_EXPORTS: &[(&str, &str)] = &[
    (
        "idp/okta-password-health.csv",
        include_str!("../../fixtures/acme/idp/okta-password-health.csv"),
    ),
    (
        "idp/entra-users.csv",
        include_str!("../../fixtures/acme/idp/entra-users.csv"),
    ),
    (
        "idp/hris-workers.csv",
        include_str!("../../fixtures/acme/idp/hris-workers.csv"),
    ),
    (
        "idp/okta-current-assignments.csv",
        include_str!("../../fixtures/acme/idp/okta-current-assignments.csv"),
    ),
    ("policy.toml", include_str!("../../fixtures/acme/policy.toml")),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSpec {
    as_of: jiff::Timestamp,
    idp: Vec<String>,
    policy: String,
    assignments: String,
}

pub fn run(args: &DemoArgs) -> Result<u8, Failure> {
    let spec: DemoSpec =
        serde_json::from_str(DEMO_SPEC).map_err(|e| Failure::input(context("embedded demo.json", e)))?;
    let staging = tempfile::tempdir().map_err(|e| Failure::input(context("temporary directory", e)))?;
    write_files(staging.path(), ACCOUNT)?;
    let fixture = Fixture::load(staging.path()).map_err(Failure::input)?;

    // Paths are recorded in run.json as given: relative ones keep the
    // committed reports/demo free of this machine's directories.
    let out = relative_to_cwd(&args.out);
    // The demo's run directory is replaced as a whole on every run (and is
    // refused if it holds something other than a run).
    let staging = Staging::begin(&out, Existing::Replace)?;
    // The audited exports are copied beside the reports, so the run directory is its own evidence.
    let inputs_dir = staging.path().join("inputs");
    write_files(&inputs_dir, IDP_EXPORTS)?;
    let beside =
        |rel: &str| inputs_dir.join(Path::new(rel).file_name().map(PathBuf::from).unwrap_or_default());
    let idp = spec
        .idp
        .iter()
        .map(|s| {
            let (kind, rel) = s.split_once(':').unwrap_or(("", s));
            let file = Path::new(rel).file_name().map(PathBuf::from).unwrap_or_default();
            let path = inputs_dir.join(file);
            let spec = if kind.is_empty() {
                path.display().to_string()
            } else {
                format!("{kind}:{}", path.display())
            };
            spec.parse().map_err(Failure::input)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let config = SimConfig::default();
    let snapshot_path = staging.path().join("snapshot.json");
    let rt = runtime()?;
    let result = rt.block_on(async {
        let server = sim::start(fixture, config.clone(), ([127, 0, 0, 1], 0).into())
            .await
            .map_err(Failure::collection)?;
        let base = server.base_url();
        eprintln!("simulator serving the acme fixture at {base}");
        let target = Target::new("acme", Some(&base)).map_err(Failure::input)?;
        let key = ApiKey::new(&config.api_key).ok_or_else(|| Failure::input("empty simulator key"))?;
        let opts = CollectOptions {
            target,
            key,
            previous_ids: Vec::new(),
            max_in_flight: 8,
            reserve_pct: 20,
            rate_window: config.window,
            progress: false,
        };
        let collected = collect(opts).await;
        server.shutdown().await;
        Ok::<_, Failure>(collected)
    })?;
    write_result(result, &snapshot_path)?;

    let inputs = AuditInputArgs {
        idp,
        assignments: Some(beside(&spec.assignments).display().to_string()),
        policy: Some(beside(&spec.policy)),
        as_of: Some(spec.as_of),
        fail_on: None,
        lenient: false,
        csv_bom: false,
        previous_run: None,
        accept_edited_snapshot: false,
    };
    let outcome = audit(&snapshot_path, &inputs, &staging)?;
    // The run's own evidence bundle, made before the run is put in place.
    let bundle = staging.path().join("evidence.zip");
    let packed = super::evidence::bundle(staging.path(), &bundle, true)?;
    let bundle = staging.final_path(&bundle);
    staging.commit()?;
    outcome.print_summary()?;
    say!("Evidence: {} (SHA-256 {})", bundle.display(), packed.sha256)?;
    Ok(0)
}

/// `path` relative to the working directory when it lies inside it.
fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
}

fn write_files(dir: &Path, files: &[(&str, &str)]) -> Result<(), Failure> {
    for (name, text) in files {
        let file = Path::new(name)
            .file_name()
            .map_or_else(|| dir.join(name), |f| dir.join(f));
        std::fs::create_dir_all(dir).map_err(|e| Failure::input(context(dir.display(), e)))?;
        std::fs::write(&file, text).map_err(|e| Failure::input(context(file.display(), e)))?;
    }
    Ok(())
}
