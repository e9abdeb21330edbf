//! What both fuzzers share: the case count (`FUZZ_CASES`), the corpus in `tests/fuzz-corpus/`,
//! and byte-level mutations (bit flips, inserted protocol tokens, deleted, duplicated and
//! truncated ranges, overwritten bytes). Each fuzzer chooses its own tokens and mix.
#![allow(dead_code)]

use kapa_agent_wasm::decode::Framing;
use proptest::sample::Index;
use std::path::PathBuf;

/// Cases per property: `FUZZ_CASES`, default 256.
pub fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// The corpus: `(file name, framing, bytes)` of every `.sse` and `.rec` seed, sorted by name.
pub fn corpus() -> Vec<(String, Framing, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-corpus")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let framing = match p.extension()?.to_str()? {
                "sse" => Framing::Sse,
                "rec" => Framing::Record,
                _ => return None,
            };
            Some((
                p.file_name()?.to_string_lossy().into_owned(),
                framing,
                std::fs::read(&p).ok()?,
            ))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 20, "the corpus has its seeds");
    out
}

#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(Index, u8),
    /// Insert `tokens[n]`.
    Insert(Index, usize),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Truncate(Index),
    Byte(Index, u8),
}

/// Apply `ms` in order to `bytes`; `Insert` takes its token from `tokens`.
pub fn mutate(mut bytes: Vec<u8>, ms: &[Mutation], tokens: &[&[u8]]) -> Vec<u8> {
    for m in ms {
        let len = bytes.len();
        let at = |i: &Index| if len == 0 { 0 } else { i.index(len + 1) };
        match m {
            Mutation::Flip(i, b) if len > 0 => {
                let k = i.index(len);
                bytes[k] ^= 1 << b;
            }
            Mutation::Byte(i, v) if len > 0 => {
                let k = i.index(len);
                bytes[k] = *v;
            }
            Mutation::Insert(i, t) => {
                let k = at(i);
                bytes.splice(k..k, tokens[*t % tokens.len()].iter().copied());
            }
            Mutation::Delete(i, n) => {
                let k = at(i);
                let e = (k + n).min(len);
                bytes.drain(k..e);
            }
            Mutation::Duplicate(i, n) => {
                let k = at(i);
                let e = (k + n).min(len);
                let piece = bytes[k..e].to_vec();
                bytes.splice(e..e, piece);
            }
            Mutation::Truncate(i) => {
                let k = at(i);
                bytes.truncate(k);
            }
            _ => {}
        }
    }
    bytes
}
