//! Cell and email helpers shared by export and import.

/// The same rule as findings.csv.
pub use crate::text::neutralise;

/// Undoes [`neutralise`]: drops a leading `'` only where export would have
/// added one, so a name like `'t Hooft` is read back unchanged. Asks
/// `neutralise` itself, so the two cannot drift apart.
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if neutralise(rest) != rest => rest,
        _ => cell,
    }
}

/// Trimmed, lower-cased, with any `+tag` removed from the local part: two
/// addresses that fold alike reach the same mailbox.
pub fn fold_email(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _tag)| base);
            format!("{local}@{domain}")
        }
        None => email,
    }
}

/// A plausible address: one `@`, something before it, a dotted domain after
/// it, no spaces. Enough to catch a name typed where an email belongs.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::{FORMULA_CELLS, WHITESPACE_FORMULA_CELLS};

    #[test]
    fn neutralise_and_back() {
        for (raw, cell) in FORMULA_CELLS {
            assert_eq!(neutralise(raw), cell);
            assert_eq!(unneutralise(cell), raw);
        }
        // A quote export did not add stays.
        assert_eq!(unneutralise("' x"), "' x");
        assert_eq!(unneutralise("'t Hooft"), "'t Hooft");
        assert_eq!(unneutralise("'"), "'");
        assert_eq!(unneutralise(""), "");
    }

    /// Export quotes `  =x` now; import must drop that quote again.
    #[test]
    fn unneutralise_undoes_a_quote_before_whitespace_and_a_formula() {
        for (raw, cell) in WHITESPACE_FORMULA_CELLS {
            assert_eq!(unneutralise(cell), raw, "{raw:?}");
        }
    }

    #[test]
    fn fold_email_cases() {
        for (raw, folded) in [
            (" Olivia.Hart@ACME.test ", "olivia.hart@acme.test"),
            ("jane+fd@acme.test", "jane@acme.test"),
            ("Jane+Review+2@Acme.Test", "jane@acme.test"),
            ("+tag@acme.test", "@acme.test"),
            ("no-at-sign", "no-at-sign"),
            // The domain is left alone, `+` and all.
            ("a@b+c.test", "a@b+c.test"),
        ] {
            assert_eq!(fold_email(raw), folded, "{raw}");
        }
    }

    #[test]
    fn looks_like_email_cases() {
        for ok in ["a@b.test", "marcus.bell+q4@acme.test"] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in [
            "",
            "Marcus Bell",
            "@acme.test",
            "a@localhost",
            "a@@acme.test",
            "a@b@c.test",
            "a b@acme.test",
            "a@.test",
            "a@acme.",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
