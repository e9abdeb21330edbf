//! Validation of client-tool arguments against the tool's `parameters` JSON Schema.
//!
//! When the model calls a client tool, its arguments are checked against the same schema that
//! was sent to the model, *before* the tool's JavaScript `execute` runs. A
//! failure settles the call as `error` and the message goes back to the model, so messages are
//! short, name the first failing path (the root is `arguments`) and never quote more than about
//! 40 characters of a value:
//!
//! ```text
//! arguments.expression: expected string, got number
//! arguments: missing required property "expression"
//! arguments.items[2]: expected one of "add", "sub", got "mul"
//! ```
//!
//! [`check_schema`] states what a usable tool schema is (an object schema, known type names,
//! well-formed keywords, resolvable `$ref`s), so a broken schema is a `TypeError` up front
//! instead of a confusing failure mid-conversation.
//!
//! The package runs both in JS, with the same rules and texts (`pkg-template/lib/
//! schema-check.js`: `checkSchema`, since `new Agent` must throw before the WebAssembly module
//! has loaded, and `validateArgs`, which the machine calls through its args-check hook, as
//! the wasm skin sets it, to keep this module's code and texts out of the `.wasm`). This
//! module is host-only: the machine's validator in host builds (tests), the fuzz targets'
//! subject ("a checked schema never hits the invalid-schema path"), and the oracle of the JS
//! twin (tests/js/schema-differential.test.mjs compares results and texts).
//!
//! Schemas may be hand-written or produced by Zod's `toJSONSchema` / `zod-to-json-schema`, so
//! both draft-07 and 2020-12 styles are accepted.
//!
//! # Supported keywords
//!
//! * `type` (a name or an array of names; `"integer"` is a number without a fractional part,
//!   so `1.0` is an integer), and OpenAPI's `nullable: true` (adds `null` to `type` only; an
//!   `enum`/`const` must still list `null`, as OpenAPI 3.0.3 specifies)
//! * `enum`, `const` (JSON equality; numbers compare numerically, so `1 == 1.0`)
//! * `properties`, `required`, `additionalProperties` (boolean or schema),
//!   `minProperties`, `maxProperties`
//! * `items` (a schema, or the draft-07 array form = tuple with `additionalItems`),
//!   `prefixItems` (2020-12; `items` then applies to the remaining elements),
//!   `minItems`, `maxItems`, `uniqueItems`
//! * `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (number form, and the
//!   draft-04 boolean form that modifies `minimum`/`maximum`), `multipleOf` (with a small
//!   relative tolerance for floating-point values such as `0.3` / `0.1`)
//! * `minLength`, `maxLength` (counted in Unicode code points, as the spec requires)
//! * `allOf`, `anyOf`, `oneOf`, `not`, `if` / `then` / `else`
//! * `$ref` to local JSON pointers into the root schema (`#`, `#/definitions/x`, `#/$defs/x`,
//!   `#/properties/a/items`, …, with `~0`/`~1` and `%XX` unescaping; an absolute reference
//!   that starts with the root's `$id` is also resolved). Keywords next to `$ref` apply too
//!   (2020-12 semantics).
//! * boolean schemas `true` and `false`
//!
//! # Deliberately not enforced
//!
//! The core has no regular-expression engine: `pattern`, `patternProperties` and
//! `propertyNames` patterns are enforced by [`validate_with`] with a matcher the caller
//! supplies (the JS twin uses JavaScript's `RegExp` with the `u` flag, as Ajv does). Plain [`validate`] does not enforce them, and with
//! `patternProperties` present it does not apply `additionalProperties` either (it could
//! otherwise reject properties the patterns would allow).
//! `format`, `contains`, `dependentRequired`, `dependentSchemas`,
//! `unevaluatedProperties`/`unevaluatedItems`, `$anchor`, `$dynamicRef` and remote `$ref`s are
//! not supported; annotations (`description`, `title`, `default`, `examples`, `$schema`, `$id`,
//! `$comment`, …) and unknown keywords are ignored.
//!
//! # Robustness
//!
//! Validation never panics. Recursion is bounded by [`MAX_DEPTH`] nested schema applications
//! (each `$ref` hop counts), so `$ref` cycles such as `{"$ref":"#"}` and absurdly deep
//! schemas or values yield an `Err` instead of overflowing the stack, and the total work is
//! bounded by a step budget, so combinator blow-ups (`anyOf` of self-references, huge
//! `uniqueItems` arrays) also end with an `Err`.

use crate::json::{Map, Value};
#[allow(unused_imports)]
use crate::prelude::*;
use core::cmp::Ordering;

/// Maximum nesting of schema applications (each `properties`/`items`/combinator/`$ref` level
/// counts one) during [`validate`], and of schema nesting in [`check_schema`].
pub const MAX_DEPTH: usize = 64;

/// Upper bound on the work [`validate`] does for one call (schema nodes visited plus value
/// comparisons).
const MAX_STEPS: usize = 200_000;

/// How many characters of a value (or property name) a message may quote.
const PREVIEW_CHARS: usize = 40;

/// A number as JavaScript's `String(n)` writes it (`2`, not `2.0`; `Infinity`).
fn jsn(n: &f64) -> String {
    match *n {
        n if n.is_nan() => "NaN".into(),
        n if n == f64::INFINITY => "Infinity".into(),
        n if n == f64::NEG_INFINITY => "-Infinity".into(),
        n => crate::json::js_number(n),
    }
}

/// How many `enum` values / merged alternatives a message lists.
const MAX_LISTED: usize = 8;

/// Validate `instance` against `schema`. `Err` holds a message naming the first failing path
/// (the root is `arguments`), e.g. `arguments.expression: expected string, got number`.
pub fn validate(schema: &Value, instance: &Value) -> Result<(), String> {
    validate_with(schema, instance, None)
}

/// A regular-expression test supplied by the caller: `Some(matched)`, or `None` when the
/// pattern cannot be evaluated (then it is not enforced). The JS twin uses JavaScript's
/// `RegExp` (with the `u` flag), so `pattern` and `patternProperties` behave as in Ajv.
pub type PatternMatcher<'m> = &'m dyn Fn(&str, &str) -> Option<bool>;

/// [`validate`], enforcing `pattern` and `patternProperties` with `matcher`.
pub fn validate_with(
    schema: &Value,
    instance: &Value,
    matcher: Option<PatternMatcher>,
) -> Result<(), String> {
    record(schema, Some(instance));
    let mut v = Validator {
        matcher,
        root: schema,
        steps: 0,
        path: String::from("arguments"),
        segs: 0,
    };
    match v.node(schema, instance, 0) {
        Ok(()) => Ok(()),
        Err(Error::Fail(f)) => Err(f.msg),
        Err(Error::Hard(msg)) => Err(msg),
    }
}

/// Check that `schema` is usable as a tool's `parameters`: an object schema (`true` and `{}`
/// are fine) whose keywords are well-formed and whose `$ref`s resolve locally. `Err` explains
/// why not, e.g. `parameters schema at #/properties/x/type: unknown type "int"`.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    record(schema, None);
    match schema {
        Value::Bool(true) | Value::Object(_) => {}
        Value::Bool(false) => {
            return Err("parameters schema is `false`, which rejects every call".into());
        }
        other => {
            return Err(format!(
                "parameters schema must be a JSON Schema object, got {}",
                kind(other)
            ));
        }
    }
    // The root (following `$ref`s, as zod-to-json-schema emits for named schemas) must allow
    // objects.
    let mut cur = schema;
    for _ in 0..MAX_DEPTH {
        if let Some(t) = cur.get("type") {
            let object = match t {
                Value::String(s) => s == "object",
                Value::Array(a) => a.iter().any(|x| x == "object"),
                _ => true,
            };
            if !object {
                return Err(format!(
                    "parameters schema must describe an object (type \"object\"), got type {}",
                    preview(t)
                ));
            }
        }
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => match resolve_ref(schema, r) {
                Some(next) => cur = next,
                None => break,
            },
            None => break,
        }
    }
    let mut ptr = String::from("#");
    walk(schema, schema, &mut ptr, 0)
}

/// Test support: with `KAPA_SCHEMA_CASES=<file>` set, each schema checked or validated (with
/// its instance, and the test thread's name) is appended to that file as a JSON line: the
/// corpus of the JS twin's differential test (tests/js/fixtures/schema-cases.jsonl, made by
/// tests/js/fixtures/schema-cases.sh from what the Rust tests validate).
fn record(schema: &Value, instance: Option<&Value>) {
    use std::io::Write;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let Some(path) = std::env::var_os("KAPA_SCHEMA_CASES") else {
        return;
    };
    let mut line = Map::new();
    let thread = std::thread::current();
    line.insert("test".into(), thread.name().unwrap_or("").into());
    line.insert("schema".into(), schema.clone());
    if let Some(i) = instance {
        line.insert("instance".into(), i.clone());
    }
    let mut text = crate::json::to_string(&Value::Object(line));
    text.push('\n');
    let _guard = LOCK.lock();
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// A validation failure.
struct Fail {
    /// The complete message, starting with the path.
    msg: String,
    /// Number of path segments below `arguments` where it happened.
    segs: usize,
    /// For `type`/`enum`/`const` failures: the expected alternatives and what was found, so
    /// `anyOf`/`oneOf` can merge them into `expected string or null, got number`.
    expect: Option<(Vec<String>, String)>,
    /// Whether this is a `type` mismatch (ranks below other failures at the same depth when
    /// choosing which `anyOf` alternative to report).
    is_type: bool,
}

enum Error {
    /// The instance does not match.
    Fail(Box<Fail>),
    /// Validation could not be completed (depth/step limit, unresolvable `$ref`, invalid
    /// schema). Propagates through `anyOf`/`not`/`if` instead of counting as a mismatch.
    Hard(String),
}

type Res = Result<(), Error>;

struct Validator<'a> {
    matcher: Option<PatternMatcher<'a>>,
    root: &'a Value,
    steps: usize,
    path: String,
    segs: usize,
}

impl<'a> Validator<'a> {
    #[inline(never)]
    fn fail(&self, msg: impl core::fmt::Display) -> Error {
        Error::Fail(Box::new(Fail {
            msg: format!("{}: {}", self.path, msg),
            segs: self.segs,
            expect: None,
            is_type: false,
        }))
    }

    #[inline(never)]
    fn fail_expect(&self, expected: Vec<String>, got: String, is_type: bool) -> Error {
        Error::Fail(Box::new(Fail {
            msg: format!(
                "{}: expected {}, got {}",
                self.path,
                join_or(&expected),
                got
            ),
            segs: self.segs,
            expect: Some((expected, got)),
            is_type,
        }))
    }

    #[inline(never)]
    fn hard(&self, msg: impl core::fmt::Display) -> Error {
        Error::Hard(format!("{}: {}", truncate_chars(&self.path, 100), msg))
    }

    fn tick(&mut self) -> Res {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            Err(self.hard("schema too complex to validate (step limit exceeded)"))
        } else {
            Ok(())
        }
    }

    /// Validate `inst` against `schema` with the path extended by a property name.
    fn at_key(&mut self, key: &str, schema: &'a Value, inst: &Value, depth: usize) -> Res {
        let mark = self.path.len();
        push_key(&mut self.path, key);
        self.segs += 1;
        let r = self.node(schema, inst, depth + 1);
        self.path.truncate(mark);
        self.segs -= 1;
        r
    }

    /// Validate `inst` against `schema` with the path extended by an array index.
    fn at_index(&mut self, i: usize, schema: &'a Value, inst: &Value, depth: usize) -> Res {
        let mark = self.path.len();
        push_index(&mut self.path, i);
        self.segs += 1;
        let r = self.node(schema, inst, depth + 1);
        self.path.truncate(mark);
        self.segs -= 1;
        r
    }

    // The recursive chain is node → (`$ref` | items | properties | combinators) → node, so
    // those functions stay small and everything that does not recurse (assertions, message
    // formatting) lives in separate, non-inlined functions: this keeps the stack used at
    // `MAX_DEPTH` small, even in unoptimized builds.
    fn node(&mut self, schema: &'a Value, inst: &Value, depth: usize) -> Res {
        self.tick()?;
        if depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        let m = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Object(m) => m,
            other => return Err(self.bad_node(other)),
        };
        if let Some(r) = m.get("$ref") {
            let target = self.resolve(r)?;
            self.node(target, inst, depth + 1)?;
        }
        self.assertions(m, inst)?;
        match inst {
            Value::Array(a) => self.items(m, a, depth)?,
            Value::Object(o) => self.properties(m, o, depth)?,
            _ => {}
        }
        self.combinators(m, inst, depth)
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self) -> Error {
        self.hard(format_args!(
            "schema or value nested deeper than {MAX_DEPTH} levels (is there a $ref cycle?)"
        ))
    }

    /// The `false` schema, or a value that is not a schema at all.
    #[cold]
    #[inline(never)]
    fn bad_node(&self, schema: &Value) -> Error {
        match schema {
            Value::Bool(_) => self.fail("no value is allowed here"),
            other => self.hard(format_args!(
                "invalid schema (expected an object or boolean, got {})",
                kind(other)
            )),
        }
    }

    #[inline(never)]
    fn resolve(&self, r: &Value) -> Result<&'a Value, Error> {
        let Some(s) = r.as_str() else {
            return Err(self.hard("invalid schema ($ref must be a string)"));
        };
        resolve_ref(self.root, s).ok_or_else(|| {
            self.hard(format_args!(
                "cannot resolve $ref {} (only local references such as \"#/$defs/name\" are supported)",
                preview_str(s)
            ))
        })
    }

    /// Everything that does not apply subschemas: `type`, `enum`, `const` and the numeric,
    /// string, array-size and object-size keywords.
    #[inline(never)]
    fn assertions(&mut self, m: &Map, inst: &Value) -> Res {
        self.check_type(m, inst)?;
        if let Some(Value::Array(vals)) = m.get("enum") {
            let mut found = false;
            for v in vals {
                if self.equal(v, inst)? {
                    found = true;
                    break;
                }
            }
            if !found {
                return Err(self.fail_expect(vec![enum_text(vals)], preview(inst), false));
            }
        }
        if let Some(c) = m.get("const") {
            if !self.equal(c, inst)? {
                return Err(self.fail_expect(vec![preview(c)], preview(inst), false));
            }
        }
        match inst {
            Value::Number(n) => self.number(m, n),
            Value::String(s) => self.string(m, s),
            Value::Array(a) => self.array_size(m, a),
            Value::Object(o) => self.object_size(m, o),
            _ => Ok(()),
        }
    }

    fn combinators(&mut self, m: &'a Map, inst: &Value, depth: usize) -> Res {
        if let Some(Value::Array(all)) = m.get("allOf") {
            for s in all {
                self.node(s, inst, depth + 1)?;
            }
        }
        if let Some(Value::Array(alts)) = m.get("anyOf") {
            self.alternatives(alts, inst, depth, false)?;
        }
        if let Some(Value::Array(alts)) = m.get("oneOf") {
            self.alternatives(alts, inst, depth, true)?;
        }
        if let Some(not) = m.get("not") {
            match self.node(not, inst, depth + 1) {
                Ok(()) => return Err(self.fail("must not match the \"not\" schema")),
                Err(Error::Fail(_)) => {}
                Err(hard) => return Err(hard),
            }
        }
        if let Some(cond) = m.get("if") {
            let branch = match self.node(cond, inst, depth + 1) {
                Ok(()) => m.get("then"),
                Err(Error::Fail(_)) => m.get("else"),
                Err(hard) => return Err(hard),
            };
            if let Some(b) = branch {
                self.node(b, inst, depth + 1)?;
            }
        }
        Ok(())
    }

    fn check_type(&self, m: &Map, inst: &Value) -> Res {
        let Some(t) = m.get("type") else {
            return Ok(());
        };
        let nullable = m.get("nullable") == Some(&Value::Bool(true));
        if nullable && inst.is_null() {
            return Ok(());
        }
        let mut expected: Vec<String> = match t {
            Value::String(s) => vec![s.clone()],
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => return Ok(()),
        };
        if expected.is_empty() || expected.iter().any(|t| type_matches(t, inst)) {
            return Ok(());
        }
        if nullable {
            expected.push("null".into());
        }
        let got = match inst {
            Value::Number(n) if expected.iter().any(|t| t == "integer") => {
                format!("number {}", jsn(n))
            }
            other => kind(other).into(),
        };
        Err(self.fail_expect(expected, got, true))
    }

    fn number(&self, m: &Map, n: &f64) -> Res {
        let excl = |key: &str| m.get(key) == Some(&Value::Bool(true));
        if let Some(min) = num(m, "minimum") {
            let ord = num_cmp(n, min);
            if excl("exclusiveMinimum") {
                if ord != Some(Ordering::Greater) {
                    return Err(self.fail(format_args!(
                        "expected a number > {}, got {}",
                        jsn(min),
                        jsn(n)
                    )));
                }
            } else if ord == Some(Ordering::Less) {
                return Err(self.fail(format_args!(
                    "expected a number >= {}, got {}",
                    jsn(min),
                    jsn(n)
                )));
            }
        }
        if let Some(max) = num(m, "maximum") {
            let ord = num_cmp(n, max);
            if excl("exclusiveMaximum") {
                if ord != Some(Ordering::Less) {
                    return Err(self.fail(format_args!(
                        "expected a number < {}, got {}",
                        jsn(max),
                        jsn(n)
                    )));
                }
            } else if ord == Some(Ordering::Greater) {
                return Err(self.fail(format_args!(
                    "expected a number <= {}, got {}",
                    jsn(max),
                    jsn(n)
                )));
            }
        }
        if let Some(min) = num(m, "exclusiveMinimum") {
            if num_cmp(n, min) != Some(Ordering::Greater) {
                return Err(self.fail(format_args!(
                    "expected a number > {}, got {}",
                    jsn(min),
                    jsn(n)
                )));
            }
        }
        if let Some(max) = num(m, "exclusiveMaximum") {
            if num_cmp(n, max) != Some(Ordering::Less) {
                return Err(self.fail(format_args!(
                    "expected a number < {}, got {}",
                    jsn(max),
                    jsn(n)
                )));
            }
        }
        if let Some(d) = num(m, "multipleOf") {
            if !is_multiple(n, d) {
                return Err(self.fail(format_args!(
                    "expected a multiple of {}, got {}",
                    jsn(d),
                    jsn(n)
                )));
            }
        }
        Ok(())
    }

    fn string(&self, m: &Map, s: &str) -> Res {
        if let (Some(Value::String(pattern)), Some(matcher)) = (m.get("pattern"), self.matcher) {
            if matcher(pattern, s) == Some(false) {
                return Err(self.fail(format_args!(
                    "expected a string matching /{}/, got {}",
                    truncate_chars(pattern, 40),
                    preview_str(s)
                )));
            }
        }
        let min = count(m, "minLength");
        let max = count(m, "maxLength");
        if min.is_none() && max.is_none() {
            return Ok(());
        }
        let len = s.chars().count() as u64;
        if let Some(min) = min.filter(|&min| len < min) {
            return Err(self.fail(format_args!(
                "expected at least {}, got {len}",
                plural(min, "character")
            )));
        }
        if let Some(max) = max.filter(|&max| len > max) {
            return Err(self.fail(format_args!(
                "expected at most {}, got {len}",
                plural(max, "character")
            )));
        }
        Ok(())
    }

    fn array_size(&mut self, m: &Map, a: &[Value]) -> Res {
        let len = a.len() as u64;
        if let Some(min) = count(m, "minItems").filter(|&min| len < min) {
            return Err(self.fail(format_args!(
                "expected at least {}, got {len}",
                plural(min, "item")
            )));
        }
        if let Some(max) = count(m, "maxItems").filter(|&max| len > max) {
            return Err(self.fail(format_args!(
                "expected at most {}, got {len}",
                plural(max, "item")
            )));
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) {
            for i in 0..a.len() {
                for j in 0..i {
                    if self.equal(&a[j], &a[i])? {
                        return Err(self.fail(format_args!(
                            "expected unique items, but items {j} and {i} are equal"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn items(&mut self, m: &'a Map, a: &[Value], depth: usize) -> Res {
        let (prefix, rest): (&'a [Value], Option<&'a Value>) = match m.get("prefixItems") {
            Some(Value::Array(p)) => (p, m.get("items")),
            _ => match m.get("items") {
                Some(Value::Array(p)) => (p, m.get("additionalItems")),
                items => (&[], items),
            },
        };
        let rest = rest.filter(|r| r.is_object() || r.is_boolean());
        if rest == Some(&Value::Bool(false)) && a.len() > prefix.len() {
            return Err(self.fail(format_args!(
                "expected at most {}, got {}",
                plural(prefix.len() as u64, "item"),
                a.len()
            )));
        }
        for (i, item) in a.iter().enumerate() {
            match prefix.get(i).or(rest) {
                Some(s) => self.at_index(i, s, item, depth)?,
                None => break,
            }
        }
        Ok(())
    }

    fn object_size(&self, m: &Map, o: &Map) -> Res {
        if let Some(Value::Array(req)) = m.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !o.contains_key(r) {
                    return Err(
                        self.fail(format_args!("missing required property {}", preview_str(r)))
                    );
                }
            }
        }
        let len = o.len() as u64;
        if let Some(min) = count(m, "minProperties").filter(|&min| len < min) {
            return Err(self.fail(format_args!(
                "expected at least {}, got {len}",
                plural_properties(min)
            )));
        }
        if let Some(max) = count(m, "maxProperties").filter(|&max| len > max) {
            return Err(self.fail(format_args!(
                "expected at most {}, got {len}",
                plural_properties(max)
            )));
        }
        Ok(())
    }

    fn properties(&mut self, m: &'a Map, o: &Map, depth: usize) -> Res {
        let props = match m.get("properties") {
            Some(Value::Object(p)) => Some(p),
            _ => None,
        };
        if let Some(props) = props {
            for (k, s) in props {
                if let Some(v) = o.get(k) {
                    self.at_key(k, s, v, depth)?;
                }
            }
        }
        let patterns = match m.get("patternProperties") {
            Some(Value::Object(p)) => Some(p),
            _ => None,
        };
        let mut by_pattern: Vec<&str> = Vec::new();
        if let Some(patterns) = patterns {
            // Without a regular-expression engine, patternProperties (and with it
            // additionalProperties) cannot be applied.
            let Some(matcher) = self.matcher else {
                return Ok(());
            };
            for (k, v) in o {
                for (pattern, s) in patterns {
                    match matcher(pattern, k) {
                        Some(true) => {
                            self.at_key(k, s, v, depth)?;
                            by_pattern.push(k.as_str());
                        }
                        Some(false) => {}
                        None => return Ok(()),
                    }
                }
            }
        }
        if let Some(names) = m.get("propertyNames") {
            for k in o.keys() {
                let key = Value::String(k.clone());
                self.at_key(k, names, &key, depth)?;
            }
        }
        if let Some(extra) = m.get("additionalProperties") {
            for (k, v) in o {
                if props.is_some_and(|p| p.contains_key(k)) || by_pattern.contains(&k.as_str()) {
                    continue;
                }
                match extra {
                    Value::Bool(true) => {}
                    Value::Bool(false) => {
                        return Err(
                            self.fail(format_args!("unexpected property {}", preview_str(k)))
                        );
                    }
                    s => self.at_key(k, s, v, depth)?,
                }
            }
        }
        Ok(())
    }

    /// `anyOf` (`one == false`) or `oneOf` (`one == true`).
    fn alternatives(&mut self, alts: &'a [Value], inst: &Value, depth: usize, one: bool) -> Res {
        let mut fails = Vec::new();
        let mut matched: Option<usize> = None;
        for (i, s) in alts.iter().enumerate() {
            match self.node(s, inst, depth + 1) {
                Ok(()) if !one => return Ok(()),
                Ok(()) => {
                    if let Some(j) = matched {
                        return Err(self.fail(format_args!(
                            "matches oneOf alternatives {j} and {i}, expected exactly one"
                        )));
                    }
                    matched = Some(i);
                }
                Err(Error::Fail(f)) => {
                    if matched.is_none() {
                        fails.push(*f);
                    }
                }
                Err(hard) => return Err(hard),
            }
        }
        if matched.is_some() {
            return Ok(());
        }
        Err(self.best_failure(fails, if one { "oneOf" } else { "anyOf" }))
    }

    /// Pick what to report when no alternative matched: merge `expected X, got Y` failures at
    /// this very path (`expected string or null, got number`), otherwise report the failure of
    /// the alternative that got furthest (deepest path; a type mismatch ranks lowest).
    fn best_failure(&self, fails: Vec<Fail>, keyword: &str) -> Error {
        if fails.is_empty() {
            return self.fail(format_args!("matches none of the {keyword} alternatives"));
        }
        if fails
            .iter()
            .all(|f| f.segs == self.segs && f.expect.is_some())
        {
            let mut expected: Vec<String> = Vec::new();
            let mut got = String::new();
            let is_type = fails.iter().all(|f| f.is_type);
            for f in fails {
                if let Some((exp, g)) = f.expect {
                    if got.is_empty() {
                        got = g;
                    }
                    for e in exp {
                        if !expected.contains(&e) {
                            expected.push(e);
                        }
                    }
                }
            }
            return self.fail_expect(expected, got, is_type);
        }
        let rank = |f: &Fail| f.segs * 2 + usize::from(!f.is_type);
        let mut best: Option<Fail> = None;
        for f in fails {
            if best.as_ref().is_none_or(|b| rank(&f) > rank(b)) {
                best = Some(f);
            }
        }
        match best {
            Some(f) => Error::Fail(Box::new(f)),
            None => self.fail(format_args!("matches none of the {keyword} alternatives")),
        }
    }

    /// JSON equality with numbers compared numerically; bounded depth, counts steps.
    fn equal(&mut self, a: &Value, b: &Value) -> Result<bool, Error> {
        self.equal_at(a, b, 0)
    }

    fn equal_at(&mut self, a: &Value, b: &Value, depth: usize) -> Result<bool, Error> {
        self.tick()?;
        if depth > MAX_DEPTH {
            return Err(self.hard(format_args!("value nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(match (a, b) {
            (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
            (Value::Array(x), Value::Array(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (p, q) in x.iter().zip(y) {
                    if !self.equal_at(p, q, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Object(x), Value::Object(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (k, p) in x {
                    match y.get(k) {
                        Some(q) if self.equal_at(p, q, depth + 1)? => {}
                        _ => return Ok(false),
                    }
                }
                true
            }
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::String(x), Value::String(y)) => x == y,
            _ => false,
        })
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => matches!(v, Value::Number(n) if is_integer(n)),
        _ => false,
    }
}

fn is_integer(n: &f64) -> bool {
    n.is_finite() && crate::fmath::fract(*n) == 0.0
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn num<'v>(m: &'v Map, key: &str) -> Option<&'v f64> {
    match m.get(key) {
        Some(Value::Number(n)) => Some(n),
        _ => None,
    }
}

/// A non-negative integer keyword (`minLength`, `maxItems`, …); other values are ignored.
fn count(m: &Map, key: &str) -> Option<u64> {
    Some(*num(m, key)?)
        .filter(|f| *f >= 0.0 && crate::fmath::fract(*f) == 0.0 && *f < 1.8e19)
        .map(|f| f as u64)
}

/// A whole number that a double holds exactly as an integer (below 2^63).
fn as_i64(n: f64) -> Option<i64> {
    (n.abs() < 9.2e18 && crate::fmath::fract(n) == 0.0).then_some(n as i64)
}

/// Numeric comparison (numbers are doubles, as in JavaScript).
fn num_cmp(a: &f64, b: &f64) -> Option<Ordering> {
    a.partial_cmp(b)
}

fn is_multiple(n: &f64, d: &f64) -> bool {
    if let (Some(x), Some(y)) = (as_i64(*n), as_i64(*d)) {
        return y <= 0 || x % y == 0;
    }
    let (x, y) = (*n, *d);
    if y <= 0.0 || !y.is_finite() {
        return true; // invalid divisor: ignore the keyword
    }
    let q = x / y;
    if !q.is_finite() {
        return false;
    }
    (q - crate::fmath::round(q)).abs() <= f64::EPSILON * 8.0 * q.abs().max(1.0)
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn plural_properties(n: u64) -> String {
    if n == 1 {
        "1 property".into()
    } else {
        format!("{n} properties")
    }
}

fn join_or(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(MAX_LISTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" or ");
    if items.len() > MAX_LISTED {
        s.push_str(" or …");
    }
    s
}

/// `"a"` for a one-value enum, otherwise `one of "a", "b", …`.
fn enum_text(vals: &[Value]) -> String {
    if vals.len() == 1 {
        return preview(&vals[0]);
    }
    let mut s = String::from("one of ");
    for (i, v) in vals.iter().take(MAX_LISTED).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&preview(v));
    }
    if vals.len() > MAX_LISTED {
        s.push_str(", …");
    }
    s
}

fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn push_index(path: &mut String, i: usize) {
    use core::fmt::Write;
    let _ = write!(path, "[{i}]");
}

/// Append `.key` or `["key"]` (key truncated) to a path.
fn push_key(path: &mut String, key: &str) {
    if is_identifier(key) && key.len() <= PREVIEW_CHARS {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&preview_str(key));
        path.push(']');
    }
}

/// First `max` characters of `s`, with `…` appended when cut.
fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A JSON-quoted string, at most ~40 characters of it.
fn preview_str(s: &str) -> String {
    match s.char_indices().nth(PREVIEW_CHARS) {
        Some((i, _)) => {
            let q = crate::json::quote(&s[..i]);
            format!("{}…\"", &q[..q.len() - 1])
        }
        None => crate::json::quote(s),
    }
}

/// Compact JSON text of a value, at most ~40 characters (then `…`). Bounded recursion: each
/// nesting level writes at least one character, and writing stops past the limit.
fn preview(v: &Value) -> String {
    if let Value::String(s) = v {
        return preview_str(s);
    }
    let mut out = String::new();
    write_preview(v, &mut out);
    if out.len() > PREVIEW_CHARS {
        truncate_chars(&out, PREVIEW_CHARS)
    } else {
        out
    }
}

/// Returns false once the output is past the limit.
fn write_preview(v: &Value, out: &mut String) -> bool {
    if out.len() > PREVIEW_CHARS {
        return false;
    }
    match v {
        Value::String(s) => out.push_str(&preview_str(s)),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_preview(x, out) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&preview_str(k));
                out.push(':');
                if !write_preview(x, out) {
                    return false;
                }
            }
            out.push('}');
        }
        scalar => crate::json::write(scalar, out),
    }
    out.len() <= PREVIEW_CHARS
}

/// Resolve a local `$ref` (`#`, `#/json/pointer`, or `<root $id>#/…`) against the root schema.
fn resolve_ref<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    let frag = match r.strip_prefix('#') {
        Some(f) => f,
        None => {
            let id = root.get("$id").and_then(Value::as_str)?;
            let id = id.strip_suffix('#').unwrap_or(id);
            let rest = r.strip_prefix(id).filter(|_| !id.is_empty())?;
            if rest.is_empty() {
                ""
            } else {
                rest.strip_prefix('#')?
            }
        }
    };
    if frag.is_empty() {
        return Some(root);
    }
    let frag = percent_decode(frag)?;
    let pointer = frag.strip_prefix('/')?; // plain-name fragments ($anchor) are unsupported
    let mut cur = root;
    for token in pointer.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        cur = match cur {
            Value::Object(m) => m.get(&token)?,
            // Digits only (no `+`), as the JS twin reads an index.
            Value::Array(a) if token.bytes().all(|b| b.is_ascii_digit()) => {
                a.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Two hex digits (no `+`), as JS `decodeURIComponent` reads them.
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------------------------------------
// Schema checking
// ---------------------------------------------------------------------------------------------

const TYPE_NAMES: [&str; 7] = [
    "null", "boolean", "object", "array", "string", "number", "integer",
];

fn schema_err(ptr: &str, msg: impl core::fmt::Display) -> String {
    format!("parameters schema at {}: {}", truncate_chars(ptr, 200), msg)
}

/// Append a JSON-pointer token (escaped) to `ptr`.
fn push_token(ptr: &mut String, token: &str) {
    ptr.push('/');
    for c in token.chars() {
        match c {
            '~' => ptr.push_str("~0"),
            '/' => ptr.push_str("~1"),
            c => ptr.push(c),
        }
    }
}

fn walk_child(
    root: &Value,
    s: &Value,
    ptr: &mut String,
    depth: usize,
    token: &str,
) -> Result<(), String> {
    let mark = ptr.len();
    push_token(ptr, token);
    let r = walk(root, s, ptr, depth + 1);
    ptr.truncate(mark);
    r
}

fn walk(root: &Value, s: &Value, ptr: &mut String, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(schema_err(
            ptr,
            format_args!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let m = match s {
        Value::Bool(_) => return Ok(()),
        Value::Object(m) => m,
        other => {
            return Err(schema_err(
                ptr,
                format_args!("expected a schema (object or boolean), got {}", kind(other)),
            ))
        }
    };
    for (k, v) in m {
        if let Some(problem) = keyword_problem(root, k, v) {
            let mut p = ptr.clone();
            push_token(&mut p, k);
            return Err(schema_err(&p, problem));
        }
        match (k.as_str(), v) {
            ("properties" | "definitions" | "$defs", Value::Object(map)) => {
                let mark = ptr.len();
                push_token(ptr, k);
                for (name, sub) in map {
                    walk_child(root, sub, ptr, depth, name)?;
                }
                ptr.truncate(mark);
            }
            ("items" | "prefixItems" | "allOf" | "anyOf" | "oneOf", Value::Array(a)) => {
                let mark = ptr.len();
                push_token(ptr, k);
                for (i, sub) in a.iter().enumerate() {
                    walk_child(root, sub, ptr, depth, &i.to_string())?;
                }
                ptr.truncate(mark);
            }
            (
                "items"
                | "additionalProperties"
                | "additionalItems"
                | "not"
                | "if"
                | "then"
                | "else",
                _,
            ) => walk_child(root, v, ptr, depth, k)?,
            _ => {}
        }
    }
    Ok(())
}

/// What is wrong with the value of keyword `k`, if anything. Subschemas themselves are checked
/// by [`walk`]; unknown keywords and annotations are fine.
fn keyword_problem(root: &Value, k: &str, v: &Value) -> Option<String> {
    let expected = match k {
        "type" => {
            let names = match v {
                Value::String(_) => core::slice::from_ref(v),
                Value::Array(a) if !a.is_empty() => a.as_slice(),
                _ => {
                    return Some(format!(
                        "expected a type name or a non-empty array of them, got {}",
                        preview(v)
                    ))
                }
            };
            return names
                .iter()
                .find(|n| !n.as_str().is_some_and(|n| TYPE_NAMES.contains(&n)))
                .map(|n| format!("unknown type {}", preview(n)));
        }
        "$ref" => return ref_problem(root, v),
        "required" if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) => {
            "an array of property names"
        }
        "enum" if !v.is_array() => "an array",
        "properties" | "definitions" | "$defs" if !v.is_object() => "an object of schemas",
        "prefixItems" if !v.is_array() => "an array of schemas",
        "allOf" | "anyOf" | "oneOf" if v.as_array().is_none_or(|a| a.is_empty()) => {
            "a non-empty array of schemas"
        }
        "minimum" | "maximum" if !v.is_number() => "a number",
        "exclusiveMinimum" | "exclusiveMaximum" if !v.is_number() && !v.is_boolean() => "a number",
        "multipleOf" if !v.as_f64().is_some_and(|d| d > 0.0) => "a number greater than 0",
        "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties"
            if v.as_u64().is_none()
                && !v
                    .as_f64()
                    .is_some_and(|f| f >= 0.0 && crate::fmath::fract(f) == 0.0) =>
        {
            "a non-negative integer"
        }
        "uniqueItems" | "nullable" if !v.is_boolean() => "a boolean",
        _ => return None,
    };
    Some(format!("expected {expected}, got {}", preview(v)))
}

/// Follow a chain of pure references to catch unresolvable ones and cycles such as
/// `{"$ref":"#"}` (which could never validate anything).
fn ref_problem(root: &Value, v: &Value) -> Option<String> {
    let Some(mut r) = v.as_str() else {
        return Some(format!("expected a string, got {}", preview(v)));
    };
    for _ in 0..=MAX_DEPTH {
        let Some(target) = resolve_ref(root, r) else {
            return Some(format!(
                "cannot resolve $ref {} (only local references such as \"#/$defs/name\" are supported)",
                preview_str(r)
            ));
        };
        match target.get("$ref").and_then(Value::as_str) {
            Some(next) => r = next,
            None => return None,
        }
    }
    Some("$ref cycle".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use proptest::prelude::*;

    const STACK_PROBE: usize = 256 * 1024;

    fn err(schema: Value, inst: Value) -> String {
        validate(&schema, &inst).expect_err("expected a validation error")
    }

    fn ok(schema: Value, inst: Value) {
        if let Err(e) = validate(&schema, &inst) {
            panic!("expected {inst} to be valid against {schema}: {e}");
        }
    }

    /// `{key: value}` without `json!`, which serializes (recursively) interpolated values.
    fn obj(key: &str, value: Value) -> Value {
        let mut m = Map::new();
        m.insert(key.into(), value);
        Value::Object(m)
    }

    fn zod_expression() -> Value {
        json!({
            "type": "object",
            "properties": {
                "expression": {"type": "string", "description": "A math expression, e.g. 2+2"}
            },
            "required": ["expression"],
            "additionalProperties": false
        })
    }

    #[test]
    fn zod_object_schema() {
        let mut with_schema = zod_expression();
        with_schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        for s in [zod_expression(), with_schema] {
            assert_eq!(check_schema(&s), Ok(()));
            ok(s.clone(), json!({"expression": "2+2"}));
            assert_eq!(
                err(s.clone(), json!({"expression": 4})),
                "arguments.expression: expected string, got number"
            );
            assert_eq!(
                err(s.clone(), json!({})),
                "arguments: missing required property \"expression\""
            );
            assert_eq!(
                err(s.clone(), json!({"expression": "1", "extra": true})),
                "arguments: unexpected property \"extra\""
            );
            assert_eq!(
                err(s.clone(), json!("2+2")),
                "arguments: expected object, got string"
            );
        }
    }

    #[test]
    fn draft07_zod_to_json_schema_with_definitions() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$ref": "#/definitions/Calc",
            "definitions": {
                "Calc": {
                    "type": "object",
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"],
                    "additionalProperties": false
                }
            }
        });
        assert_eq!(check_schema(&s), Ok(()));
        ok(s.clone(), json!({"expression": "1"}));
        assert_eq!(
            err(s, json!({"expression": null})),
            "arguments.expression: expected string, got null"
        );
    }

    #[test]
    fn boolean_and_empty_schemas() {
        ok(json!(true), json!({"a": 1}));
        ok(json!({}), json!([1, "x", null]));
        assert_eq!(
            err(json!(false), json!({})),
            "arguments: no value is allowed here"
        );
        assert_eq!(
            err(json!({"properties": {"a": false}}), json!({"a": 1})),
            "arguments.a: no value is allowed here"
        );
    }

    #[test]
    fn types() {
        ok(json!({"type": "null"}), json!(null));
        ok(json!({"type": "boolean"}), json!(false));
        ok(json!({"type": "number"}), json!(1.5));
        ok(json!({"type": "integer"}), json!(3));
        ok(json!({"type": "integer"}), json!(3.0));
        ok(json!({"type": "integer"}), json!(u64::MAX));
        ok(json!({"type": "integer"}), json!(-7));
        ok(json!({"type": "array"}), json!([]));
        ok(json!({"type": ["string", "null"]}), json!(null));
        assert_eq!(
            err(json!({"type": "integer"}), json!(1.5)),
            "arguments: expected integer, got number 1.5"
        );
        assert_eq!(
            err(json!({"type": ["string", "null"]}), json!(1)),
            "arguments: expected string or null, got number"
        );
        assert_eq!(
            err(json!({"type": "array"}), json!({})),
            "arguments: expected array, got object"
        );
        assert_eq!(
            err(json!({"type": "boolean"}), json!("true")),
            "arguments: expected boolean, got string"
        );
        assert_eq!(
            err(json!({"type": "number"}), json!(null)),
            "arguments: expected number, got null"
        );
    }

    #[test]
    fn nullable() {
        let s = json!({"type": "string", "nullable": true});
        ok(s.clone(), json!(null));
        ok(s.clone(), json!("x"));
        assert_eq!(
            err(s, json!(1)),
            "arguments: expected string or null, got number"
        );
        // `nullable` only widens `type`; an enum must list null itself (OpenAPI 3.0.3).
        let e = json!({"type": "string", "nullable": true, "enum": ["a"]});
        assert_eq!(err(e, json!(null)), "arguments: expected \"a\", got null");
    }

    #[test]
    fn properties_required_additional() {
        let s = json!({
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b c": {"type": "string"}},
            "required": ["a"],
            "additionalProperties": {"type": "boolean"}
        });
        ok(s.clone(), json!({"a": 1, "b c": "x", "z": true}));
        assert_eq!(
            err(s.clone(), json!({"a": 1, "b c": 2})),
            "arguments[\"b c\"]: expected string, got number"
        );
        assert_eq!(
            err(s.clone(), json!({"a": 1, "z": 2})),
            "arguments.z: expected boolean, got number"
        );
        // Required and properties apply only to objects.
        ok(
            json!({"required": ["a"], "properties": {"a": false}}),
            json!([1]),
        );
        // patternProperties disables additionalProperties (patterns are not evaluated).
        ok(
            json!({"patternProperties": {"^x": {}}, "additionalProperties": false}),
            json!({"xa": 1, "other": 2}),
        );
        // Nested paths.
        let nested = json!({"properties": {"user": {"properties": {"tags": {"items": {"type": "string"}}}}}});
        assert_eq!(
            err(nested, json!({"user": {"tags": ["a", 3]}})),
            "arguments.user.tags[1]: expected string, got number"
        );
    }

    #[test]
    fn min_max_properties() {
        let s = json!({"minProperties": 1, "maxProperties": 2});
        ok(s.clone(), json!({"a": 1}));
        assert_eq!(
            err(s.clone(), json!({})),
            "arguments: expected at least 1 property, got 0"
        );
        assert_eq!(
            err(s, json!({"a": 1, "b": 2, "c": 3})),
            "arguments: expected at most 2 properties, got 3"
        );
    }

    #[test]
    fn items_and_tuples() {
        let s = json!({"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3});
        ok(s.clone(), json!([1, 2.5]));
        assert_eq!(
            err(s.clone(), json!([])),
            "arguments: expected at least 1 item, got 0"
        );
        assert_eq!(
            err(s.clone(), json!([1, 2, 3, 4])),
            "arguments: expected at most 3 items, got 4"
        );
        assert_eq!(
            err(s, json!([1, "2"])),
            "arguments[1]: expected number, got string"
        );

        // 2020-12 tuple.
        let t = json!({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false});
        ok(t.clone(), json!(["a", 1]));
        ok(t.clone(), json!(["a"]));
        assert_eq!(
            err(t.clone(), json!(["a", "b"])),
            "arguments[1]: expected integer, got string"
        );
        assert_eq!(
            err(t, json!(["a", 1, 2])),
            "arguments: expected at most 2 items, got 3"
        );
        // draft-07 tuple.
        let d = json!({"items": [{"type": "string"}], "additionalItems": {"type": "boolean"}});
        ok(d.clone(), json!(["a", true, false]));
        assert_eq!(
            err(d, json!(["a", true, 0])),
            "arguments[2]: expected boolean, got number"
        );
        ok(json!({"items": [{"type": "string"}]}), json!(["a", 1]));
    }

    #[test]
    fn unique_items() {
        let s = json!({"uniqueItems": true});
        ok(s.clone(), json!([1, "1", [1], {"a": 1}, {"a": 2}]));
        assert_eq!(
            err(s.clone(), json!([1, 2, 1.0])),
            "arguments: expected unique items, but items 0 and 2 are equal"
        );
        assert!(validate(&s, &json!([{"a": [1, 2]}, {"a": [1, 2.0]}])).is_err());
        ok(json!({"uniqueItems": false}), json!([1, 1]));
    }

    #[test]
    fn enum_and_const() {
        let s = json!({"enum": ["add", "sub", 1, null]});
        ok(s.clone(), json!("add"));
        ok(s.clone(), json!(1.0));
        ok(s.clone(), json!(null));
        assert_eq!(
            err(s, json!("mul")),
            "arguments: expected one of \"add\", \"sub\", 1, null, got \"mul\""
        );
        let c = json!({"const": {"a": [1, 2]}});
        ok(c.clone(), json!({"a": [1.0, 2]}));
        assert_eq!(
            err(c, json!({"a": [1]})),
            "arguments: expected {\"a\":[1,2]}, got {\"a\":[1]}"
        );
        ok(json!({"const": null}), json!(null));
        assert_eq!(
            err(json!({"const": null}), json!(0)),
            "arguments: expected null, got 0"
        );
        let many: Vec<i32> = (0..20).collect();
        assert_eq!(
            err(json!({"enum": many}), json!(99)),
            "arguments: expected one of 0, 1, 2, 3, 4, 5, 6, 7, …, got 99"
        );
    }

    #[test]
    fn numeric_bounds() {
        let s = json!({"minimum": 0, "maximum": 10});
        ok(s.clone(), json!(0));
        ok(s.clone(), json!(10.0));
        ok(s.clone(), json!("not a number"));
        assert_eq!(
            err(s.clone(), json!(-1)),
            "arguments: expected a number >= 0, got -1"
        );
        assert_eq!(
            err(s, json!(10.5)),
            "arguments: expected a number <= 10, got 10.5"
        );
        let x = json!({"exclusiveMinimum": 0, "exclusiveMaximum": 1});
        ok(x.clone(), json!(0.5));
        assert_eq!(
            err(x.clone(), json!(0)),
            "arguments: expected a number > 0, got 0"
        );
        assert_eq!(err(x, json!(1)), "arguments: expected a number < 1, got 1");
        // draft-04 boolean form.
        let d4 =
            json!({"minimum": 0, "exclusiveMinimum": true, "maximum": 5, "exclusiveMaximum": true});
        ok(d4.clone(), json!(3));
        assert_eq!(
            err(d4.clone(), json!(0)),
            "arguments: expected a number > 0, got 0"
        );
        assert_eq!(err(d4, json!(5)), "arguments: expected a number < 5, got 5");
        // Numbers are doubles, as in JavaScript: 2^53 + 1 reads as 2^53.
        assert!(validate(
            &json!({"maximum": 9007199254740992u64}),
            &json!(9007199254740993u64)
        )
        .is_ok());
        assert!(validate(
            &json!({"maximum": 9007199254740992u64}),
            &json!(9007199254740994u64)
        )
        .is_err());
        ok(json!({"minimum": -1}), json!(u64::MAX));
    }

    #[test]
    fn multiple_of() {
        ok(json!({"multipleOf": 5}), json!(15));
        ok(json!({"multipleOf": 0.1}), json!(0.3));
        ok(json!({"multipleOf": 0.01}), json!(19.99));
        ok(json!({"multipleOf": 2}), json!(4.0));
        assert_eq!(
            err(json!({"multipleOf": 5}), json!(7)),
            "arguments: expected a multiple of 5, got 7"
        );
        assert!(validate(&json!({"multipleOf": 0.5}), &json!(0.3)).is_err());
        assert!(validate(&json!({"multipleOf": 2}), &json!(1e12 + 1.0)).is_err());
    }

    #[test]
    fn string_lengths_count_code_points() {
        let s = json!({"minLength": 2, "maxLength": 3});
        ok(s.clone(), json!("ab"));
        ok(s.clone(), json!("😀😀😀"));
        assert_eq!(
            err(s.clone(), json!("a")),
            "arguments: expected at least 2 characters, got 1"
        );
        assert_eq!(
            err(s, json!("😀😀😀😀")),
            "arguments: expected at most 3 characters, got 4"
        );
        assert_eq!(
            err(json!({"minLength": 1}), json!("")),
            "arguments: expected at least 1 character, got 0"
        );
    }

    #[test]
    fn pattern_and_format_are_ignored() {
        ok(
            json!({"type": "string", "pattern": "^a$", "format": "email"}),
            json!("zzz"),
        );
    }

    #[test]
    fn any_of() {
        // Zod's `z.string().nullable()` in 2020-12 output.
        let s = json!({"anyOf": [{"type": "string"}, {"type": "null"}]});
        ok(s.clone(), json!(null));
        ok(s.clone(), json!("x"));
        assert_eq!(
            err(s, json!(1)),
            "arguments: expected string or null, got number"
        );
        let lit = json!({"anyOf": [{"const": "a"}, {"const": "b"}]});
        assert_eq!(
            err(lit, json!("c")),
            "arguments: expected \"a\" or \"b\", got \"c\""
        );
        // The alternative that got furthest is reported, whatever the order.
        for alts in [
            json!([{"type": "null"}, {"type": "object", "required": ["x"]}]),
            json!([{"type": "object", "required": ["x"]}, {"type": "null"}]),
        ] {
            assert_eq!(
                err(json!({"anyOf": alts}), json!({})),
                "arguments: missing required property \"x\""
            );
        }
        let deep = json!({"anyOf": [
            {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"properties": {"c": {"type": "string"}}}}, "required": ["b"]}
        ]});
        assert_eq!(
            err(deep, json!({"b": {"c": 1}})),
            "arguments.b.c: expected string, got number"
        );
        // Nested unions flatten.
        let nested = json!({"anyOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "null"}]});
        assert_eq!(
            err(nested, json!(true)),
            "arguments: expected string or integer or null, got boolean"
        );
    }

    #[test]
    fn one_of() {
        let s = json!({"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]});
        ok(s.clone(), json!(-1));
        ok(s.clone(), json!(0.5));
        assert_eq!(
            err(s.clone(), json!(2)),
            "arguments: matches oneOf alternatives 0 and 1, expected exactly one"
        );
        assert_eq!(
            err(s, json!("x")),
            "arguments: expected integer or number, got string"
        );
    }

    #[test]
    fn all_of_not_if() {
        let a = json!({"allOf": [{"type": "number"}, {"minimum": 3}]});
        ok(a.clone(), json!(4));
        assert_eq!(err(a, json!(2)), "arguments: expected a number >= 3, got 2");

        let n = json!({"not": {"type": "string"}});
        ok(n.clone(), json!(1));
        assert_eq!(
            err(n, json!("s")),
            "arguments: must not match the \"not\" schema"
        );

        let c = json!({
            "if": {"properties": {"kind": {"const": "circle"}}},
            "then": {"required": ["radius"]},
            "else": {"required": ["width"]}
        });
        ok(c.clone(), json!({"kind": "circle", "radius": 1}));
        ok(c.clone(), json!({"kind": "square", "width": 1}));
        assert_eq!(
            err(c.clone(), json!({"kind": "circle"})),
            "arguments: missing required property \"radius\""
        );
        assert_eq!(
            err(c, json!({"kind": "square"})),
            "arguments: missing required property \"width\""
        );
        ok(json!({"if": {"type": "string"}}), json!(1));
    }

    #[test]
    fn refs() {
        let s = json!({
            "$defs": {"pos": {"type": "integer", "minimum": 1}, "a/b~c": {"type": "string"}},
            "properties": {
                "n": {"$ref": "#/$defs/pos"},
                "s": {"$ref": "#/$defs/a~1b~0c"},
                "t": {"$ref": "#/$defs/a~1b~0c", "maxLength": 1},
                "e": {"$ref": "#/properties/n"},
                "p": {"$ref": "#/%24defs/pos"}
            }
        });
        assert_eq!(check_schema(&s), Ok(()));
        ok(s.clone(), json!({"n": 1, "s": "x", "e": 2, "p": 3}));
        assert_eq!(
            err(s.clone(), json!({"n": 0})),
            "arguments.n: expected a number >= 1, got 0"
        );
        assert_eq!(
            err(s.clone(), json!({"s": 1})),
            "arguments.s: expected string, got number"
        );
        assert_eq!(
            err(s.clone(), json!({"t": "ab"})),
            "arguments.t: expected at most 1 character, got 2"
        );
        assert!(validate(&s, &json!({"e": -5})).is_err());
        assert!(validate(&s, &json!({"p": -5})).is_err());

        // Recursive (tree) schema via "#".
        let tree = json!({
            "type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#"}}},
            "additionalProperties": false
        });
        assert_eq!(check_schema(&tree), Ok(()));
        ok(tree.clone(), json!({"children": [{"children": []}, {}]}));
        assert_eq!(
            err(tree, json!({"children": [{"children": [{"x": 1}]}]})),
            "arguments.children[0].children[0]: unexpected property \"x\""
        );

        // Absolute reference through the root $id.
        let id = json!({"$id": "https://example.com/s.json", "$defs": {"a": {"type": "string"}},
                        "properties": {"x": {"$ref": "https://example.com/s.json#/$defs/a"}}});
        assert!(validate(&id, &json!({"x": 1})).is_err());
        ok(id, json!({"x": "1"}));

        // Unresolvable references.
        let bad = json!({"properties": {"x": {"$ref": "#/$defs/missing"}}});
        assert!(check_schema(&bad)
            .unwrap_err()
            .contains("cannot resolve $ref \"#/$defs/missing\""));
        assert_eq!(
            err(bad, json!({"x": 1})),
            "arguments.x: cannot resolve $ref \"#/$defs/missing\" (only local references such as \"#/$defs/name\" are supported)"
        );
        assert!(validate(&json!({"$ref": "other.json#/a"}), &json!(1)).is_err());
        assert!(validate(&json!({"$ref": "#anchor"}), &json!(1)).is_err());
    }

    #[test]
    fn ref_cycles_and_depth_limits() {
        let cycle = json!({"$ref": "#"});
        let e = err(cycle.clone(), json!({}));
        assert!(e.contains("deeper than 64 levels"), "{e}");
        assert_eq!(
            check_schema(&cycle),
            Err("parameters schema at #/$ref: $ref cycle".into())
        );

        let mutual = json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
                            "properties": {"x": {"$ref": "#/$defs/a"}}});
        assert!(validate(&mutual, &json!({"x": 1})).is_err());
        assert!(check_schema(&mutual).unwrap_err().contains("$ref cycle"));
        ok(mutual, json!({})); // the cycle is never entered

        // A cycle through a combinator, and an exponential one.
        assert!(validate(&json!({"anyOf": [{"$ref": "#"}]}), &json!(1)).is_err());
        let e = err(json!({"anyOf": [{"$ref": "#"}, {"$ref": "#"}]}), json!(1));
        assert!(e.contains("step limit") || e.contains("deeper"), "{e}");
        assert!(validate(&json!({"not": {"$ref": "#"}}), &json!(1)).is_err());
        assert!(validate(&json!({"if": {"$ref": "#"}}), &json!(1)).is_err());

        // Deep instance against a recursive schema.
        let tree = json!({"type": "array", "items": {"$ref": "#"}});
        let mut deep = json!([]);
        for _ in 0..2000 {
            deep = Value::Array(vec![deep]);
        }
        let e = err(tree, deep.clone());
        assert!(e.contains("deeper than 64 levels"), "{e}");
        assert!(e.chars().count() < 200, "{e}");

        // Deep values in enum/const/uniqueItems comparisons.
        assert!(validate(&obj("const", deep.clone()), &deep).is_err());
        let pair = Value::Array(vec![deep.clone(), deep.clone()]);
        assert!(validate(&json!({"uniqueItems": true}), &pair).is_err());
        // …and in messages.
        let e = err(json!({"const": 1}), deep.clone());
        assert!(e.chars().count() < 100, "{e}");

        // Deep schemas (not deeper: dropping deep maps recurses too, in debug builds heavily).
        let mut s = json!({"type": "string"});
        for _ in 0..300 {
            s = obj("properties", obj("a", s));
        }
        let mut inst = json!(1);
        for _ in 0..300 {
            inst = obj("a", inst);
        }
        assert!(validate(&s, &inst).is_err());
        assert!(check_schema(&s)
            .unwrap_err()
            .contains("nested deeper than 64 levels"));
        let mut s = json!(true);
        for _ in 0..300 {
            s = obj("allOf", Value::Array(vec![s]));
        }
        assert!(validate(&s, &json!(1)).is_err());
    }

    #[test]
    fn worst_case_recursion_fits_in_a_small_stack() {
        // wasm32's default stack is 1 MiB; the depth limit must keep validation well inside it
        // even in unoptimized builds. (The values are just past the limits: dropping deeply
        // nested maps needs a lot of stack in debug builds too.)
        std::thread::Builder::new()
            .stack_size(STACK_PROBE)
            .spawn(|| {
                let cycle = json!({"anyOf": [{"allOf": [{"$ref": "#"}]}], "not": {"$ref": "#"}});
                assert!(validate(&cycle, &json!(1)).is_err());
                let tree = json!({"type": "array", "items": {"oneOf": [{"$ref": "#"}]}, "uniqueItems": true});
                let mut deep = json!([]);
                for _ in 0..100 {
                    deep = Value::Array(vec![deep, json!(1)]);
                }
                assert!(validate(&tree, &deep).is_err());
                assert!(validate(&obj("enum", Value::Array(vec![deep.clone()])), &deep).is_err());
                let mut s = json!({"type": "string"});
                for _ in 0..40 {
                    s = obj("properties", obj("a", obj("anyOf", Value::Array(vec![s]))));
                }
                let mut inst = json!(1);
                for _ in 0..70 {
                    inst = obj("a", inst);
                }
                assert!(validate(&s, &inst).is_err());
                assert!(check_schema(&s).is_err());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn step_limit_on_big_inputs() {
        let big: Vec<Value> = (0..5000).map(Value::from).collect();
        let e = err(json!({"uniqueItems": true}), Value::Array(big));
        assert!(e.contains("step limit"), "{e}");
        let small: Vec<Value> = (0..100).map(Value::from).collect();
        ok(
            json!({"uniqueItems": true, "items": {"type": "integer"}}),
            Value::Array(small),
        );
    }

    #[test]
    fn messages_do_not_echo_huge_values() {
        let long = "x".repeat(10_000);
        let e = err(json!({"const": "a"}), json!(long));
        assert!(e.chars().count() < 80, "{e}");
        assert!(e.ends_with("…\""), "{e}");
        let e = err(
            json!({"additionalProperties": false}),
            json!({ long.clone(): 1 }),
        );
        assert!(e.chars().count() < 80, "{e}");
        let e = err(
            json!({"properties": { long.clone(): {"type": "string"} }}),
            json!({ long.clone(): 1 }),
        );
        assert!(e.chars().count() < 100, "{e}");
        let e = err(json!({"required": [long]}), json!({}));
        assert!(e.chars().count() < 100, "{e}");
        let e = err(
            json!({"enum": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]]}),
            json!(1),
        );
        assert!(e.chars().count() < 80, "{e}");
        assert_eq!(
            preview(&json!([1, [2, {"k": "v"}]])),
            "[1,[2,{\"k\":\"v\"}]]"
        );
    }

    #[test]
    fn check_schema_rejections() {
        assert_eq!(check_schema(&json!(true)), Ok(()));
        assert_eq!(check_schema(&json!({})), Ok(()));
        assert_eq!(check_schema(&json!({"type": ["object", "null"]})), Ok(()));
        assert_eq!(
            check_schema(&json!({"anyOf": [{"type": "object"}, {"type": "object"}]})),
            Ok(())
        );
        assert_eq!(
            check_schema(&json!(false)),
            Err("parameters schema is `false`, which rejects every call".into())
        );
        assert_eq!(
            check_schema(&json!("object")),
            Err("parameters schema must be a JSON Schema object, got string".into())
        );
        assert_eq!(
            check_schema(&json!({"type": "string"})),
            Err(
                "parameters schema must describe an object (type \"object\"), got type \"string\""
                    .into()
            )
        );
        assert_eq!(
            check_schema(&json!({"$ref": "#/$defs/a", "$defs": {"a": {"type": "array"}}})),
            Err(
                "parameters schema must describe an object (type \"object\"), got type \"array\""
                    .into()
            )
        );
        assert_eq!(
            check_schema(&json!({"properties": {"x": {"type": "int"}}})),
            Err("parameters schema at #/properties/x/type: unknown type \"int\"".into())
        );
        assert_eq!(
            check_schema(&json!({"properties": {"a/b": {"type": 3}}})),
            Err("parameters schema at #/properties/a~1b/type: expected a type name or a non-empty array of them, got 3".into())
        );
        assert_eq!(
            check_schema(&json!({"required": "x"})),
            Err(
                "parameters schema at #/required: expected an array of property names, got \"x\""
                    .into()
            )
        );
        assert_eq!(
            check_schema(&json!({"properties": {"x": {"items": [{"minimum": "1"}]}}})),
            Err(
                "parameters schema at #/properties/x/items/0/minimum: expected a number, got \"1\""
                    .into()
            )
        );
        assert_eq!(
            check_schema(&json!({"anyOf": []})),
            Err(
                "parameters schema at #/anyOf: expected a non-empty array of schemas, got []"
                    .into()
            )
        );
        assert_eq!(
            check_schema(&json!({"properties": {"x": 5}})),
            Err("parameters schema at #/properties/x: expected a schema (object or boolean), got number".into())
        );
        assert!(check_schema(&json!({"multipleOf": 0})).is_err());
        assert!(check_schema(&json!({"minLength": -1})).is_err());
        assert!(check_schema(&json!({"uniqueItems": "yes"})).is_err());
        assert!(check_schema(&json!({"$ref": 1})).is_err());
        // Unknown keywords and annotations are fine.
        assert_eq!(
            check_schema(&json!({"x-custom": 5, "pattern": "[", "format": "uuid", "title": 1})),
            Ok(())
        );
    }

    #[test]
    fn invalid_schema_nodes_are_errors_not_panics() {
        assert!(validate(&json!({"properties": {"a": 5}}), &json!({"a": 1})).is_err());
        ok(
            json!({"type": 5, "minimum": "x", "required": "a", "items": 3}),
            json!([1]),
        );
        ok(json!({"multipleOf": 0}), json!(3));
        ok(json!({"multipleOf": -2}), json!(3.5));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let keys = prop_oneof![
            Just("type".to_string()),
            Just("properties".to_string()),
            Just("required".to_string()),
            Just("additionalProperties".to_string()),
            Just("items".to_string()),
            Just("prefixItems".to_string()),
            Just("additionalItems".to_string()),
            Just("enum".to_string()),
            Just("const".to_string()),
            Just("anyOf".to_string()),
            Just("oneOf".to_string()),
            Just("allOf".to_string()),
            Just("not".to_string()),
            Just("if".to_string()),
            Just("then".to_string()),
            Just("else".to_string()),
            Just("$ref".to_string()),
            Just("$defs".to_string()),
            Just("minimum".to_string()),
            Just("exclusiveMaximum".to_string()),
            Just("multipleOf".to_string()),
            Just("minLength".to_string()),
            Just("maxItems".to_string()),
            Just("uniqueItems".to_string()),
            Just("nullable".to_string()),
            Just("a".to_string()),
            "[a-z~/%]{0,4}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            (-3i64..10).prop_map(Value::from),
            prop_oneof![
                Just("#"),
                Just("#/$defs/a"),
                Just("#/properties/a"),
                Just("#/anyOf/0"),
                Just("#/%"),
                Just("string"),
                Just("integer"),
                Just("object"),
                Just("array"),
                Just("null"),
            ]
            .prop_map(Value::from),
            "\\PC{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics(schema in arb_json(), inst in arb_json()) {
            let _ = validate(&schema, &inst);
            let _ = validate(&inst, &schema);
            let _ = check_schema(&schema);
            if check_schema(&schema).is_ok() {
                // A checked schema never hits the "invalid schema" path.
                if let Err(e) = validate(&schema, &inst) {
                    prop_assert!(!e.contains("invalid schema"), "{}", e);
                }
            }
        }

        #[test]
        fn true_and_empty_accept_everything(inst in arb_json()) {
            prop_assert_eq!(validate(&json!(true), &inst), Ok(()));
            prop_assert_eq!(validate(&json!({}), &inst), Ok(()));
        }
    }
}
