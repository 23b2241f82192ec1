//! Parallel parsing of one large CSV export, for multi-million-row IdP files.
//!
//! One thread reads the file in blocks cut at a newline where the count of
//! `"` so far is even (outside any quoted cell, for RFC 4180 quoting);
//! worker threads parse the blocks with the `csv` crate and run the reader's
//! row logic, each into a sink of its own; the sinks are merged in file order.
//!
//! A cut can still land inside a cell when a stray `"` sits in an unquoted
//! field. Each block is therefore parsed with a sentinel line appended: the
//! sentinel comes back as a record of its own only when the block ended at a
//! true record boundary. Block 0 starts at a true boundary, so by induction
//! every block's rows are exactly what one sequential pass reads; if any cut
//! is found wrong, the caller reads the whole file again in one pass.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use csv::{ByteRecord, ReaderBuilder};

use super::IdpError;
use super::csv_table::{CsvRows, RowCx, check_width};
use super::sink::Sink;

/// Bytes per block: large enough that per-block costs vanish, small enough
/// that the blocks in flight stay a few MiB.
pub(crate) const BLOCK: usize = 2 << 20;
/// Never occurs in an export; comes back as its own record only after a true boundary.
const SENTINEL: &[u8] = b"\x00deskaudit-block-end\x00";

/// Threads parsing blocks (the machine's cores, at most 8).
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// One large file to parse in parallel.
pub(crate) struct Block<'a> {
    pub(crate) file: &'a str,
    pub(crate) path: &'a Path,
    /// Where data rows start (after BOM, `sep=` line and header).
    pub(crate) data_start: u64,
    pub(crate) width: usize,
    pub(crate) lenient: bool,
    /// Bytes per block ([`BLOCK`]; tiny in tests, to cut everywhere).
    pub(crate) block: usize,
}

/// What a worker made of one block.
struct Parsed<'s> {
    index: usize,
    sink: Sink<'s>,
    skipped: Vec<(u64, String)>,
    /// The block ended at a true record boundary (false: the cut was wrong).
    whole: bool,
    /// The first bad row. It counts only in a whole block: a wrong cut
    /// leaves a ragged last record that one pass would never see.
    error: Option<IdpError>,
}

impl Block<'_> {
    /// Reads every row into `sink`; `Ok(Some(skipped))` when done, `Ok(None)`
    /// when a block boundary proved wrong (read the file sequentially instead).
    pub(crate) fn read<R: CsvRows>(
        &self,
        rows: &R,
        sink: &mut Sink,
    ) -> Result<Option<Vec<(u64, String)>>, IdpError> {
        let io = |source| IdpError::Io {
            file: self.file.to_owned(),
            source,
        };
        let mut handle = File::open(self.path).map_err(io)?;
        // Line of the first data byte: 1 + newlines before it.
        let mut prefix = Vec::new();
        (&mut handle)
            .take(self.data_start)
            .read_to_end(&mut prefix)
            .map_err(io)?;
        let first_line = 1 + memchr::memchr_iter(b'\n', &prefix).count() as u64;
        handle.seek(SeekFrom::Start(self.data_start)).map_err(io)?;

        let workers = workers();
        let (work_tx, work_rx) = mpsc::channel::<(usize, u64, Vec<u8>)>();
        let work_rx = Mutex::new(work_rx);
        let (done_tx, done_rx) = mpsc::channel::<Parsed>();
        // Buffers go round: reader → worker → back; their number bounds memory.
        let (pool_tx, pool_rx) = mpsc::channel::<Vec<u8>>();
        for _ in 0..workers * 2 {
            let _ = pool_tx.send(Vec::with_capacity(self.block + self.block / 4));
        }
        let stop = AtomicBool::new(false);
        let cx = RowCx { file: self.file };

        let blocks = std::thread::scope(|scope| {
            for _ in 0..workers {
                let (work_rx, done_tx, pool_tx, stop) = (&work_rx, done_tx.clone(), pool_tx.clone(), &stop);
                let proto = sink.fork();
                scope.spawn(move || {
                    loop {
                        let next = work_rx.lock().ok().and_then(|rx| rx.recv().ok());
                        let Some((index, line, buf)) = next else { return };
                        let mut parsed = Parsed {
                            index,
                            sink: proto.fork(),
                            skipped: Vec::new(),
                            whole: false,
                            error: None,
                        };
                        self.parse(&buf, line, &cx, rows, &mut parsed);
                        if parsed.error.is_some() || !parsed.whole {
                            stop.store(true, Ordering::Relaxed);
                        }
                        let _ = pool_tx.send(buf);
                        if done_tx.send(parsed).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let sent = split(&mut handle, self.block, first_line, &pool_rx, &work_tx, &stop).map_err(io);
            drop(work_tx);
            let mut parsed: Vec<Parsed> = done_rx.iter().collect();
            parsed.sort_by_key(|p| p.index);
            sent.map(|_| parsed)
        })?;

        // Each block's rows are true only if every earlier block ended at a
        // true boundary: check them all in order before taking any in.
        let mut whole = Vec::with_capacity(blocks.len());
        for mut block in blocks {
            if !block.whole {
                return Ok(None);
            }
            if let Some(e) = block.error.take() {
                return Err(e);
            }
            whole.push(block);
        }
        let mut skipped = Vec::new();
        for block in whole {
            sink.absorb(block.sink);
            skipped.extend(block.skipped);
        }
        Ok(Some(skipped))
    }

    /// Parses one block (ending in the sentinel line) into `out`: its rows,
    /// its first bad row, and whether it ended at a true boundary.
    fn parse<R: CsvRows>(&self, buf: &[u8], first_line: u64, cx: &RowCx, rows: &R, out: &mut Parsed) {
        let mut reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(64 * 1024)
            .from_reader(buf);
        let mut rec = ByteRecord::new();
        loop {
            // A csv-level error leaves the block not whole: one pass reports it.
            if !reader.read_byte_record(&mut rec).unwrap_or(false) {
                return;
            }
            if rec.len() == 1 && &rec[0] == SENTINEL {
                // True boundary only if nothing follows.
                out.whole = matches!(reader.read_byte_record(&mut rec), Ok(false));
                return;
            }
            if out.error.is_some() {
                // Only looking for the end now.
                continue;
            }
            // The csv crate counts lines within the block, but places a CRLF
            // record at the `\n` ending the one before it, a line early.
            let pos = rec.position().map_or((1, 0), |p| (p.line(), p.byte() as usize));
            let line = first_line - 1 + pos.0 + u64::from(buf.get(pos.1) == Some(&b'\n'));
            let row = check_width(cx, rec.len(), self.width, line, self.lenient, &mut out.skipped).and_then(
                |wide| {
                    if wide {
                        rows.row(&rec, line, cx, &mut out.sink)
                    } else {
                        Ok(())
                    }
                },
            );
            out.error = row.err();
        }
    }
}

/// The reading thread's part: fills buffers, cuts them after the last
/// newline outside quotes, appends the sentinel and hands them out.
fn split(
    handle: &mut File,
    block: usize,
    first_line: u64,
    pool: &mpsc::Receiver<Vec<u8>>,
    work: &mpsc::Sender<(usize, u64, Vec<u8>)>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut line = first_line;
    let mut index = 0;
    let mut eof = false;
    while !eof && !stop.load(Ordering::Relaxed) {
        let Ok(mut buf) = pool.recv() else { return Ok(()) };
        buf.clear();
        buf.extend_from_slice(&carry);
        carry.clear();
        // Fill to BLOCK, or further while no cut is possible (one huge record).
        let mut target = block.max(buf.len() + block / 2);
        let cut = loop {
            eof = fill(handle, &mut buf, target)?;
            target += block;
            if eof {
                break buf.len();
            }
            if let Some(cut) = last_boundary(&buf) {
                break cut;
            }
        };
        carry.extend_from_slice(&buf[cut..]);
        buf.truncate(cut);
        if buf.is_empty() {
            continue;
        }
        let lines = memchr::memchr_iter(b'\n', &buf).count() as u64;
        if buf.last() != Some(&b'\n') {
            buf.push(b'\n');
        }
        buf.extend_from_slice(SENTINEL);
        buf.push(b'\n');
        if work.send((index, line, buf)).is_err() {
            return Ok(());
        }
        index += 1;
        line += lines;
    }
    Ok(())
}

/// Reads until `buf` holds `target` bytes; true at the end of the file.
/// (`read_to_end` fills spare capacity without zeroing it first.)
fn fill(handle: &mut File, buf: &mut Vec<u8>, target: usize) -> std::io::Result<bool> {
    let want = target.saturating_sub(buf.len());
    buf.reserve(want);
    let n = Read::take(&mut *handle, want as u64).read_to_end(buf)?;
    Ok(n < want)
}

/// Just past the last `\n` at which the `"` seen so far are even in number.
fn last_boundary(buf: &[u8]) -> Option<usize> {
    // Most exports quote nothing: then the last newline is the cut.
    if memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    let mut quoted = false;
    let mut cut = None;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            quoted = !quoted;
        } else if !quoted {
            cut = Some(i + 1);
        }
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::csv_table::Table;
    use crate::idp::source::Opened;
    use crate::idp::{Identity, IdpStatus};

    /// Keeps every row as an identity: login = the fields joined by `|`.
    struct Echo;

    impl CsvRows for Echo {
        fn row(&self, rec: &ByteRecord, line: u64, _: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
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

    /// Rows as (line, fields), the count of skipped rows, and whether blocks were used.
    fn read(data: &[u8], block: Option<usize>, lenient: bool) -> Result<Read, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("x.csv");
        std::fs::write(&path, data).map_err(|e| e.to_string())?;
        let mut table = Table::new(Opened::open(&path).map_err(|e| e.to_string())?, lenient)
            .map_err(|e| e.to_string())?;
        table.force_parallel(block);
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
    fn boundary_skips_newlines_inside_quotes() {
        assert_eq!(last_boundary(b"a,b\nc,d\n"), Some(8));
        assert_eq!(last_boundary(b"a,\"b\nc\"\nd,\"e\nf"), Some(8));
        assert_eq!(last_boundary(b"\"a\nb"), None);
        assert_eq!(last_boundary(b"a,\"\"\"x\"\"\"\ny"), Some(10));
    }
}
