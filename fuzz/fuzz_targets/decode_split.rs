//! Both stream decoders (SSE, record framing) on arbitrary bytes cut into arbitrary reads.
//!
//! Input: byte 0 picks the framing (bit 0) and the number of cuts (bits 1-4); then two bytes
//! per cut (a position, modulo the stream's length); the rest is the stream. Properties: no
//! panic; the frames and the failure do not depend on how the stream was cut, including cuts
//! inside UTF-8 characters and inside delimiters.
#![no_main]

use kapa_agent_wasm::decode::{Frame, Framing, StreamDecoder};
use libfuzzer_sys::fuzz_target;

fn decode(framing: Framing, bytes: &[u8], cuts: &[usize]) -> (Vec<Frame>, bool) {
    let mut d = StreamDecoder::new(framing);
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts.iter().chain([&bytes.len()]) {
        if d.feed(&bytes[prev..c], &mut out).is_err() {
            return (out, true);
        }
        prev = c;
    }
    let failed = d.finish(&mut out).is_err();
    (out, failed)
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let framing = if head & 1 == 0 {
        Framing::Sse
    } else {
        Framing::Record
    };
    let n = usize::from(head >> 1 & 0x0f);
    if rest.len() < 2 * n {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(2 * n);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let whole = decode(framing, stream, &[]);
    let split = decode(framing, stream, &cuts);
    assert_eq!(whole, split, "cut at {cuts:?}");
    // Byte by byte, for short streams (every split point at once).
    if stream.len() <= 256 {
        let every: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(whole, decode(framing, stream, &every), "byte by byte");
    }
});
