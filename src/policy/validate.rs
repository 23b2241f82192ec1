//! Raw policy → typed [`Policy`], collecting every mistake of the file, each
//! at the span of the value that is wrong.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use toml::Spanned;

use super::raw::{RawPolicy, RawRoleRef};
use super::types::{AdminCount, AgentRef, Exception, RoleMapping};
use super::{Policy, RuleSettings};
use crate::catalogue::is_rule_id;
use crate::model::TicketScope;

/// A mistake: the byte range of the wrong value, and the message.
pub(super) type Problem = (Range<usize>, String);

/// The mistakes found so far, in the order they were found.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn at(&mut self, span: Range<usize>, key: impl fmt::Display, reason: impl fmt::Display) {
        self.0.push((span, format!("`{key}`: {reason}")));
    }

    /// What `check` makes of the value, or `None` with its mistake recorded
    /// at the value.
    fn check<S: Borrow<T>, T: ?Sized, U>(
        &mut self,
        value: &Spanned<S>,
        key: impl fmt::Display,
        check: impl FnOnce(&T) -> Result<U, String>,
    ) -> Option<U> {
        check(value.get_ref().borrow())
            .map_err(|why| self.at(value.span(), key, why))
            .ok()
    }
}

impl RawPolicy {
    /// Typed policy, or every mistake found. `text` is the file the raw
    /// policy was read from, asked only for spans the raw types cannot keep.
    pub(super) fn validate(self, text: &str) -> Result<Policy, Vec<Problem>> {
        let mut problems = Problems::default();
        let mut policy = Policy::default();
        let t = &mut policy.thresholds;
        for (key, raw, days) in [
            ("dormant_days", self.dormant_days, &mut t.dormant_days),
            (
                "occasional_dormant_days",
                self.occasional_dormant_days,
                &mut t.occasional_dormant_days,
            ),
            ("invite_days", self.invite_days, &mut t.invite_days),
            (
                "review_period_days",
                self.review_period_days,
                &mut t.review_period_days,
            ),
        ] {
            if let Some(raw) = raw {
                *days = problems.check(&raw, key, at_least_one_day).unwrap_or(*days);
            }
        }
        if let Some(raw) = self.removal_sla_hours {
            t.removal_sla_hours = problems
                .check(&raw, "removal_sla_hours", at_least_one_hour)
                .unwrap_or(t.removal_sla_hours);
        }
        if let Some(roles) = self.privileged_roles {
            // The contract: privileged_roles adds to the two default roles.
            for role in roles.into_iter().map(RawRoleRef::into_typed) {
                if !policy.privileged_roles.contains(&role) {
                    policy.privileged_roles.push(role);
                }
            }
        }
        policy.standard_roles = self
            .standard_roles
            .into_iter()
            .map(RawRoleRef::into_typed)
            .collect();
        if let Some(domains) = self.org_domains {
            policy.org_domains = domains
                .iter()
                .filter_map(|d| problems.check(d, "org_domains", org_domain))
                .collect();
        }
        if let Some(names) = self.shared_mailbox_names {
            policy.shared_mailbox_names = names.iter().map(|n| n.trim().to_lowercase()).collect();
        }
        for (i, entry) in self.role_mapping.into_iter().enumerate() {
            let key = format!("role_mapping[{i}]");
            let span = entry.span();
            let m = entry.into_inner();
            if m.department.is_none() && m.group.is_none() {
                problems.at(span, &key, "names neither a department nor a group");
            }
            let max_ticket_scope = m
                .max_ticket_scope
                .and_then(|s| problems.check(&s, format!("{key}.max_ticket_scope"), ticket_scope));
            policy.role_mapping.push(RoleMapping {
                department: m.department,
                group: m.group,
                roles: m.roles.into_iter().map(RawRoleRef::into_typed).collect(),
                groups: m.groups,
                max_ticket_scope,
            });
        }
        if let Some(bounds) = self.admin_count {
            if let (Some(min), Some(max)) = (&bounds.min, &bounds.max)
                && min.get_ref() > max.get_ref()
            {
                // The minimum is the value read against the maximum above it.
                problems.at(min.span(), "admin_count", format!("min {min} is above max {max}"));
            }
            policy.admin_count = AdminCount {
                min: bounds.min.map(Spanned::into_inner),
                max: bounds.max.map(Spanned::into_inner),
            };
        }
        for (i, e) in self.exceptions.into_iter().enumerate() {
            let key = format!("exceptions[{i}]");
            if !is_rule_id(e.rule.get_ref()) {
                problems.at(e.rule.span(), format!("{key}.rule"), no_such_rule(&e.rule));
            }
            for (field, value) in [("justification", &e.justification), ("approver", &e.approver)] {
                problems.check(value, format!("{key}.{field}"), not_blank);
            }
            let Some(expires) = problems.check(&e.expires, format!("{key}.expires"), toml_datetime) else {
                continue;
            };
            policy.exceptions.push(Exception {
                rule: e.rule.into_inner(),
                agent: match e.agent.0 {
                    RawRoleRef::Id(id) => AgentRef::Id(id),
                    RawRoleRef::Name(email) => AgentRef::Email(email.trim().to_lowercase()),
                },
                justification: e.justification.into_inner(),
                approver: e.approver.into_inner(),
                expires,
            });
        }
        for (from, to) in &self.domain_aliases {
            for domain in [from, to] {
                problems.check(domain, format!("domain_aliases.\"{from}\""), alias_domain);
            }
        }
        policy.rewrites.domain_aliases = lower(self.domain_aliases);
        for (agent, login) in &self.identity_map {
            let key = format!("identity_map.\"{agent}\"");
            let why = "maps an agent email to an IdP login: \"agent@example.com\" = \"login\"";
            if !agent.get_ref().contains('@') {
                problems.at(agent.span(), &key, why);
            }
            if login.get_ref().trim().is_empty() {
                problems.at(login.span(), &key, why);
            }
        }
        policy.rewrites.identity_map = lower(self.identity_map);
        if let Some(mapping) = self.idp_csv {
            if mapping.get_ref().login.trim().is_empty() {
                let span = csv_login_span(text).unwrap_or_else(|| mapping.span());
                problems.at(span, "idp_csv.login", "must name the login column");
            }
            policy.idp_csv = Some(mapping.into_inner());
        }
        for (id, raw) in self.rules {
            if !is_rule_id(id.get_ref()) {
                problems.at(id.span(), format!("rules.\"{id}\""), no_such_rule(&id));
            }
            let severity = raw
                .severity
                .and_then(|s| problems.check(&s, format!("rules.\"{id}\".severity"), str::parse));
            policy.rules.insert(
                id.into_inner(),
                RuleSettings {
                    enabled: raw.enabled,
                    severity,
                },
            );
        }
        if problems.0.is_empty() {
            Ok(policy)
        } else {
            Err(problems.0)
        }
    }
}

fn at_least_one_day(days: &u32) -> Result<u32, String> {
    match *days {
        0 => Err("must be at least 1 day".to_owned()),
        days => Ok(days),
    }
}

fn at_least_one_hour(hours: &u32) -> Result<u32, String> {
    match *hours {
        0 => Err("must be at least 1 hour".to_owned()),
        hours => Ok(hours),
    }
}

/// An `org_domains` entry, lower-cased and without a leading dot.
fn org_domain(d: &str) -> Result<String, String> {
    if d.trim().is_empty() || d.contains(['@', ' ']) {
        return Err(format!("`{d}` is not a domain"));
    }
    Ok(d.trim().trim_start_matches('.').to_lowercase())
}

fn alias_domain(d: &str) -> Result<(), String> {
    if d.is_empty() || d.contains(['@', ' ']) {
        return Err(format!("`{d}` is not a domain"));
    }
    Ok(())
}

fn not_blank(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be empty: an auditor asks who and why".to_owned());
    }
    Ok(())
}

fn no_such_rule(id: &Spanned<String>) -> String {
    format!("no rule is called `{id}`")
}

fn ticket_scope(raw: &str) -> Result<TicketScope, String> {
    match raw.to_ascii_lowercase().as_str() {
        "global" => Ok(TicketScope::Global),
        "group" => Ok(TicketScope::Group),
        "restricted" => Ok(TicketScope::Restricted),
        other => Err(format!("`{other}` is not global, group or restricted")),
    }
}

/// A TOML date means the end of that day (UTC); a date-time needs an offset.
fn toml_datetime(dt: &toml::value::Datetime) -> Result<jiff::Timestamp, String> {
    match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => {
            let date = jiff::civil::date(d.year as i16, d.month as i8, d.day as i8);
            jiff::tz::TimeZone::UTC
                .to_timestamp(date.to_datetime(jiff::civil::time(23, 59, 59, 0)))
                .map_err(|e| e.to_string())
        }
        (Some(_), Some(_), Some(_)) => dt.to_string().parse().map_err(|e: jiff::Error| e.to_string()),
        _ => Err(format!(
            "`{dt}` is not a date (2026-12-31) or a date-time with an offset"
        )),
    }
}

/// Where `idp_csv.login`'s value stands. `CsvMapping` belongs to `idp` and
/// keeps no spans, so the parsed document is asked, and only when the login
/// is wrong.
fn csv_login_span(text: &str) -> Option<Range<usize>> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let login = doc.get_ref().get("idp_csv")?.get_ref().get("login")?;
    Some(login.span())
}

fn lower(map: BTreeMap<Spanned<String>, Spanned<String>>) -> BTreeMap<String, String> {
    map.into_iter()
        .map(|(k, v)| {
            (
                k.get_ref().trim().to_lowercase(),
                v.get_ref().trim().to_lowercase(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    fn mistakes(text: &str) -> String {
        Policy::parse("p.toml", text).expect_err(text).to_string()
    }

    const EXCEPTION: &str = "[[exceptions]]\nrule = \"dormant-agent\"\nagent = 1\njustification = \"j\"\napprover = \"a\"\nexpires = 2027-01-31\n";

    /// Mistakes found after parsing were placed by searching the text for
    /// the first line starting with the key's last segment: a mistake in a
    /// second entry stood at the first entry's line, others at 1:1.
    #[test]
    fn each_mistake_points_at_the_value_that_is_wrong() {
        let second_exception = |from: &str, to: &str| format!("{EXCEPTION}{}", EXCEPTION.replace(from, to));
        let cases = [
            (
                second_exception("dormant-agent", "dormant"),
                "p.toml:8:8: `exceptions[1].rule`: no rule is called `dormant`",
            ),
            (
                second_exception("\"a\"", "\" \""),
                "p.toml:11:12: `exceptions[1].approver`: must not be empty: an auditor asks who and why",
            ),
            (
                second_exception("2027-01-31", "2027-01-31T12:00:00"),
                "p.toml:12:11: `exceptions[1].expires`: `2027-01-31T12:00:00` is not a date (2026-12-31) or a date-time with an offset",
            ),
            (
                "[[role_mapping]]\ndepartment = \"Support\"\n\n[[role_mapping]]\nroles = [\"Agent\"]\n".to_owned(),
                "p.toml:4:1: `role_mapping[1]`: names neither a department nor a group",
            ),
            (
                "[[role_mapping]]\ngroup = \"A\"\nmax_ticket_scope = \"group\"\n[[role_mapping]]\ngroup = \"B\"\nmax_ticket_scope = \"Everything\"\n".to_owned(),
                "p.toml:6:20: `role_mapping[1].max_ticket_scope`: `everything` is not global, group or restricted",
            ),
            (
                "[admin_count]\nmin = 5\nmax = 2\n".to_owned(),
                "p.toml:2:7: `admin_count`: min 5 is above max 2",
            ),
            (
                "[rules.\"stale-invite\"]\nseverity = \"low\"\n[rules.\"dormant-agent\"]\nseverity = \"urgent\"\n".to_owned(),
                "p.toml:4:12: `rules.\"dormant-agent\".severity`: `urgent` is not a severity (critical, high, medium, low, info)",
            ),
            (
                "[rules.\"stale-invite\"]\nenabled = false\n[rules.\"no-such-rule\"]\nenabled = false\n".to_owned(),
                "p.toml:3:8: `rules.\"no-such-rule\"`: no rule is called `no-such-rule`",
            ),
            (
                "[domain_aliases]\n\"old.test\" = \"acme.test\"\n\"\" = \"acme.test\"\n".to_owned(),
                "p.toml:3:1: `domain_aliases.\"\"`: `` is not a domain",
            ),
            (
                "[domain_aliases]\n\"old.test\" = \"a@acme.test\"\n".to_owned(),
                "p.toml:2:14: `domain_aliases.\"old.test\"`: `a@acme.test` is not a domain",
            ),
            (
                "[identity_map]\n\"jane+fd@acme.test\" = \"jane@acme.test\"\n\"\" = \"jane@acme.test\"\n".to_owned(),
                "p.toml:3:1: `identity_map.\"\"`: maps an agent email to an IdP login: \"agent@example.com\" = \"login\"",
            ),
            (
                "[identity_map]\n\"a@acme.test\" = \" \"\n".to_owned(),
                "p.toml:2:17: `identity_map.\"a@acme.test\"`: maps an agent email to an IdP login: \"agent@example.com\" = \"login\"",
            ),
            (
                "org_domains = [\"acme.test\", \"not a domain\"]\n".to_owned(),
                "p.toml:1:29: `org_domains`: `not a domain` is not a domain",
            ),
            (
                "invite_days = 14\ndormant_days = 0\n".to_owned(),
                "p.toml:2:16: `dormant_days`: must be at least 1 day",
            ),
            (
                "review_period_days = 0\n".to_owned(),
                "p.toml:1:22: `review_period_days`: must be at least 1 day",
            ),
            (
                "dormant_days = 90\nremoval_sla_hours = 0\n".to_owned(),
                "p.toml:2:21: `removal_sla_hours`: must be at least 1 hour",
            ),
            (
                "[idp_csv]\nemail = \"Email\"\nlogin = \"\"\n".to_owned(),
                "p.toml:3:9: `idp_csv.login`: must name the login column",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(mistakes(&text), want, "{text}");
        }
    }

    /// Only the first mistake of a file was reported: fixing a policy took
    /// one run per mistake.
    #[test]
    fn every_mistake_of_the_file_is_reported_at_once_in_file_order() {
        let text = include_str!("../../fixtures/policy/every-mistake.toml");
        let got = Policy::parse("every-mistake.toml", text)
            .expect_err("invalid")
            .to_string();
        let want = [
            "every-mistake.toml:4:16: `dormant_days`: must be at least 1 day",
            "every-mistake.toml:5:29: `org_domains`: `not a domain` is not a domain",
            "every-mistake.toml:8:7: `admin_count`: min 5 is above max 2",
            "every-mistake.toml:13:1: `domain_aliases.\"\"`: `` is not a domain",
            "every-mistake.toml:17:1: `identity_map.\"\"`: maps an agent email to an IdP login: \"agent@example.com\" = \"login\"",
            "every-mistake.toml:24:1: `role_mapping[1]`: names neither a department nor a group",
            "every-mistake.toml:26:20: `role_mapping[1].max_ticket_scope`: `everything` is not global, group or restricted",
            "every-mistake.toml:32:12: `rules.\"dormant-agent\".severity`: `urgent` is not a severity (critical, high, medium, low, info)",
            "every-mistake.toml:34:8: `rules.\"no-such-rule\"`: no rule is called `no-such-rule`",
            "every-mistake.toml:45:8: `exceptions[1].rule`: no rule is called `dormant`",
            "every-mistake.toml:48:12: `exceptions[1].approver`: must not be empty: an auditor asks who and why",
            "every-mistake.toml:49:11: `exceptions[1].expires`: `2027-01-31T12:00:00` is not a date (2026-12-31) or a date-time with an offset",
            "every-mistake.toml:53:9: `idp_csv.login`: must name the login column",
        ];
        assert_eq!(got.lines().collect::<Vec<_>>(), want);
    }
}
