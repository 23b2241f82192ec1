//! A CSV export with its header mapped by name (trimmed, case-insensitive),
//! never by position, because every IdP reorders and renames columns.

use csv::{ReaderBuilder, StringRecord};

use super::IdpError;

pub(crate) struct Table<'a> {
    file: &'a str,
    data: &'a [u8],
    /// Lines before the header (a `sep=` line), to keep line numbers true.
    skipped_lines: u64,
    headers: Vec<String>,
}

impl<'a> Table<'a> {
    pub(crate) fn new(file: &'a str, bytes: &'a [u8]) -> Result<Table<'a>, IdpError> {
        let mut data = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut skipped_lines = 0;
        if data.len() >= 4 && data[..4].eq_ignore_ascii_case(b"sep=") {
            let end = data
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |p| p + 1);
            data = &data[end..];
            skipped_lines = 1;
        }
        let mut reader = ReaderBuilder::new().has_headers(true).from_reader(data);
        let headers = reader
            .headers()
            .map_err(|e| csv_error(file, skipped_lines, &e))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        Ok(Table {
            file,
            data,
            skipped_lines,
            headers,
        })
    }

    /// Index of the first column whose name is one of `names`.
    pub(crate) fn column(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|name| self.headers.iter().position(|h| h.eq_ignore_ascii_case(name)))
    }

    pub(crate) fn has_all(&self, names: &[&str]) -> bool {
        names.iter().all(|n| self.column(&[n]).is_some())
    }

    pub(crate) fn require(&self, names: &[&str]) -> Result<usize, IdpError> {
        self.column(names).ok_or_else(|| IdpError::Row {
            file: self.file.to_owned(),
            line: 1 + self.skipped_lines,
            reason: format!("missing column `{}`", names[0]),
        })
    }

    /// Data rows with their 1-based line numbers; a ragged or unreadable row is an error.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Result<(u64, StringRecord), IdpError>> + '_ {
        let reader = ReaderBuilder::new().has_headers(true).from_reader(self.data);
        reader.into_records().map(move |rec| {
            let rec = rec.map_err(|e| csv_error(self.file, self.skipped_lines, &e))?;
            let line = rec.position().map_or(0, |p| p.line()) + self.skipped_lines;
            Ok((line, rec))
        })
    }

    pub(crate) fn row_error(&self, line: u64, reason: String) -> IdpError {
        IdpError::Row {
            file: self.file.to_owned(),
            line,
            reason,
        }
    }
}

/// A cell by optional column index: absent column or blank cell is `""`.
pub(crate) fn cell(rec: &StringRecord, col: Option<usize>) -> &str {
    col.and_then(|c| rec.get(c)).map_or("", str::trim)
}

fn csv_error(file: &str, skipped: u64, e: &csv::Error) -> IdpError {
    let line = e.position().map_or(1, |p| p.line()) + skipped;
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".to_owned(),
        _ => e.to_string(),
    };
    IdpError::Row {
        file: file.to_owned(),
        line,
        reason,
    }
}
