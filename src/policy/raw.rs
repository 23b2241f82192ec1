//! The policy exactly as written; unknown keys are errors, not silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Policy, RoleRef, RuleSettings, known_rule};
use crate::idp::CsvMapping;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    dormant_days: Option<u32>,
    occasional_dormant_days: Option<u32>,
    invite_days: Option<u32>,
    privileged_roles: Option<Vec<RawRoleRef>>,
    #[serde(default)]
    rules: BTreeMap<String, RawRuleSettings>,
    /// Column mapping for `--idp csv:PATH` exports.
    idp_csv: Option<CsvMapping>,
    /// Agent email domain → IdP domain.
    #[serde(default)]
    domain_aliases: BTreeMap<String, String>,
    /// Agent email → IdP login.
    #[serde(default)]
    identity_map: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRoleRef {
    Id(u64),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleSettings {
    enabled: Option<bool>,
    severity: Option<String>,
}

impl RawPolicy {
    /// Typed policy, or the offending key and why.
    pub(super) fn validate(self) -> Result<Policy, (String, String)> {
        let mut policy = Policy::default();
        let t = &mut policy.thresholds;
        t.dormant_days = self.dormant_days.unwrap_or(t.dormant_days);
        t.occasional_dormant_days = self.occasional_dormant_days.unwrap_or(t.occasional_dormant_days);
        t.invite_days = self.invite_days.unwrap_or(t.invite_days);
        for (key, days) in [
            ("dormant_days", t.dormant_days),
            ("occasional_dormant_days", t.occasional_dormant_days),
            ("invite_days", t.invite_days),
        ] {
            if days == 0 {
                return Err((key.to_owned(), "must be at least 1 day".to_owned()));
            }
        }
        if let Some(roles) = self.privileged_roles {
            policy.privileged_roles = roles
                .into_iter()
                .map(|r| match r {
                    RawRoleRef::Id(id) => RoleRef::Id(id),
                    RawRoleRef::Name(name) => RoleRef::Name(name),
                })
                .collect();
        }
        for (from, to) in &self.domain_aliases {
            for (key, domain) in [(from, from), (from, to)] {
                if domain.is_empty() || domain.contains(['@', ' ']) {
                    return Err((
                        format!("domain_aliases.\"{key}\""),
                        format!("`{domain}` is not a domain"),
                    ));
                }
            }
        }
        policy.rewrites.domain_aliases = lower(self.domain_aliases);
        for (agent, login) in &self.identity_map {
            if !agent.contains('@') || login.trim().is_empty() {
                return Err((
                    format!("identity_map.\"{agent}\""),
                    "maps an agent email to an IdP login: \"agent@example.com\" = \"login\"".to_owned(),
                ));
            }
        }
        policy.rewrites.identity_map = lower(self.identity_map);
        if let Some(mapping) = self.idp_csv {
            if mapping.login.trim().is_empty() {
                return Err((
                    "idp_csv.login".to_owned(),
                    "must name the login column".to_owned(),
                ));
            }
            policy.idp_csv = Some(mapping);
        }
        for (id, raw) in self.rules {
            if !known_rule(&id) {
                return Err((format!("rules.\"{id}\""), format!("no rule is called `{id}`")));
            }
            let severity = raw
                .severity
                .map(|s| s.parse())
                .transpose()
                .map_err(|why| (format!("rules.\"{id}\".severity"), why))?;
            policy.rules.insert(
                id,
                RuleSettings {
                    enabled: raw.enabled,
                    severity,
                },
            );
        }
        Ok(policy)
    }
}

fn lower(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter()
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_lowercase()))
        .collect()
}
