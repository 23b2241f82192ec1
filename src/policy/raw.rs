//! The policy exactly as written; unknown keys are errors, not silently
//! ignored. Every value validation may refuse keeps its span
//! (`toml::Spanned`), so the mistake is reported where it stands.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::RoleRef;
use crate::idp::CsvMapping;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) dormant_days: Option<Spanned<u32>>,
    pub(super) occasional_dormant_days: Option<Spanned<u32>>,
    pub(super) invite_days: Option<Spanned<u32>>,
    pub(super) removal_sla_hours: Option<Spanned<u32>>,
    pub(super) review_period_days: Option<Spanned<u32>>,
    pub(super) privileged_roles: Option<Vec<RawRoleRef>>,
    /// Custom roles reviewed and judged not privileged.
    #[serde(default)]
    pub(super) standard_roles: Vec<RawRoleRef>,
    #[serde(default)]
    pub(super) rules: BTreeMap<Spanned<String>, RawRuleSettings>,
    /// Column mapping for `--idp csv:PATH` exports.
    pub(super) idp_csv: Option<Spanned<CsvMapping>>,
    /// Agent email domain → IdP domain.
    #[serde(default)]
    pub(super) domain_aliases: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Agent email → IdP login.
    #[serde(default)]
    pub(super) identity_map: BTreeMap<Spanned<String>, Spanned<String>>,
    pub(super) org_domains: Option<Vec<Spanned<String>>>,
    pub(super) shared_mailbox_names: Option<Vec<String>>,
    /// Each entry spans its `[[role_mapping]]` header (or inline table).
    #[serde(default)]
    pub(super) role_mapping: Vec<Spanned<RawRoleMapping>>,
    pub(super) admin_count: Option<RawAdminCount>,
    #[serde(default)]
    pub(super) exceptions: Vec<RawException>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoleMapping {
    pub(super) department: Option<String>,
    pub(super) group: Option<String>,
    #[serde(default)]
    pub(super) roles: Vec<RawRoleRef>,
    #[serde(default)]
    pub(super) groups: Vec<String>,
    pub(super) max_ticket_scope: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdminCount {
    pub(super) min: Option<Spanned<u32>>,
    pub(super) max: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawException {
    pub(super) rule: Spanned<String>,
    pub(super) agent: RawAgentRef,
    pub(super) justification: Spanned<String>,
    pub(super) approver: Spanned<String>,
    /// A TOML date (`2026-12-31`) or date-time.
    pub(super) expires: Spanned<toml::value::Datetime>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuleSettings {
    pub(super) enabled: Option<bool>,
    pub(super) severity: Option<Spanned<String>>,
}

/// A role by name or id. Read by [`RefVisitor`] rather than as an untagged
/// enum, whose only message is that nothing matched.
#[derive(Debug)]
pub(super) enum RawRoleRef {
    Id(u64),
    Name(String),
}

impl<'de> Deserialize<'de> for RawRoleRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawRoleRef, D::Error> {
        deserializer.deserialize_any(RefVisitor("a role is a role name or integer id"))
    }
}

/// An exception's agent: an email or an agent id.
#[derive(Debug)]
pub(super) struct RawAgentRef(pub(super) RawRoleRef);

impl<'de> Deserialize<'de> for RawAgentRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawAgentRef, D::Error> {
        deserializer
            .deserialize_any(RefVisitor(
                "`agent` is an agent's email or integer id (agent = \"ann@example.com\" or agent = 67013470001)",
            ))
            .map(RawAgentRef)
    }
}

/// A name or a non-negative integer; anything else is refused with the rule
/// it breaks (`.0`), and the value, at the value's own position.
struct RefVisitor(&'static str);

impl RefVisitor {
    fn refuse<E: de::Error>(&self, got: impl fmt::Display) -> E {
        E::custom(format!("{}, not {got}", self.0))
    }
}

impl<'de> Visitor<'de> for RefVisitor {
    type Value = RawRoleRef;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawRoleRef, E> {
        Ok(RawRoleRef::Id(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawRoleRef, E> {
        u64::try_from(v).map(RawRoleRef::Id).map_err(|_| self.refuse(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawRoleRef, E> {
        // Debug keeps the point: `2.0`, not `2`.
        Err(self.refuse(format_args!("{v:?}")))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawRoleRef, E> {
        Err(self.refuse(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRoleRef, E> {
        Ok(RawRoleRef::Name(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawRoleRef, E> {
        Ok(RawRoleRef::Name(v))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<RawRoleRef, A::Error> {
        Err(self.refuse("a list"))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<RawRoleRef, A::Error> {
        // A TOML date reaches here too, as toml's private one-key table.
        Err(self.refuse("a table or date"))
    }
}

impl RawRoleRef {
    pub(super) fn into_typed(self) -> RoleRef {
        match self {
            RawRoleRef::Id(id) => RoleRef::Id(id),
            RawRoleRef::Name(name) => RoleRef::Name(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    const EXCEPTION: &str = "[[exceptions]]\nrule = \"dormant-agent\"\nagent = AGENT\njustification = \"seasonal\"\napprover = \"Head of Support\"\nexpires = 2027-01-31\n";

    /// `agent = 1.5` was refused as "data did not match any variant of
    /// untagged enum RawRoleRef", which names neither the key nor what it takes.
    #[test]
    fn a_float_exception_agent_names_the_key_and_what_an_agent_is() {
        for (agent, shown) in [
            ("1.5", "1.5"),
            ("-3", "-3"),
            ("true", "true"),
            ("[1]", "a list"),
            ("{ id = 1 }", "a table"),
            ("2027-01-01", "a table or date"),
        ] {
            let text = EXCEPTION.replace("AGENT", agent);
            let err = Policy::parse("p.toml", &text).expect_err(agent).to_string();
            assert!(err.starts_with("p.toml:3:9: "), "{err}");
            assert!(err.contains("`agent` is an agent's email or integer id"), "{err}");
            assert!(err.contains(shown), "{err}");
            assert!(!err.contains("untagged"), "{err}");
        }
        for agent in ["12", "\"ann@acme.test\""] {
            let text = EXCEPTION.replace("AGENT", agent);
            Policy::parse("p.toml", &text).expect(agent);
        }
    }

    #[test]
    fn a_float_role_names_what_a_role_is() {
        for (text, at) in [
            ("privileged_roles = [\"Billing\", 2.5]\n", "p.toml:1:32: "),
            ("standard_roles = [2.5]\n", "p.toml:1:19: "),
            (
                "[[role_mapping]]\ngroup = \"Billing\"\nroles = [2.5]\n",
                "p.toml:3:10: ",
            ),
        ] {
            let err = Policy::parse("p.toml", text).expect_err(text).to_string();
            assert!(err.starts_with(at), "{err}");
            assert!(err.contains("a role is a role name or integer id"), "{err}");
            assert!(!err.contains("untagged"), "{err}");
        }
    }
}
