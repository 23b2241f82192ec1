//! Opening an export: hashing it as it is read (one pass), undoing a BOM
//! (UTF-8 or UTF-16), skipping Excel's `sep=` line, and telling CSV from JSON.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest as _, Sha256};

use super::IdpError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Csv,
    Json,
}

pub(crate) struct Opened {
    pub file: String,
    pub shape: Shape,
    pub reader: Box<dyn BufRead + Send>,
    /// Lines consumed before the data (a `sep=` line), to keep line numbers true.
    pub skipped_lines: u64,
    /// Rows end in CRLF: the csv crate then reports each record one line early.
    pub crlf: bool,
    /// The file, when the bytes come straight from one (not decoded from
    /// UTF-16): CSVs are then read by the block reader (`parallel.rs`).
    pub path: Option<PathBuf>,
    /// Bytes before the CSV stream (BOM and `sep=` line).
    pub prefix_len: u64,
    utf16: bool,
    digest: Option<Digest>,
    /// Where the block reader leaves the file's SHA-256 when it read it all.
    pub hashed: Option<Arc<OnceLock<String>>>,
}

/// The SHA-256 of the input, computed beside the parse: by the block reader
/// for a CSV file, on a second thread for other files (so hashing costs no
/// wall time on a multi-core machine), inline for other readers.
pub(crate) enum Digest {
    Inline(Arc<Mutex<Sha256>>),
    Thread(std::thread::JoinHandle<std::io::Result<String>>),
    /// Set by whoever reads the whole file; hashed at the end if nobody did.
    Deferred(PathBuf, Arc<OnceLock<String>>),
}

impl Digest {
    /// The hex digest; call once the parse has read to the end.
    pub(crate) fn finish(self, file: &str) -> Result<String, IdpError> {
        match self {
            Digest::Inline(hash) => Ok(hex::encode(
                hash.lock().map(|h| h.clone().finalize()).unwrap_or_default(),
            )),
            Digest::Thread(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("hashing thread failed")))
                .map_err(|source| IdpError::Io {
                    file: file.to_owned(),
                    source,
                }),
            Digest::Deferred(path, done) => match done.get() {
                Some(hex) => Ok(hex.clone()),
                None => hash_file(&path).map_err(|source| IdpError::Io {
                    file: file.to_owned(),
                    source,
                }),
            },
        }
    }

    fn thread(path: &Path) -> Digest {
        let path = path.to_path_buf();
        Digest::Thread(std::thread::spawn(move || hash_file(&path)))
    }
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hash.finalize()));
        }
        hash.update(&buf[..n]);
    }
}

impl Opened {
    pub(crate) fn open(path: &Path) -> Result<Opened, IdpError> {
        let file = path.display().to_string();
        let handle = File::open(path).map_err(|source| IdpError::Io {
            file: file.clone(),
            source,
        })?;
        let mut opened = Opened::build(file, Box::new(handle), None)?;
        if opened.utf16 {
            opened.digest = Some(Digest::thread(path));
        } else {
            opened.path = Some(path.to_path_buf());
            opened.digest = Some(match opened.shape {
                // The block reader reads every byte anyway: it hashes them as it goes.
                Shape::Csv => {
                    let done = Arc::new(OnceLock::new());
                    opened.hashed = Some(Arc::clone(&done));
                    Digest::Deferred(path.to_path_buf(), done)
                }
                Shape::Json => Digest::thread(path),
            });
        }
        Ok(opened)
    }

    /// The file again, for a second sequential pass (no digest: the first open has it).
    pub(crate) fn reopen(path: &Path) -> Result<Opened, IdpError> {
        let file = path.display().to_string();
        let handle = File::open(path).map_err(|source| IdpError::Io {
            file: file.clone(),
            source,
        })?;
        let hash = Arc::new(Mutex::new(Sha256::new()));
        Opened::build(file, Box::new(handle), Some(Digest::Inline(hash)))
    }

    /// Any byte source, named `file` in messages (hashed inline).
    pub(crate) fn from_reader(file: String, inner: Box<dyn Read + Send>) -> Result<Opened, IdpError> {
        let hash = Arc::new(Mutex::new(Sha256::new()));
        let raw = HashingReader {
            inner,
            hash: Arc::clone(&hash),
        };
        Opened::build(file, Box::new(raw), Some(Digest::Inline(hash)))
    }

    fn build(file: String, raw: Box<dyn Read + Send>, digest: Option<Digest>) -> Result<Opened, IdpError> {
        let io = |source| IdpError::Io {
            file: file.clone(),
            source,
        };
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let head = buffered.fill_buf().map_err(io)?;
        let utf16 = head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF");
        let mut prefix_len = 0;
        let mut reader: Box<dyn BufRead + Send> = if utf16 {
            // UTF-16 (Excel's "Unicode text" and some PowerShell exports): decode to UTF-8.
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .bom_sniffing(true)
                .strip_bom(true)
                .build(buffered);
            Box::new(BufReader::with_capacity(256 * 1024, decoded))
        } else {
            if head.starts_with(b"\xEF\xBB\xBF") {
                buffered.consume(3);
                prefix_len = 3;
            }
            Box::new(buffered)
        };
        let head = reader.fill_buf().map_err(io)?;
        let mut skipped_lines = 0;
        if head.len() >= 4 && head[..4].eq_ignore_ascii_case(b"sep=") {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).map_err(io)?;
            skipped_lines = 1;
            prefix_len += line.len() as u64;
        }
        let head = reader.fill_buf().map_err(io)?;
        let crlf = head
            .iter()
            .position(|&b| b == b'\n')
            .is_some_and(|p| p > 0 && head[p - 1] == b'\r');
        let shape = match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => Shape::Json,
            _ => Shape::Csv,
        };
        Ok(Opened {
            file,
            shape,
            reader,
            skipped_lines,
            crlf,
            path: None,
            prefix_len,
            utf16,
            digest,
            hashed: None,
        })
    }

    /// The digest in the making; taken once, before the reader is consumed.
    pub(crate) fn take_digest(&mut self) -> Option<Digest> {
        self.digest.take()
    }
}

struct HashingReader {
    inner: Box<dyn Read + Send>,
    hash: Arc<Mutex<Sha256>>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut h) = self.hash.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}
