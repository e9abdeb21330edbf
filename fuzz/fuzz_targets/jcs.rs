//! JCS canonicalisation (RFC 8785) of any JSON value our reader accepts, and the SHA-256
//! `argumentsHash` built on it.
//!
//! Properties: no panic; the output equals a straightforward reference written here (keys
//! sorted by UTF-16 code units at every level, strings escaped as `JSON.stringify` does, which
//! serde_json matches, no white space); it reads back to the same value with numbers as JS
//! doubles; canonicalising is idempotent; every number is written so that it reads back to
//! the same double; the hash is 64 lowercase hex digits of the canonical text.
#![no_main]

use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::{canonical, json};
use libfuzzer_sys::fuzz_target;

fn reference(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&canonical::js_number(*n)),
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                reference(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(Vec<u16>, &String, &Value)> = map
                .iter()
                .map(|(k, v)| (k.encode_utf16().collect(), k, v))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (_, k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                reference(v, out);
            }
            out.push('}');
        }
    }
}

/// Every number in `v` reads back from its JCS text as the same double.
fn numbers_round_trip(v: &Value) {
    match v {
        // Beyond the double range a number reads as ±Infinity (as in JSON.parse), which
        // JSON.stringify, and so JCS, writes as null.
        Value::Number(x) if !x.is_finite() => assert_eq!(canonical::js_number(*x), "null"),
        Value::Number(n) => {
            let x = *n;
            let text = canonical::js_number(x);
            let back: f64 = text.parse().expect("a number");
            assert!(back == x, "{x:?} written as {text}");
            if x == x.trunc() && x.abs() < 1e21 {
                assert!(!text.contains(['.', 'e']), "{x:?} written as {text}");
            }
        }
        Value::Array(items) => items.iter().for_each(numbers_round_trip),
        Value::Object(map) => map.values().for_each(numbers_round_trip),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = json::parse(text) else {
        return;
    };
    let canon = canonical::canonical_json(&value);
    let mut want = String::new();
    reference(&value, &mut want);
    assert_eq!(canon, want, "differs from the reference");
    let back = json::parse(&canon).expect("canonical output is JSON");
    assert_eq!(canonical::canonical_json(&back), canon, "idempotent");
    numbers_round_trip(&value);
    let hash = canonical::arguments_hash(&value);
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert_eq!(hash, canonical::sha256_hex(canon.as_bytes()));
});
