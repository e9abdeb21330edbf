//! The JSON Schema validator: any schema, any instance.
//!
//! Input: a schema and an instance, as JSON texts separated by the first 0xff byte (not valid
//! in UTF-8 text, so neither half contains it). Properties: no panic and no endless loop
//! (recursive `$ref`s, deep nesting) in `check_schema` (the tool-definition check) or
//! `validate`; validating is deterministic; a schema of `true` / `{}` accepts everything.
#![no_main]

use kapa_agent_wasm::{json, schema};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&x| x == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"null"[..]),
    };
    let (Ok(a), Ok(b)) = (core::str::from_utf8(a), core::str::from_utf8(b)) else {
        return;
    };
    let (Ok(schema_value), Ok(instance)) = (json::parse(a), json::parse(b)) else {
        return;
    };
    let _ = schema::check_schema(&schema_value);
    let first = schema::validate(&schema_value, &instance);
    assert_eq!(
        first,
        schema::validate(&schema_value, &instance),
        "deterministic"
    );
    // A pattern matcher that never matches, and one that cannot evaluate anything.
    let _ = schema::validate_with(
        &schema_value,
        &instance,
        Some(&|_: &str, _: &str| Some(false)),
    );
    let _ = schema::validate_with(&schema_value, &instance, Some(&|_: &str, _: &str| None));
    for anything in ["true", "{}"] {
        let s = json::parse(anything).unwrap();
        assert_eq!(
            schema::validate(&s, &instance),
            Ok(()),
            "{anything} accepts anything"
        );
    }
    // The schema as an instance of itself (schemas are JSON values too).
    let _ = schema::validate(&schema_value, &schema_value);
});
