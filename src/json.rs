//! JSON exactly as JavaScript writes and reads it: the crate's own [`Value`], the reader
//! (`JSON.parse`) and two writers (`JSON.stringify` for the wire, an exact one for values
//! handed to the page).
//!
//! # The value
//!
//! [`Value`] is what `JSON.parse` makes: `null`, booleans, numbers as `f64`, strings, arrays
//! and objects. A [`Map`] keeps a JavaScript object's key order: integer-index keys
//! (`"0"`, `"42"`: canonical array indices below 2^32 − 1) first, in ascending numeric
//! order, then the other keys in insertion order; setting an existing key keeps its place.
//! Equality is JavaScript's deep equality: numbers by `Object.is` (so `-0 != 0` and
//! `NaN == NaN`), objects whatever their key order.
//!
//! # Reading ([`parse`], `JSON.parse`)
//!
//! Exactly RFC 8259 JSON (no trailing commas, comments or raw control characters in
//! strings; nesting at most 128 deep, the limit of serde_json, which the tests use as the
//! oracle where the two agree). Numbers are the correctly rounded double of their digits;
//! beyond the double range they are `±Infinity` and below it `0` / `-0`, as `JSON.parse`
//! reads them. Duplicate keys: the last value wins, at the first key's place.
//!
//! **Lone surrogates.** A Rust string is UTF-8 and cannot hold half of a UTF-16 surrogate
//! pair, which a JS string can (`JSON.parse("\"\\ud83d\"")`). A lone surrogate escape is
//! read as U+FFFD, which is what the page shows for one anyway (the result is
//! `JSON.parse(text).toWellFormed()`). One case joins instead: a backend that cuts text by
//! UTF-16 units may end one `text_delta` with the high half of a pair and start the next
//! with the low half. [`Parser::text_member`] reports such halves at the two ends of a
//! string ([`Halves`]) and the machine joins them across deltas into the one character, as
//! JS string concatenation does (a half left over at the end of the turn, or before a tool
//! call, stays U+FFFD).
//!
//! # Writing
//!
//! * [`to_string`] / [`write`] write what `JSON.stringify` writes: numbers in ECMAScript's
//!   shortest round-trip form (`8`, `500000`, `1e+21`, `5e-324`), `-0` as `0`, `NaN` and
//!   `±Infinity` as `null`; strings escaped as `JSON.stringify` escapes them; keys in the
//!   map's order. This is the text of every request body.
//! * [`to_js_text`] writes a text that `JSON.parse` turns back into the same value, double
//!   for double: `-0` as `-0`, `±Infinity` as `±1e999`. `NaN` has no such text: it is
//!   written `null` and reported, for the caller to build that value another way.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::borrow::Cow;
use core::fmt;

/// A JSON value, as JavaScript holds the result of `JSON.parse` (see the module docs).
#[derive(Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

static NULL: Value = Value::Null;

/// `Object.is` for numbers: `-0` differs from `0`, `NaN` equals `NaN`.
fn same_number(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => same_number(*a, *b),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            // As JS shows it (and without core's float formatting in the .wasm).
            Value::Number(n) if n.is_nan() => f.write_str("NaN"),
            Value::Number(n) if n.is_infinite() => {
                f.write_str(if *n > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Value::Number(n) if *n == 0.0 && n.is_sign_negative() => f.write_str("-0"),
            Value::Number(n) => f.write_str(&js_number(*n)),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Array(a) => f.debug_list().entries(a).finish(),
            Value::Object(m) => fmt::Debug::fmt(m, f),
        }
    }
}

/// The value as `JSON.stringify` writes it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_string(self))
    }
}

/// What [`Value::get`] and indexing accept: a key (objects) or a position (arrays).
pub trait Index {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value>;
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value>;
    /// For `value[i] = x`: a key is inserted (a non-object becomes `{}` first); a
    /// position must exist (as in a `Vec`). The shipped code does not assign this way.
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value;
}

impl Index for str {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_object()?.get(self)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        v.as_object_mut()?.get_mut(self)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        if !v.is_object() {
            *v = Value::Object(Map::new());
        }
        let Value::Object(m) = v else { unreachable!() };
        if !m.contains_key(self) {
            m.insert(self.to_owned(), Value::Null);
        }
        m.get_mut(self).unwrap()
    }
}

impl Index for String {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        self.as_str().index_into(v)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        self.as_str().index_into_mut(v)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        self.as_str().index_or_insert(v)
    }
}

impl Index for usize {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_array()?.get(*self)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        v.as_array_mut()?.get_mut(*self)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        match v {
            Value::Array(a) => &mut a[*self],
            _ => panic!("not an array"),
        }
    }
}

impl<T: Index + ?Sized> Index for &T {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        (**self).index_into(v)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        (**self).index_into_mut(v)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        (**self).index_or_insert(v)
    }
}

/// `value[key]`: `Null` when absent (as `undefined` would be read).
impl<I: Index> core::ops::Index<I> for Value {
    type Output = Value;
    fn index(&self, i: I) -> &Value {
        i.index_into(self).unwrap_or(&NULL)
    }
}

impl<I: Index> core::ops::IndexMut<I> for Value {
    fn index_mut(&mut self, i: I) -> &mut Value {
        i.index_or_insert(self)
    }
}

impl Value {
    /// The member `key` of an object, or item `i` of an array.
    pub fn get<I: Index>(&self, i: I) -> Option<&Value> {
        i.index_into(self)
    }

    pub fn get_mut<I: Index>(&mut self, i: I) -> Option<&mut Value> {
        i.index_into_mut(self)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// A whole number in `0..2^64` (`-0` is `0`).
    pub fn as_u64(&self) -> Option<u64> {
        let n = self.as_f64()?;
        // The cast saturates (NaN is 0): it is exact only for whole numbers in range.
        ((0.0..18_446_744_073_709_551_616.0).contains(&n) && (n as u64) as f64 == n)
            .then_some(n as u64)
    }

    /// A whole number in `-2^63..2^63`.
    pub fn as_i64(&self) -> Option<i64> {
        let n = self.as_f64()?;
        ((-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n)
            && (n as i64) as f64 == n)
            .then_some(n as i64)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_boolean(&self) -> bool {
        matches!(self, Value::Bool(_))
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// The value, leaving `Null` in its place.
    pub fn take(&mut self) -> Value {
        core::mem::take(self)
    }
}

macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(n as f64)
            }
        }
        impl PartialEq<$t> for Value {
            fn eq(&self, n: &$t) -> bool {
                self.as_f64().is_some_and(|x| same_number(x, *n as f64))
            }
        }
    )*};
}
number_from!(f64, f32, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Cow<'_, str>> for Value {
    fn from(s: Cow<'_, str>) -> Value {
        Value::String(s.into_owned())
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Value {
        Value::Array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Object(m)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Value {
        Value::Array(iter.into_iter().collect())
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, s: &str) -> bool {
        self.as_str() == Some(s)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, s: &&str) -> bool {
        self.as_str() == Some(*s)
    }
}

impl PartialEq<String> for Value {
    fn eq(&self, s: &String) -> bool {
        self.as_str() == Some(s.as_str())
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, b: &bool) -> bool {
        self.as_bool() == Some(*b)
    }
}

/// `key` as a canonical array index (`"0"`, `"42"`, below 2^32 − 1), which JavaScript
/// orders before every other key of an object.
pub fn array_index(key: &str) -> Option<u32> {
    let b = key.as_bytes();
    if b.is_empty() || b.len() > 10 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut n: u64 = 0;
    for &d in b {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(d - b'0');
    }
    (n < u64::from(u32::MAX)).then_some(n as u32)
}

/// A JSON object with JavaScript's key order (see the module docs): a vector searched
/// linearly, as objects on this path have few keys; building one from many entries at once
/// ([`Map::from_entries`], what the reader does) stays O(n log n).
#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    pub const fn new() -> Map {
        Map {
            entries: Vec::new(),
        }
    }

    pub fn with_capacity(n: usize) -> Map {
        Map {
            entries: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// `object[key] = value`: an existing key keeps its place; a new integer-index key goes
    /// among the index keys in numeric order, any other new key last. Returns the value
    /// replaced.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        if let Some(slot) = self.get_mut(&key) {
            return Some(core::mem::replace(slot, value));
        }
        match array_index(&key) {
            Some(i) => {
                let at = self
                    .entries
                    .iter()
                    .position(|(k, _)| array_index(k).is_none_or(|j| j > i))
                    .unwrap_or(self.entries.len());
                self.entries.insert(at, (key, value));
            }
            None => self.entries.push((key, value)),
        }
        None
    }

    /// `delete object[key]`: the other keys keep their order.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        Some(self.entries.remove(i).1)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&String, &mut Value)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut Value> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The object `JSON.parse` makes of these members in this order: a repeated key keeps
    /// its first place and takes its last value; integer-index keys go first, ascending.
    pub fn from_entries(mut entries: Vec<(String, Value)>) -> Map {
        let n = entries.len();
        if n > 1 {
            // Duplicates: pairwise for a few keys, through a sorted index for many.
            let mut dropped = vec![false; 0];
            if n <= 16 {
                for i in 1..n {
                    if let Some(first) = (0..i).find(|&j| entries[j].0 == entries[i].0) {
                        let v = core::mem::take(&mut entries[i].1);
                        entries[first].1 = v;
                        if dropped.is_empty() {
                            dropped = vec![false; n];
                        }
                        dropped[i] = true;
                    }
                }
            } else {
                let mut order: Vec<u32> = (0..n as u32).collect();
                sort_positions(&mut order, &mut |a, b| {
                    entries[a as usize]
                        .0
                        .cmp(&entries[b as usize].0)
                        .then(a.cmp(&b))
                });
                let mut g = 0;
                while g < n {
                    let first = order[g] as usize;
                    let mut end = g + 1;
                    while end < n && entries[order[end] as usize].0 == entries[first].0 {
                        end += 1;
                    }
                    if end - g > 1 {
                        let last = order[end - 1] as usize;
                        let v = core::mem::take(&mut entries[last].1);
                        entries[first].1 = v;
                        if dropped.is_empty() {
                            dropped = vec![false; n];
                        }
                        for &i in &order[g + 1..end] {
                            dropped[i as usize] = true;
                        }
                    }
                    g = end;
                }
            }
            if !dropped.is_empty() {
                let mut i = 0;
                entries.retain(|_| {
                    i += 1;
                    !dropped[i - 1]
                });
            }
            // Integer-index keys first, in numeric order (they are unique now).
            if entries
                .iter()
                .any(|(k, _)| k.as_bytes().first().is_some_and(u8::is_ascii_digit))
            {
                let index: Vec<Option<u32>> = entries.iter().map(|(k, _)| array_index(k)).collect();
                let mut order: Vec<u32> = (0..entries.len() as u32)
                    .filter(|&i| index[i as usize].is_some())
                    .collect();
                sort_positions(&mut order, &mut |a, b| {
                    index[a as usize].cmp(&index[b as usize])
                });
                let mut slots: Vec<Option<(String, Value)>> =
                    entries.into_iter().map(Some).collect();
                let mut sorted = Vec::with_capacity(slots.len());
                sorted.extend(order.iter().filter_map(|&i| slots[i as usize].take()));
                sorted.extend(slots.into_iter().flatten());
                entries = sorted;
            }
        }
        Map { entries }
    }
}

/// Sorts positions with `cmp`: one instance of the sort in the .wasm for every use.
pub(crate) fn sort_positions(
    order: &mut [u32],
    cmp: &mut dyn FnMut(u32, u32) -> core::cmp::Ordering,
) {
    order.sort_unstable_by(|a, b| cmp(*a, *b));
}

/// Deep equality whatever the key order (as `assert.deepStrictEqual` compares objects).
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|w| v == w))
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        Map::from_entries(iter.into_iter().collect())
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = alloc::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter = core::iter::Map<
        core::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// `value` as `JSON.stringify(value)` writes it.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Appends `value` as `JSON.stringify(value)` writes it.
pub fn write(value: &Value, out: &mut String) {
    write_with(value, out, false, &mut false);
}

/// `value` as a JSON text that `JSON.parse` reads back double for double (`-0`,
/// `±Infinity` as `±1e999`), and whether it holds a `NaN` (written `null`: no JSON text
/// reads as `NaN`).
pub fn to_js_text(value: &Value) -> (String, bool) {
    let mut out = String::new();
    let mut nan = false;
    write_with(value, &mut out, true, &mut nan);
    (out, nan)
}

fn write_with(value: &Value, out: &mut String, exact: bool, nan: &mut bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let n = *n;
            if exact && !n.is_finite() {
                out.push_str(if n.is_nan() {
                    *nan = true;
                    "null"
                } else if n > 0.0 {
                    "1e999"
                } else {
                    "-1e999"
                });
            } else if exact && n == 0.0 && n.is_sign_negative() {
                out.push_str("-0");
            } else {
                write_number(n, out);
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_with(item, out, exact, nan);
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
                write_with(v, out, exact, nan);
            }
            out.push('}');
        }
    }
}

/// ECMAScript `Number::toString(x)` (what `JSON.stringify` writes), with `null` for `NaN`
/// and `±Infinity` as `JSON.stringify` writes them.
pub fn js_number(x: f64) -> String {
    let mut out = String::new();
    write_number(x, &mut out);
    out
}

/// Appends `x` as `JSON.stringify(x)` writes it: `null` when not finite, `0` for `-0`,
/// otherwise ECMAScript `Number::toString(x)` ([`crate::numtext::write_finite`]).
pub fn write_number(x: f64, out: &mut String) {
    if !x.is_finite() {
        out.push_str("null");
        return;
    }
    if x == 0.0 {
        out.push('0');
        return;
    }
    // Whole numbers below 2^53 (most numbers a tool sees): their integer digits, without a
    // JS call.
    if x.abs() < 9_007_199_254_740_992.0 && (x as i64) as f64 == x {
        if x < 0.0 {
            out.push('-');
        }
        crate::text::push_uint(out, (x as i64).unsigned_abs(), 0);
        return;
    }
    crate::numtext::write_finite(x, out);
}

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` escapes it.
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

/// A Rust value as JSON, for [`jv!`](crate::jv).
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

macro_rules! num_to_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                Value::Number(*self as f64)
            }
        }
    )*};
}
num_to_json!(f64, i32, i64, u16, u32, u64, usize);

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

/// For the serde derives in `crate::messages`, which the tests compare with the hand-written
/// JSON (unused in the .wasm).
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => s.serialize_f64(*n),
            Value::String(v) => s.serialize_str(v),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// serde_json, on the host only: the tests' oracle and their `json!` literals.

#[cfg(not(target_arch = "wasm32"))]
mod host {
    use super::{Map, Value};

    /// serde_json's value as ours (numbers through `f64`, as JavaScript would hold them).
    impl From<serde_json::Value> for Value {
        fn from(v: serde_json::Value) -> Value {
            match v {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
                serde_json::Value::String(s) => Value::String(s),
                serde_json::Value::Array(a) => {
                    Value::Array(a.into_iter().map(Value::from).collect())
                }
                serde_json::Value::Object(m) => Value::Object(
                    m.into_iter()
                        .map(|(k, v)| (k, Value::from(v)))
                        .collect::<Map>(),
                ),
            }
        }
    }

    impl PartialEq<serde_json::Value> for Value {
        fn eq(&self, other: &serde_json::Value) -> bool {
            let theirs = Value::from(other.clone());
            *self == theirs
        }
    }

    impl PartialEq<Value> for serde_json::Value {
        fn eq(&self, other: &Value) -> bool {
            other == self
        }
    }
}

/// `serde_json::json!`, as our [`Value`] (host tests only).
#[cfg(not(target_arch = "wasm32"))]
#[macro_export]
macro_rules! json {
    ($($t:tt)+) => {
        $crate::json::Value::from(::serde_json::json!($($t)+))
    };
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
    /// The lone surrogate escapes at the ends of the last string read.
    halves: Halves,
}

/// Lone surrogate escapes at the two ends of a string (each read as U+FFFD): the low half
/// it starts with and the high half it ends with, `0` when none. A backend that cuts text
/// by UTF-16 units may split a pair between two `text_delta`s; the machine joins them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Halves {
    pub lead_low: u16,
    pub trail_high: u16,
}

/// The code point of a surrogate pair.
pub fn join_halves(high: u16, low: u16) -> char {
    let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
    char::from_u32(c).unwrap_or('\u{FFFD}')
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str) -> Self {
        Parser {
            text,
            pos: 0,
            depth: 0,
            halves: Halves::default(),
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
                let mut entries = Vec::new();
                self.object(|p, key| {
                    let v = p.value()?;
                    entries.push((key.into_owned(), v));
                    Ok(())
                })?;
                self.depth -= 1;
                Ok(Value::Object(Map::from_entries(entries)))
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
                Some(b'-' | b'0'..=b'9') => {
                    self.number_syntax()?;
                }
                _ => {
                    self.value()?; // a literal
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
    pub fn text_member(&mut self) -> Result<Option<(String, Halves)>, Error> {
        let mut text = None;
        self.object(|p, key| {
            if key != "text" {
                return p.skip();
            }
            text = if p.at_string() {
                let s = p.string()?.into_owned();
                Some((s, p.halves))
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
    #[cfg_attr(kapa_speed, optimize(speed))]
    pub fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(Error("expected a string"));
        }
        self.pos += 1;
        self.halves = Halves::default();
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
        // Where the output ended after the last lone high surrogate: at the end of the
        // string, it is the high half of a pair split across two texts.
        let mut high_end = usize::MAX;
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
                if high_end != out.len() {
                    self.halves.trail_high = 0;
                }
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
                        0xD800..=0xDBFF => match self.low_half() {
                            Some(lo) => 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00),
                            None => {
                                // A lone high half: U+FFFD (see the module docs).
                                out.push('\u{FFFD}');
                                self.halves.trail_high = hi as u16;
                                high_end = out.len();
                                continue;
                            }
                        },
                        0xDC00..=0xDFFF => {
                            if out.is_empty() {
                                self.halves.lead_low = hi as u16;
                            }
                            0xFFFD
                        }
                        c => c,
                    };
                    out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                    continue;
                }
                _ => return Err(Error("invalid escape")),
            };
            out.push(c);
            self.pos += 1;
        }
    }

    /// After a high surrogate escape: the low surrogate escape that follows it, consumed;
    /// `None` (nothing consumed) when something else follows.
    fn low_half(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 6)?.strip_prefix("\\u")?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let lo = hex(digits);
        if !(0xDC00..=0xDFFF).contains(&lo) {
            return None;
        }
        self.pos += 6;
        Some(lo)
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
        Ok(hex(digits))
    }

    /// The next number as `JSON.parse` reads it: the correctly rounded double, `±Infinity`
    /// beyond the range, `0` / `-0` below it.
    fn number(&mut self) -> Result<f64, Error> {
        let start = self.pos;
        let small = self.number_syntax()?;
        let text = &self.text[start..self.pos];
        if small {
            // Up to 15 digits: exact in a double, no need for the general reader.
            let digits = text.strip_prefix('-');
            let mut n: u64 = 0;
            for d in digits.unwrap_or(text).bytes() {
                n = n * 10 + u64::from(d - b'0');
            }
            let x = n as f64;
            return Ok(if digits.is_some() { -x } else { x });
        }
        Ok(crate::numtext::parse_f64(text))
    }

    /// Past the number here, checked against JSON's grammar without reading its value (what
    /// [`Parser::skip`] needs); `true` when it is an integer of at most 15 digits.
    fn number_syntax(&mut self) -> Result<bool, Error> {
        let bytes = self.bytes();
        let digits = |p: &mut usize| {
            let from = *p;
            while bytes.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p - from
        };
        let mut p = self.pos;
        if bytes.get(p) == Some(&b'-') {
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
        Ok(integer && p - int_start <= 15)
    }
}

/// The value of hexadecimal digits (checked by the caller; anything else counts as 0).
fn hex(digits: &str) -> u32 {
    digits
        .bytes()
        .fold(0, |n, b| n * 16 + char::from(b).to_digit(16).unwrap_or(0))
}

/// The `text` member of the JSON object `object` (see [`Parser::text_member`]): the content
/// of a streamed `text_delta`.
pub fn text_member(object: &str) -> Result<Option<(String, Halves)>, Error> {
    let mut p = Parser::new(object);
    let text = p.text_member()?;
    p.end()?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json as sj;

    /// serde_json's `json!`, as our value.
    fn v(x: serde_json::Value) -> Value {
        Value::from(x)
    }

    #[test]
    fn writes_numbers_as_json_stringify() {
        for (x, s) in [
            (8.0, "8"),
            (500000.0, "500000"),
            (-0.0, "0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-3.0, "-3"),
            (9007199254740992.0, "9007199254740992"),
            (9007199254740994.0, "9007199254740994"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (-2.5e-8, "-2.5e-8"),
            (4.35, "4.35"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.000123, "0.000123"),
            (f64::INFINITY, "null"),
            (f64::NEG_INFINITY, "null"),
            (f64::NAN, "null"),
        ] {
            assert_eq!(js_number(x), s, "{x}");
            assert_eq!(to_string(&Value::Number(x)), s, "{x}");
        }
        assert_eq!(
            to_string(&v(sj!({"members": 8, "limit": 500000}))),
            r#"{"limit":500000,"members":8}"#
        );
    }

    #[test]
    fn js_text_reads_back_double_for_double() {
        for (x, s) in [
            (-0.0, "-0"),
            (0.0, "0"),
            (f64::INFINITY, "1e999"),
            (f64::NEG_INFINITY, "-1e999"),
            (8.0, "8"),
        ] {
            assert_eq!(to_js_text(&Value::Number(x)), (s.to_string(), false));
            assert_eq!(parse(s), Ok(Value::Number(x)));
        }
        assert_eq!(
            to_js_text(&Value::Array(vec![Value::Number(f64::NAN)])),
            ("[null]".to_string(), true)
        );
    }

    #[test]
    fn reads_numbers_as_json_parse() {
        for (text, x) in [
            ("-0", -0.0),
            ("0", 0.0),
            ("8", 8.0),
            ("8.0", 8.0),
            ("1e400", f64::INFINITY),
            ("-1e400", f64::NEG_INFINITY),
            ("1e-400", 0.0),
            ("-1e-400", -0.0),
            ("9007199254740993", 9007199254740992.0),
            ("18446744073709551615", 18446744073709551616.0),
            ("-9223372036854775809", -9223372036854775808.0),
            ("123456789012345", 123456789012345.0),
            ("-123456789012345", -123456789012345.0),
            ("1234567890123456", 1234567890123456.0),
            ("0.1", 0.1),
            ("2.5E-3", 0.0025),
        ] {
            assert_eq!(parse(text), Ok(Value::Number(x)), "{text}");
        }
    }

    #[test]
    fn objects_keep_javascripts_key_order() {
        let o =
            parse(r#"{"b":1,"1":2,"a":3,"0":4,"10":5,"01":6,"4294967295":7,"4294967294":8,"b":9}"#)
                .unwrap();
        assert_eq!(
            to_string(&o),
            r#"{"0":4,"1":2,"10":5,"4294967294":8,"b":9,"a":3,"01":6,"4294967295":7}"#
        );
        let mut m = Map::new();
        m.insert("z".into(), Value::Null);
        m.insert("5".into(), Value::Null);
        m.insert("a".into(), Value::Null);
        m.insert("2".into(), Value::Null);
        assert_eq!(m.insert("z".into(), Value::Bool(true)), Some(Value::Null));
        assert_eq!(
            to_string(&Value::Object(m)),
            r#"{"2":null,"5":null,"z":true,"a":null}"#
        );
        // Equality is deep equality, whatever the order.
        assert_eq!(parse(r#"{"a":1,"b":2}"#), parse(r#"{"b":2,"a":1}"#));
        assert_ne!(parse("-0"), parse("0"));
    }

    #[test]
    fn lone_surrogates_read_as_replacement_characters() {
        let read = |t: &str| {
            let mut p = Parser::new(t);
            let s = p.string().unwrap().into_owned();
            (s, p.halves)
        };
        let h = |lead_low, trail_high| Halves {
            lead_low,
            trail_high,
        };
        assert_eq!(read(r#""\ud83d""#), ("\u{FFFD}".into(), h(0, 0xd83d)));
        assert_eq!(read(r#""\ude00x""#), ("\u{FFFD}x".into(), h(0xde00, 0)));
        assert_eq!(read(r#""\ud83d\ude00""#), ("😀".into(), h(0, 0)));
        assert_eq!(
            read(r#""\ud83d\ud83d\ude00""#),
            ("\u{FFFD}😀".into(), h(0, 0))
        );
        assert_eq!(
            read(r#""a\ud83dx\ud83d""#),
            ("a\u{FFFD}x\u{FFFD}".into(), h(0, 0xd83d))
        );
        assert_eq!(read(r#""\ud83d\n""#), ("\u{FFFD}\n".into(), h(0, 0)));
        assert_eq!(
            read(r#""\ude00\ud83d""#),
            ("\u{FFFD}\u{FFFD}".into(), h(0xde00, 0xd83d))
        );
        assert_eq!(read(r#""x\ude00""#), ("x\u{FFFD}".into(), h(0, 0)));
        assert!(parse(r#""\ud83d\u12""#).is_err());
        assert_eq!(
            text_member(r#"{"text":"\ud83d"}"#),
            Ok(Some(("\u{FFFD}".into(), h(0, 0xd83d))))
        );
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            (-1000i32..1000).prop_map(Value::from),
            ".*".prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-c]",
            "(0|[1-9][0-9]{0,10}|0[0-9])",
            Just("4294967295".to_string()),
            Just("4294967294".to_string()),
        ]
    }

    /// Whether serde_json and JavaScript read the value's text alike: no `-0` (serde_json
    /// reads `0` written for it as 0, which is right, but the value had -0) and no
    /// non-finite numbers (written `null`).
    fn plain(v: &Value) -> bool {
        match v {
            Value::Number(n) => n.is_finite() && !(*n == 0.0 && n.is_sign_negative()),
            Value::Array(a) => a.iter().all(plain),
            Value::Object(m) => m.values().all(plain),
            _ => true,
        }
    }

    /// `JSON.parse(JSON.stringify(v))`, as a model: -0 becomes 0, non-finite null.
    fn stringified(v: &Value) -> Value {
        match v {
            Value::Number(n) if !n.is_finite() => Value::Null,
            Value::Number(n) if *n == 0.0 => Value::Number(0.0),
            Value::Array(a) => Value::Array(a.iter().map(stringified).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), stringified(v))).collect())
            }
            other => other.clone(),
        }
    }

    /// A string's UTF-16 units as `JSON.parse` reads its escapes: the oracle for strings.
    fn units_of(literal_body: &str) -> Vec<u16> {
        let mut out = Vec::new();
        let mut chars = literal_body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                let mut b = [0u16; 2];
                out.extend_from_slice(c.encode_utf16(&mut b));
                continue;
            }
            match chars.next().unwrap() {
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(u16::from_str_radix(&hex, 16).unwrap());
                }
                'n' => out.push(10),
                '"' => out.push(34),
                '\\' => out.push(92),
                other => panic!("unexpected escape {other}"),
            }
        }
        out
    }

    /// A JSON string body for these UTF-16 units: each unit raw when it is a character
    /// on its own (or half of a raw pair), else as an escape, picked by `style`.
    fn literal(units: &[u16], style: &[bool]) -> String {
        let mut s = String::new();
        let mut i = 0;
        while i < units.len() {
            let u = units[i];
            let raw = style.get(i).copied().unwrap_or(false);
            let pair = (0xD800..0xDC00).contains(&u)
                && units
                    .get(i + 1)
                    .is_some_and(|l| (0xDC00..0xE000).contains(l));
            if raw && pair {
                s.push(join_halves(u, units[i + 1]));
                i += 2;
                continue;
            }
            match u {
                0x22 => s.push_str("\\\""),
                0x5c => s.push_str("\\\\"),
                0..=0x1f => s.push_str(&format!("\\u{u:04x}")),
                0xD800..=0xDFFF => s.push_str(&format!("\\u{u:04X}")),
                _ if raw => s.push(char::from_u32(u32::from(u)).unwrap()),
                _ => s.push_str(&format!("\\u{u:04x}")),
            }
            i += 1;
        }
        s
    }

    fn units() -> impl Strategy<Value = Vec<u16>> {
        prop::collection::vec(
            prop_oneof![
                4 => 0x20u16..0x7f,
                2 => 0xD800u16..0xE000,
                1 => any::<u16>(),
                1 => Just(0xD83Du16),
                1 => Just(0xDE00u16),
            ],
            0..24,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// What we write, serde_json (an independent reader) reads as the same value, for
        /// every value the two read alike; and we read it back exactly.
        #[test]
        fn serde_json_reads_what_we_write(v in value()) {
            let text = to_string(&v);
            let theirs = serde_json::from_str::<serde_json::Value>(&text).unwrap();
            prop_assert_eq!(Value::from(theirs), stringified(&v));
            prop_assert_eq!(parse(&text), Ok(stringified(&v)));
            if plain(&v) {
                prop_assert_eq!(parse(&text), Ok(v.clone()));
            }
            // The exact text reads back as the very value (NaN aside), in the same order.
            let (exact, nan) = to_js_text(&v);
            let back = parse(&exact).unwrap();
            if !nan {
                prop_assert_eq!(&back, &v);
                prop_assert_eq!(to_js_text(&back).0, exact);
            }
            let pretty = serde_json::to_string_pretty(
                &serde_json::from_str::<serde_json::Value>(&text).unwrap()).unwrap();
            prop_assert_eq!(parse(&pretty), Ok(stringified(&v)));
        }

        /// Numbers: our text for a double reads back as it, with as many digits as core's
        /// shortest formatting (an independent implementation) finds, and the same ones
        /// but where two shortest candidates are equally close (ECMAScript then takes the
        /// even one, core not always: 1357263663729365.25 is `…365.2` in JS).
        #[test]
        fn numbers_shortest_and_exact(x in any::<f64>()) {
            prop_assume!(x.is_finite());
            let s = js_number(x);
            let back: f64 = s.parse().unwrap();
            prop_assert!(back == x, "{} -> {}", x, s);
            if x != 0.0 {
                // core's `{:e}`: d.ddde±n with the shortest digits.
                let e = format!("{:e}", x.abs());
                let (m, exp) = e.split_once('e').unwrap();
                let digits: String = m.chars().filter(|c| *c != '.').collect();
                let exp: i32 = exp.parse().unwrap();
                let ours = s.trim_start_matches('-');
                let (om, oexp) = ours.split_once('e').map_or((ours, 0), |(m, e)| (m, e.parse::<i32>().unwrap()));
                let (ip, fp) = om.split_once('.').unwrap_or((om, ""));
                let all: String = format!("{ip}{fp}");
                let lead = all.len() - all.trim_start_matches('0').len();
                let our_digits = all.trim_start_matches('0').trim_end_matches('0');
                let our_exp = ip.len() as i32 - 1 - lead as i32 + oexp;
                let theirs = digits.trim_end_matches('0');
                prop_assert_eq!(our_digits.len(), theirs.len());
                if our_digits != theirs {
                    prop_assert!(our_digits.ends_with(['0', '2', '4', '6', '8']), "{} vs {}", s, e);
                } else {
                    prop_assert_eq!(our_exp, exp);
                }
            }
        }

        /// Objects: the order JavaScript gives, built one key at a time or all at once.
        #[test]
        fn maps_order_like_javascript(keys in prop::collection::vec(key(), 0..40)) {
            let mut m = Map::new();
            let mut entries = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                m.insert(k.clone(), Value::from(i));
                entries.push((k.clone(), Value::from(i)));
            }
            // The model: index keys ascending, then the rest by first appearance; each
            // with its last value.
            let mut idx: Vec<u32> = keys.iter().filter_map(|k| array_index(k)).collect();
            idx.sort();
            idx.dedup();
            let mut want: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
            for k in &keys {
                if array_index(k).is_none() && !want.contains(k) {
                    want.push(k.clone());
                }
            }
            let built = Map::from_entries(entries);
            for map in [&m, &built] {
                prop_assert_eq!(map.keys().cloned().collect::<Vec<_>>(), want.clone());
                for (k, v) in map.iter() {
                    let last = keys.iter().rposition(|x| x == k).unwrap();
                    prop_assert_eq!(v, &Value::from(last));
                }
            }
            // The reader builds the same from the text.
            let text = format!("{{{}}}", keys.iter().enumerate()
                .map(|(i, k)| format!("{}:{i}", quote(k))).collect::<Vec<_>>().join(","));
            let parsed = parse(&text).unwrap();
            prop_assert_eq!(parsed.as_object().unwrap().keys().cloned().collect::<Vec<_>>(), want);
            prop_assert_eq!(parsed, Value::Object(built));
        }

        /// Strings: what `JSON.parse(text).toWellFormed()` gives (Rust's lossy UTF-16
        /// decoding is exactly that), escapes or not, with the halves at the ends reported.
        #[test]
        fn strings_read_as_json_parse_well_formed(units in units(), style in prop::collection::vec(any::<bool>(), 24)) {
            let body = literal(&units, &style);
            prop_assert_eq!(units_of(&body), units.clone());
            let text = format!("\"{body}\"");
            let mut p = Parser::new(&text);
            let s = p.string().unwrap().into_owned();
            prop_assert_eq!(&s, &String::from_utf16_lossy(&units));
            let lone_low_first = units.first().is_some_and(|u| (0xDC00..0xE000).contains(u));
            let lone_high_last = units.last().is_some_and(|u| (0xD800..0xDC00).contains(u));
            prop_assert_eq!(p.halves.lead_low, if lone_low_first { units[0] } else { 0 });
            prop_assert_eq!(p.halves.trail_high, if lone_high_last { units[units.len() - 1] } else { 0 });
            prop_assert_eq!(parse(&text), Ok(Value::String(s)));
        }

        /// On any text (mostly near-JSON), accepted and refused where serde_json accepts and
        /// refuses, with the same value, except where JSON.parse accepts what serde_json
        /// refuses: lone surrogate escapes and numbers beyond the double range.
        #[test]
        fn agrees_with_serde_json(text in near_json()) {
            let ours = parse(&text);
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, &Value::from(b.clone())),
                (Err(_), Err(_)) => {}
                (Ok(_), Err(e)) => {
                    let e = e.to_string();
                    prop_assert!(
                        e.contains("surrogate") || e.contains("hex escape") || e.contains("number out of range"),
                        "{:?}: ours {:?}, serde_json {}", text, ours, e
                    );
                }
                _ => prop_assert!(false, "{:?}: ours {:?}, serde_json {:?}", text, ours, theirs.map_err(|e| e.to_string())),
            }
            prop_assert_eq!(validate(&text).is_ok(), ours.is_ok());
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

    /// `jv!` builds the value `json!` builds, for the types the agent uses, keys in the
    /// order written.
    #[test]
    fn jv_builds_values() {
        let name = "tool".to_string();
        let id: &str = "call_1";
        let list = vec!["a", "b"];
        let none: Option<String> = None;
        let some = Some(2.5f64);
        let status: u16 = 503;
        let nan = f64::NAN;
        let built = crate::jv!({"name": name, "id": id, "list": list, "none": none, "some": some,
                "status": status, "nan": nan, "n": 7usize, "b": true, "neg": -3i64,
                "nested": crate::jv!({"x": 1})});
        assert_eq!(
            built,
            v(
                sj!({"name": name, "id": id, "list": list, "none": none, "some": some,
                "status": status, "nan": null, "n": 7usize, "b": true, "neg": -3i64,
                "nested": {"x": 1}})
            )
            .as_object()
            .map(|m| {
                let mut m = m.clone();
                m.insert("nan".into(), Value::Number(f64::NAN));
                Value::Object(m)
            })
            .unwrap()
        );
        assert_eq!(
            to_string(&built),
            r#"{"name":"tool","id":"call_1","list":["a","b"],"none":null,"some":2.5,"status":503,"nan":null,"n":7,"b":true,"neg":-3,"nested":{"x":1}}"#
        );
        assert_eq!(crate::jv!({}), v(sj!({})));
        assert_eq!(crate::jv!(null), Value::Null);
        assert_eq!(crate::jv!(&name), v(sj!(&name)));
    }

    #[test]
    fn known_reads() {
        for (text, want) in [
            ("1e2", sj!(100.0)),
            (" [1 , {\"a\" : null}] ", sj!([1, {"a": null}])),
            ("\"\\ud83d\\ude00\\/\"", sj!("😀/")),
            ("{\"a\":1,\"a\":2}", sj!({"a": 2})),
        ] {
            assert_eq!(parse(text), Ok(v(want)), "{text}");
        }
        for bad in [
            "",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "-01",
            "1.",
            ".5",
            "+1",
            "NaN",
            "Infinity",
            "-",
            "\"a\u{1}\"",
            "[1] x",
            "'a'",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud83d\\u12\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad}"
            );
        }
        let deep = "[".repeat(129) + &"]".repeat(129);
        assert!(parse(&deep).is_err());
        assert!(parse(&deep[1..deep.len() - 1]).is_ok());
        // Checking without building has no depth limit (and cannot overflow the stack).
        let very_deep = "[{\"a\":".repeat(50_000) + "1" + &"}]".repeat(50_000);
        assert_eq!(validate(&very_deep), Ok(()));
        assert!(validate(&very_deep[1..]).is_err());
        assert!(parse(&very_deep).is_err());
        let text = |t: &str| text_member(t).map(|o| o.map(|(s, _)| s));
        assert_eq!(
            text(r#"{"x":[1,{"text":2}],"text":"a\"b"}"#),
            Ok(Some("a\"b".into()))
        );
        assert_eq!(text(r#"{"text":"a","text":7}"#), Ok(None));
        assert_eq!(text(r#"{"other":1}"#), Ok(None));
        assert!(text(r#"{"text":"a"} x"#).is_err());
    }

    /// Many keys take the sorted path; duplicates among them too.
    #[test]
    fn big_objects_dedupe_in_n_log_n() {
        let mut text = String::from("{");
        for i in 0..20_000 {
            text.push_str(&format!("\"k{}\":{i},", i % 15_000));
        }
        text.push_str("\"0\":true}");
        let o = parse(&text).unwrap();
        let m = o.as_object().unwrap();
        assert_eq!(m.len(), 15_001);
        assert_eq!(m.keys().next().map(String::as_str), Some("0"));
        assert_eq!(m.get("k0"), Some(&Value::from(15_000)));
        assert_eq!(m.get("k14999"), Some(&Value::from(14_999)));
        assert_eq!(m.keys().nth(1).map(String::as_str), Some("k0"));
    }
}
