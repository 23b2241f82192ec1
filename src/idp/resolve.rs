//! Identity resolution: an agent's key against every identity's keys, with
//! the way each match was made kept for the explanation.

use std::collections::HashMap;

use serde::Serialize;

use super::{IdpSet, KeyKind};

/// How an agent was matched to an identity: the identity field that held
/// the key, or the policy rule that produced the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    Login,
    PrimaryEmail,
    SecondaryEmail,
    /// The agent's email domain was rewritten by the policy's `domain_aliases`.
    DomainAlias,
    /// The policy's `identity_map` names the IdP login for this agent.
    IdentityMap,
}

impl MatchMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMethod::Login => "login",
            MatchMethod::PrimaryEmail => "primary email",
            MatchMethod::SecondaryEmail => "secondary email",
            MatchMethod::DomainAlias => "domain alias",
            MatchMethod::IdentityMap => "identity map",
        }
    }
}

/// The policy's key rewrites, applied to an agent's email before matching.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KeyRewrites {
    /// Agent email domain → the domain the IdP uses (lower-cased).
    pub domain_aliases: std::collections::BTreeMap<String, String>,
    /// Agent email → IdP login (lower-cased); overrides everything else.
    pub identity_map: std::collections::BTreeMap<String, String>,
}

impl KeyRewrites {
    /// The key to look up for an agent email key, and the rewrite used if any.
    pub fn agent_key(&self, email_key: &str) -> (String, Option<MatchMethod>) {
        if let Some(login) = self.identity_map.get(email_key) {
            return (login.clone(), Some(MatchMethod::IdentityMap));
        }
        if let Some((local, domain)) = email_key.rsplit_once('@')
            && let Some(alias) = self.domain_aliases.get(domain)
        {
            return (format!("{local}@{alias}"), Some(MatchMethod::DomainAlias));
        }
        (email_key.to_owned(), None)
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
        self.resolve_via(key, None)
    }

    /// As [`IdentityIndex::resolve`]; a policy rewrite, when one made the key, is the method.
    pub fn resolve_via(&self, key: &str, rewrite: Option<MatchMethod>) -> Vec<Resolution> {
        self.by_key
            .get(key)
            .map(|hits| {
                hits.iter()
                    .map(|&(identity, kind)| Resolution {
                        identity,
                        method: rewrite.unwrap_or(kind.into()),
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
            assignments: None,
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

    #[test]
    fn identity_map_overrides_domain_alias() {
        let rewrites = KeyRewrites {
            domain_aliases: [("acme-corp.test".to_owned(), "acme.test".to_owned())].into(),
            identity_map: [("jane+fd@acme.test".to_owned(), "jane.morgan@acme.test".to_owned())].into(),
        };
        assert_eq!(
            rewrites.agent_key("ann@acme-corp.test"),
            ("ann@acme.test".to_owned(), Some(MatchMethod::DomainAlias))
        );
        assert_eq!(
            rewrites.agent_key("jane+fd@acme.test"),
            ("jane.morgan@acme.test".to_owned(), Some(MatchMethod::IdentityMap))
        );
        assert_eq!(
            rewrites.agent_key("bo@acme.test"),
            ("bo@acme.test".to_owned(), None)
        );
    }
}
