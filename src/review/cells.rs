//! Cell and email helpers shared by export and import.

use std::borrow::Cow;

/// The same rule as findings.csv.
pub use crate::text::neutralise;
use crate::text::{first_invisible, is_invisible, show_invisible};

/// Undoes [`neutralise`]: drops a leading `'` only where export would have
/// added one, so a name like `'t Hooft` is read back unchanged. Asks
/// `neutralise` itself, so the two cannot drift apart.
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if neutralise(rest) != rest => rest,
        _ => cell,
    }
}

/// The address as both sides of the self-review check see it, and as
/// decisions.json records a reviewer: without invisible characters (see
/// [`is_invisible`]), trimmed, without a `mailto:` prefix (any case), the
/// local part out of its quotes (`"kevin"@` is `kevin@`, `\x` is `x`),
/// lower-cased. Two spellings of one mailbox come out alike.
pub fn canonical_email(raw: &str) -> String {
    let visible: String = raw.chars().filter(|&c| !is_invisible(c)).collect();
    let mut address = visible.trim();
    if let Some(scheme) = address.get(..MAILTO.len())
        && scheme.eq_ignore_ascii_case(MAILTO)
    {
        address = address[MAILTO.len()..].trim_start();
    }
    match address.rsplit_once('@') {
        Some((local, domain)) => format!("{}@{domain}", unquote(local)).to_lowercase(),
        None => address.to_lowercase(),
    }
}

const MAILTO: &str = "mailto:";

/// A local part in double quotes without them, each quoted pair (`\x`) read
/// as its character; any other local part as it is.
fn unquote(local: &str) -> Cow<'_, str> {
    let Some(inner) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) else {
        return Cow::Borrowed(local);
    };
    let mut chars = inner.chars();
    let mut plain = String::with_capacity(inner.len());
    while let Some(c) = chars.next() {
        plain.push(match c {
            '\\' => chars.next().unwrap_or(c),
            c => c,
        });
    }
    Cow::Owned(plain)
}

/// [`canonical_email`] with any `+tag` removed from the local part: two
/// addresses that fold alike reach the same mailbox.
pub fn fold_email(email: &str) -> String {
    let email = canonical_email(email);
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _tag)| base);
            format!("{local}@{domain}")
        }
        None => email,
    }
}

/// [`fold_email`] reduced to its Unicode confusable skeleton (UTS #39):
/// `ciso@acme.test` with a Cyrillic `с`, or `bi1l@` for `bill@`, come out
/// alike. For the self-review and four-eyes checks only, which must not be
/// passed with a lookalike of one's own address; never a mailbox to record.
pub fn lookalike_key(email: &str) -> String {
    let folded = fold_email(email);
    unicode_security::skeleton(&folded)
        .collect::<String>()
        .to_lowercase()
}

/// The reviewer cell as decisions.json records it ([`canonical_email`]), or
/// why it is refused. A cell holding an invisible character is refused, not
/// cleaned: the evidence must read as what it is, and the reviewer retypes
/// the address rather than the tool guessing it.
pub fn reviewer_address(cell: &str) -> Result<String, String> {
    if let Some(c) = first_invisible(cell) {
        return Err(format!(
            "reviewer `{}` holds an invisible character, U+{:04X}: type the address again",
            show_invisible(cell),
            u32::from(c)
        ));
    }
    let address = canonical_email(cell);
    if looks_like_email(&address) {
        Ok(address)
    } else {
        Err(format!("reviewer `{cell}` is not an email address"))
    }
}

/// A plausible address: one `@`, a local part of letters, digits and the
/// symbols an address may hold unquoted (no spaces, quotes, brackets, commas
/// or invisible characters), and a dotted domain of letters, digits and `-`.
/// Enough to catch a name typed where an email belongs, or an address
/// wrapped in something that would make it compare unlike itself.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_char = |c: char| c.is_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(c);
    let domain_char = |c: char| c.is_alphanumeric() || c == '-' || c == '.';
    !local.is_empty()
        && local.chars().all(local_char)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.chars().all(domain_char)
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
    fn lookalike_addresses_share_a_key_and_others_do_not() {
        let key = lookalike_key("ciso@acme.test");
        // Cyrillic с and і, the digit 1 for l, full-width letters, a +tag.
        for alike in [
            "\u{441}iso@acme.test",
            "c\u{456}so@acme.test",
            "CISO+approve@ACME.test",
            "\u{ff43}iso@acme.test",
        ] {
            assert_eq!(lookalike_key(alike), key, "{alike}");
        }
        assert_eq!(
            lookalike_key("it.1ead@acme.test"),
            lookalike_key("it.lead@acme.test")
        );
        for other in ["cfo@acme.test", "ciso@acme.example", "cisco@acme.test"] {
            assert_ne!(lookalike_key(other), key, "{other}");
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

    /// `mailto:kevin@acme.test`, `"kevin"@acme.test` and `kev<U+200B>in@acme.test`
    /// folded to other addresses than kevin@acme.test, so Kevin could
    /// review himself.
    #[test]
    fn fold_email_sees_through_mailto_quotes_and_invisible_characters() {
        for raw in [
            "mailto:kevin@acme.test",
            "MailTo:Kevin@ACME.test",
            " mailto: kevin@acme.test ",
            "\"kevin\"@acme.test",
            "\"ke\\vin\"@acme.test",
            "mailto:\"Kevin+q4\"@acme.test",
            "kev\u{200B}in@acme.test",
            "\u{FEFF}kevin@acme\u{AD}.test\u{200E}",
            "\u{202E}kevin@acme.test\u{202C}",
            "kevin\0@acme.test",
        ] {
            assert_eq!(fold_email(raw), "kevin@acme.test", "{raw:?}");
        }
    }

    #[test]
    fn reviewer_address_cases() {
        for (cell, address) in [
            ("Auditor@ACME.test", "auditor@acme.test"),
            ("MAILTO:Auditor@acme.test", "auditor@acme.test"),
            ("\"auditor\"@acme.test", "auditor@acme.test"),
            // The tag stays in the record; only the comparison drops it.
            ("mailto:auditor+q4@acme.test", "auditor+q4@acme.test"),
        ] {
            assert_eq!(reviewer_address(cell).as_deref(), Ok(address), "{cell:?}");
        }
        for (cell, says) in [
            (
                "kev\u{200B}in@acme.test",
                "reviewer `kev[U+200B]in@acme.test` holds an invisible character, U+200B",
            ),
            ("\u{202E}kevin@acme.test", "U+202E"),
            ("kevin@acme.test\u{FEFF}", "U+FEFF"),
            ("Marcus Bell", "reviewer `Marcus Bell` is not an email address"),
            ("<kevin@acme.test>", "is not an email address"),
            ("Kevin <kevin@acme.test>", "is not an email address"),
            ("\"kevin smith\"@acme.test", "is not an email address"),
            ("\"kevin\"x@acme.test", "is not an email address"),
            ("mailto:", "is not an email address"),
            ("kevin@acme.test?subject=x", "is not an email address"),
        ] {
            let why = reviewer_address(cell).expect_err(cell);
            assert!(why.contains(says), "{cell:?}: {why}");
        }
    }

    #[test]
    fn looks_like_email_cases() {
        for ok in [
            "a@b.test",
            "marcus.bell+q4@acme.test",
            "zoë@bücher.test",
            "o'brien@acme.test",
        ] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in [
            "",
            "<a@b.test>",
            "a,b@acme.test",
            "a\u{200B}b@acme.test",
            "a@acme.test;",
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
