//! The API key: never printed, never in an error, never in a log.

use std::fmt;
use std::path::Path;

#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(raw: &str) -> Option<ApiKey> {
        let key = raw.trim();
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
}
