//! The Rust JSON Schema code (src/schema.rs) as the oracle of its JS twin
//! (`pkg-template/lib/schema-check.js`), for tests/js/schema-differential.test.mjs: reads JSON
//! lines `{"schema": …, "instance": …, "matches": {pattern: {text: true | false | null}}}` on
//! stdin and writes one line per input, `{"validate": null | message, "check": null |
//! message}`: `validate_with` and `check_schema` (or `{"skip": why}` for a line the crate's
//! JSON reader refuses: nested deeper than 128). `matches` is what JS `RegExp` (flag `u`)
//! answers for each pattern and text (null: an invalid pattern); a pair missing from it is a
//! bug of the test and panics.
//!
//! `cargo run --quiet --example schema_oracle < cases.jsonl`

use std::io::{BufRead, Write};

use kapa_agent_wasm::json::{self, Map, Value};
use kapa_agent_wasm::schema::{check_schema, validate_with};

fn text(r: Result<(), String>) -> Value {
    r.err().map_or(Value::Null, Value::String)
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        // Values nested deeper than the reader takes (128) never reach a validator in the
        // package (the arguments are read by it, the schemas are JSON data of that depth too).
        let case = match json::parse(&line) {
            Ok(case) => case,
            Err(e) => {
                writeln!(out, "{{\"skip\":{}}}", json::quote(&format!("{e:?}"))).expect("stdout");
                continue;
            }
        };
        let schema = case.get("schema").cloned().unwrap_or(Value::Null);
        let instance = case.get("instance").cloned().unwrap_or(Value::Null);
        let matches = case.get("matches").cloned().unwrap_or(Value::Null);
        let matcher = |pattern: &str, text: &str| -> Option<bool> {
            match matches.get(pattern).and_then(|m| m.get(text)) {
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::Null) => None,
                _ => panic!("no RegExp answer for pattern {pattern:?} and text {text:?}"),
            }
        };
        let mut result = Map::new();
        result.insert(
            "validate".into(),
            text(validate_with(&schema, &instance, Some(&matcher))),
        );
        result.insert("check".into(), text(check_schema(&schema)));
        writeln!(out, "{}", json::to_string(&Value::Object(result))).expect("stdout");
    }
}
