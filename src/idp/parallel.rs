//! Parallel parsing of one large CSV export, for multi-million-row IdP files.
//!
//! One thread reads the file in blocks cut at a newline where the count of
//! `"` so far is even (outside any quoted cell, for RFC 4180 quoting);
//! worker threads parse the blocks (see [`Scanner`]) and run the reader's
//! row logic, each into a sink of its own; the sinks are merged in file order.
//! The caller chooses the block size: a small file is one block.
//!
//! A cut can still land inside a cell when a stray `"` sits in an unquoted
//! field. Each block is therefore parsed with a sentinel line appended: the
//! sentinel comes back as a record of its own only when the block ended at a
//! true record boundary. Block 0 starts at a true boundary, so by induction
//! every block's rows are exactly what one sequential pass reads; if any cut
//! is found wrong, the caller reads the whole file again in one pass.
//!
//! Below `csv_table`, which chooses between this and one pass: rows come
//! from `csv_row`, never from the table (`layers` checks).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};

use sha2::{Digest as _, Sha256};

use super::csv_row::{CsvRows, Row, RowCx, check_width};
use super::sink::Sink;
use super::{IdpError, MAX_RECORD_BYTES, too_long};

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
    /// Set to the file's SHA-256 once every byte is read (saves a second read).
    pub(crate) hashed: Option<&'a OnceLock<String>>,
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
        let mut hash = self.hashed.map(|_| Sha256::new_with_prefix(&prefix));
        handle.seek(SeekFrom::Start(self.data_start)).map_err(io)?;

        let workers = workers();
        let (work_tx, work_rx) = mpsc::channel::<(usize, u64, Vec<u8>)>();
        let work_rx = Mutex::new(work_rx);
        let (done_tx, done_rx) = mpsc::channel::<Parsed>();
        // Buffers go round: reader → worker → back; their number bounds memory.
        let (pool_tx, pool_rx) = mpsc::channel::<Vec<u8>>();
        // Grown on first use: a small file read as one block takes one buffer.
        for _ in 0..workers * 2 {
            let _ = pool_tx.send(Vec::new());
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
            let sent = split(
                &mut handle,
                self.block,
                first_line,
                (&pool_rx, &work_tx, &stop),
                hash.as_mut(),
            )
            .map_err(io);
            drop(work_tx);
            let mut parsed: Vec<Parsed> = done_rx.iter().collect();
            parsed.sort_by_key(|p| p.index);
            sent.map(|end| (end, parsed))
        })?;
        let (end, blocks) = blocks;
        if end == Split::NoCut {
            return Ok(None);
        }

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
        if let (Split::Eof, Some(done), Some(hash)) = (end, self.hashed, hash) {
            let _ = done.set(hex::encode(hash.finalize()));
        }
        Ok(Some(skipped))
    }

    /// Parses one block (ending in the sentinel line) into `out`: its rows,
    /// its first bad row, and whether it ended at a true boundary.
    fn parse<R: CsvRows>(&self, buf: &[u8], first_line: u64, cx: &RowCx, rows: &R, out: &mut Parsed) {
        let mut scan = Scanner::new(buf, first_line);
        while let Some((line, len, row)) = scan.next_row() {
            if row.len() == 1 && row.get(0) == Some(SENTINEL) {
                // True boundary only if nothing follows.
                out.whole = scan.at_end();
                return;
            }
            if out.error.is_some() {
                // Only looking for the end now.
                continue;
            }
            if len > MAX_RECORD_BYTES {
                out.error = Some(cx.error(line, too_long("a record")));
                continue;
            }
            let result = check_width(cx, row.len(), self.width, line, self.lenient, &mut out.skipped)
                .and_then(|wide| {
                    if wide {
                        rows.row(&row, line, cx, &mut out.sink)
                    } else {
                        Ok(())
                    }
                });
            out.error = result.err();
        }
    }
}

/// Rows of one in-memory block, with their true line numbers, read as the
/// `csv` crate reads them (RFC 4180 quotes, CR, LF or CRLF ends, blank lines
/// skipped). Most lines of an export hold no `"` and no stray `\r`: those
/// are split at commas with `memchr`, several times faster than the `csv`
/// state machine; any other line goes through `csv_core` from its start,
/// to the end of its record, however many lines that spans.
struct Scanner<'b> {
    buf: &'b [u8],
    pos: usize,
    /// Line number at `pos`.
    line: u64,
    ends: Vec<usize>,
    core: csv_core::Reader,
    out: Vec<u8>,
    out_ends: Vec<usize>,
}

impl<'b> Scanner<'b> {
    fn new(buf: &'b [u8], first_line: u64) -> Scanner<'b> {
        let mut core = csv_core::Reader::new();
        // One empty line read first, so that `csv_core` treats a BOM on a later
        // row as data (it strips one only from the very start of a stream).
        let _ = core.read_record(b"\n", &mut [0; 1], &mut [0; 1]);
        Scanner {
            buf,
            pos: 0,
            line: first_line,
            ends: Vec::new(),
            core,
            out: vec![0; 4096],
            out_ends: vec![0; 64],
        }
    }

    /// Past blank lines; true when nothing but them is left.
    fn at_end(&mut self) -> bool {
        while let Some(&b) = self.buf.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => return false,
            }
            self.pos += 1;
        }
        true
    }

    /// The next record, the line it starts on and its length in bytes
    /// without its line end; `None` at the end.
    fn next_row(&mut self) -> Option<(u64, usize, Row<'_>)> {
        if self.at_end() {
            return None;
        }
        let (start, line) = (self.pos, self.line);
        let rest = &self.buf[start..];
        let newline = memchr::memchr(b'\n', rest);
        let mut text = &rest[..newline.unwrap_or(rest.len())];
        if let [head @ .., b'\r'] = text {
            text = head;
        }
        if memchr::memchr2(b'"', b'\r', text).is_none() {
            self.pos = newline.map_or(self.buf.len(), |n| start + n + 1);
            self.line += u64::from(newline.is_some());
            return Some((line, text.len(), Row::split_line(text, &mut self.ends)));
        }
        let (nout, nends, len) = self.quoted(start);
        Some((line, len, Row::parsed(&self.out[..nout], &self.out_ends[..nends])))
    }

    /// One record through `csv_core` from `start`: (bytes, cells) of output,
    /// and the record's length without its line end.
    fn quoted(&mut self, start: usize) -> (usize, usize, usize) {
        let (mut read, mut nout, mut nends) = (start, 0, 0);
        loop {
            let (result, nin, o, e) = self.core.read_record(
                &self.buf[read..],
                &mut self.out[nout..],
                &mut self.out_ends[nends..],
            );
            read += nin;
            nout += o;
            nends += e;
            match result {
                // At the block's end the next call, with no input, ends the record.
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                csv_core::ReadRecordResult::OutputEndsFull => {
                    self.out_ends.resize(self.out_ends.len() * 2, 0);
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        let record = &self.buf[start..read];
        self.line += memchr::memchr_iter(b'\n', record).count() as u64;
        let ending = record
            .iter()
            .rev()
            .take(2)
            .take_while(|&&b| b == b'\n' || b == b'\r');
        let len = record.len() - ending.count();
        self.pos = read;
        (nout, nends, len)
    }
}

/// What the reading thread shares with the workers: empty buffers back,
/// blocks out, and the flag that stops it early.
type Channels<'c> = (
    &'c mpsc::Receiver<Vec<u8>>,
    &'c mpsc::Sender<(usize, u64, Vec<u8>)>,
    &'c AtomicBool,
);

/// Where the reading thread stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    /// At the end of the file.
    Eof,
    /// Told to by a worker, or the workers are gone.
    Stopped,
    /// No cut within [`MAX_RECORD_BYTES`] past a block: a record too long,
    /// or stray `"` that hide every line end from the count of quotes. One
    /// pass tells which, holding no more than one record.
    NoCut,
}

/// The reading thread's part: fills buffers (hashing what it reads), cuts
/// them after the last newline outside quotes, appends the sentinel and
/// hands them out.
fn split(
    handle: &mut File,
    block: usize,
    first_line: u64,
    (pool, work, stop): Channels,
    mut hash: Option<&mut Sha256>,
) -> std::io::Result<Split> {
    let mut carry: Vec<u8> = Vec::new();
    let mut line = first_line;
    let mut index = 0;
    let mut eof = false;
    while !eof && !stop.load(Ordering::Relaxed) {
        let Ok(mut buf) = pool.recv() else {
            return Ok(Split::Stopped);
        };
        buf.clear();
        buf.extend_from_slice(&carry);
        carry.clear();
        // Fill to BLOCK, or further while no cut is possible (one huge record).
        let mut target = block.max(buf.len() + block / 2);
        let cut = loop {
            eof = fill(handle, &mut buf, target, hash.as_deref_mut())?;
            target += block;
            if eof {
                break buf.len();
            }
            if let Some(cut) = last_boundary(&buf) {
                break cut;
            }
            if buf.len() > MAX_RECORD_BYTES + block {
                return Ok(Split::NoCut);
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
            return Ok(Split::Stopped);
        }
        index += 1;
        line += lines;
    }
    Ok(if eof { Split::Eof } else { Split::Stopped })
}

/// Reads until `buf` holds `target` bytes; true at the end of the file.
/// (`read_to_end` fills spare capacity without zeroing it first.)
fn fill(
    handle: &mut File,
    buf: &mut Vec<u8>,
    target: usize,
    hash: Option<&mut Sha256>,
) -> std::io::Result<bool> {
    let want = target.saturating_sub(buf.len());
    buf.reserve(want);
    let n = Read::take(&mut *handle, want as u64).read_to_end(buf)?;
    if let Some(hash) = hash {
        hash.update(&buf[buf.len() - n..]);
    }
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

    /// Records and start lines as the `csv` crate reads `data` in one pass.
    fn csv_crate(data: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut rec).expect("csv reads anything") {
            let line = rec.position().map_or(0, |p| p.line());
            out.push((line, rec.iter().map(<[u8]>::to_vec).collect()));
        }
        out
    }

    fn scanned(data: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut scan = Scanner::new(data, 1);
        let mut out = Vec::new();
        while let Some((line, _, row)) = scan.next_row() {
            out.push((line, row.iter().map(<[u8]>::to_vec).collect()));
        }
        out
    }

    #[test]
    fn scanner_reads_what_the_csv_crate_reads() {
        let cases: &[&[u8]] = &[
            b"a,b\n\nc,d\n",
            b"a,b\r\n\r\nc,d",
            b"a,b\rc,d\r",
            b",,\n,\n \n",
            b"x,\"q,\"\"\nz\"\n\"\"\n",
            b"a,\"open\nnever closed",
            b"\"a\"b,c\"d\n",
            b"one\n\xef\xbb\xbf\"bom\",x\n\xef\xbb\xbfplain,y\n",
            b"\"\"\n\"\r\"\n",
        ];
        for data in cases {
            let (ours, theirs) = (scanned(data), csv_crate(data));
            let fields = |rows: &[(u64, Vec<Vec<u8>>)]| rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>();
            assert_eq!(
                fields(&ours),
                fields(&theirs),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
        // Random bytes over CSV's special characters: the same records, and
        // (without CR, where the crate's positions are exact) the same lines.
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet: &[&[u8]] = &[b"a", b"bc", b",", b"\"", b"\n", b"\r", b" ", b"\xef\xbb\xbf"];
        for round in 0..3000 {
            let mut data = Vec::new();
            for _ in 0..rng.usize(0..40) {
                data.extend_from_slice(alphabet[rng.usize(..alphabet.len())]);
            }
            if round % 2 == 0 {
                data.retain(|&b| b != b'\r');
            }
            // Blocks never start a file: its BOM is gone before the first block.
            if data.starts_with(b"\xef\xbb\xbf") {
                data.insert(0, b'x');
            }
            let (ours, theirs) = (scanned(&data), csv_crate(&data));
            // The crate dates a record from the end of the one before it, so
            // after CR or blank lines its lines are early; ours are the true ones.
            let blank = data.starts_with(b"\n") || data.windows(2).any(|w| w == b"\n\n");
            if data.contains(&b'\r') || blank {
                let fields =
                    |rows: &[(u64, Vec<Vec<u8>>)]| rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>();
                assert_eq!(fields(&ours), fields(&theirs), "{data:?}");
            } else {
                assert_eq!(ours, theirs, "{data:?}");
            }
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
