//! Fuzzing of both stream decoders (SSE and record framing) with proptest, seeded by the corpus
//! in `tests/fuzz-corpus/` (real streams from the development server and edge cases).
//!
//! Every seed is replayed whole and split at random points; then mutated (bit flips, inserted
//! protocol tokens, deleted, duplicated and truncated ranges). Properties: no panic, ever; and
//! the result does not depend on how the bytes were split into reads (same frames, same
//! failure). `FUZZ_CASES` sets the number of cases per property (default 256).

use kapa_agent_wasm::decode::{Frame, Framing, StreamDecoder};
use proptest::prelude::*;
use proptest::sample::Index;
mod fuzz_support;
use fuzz_support::{cases, corpus, mutate, Mutation};

/// Decodes `bytes` fed in pieces cut at `cuts`; returns the frames and whether it failed.
fn decode(framing: Framing, bytes: &[u8], cuts: &[usize]) -> (Vec<Frame>, bool) {
    let mut d = StreamDecoder::new(framing);
    let mut out = Vec::new();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut prev = 0;
    for c in cuts.into_iter().chain([bytes.len()]) {
        if d.feed(&bytes[prev..c], &mut out).is_err() {
            return (out, true);
        }
        prev = c;
    }
    let failed = d.finish(&mut out).is_err();
    (out, failed)
}

const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\r",
    b"\n\n",
    b"data: ",
    b"event: ",
    b"event: done\n",
    b":",
    b": ping\n\n",
    b"id: 1\n",
    b"retry: 5\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"null",
    b"1e999",
    b"-0",
    b"\xe2\x90\x9e",
    b"\xe2\x90",
    b"\xff",
    b"\xc3",
    b"\xf0\x9f\x98",
    b"\xef\xbb\xbf",
    b"\0",
    b"{\"chunk\":{\"type\":\"done\",\"content\":{}}}\xe2\x90\x9e",
    b"event: text_delta\ndata: {\"text\":\"x\"}\n\n",
    b"event: requires_action\ndata: {\"tool_call_ids\":[\"c1\"]}\n\n",
];

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), 0..TOKENS.len()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..200).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
    ]
}

#[test]
fn every_seed_decodes_the_same_at_every_split_point() {
    for (name, framing, bytes) in corpus() {
        let (whole, failed) = decode(framing, &bytes, &[]);
        if name.starts_with("real-") {
            assert!(!failed, "{name} decodes");
            assert!(!whole.is_empty(), "{name} has events");
        }
        // Every single split point for small seeds, a stride for big ones.
        let stride = (bytes.len() / 400).max(1);
        for cut in (0..=bytes.len()).step_by(stride) {
            assert_eq!(
                decode(framing, &bytes, &[cut]),
                (whole.clone(), failed),
                "{name} split at {cut}"
            );
        }
        // Byte by byte.
        if bytes.len() < 20_000 {
            let cuts: Vec<usize> = (0..bytes.len()).collect();
            assert_eq!(
                decode(framing, &bytes, &cuts),
                (whole.clone(), failed),
                "{name} byte by byte"
            );
        }
    }
}

#[test]
fn seeds_decode_to_what_they_say() {
    let c = corpus();
    let get = |n: &str| c.iter().find(|s| s.0 == n).unwrap().clone();
    for name in [
        "edge-crlf.sse",
        "edge-cr-only.sse",
        "edge-bom-comments-id-retry.sse",
        "edge-multiline-data.sse",
        "edge-unicode.sse",
    ] {
        let (_, f, b) = get(name);
        let (frames, failed) = decode(f, &b, &[]);
        assert!(!failed, "{name}");
        assert_eq!(frames.last().unwrap().event_type, "done", "{name}");
    }
    for name in [
        "edge-invalid-json.sse",
        "edge-invalid-utf8.sse",
        "edge-bad-frame.rec",
    ] {
        let (_, f, b) = get(name);
        assert!(decode(f, &b, &[]).1, "{name} is rejected");
    }
    // Deep nesting is valid JSON to the decoder (checked without recursion, so it cannot
    // overflow the stack). A text_delta whose extra field nests 100,000 deep still reads as
    // its text: the extra field is skipped, also without recursion.
    let (_, f, b) = get("edge-deep-nesting.sse");
    let (frames, failed) = decode(f, &b, &[]);
    assert!(!failed);
    let first = kapa_agent_wasm::protocol::parse_event(frames[0].clone());
    assert_eq!(
        first,
        Ok(kapa_agent_wasm::protocol::StreamEvent::TextDelta {
            text: "x".into(),
            halves: Default::default()
        })
    );
    let (_, f, b) = get("edge-unicode.sse");
    assert_eq!(
        decode(f, &b, &[]).0[0].content()["text"],
        "h\u{e9}llo \u{1F600} \u{2713} \u{241e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Mutated seeds never panic, and splitting the bytes differently changes nothing.
    #[test]
    fn mutated_seeds_never_panic_and_split_invariant(
        seed in any::<Index>(),
        swap_framing in prop::bool::weighted(0.1),
        ms in prop::collection::vec(arb_mutation(), 0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let c = corpus();
        let (_, framing, bytes) = &c[seed.index(c.len())];
        let framing = match (framing, swap_framing) {
            (Framing::Sse, true) => Framing::Record,
            (Framing::Record, true) => Framing::Sse,
            (f, false) => *f,
        };
        let bytes = mutate(bytes.clone(), &ms, TOKENS);
        let whole = decode(framing, &bytes, &[]);
        let split = decode(framing, &bytes, &cuts);
        prop_assert_eq!(whole, split);
    }

    /// Arbitrary bytes, in either framing, in arbitrary pieces: no panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        sse in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let framing = if sse { Framing::Sse } else { Framing::Record };
        prop_assert_eq!(decode(framing, &bytes, &[]), decode(framing, &bytes, &cuts));
    }
}
