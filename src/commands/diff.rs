//! `deskaudit diff OLD NEW`.

use super::Failure;
use crate::cli::DiffArgs;

pub fn run(_args: &DiffArgs) -> Result<u8, Failure> {
    super::not_yet("diff")
}
