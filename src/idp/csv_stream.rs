//! One pass over a CSV byte stream, a record at a time, through `csv_core`
//! (the `csv` crate's own state machine, so the records are the crate's):
//! for pipes, UTF-16 files, headers and the block reader's fallback. Unlike
//! the `csv` crate it stops a record at [`MAX_RECORD_BYTES`] instead of
//! growing without end, and it gives each record the true line it starts on.
//!
//! Below `csv_table`, which owns it: its rows are `csv_row`'s (`layers` checks).

use std::io::BufRead;

use csv_core::ReadRecordResult;

use super::csv_row::Row;
use super::{IdpError, MAX_RECORD_BYTES, too_long};

pub(crate) struct Records {
    src: Box<dyn BufRead + Send>,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Line of the next byte.
    line: u64,
    /// Bytes consumed from `src`.
    consumed: u64,
    done: bool,
}

impl Records {
    pub(crate) fn new(src: Box<dyn BufRead + Send>, first_line: u64) -> Records {
        Records {
            src,
            core: csv_core::Reader::new(),
            out: vec![0; 4096],
            ends: vec![0; 64],
            line: first_line,
            consumed: 0,
            done: false,
        }
    }

    /// Bytes read so far: where the next record starts.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The next record and the line it starts on; `None` at the end.
    pub(crate) fn next(&mut self, file: &str) -> Result<Option<(u64, Row<'_>)>, IdpError> {
        let io = |source| IdpError::Io {
            file: file.to_owned(),
            source,
        };
        // Blank lines, skipped as `csv_core` skips them, but counted.
        loop {
            let buf = self.src.fill_buf().map_err(io)?;
            let blank = buf.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
            self.line += memchr::memchr_iter(b'\n', &buf[..blank]).count() as u64;
            let (more, end) = (blank < buf.len(), buf.is_empty());
            self.src.consume(blank);
            self.consumed += blank as u64;
            if more || end {
                break;
            }
        }
        let start = self.line;
        // Bytes of this record, and how many of its last two are CR or LF: a
        // line end does not count towards the cap (as in the block reader).
        let (mut bytes, mut ending) = (0usize, 0usize);
        let (mut nout, mut nends) = (0, 0);
        while !self.done {
            let buf = self.src.fill_buf().map_err(io)?;
            let (result, nin, o, e) =
                self.core
                    .read_record(buf, &mut self.out[nout..], &mut self.ends[nends..]);
            let taken = &buf[..nin];
            self.line += memchr::memchr_iter(b'\n', taken).count() as u64;
            let tail = taken
                .iter()
                .rev()
                .take(2)
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            ending = if tail == nin { (ending + tail).min(2) } else { tail };
            bytes += nin;
            self.src.consume(nin);
            self.consumed += nin as u64;
            (nout, nends) = (nout + o, nends + e);
            if bytes - ending > MAX_RECORD_BYTES {
                return Err(IdpError::Row {
                    file: file.to_owned(),
                    line: start,
                    reason: too_long("a record"),
                });
            }
            match result {
                // An empty `buf` (the end) makes the next call finish the record.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    return Ok(Some((start, Row::parsed(&self.out[..nout], &self.ends[..nends]))));
                }
                ReadRecordResult::End => self.done = true,
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record's start line and cells.
    type Read = Vec<(u64, Vec<Vec<u8>>)>;

    fn records(data: &'static [u8]) -> Result<Read, IdpError> {
        let mut recs = Records::new(Box::new(std::io::BufReader::with_capacity(5, data)), 1);
        let mut out = Vec::new();
        while let Some((line, row)) = recs.next("t.csv")? {
            out.push((line, row.iter().map(<[u8]>::to_vec).collect()));
        }
        Ok(out)
    }

    #[test]
    fn records_and_their_true_lines() {
        let lines = |rows: &Read| rows.iter().map(|r| r.0).collect::<Vec<_>>();
        let cases: [(&[u8], &[u64]); 5] = [
            (b"a,b\n1,2\n3,4\n", &[1, 2, 3]),
            (b"a,b\r\n1,2\r\n\r\n3,4", &[1, 2, 4]),
            (b"\n\na,\"x\ny\"\n3,4\n", &[3, 5]),
            (b"a\rb\r\n\"q\"\"\"\n", &[1, 1, 2]),
            (b"", &[]),
        ];
        for (data, want) in cases {
            let got = records(data).expect("reads");
            assert_eq!(lines(&got), want, "{}", String::from_utf8_lossy(data));
        }
        let got = records(b"a,\"b,\"\"c\"\"\"\n").expect("reads");
        assert_eq!(got[0].1, [b"a".to_vec(), b"b,\"c\"".to_vec()]);
    }

    #[test]
    fn a_record_over_the_cap_names_the_line_it_starts_on() {
        let long: &'static [u8] = Box::leak(
            [&b"a,b\n1,2\n\"x"[..], &vec![b'\n'; MAX_RECORD_BYTES], b"\"\n"]
                .concat()
                .into_boxed_slice(),
        );
        let err = records(long).expect_err("too long").to_string();
        assert!(err.starts_with("t.csv:3: a record longer than 1 MiB"), "{err}");
        // Line ends after a record do not count towards it.
        let fits: &'static [u8] = Box::leak(
            [&vec![b'x'; MAX_RECORD_BYTES][..], b"\r\n\r\n"]
                .concat()
                .into_boxed_slice(),
        );
        assert_eq!(records(fits).expect("fits").len(), 1);
    }
}
