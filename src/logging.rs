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
        (Some(rss), Some(peak)) => format!(
            " (resident {rss} MiB, peak {peak} MiB, file {} MiB{})",
            field("RssFile:").unwrap_or(0),
            cpu()
        ),
        _ => String::new(),
    }
}

/// The process's CPU time so far (user + system, every thread), to see
/// which phase keeps both cores busy and which one.
fn cpu() -> String {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return String::new();
    };
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th of the line, in clock ticks (100 a second on Linux).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return String::new();
    };
    let mut fields = rest.split_whitespace().skip(11);
    match (fields.next(), fields.next()) {
        (Some(user), Some(system)) => {
            let ticks = user.parse::<u64>().unwrap_or(0) + system.parse::<u64>().unwrap_or(0);
            format!(", CPU {} ms", ticks * 10)
        }
        _ => String::new(),
    }
}
