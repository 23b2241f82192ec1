//! Renderers. Each takes the same [`ReportData`] view and an `io::Write`;
//! none decides anything.

mod chunks;
mod csv;
mod html;
mod json;
mod terminations;
mod view;

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::graph::IdentityGraph;

pub use view::{
    AccountInput, AmbiguousMatch, FindingRow, InputFile, Population, ReportData, RunInfo, Summary,
    SuppressedRow, UnclassifiedRole,
};

pub use self::csv::{UTF8_BOM, write_findings_csv};
pub use self::html::write_html;
pub use self::json::{write_findings_json, write_run_json};
pub use self::terminations::{TERMINATIONS_CSV, write_terminations_csv};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// How the files are written (not what they say).
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOptions {
    /// Start findings.csv with a UTF-8 BOM, for Excel.
    pub csv_bom: bool,
}

/// Writes findings.csv, findings.json, report.html, run.json and
/// terminations.csv into `dir`.
/// `graph` is the one `data` was built from (the HTML's agent panels read it).
pub fn write_all(
    dir: &Path,
    data: &ReportData,
    graph: &IdentityGraph,
    options: WriteOptions,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        file: dir.display().to_string(),
        source,
    })?;
    type Writer = fn(&ReportData, &IdentityGraph, &mut dyn Write) -> std::io::Result<()>;
    let outputs: [(&str, Writer); 5] = [
        ("findings.csv", |d, _, w| write_findings_csv(d, w)),
        ("findings.json", |d, _, w| write_findings_json(d, w)),
        ("run.json", |d, _, w| write_run_json(d, w)),
        ("report.html", write_html),
        (TERMINATIONS_CSV, |d, _, w| write_terminations_csv(d, w)),
    ];
    let clock = std::time::Instant::now();
    // Each file finished goes to a thread that syncs it to disk while the
    // others still render: the run directory's commit syncs every file, and
    // finds these already clean instead of waiting for them one by one.
    let (finished, to_sync) = std::sync::mpsc::channel::<(std::fs::File, PathBuf)>();
    std::thread::scope(|scope| {
        let syncer = scope.spawn(move || {
            for (file, path) in to_sync {
                file.sync_all().map_err(|source| ReportError::Io {
                    file: path.display().to_string(),
                    source,
                })?;
            }
            Ok(())
        });
        // The files at once: the HTML renders on every core, and the others
        // fill the gaps its serial parts leave. Reported in the order above.
        let written: Vec<Result<PathBuf, ReportError>> = outputs
            .par_iter()
            .map_with(finished, |finished, &(name, write)| {
                let path = dir.join(name);
                let file = path.display().to_string();
                let io = |source| ReportError::Io {
                    file: file.clone(),
                    source,
                };
                let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
                if name == "findings.csv" && options.csv_bom {
                    out.write_all(UTF8_BOM).map_err(io)?;
                }
                write(data, graph, &mut out).map_err(io)?;
                let done = out.into_inner().map_err(|e| io(e.into_error()))?;
                crate::logging::phase(clock, &format!("{name} written"));
                // The syncer gone means it failed: its error is reported below.
                let _ = finished.send((done, path.clone()));
                Ok(path)
            })
            .collect();
        let synced = syncer.join().unwrap_or_else(|_| {
            Err(ReportError::Io {
                file: dir.display().to_string(),
                source: std::io::Error::other("the thread syncing the reports panicked"),
            })
        });
        let written: Vec<PathBuf> = written.into_iter().collect::<Result<_, _>>()?;
        synced.map(|()| written)
    })
}
