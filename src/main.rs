use std::process::ExitCode;

use clap::Parser;
use deskaudit::cli::Cli;
use deskaudit::commands::dispatch;

fn main() -> ExitCode {
    let cli = Cli::parse();
    deskaudit::logging::init(cli.verbose, cli.quiet);
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.code)
        }
    }
}
