//! The one way the hand-written parts of report.html reach their buffer:
//! markup only as string literals (`&'static str`), data only escaped.
//!
//! The escaping is minijinja's auto-escaping for `.html` templates, byte for
//! byte (the page frame is still rendered by minijinja, and a row must read
//! the same whichever of the two wrote it): `&` `<` `>` `"` `'` `/` become
//! `&amp;` `&lt;` `&gt;` `&quot;` `&#x27;` `&#x2f;`; every other byte,
//! non-ASCII included, is copied. Before that, a control or format character
//! (a NUL, a bidi override, a zero-width space) is shown as `[U+XXXX]`
//! (`text::show_invisible`, the rule findings.csv follows): the frame's
//! formatter (`html/mod.rs`) escapes through [`escape_into`] too.

use std::fmt;

use crate::text::show_invisible;

/// Appends markup and escaped text to a byte buffer. The buffer is private to
/// this module: the row writers can add data to it only through [`Html::text`]
/// and its siblings, which escape.
pub struct Html<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Html<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Html<'a> {
        Html { buf }
    }

    /// Markup of our own, inserted as it is. `'static`, so it is a literal of
    /// the writers (the unit tests check every call passes one), never data.
    #[inline]
    pub fn markup(&mut self, markup: &'static str) {
        self.buf.extend_from_slice(markup.as_bytes());
    }

    /// Data, escaped.
    #[inline]
    pub fn text(&mut self, text: &str) {
        escape_into(self.buf, text);
    }

    /// `text` with every `from` replaced by `to`, escaped after the
    /// replacement (as minijinja's `replace` filter, then auto-escaping).
    pub fn text_replacing(&mut self, text: &str, from: char, to: &str) {
        for (i, part) in text.split(from).enumerate() {
            if i > 0 {
                self.text(to);
            }
            self.text(part);
        }
    }

    /// An unsigned number, in decimal.
    pub fn number(&mut self, n: u64) {
        self.display(n);
    }

    /// Anything `Display` (a timestamp, a count), escaped.
    pub fn display(&mut self, value: impl fmt::Display) {
        use fmt::Write as _;
        // Writing into a Vec cannot fail; a Display impl that errors writes less.
        let _ = write!(Escaping(self.buf), "{value}");
    }
}

/// A `fmt::Write` that escapes what it is given.
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

/// What each byte is replaced by: `None` for the bytes copied as they are.
const fn replacement(b: u8) -> Option<&'static [u8]> {
    match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'"' => Some(b"&quot;"),
        b'\'' => Some(b"&#x27;"),
        b'/' => Some(b"&#x2f;"),
        _ => None,
    }
}

/// What each byte value is replaced by, looked up once per byte.
const ENTITY: [Option<&[u8]>; 256] = {
    let mut table = [None; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = replacement(b as u8);
        b += 1;
    }
    table
};

/// The bytes [`replacement`] replaces, each in every byte of a word.
const SPECIAL: [u64; 6] = {
    let bytes = *b"&<>\"'/";
    let mut words = [0; 6];
    let mut i = 0;
    while i < 6 {
        words[i] = 0x0101_0101_0101_0101 * bytes[i] as u64;
        i += 1;
    }
    words
};

/// Some byte of `word` may have a [`replacement`]. Never no for a word that
/// has one: a zero byte of `word ^ special` is a byte equal to it.
fn may_need_entity(word: [u8; 8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = u64::from_le_bytes(word);
    SPECIAL.iter().any(|&special| {
        let y = x ^ special;
        y.wrapping_sub(ONES) & !y & (ONES * 0x80) != 0
    })
}

/// Appends `text` to `out`, invisible characters shown, HTML-escaped. Runs
/// of ordinary bytes are copied whole; the six special bytes are ASCII, so a
/// UTF-8 sequence is never split. Words of eight bytes without a special
/// byte are passed over whole: the report escapes hundreds of megabytes.
pub fn escape_into(out: &mut Vec<u8>, text: &str) {
    let text = show_invisible(text);
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if let Some(word) = bytes.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok())
            && !may_need_entity(word)
        {
            i += 8;
            continue;
        }
        if let Some(entity) = ENTITY[usize::from(b)] {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(entity);
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        escape_into(&mut out, text);
        String::from_utf8(out).expect("escaping keeps UTF-8")
    }

    /// The word test never misses a byte the table replaces, wherever it
    /// sits, and lets through words of bytes it does not.
    #[test]
    fn word_test_finds_every_special_byte() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = b;
                if ENTITY[usize::from(b)].is_some() {
                    assert!(may_need_entity(word), "byte {b:#04x} at {at}");
                }
            }
        }
        assert!(!may_need_entity(*b"user.36@"));
        // Across a word's edge and after the last whole word.
        assert_eq!(escaped("abcdefg<hijklmnop/q"), "abcdefg&lt;hijklmnop&#x2f;q");
        assert_eq!(escaped("abcdefgh&"), "abcdefgh&amp;");
    }

    #[test]
    fn escapes_the_six_special_bytes_and_nothing_else() {
        assert_eq!(
            escaped(r#"<script>alert('x' && "y")</script>"#),
            "&lt;script&gt;alert(&#x27;x&#x27; &amp;&amp; &quot;y&quot;)&lt;&#x2f;script&gt;"
        );
        assert_eq!(escaped("Zoë → 東京 · ok"), "Zoë → 東京 · ok");
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("&"), "&amp;");
        assert_eq!(escaped("a/b"), "a&#x2f;b");
    }

    #[test]
    fn escapes_as_minijinja_does() {
        // Every byte value that is a visible character on its own (and tab
        // and line feed), and a few multi-byte ones, against minijinja's own
        // escaping. Invisible characters are ours to show (below).
        let mut all: String = (1u8..128)
            .map(char::from)
            .filter(|&c| !crate::text::is_invisible(c))
            .collect();
        all.push_str("é€😀\u{2028}");
        let env = minijinja::Environment::new();
        let theirs = env
            .render_str(
                "{% autoescape 'html' %}{{ s }}{% endautoescape %}",
                minijinja::context! { s => &all },
            )
            .expect("render");
        assert_eq!(escaped(&all), theirs);
    }

    #[test]
    fn invisible_characters_are_shown_then_escaped() {
        assert_eq!(escaped("Bob\u{202E}<b>\0"), "Bob[U+202E]&lt;b&gt;[U+0000]");
        assert_eq!(escaped("a\tb\nc"), "a\tb\nc");
        let mut buf = Vec::new();
        Html::new(&mut buf).display("x\u{200B}y");
        assert_eq!(String::from_utf8(buf).expect("utf-8"), "x[U+200B]y");
    }

    #[test]
    fn numbers_and_display_values_go_through_the_escaping() {
        let mut buf = Vec::new();
        let mut html = Html::new(&mut buf);
        html.number(18_446_744_073_709_551_615);
        html.markup(" ");
        html.display("a/b");
        html.markup(" ");
        html.text_replacing("x;<y>;z", ';', ", ");
        assert_eq!(
            String::from_utf8(buf).expect("utf-8"),
            "18446744073709551615 a&#x2f;b x, &lt;y&gt;, z"
        );
    }
}
