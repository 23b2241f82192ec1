//! Opening an export: hashing it as it is read (one pass), undoing a BOM
//! (UTF-8 or UTF-16), skipping Excel's `sep=` line, and telling CSV from JSON.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest as _, Sha256};

use super::{IdpError, MAX_RECORD_BYTES, too_long};

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
    /// The file, when the bytes come straight from a regular one (not a pipe,
    /// not decoded from UTF-16): CSVs are then read by the block reader (`parallel.rs`).
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
    /// A regular file (read in blocks, hashed beside the parse) or a named
    /// pipe (read once, in one pass, hashed as it is read); anything else is
    /// refused before a byte is read.
    pub(crate) fn open(path: &Path) -> Result<Opened, IdpError> {
        let file = path.display().to_string();
        let io = |source| IdpError::Io {
            file: file.clone(),
            source,
        };
        // Asked before opening: opening a socket fails, and `/dev/zero` never ends.
        let pipe = input_kind(&file, std::fs::metadata(path).map_err(io)?.file_type())?;
        let handle = File::open(path).map_err(io)?;
        // Asked again of what was opened, in case the path changed in between.
        if input_kind(&file, handle.metadata().map_err(io)?.file_type())? != pipe {
            return Err(io(std::io::Error::other("the file changed while it was opened")));
        }
        if pipe {
            return Opened::from_reader(file, Box::new(handle));
        }
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
            read_line(&mut reader, &mut line, &file, 1)?;
            skipped_lines = 1;
            prefix_len += line.len() as u64;
        }
        let head = reader.fill_buf().map_err(io)?;
        let shape = match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => Shape::Json,
            _ => Shape::Csv,
        };
        Ok(Opened {
            file,
            shape,
            reader,
            skipped_lines,
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

/// A regular file (`false`) or a named pipe (`true`); what else it is, refused.
fn input_kind(file: &str, kind: std::fs::FileType) -> Result<bool, IdpError> {
    match kind {
        _ if kind.is_file() => Ok(false),
        _ if kind.is_dir() => Err("a directory"),
        _ => special(kind),
    }
    .map_err(|what| IdpError::NotAFile {
        file: file.to_owned(),
        what,
    })
}

#[cfg(unix)]
fn special(kind: std::fs::FileType) -> Result<bool, &'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    match kind {
        _ if kind.is_fifo() => Ok(true),
        _ if kind.is_char_device() => Err("a character device"),
        _ if kind.is_block_device() => Err("a block device"),
        _ if kind.is_socket() => Err("a socket"),
        _ => Err("not a file"),
    }
}

#[cfg(not(unix))]
fn special(_: std::fs::FileType) -> Result<bool, &'static str> {
    Err("not a file")
}

/// Reads one line (with its `\n`) into `line`, which is cleared first; false
/// at the end. A line over [`MAX_RECORD_BYTES`] is an error naming `number`,
/// found before more than that is held.
pub(crate) fn read_line(
    reader: &mut dyn BufRead,
    line: &mut Vec<u8>,
    file: &str,
    number: u64,
) -> Result<bool, IdpError> {
    line.clear();
    let n = Read::take(reader, MAX_RECORD_BYTES as u64 + 2)
        .read_until(b'\n', line)
        .map_err(|source| IdpError::Io {
            file: file.to_owned(),
            source,
        })?;
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    if text.strip_suffix(b"\r").unwrap_or(text).len() > MAX_RECORD_BYTES {
        return Err(IdpError::Row {
            file: file.to_owned(),
            line: number,
            reason: too_long("a line"),
        });
    }
    Ok(n > 0)
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
