//! One CSV data row as the readers see it, whichever parser read it: its
//! cells ([`Row`]), what names its errors ([`RowCx`]), the reader's per-row
//! logic ([`CsvRows`]) and the width check every pass makes.
//!
//! The bottom of the CSV modules: the one-pass parser (`csv_stream`), the
//! block reader (`parallel`) and the table over both (`csv_table`) all use
//! it, and it uses none of them (`layers` checks).

use super::IdpError;
use super::sink::Sink;

pub(crate) const NOT_UTF8: &str = "not valid UTF-8 text (is this a CSV export?)";

/// A reader's per-row logic, called in file order on one thread, or on
/// several threads for blocks of a large file (each with its own sink).
pub(crate) trait CsvRows: Sync {
    fn row(&self, rec: &Row, line: u64, cx: &RowCx, sink: &mut Sink) -> Result<(), IdpError>;
}

/// One data row's cells, borrowed from whichever parser read it: cell `i` is
/// `data[start(i)..ends[i]]`, where a cell starts `sep` bytes after the end
/// of the one before (1 for a raw line split at commas, 0 for unquoted
/// cells laid end to end by the `csv` parsers).
pub(crate) struct Row<'r> {
    data: &'r [u8],
    ends: &'r [usize],
    sep: usize,
}

impl<'r> Row<'r> {
    /// An unquoted line (no `"`, no `\r`), its cells split at every comma into `ends`.
    pub(crate) fn split_line(line: &'r [u8], ends: &'r mut Vec<usize>) -> Row<'r> {
        ends.clear();
        ends.extend(memchr::memchr_iter(b',', line));
        ends.push(line.len());
        Row {
            data: line,
            ends,
            sep: 1,
        }
    }

    /// Cells as a `csv` parser leaves them: unquoted bytes end to end.
    pub(crate) fn parsed(data: &'r [u8], ends: &'r [usize]) -> Row<'r> {
        Row { data, ends, sep: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&'r [u8]> {
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] + self.sep,
        };
        self.data.get(start..end)
    }

    /// Every cell in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'r [u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// What a row needs to read its cells and name its errors.
#[derive(Clone, Copy)]
pub(crate) struct RowCx<'f> {
    pub(crate) file: &'f str,
}

impl RowCx<'_> {
    /// A cell of a byte row as trimmed text; `""` for an absent column.
    pub(crate) fn text<'r>(&self, rec: &Row<'r>, col: Option<usize>, line: u64) -> Result<&'r str, IdpError> {
        let Some(bytes) = col.and_then(|c| rec.get(c)) else {
            return Ok("");
        };
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| self.error(line, NOT_UTF8.into()))
    }

    pub(crate) fn error(&self, line: u64, reason: String) -> IdpError {
        IdpError::Row {
            file: self.file.to_owned(),
            line,
            reason,
        }
    }
}

/// Whether a row has as many fields as the header. A ragged row is an error
/// naming its line, or under `--lenient` skipped and remembered.
pub(crate) fn check_width(
    cx: &RowCx,
    len: usize,
    width: usize,
    line: u64,
    lenient: bool,
    skipped: &mut Vec<(u64, String)>,
) -> Result<bool, IdpError> {
    if len == width {
        return Ok(true);
    }
    let reason = format!("row has {len} fields but the header has {width}");
    if !lenient {
        return Err(cx.error(line, reason));
    }
    skipped.push((line, reason));
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_line_and_parsed_cells_read_alike() {
        let mut ends = Vec::new();
        let split = Row::split_line(b"a,,bc", &mut ends);
        let cells: Vec<&[u8]> = split.iter().collect();
        assert_eq!(cells, [&b"a"[..], b"", b"bc"]);
        let parsed = Row::parsed(b"abc", &[1, 1, 3]);
        assert_eq!(parsed.iter().collect::<Vec<_>>(), cells);
        assert_eq!((parsed.get(3), split.len()), (None, 3));
    }

    #[test]
    fn a_ragged_row_is_an_error_or_under_lenient_skipped() {
        let cx = RowCx { file: "t.csv" };
        let mut skipped = Vec::new();
        assert!(check_width(&cx, 2, 2, 2, false, &mut skipped).expect("wide enough"));
        let err = check_width(&cx, 1, 2, 3, false, &mut skipped).expect_err("ragged");
        assert_eq!(err.to_string(), "t.csv:3: row has 1 fields but the header has 2");
        assert!(!check_width(&cx, 3, 2, 4, true, &mut skipped).expect("lenient"));
        assert_eq!(skipped, [(4, "row has 3 fields but the header has 2".to_owned())]);
    }
}
