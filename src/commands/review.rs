//! `deskaudit review export` and `deskaudit review import`: thin wrappers over
//! `crate::review`; every failure there is bad input (exit 2), but for a
//! run directory another deskaudit is writing (exit 4).

use super::Failure;
use super::stdout::say;
use crate::cli::{ReviewExportArgs, ReviewImportArgs};
use crate::review;

pub fn export(args: &ReviewExportArgs) -> Result<u8, Failure> {
    let done = review::export(&args.run, &args.out).map_err(Failure::input)?;
    say!(
        "wrote {}: {} agents in scope, {} with findings, {} suggested for revoke",
        done.path.display(),
        done.rows,
        done.with_findings,
        done.suggested_revoke
    )?;
    Ok(0)
}

pub fn import(args: &ReviewImportArgs) -> Result<u8, Failure> {
    // The run directory is written: not while an audit replaces it.
    let _lock = crate::rundir::DirLock::acquire(&args.run)?;
    let done = review::import(&args.run, &args.workbook, jiff::Timestamp::now()).map_err(Failure::input)?;
    let missing = match done.missing {
        0 => String::new(),
        n => format!(", {n} agents in scope have no row"),
    };
    let replaced = if done.replaced {
        " (replaced the previous decisions)"
    } else {
        ""
    };
    say!(
        "recorded {} decisions (keep {}, revoke {}, modify {}), undecided {}{missing} in {}{replaced}",
        done.keep + done.revoke + done.modify,
        done.keep,
        done.revoke,
        done.modify,
        done.undecided,
        done.path.display()
    )?;
    Ok(0)
}
