//! The JSON reader (`json::parse`, `json::validate`, `json::text_member`) against serde_json
//! as the oracle, and the writer round-trip.
//!
//! Properties, for any UTF-8 text: no panic; `parse` accepts exactly what serde_json accepts
//! (past serde_json's nesting limit, which both share, and with no other exception) and reads
//! the same value; `validate` agrees with `parse` (it also accepts any depth); what `parse`
//! read, written with `json::to_string`, reads back to the same value.
#![no_main]

use kapa_agent_wasm::json;
use libfuzzer_sys::fuzz_target;

/// The value type of our reader.
type Ours = serde_json::Value;

/// The ONE adapter between the oracle and our reader: serde_json's value as ours. While the
/// crate's JSON value is `serde_json::Value` this is the identity; with the crate's own type
/// (f64 numbers, insertion-ordered objects) it converts, and the comparison stays as it is.
fn from_oracle(v: serde_json::Value) -> Ours {
    v
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
        // serde_json refuses a 128th level of nesting; we read up to 128 levels (both refuse
        // anything deeper). The one accepted difference.
        (Ok(_), Err(e)) if e.to_string().starts_with("recursion limit exceeded") => {}
        (Ok(_), Err(e)) => panic!("we accept, serde_json rejects ({e})"),
    }
    // validate() skips without building, at any depth: it accepts everything parse accepts,
    // and rejects only for a reason other than depth when parse rejects.
    let valid = json::validate(text);
    match &ours {
        Ok(v) => {
            assert!(valid.is_ok(), "validate rejects what parse read");
            let written = json::to_string(v);
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
    if let Ok(serde_json::Value::Object(map)) = &ours {
        let want = map.get("text").and_then(|v| v.as_str()).map(str::to_owned);
        assert_eq!(json::text_member(text), Ok(want), "text_member");
    }
});
