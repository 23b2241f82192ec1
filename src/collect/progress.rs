//! A one-line progress display on stderr, only when stderr is a terminal:
//! requests made, agents found, and the rate budget left.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    agents: AtomicU64,
}

impl Progress {
    /// Shown on a terminal unless `quiet`; otherwise every call is a no-op.
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {prefix} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            agents: AtomicU64::new(0),
        }
    }

    pub fn agents_found(&self, n: u64) {
        self.agents.store(n, Ordering::Relaxed);
    }

    pub fn phase(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(what.to_owned());
        }
    }

    pub(crate) fn requests(&self, requests: u64, total: Option<u64>, remaining: Option<u64>) {
        if let Some(bar) = &self.bar {
            let budget = match (remaining, total) {
                (Some(r), Some(t)) => format!("rate budget {r}/{t} left"),
                _ => "rate budget unknown".to_owned(),
            };
            bar.set_message(format!(
                "{requests} requests · {} agents found · {budget}",
                self.agents.load(Ordering::Relaxed)
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
