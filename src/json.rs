//! JSON text to and from [`serde_json::Value`], by hand. serde_json's reader and writer go
//! through serde's (de)serializer traits, `std::io` and, for every typed read, serde's error
//! texts (which format floats and debug-print strings): ~40 KiB of .wasm in all. The agent
//! only reads and writes `Value`s, plus a one-pass scan of the frequent stream records, so
//! this is all it needs.
//!
//! * Writing is byte for byte what `serde_json::to_string` writes (keys in the map's order,
//!   numbers as `serde_json::Number` displays them, strings escaped like `JSON.stringify`).
//! * Reading accepts exactly RFC 8259 JSON, as serde_json does (no trailing commas, no
//!   comments, no lone surrogates, no raw control characters in strings, nesting at most
//!   128 deep, numbers that fit a double), and gives the same `Value`: integers as `u64` /
//!   `i64` when they fit, other numbers as the correctly rounded double. Duplicate keys:
//!   the last wins, as in `JSON.parse`. The tests check both directions against serde_json.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::borrow::Cow;

use serde_json::{Map, Number, Value};

/// `value` as compact JSON text.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Appends `value` as compact JSON text.
pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            use core::fmt::Write;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_str(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `s` as a JSON string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str(s, &mut out);
    out
}

/// A Rust value as JSON, for [`jv!`](crate::jv): what `serde_json::json!` does through
/// serde's `Serialize`, for the few types the agent puts into JSON, without serde's
/// serializer in the .wasm.
pub trait ToJson {
    fn to_json(&self) -> Value;
}

/// `value` as a JSON value (see [`ToJson`]).
pub fn value<T: ToJson + ?Sized>(value: &T) -> Value {
    value.to_json()
}

impl ToJson for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl ToJson for str {
    fn to_json(&self) -> Value {
        Value::String(self.to_owned())
    }
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToJson for f64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

macro_rules! int_to_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
int_to_json!(i32, i64, u16, u32, u64, usize);

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToJson::to_json)
    }
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(ToJson::to_json).collect())
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        self.as_slice().to_json()
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self) -> Value {
        (**self).to_json()
    }
}

/// Why a text is not JSON (short; never quotes the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub &'static str);

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

/// Deeper nesting than this is refused (serde_json's limit too).
const MAX_DEPTH: usize = 128;

/// `text` as a JSON value.
pub fn parse(text: &str) -> Result<Value, Error> {
    let mut p = Parser::new(text);
    let v = p.value()?;
    p.end()?;
    Ok(v)
}

/// Whether `text` is one JSON value (checked without building it).
pub fn validate(text: &str) -> Result<(), Error> {
    let mut p = Parser::new(text);
    p.skip()?;
    p.end()
}

/// A reader over JSON text, for callers that scan a known shape without building values.
pub struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str) -> Self {
        Parser {
            text,
            pos: 0,
            depth: 0,
        }
    }

    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Only whitespace is left.
    pub fn end(&mut self) -> Result<(), Error> {
        self.ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Error("trailing characters")),
        }
    }

    #[inline(always)]
    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline(always)]
    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), Error> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(Error(what))
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), Error> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Error("expected a value"))
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error("nested too deeply"));
        }
        Ok(())
    }

    /// The next value.
    pub fn value(&mut self) -> Result<Value, Error> {
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.enter()?;
                let mut map = Map::new();
                self.object(|p, key| {
                    let v = p.value()?;
                    map.insert(key.into_owned(), v);
                    Ok(())
                })?;
                self.depth -= 1;
                Ok(Value::Object(map))
            }
            Some(b'[') => {
                self.enter()?;
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        self.expect(b',', "expected `,` or `]`")?;
                    }
                }
                self.depth -= 1;
                Ok(Value::Array(items))
            }
            Some(b'"') => Ok(Value::String(self.string()?.into_owned())),
            Some(b't') => self.literal("true").map(|_| Value::Bool(true)),
            Some(b'f') => self.literal("false").map(|_| Value::Bool(false)),
            Some(b'n') => self.literal("null").map(|_| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            _ => Err(Error("expected a value")),
        }
    }

    /// Past the next value, checking it, without building it. Iterative, so any depth is
    /// fine here (only building a value is limited).
    pub fn skip(&mut self) -> Result<(), Error> {
        let mut open: Vec<u8> = Vec::new(); // the containers we are in: b'{' or b'['
        loop {
            // A value starts here.
            self.ws();
            match self.peek() {
                Some(b'{') => {
                    if self.object_start()? {
                        open.push(b'{');
                        self.key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    if !self.eat(b']') {
                        open.push(b'[');
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                _ => {
                    self.value()?; // a number or a literal
                }
            }
            // A value ended: close what it ends, or go on to the next member.
            loop {
                match open.last() {
                    None => return Ok(()),
                    Some(b'{') => {
                        if self.object_next()? {
                            self.key()?;
                            break;
                        }
                    }
                    Some(_) => {
                        if !self.eat(b']') {
                            self.expect(b',', "expected `,` or `]`")?;
                            break;
                        }
                    }
                }
                open.pop();
            }
        }
    }

    /// The text of the next value (checked), as it stands.
    pub fn raw(&mut self) -> Result<&'a str, Error> {
        self.ws();
        let start = self.pos;
        self.skip()?;
        Ok(&self.text[start..self.pos])
    }

    /// The object here, member by member: `member` gets each key with the parser at its
    /// value, which it must read or skip.
    #[inline(always)]
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.object_start()? {
            loop {
                let key = self.key()?;
                member(self, key)?;
                if !self.object_next()? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The `text` member of the object here, when it is a string; `None` when the object
    /// has none (or not a string). The last `text` counts, as in a parsed object; other
    /// members are checked and skipped without being built.
    #[inline(always)]
    pub fn text_member(&mut self) -> Result<Option<String>, Error> {
        let mut text = None;
        self.object(|p, key| {
            if key != "text" {
                return p.skip();
            }
            text = if p.at_string() {
                Some(p.string()?.into_owned())
            } else {
                p.skip()?;
                None
            };
            Ok(())
        })?;
        Ok(text)
    }

    /// At `{`: consumes it; `true` when a key follows, `false` for `{}`.
    #[inline(always)]
    fn object_start(&mut self) -> Result<bool, Error> {
        self.expect(b'{', "expected an object")?;
        Ok(!self.eat(b'}'))
    }

    /// After a member: `true` when another key follows, `false` at `}`.
    #[inline(always)]
    fn object_next(&mut self) -> Result<bool, Error> {
        if self.eat(b'}') {
            return Ok(false);
        }
        self.expect(b',', "expected `,` or `}`")?;
        Ok(true)
    }

    /// A member's key and its colon.
    pub fn key(&mut self) -> Result<Cow<'a, str>, Error> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(Error("expected a key"));
        }
        let key = self.string()?;
        self.expect(b':', "expected `:`")?;
        Ok(key)
    }

    /// Whether the next value is a string (without consuming anything but whitespace).
    #[inline(always)]
    pub fn at_string(&mut self) -> bool {
        self.ws();
        self.peek() == Some(b'"')
    }

    /// The next value, which must be a string: borrowed when it has no escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(Error("expected a string"));
        }
        self.pos += 1;
        let start = self.pos;
        let bytes = self.bytes();
        // The plain run up to the closing quote or the first escape.
        loop {
            match bytes.get(self.pos) {
                None => return Err(Error("unterminated string")),
                Some(b'"') => {
                    let s = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => return Err(Error("control character in a string")),
                Some(_) => self.pos += 1,
            }
        }
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            let run = self.pos;
            loop {
                match bytes.get(self.pos) {
                    None => return Err(Error("unterminated string")),
                    Some(b'"' | b'\\') => break,
                    Some(0..=0x1f) => return Err(Error("control character in a string")),
                    Some(_) => self.pos += 1,
                }
            }
            out.push_str(&self.text[run..self.pos]);
            if bytes[self.pos] == b'"' {
                self.pos += 1;
                return Ok(Cow::Owned(out));
            }
            self.pos += 1; // the backslash
            let c = match bytes.get(self.pos) {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    self.pos += 1;
                    let hi = self.hex4()?;
                    let c = match hi {
                        0xD800..=0xDBFF => {
                            if !self.text[self.pos..].starts_with("\\u") {
                                return Err(Error("lone surrogate in a string"));
                            }
                            self.pos += 2;
                            let lo = self.hex4()?;
                            if !(0xDC00..=0xDFFF).contains(&lo) {
                                return Err(Error("lone surrogate in a string"));
                            }
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        }
                        0xDC00..=0xDFFF => return Err(Error("lone surrogate in a string")),
                        c => c,
                    };
                    out.push(char::from_u32(c).ok_or(Error("invalid escape"))?);
                    continue;
                }
                _ => return Err(Error("invalid escape")),
            };
            out.push(c);
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or(Error("invalid escape"))?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error("invalid escape"));
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| Error("invalid escape"))
    }

    fn number(&mut self) -> Result<Number, Error> {
        let bytes = self.bytes();
        let start = self.pos;
        let digits = |p: &mut usize| {
            let from = *p;
            while bytes.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p - from
        };
        let mut p = self.pos;
        let negative = bytes.get(p) == Some(&b'-');
        if negative {
            p += 1;
        }
        let int_start = p;
        match digits(&mut p) {
            0 => return Err(Error("invalid number")),
            n if n > 1 && bytes[int_start] == b'0' => return Err(Error("invalid number")),
            _ => {}
        }
        let mut integer = true;
        if bytes.get(p) == Some(&b'.') {
            p += 1;
            if digits(&mut p) == 0 {
                return Err(Error("invalid number"));
            }
            integer = false;
        }
        if let Some(b'e' | b'E') = bytes.get(p) {
            p += 1;
            if let Some(b'+' | b'-') = bytes.get(p) {
                p += 1;
            }
            if digits(&mut p) == 0 {
                return Err(Error("invalid number"));
            }
            integer = false;
        }
        self.pos = p;
        let text = &self.text[start..p];
        if integer {
            if negative {
                // `-0` is the double -0.0 (as serde_json reads it), not the integer 0.
                if let Ok(i) = text.parse::<i64>().map_err(|_| ()).and_then(|i| match i {
                    0 => Err(()),
                    i => Ok(i),
                }) {
                    return Ok(Number::from(i));
                }
            } else if let Ok(u) = text.parse::<u64>() {
                return Ok(Number::from(u));
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .ok_or(Error("number out of range"))
    }
}

/// The `text` member of the JSON object `object` (see [`Parser::text_member`]): the content
/// of a streamed `text_delta`.
pub fn text_member(object: &str) -> Result<Option<String>, Error> {
    let mut p = Parser::new(object);
    let text = p.text_member()?;
    p.end()?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn known_values() {
        let v = json!({"b": [1, -2, 1.5, 1e300, 0.1, true, null], "a": "q\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀/", "": {}});
        assert_eq!(to_string(&v), serde_json::to_string(&v).unwrap());
        assert_eq!(quote("a\u{0}b"), "\"a\\u0000b\"");
        assert_eq!(to_string(&json!(1.0)), "1.0");
        assert_eq!(to_string(&json!(u64::MAX)), "18446744073709551615");
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".*".prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Byte for byte what serde_json writes, for any value.
        #[test]
        fn same_text_as_serde_json(v in value()) {
            prop_assert_eq!(to_string(&v), serde_json::to_string(&v).unwrap());
        }

        /// Reading what was written gives the value back.
        #[test]
        fn reads_what_it_writes(v in value()) {
            prop_assert_eq!(parse(&to_string(&v)), Ok(v.clone()));
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            prop_assert_eq!(parse(&pretty), Ok(v));
        }

        /// On any text (mostly near-JSON), accepted and refused exactly where serde_json
        /// accepts and refuses, with the same value.
        #[test]
        fn agrees_with_serde_json(text in near_json()) {
            let ours = parse(&text);
            let theirs = serde_json::from_str::<Value>(&text);
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "{:?}: ours {:?}, serde_json {:?}", text, ours, theirs.map_err(|e| e.to_string())),
            }
            prop_assert_eq!(validate(&text).is_ok(), theirs.is_ok());
        }
    }

    /// JSON texts with small damage: a token dropped, doubled or swapped for another.
    fn near_json() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("\\u".to_string()),
            Just("\\ud83d".to_string()),
            Just("\\ude00".to_string()),
            Just("-".to_string()),
            Just("0".to_string()),
            Just("01".to_string()),
            Just("1.".to_string()),
            Just(".5".to_string()),
            Just("1e".to_string()),
            Just("1e400".to_string()),
            Just("-0".to_string()),
            Just("18446744073709551616".to_string()),
            Just("-9223372036854775809".to_string()),
            Just("2.5e-3".to_string()),
            Just("true".to_string()),
            Just("nul".to_string()),
            Just(" \t\n\r".to_string()),
            Just("\u{1}".to_string()),
            Just("é".to_string()),
            Just("\\n".to_string()),
            Just("\\x".to_string()),
        ];
        (
            value(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), token), 0..3),
        )
            .prop_map(|(v, edits)| {
                let mut text = to_string(&v);
                for (at, kind, tok) in edits {
                    let mut cut = at.index(text.len() + 1);
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    match kind % 3 {
                        0 => text.insert_str(cut, &tok),
                        1 => {
                            let end = text[cut..]
                                .char_indices()
                                .nth(1)
                                .map_or(text.len(), |(i, _)| cut + i);
                            text.replace_range(cut..end, &tok);
                        }
                        _ => {
                            let end = text[cut..]
                                .char_indices()
                                .nth(1)
                                .map_or(text.len(), |(i, _)| cut + i);
                            text.replace_range(cut..end, "");
                        }
                    }
                }
                text
            })
    }

    /// `jv!` builds what `serde_json::json!` builds, for the types the agent uses.
    #[test]
    fn jv_matches_serde_json_json() {
        let name = "tool".to_string();
        let id: &str = "call_1";
        let list = vec!["a", "b"];
        let none: Option<String> = None;
        let some = Some(2.5f64);
        let status: u16 = 503;
        let nan = f64::NAN;
        assert_eq!(
            crate::jv!({"name": name, "id": id, "list": list, "none": none, "some": some,
                "status": status, "nan": nan, "n": 7usize, "b": true, "neg": -3i64,
                "nested": crate::jv!({"x": 1})}),
            json!({"name": name, "id": id, "list": list, "none": none, "some": some,
                "status": status, "nan": nan, "n": 7usize, "b": true, "neg": -3i64,
                "nested": {"x": 1}})
        );
        assert_eq!(crate::jv!({}), json!({}));
        assert_eq!(crate::jv!(null), json!(null));
        assert_eq!(crate::jv!(&name), json!(&name));
    }

    #[test]
    fn known_reads() {
        for (text, want) in [
            ("-0", serde_json::from_str::<Value>("-0").unwrap()),
            ("1e2", json!(100.0)),
            (" [1 , {\"a\" : null}] ", json!([1, {"a": null}])),
            ("\"\\ud83d\\ude00\\/\"", json!("😀/")),
            ("{\"a\":1,\"a\":2}", json!({"a": 2})),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
        for bad in [
            "",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            ".5",
            "+1",
            "NaN",
            "1e400",
            "\"\\ud83d\"",
            "\"a\u{1}\"",
            "[1] x",
            "'a'",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(129) + &"]".repeat(129);
        assert!(parse(&deep).is_err());
        assert!(parse(&deep[1..deep.len() - 1]).is_ok());
        // Checking without building has no depth limit (and cannot overflow the stack).
        let very_deep = "[{\"a\":".repeat(50_000) + "1" + &"}]".repeat(50_000);
        assert_eq!(validate(&very_deep), Ok(()));
        assert!(validate(&very_deep[1..]).is_err());
        assert!(parse(&very_deep).is_err());
        assert_eq!(
            text_member(r#"{"x":[1,{"text":2}],"text":"a\"b"}"#),
            Ok(Some("a\"b".into()))
        );
        assert_eq!(text_member(r#"{"text":"a","text":7}"#), Ok(None));
        assert_eq!(text_member(r#"{"other":1}"#), Ok(None));
        assert!(text_member(r#"{"text":"a"} x"#).is_err());
    }
}
