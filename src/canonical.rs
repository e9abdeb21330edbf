//! Canonical JSON (RFC 8785, JCS) and SHA-256, for Kaplaix's `argumentsHash`: the lowercase
//! hex SHA-256 of the tool arguments written with object keys sorted by UTF-16 code units at
//! every level, no white space, and numbers and strings exactly as `JSON.stringify` writes
//! them (`crate::json`'s writer). Both are small enough to write here rather than pull in
//! crates. Only built with the `governance` feature.

use crate::json::Value;
#[allow(unused_imports)]
use crate::prelude::*;

/// `value` as RFC 8785 canonical JSON.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => crate::json::write_number(*n, out),
        // Escaped exactly like JSON.stringify for every Rust string (quote, backslash,
        // \b \f \n \r \t, other controls as lowercase \u00xx, nothing else).
        Value::String(s) => crate::json::write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let keys: Vec<Vec<u16>> = map.keys().map(|k| k.encode_utf16().collect()).collect();
            let entries: Vec<(&String, &Value)> = map.iter().collect();
            // Sorted by UTF-16 code units, in O(n log n) whatever the object (its keys are
            // in JavaScript's order, not sorted).
            let mut order: Vec<u32> = (0..entries.len() as u32).collect();
            crate::json::sort_positions(&mut order, &mut |a, b| {
                keys[a as usize].cmp(&keys[b as usize])
            });
            out.push('{');
            for (i, (k, v)) in order.iter().map(|&j| entries[j as usize]).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::json::write_str(k, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
    }
}

pub use crate::json::js_number;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 of `data` as lowercase hex (FIPS 180-4).
pub fn sha256_hex(data: &[u8]) -> String {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut hex = String::with_capacity(64);
    for x in h {
        crate::text::push_hex(&mut hex, x.into(), 8, false);
    }
    hex
}

/// Kaplaix's `argumentsHash`: SHA-256 of the canonical JSON of the arguments.
pub fn arguments_hash(arguments: &Value) -> String {
    sha256_hex(canonical_json(arguments).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            sha256_hex(&vec![b'a'; 1_000_000]),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn canonical_sorts_keys_by_utf16_at_every_level() {
        let v = json!({"b": [3, {"z": 1, "a": null}], "a": "é", "\u{e000}": 1, "\u{1f600}": 2, "10": true, "1": false});
        // U+1F600 is a surrogate pair (D83D DE00), which sorts before U+E000 in UTF-16.
        assert_eq!(
            canonical_json(&v),
            "{\"1\":false,\"10\":true,\"a\":\"é\",\"b\":[3,{\"a\":null,\"z\":1}],\"😀\":2,\"\u{e000}\":1}"
        );
        assert_eq!(
            canonical_json(&json!({"s": "a\"\\\n\u{1}\u{7f}/"})),
            "{\"s\":\"a\\\"\\\\\\n\\u0001\u{7f}/\"}"
        );
        assert_eq!(
            canonical_json(&json!({"n": 1e21, "m": 0.5, "i": -3})),
            "{\"i\":-3,\"m\":0.5,\"n\":1e+21}"
        );
    }

    #[test]
    fn canonical_ignores_key_order_and_sorts_big_objects_fast() {
        let a = crate::json::parse(r#"{"b":1,"a":{"y":[1,{"d":0,"c":-0}],"x":2},"10":3,"9":4}"#)
            .unwrap();
        let b = crate::json::parse(r#"{"9":4,"a":{"x":2,"y":[1,{"c":-0,"d":0}]},"b":1,"10":3}"#)
            .unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&a),
            r#"{"10":3,"9":4,"a":{"x":2,"y":[1,{"c":0,"d":0}]},"b":1}"#
        );
        // 100 000 keys in reverse order (an insertion sort would take minutes).
        let mut text = String::from("{");
        for i in (0..100_000).rev() {
            text += &format!("\"k{i:06}\":{i},");
        }
        text.pop();
        text.push('}');
        let big = crate::json::parse(&text).unwrap();
        let start = std::time::Instant::now();
        let c = canonical_json(&big);
        assert!(
            c.starts_with("{\"k000000\":0,\"k000001\":1,"),
            "{}",
            &c[..40]
        );
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn arguments_hash_vectors() {
        // Computed with Node: crypto.createHash('sha256').update('{}').digest('hex') etc.
        assert_eq!(
            arguments_hash(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(
            arguments_hash(&json!({"expression": "2*(3+4)"})),
            "904c126657bd6df6e979475c08487b97fb785641bc32565923f3735fe6053f79"
        );
        // Nested, unsorted keys, unicode and a number JSON.stringify writes as 1e+21.
        assert_eq!(
            arguments_hash(&json!({"z": 1e21, "a": {"c": [1.5, "é", null], "b": 1}})),
            "f19599833169209f0620ef26e4a704346e69fc15e6cffd91bf69d321cb079276"
        );
    }
}
