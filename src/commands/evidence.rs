//! `deskaudit evidence` and `deskaudit verify`.

use super::Failure;
use crate::cli::{EvidenceArgs, VerifyArgs};

pub fn run(_args: &EvidenceArgs) -> Result<u8, Failure> {
    super::not_yet("evidence")
}

pub fn verify(_args: &VerifyArgs) -> Result<u8, Failure> {
    super::not_yet("verify")
}
