//! The JSON reader (`json::parse`, `json::validate`, `json::text_member`) against serde_json
//! as the oracle, and the writer round-trip.
//!
//! Properties, for any UTF-8 text: no panic; `parse` accepts exactly what serde_json accepts
//! (except where ours follows `JSON.parse`: see `accepted_difference`) and reads the same
//! value; `validate` agrees with `parse` (it also accepts any depth); what `parse`
//! read, written with `json::to_js_text`, reads back to the same value.
#![no_main]

use kapa_agent_wasm::json;
use libfuzzer_sys::fuzz_target;

/// The value type of our reader: the crate's own (f64 numbers, JS key order).
type Ours = json::Value;

/// The ONE adapter between the oracle and our reader: serde_json's value as ours (equality
/// ignores key order and compares numbers as JS does).
fn from_oracle(v: serde_json::Value) -> Ours {
    json::Value::from(v)
}

/// Where our reader follows `JSON.parse` and serde_json refuses: a 128th level of nesting
/// (both refuse anything deeper), lone surrogate escapes (ours: U+FFFD), numbers beyond the
/// double range (ours: ±Infinity, as `JSON.parse`).
fn accepted_difference(serde_error: &str) -> bool {
    serde_error.starts_with("recursion limit exceeded")
        || serde_error.contains("surrogate")
        || serde_error.contains("hex escape")
        || serde_error.starts_with("number out of range")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let ours = json::parse(text);
    let oracle = serde_json::from_str::<serde_json::Value>(text);
    match (&ours, oracle) {
        (Ok(a), Ok(b)) => assert_eq!(*a, from_oracle(b), "different values"),
        (Err(_), Err(_)) => {}
        (Err(e), Ok(_)) => panic!("we reject ({e}), serde_json accepts"),
        (Ok(_), Err(e)) if accepted_difference(&e.to_string()) => {}
        (Ok(_), Err(e)) => panic!("we accept, serde_json rejects ({e})"),
    }
    // validate() skips without building, at any depth: it accepts everything parse accepts,
    // and rejects only for a reason other than depth when parse rejects.
    let valid = json::validate(text);
    match &ours {
        Ok(v) => {
            assert!(valid.is_ok(), "validate rejects what parse read");
            // The exact writer (the one for values handed to JS) keeps every double, -0 and
            // ±Infinity included; `to_string` writes as JSON.stringify (-0 as 0, ±Infinity as
            // null), so it cannot round-trip those.
            let (written, _nan) = json::to_js_text(v);
            assert_eq!(
                json::parse(&written).as_ref(),
                Ok(v),
                "write/read round trip"
            );
        }
        Err(e) if e.0 != "nested too deeply" => assert!(valid.is_err(), "validate accepts ({e})"),
        Err(_) => {}
    }
    // The streamed text_delta reader: for an object, the `text` string it finds is the one
    // the full parse has (the last of duplicates, as JSON.parse keeps), or none for both.
    if let Ok(json::Value::Object(map)) = &ours {
        let want = map.get("text").and_then(|v| v.as_str()).map(str::to_owned);
        let got = json::text_member(text).map(|t| t.map(|(s, _halves)| s));
        assert_eq!(got, Ok(want), "text_member");
    }
});
