use std::process::ExitCode;

use clap::Parser;
use deskaudit::cli::Cli;
use deskaudit::commands::dispatch;

/// The audit builds and drops millions of small strings and JSON nodes;
/// mimalloc frees them far cheaper than glibc's allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc.h (v2), `mi_option_e`: the options are an enum the -sys crate does
// not name. `tests::option_indices_are_mimallocs` pins them to their defaults.
const PURGE_DECOMMITS: libmimalloc_sys::mi_option_t = 5;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Gives freed pages back to the system as soon as they are free. The audit
/// frees in one thread what it allocated in another, phase after phase, and
/// mimalloc's default (keep them 10 ms, and only reset them) held pages that
/// no later phase could reuse: peak RSS at the benchmark's reference size
/// fell from ~80 to ~62 MiB, at the same CPU time (docs/performance.md).
#[allow(unsafe_code)]
fn purge_freed_memory_promptly() {
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table;
    // it is called before any other thread exists, and both values are in
    // the documented range (0 = purge at once; 1 = decommit on purge).
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(PURGE_DECOMMITS, 1);
    }
}

fn main() -> ExitCode {
    purge_freed_memory_promptly();
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

#[cfg(test)]
mod tests {
    /// If a mimalloc upgrade renumbers its options, these indices would set
    /// some other option: the defaults the header documents tell them apart.
    #[test]
    #[allow(unsafe_code)]
    fn option_indices_are_mimallocs() {
        if std::env::vars().any(|(k, _)| k.starts_with("MIMALLOC_")) {
            return; // a user's setting would change the defaults read here
        }
        // SAFETY: reading an option's value has no precondition.
        let (delay, decommits) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::PURGE_DELAY),
                libmimalloc_sys::mi_option_get(super::PURGE_DECOMMITS),
            )
        };
        assert_eq!(delay, 10, "mi_option_purge_delay defaults to 10 ms");
        assert_eq!(decommits, 1, "mi_option_purge_decommits defaults to 1");
    }
}
