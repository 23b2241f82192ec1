//! The model's one error type: every part of the model (agent, directory,
//! snapshot, integrity) reports through it, so it sits below all of them.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{file}:{line}:{column}: {reason}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{kind} {id}: field `{field}`: {reason}")]
    Field {
        kind: &'static str,
        id: String,
        field: String,
        reason: String,
    },
    #[error(
        "{file}: the data does not match the snapshot's recorded hash (meta.data_sha256 {recorded}, data {computed}): it was changed after collection. Collect again, or pass --accept-edited-snapshot to audit it anyway (every output is then marked as made from an edited snapshot)"
    )]
    Edited {
        file: String,
        recorded: String,
        computed: String,
    },
    #[error(
        "{kind} {id} appears more than once (entries {first} and {second}): a snapshot holds one entry per id; was it merged or edited by hand?"
    )]
    Duplicate {
        kind: &'static str,
        id: u64,
        first: usize,
        second: usize,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    pub(crate) fn field(kind: &'static str, id: &str, field: &str, reason: &str) -> ModelError {
        ModelError::Field {
            kind,
            id: id.to_owned(),
            field: field.to_owned(),
            reason: reason.to_owned(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            file: path.display().to_string(),
            source,
        }
    }
}
