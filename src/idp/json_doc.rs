//! JSON exports (API dumps), streamed: the users array is read one element
//! at a time, so memory follows one user, not the file (a whole document of
//! a million users as `serde_json::Value`s took 2 GB). This module only finds
//! where each value ends (strings, escapes, nesting) and where it starts (line
//! and column); `serde_json` parses and checks each value's own bytes. No
//! value may pass [`MAX_RECORD_BYTES`], which is checked before it is held.
//!
//! The document is the users array itself, or an object with the array
//! under one of the reader's names (`value`, `Resources`, ...); the object's
//! other members (`@odata.nextLink`, `totalResults`, ...) are kept.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::json_lean::{Keep, partial};
use super::sink::Sink;
use super::{IdpError, IdpStatus, MAX_RECORD_BYTES, too_long};

/// The names a users array may have in any export (for detection).
pub(crate) const ANY_ARRAY: &[&str] = &["value", "Resources", "results", "data"];

/// One element of the users array, with where it starts.
pub(crate) struct User {
    pub(crate) value: Value,
    /// 0-based position in the array.
    pub(crate) index: usize,
    line: u64,
    column: u64,
}

impl std::ops::Deref for User {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.value
    }
}

/// One element of the users array as read, not yet parsed: a reader's hot
/// path can take the few fields it needs ([`Raw::lean`]) and parse the whole
/// ([`Raw::user`]) only for users it keeps.
pub(crate) struct Raw<'a> {
    file: &'a str,
    bytes: &'a [u8],
    at: Pending,
}

impl<'a> Raw<'a> {
    /// The fields of `T` borrowed from the user's text, other fields
    /// skipped; `None` when the user is not a JSON object of that shape
    /// (the full parse then says what is wrong, or reads what is odd).
    pub(crate) fn lean<T: serde::Deserialize<'a>>(&self) -> Option<T> {
        // A struct would also read from an array: only objects.
        if self.bytes.first() != Some(&b'{') {
            return None;
        }
        let text = std::str::from_utf8(self.bytes).ok()?;
        serde_json::from_str(text).ok()
    }

    /// The whole user.
    pub(crate) fn user(&self) -> Result<User, IdpError> {
        let Pending { index, line, column } = self.at;
        Ok(User {
            value: parse_at(self.file, self.bytes, line, column, Some(index))?,
            index,
            line,
            column,
        })
    }
}

/// Where a user read ahead starts (its bytes are in `buf`).
#[derive(Clone, Copy)]
struct Pending {
    index: usize,
    line: u64,
    column: u64,
}

impl User {
    /// An error about this user, at the line and column where it starts.
    pub(crate) fn error(&self, file: &str, reason: String) -> IdpError {
        IdpError::At {
            file: file.to_owned(),
            line: self.line,
            column: self.column,
            reason: format!("user #{} of the array: {reason}", self.index + 1),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Top {
    Array,
    Object,
    /// Neither: no users here.
    Other,
}

pub(crate) struct JsonUsers {
    file: String,
    src: Box<dyn BufRead + Send>,
    /// Line and column (1-based, in bytes) of the next byte.
    line: u64,
    column: u64,
    top: Top,
    /// Names the users array may have in an object.
    names: &'static [&'static str],
    /// The object's members other than the users array (all of them once it is read).
    envelope: Map<String, Value>,
    /// The users array's name in the object, once found.
    key: Option<String>,
    /// Between the users array's `[` and its `]`.
    in_array: bool,
    /// The next user, read ahead into `buf` by [`JsonUsers::preview`].
    ahead: Option<Pending>,
    /// Users read so far.
    count: usize,
    buf: Vec<u8>,
}

impl JsonUsers {
    /// Reads up to the first user: the object's members before the users
    /// array (one named in `names`) are kept in the envelope.
    pub(crate) fn open(
        file: String,
        src: Box<dyn BufRead + Send>,
        names: &'static [&'static str],
    ) -> Result<JsonUsers, IdpError> {
        let mut users = JsonUsers {
            file,
            src,
            line: 1,
            column: 1,
            top: Top::Other,
            names,
            envelope: Map::new(),
            key: None,
            in_array: false,
            ahead: None,
            count: 0,
            buf: Vec::new(),
        };
        match users.peek()? {
            Some(b'[') => {
                users.bump();
                (users.top, users.in_array) = (Top::Array, true);
            }
            // With no name to look for (an Okta array expected), no member is read.
            Some(b'{') if !names.is_empty() => {
                users.bump();
                users.top = Top::Object;
                users.members()?;
            }
            _ => {}
        }
        Ok(users)
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// A member of the envelope by name: its exact spelling, else any case.
    pub(crate) fn member(&self, name: &str) -> Option<&Value> {
        let map = &self.envelope;
        map.get(name).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// Users handed out so far.
    pub(crate) fn count(&self) -> usize {
        self.count - usize::from(self.ahead.is_some())
    }

    /// Whether the document is the users array itself.
    pub(crate) fn is_array(&self) -> bool {
        self.top == Top::Array
    }

    /// The users array is the document, or under one of `names`: else an
    /// error saying what was expected.
    pub(crate) fn expect(&self, names: &[&str]) -> Result<(), IdpError> {
        let named = self
            .key
            .as_deref()
            .is_some_and(|k| names.iter().any(|n| n.eq_ignore_ascii_case(k)));
        if self.is_array() || named {
            return Ok(());
        }
        Err(IdpError::Row {
            file: self.file.clone(),
            line: 1,
            reason: format!(
                "expected a JSON array of users, or an object with {}",
                names.join(" or ")
            ),
        })
    }

    /// The document as far as detection needs it: the envelope with the
    /// users array holding only its first user (or the array of that user).
    /// An empty array's whole envelope is read first (`@odata.context`,
    /// `totalCount` tell an empty page's kind).
    pub(crate) fn preview(&mut self) -> Result<Value, IdpError> {
        if self.ahead.is_none() && self.count == 0 {
            self.ahead = self.read_user()?;
        }
        let first = match self.ahead {
            Some(at) => vec![parse_at(
                &self.file,
                &self.buf,
                at.line,
                at.column,
                Some(at.index),
            )?],
            None => Vec::new(),
        };
        Ok(match (self.top, &self.key) {
            (Top::Array, _) => Value::Array(first),
            (Top::Object, key) => {
                let mut doc = self.envelope.clone();
                if let Some(key) = key {
                    doc.insert(key.clone(), Value::Array(first));
                }
                Value::Object(doc)
            }
            (Top::Other, _) => Value::Null,
        })
    }

    /// The next user, parsed whole (for tests: readers take
    /// [`JsonUsers::next_wanted`]); `None` as that.
    #[cfg(test)]
    pub(crate) fn next(&mut self) -> Result<Option<User>, IdpError> {
        self.next_raw()?.map(|raw| raw.user()).transpose()
    }

    /// The next user to read whole; `None` after the last, once the rest of
    /// the document has been read and checked. Each user before it that
    /// `unwanted` counts from only the members `keep` names (`json_lean`) is
    /// counted into `sink` and passed over: `unwanted` gives the status of a
    /// user no agent has, `None` for any other (which is parsed whole).
    pub(crate) fn next_wanted(
        &mut self,
        sink: &mut Sink,
        keep: Keep,
        unwanted: impl Fn(&Value, &mut Sink) -> Option<IdpStatus>,
    ) -> Result<Option<User>, IdpError> {
        while let Some(raw) = self.next_raw()? {
            if let Some(status) = partial(raw.bytes, keep).and_then(|user| unwanted(&user, sink)) {
                sink.count(status);
                continue;
            }
            return raw.user().map(Some);
        }
        Ok(None)
    }

    /// The next user as read, not yet parsed; `None` after the last.
    pub(crate) fn next_raw(&mut self) -> Result<Option<Raw<'_>>, IdpError> {
        let at = match self.ahead.take() {
            Some(at) => at,
            None => match self.read_user()? {
                Some(at) => at,
                None => return Ok(None),
            },
        };
        Ok(Some(Raw {
            file: &self.file,
            bytes: &self.buf,
            at,
        }))
    }

    /// Reads the next user's bytes into `buf`.
    fn read_user(&mut self) -> Result<Option<Pending>, IdpError> {
        if !self.in_array {
            return Ok(None);
        }
        if self.count > 0 {
            match self.peek()? {
                Some(b',') => self.bump(),
                Some(b']') => return self.end_of_array(),
                found => return Err(self.unexpected(found, "`,` or `]` after a user")),
            }
        } else if self.peek()? == Some(b']') {
            return self.end_of_array();
        }
        let index = self.count;
        let (line, column) = self.raw_value(Some(index))?;
        self.count += 1;
        Ok(Some(Pending { index, line, column }))
    }

    fn end_of_array(&mut self) -> Result<Option<Pending>, IdpError> {
        self.bump();
        self.in_array = false;
        match self.top {
            Top::Object => self.members()?,
            _ => self.end()?,
        }
        Ok(None)
    }

    /// Members of the object up to the users array (left open) or its end.
    fn members(&mut self) -> Result<(), IdpError> {
        let mut first = self.envelope.is_empty() && self.key.is_none();
        loop {
            match self.peek()? {
                Some(b'}') => {
                    self.bump();
                    return self.end();
                }
                Some(b',') if !first => self.bump(),
                _ if first => {}
                found => return Err(self.unexpected(found, "`,` or `}` after a member")),
            }
            first = false;
            let found = self.peek()?;
            if found != Some(b'"') {
                return Err(self.unexpected(found, "a member name (a string)"));
            }
            let (line, column, Value::String(name)) = self.value()? else {
                return Err(self.unexpected(found, "a member name (a string)"));
            };
            match self.peek()? {
                Some(b':') => self.bump(),
                found => return Err(self.unexpected(found, "`:` after a member name")),
            }
            let users = self.names.iter().any(|n| n.eq_ignore_ascii_case(&name));
            if users && self.peek()? == Some(b'[') {
                if self.key.is_some() {
                    // Which of two arrays holds the users would be a guess.
                    let reason = format!("a second users array `{name}`: give one array of users");
                    return Err(self.at(line, column, reason));
                }
                self.bump();
                (self.key, self.in_array) = (Some(name), true);
                return Ok(());
            }
            let (_, _, value) = self.value()?;
            self.envelope.insert(name, value);
        }
    }

    /// Nothing but white space may follow the document.
    fn end(&mut self) -> Result<(), IdpError> {
        match self.peek()? {
            None => Ok(()),
            found => Err(self.unexpected(found, "the end of the file after the document")),
        }
    }

    /// One JSON value (after white space), parsed from its own bytes, with
    /// the line and column it starts at.
    fn value(&mut self) -> Result<(u64, u64, Value), IdpError> {
        let (line, column) = self.raw_value(None)?;
        Ok((line, column, parse_at(&self.file, &self.buf, line, column, None)?))
    }

    /// Reads one JSON value's bytes (after white space) into `buf`: the line
    /// and column it starts at. `user` names the user it is, for messages.
    fn raw_value(&mut self, user: Option<usize>) -> Result<(u64, u64), IdpError> {
        self.peek()?;
        let (line, column) = (self.line, self.column);
        if !self.extent()? {
            let reason = format!("{}{}", of_user(user), too_long("a JSON value"));
            return Err(self.at(line, column, reason));
        }
        if self.buf.is_empty() {
            let found = self.peek()?;
            return Err(self.unexpected(found, "a JSON value"));
        }
        Ok((line, column))
    }

    /// Copies the bytes of the value that starts here into `buf`: a string,
    /// an object or array to its matching bracket, or a scalar to the next
    /// delimiter (what they hold is for `serde_json` to check). False when
    /// the value passes the cap.
    fn extent(&mut self) -> Result<bool, IdpError> {
        self.buf.clear();
        let first = self
            .src
            .fill_buf()
            .map_err(|e| io(&self.file, e))?
            .first()
            .copied();
        let scalar = !matches!(first, Some(b'{' | b'[' | b'"'));
        let mut scan = Scan::default();
        loop {
            let chunk = self.src.fill_buf().map_err(|e| io(&self.file, e))?;
            if chunk.is_empty() {
                return Ok(true);
            }
            let (taken, done) = match scalar {
                true => scalar_end(chunk),
                false => scan.step(chunk),
            };
            self.buf.extend_from_slice(&chunk[..taken]);
            self.advance(taken);
            if self.buf.len() > MAX_RECORD_BYTES {
                return Ok(false);
            }
            if done {
                return Ok(true);
            }
        }
    }

    /// The next byte after white space, not consumed; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, IdpError> {
        loop {
            let chunk = self.src.fill_buf().map_err(|e| io(&self.file, e))?;
            // JSON's white space (not form feed, which `is_ascii_whitespace` allows).
            let blank = chunk
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            let next = chunk.get(blank).copied();
            if blank == 0 {
                return Ok(next);
            }
            self.advance(blank);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Consumes one byte (one `peek` has seen).
    fn bump(&mut self) {
        self.advance(1);
    }

    /// Consumes `n` buffered bytes, keeping the line and column.
    fn advance(&mut self, n: usize) {
        let Ok(chunk) = self.src.fill_buf() else { return };
        let chunk = &chunk[..n.min(chunk.len())];
        match memchr::memrchr(b'\n', chunk) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', chunk).count() as u64;
                self.column = (chunk.len() - last) as u64;
            }
            None => self.column += chunk.len() as u64,
        }
        let n = chunk.len();
        self.src.consume(n);
    }

    fn unexpected(&self, found: Option<u8>, wanted: &str) -> IdpError {
        let found = match found {
            None => "the end of the file (is it cut short?)".to_owned(),
            Some(b) if b.is_ascii_graphic() => format!("`{}`", b as char),
            Some(b) => format!("byte 0x{b:02x}"),
        };
        self.at(
            self.line,
            self.column,
            format!("expected {wanted}, found {found}"),
        )
    }

    fn at(&self, line: u64, column: u64, reason: String) -> IdpError {
        IdpError::At {
            file: self.file.clone(),
            line,
            column,
            reason,
        }
    }
}

/// Where a string, object or array stands, across the buffer's refills.
#[derive(Default)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// How many bytes of `chunk` belong to the value, and whether it ends there.
    fn step(&mut self, chunk: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < chunk.len() {
            if self.escaped {
                self.escaped = false;
            } else if self.in_string {
                // Most of an export is text: jump to the next quote or escape.
                let Some(k) = memchr::memchr2(b'"', b'\\', &chunk[i..]) else {
                    return (chunk.len(), false);
                };
                i += k;
                if chunk[i] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
            } else {
                match chunk[i] {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return (i + 1, true);
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        (chunk.len(), false)
    }
}

/// How many bytes of `chunk` a number or literal takes, and whether it ends there.
fn scalar_end(chunk: &[u8]) -> (usize, bool) {
    let delimiter = |b: &u8| matches!(b, b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\n' | b'\r');
    chunk
        .iter()
        .position(delimiter)
        .map_or((chunk.len(), false), |end| (end, true))
}

/// Parses the value in `bytes`, which starts at `line` and `column`: an
/// error is placed in the file (serde_json counts from the value's first byte).
fn parse_at(
    file: &str,
    bytes: &[u8],
    line: u64,
    column: u64,
    user: Option<usize>,
) -> Result<Value, IdpError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let (l, c) = (e.line().max(1) as u64, e.column() as u64);
        let (line, column) = match l {
            1 => (line, column + c.saturating_sub(1)),
            _ => (line + l - 1, c),
        };
        let text = e.to_string();
        let why = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(why, _)| why);
        IdpError::At {
            file: file.to_owned(),
            line,
            column,
            reason: format!("{}{why}", of_user(user)),
        }
    })
}

/// How a message names the user it is about.
fn of_user(user: Option<usize>) -> String {
    user.map_or(String::new(), |i| format!("user #{} of the array: ", i + 1))
}

fn io(file: &str, source: std::io::Error) -> IdpError {
    IdpError::Io {
        file: file.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &'static str, names: &'static [&'static str]) -> Result<JsonUsers, IdpError> {
        // A tiny buffer, so that values and positions cross its refills.
        let src = std::io::BufReader::with_capacity(3, text.as_bytes());
        JsonUsers::open("u.json".into(), Box::new(src), names)
    }

    /// Each user as (line, column, compact JSON).
    type Users = Vec<(u64, u64, String)>;

    /// The users, then the envelope as compact JSON.
    fn read(text: &'static str) -> Result<(Users, String), String> {
        let mut users = open(text, ANY_ARRAY).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some(user) = users.next().map_err(|e| e.to_string())? {
            out.push((user.line, user.column, user.value.to_string()));
        }
        Ok((out, Value::Object(users.envelope.clone()).to_string()))
    }

    #[test]
    fn users_stream_with_their_positions_and_the_envelope() {
        let (users, envelope) = read(
            "{\"a\": {\"x\": [1, \"]}\"]},\n \"Resources\": [\n  {\"s\": \"q\\\"}\"},\n  7, \"str\", [[]] ],\n\"b\": null}\n",
        )
        .expect("reads");
        assert_eq!(
            users,
            [
                (3, 3, r#"{"s":"q\"}"}"#.to_owned()),
                (4, 3, "7".to_owned()),
                (4, 6, "\"str\"".to_owned()),
                (4, 13, "[[]]".to_owned()),
            ]
        );
        assert_eq!(envelope, r#"{"a":{"x":[1,"]}"]},"b":null}"#);
        let (users, envelope) = read(" [ ] ").expect("empty");
        assert_eq!((users.len(), envelope.as_str()), (0, "{}"));
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let cases = [
            (
                "[{\"a\": 1},\n {\"a\": tru}]",
                "u.json:2:11: user #2 of the array: expected ident",
            ),
            (
                "[{\"a\": 1}\n {\"a\": 2}]",
                "u.json:2:2: expected `,` or `]` after a user, found `{`",
            ),
            (
                "{\"value\": [{\"a\": 1}",
                "u.json:1:20: expected `,` or `]` after a user, found the end",
            ),
            (
                "[1] 2",
                "u.json:1:5: expected the end of the file after the document, found `2`",
            ),
            (
                "{\"a\" 1}",
                "u.json:1:6: expected `:` after a member name, found `1`",
            ),
            (
                "{\"data\": [], \"data\": []}",
                "u.json:1:14: a second users array `data`",
            ),
            ("[1, ]", "u.json:1:5: expected a JSON value, found `]`"),
        ];
        for (text, want) in cases {
            let err = read(text).expect_err(text);
            assert!(err.starts_with(want), "{text}: {err}");
        }
    }

    #[test]
    fn a_value_over_the_cap_is_refused_where_it_starts() {
        let big: &'static str =
            Box::leak(format!("[1,\n  \"{}\"]", "x".repeat(MAX_RECORD_BYTES)).into_boxed_str());
        let err = read(big).expect_err("too long");
        assert!(
            err.starts_with("u.json:2:3: user #2 of the array: a JSON value longer than 1 MiB"),
            "{err}"
        );
    }

    #[test]
    fn preview_holds_the_first_user_and_an_empty_arrays_whole_envelope() {
        let mut users = open(
            "{\"x\": 1, \"value\": [{\"a\": 1}, {\"a\": 2}], \"y\": 2}",
            ANY_ARRAY,
        )
        .expect("opens");
        assert_eq!(
            users.preview().expect("preview").to_string(),
            r#"{"x":1,"value":[{"a":1}]}"#
        );
        let all: Vec<usize> = std::iter::from_fn(|| users.next().expect("user"))
            .map(|u| u.index)
            .collect();
        assert_eq!((all, users.count()), (vec![0, 1], 2));
        let mut empty = open("{\"value\": [], \"@odata.context\": \"c\"}", ANY_ARRAY).expect("opens");
        assert_eq!(
            empty.preview().expect("preview").to_string(),
            r#"{"@odata.context":"c","value":[]}"#
        );
        // No name to look for: an object is not read at all.
        let mut okta = open("{\"value\": [1]}", &[]).expect("opens");
        assert_eq!(okta.preview().expect("preview"), Value::Null);
        assert!(okta.expect(&[]).is_err());
    }

    #[test]
    fn streamed_arrays_are_what_serde_json_reads_whole() {
        // Random documents over JSON's tokens: the stream yields the array's
        // elements exactly when serde_json accepts the whole, and fails otherwise.
        let tokens: &[&str] = &[
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            "\"a\"",
            "\"\\\"]\"",
            "1",
            "-2.5e3",
            "true",
            "nul",
            " ",
            "\n",
            "\x0c",
            "\"\\u00e9\"",
        ];
        let mut rng = fastrand::Rng::with_seed(12);
        let mut agreed = 0;
        for _ in 0..20_000 {
            let mut doc = String::from("[");
            for _ in 0..rng.usize(0..12) {
                doc.push_str(tokens[rng.usize(..tokens.len())]);
            }
            let whole = serde_json::from_str::<Value>(&doc);
            let src = std::io::BufReader::with_capacity(4, std::io::Cursor::new(doc.clone().into_bytes()));
            let streamed =
                JsonUsers::open("r.json".into(), Box::new(src), ANY_ARRAY).and_then(|mut users| {
                    let mut items = Vec::new();
                    while let Some(user) = users.next()? {
                        items.push(user.value);
                    }
                    Ok(items)
                });
            match (whole, streamed) {
                (Ok(Value::Array(want)), Ok(got)) => {
                    assert_eq!(got, want, "{doc:?}");
                    agreed += 1;
                }
                (Err(_), Err(_)) => {}
                (whole, streamed) => panic!("{doc:?}: whole {whole:?}, streamed {streamed:?}"),
            }
        }
        assert!(agreed > 100, "{agreed} valid documents");
    }
}
