//! `deskaudit diff OLD NEW`: two finished audit directories compared.

use std::io::Write;

use super::stdout::stdout;
use super::{Failure, context};
use crate::cli::DiffArgs;
use crate::diff::{Diff, Side};

pub fn run(args: &DiffArgs) -> Result<u8, Failure> {
    let old = Side::from_run_dir(&args.old_dir).map_err(|e| Failure::input(context("OLD", e)))?;
    let new = Side::from_run_dir(&args.new_dir).map_err(|e| Failure::input(context("NEW", e)))?;
    let diff = Diff::compute(&old, &new);
    let mut out = std::io::BufWriter::new(stdout());
    let written = if args.json {
        diff.write_json(&mut out)
    } else {
        crate::diff::write_text(&diff, &mut out)
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Failure::output(context("stdout", e)))?;
    Ok(0)
}
