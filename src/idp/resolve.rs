//! Identity resolution: an agent's key against every identity's keys, with
//! the way each match was made kept for the explanation.

use std::collections::HashMap;

use serde::Serialize;

use super::{IdpSet, KeyKind};

/// How an agent was matched to an identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    Login,
    PrimaryEmail,
    SecondaryEmail,
}

impl MatchMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMethod::Login => "login",
            MatchMethod::PrimaryEmail => "primary email",
            MatchMethod::SecondaryEmail => "secondary email",
        }
    }
}

impl From<KeyKind> for MatchMethod {
    fn from(kind: KeyKind) -> MatchMethod {
        match kind {
            KeyKind::Login => MatchMethod::Login,
            KeyKind::PrimaryEmail => MatchMethod::PrimaryEmail,
            KeyKind::SecondaryEmail => MatchMethod::SecondaryEmail,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// Index into [`IdpSet::identities`].
    pub identity: usize,
    pub method: MatchMethod,
    /// The key both sides share.
    pub key: String,
}

/// Key → identities holding it.
pub struct IdentityIndex {
    by_key: HashMap<String, Vec<(usize, KeyKind)>>,
}

impl IdentityIndex {
    pub fn new(set: &IdpSet) -> IdentityIndex {
        let mut by_key: HashMap<String, Vec<(usize, KeyKind)>> = HashMap::new();
        for (idx, identity) in set.identities.iter().enumerate() {
            for (key, kind) in &identity.keys {
                by_key.entry(key.clone()).or_default().push((idx, *kind));
            }
        }
        IdentityIndex { by_key }
    }

    /// Every identity, in every source, that holds `key` (already lower-cased).
    pub fn resolve(&self, key: &str) -> Vec<Resolution> {
        self.by_key
            .get(key)
            .map(|hits| {
                hits.iter()
                    .map(|&(identity, kind)| Resolution {
                        identity,
                        method: kind.into(),
                        key: key.to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::{Identity, IdpStatus};

    fn identity(source: usize, keys: &[(&str, KeyKind)]) -> Identity {
        let mut identity = Identity::new(source, 2, keys[0].0, IdpStatus::Active, "ACTIVE");
        for (key, kind) in &keys[1..] {
            identity.push_key(key, *kind);
        }
        identity
    }

    #[test]
    fn resolves_across_sources_with_method() {
        let set = IdpSet {
            sources: Vec::new(),
            identities: vec![
                identity(0, &[("ann@acme.test", KeyKind::Login)]),
                identity(
                    1,
                    &[
                        ("x#ext#@t.test", KeyKind::Login),
                        ("ann@acme.test", KeyKind::SecondaryEmail),
                    ],
                ),
                identity(1, &[("ann+fd@acme.test", KeyKind::Login)]),
            ],
        };
        let index = IdentityIndex::new(&set);
        let hits = index.resolve("ann@acme.test");
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].method, MatchMethod::Login);
        assert_eq!(hits[1].method, MatchMethod::SecondaryEmail);
        // A +tag is not folded when resolving.
        assert_eq!(index.resolve("ann+fd@acme.test").len(), 1);
        assert!(index.resolve("bob@acme.test").is_empty());
    }
}
