//! Text from the snapshot or an IdP export, made safe where a person reads
//! it: shown without hidden characters, and never run as a spreadsheet formula.
//!
//! A control character (general category Cc: NUL, BEL, ESC, ...) or
//! a format character (Cf: bidi overrides, zero-width spaces and joiners, the
//! byte-order mark, the soft hyphen, ...) shows nothing, or rearranges what
//! follows it: `Bob\u{202E}nimda` reads as `Bobadmin`. report.html,
//! findings.csv and the review workbook show each one as `[U+XXXX]` instead;
//! the JSON outputs keep the exact text, which JSON escapes unambiguously.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use unicode_general_category::{GeneralCategory, get_general_category};

/// A control or format character, other than tab and line feed: both formats
/// show those two as white space, and our own texts use the line feed.
pub fn is_invisible(c: char) -> bool {
    !matches!(c, '\t' | '\n')
        && matches!(
            get_general_category(c),
            GeneralCategory::Control | GeneralCategory::Format
        )
}

/// The first [invisible](is_invisible) character of `text`, if any.
pub fn first_invisible(text: &str) -> Option<char> {
    if all_ordinary_ascii(text.as_bytes()) {
        return None;
    }
    text.chars().find(|&c| is_invisible(c))
}

/// A character as a reader is shown it: `[U+202E]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodePoint(pub char);

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[U+{:04X}]", u32::from(self.0))
    }
}

/// `text` with every [invisible](is_invisible) character replaced by its
/// [`CodePoint`]; borrowed when there is none (nearly always).
pub fn show_invisible(text: &str) -> Cow<'_, str> {
    if first_invisible(text).is_none() {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_invisible(c) {
            // Writing into a String cannot fail.
            let _ = write!(shown, "{}", CodePoint(c));
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// Characters that make a spreadsheet run a cell as a formula.
pub const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as findings.csv and the review workbook write it: invisible
/// characters shown (see [`show_invisible`]), then [`neutralise`]d, since
/// what is shown is what a spreadsheet would run.
pub fn spreadsheet_cell(cell: &str) -> Cow<'_, str> {
    match show_invisible(cell) {
        Cow::Borrowed(cell) => neutralise(cell),
        Cow::Owned(shown) if is_formula(&shown) => Cow::Owned(format!("'{shown}")),
        shown => shown,
    }
}

/// A cell a spreadsheet would run as a formula gets a leading `'`: one that
/// starts with a [`FORMULA_START`], or whose first character after leading
/// whitespace does (a spreadsheet may trim that whitespace on import).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if is_formula(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn is_formula(cell: &str) -> bool {
    cell.starts_with(FORMULA_START) || cell.trim_start().starts_with(FORMULA_START)
}

/// A printable ASCII byte, tab or line feed: no lookup needed. Every
/// non-ASCII byte belongs to a character that must be looked up.
fn ordinary_ascii(b: u8) -> bool {
    matches!(b, b' '..=b'~' | b'\t' | b'\n')
}

/// Every byte [ordinary](ordinary_ascii). Eight bytes at a time: the reports
/// ask this of every text they write, hundreds of megabytes at a large
/// audit, and nearly every word of it is plain printable ASCII.
pub(crate) fn all_ordinary_ascii(bytes: &[u8]) -> bool {
    let (words, rest) = bytes.as_chunks::<8>();
    words
        .iter()
        .all(|word| printable_word(u64::from_le_bytes(*word)) || word.iter().all(|&b| ordinary_ascii(b)))
        && rest.iter().all(|&b| ordinary_ascii(b))
}

/// All eight bytes of `x` are printable ASCII (`' '..='~'`). May say no for
/// a word that is (then each byte is asked), never yes for one that is not.
const fn printable_word(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    // A byte below 0x20 borrows and sets its high bit; the borrow can only
    // flag bytes above a flagged one. A non-ASCII byte has it set already.
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    // DEL (0x7F) is the byte that becomes zero once xored with 0x7F.
    let del = x ^ (ONES * 0x7f);
    let del = del.wrapping_sub(ONES) & !del;
    (x | below_space | del) & HIGH == 0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The eight-bytes-at-a-time test agrees with the byte test: every byte
    /// value at every position of a word of printable bytes, and every pair
    /// of a byte below a space (whose borrow runs upwards) with another.
    #[test]
    fn word_test_agrees_with_byte_test() {
        let plain = *b"Ann.Lee@";
        for at in 0..8 {
            for b in 0..=255u8 {
                let mut word = plain;
                word[at] = b;
                let bytes_say = word.iter().all(|&b| ordinary_ascii(b));
                assert_eq!(all_ordinary_ascii(&word), bytes_say, "byte {b:#04x} at {at}");
                if printable_word(u64::from_le_bytes(word)) {
                    assert!(
                        (b' '..=b'~').contains(&b),
                        "byte {b:#04x} at {at} passed the word test"
                    );
                }
                // Inside longer text, after a remainder, and in one.
                let text = [&plain[..], &word[..], b"xyz"].concat();
                assert_eq!(all_ordinary_ascii(&text), bytes_say);
                assert_eq!(
                    all_ordinary_ascii(&word[..at]),
                    word[..at].iter().all(|&b| ordinary_ascii(b))
                );
            }
        }
        for low in [0u8, 0x09, 0x0a, 0x1f] {
            for b in 0..=255u8 {
                let word = [b'a', low, b, b'b', b'c', b, b'd', b'e'];
                assert_eq!(all_ordinary_ascii(&word), word.iter().all(|&b| ordinary_ascii(b)));
            }
        }
        assert!(all_ordinary_ascii(b"tab\tand line\nfeed are ordinary"));
        assert!(!all_ordinary_ascii("Bob\u{202E}nimda.example".as_bytes()));
    }

    /// A raw cell and how it is written; `review::unneutralise` reads it back.
    pub(crate) const FORMULA_CELLS: [(&str, &str); 7] = [
        ("=1+3 MSOBB", "'=1+3 MSOBB"),
        ("+31 20", "'+31 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Ann Lee", "Ann Lee"),
        ("a=b", "a=b"),
    ];

    /// `  =HYPERLINK(...)` went out as it was: spreadsheets that trim a
    /// cell's leading spaces on import then ran it.
    pub(crate) const WHITESPACE_FORMULA_CELLS: [(&str, &str); 9] = [
        ("  =HYPERLINK(\"http://x\")", "'  =HYPERLINK(\"http://x\")"),
        (" @SUM(A1)", "' @SUM(A1)"),
        ("\t+1", "'\t+1"),
        ("\r-1", "'\r-1"),
        (" \t\r =1", "' \t\r =1"),
        ("\n=1", "'\n=1"),
        ("\u{a0}=1", "'\u{a0}=1"),
        ("  Ann = Lee", "  Ann = Lee"),
        ("   ", "   "),
    ];

    #[test]
    fn formula_cells_are_neutralised() {
        for (raw, want) in FORMULA_CELLS {
            assert_eq!(neutralise(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn whitespace_before_a_formula_start_is_neutralised() {
        for (raw, want) in WHITESPACE_FORMULA_CELLS {
            assert_eq!(neutralise(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn spreadsheet_cells_show_invisible_characters_then_neutralise() {
        for (raw, want) in [
            ("Bob\u{202E}nimda", "Bob[U+202E]nimda"),
            (" =x\u{200B}", "' =x[U+200B]"),
            // Shown as text, a leading control character no longer starts a formula.
            ("\r=x", "[U+000D]=x"),
            ("\u{200B}=x", "[U+200B]=x"),
            ("\t=x", "'\t=x"),
            ("@x", "'@x"),
            ("Ann", "Ann"),
        ] {
            assert_eq!(spreadsheet_cell(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn invisible_characters_are_shown_as_code_points() {
        for (raw, shown) in [
            ("Bob\u{202E}nimda", "Bob[U+202E]nimda"),
            ("kev\u{200B}in@acme.test", "kev[U+200B]in@acme.test"),
            (
                "\0\u{7}\u{1B}[31m\u{7F}\u{85}",
                "[U+0000][U+0007][U+001B][31m[U+007F][U+0085]",
            ),
            (
                "\u{FEFF}Ann\u{AD}a\u{200D}\u{2066}x\u{E0041}",
                "[U+FEFF]Ann[U+00AD]a[U+200D][U+2066]x[U+E0041]",
            ),
            ("a\rb", "a[U+000D]b"),
            // Kept: tab and line feed, and everything visible.
            ("a\tb\nc", "a\tb\nc"),
            ("Zoë 東京 😀 O'Brien <x>", "Zoë 東京 😀 O'Brien <x>"),
            ("", ""),
        ] {
            assert_eq!(show_invisible(raw), shown, "{raw:?}");
            assert_eq!(first_invisible(raw).is_some(), raw != shown, "{raw:?}");
        }
        assert!(matches!(show_invisible("plain"), Cow::Borrowed(_)));
        assert!(matches!(show_invisible("Zoë"), Cow::Borrowed(_)));
        assert_eq!(CodePoint('\u{202E}').to_string(), "[U+202E]");
        assert_eq!(first_invisible("ab\u{200C}c\u{202E}"), Some('\u{200C}'));
    }
}
