//! `deskaudit graph`: the whole identity graph as JSON, DOT or GraphML.

use std::io::{self, BufWriter, Write};

use super::context;
use super::stdout::stdout;
use super::{Failure, Loaded, load};
use crate::cli::GraphArgs;
use crate::graph::export::{self, Format};

pub fn run(args: &GraphArgs) -> Result<u8, Failure> {
    // Checked before any file is read, so a typo costs nothing.
    let format: Format = args.format.parse().map_err(Failure::input)?;
    let Loaded { graph, policy, .. } = load(&args.snapshot, &args.inputs)?;
    let doc = export::document(&graph, &policy);
    match &args.out {
        Some(path) => {
            // Temp file beside the target, then rename: no half-written graph is left behind.
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            let failed = |e: io::Error| Failure::input(context(path.display(), e));
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
            {
                let mut w = BufWriter::new(tmp.as_file_mut());
                export::write(&doc, format, &mut w).map_err(failed)?;
                w.flush().map_err(failed)?;
            }
            tmp.persist(path).map_err(|e| failed(e.error))?;
        }
        None => {
            let mut w = BufWriter::new(stdout());
            export::write(&doc, format, &mut w)
                .and_then(|()| w.flush())
                .map_err(|e| Failure::output(context("stdout", e)))?;
        }
    }
    Ok(0)
}
