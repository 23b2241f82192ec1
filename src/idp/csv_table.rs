//! A CSV export read as a stream, its header mapped by name (trimmed,
//! case-insensitive), never by position, because every IdP reorders and
//! renames columns. One reused record per row: no allocation per row here.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::IdpError;
use super::csv_stream::Records;
use super::sink::Sink;
use super::source::Opened;

const NOT_UTF8: &str = "not valid UTF-8 text (is this a CSV export?)";

/// Files at least this large are parsed in several blocks, in parallel.
const PARALLEL_MIN_BYTES: u64 = 8 << 20;

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

/// Whether a (trimmed) header is the column a reader names.
pub(crate) type Matches = fn(&str, &str) -> bool;

/// Headers match names ignoring case.
fn same_name(header: &str, name: &str) -> bool {
    header.eq_ignore_ascii_case(name)
}

pub(crate) struct Table {
    file: String,
    /// Line of the header row (after a `sep=` line, or blank lines).
    header_line: u64,
    headers: Vec<String>,
    /// The rows after the header, for one pass.
    records: Records,
    lenient: bool,
    /// Ragged rows passed over under `--lenient`: (line, reason).
    pub(crate) skipped: Vec<(u64, String)>,
    /// The plain file behind the table, and the byte where its data rows start.
    path: Option<PathBuf>,
    data_start: u64,
    /// Block size for the block reader (a plain file), else one pass of [`Records`].
    block: Option<usize>,
    /// The rows were read by the block reader (not in one pass).
    pub(crate) read_in_blocks: bool,
    /// Where the block reader leaves the SHA-256 of the whole file.
    hashed: Option<Arc<OnceLock<String>>>,
}

impl Table {
    pub(crate) fn new(opened: Opened, lenient: bool) -> Result<Table, IdpError> {
        let Opened {
            file,
            reader,
            skipped_lines,
            path,
            prefix_len,
            hashed,
            ..
        } = opened;
        let mut records = Records::new(reader, 1 + skipped_lines);
        let (header_line, headers) = match records.next(&file)? {
            Some((line, header)) => {
                let text = |h| std::str::from_utf8(h).map(|h| h.trim().to_owned());
                let headers = header.iter().map(text).collect::<Result<Vec<_>, _>>();
                let cx = RowCx { file: &file };
                (line, headers.map_err(|_| cx.error(line, NOT_UTF8.into()))?)
            }
            None => (1 + skipped_lines, Vec::new()),
        };
        if headers.iter().all(String::is_empty) {
            return Err(IdpError::Row {
                file,
                line: header_line,
                reason: "the file is empty: no header row".into(),
            });
        }
        let data_start = prefix_len + records.consumed();
        // A plain file is read by the block reader: a large one in blocks on
        // every core, a small one as a single block (the same row scanner
        // and line numbers either way).
        let block = path.as_ref().and_then(|p| std::fs::metadata(p).ok()).map(|m| {
            match m.len() >= PARALLEL_MIN_BYTES {
                true => super::parallel::BLOCK,
                false => usize::try_from(m.len()).unwrap_or(usize::MAX).max(1),
            }
        });
        Ok(Table {
            file,
            header_line,
            headers,
            records,
            lenient,
            skipped: Vec::new(),
            path,
            data_start,
            block,
            read_in_blocks: false,
            hashed,
        })
    }

    pub(crate) fn cx(&self) -> RowCx<'_> {
        RowCx { file: &self.file }
    }

    /// Every data row through `rows`, by the block reader for a plain file,
    /// else in one pass. Either way the sink ends up as one pass would leave it.
    pub(crate) fn rows<R: CsvRows>(&mut self, rows: &R, sink: &mut Sink) -> Result<(), IdpError> {
        if let (Some(block), Some(path)) = (self.block.take(), self.path.clone()) {
            let block = super::parallel::Block {
                file: &self.file,
                path: &path,
                data_start: self.data_start,
                width: self.headers.len(),
                lenient: self.lenient,
                block,
                hashed: self.hashed.as_deref(),
            };
            match block.read(rows, sink)? {
                Some(skipped) => {
                    self.skipped = skipped;
                    self.read_in_blocks = true;
                    return Ok(());
                }
                None => {
                    tracing::info!(file = %self.file, "no true record boundary to cut blocks at; reading it in one pass");
                    *self = Table::new(Opened::reopen(&path)?, self.lenient)?.sequential();
                }
            }
        }
        self.each_row(|row, line, cx| rows.row(row, line, cx, sink))
    }

    /// Every data row in one pass, in file order. A ragged row is an error
    /// naming its line, or skipped under `--lenient`.
    pub(crate) fn each_row(
        &mut self,
        mut f: impl FnMut(&Row, u64, &RowCx) -> Result<(), IdpError>,
    ) -> Result<(), IdpError> {
        let cx = RowCx { file: &self.file };
        while let Some((line, row)) = self.records.next(cx.file)? {
            if check_width(
                &cx,
                row.len(),
                self.headers.len(),
                line,
                self.lenient,
                &mut self.skipped,
            )? {
                f(&row, line, &cx)?;
            }
        }
        Ok(())
    }

    /// Blocks of `block` bytes whatever the file's size (`None`: one pass), for tests.
    #[cfg(test)]
    pub(crate) fn force_parallel(&mut self, block: Option<usize>) {
        self.block = block;
    }

    fn sequential(mut self) -> Table {
        self.block = None;
        self
    }

    /// A table over in-memory bytes, for tests.
    #[cfg(test)]
    pub(crate) fn from_bytes(file: &str, bytes: &'static [u8]) -> Result<Table, IdpError> {
        let opened = Opened::from_reader(file.to_owned(), Box::new(std::io::Cursor::new(bytes)))?;
        Table::new(opened, false)
    }

    pub(crate) fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The column a reader reads for `names` (aliases, the first present
    /// wins); `None` when no header has any of them. A name two headers
    /// answer to is an error naming both: which one to read would otherwise
    /// depend on their order, and columns are never matched by position.
    pub(crate) fn column(&self, names: &[&str]) -> Result<Option<usize>, IdpError> {
        self.column_by(names, same_name)
    }

    /// As [`Table::column`], headers compared with `matches` (Google's suffixes).
    pub(crate) fn column_by(&self, names: &[&str], matches: Matches) -> Result<Option<usize>, IdpError> {
        for name in names {
            let mut found = (0..self.headers.len()).filter(|&i| matches(&self.headers[i], name));
            let Some(first) = found.next() else { continue };
            if let Some(second) = found.next() {
                let (a, b) = (&self.headers[first], &self.headers[second]);
                return Err(self.header_error(format!(
                    "columns {} (`{a}`) and {} (`{b}`) are both `{name}`: remove or rename one \
                     (columns are matched by name, never by position)",
                    first + 1,
                    second + 1,
                )));
            }
            return Ok(Some(first));
        }
        Ok(None)
    }

    /// Whether some header is one of `names`, for detection (which reads no cell).
    pub(crate) fn has(&self, names: &[&str]) -> bool {
        self.has_by(names, same_name)
    }

    pub(crate) fn has_by(&self, names: &[&str], matches: Matches) -> bool {
        names
            .iter()
            .any(|name| self.headers.iter().any(|h| matches(h, name)))
    }

    pub(crate) fn has_all(&self, names: &[&str]) -> bool {
        names.iter().all(|n| self.has(&[n]))
    }

    pub(crate) fn require(&self, names: &[&str]) -> Result<usize, IdpError> {
        self.column(names)?
            .ok_or_else(|| self.header_error(format!("missing column `{}`", names[0])))
    }

    /// An error about the header row.
    pub(crate) fn header_error(&self, reason: String) -> IdpError {
        self.row_error(self.header_line, reason)
    }

    pub(crate) fn row_error(&self, line: u64, reason: String) -> IdpError {
        self.cx().error(line, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &'static [u8]) -> Vec<u64> {
        let mut table = Table::from_bytes("t.csv", data).expect("table");
        let mut out = Vec::new();
        table
            .each_row(|_, line, _| {
                out.push(line);
                Ok(())
            })
            .expect("rows");
        out
    }

    #[test]
    fn line_numbers_are_true_for_lf_crlf_sep_and_multiline_cells() {
        assert_eq!(lines(b"a,b\n1,2\n3,4\n"), [2, 3]);
        assert_eq!(lines(b"a,b\r\n1,2\r\n3,4\r\n"), [2, 3]);
        assert_eq!(lines(b"sep=,\r\na,b\r\n1,2\r\n3,4\r\n"), [3, 4]);
        assert_eq!(lines(b"a,b\n\"x\ny\",2\n3,4\n"), [2, 4]);
        assert_eq!(lines(b"a,b\r\n\"x\r\ny\",2\r\n3,4\r\n"), [2, 4]);
    }

    #[test]
    fn a_duplicate_is_refused_only_when_looked_up() {
        let table = Table::from_bytes("t.csv", b"sep=,\nLogin,Status, status ,Title,title\n").expect("table");
        assert_eq!(table.column(&["login"]).expect("unique"), Some(0));
        assert_eq!(table.column(&["Nickname"]).expect("absent"), None);
        // An alias list stops at the first name present: the later, duplicated one is not read.
        assert_eq!(table.column(&["Login", "Title"]).expect("first alias"), Some(0));
        assert!(table.has(&["Title"]), "detection reads no cell");
        for names in [&["Status"][..], &["Nickname", "Title"], &["Status", "Login"]] {
            let err = table.column(names).expect_err("duplicate").to_string();
            assert!(err.starts_with("t.csv:2: columns "), "{err}");
        }
        let err = table.require(&["STATUS"]).expect_err("duplicate").to_string();
        assert!(
            err.contains("columns 2 (`Status`) and 3 (`status`) are both `STATUS`"),
            "{err}"
        );
    }
}
