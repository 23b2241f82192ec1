//! `--accounts ACCOUNTS.toml`: several Freshdesk accounts in one review
//! (#17). Each account has its own subdomain, base URL and key:
//!
//! ```toml
//! [[account]]
//! domain = "acme"
//! api_key_file = "keys/acme.txt"   # relative to this file
//!
//! [[account]]
//! domain = "acme-eu"
//! api_key_env = "FRESHDESK_KEY_ACME_EU"
//! ```
//!
//! Read like the policy (cargo-deny's pattern): a raw type that refuses
//! unknown keys, validated into [`Accounts`] with every mistake of the file
//! reported at once, each at its line and column. A key is read here, once,
//! so a missing key file stops the run before any account is asked.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::collect::{ApiKey, Target, TargetError};
use crate::policy::{Mistake, PolicyError};

/// One account: where to collect and with which key.
#[derive(Debug)]
pub struct Account {
    pub target: Target,
    pub key: ApiKey,
}

/// The accounts of one review, in file order, each domain once.
#[derive(Debug)]
pub struct Accounts {
    pub accounts: Vec<Account>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    account: Vec<Spanned<RawAccount>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    domain: Spanned<String>,
    base_url: Option<Spanned<String>>,
    api_key_file: Option<Spanned<PathBuf>>,
    api_key_env: Option<Spanned<String>>,
}

impl Accounts {
    /// Reads and validates `path`; errors name the file, line and column.
    pub fn read(path: &Path) -> Result<Accounts, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            file: file.clone(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Accounts::parse(&file, &text, base, &|name| std::env::var(name).ok())
    }

    /// `base`: the directory a relative `api_key_file` is read from; `env`:
    /// how an `api_key_env` is looked up (the process environment).
    fn parse(
        file: &str,
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Accounts, PolicyError> {
        let invalid = |mut problems: Vec<(Range<usize>, String)>| {
            problems.sort_by_key(|(span, _)| span.start);
            PolicyError::Invalid {
                file: file.to_owned(),
                mistakes: problems
                    .into_iter()
                    .map(|(span, message)| {
                        let (line, column) = crate::policy::line_col(text, span.start);
                        Mistake {
                            line,
                            column,
                            message,
                        }
                    })
                    .collect(),
            }
        };
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| invalid(vec![(e.span().unwrap_or(0..0), e.message().to_owned())]))?;
        let mut problems = Vec::new();
        if raw.account.is_empty() {
            problems.push((
                0..0,
                "no [[account]] entries: give one per Freshdesk account".to_owned(),
            ));
        }
        let mut accounts = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for entry in raw.account {
            let span = entry.span();
            let raw = entry.into_inner();
            let target = Target::new(
                raw.domain.get_ref(),
                raw.base_url.as_ref().map(|u| u.get_ref().as_str()),
            );
            let target = match target {
                Ok(target) => Some(target),
                Err(e) => {
                    // The CLI's wording names its flags; here the keys.
                    let (at, message) = match (&e, &raw.base_url) {
                        (TargetError::Domain(_), _) | (_, None) => {
                            (raw.domain.span(), e.to_string().replacen("--domain", "domain", 1))
                        }
                        (_, Some(url)) => (url.span(), e.to_string().replacen("--base-url", "base_url", 1)),
                    };
                    problems.push((at, message));
                    None
                }
            };
            if let Some(target) = &target {
                let (line, _) = crate::policy::line_col(text, raw.domain.span().start);
                if let Some(first) = seen.insert(target.domain.clone(), line) {
                    problems.push((
                        raw.domain.span(),
                        format!(
                            "account `{}` is already given on line {first}: one entry per account",
                            target.domain
                        ),
                    ));
                }
            }
            let key = match (&raw.api_key_file, &raw.api_key_env) {
                (Some(path), None) => {
                    let full = base.join(path.get_ref());
                    ApiKey::from_env_or_file(Some(&full)).map_err(|e| (path.span(), e))
                }
                (None, Some(name)) => match env(name.get_ref()) {
                    Some(value) => ApiKey::new(&value).ok_or_else(|| {
                        (
                            name.span(),
                            format!("environment variable {} is empty", name.get_ref()),
                        )
                    }),
                    None => Err((
                        name.span(),
                        format!("environment variable {} is not set", name.get_ref()),
                    )),
                },
                (Some(_), Some(name)) => Err((
                    name.span(),
                    "give api_key_file or api_key_env, not both".to_owned(),
                )),
                (None, None) => Err((
                    span.clone(),
                    "this account has no key: give api_key_file or api_key_env (each account has its own)"
                        .to_owned(),
                )),
            };
            match (target, key) {
                (Some(target), Ok(key)) => accounts.push(Account { target, key }),
                (_, Err(problem)) => problems.push(problem),
                (None, Ok(_)) => {}
            }
        }
        if problems.is_empty() {
            Ok(Accounts { accounts })
        } else {
            Err(invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Accounts, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("acme.key"), "key-one\n").expect("key file");
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Accounts::parse("accounts.toml", text, dir.path(), &|name| env.get(name).cloned())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn two_accounts_each_with_its_own_key_and_url() {
        let accounts = parse(
            "[[account]]\ndomain = \"acme\"\napi_key_file = \"acme.key\"\n\n\
             [[account]]\ndomain = \"acme-eu.freshdesk.com\"\nbase_url = \"http://127.0.0.1:9\"\napi_key_env = \"EU_KEY\"\n",
            &[("EU_KEY", "key-two")],
        )
        .expect("valid");
        let got: Vec<(&str, &str, &str)> = accounts
            .accounts
            .iter()
            .map(|a| {
                (
                    a.target.domain.as_str(),
                    a.target.base_url.as_str(),
                    a.key.expose(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("acme", "https://acme.freshdesk.com/", "key-one"),
                ("acme-eu", "http://127.0.0.1:9/", "key-two"),
            ]
        );
    }

    /// Every mistake at once, each at its own line, and no key value in any.
    #[test]
    fn every_mistake_is_reported_at_its_line() {
        let err = parse(
            "[[account]]\ndomain = \"acme\"\napi_key_file = \"missing.key\"\n\n\
             [[account]]\ndomain = \"ACME\"\napi_key_env = \"SET\"\n\n\
             [[account]]\ndomain = \"bad_domain\"\napi_key_env = \"UNSET\"\n\n\
             [[account]]\ndomain = \"other\"\n\n\
             [[account]]\ndomain = \"third\"\nbase_url = \"http://example.com\"\napi_key_env = \"SET\"\n",
            &[("SET", "s3cret-value")],
        )
        .expect_err("invalid");
        for want in [
            "accounts.toml:3:16: ",
            "missing.key",
            "accounts.toml:6:10: account `acme` is already given on line 2",
            "accounts.toml:10:10: domain `bad_domain`",
            "accounts.toml:11:15: environment variable UNSET is not set",
            "accounts.toml:13:1: this account has no key",
            "accounts.toml:18:12: ",
        ] {
            assert!(err.contains(want), "{want}\n{err}");
        }
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn unknown_keys_and_an_empty_file_are_refused() {
        let err =
            parse("[[account]]\ndomain = \"acme\"\napi_key = \"inline\"\n", &[]).expect_err("unknown key");
        assert!(
            err.starts_with("accounts.toml:3:1: unknown field `api_key`"),
            "{err}"
        );
        let err = parse("", &[]).expect_err("empty");
        assert!(err.contains("no [[account]] entries"), "{err}");
        let err = parse(
            "[[account]]\ndomain = \"acme\"\napi_key_file = \"acme.key\"\napi_key_env = \"X\"\n",
            &[("X", "k")],
        )
        .expect_err("both");
        assert!(
            err.contains("accounts.toml:4:15: give api_key_file or api_key_env, not both"),
            "{err}"
        );
    }
}
