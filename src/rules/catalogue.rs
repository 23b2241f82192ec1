//! A short, stable name for the rule catalogue, so an auditor comparing two
//! evidence bundles can see whether the same rules judged both runs.

use sha2::{Digest, Sha256};

use super::{ALL_RULES, Severity};

/// `v1-` and the first 12 hex digits of the SHA-256 over every rule's id,
/// default severity and summary, in catalogue order. Any change to what a
/// rule is or says changes it; thresholds live in the policy, hashed apart.
pub fn catalogue_version() -> String {
    version_of(ALL_RULES.iter().map(|r| {
        let m = r.meta();
        (m.id, m.severity, m.summary)
    }))
}

fn version_of<'a>(rules: impl Iterator<Item = (&'a str, Severity, &'a str)>) -> String {
    let mut hash = Sha256::new();
    for (id, severity, summary) in rules {
        // Unit and record separators never occur in ids or summaries, so no
        // two catalogues feed the hash the same bytes.
        for field in [id, severity.as_str(), summary] {
            hash.update(field.as_bytes());
            hash.update([0x1f]);
        }
        hash.update([0x1e]);
    }
    let digest = hex::encode(hash.finalize());
    format!("v1-{}", &digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_stable_and_short() {
        let v = catalogue_version();
        assert_eq!(v, catalogue_version());
        assert_eq!(v.len(), 15, "{v}");
        assert!(v.starts_with("v1-"), "{v}");
        assert!(
            v[3..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{v}"
        );
    }

    #[test]
    fn any_change_to_id_severity_summary_or_order_changes_it() {
        let base = [
            ("a-rule", Severity::High, "Flags a."),
            ("b-rule", Severity::Low, "Flags b."),
        ];
        let v = |rules: &[(&'static str, Severity, &'static str)]| version_of(rules.iter().copied());
        let original = v(&base);
        let variants: [[(&str, Severity, &str); 2]; 5] = [
            [("a-rulx", Severity::High, "Flags a."), base[1]],
            [("a-rule", Severity::Critical, "Flags a."), base[1]],
            [("a-rule", Severity::High, "Flags a!"), base[1]],
            [base[1], base[0]],
            // Moving text across the field boundary must not collide.
            [
                ("a-rule", Severity::High, "Flags a."),
                ("b-rul", Severity::Low, "eFlags b."),
            ],
        ];
        for variant in variants {
            assert_ne!(v(&variant), original, "{variant:?}");
        }
        assert_eq!(v(&base), original);
    }
}
