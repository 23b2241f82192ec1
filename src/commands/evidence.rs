//! `deskaudit evidence` and `deskaudit verify`.

use std::path::Path;

use super::Failure;
use super::stdout::say;
use crate::cli::{EvidenceArgs, VerifyArgs};
use crate::evidence::{self, PackOptions, Packed};

pub fn run(args: &EvidenceArgs) -> Result<u8, Failure> {
    let packed = bundle(&args.run, &args.out, !args.no_inputs)?;
    // `sha256sum` format, so `deskaudit evidence ... > bundle.sha256` can be checked with `sha256sum -c`.
    say!("{}  {}", packed.sha256, packed.path.display())?;
    Ok(0)
}

/// Packs `run` into a new bundle at `out` (also used by the demo).
pub(crate) fn bundle(run: &Path, out: &Path, include_inputs: bool) -> Result<Packed, Failure> {
    let packed = evidence::pack(run, out, PackOptions { include_inputs }).map_err(Failure::input)?;
    for warning in &packed.warnings {
        eprintln!("warning: {warning}");
    }
    eprintln!(
        "wrote {} ({} entries, {} bytes): record its SHA-256 in the review ticket",
        packed.path.display(),
        packed.entries,
        packed.bytes
    );
    Ok(packed)
}

pub fn verify(args: &VerifyArgs) -> Result<u8, Failure> {
    if let Some(hex) = &args.expect_sha256
        && (hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Failure::input(format!(
            "--expect-sha256 `{}` is not a SHA-256 (64 hex digits)",
            hex.escape_debug()
        )));
    }
    let report =
        evidence::verify_file(&args.bundle, args.expect_sha256.as_deref()).map_err(Failure::input)?;
    if report.ok() {
        say!("OK: {} files verified", report.files_verified)?;
        say!("bundle SHA-256: {}", report.bundle_sha256)?;
        return Ok(0);
    }
    let mut message = format!(
        "{}: verification FAILED ({} problem{}):",
        args.bundle.display(),
        report.problems.len(),
        if report.problems.len() == 1 { "" } else { "s" }
    );
    for problem in &report.problems {
        message.push_str("\n  - ");
        message.push_str(problem);
    }
    Err(Failure::new(1, message))
}
