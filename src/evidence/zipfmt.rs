//! The bundle's one zip layout. Entries are stored uncompressed, with fixed
//! headers (1980-01-01 00:00 timestamp, mode 0644, no extra fields, no
//! comments), so a bundle's bytes are a pure function of its entries' names
//! and contents. `verify` relies on that: it rebuilds the zip from the
//! entries it read and compares every byte, which covers the headers and
//! padding that per-file hashes cannot see. Storing (not deflating) also
//! keeps the layout independent of a compressor's version.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use super::sha256_hex;

/// Sizes of the fixed parts of the records this writer emits (no extra fields).
const LOCAL_HEADER: usize = 30;
const CENTRAL_HEADER: usize = 46;
const END_OF_CENTRAL_DIRECTORY: usize = 22;

/// One file in the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub data: Vec<u8>,
}

impl Entry {
    pub fn new(name: impl Into<String>, data: Vec<u8>) -> Entry {
        Entry {
            name: name.into(),
            data,
        }
    }
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
}

/// The canonical zip of `entries`, in order.
pub fn write(entries: &[Entry]) -> Result<Vec<u8>, String> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        zip.start_file(entry.name.as_str(), options())
            .map_err(|e| format!("{:?}: {e}", entry.name))?;
        zip.write_all(&entry.data)
            .map_err(|e| format!("{:?}: {e}", entry.name))?;
    }
    let cursor = zip.finish().map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}

/// One entry as read back, before anything about it is trusted.
#[derive(Debug)]
pub struct RawEntry {
    /// The name's bytes as stored (not necessarily UTF-8, possibly `../x`).
    pub name: Vec<u8>,
    pub stored: bool,
    pub data: Vec<u8>,
    /// SHA-256 of `data`, computed once.
    pub sha256: String,
}

impl RawEntry {
    /// The name for messages: lossy UTF-8, with control characters escaped.
    pub fn shown(&self) -> String {
        shown(&String::from_utf8_lossy(&self.name))
    }
}

/// A name quoted for a message, so a hostile name cannot forge output lines.
pub fn shown(name: &str) -> String {
    format!("`{}`", name.escape_debug())
}

/// What the reader found: the entries in central-directory order, and
/// whether the directory names some entry more than once (the reader keeps
/// only one of them, so the caller must be told).
#[derive(Debug)]
pub struct ReadBack {
    pub entries: Vec<RawEntry>,
    pub duplicate_names: bool,
}

/// Reads every entry of the zip held in `bytes`, in memory: nothing is
/// extracted, and no entry is read past the end of `bytes`, whatever size
/// its headers declare.
pub fn read(bytes: &[u8]) -> Result<ReadBack, String> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let duplicate_names = archive.metadata().has_duplicate_names();
    let limit = bytes.len() as u64;
    let mut entries = Vec::with_capacity(archive.len().min(4096));
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(|e| format!("entry {i}: {e}"))?;
        let name = file.name_raw().to_vec();
        let stored = file.compression() == CompressionMethod::Stored;
        let mut data = Vec::new();
        file.take(limit)
            .read_to_end(&mut data)
            .map_err(|e| format!("{}: {e}", shown(&String::from_utf8_lossy(&name))))?;
        let sha256 = sha256_hex(&data);
        entries.push(RawEntry {
            name,
            stored,
            data,
            sha256,
        });
    }
    Ok(ReadBack {
        entries,
        duplicate_names,
    })
}

/// Names the part of the canonical layout of `entries` that holds byte
/// `offset`, for a message about where two zips first differ.
pub fn region(entries: &[Entry], offset: usize) -> String {
    let mut start = 0;
    for entry in entries {
        let header_end = start + LOCAL_HEADER + entry.name.len();
        if offset < header_end {
            return format!("the local header of {}", shown(&entry.name));
        }
        start = header_end + entry.data.len();
        if offset < start {
            return format!("the contents of {}", shown(&entry.name));
        }
    }
    for entry in entries {
        start += CENTRAL_HEADER + entry.name.len();
        if offset < start {
            return format!("the central directory record of {}", shown(&entry.name));
        }
    }
    if offset < start + END_OF_CENTRAL_DIRECTORY {
        "the end-of-central-directory record".to_owned()
    } else {
        "bytes after the end of the zip".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn sample() -> Vec<Entry> {
        vec![
            Entry::new("manifest.json", b"{}\n".to_vec()),
            Entry::new("run/run.json", b"hello".to_vec()),
        ]
    }

    #[test]
    fn layout_never_drifts() {
        // Bundles already handed to auditors must keep verifying: if a `zip`
        // upgrade changes these bytes, pin the old layout instead of updating this.
        let bytes = write(&sample()).expect("writes");
        assert_eq!(bytes.len(), 232);
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            "2e25432756c89175785952deb3bde448e6f3e3c650621ca06b4bbf86d8b77626"
        );
    }

    #[test]
    fn read_gives_back_what_write_wrote() {
        let bytes = write(&sample()).expect("writes");
        let read = read(&bytes).expect("reads");
        assert!(!read.duplicate_names);
        let back: Vec<Entry> = read
            .entries
            .into_iter()
            .map(|e| {
                assert!(e.stored);
                Entry::new(String::from_utf8(e.name).expect("utf-8"), e.data)
            })
            .collect();
        assert_eq!(back, sample());
    }

    #[test]
    fn regions_follow_the_layout() {
        let entries = sample();
        let cases = [
            (0, "the local header of `manifest.json`"),
            (42, "the local header of `manifest.json`"),
            (43, "the contents of `manifest.json`"),
            (46, "the local header of `run/run.json`"),
            (88, "the contents of `run/run.json`"),
            (93, "the central directory record of `manifest.json`"),
            (210, "the end-of-central-directory record"),
            (232, "bytes after the end of the zip"),
        ];
        for (offset, want) in cases {
            assert_eq!(region(&entries, offset), want, "offset {offset}");
        }
    }

    #[test]
    fn names_in_messages_are_escaped() {
        assert_eq!(shown("a\nOK: 3 files"), "`a\\nOK: 3 files`");
    }
}
