//! `deskaudit completions SHELL` and `deskaudit man`: generated from the
//! clap definitions, so they never drift from the flags.

use std::path::Path;

use clap::CommandFactory;

use std::io::Write;

use super::stdout::{say, stdout};
use super::{Failure, context};
use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut cmd = Cli::command();
    // Into a buffer first: the generator panics on a write error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "deskaudit", &mut script);
    stdout()
        .write_all(&script)
        .map_err(|e| Failure::output(context("stdout", e)))?;
    Ok(0)
}

/// The top-level page on stdout, or every command's page into `out`.
pub fn man(out: Option<&Path>) -> Result<u8, Failure> {
    let cmd = Cli::command();
    match out {
        None => clap_mangen::Man::new(cmd)
            .render(&mut stdout())
            .map_err(|e| Failure::output(context("stdout", e)))?,
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Failure::output(context(dir.display(), e)))?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| Failure::output(context(dir.display(), e)))?;
            say!("wrote the man pages into {}", dir.display())?;
        }
    }
    Ok(0)
}
