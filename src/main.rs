use std::process::ExitCode;

use clap::Parser;
use deskaudit::cli::Cli;
use deskaudit::commands::dispatch;

/// The audit builds and drops millions of small strings and JSON nodes;
/// mimalloc frees them far cheaper than glibc's allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    deskaudit::logging::init(cli.verbose, cli.quiet);
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {}", failure.report());
            ExitCode::from(failure.code)
        }
    }
}
