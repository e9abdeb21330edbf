//! JSON text from a [`serde_json::Value`], written by hand. serde_json's writer goes through
//! serde's `Serializer` and `std::io::Write` and cost ~10 KiB of .wasm; the agent only ever
//! writes `Value`s (request bodies, values handed to JS), so this is all it needs. The output
//! is byte for byte what `serde_json::to_string` writes (the tests check it against it): keys
//! in the map's order, numbers as `serde_json::Number` displays them, strings escaped like
//! `JSON.stringify` (quote, backslash, `\b \f \n \r \t`, other controls as `\u00xx`).

use serde_json::Value;

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
            use std::fmt::Write;
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
    }
}
