//! tracing to stderr: warnings by default, `-v` info, `-vv` debug, `-q` errors only.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_env("DESKAUDIT_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("deskaudit={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Wall time so far, at `-vv`: where a large audit spends its time.
pub fn phase(clock: std::time::Instant, what: &str) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    tracing::debug!("{what} after {} ms{}", clock.elapsed().as_millis(), memory());
}

/// Resident and peak memory (Linux), to see which phase holds what.
pub fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| {
            v.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
                / 1024
        })
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(peak)) => format!(" (resident {rss} MiB, peak {peak} MiB)"),
        _ => String::new(),
    }
}
