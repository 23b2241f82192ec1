//! The policy file: the organisation's decisions as reviewable text. Read
//! into a raw form that rejects unknown keys, then validated into [`Policy`].
//! The rules read the policy; the policy never imports the rules (rule ids
//! and severities come from [`crate::catalogue`], below both).

mod raw;
mod types;
mod validate;

pub use types::{AdminCount, AgentRef, Exception, RoleMapping};

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::catalogue::Severity;
use crate::idp::{CsvMapping, KeyRewrites};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Every mistake of the file, in file order, one `FILE:LINE:COLUMN:
    /// message` a line.
    #[error("{}", show(.file, .mistakes))]
    Invalid { file: String, mistakes: Vec<Mistake> },
}

/// One mistake in a policy file, placed at the value that is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mistake {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn show(file: &str, mistakes: &[Mistake]) -> String {
    let lines: Vec<String> = mistakes
        .iter()
        .map(|m| format!("{file}:{}:{}: {}", m.line, m.column, m.message))
        .collect();
    lines.join("\n")
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    pub dormant_days: u32,
    pub occasional_dormant_days: u32,
    pub invite_days: u32,
    /// How long after a termination access may last (`late-removal`).
    pub removal_sla_hours: u32,
    /// The review period without `--previous-run`: leavers terminated this
    /// many days before as-of, or later.
    pub review_period_days: u32,
}

/// A privileged role, named or by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RoleRef {
    Name(String),
    Id(u64),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RuleSettings {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    pub thresholds: Thresholds,
    pub privileged_roles: Vec<RoleRef>,
    /// Custom roles the organisation reviewed and judged not privileged.
    pub standard_roles: Vec<RoleRef>,
    pub rules: BTreeMap<String, RuleSettings>,
    /// How to read `--idp csv:PATH` exports.
    pub idp_csv: Option<CsvMapping>,
    /// `domain_aliases` and `identity_map`.
    pub rewrites: KeyRewrites,
    /// The organisation's own email domains (subdomains included), for `external-domain`.
    pub org_domains: Vec<String>,
    /// Local parts of shared mailboxes, lower-cased, for `shared-mailbox`.
    pub shared_mailbox_names: Vec<String>,
    pub role_mapping: Vec<RoleMapping>,
    pub admin_count: AdminCount,
    pub exceptions: Vec<Exception>,
}

/// The commented default policy `deskaudit policy init` writes.
pub const DEFAULT_POLICY: &str = include_str!("default.toml");

/// The contract's default shared-mailbox local parts.
pub const DEFAULT_SHARED_MAILBOXES: &[&str] = &[
    "admin",
    "administrator",
    "billing",
    "contact",
    "help",
    "helpdesk",
    "info",
    "it",
    "noreply",
    "no-reply",
    "office",
    "sales",
    "service",
    "servicedesk",
    "support",
    "team",
];

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            thresholds: Thresholds {
                dormant_days: 90,
                occasional_dormant_days: 180,
                invite_days: 14,
                removal_sla_hours: 24,
                review_period_days: 92,
            },
            privileged_roles: vec![
                RoleRef::Name("Account Administrator".into()),
                RoleRef::Name("Administrator".into()),
            ],
            standard_roles: Vec::new(),
            rules: BTreeMap::new(),
            idp_csv: None,
            rewrites: KeyRewrites::default(),
            org_domains: Vec::new(),
            shared_mailbox_names: DEFAULT_SHARED_MAILBOXES.iter().map(|s| (*s).to_owned()).collect(),
            role_mapping: Vec::new(),
            admin_count: AdminCount::default(),
            exceptions: Vec::new(),
        }
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            file: file.clone(),
            source,
        })?;
        Policy::parse(&file, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let invalid = |mut problems: Vec<validate::Problem>| {
            problems.sort_by_key(|(span, _)| span.start);
            let mistakes = problems
                .into_iter()
                .map(|(span, message)| {
                    let (line, column) = line_col(text, span.start);
                    Mistake {
                        line,
                        column,
                        message,
                    }
                })
                .collect();
            PolicyError::Invalid {
                file: file.to_owned(),
                mistakes,
            }
        };
        // The deserializer stops at its first mistake (syntax, unknown key,
        // wrong type); validation then finds every other one at once.
        let raw: raw::RawPolicy = toml::from_str(text)
            .map_err(|e| invalid(vec![(e.span().unwrap_or(0..0), e.message().to_owned())]))?;
        raw.validate(text).map_err(invalid)
    }

    /// A role is privileged when named exactly (or by id) in `privileged_roles`.
    pub fn is_privileged(&self, role_id: u64, role_name: Option<&str>) -> bool {
        self.privileged_roles.iter().any(|r| match r {
            RoleRef::Id(id) => *id == role_id,
            RoleRef::Name(name) => role_name == Some(name.as_str()),
        })
    }

    /// A custom role (not one of Freshdesk's defaults) that the policy names
    /// neither privileged nor standard: its privilege is unknown until classified.
    pub fn is_unclassified(&self, role_id: u64, role_name: &str, default_role: bool) -> bool {
        let named = |list: &[RoleRef]| {
            list.iter().any(|r| match r {
                RoleRef::Id(id) => *id == role_id,
                RoleRef::Name(name) => name == role_name,
            })
        };
        !default_role && !named(&self.privileged_roles) && !named(&self.standard_roles)
    }

    pub fn rule_enabled(&self, id: &str) -> bool {
        self.rules.get(id).and_then(|r| r.enabled).unwrap_or(true)
    }

    pub fn severity_for(&self, id: &str, default: Severity) -> Severity {
        self.rules.get(id).and_then(|r| r.severity).unwrap_or(default)
    }
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arrows run one way: `rules` → `policy` → `catalogue`.
    #[test]
    fn the_policy_does_not_import_the_rules() {
        let rules = concat!("crate::", "rules");
        for (file, text) in [
            ("mod.rs", include_str!("mod.rs")),
            ("raw.rs", include_str!("raw.rs")),
            ("types.rs", include_str!("types.rs")),
            ("validate.rs", include_str!("validate.rs")),
        ] {
            assert!(!text.contains(rules), "src/policy/{file} imports the rules");
        }
    }

    #[test]
    fn empty_policy_is_the_default() {
        assert_eq!(Policy::parse("p.toml", "").expect("valid"), Policy::default());
    }

    #[test]
    fn the_written_default_policy_is_the_default() {
        assert_eq!(
            Policy::parse("default.toml", DEFAULT_POLICY).expect("valid"),
            Policy::default()
        );
    }

    #[test]
    fn exceptions_are_validated() {
        let ok = "[[exceptions]]\nrule = \"dormant-agent\"\nagent = \"Ann@acme.test\"\njustification = \"seasonal\"\napprover = \"Head of Support\"\nexpires = 2027-01-31\n";
        let p = Policy::parse("p.toml", ok).expect("valid");
        assert_eq!(p.exceptions[0].agent, AgentRef::Email("ann@acme.test".into()));
        assert_eq!(p.exceptions[0].expires.to_string(), "2027-01-31T23:59:59Z");
        let cases = [
            (ok.replace("2027-01-31", "2027-13-31"), "p.toml:6:"),
            (ok.replace("dormant-agent", "dormant"), "dormant"),
            (ok.replace("\"Head of Support\"", "\" \""), "approver"),
            (ok.replace("expires = 2027-01-31\n", ""), "expires"),
        ];
        for (text, says) in cases {
            let err = Policy::parse("p.toml", &text).expect_err(&text).to_string();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn reads_thresholds_roles_and_rule_settings() {
        let text = "dormant_days = 60\nprivileged_roles = [\"Account Administrator\", 123]\n\n[rules.\"privileged-agent\"]\nseverity = \"low\"\n";
        let p = Policy::parse("p.toml", text).expect("valid");
        assert_eq!(p.thresholds.dormant_days, 60);
        assert_eq!(p.thresholds.invite_days, 14);
        assert!(p.is_privileged(123, None));
        assert!(
            p.is_privileged(1, Some("Administrator")),
            "privileged_roles adds to the defaults"
        );
        assert!(!p.is_privileged(1, Some("Supervisor")));
        assert_eq!(p.severity_for("privileged-agent", Severity::Info), Severity::Low);
    }

    #[test]
    fn reads_the_leavers_keys() {
        let p = Policy::parse("p.toml", "removal_sla_hours = 4\nreview_period_days = 30\n").expect("valid");
        assert_eq!(
            (p.thresholds.removal_sla_hours, p.thresholds.review_period_days),
            (4, 30)
        );
        let d = Policy::default().thresholds;
        assert_eq!((d.removal_sla_hours, d.review_period_days), (24, 92));
    }

    #[test]
    fn reads_a_csv_column_mapping() {
        let text = "[idp_csv]\nlogin = \"Email\"\nstatus = \"State\"\nactive_values = [\"on\"]\n";
        let p = Policy::parse("p.toml", text).expect("valid");
        assert_eq!(p.idp_csv.as_ref().map(|m| m.login.as_str()), Some("Email"));
        let err =
            Policy::parse("p.toml", "[idp_csv]\nlogin = \"Email\"\nstatuss = \"x\"\n").expect_err("typo");
        assert!(err.to_string().starts_with("p.toml:3:"), "{err}");
    }

    #[test]
    fn mistakes_name_key_and_line() {
        let cases = [
            (
                "dormant_days = 90\ndormnat_days = 3\n",
                "p.toml:2:",
                "dormnat_days",
            ),
            ("invite_days = \"two weeks\"\n", "p.toml:1:", "invalid type"),
            (
                "[rules.\"no-such-rule\"]\nenabled = false\n",
                "p.toml:1:",
                "no-such-rule",
            ),
            (
                "[rules.\"stale-invite\"]\nseverity = \"urgent\"\n",
                "p.toml:2:",
                "urgent",
            ),
        ];
        for (text, at, says) in cases {
            let err = Policy::parse("p.toml", text).expect_err(text).to_string();
            assert!(err.starts_with(at), "{err}");
            assert!(err.contains(says), "{err}");
        }
    }
}
