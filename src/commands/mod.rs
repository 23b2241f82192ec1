//! The commands behind the CLI. This is the only layer that prints to stdout
//! or maps errors to exit codes.

mod audit;
mod collect;
mod completions;
mod demo;
mod diff;
mod evidence;
mod explain;
mod graph;
mod review;
mod sim;
pub(crate) mod stdout;

use std::fmt;

use crate::cli::{Cli, Command, PolicyCommand, ReviewCommand};
use crate::rundir::{Existing, Staging};
use stdout::say;

pub use audit::{AuditOutcome, Loaded, audit, load};

/// A failure with the contract's exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad usage or a bad input file.
    pub fn input(message: impl fmt::Display) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }

    /// Collection failed or is incomplete.
    pub fn collection(message: impl fmt::Display) -> Failure {
        Failure {
            code: 3,
            message: message.to_string(),
        }
    }
}

impl Failure {
    /// The output could not be written (permissions, full disk, another
    /// deskaudit writing the same directory): nothing half-written is left.
    pub fn output(message: impl fmt::Display) -> Failure {
        Failure {
            code: 4,
            message: message.to_string(),
        }
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
        f.write_str(&self.message)
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
            out.commit()?;
            outcome.print_summary()?;
            Ok(outcome.exit_code())
        }
        Command::Run(args) => {
            let out = Staging::begin(&args.out, existing(args.replace))?;
            audit::check_inputs(&args.inputs)?;
            let snapshot = out.path().join("snapshot.json");
            collect::collect_to(&args.source, &snapshot, quiet)?;
            let outcome = audit(&snapshot, &args.inputs, &out)?;
            out.commit()?;
            outcome.print_summary()?;
            Ok(outcome.exit_code())
        }
        Command::Sim(args) => sim::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Evidence(args) => evidence::run(&args),
        Command::Verify(args) => evidence::verify(&args),
        Command::Review(ReviewCommand::Export(args)) => review::export(&args),
        Command::Review(ReviewCommand::Import(args)) => review::import(&args),
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
        .map_err(|e| Failure::input(format!("{}: {e}", out.display())))?;
    say!("wrote {}", out.display())?;
    Ok(0)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::collection(format!("cannot start the async runtime: {e}")))
}
