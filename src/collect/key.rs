//! The API key: never printed, never in an error, never in a log.

use std::fmt;
use std::path::Path;

#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(raw: &str) -> Option<ApiKey> {
        // Editors on Windows start a "UTF-8" file with a byte-order mark,
        // which is not whitespace to `trim` and would be sent as the key's
        // first character.
        let key = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        (!key.is_empty()).then(|| ApiKey(key.to_owned()))
    }

    /// `--api-key-file` first, else `FRESHDESK_API_KEY`.
    pub fn from_env_or_file(file: Option<&Path>) -> Result<ApiKey, String> {
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            return ApiKey::new(&text).ok_or_else(|| format!("{}: the key file is empty", path.display()));
        }
        match std::env::var("FRESHDESK_API_KEY") {
            Ok(v) => ApiKey::new(&v).ok_or_else(|| "FRESHDESK_API_KEY is empty".to_owned()),
            Err(_) => Err("no API key: set FRESHDESK_API_KEY or pass --api-key-file PATH \
                 (an admin's key, from Profile settings → View API key)"
                .to_owned()),
        }
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::ApiKey;

    #[test]
    fn key_never_formats() {
        let key = ApiKey::new(" s3cr3t-key \n").expect("non-empty");
        assert_eq!(key.expose(), "s3cr3t-key");
        assert!(!format!("{key} {key:?}").contains("s3cr3t"));
        assert!(ApiKey::new("  ").is_none());
    }

    /// Notepad's "UTF-8" saves a byte-order mark first; it was sent as part
    /// of the key, and Freshdesk answered 401.
    #[test]
    fn key_file_with_a_byte_order_mark_is_read_without_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (content, want) in [
            ("\u{feff}s3cr3t-key", Some("s3cr3t-key")),
            ("\u{feff}s3cr3t-key\r\n", Some("s3cr3t-key")),
            ("\u{feff} s3cr3t-key \n\n", Some("s3cr3t-key")),
            ("\n\u{feff}s3cr3t-key\n", Some("s3cr3t-key")),
            ("\u{feff}\r\n", None),
        ] {
            let path = dir.path().join("key.txt");
            std::fs::write(&path, content).expect("write key file");
            let read = ApiKey::from_env_or_file(Some(&path));
            match want {
                Some(key) => assert_eq!(read.expect("read").expose(), key, "{content:?}"),
                None => {
                    let err = read.expect_err("empty");
                    assert!(err.ends_with("the key file is empty"), "{err}");
                }
            }
        }
    }
}
