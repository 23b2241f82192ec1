//! The commands behind the CLI. This is the only layer that prints to stdout
//! or maps errors to exit codes.

mod audit;
mod audit_snapshots;
mod collect;
mod collect_accounts;
mod completions;
mod demo;
mod diff;
mod evidence;
mod explain;
mod graph;
mod leavers;
mod remediate;
mod review;
mod sim;
pub(crate) mod stdout;
mod watch;
mod watch_accounts;

use std::fmt;

use crate::cli::{Cli, Command, PolicyCommand, RemediateCommand, ReviewCommand};
use crate::rundir::{Existing, Staging};
use stdout::say;

pub use audit::{AuditOutcome, Loaded, audit, load};

/// Any error a command may fail with, its source chain kept.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure with the contract's exit code, and the error that caused it
/// (a plain message, or a typed error with its whole source chain, which
/// `main` prints).
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: Cause,
}

impl Failure {
    pub fn new(code: u8, error: impl Into<Cause>) -> Failure {
        Failure {
            code,
            error: error.into(),
        }
    }

    /// Bad usage or a bad input file.
    pub fn input(error: impl Into<Cause>) -> Failure {
        Failure::new(2, error)
    }

    /// Collection failed or is incomplete.
    pub fn collection(error: impl Into<Cause>) -> Failure {
        Failure::new(3, error)
    }

    /// The output could not be written (permissions, full disk, another
    /// deskaudit writing the same directory): nothing half-written is left.
    pub fn output(error: impl Into<Cause>) -> Failure {
        Failure::new(4, error)
    }

    /// The message and every cause under it that it does not already say,
    /// one per line: what `main` prints.
    pub fn report(&self) -> String {
        let mut text = self.error.to_string();
        let mut source = self.error.source();
        while let Some(cause) = source {
            let line = cause.to_string();
            // Most of our messages already quote their immediate cause.
            if !text.contains(&line) {
                text.push_str("\n  caused by: ");
                text.push_str(&line);
            }
            source = cause.source();
        }
        text
    }
}

/// `what: cause`, with the cause kept as the error's source.
#[derive(Debug)]
pub struct Context {
    what: String,
    source: Cause,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// `error` said to have happened at or to `what` (a file, a flag, a step).
pub fn context(what: impl fmt::Display, error: impl Into<Cause>) -> Context {
    Context {
        what: what.to_string(),
        source: error.into(),
    }
}

impl From<crate::rundir::OutputError> for Failure {
    fn from(e: crate::rundir::OutputError) -> Failure {
        match e {
            crate::rundir::OutputError::Refused { .. } => Failure::input(e),
            _ => Failure::output(e),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// Runs one command; `Ok` carries the exit code (0, or 1 for `--fail-on`).
pub fn dispatch(cli: Cli) -> Result<u8, Failure> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Collect(args) => collect::run(&args, quiet).map(|_| 0),
        Command::Audit(args) => {
            let out = Staging::begin(&args.out, existing(args.replace))?;
            let outcome = audit(&args.snapshot, &args.inputs, &out)?;
            if args.ocsf {
                audit::write_ocsf(out.path(), &outcome.data)?;
            }
            out.commit()?;
            outcome.print_summary()?;
            Ok(outcome.exit())
        }
        Command::Run(args) => {
            let out = Staging::begin(&args.out, existing(args.replace))?;
            audit::check_inputs(&args.inputs)?;
            let snapshots = match &args.accounts {
                // Every account's snapshot or none: a failing account is
                // exit 3 here, and the staged run goes with `out`.
                Some(file) => {
                    let pacing = collect_accounts::Pacing::of(&args.source);
                    let dir = out.path().join("snapshots");
                    let previous = args.source.previous.as_deref();
                    collect_accounts::run_after(file, pacing, previous, &dir, quiet)?
                        .into_iter()
                        .map(|c| c.path)
                        .collect()
                }
                None => {
                    let snapshot = out.path().join("snapshot.json");
                    collect::collect_to(&args.source, &snapshot, &out.final_path(&snapshot), quiet)?;
                    vec![snapshot]
                }
            };
            let outcome = audit(&snapshots, &args.inputs, &out)?;
            if args.ocsf {
                audit::write_ocsf(out.path(), &outcome.data)?;
            }
            out.commit()?;
            outcome.print_summary()?;
            Ok(outcome.exit())
        }
        Command::Watch(args) => watch::run(&args, quiet),
        Command::Sim(args) => sim::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Evidence(args) => evidence::run(&args),
        Command::Verify(args) => evidence::verify(&args),
        Command::Review(ReviewCommand::Export(args)) => review::export(&args),
        Command::Review(ReviewCommand::Import(args)) => review::import(&args),
        Command::Remediate(RemediateCommand::Plan(args)) => remediate::plan(&args),
        Command::Remediate(RemediateCommand::Apply(args)) => remediate::apply(&args),
        Command::Policy(PolicyCommand::Init { out }) => policy_init(&out),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man { out } => completions::man(out.as_deref()),
    }
}

fn existing(replace: bool) -> Existing {
    if replace {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}

fn policy_init(out: &std::path::Path) -> Result<u8, Failure> {
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(out);
    let mut file =
        file.map_err(|e| Failure::input(format!("{}: {e} (it will not be overwritten)", out.display())))?;
    std::io::Write::write_all(&mut file, crate::policy::DEFAULT_POLICY.as_bytes())
        .map_err(|e| Failure::input(context(out.display(), e)))?;
    say!("wrote {}", out.display())?;
    Ok(0)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::collection(context("cannot start the async runtime", e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_keeps_the_chain_and_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        let failure = Failure::output(context("reports/q4/report.html", io));
        assert_eq!(failure.code, 4);
        assert_eq!(
            failure.report(),
            "reports/q4/report.html: No space left on device"
        );
        let source = failure
            .error
            .source()
            .expect("the io error is kept as the source");
        assert_eq!(source.to_string(), "No space left on device");

        // A cause the message does not quote is printed under it.
        let inner = context("step", std::io::Error::other("deep cause"));
        let outer = Failure::collection(Context {
            what: "collection failed".into(),
            source: Box::new(Quiet(inner)),
        });
        assert_eq!(
            outer.report(),
            "collection failed: quiet\n  caused by: step: deep cause"
        );
    }

    /// An error whose message says nothing of its source.
    #[derive(Debug)]
    struct Quiet(Context);

    impl fmt::Display for Quiet {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("quiet")
        }
    }

    impl std::error::Error for Quiet {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
