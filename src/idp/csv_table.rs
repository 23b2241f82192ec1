//! A CSV export read as a stream, its header mapped by name (trimmed,
//! case-insensitive), never by position, because every IdP reorders and
//! renames columns. One reused record per row: no allocation per row here.
//!
//! The top of the CSV modules: a plain file goes to the block reader
//! (`parallel`), anything else (or a file it cannot cut) to one pass
//! (`csv_stream`); both hand rows of `csv_row` to the reader. Neither of
//! them uses this module (`layers` checks).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::IdpError;
use super::csv_row::{CsvRows, NOT_UTF8, Row, RowCx, check_width};
use super::csv_stream::Records;
use super::parallel::{BLOCK, Block};
use super::sink::Sink;
use super::source::Opened;

/// Files at least this large are parsed in several blocks, in parallel.
const PARALLEL_MIN_BYTES: u64 = 8 << 20;

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
                true => BLOCK,
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
            let block = Block {
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
    use crate::idp::{Identity, IdpStatus, MAX_RECORD_BYTES};
    use sha2::{Digest as _, Sha256};

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

    /// Keeps every row as an identity: login = the fields joined by `|`.
    struct Echo;

    impl CsvRows for Echo {
        fn row(&self, rec: &Row, line: u64, _: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
            let fields: Vec<String> = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            sink.count(IdpStatus::Active);
            sink.keep(Identity::new(0, line, &fields.join("|"), IdpStatus::Active, ""));
            Ok(())
        }
    }

    type Read = (Vec<(u64, String)>, usize, bool);

    /// Rows as (line, fields), the count of skipped rows, and whether blocks
    /// were used; `block` 0 leaves the table as it opened.
    fn read(data: &[u8], block: Option<usize>, lenient: bool) -> Result<Read, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("x.csv");
        std::fs::write(&path, data).map_err(|e| e.to_string())?;
        let mut table = Table::new(Opened::open(&path).map_err(|e| e.to_string())?, lenient)
            .map_err(|e| e.to_string())?;
        if block != Some(0) {
            table.force_parallel(block);
        }
        let mut sink = Sink::new(0, None, jiff::Timestamp::UNIX_EPOCH);
        table.rows(&Echo, &mut sink).map_err(|e| e.to_string())?;
        let rows = sink.kept.iter().map(|i| (i.line, i.login.clone())).collect();
        Ok((rows, table.skipped.len(), table.read_in_blocks))
    }

    #[test]
    fn blocks_read_exactly_what_one_pass_reads() {
        let mut body = String::new();
        for i in 0..300 {
            match i % 7 {
                0 => body.push_str(&format!("u{i},\"Lee, Ann\",ACTIVE\n")),
                1 => body.push_str(&format!("u{i},\"two\nlines\",SUSPENDED\n")),
                2 => body.push_str(&format!("u{i},\"say \"\"hi\"\"\",ACTIVE\n")),
                3 => body.push_str(&format!("u{i},stray\"quote,ACTIVE\n")),
                _ => body.push_str(&format!("u{i},plain,ACTIVE\n")),
            }
        }
        let lf = format!("login,name,status\n{body}");
        let crlf = lf.replace('\n', "\r\n");
        let bom = format!("\u{feff}sep=,\n{lf}");
        // Without the stray quote every cut is right, and blocks are used throughout.
        let clean = lf.replace("stray\"quote", "no quote");
        for (name, data) in [("lf", lf), ("crlf", crlf), ("bom+sep", bom), ("clean", clean)] {
            let one = read(data.as_bytes(), None, false).expect("one pass");
            assert_eq!(one.0.len(), 300, "{name}");
            assert!(!one.2);
            for block in [7, 64, 333, 4096] {
                let par = read(data.as_bytes(), Some(block), false).expect("blocks");
                assert_eq!((&par.0, par.1), (&one.0, one.1), "{name}, block {block}");
                if name == "clean" {
                    assert!(par.2, "block {block}: read in blocks");
                }
            }
        }
    }

    #[test]
    fn ragged_rows_and_errors_match_one_pass() {
        let data = b"a,b\n1,2\n3\n4,5\n6,7,8\n9,10\n";
        let one = read(data, None, true).expect("one pass");
        assert_eq!(one.1, 2);
        for block in [3, 5, 8] {
            let par = read(data, Some(block), true).expect("blocks");
            assert_eq!(
                (par.0, par.1, par.2),
                (one.0.clone(), one.1, true),
                "block {block}"
            );
            let err = read(data, Some(block), false).expect_err("ragged");
            assert!(err.contains(":3:"), "{err}");
        }
    }

    #[test]
    fn a_small_file_is_one_block_with_true_lines_after_blank_lines() {
        let (rows, skipped, blocks) = read(b"a,b\n1,2\n\n3,4\r\n\r\n5,6\n", Some(0), false).expect("read");
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!((lines, skipped, blocks), (vec![2, 4, 6], 0, true));
    }

    #[test]
    fn the_digest_is_the_files_whether_blocks_held_or_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.csv");
        let clean = b"\xef\xbb\xbfsep=,\na,b\n1,2\n3,4\n".to_vec();
        let stray = b"a,b\n1,x\"y\n3,\"4\n5\"\n6,7\n".to_vec();
        for (data, block, blocks) in [(clean, 5, true), (stray, 4, false)] {
            std::fs::write(&path, &data).expect("written");
            let mut opened = Opened::open(&path).expect("opened");
            let digest = opened.take_digest().expect("a digest");
            let mut table = Table::new(opened, false).expect("table");
            table.force_parallel(Some(block));
            let mut sink = Sink::new(0, None, jiff::Timestamp::UNIX_EPOCH);
            table.rows(&Echo, &mut sink).expect("rows");
            assert_eq!(table.read_in_blocks, blocks);
            let want = hex::encode(Sha256::digest(&data));
            assert_eq!(digest.finish("x.csv").expect("hashed"), want);
        }
    }

    #[test]
    fn records_over_the_cap_stop_in_blocks_as_in_one_pass() {
        let row = "u,plain,ACTIVE\n";
        let many = row.repeat(MAX_RECORD_BYTES / row.len() + 10);
        let long = "x".repeat(MAX_RECORD_BYTES + 1);
        let cases = [
            // A long record with line ends around it: cut, and refused in its block.
            format!("a,b,c\n{row}{row}{long},b,c\n{many}"),
            // No line end after it: no cut within the cap, refused by the one pass.
            format!("a,b,c\n{row}{row}{long}"),
            // A quote never closed: the same.
            format!("a,b,c\n{row}{row}\"{}", "\n".repeat(MAX_RECORD_BYTES + 10)),
        ];
        for (n, data) in cases.iter().enumerate() {
            for block in [None, Some(0), Some(256 << 10)] {
                let err = read(data.as_bytes(), block, false).expect_err("too long");
                assert!(
                    err.contains("x.csv:4: a record longer than 1 MiB"),
                    "{n} {block:?}: {err}"
                );
            }
        }
        // A stray quote hides every cut from the count of quotes: no cut within
        // the cap, so one pass reads what the blocks could not.
        let stray = format!("a,b,c\nu,O\"Brien,ACTIVE\n{many}{many}");
        let (rows, _, blocks) = read(stray.as_bytes(), Some(256 << 10), false).expect("one pass");
        assert_eq!((rows.len(), blocks), (2 * many.len() / row.len() + 1, false));
        assert_eq!(rows[0].1, "u|O\"Brien|ACTIVE");
    }
}
