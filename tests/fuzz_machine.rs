//! Fuzzing of the machine's event handling with proptest, seeded by `tests/fuzz-corpus/`: each
//! (mutated) seed is the body of a turn's response, fed in random pieces under either
//! Content-Type, then the stream ends; tool steps that follow are answered, and sometimes the
//! user stops or resets part way. Properties: no panic, ever; one `onMessagesChange` per read;
//! an assistant message's content is its text blocks joined, with no empty text block; once the
//! turn is over no call is left open; the session token appears in nothing but the
//! Authorization header. `FUZZ_CASES` sets the number of cases (default 256).

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::machine::Effect;
use proptest::prelude::*;
use proptest::sample::Index;
mod fuzz_support;
use fuzz_support::{cases, mutate, Mutation};
use kapa_agent_wasm::decode::Framing;

/// The corpus with `true` for SSE seeds and `false` for record framing.
fn corpus() -> Vec<(String, bool, Vec<u8>)> {
    fuzz_support::corpus()
        .into_iter()
        .map(|(name, framing, bytes)| (name, framing == Framing::Sse, bytes))
        .collect()
}

/// Tokens inserted by mutations: protocol punctuation plus ids and names the config knows.
const TOKENS: &[&[u8]] = &[
    b"\n", b"\n\n", b"\r\n", b"data: ", b"event: ", b"{", b"}", b"\"", b"\xe2\x90\x9e", b"\xff",
    b"\"c1\"", b"\"c2\"", b"\"s1\"", b"\"calc\"", b"\"get_time\"", b"\"delete_file\"", b"\"server\"",
    b"\"client\"", b"event: done\ndata: {}\n\n", b"event: requires_action\ndata: {\"tool_call_ids\":[\"c1\"]}\n\n",
    b"event: tool_call\ndata: {\"id\":\"c1\",\"name\":\"calc\",\"arguments\":{\"expression\":\"1\"},\"executor\":\"client\"}\n\n",
    b"event: error\ndata: {\"reason\":\"tok-SECRET-aaaa\"}\n\n",
];

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        3 => (any::<Index>(), 0..TOKENS.len()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        1 => (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), 1usize..200).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// The invariants that hold after every batch.
fn check(h: &H) {
    let msgs = h.msgs();
    for m in msgs.as_array().unwrap() {
        if m["role"] != "assistant" {
            continue;
        }
        let blocks = m["blocks"].as_array().unwrap();
        let joined: String = blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .map(|b| b["content"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(m["content"].as_str().unwrap(), joined);
        for b in blocks {
            if b["type"] == "text" {
                assert_ne!(b["content"], "", "an empty text block");
            } else if !h.m.is_streaming() {
                for c in b["toolCalls"].as_array().unwrap() {
                    let s = c["status"].as_str().unwrap();
                    assert!(
                        !["pending", "approval_requested", "executing"].contains(&s),
                        "open call after the turn: {c}"
                    );
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Ending {
    Clean,
    StreamError,
    Stop,
    Reset,
}

/// Plays `bodies` as the answers to a turn's successive requests.
fn play(
    bodies: &[(bool, Vec<u8>)],
    cuts: &[usize],
    ending: Ending,
    stop_at: usize,
) -> (usize, usize) {
    let mut fed = 0;
    let mut h = H::new(tools_config());
    h.start("fuzz");
    let mut step = 0;
    loop {
        if !h.m.is_streaming() || step >= bodies.len() {
            break;
        }
        let Some((req, _)) = h.fetches.last().cloned() else {
            break;
        };
        let n = h.last_req();
        let (sse, body) = &bodies[step];
        if *sse {
            h.open_sse(n)
        } else {
            h.open_record(n)
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        points.sort_unstable();
        let mut prev = 0;
        for (i, c) in points.into_iter().chain([body.len()]).enumerate() {
            if step == 0 && i == stop_at {
                match ending {
                    Ending::Stop => h.stop(),
                    Ending::Reset => h.reset(),
                    _ => vec![],
                };
            }
            fed += c - prev;
            let t = h.chunk(n, &body[prev..c]);
            assert!(
                t.iter().filter(|s| *s == "Messages").count() <= 1,
                "one change per read: {t:?}"
            );
            check(&h);
            prev = c;
        }
        match ending {
            Ending::StreamError if step == bodies.len() - 1 => h.stream_error(n),
            _ => h.end(n),
        };
        check(&h);
        // A tool step: approve what waits, answer what runs (completed, or an error).
        let runs: Vec<String> = h
            .log
            .iter()
            .filter_map(|e| match e {
                Effect::RunTool { call_id, .. } => Some(call_id.clone()),
                _ => None,
            })
            .collect();
        let msgs = h.msgs().to_string();
        for id in ["c1", "c2", "c3"] {
            if msgs.contains(&format!("\"id\":\"{id}\"")) && msgs.contains("approval_requested") {
                h.approve(id);
            }
        }
        for (k, id) in runs.iter().enumerate() {
            if k % 2 == 0 {
                h.tool_ok(id, json!({"k": k}), 1.0);
            } else {
                h.tool_err(id, "tool failed", 1.0);
            }
        }
        check(&h);
        if h.fetches.last().map(|f| f.0) == Some(req) {
            break; // no new request: the turn is over (or waits on something we don't answer)
        }
        step += 1;
    }
    if h.m.is_streaming() {
        h.stop();
    }
    assert!(!h.m.is_streaming());
    check(&h);
    // The agent takes the next message at once.
    h.send("again");
    assert!(h.m.is_streaming());
    h.assert_secret_confined(TOKEN);
    (fed, h.fetches.len())
}

#[test]
fn every_seed_plays_as_a_turn() {
    let c = corpus();
    for (name, sse, bytes) in &c {
        for ending in [
            Ending::Clean,
            Ending::StreamError,
            Ending::Stop,
            Ending::Reset,
        ] {
            let bodies = vec![(*sse, bytes.clone()), (*sse, bytes.clone())];
            let r = std::panic::catch_unwind(|| play(&bodies, &[7, 50, 301], ending, 2));
            let (fed, requests) = r.unwrap_or_else(|_| panic!("{name} with {ending:?}"));
            if !bytes.is_empty() && matches!(ending, Ending::Clean) {
                assert!(fed > 0, "{name}: the body was fed");
            }
            if name.starts_with("real-client-tools") && matches!(ending, Ending::Clean) {
                // tool_results went out, then the second body answered, then "again".
                assert!(requests >= 3, "{name}: {requests} requests");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_seeds_never_panic_and_keep_invariants(
        seeds in prop::collection::vec((any::<Index>(), prop::bool::weighted(0.1), prop::collection::vec(arb_mutation(), 0..6)), 1..4),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
        ending in prop_oneof![Just(Ending::Clean), Just(Ending::StreamError), Just(Ending::Stop), Just(Ending::Reset)],
        stop_at in 0usize..12,
    ) {
        let c = corpus();
        let bodies: Vec<(bool, Vec<u8>)> = seeds
            .iter()
            .map(|(i, swap, ms)| {
                let (_, sse, b) = &c[i.index(c.len())];
                (*sse != *swap, mutate(b.clone(), ms, TOKENS))
            })
            .collect();
        play(&bodies, &cuts, ending, stop_at);
    }
}
