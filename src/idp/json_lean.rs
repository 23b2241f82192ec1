//! The JSON readers' hot path: one user parsed into a `Value` that holds
//! only the members a reader needs to count it (its status and keys), every
//! other member checked exactly as a whole parse checks it, but never built.
//! Most users of a large export are no agent's: they are counted from this
//! alone, and only the few an agent has are parsed whole.
//!
//! A reader reads the partial user with the same code as a whole one, and
//! the two agree on every path it keeps: the members named (matched in any
//! case, so every spelling, in document order, a repeated name as a whole
//! parse leaves it) hold what they hold in the whole user. Anything else —
//! not an object, not valid JSON, a kept path through something that is not
//! an object — gives `None`, and the whole parse says what is wrong.
//!
//! Below `json_doc`, which hands users to it (`layers` checks).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The member paths a reader's hot path reads: `&["profile", "login"]` keeps
/// `profile` with only its `login`; `&["status"]` keeps `status` whole.
pub(crate) type Keep = &'static [&'static [&'static str]];

/// `bytes`, one user, with only the members on the paths of `keep`;
/// `None` when the user is not an object or not what a whole parse accepts.
pub(crate) fn partial(bytes: &[u8], keep: Keep) -> Option<Value> {
    if bytes.first() != Some(&b'{') {
        return None;
    }
    // As `json_doc` parses a whole user: from the bytes, UTF-8 checked, nothing after.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let user = Filter { keep, above: &[] }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(user)
}

/// A whole parse reads an object whose first name is this as a raw value
/// (`serde_json`'s `raw_value` feature): such a user is left to it.
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// The members of one object that lie on the paths of `keep` through the
/// names `above` it.
#[derive(Clone, Copy)]
struct Filter {
    keep: Keep,
    above: &'static [&'static str],
}

/// What becomes of one member.
enum Member {
    Whole,
    Some(Filter),
    Checked,
}

impl Filter {
    fn member(self, name: &str) -> Member {
        let depth = self.above.len();
        let mut on = self.keep.iter().filter(|path| {
            path.len() > depth
                && path[depth].eq_ignore_ascii_case(name)
                && path
                    .iter()
                    .zip(self.above)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        let Some(first) = on.next() else {
            return Member::Checked;
        };
        if first.len() == depth + 1 || on.any(|path| path.len() == depth + 1) {
            return Member::Whole;
        }
        Member::Some(Filter {
            keep: self.keep,
            above: &first[..=depth],
        })
    }
}

impl<'de> DeserializeSeed<'de> for Filter {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Filter {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    // Only objects: anything else on a kept path is left to the whole parse.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(Name(name)) = map.next_key()? {
            if name == RAW_VALUE {
                return Err(de::Error::custom("a raw value"));
            }
            match self.member(&name) {
                Member::Whole => {
                    kept.insert(name.into_owned(), map.next_value()?);
                }
                Member::Some(filter) => {
                    kept.insert(name.into_owned(), map.next_value_seed(filter)?);
                }
                Member::Checked => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
}

/// A member name, borrowed unless it holds escapes; read as a whole parse
/// reads one (escapes decoded, so checked).
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(s.to_owned())))
            }
        }
        de.deserialize_str(Text)
    }
}

/// Any JSON value, parsed as a whole parse parses it (strings decoded,
/// numbers read, nesting counted against the same limit) and dropped:
/// `IgnoredAny` would skip a lone surrogate or `1e999` that a whole parse refuses.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while let Some(Name(name)) = map.next_key()? {
            if name == RAW_VALUE {
                return Err(de::Error::custom("a raw value"));
            }
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Keep = &[&["status"], &["profile", "login"], &["profile", "email"]];

    fn lean(text: &str) -> Option<String> {
        partial(text.as_bytes(), KEEP).map(|v| v.to_string())
    }

    #[test]
    fn only_the_kept_paths_are_built() {
        let user = r#"{"id": 1, "Status": "A", "status": "B", "profile": {"login": "a",
            "LOGIN": "b", "name": {"x": [1.5, null]}, "email": 7}, "links": [{"a": true}]}"#;
        assert_eq!(
            lean(user).as_deref(),
            Some(r#"{"Status":"A","status":"B","profile":{"login":"a","LOGIN":"b","email":7}}"#)
        );
        // A repeated name keeps its first place and last value, as in a whole parse.
        let twice = r#"{"status": "A", "x": 1, "status": "B"}"#;
        let whole: Value = serde_json::from_str(twice).expect("valid");
        assert_eq!(whole.to_string(), r#"{"status":"B","x":1}"#);
        assert_eq!(lean(twice).as_deref(), Some(r#"{"status":"B"}"#));
    }

    #[test]
    fn what_a_whole_parse_refuses_or_reads_otherwise_is_left_to_it() {
        let users = [
            r#"["status", "A"]"#,
            r#"{"status": "A", "profile": ["login"]}"#,
            r#"{"status": "A", "x": "\uD800"}"#,
            r#"{"status": "A", "x": [1e999]}"#,
            r#"{"status": "A", "x": {"\uDC00": 1}}"#,
            "{\"status\": \"A\", \"x\": \"\u{1}\"}",
            r#"{"status": "A", "x": {"$serde_json::private::RawValue": "1"}}"#,
            r#"{"status": "A"} 1"#,
        ];
        for user in users {
            assert_eq!(lean(user), None, "{user}");
        }
        assert_eq!(partial(b"{\"x\": \"\xff\"}", KEEP), None, "not UTF-8");
        let deep = format!("{{\"x\": {}1{}}}", "[".repeat(127), "]".repeat(127));
        assert!(
            serde_json::from_str::<Value>(&deep).is_err(),
            "too deep for a whole parse"
        );
        assert_eq!(lean(&deep), None);
        let fits = format!("{{\"x\": {}1{}}}", "[".repeat(126), "]".repeat(126));
        assert!(serde_json::from_str::<Value>(&fits).is_ok());
        assert_eq!(lean(&fits).as_deref(), Some("{}"));
    }

    #[test]
    fn partial_users_are_accepted_exactly_when_whole_ones_are() {
        // Random users over JSON's tokens, odd escapes and numbers included.
        let tokens: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"status\"",
            "\"profile\"",
            "\"login\"",
            "\"a\\u00e9\"",
            "\"\\uD800\"",
            "\"\\uDC00\\uD800\"",
            "1",
            "-0.5e3",
            "1e999",
            "true",
            "null",
            " ",
        ];
        let mut rng = fastrand::Rng::with_seed(13);
        let mut agreed = 0;
        for _ in 0..40_000 {
            let mut user = String::from("{");
            for _ in 0..rng.usize(0..14) {
                user.push_str(tokens[rng.usize(..tokens.len())]);
            }
            let whole = serde_json::from_str::<Value>(&user);
            if let Some(lean) = partial(user.as_bytes(), KEEP) {
                let whole = whole.expect("a partial user is a valid user");
                let status = |v: &Value| v.as_object().map(|m| m.get("status").cloned());
                assert_eq!(status(&lean), status(&whole), "{user}");
                let login = |v: &Value| v.pointer("/profile/login").cloned();
                assert_eq!(login(&lean), login(&whole), "{user}");
                agreed += 1;
            }
        }
        assert!(agreed > 100, "{agreed} users read both ways");
    }
}
