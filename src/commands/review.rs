//! `deskaudit review export` and `deskaudit review import`.

use super::Failure;
use crate::cli::{ReviewExportArgs, ReviewImportArgs};

pub fn export(_args: &ReviewExportArgs) -> Result<u8, Failure> {
    super::not_yet("review export")
}

pub fn import(_args: &ReviewImportArgs) -> Result<u8, Failure> {
    super::not_yet("review import")
}
