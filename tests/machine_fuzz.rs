//! Property tests: random sequences of driver inputs (stream events, raw bytes, responses, tool
//! results, user actions, timers) never panic and keep the machine's invariants.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::Effect;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Send(u8),
    Token(u8, i32),
    Respond(u16, Option<&'static str>, u8),
    Open(bool, u8),
    Events(Vec<(String, Value)>, bool, usize, u8),
    Bytes(Vec<u8>, u8),
    End(u8),
    StreamError(u8),
    NetErr(u8),
    ToolOk(u8),
    ToolErr(u8),
    Approve(u8),
    Reject(u8),
    Stop,
    Reset,
    Advance(u32),
    ClearSession,
    List,
    Resume(u8),
    Delete(u8),
    UpdateTools(bool),
}

const IDS: [&str; 4] = ["c1", "c2", "s1", "c3"];
const NAMES: [&str; 5] = [
    "get_time",
    "calc",
    "delete_file",
    "search_knowledge_base",
    "mystery",
];
const THREADS: [&str; 2] = ["thr_1", "thr_2"];

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z é😀]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_event() -> impl Strategy<Value = (String, Value)> {
    let id = prop::sample::select(IDS.to_vec());
    let name = prop::sample::select(NAMES.to_vec());
    let thread = prop::sample::select(THREADS.to_vec());
    prop_oneof![
        thread.clone().prop_map(|t| ("stream_start".to_string(), json!({"thread_id": t}))),
        "[a-zé😀 ]{0,5}".prop_map(|t| ("text_delta".to_string(), json!({"text": t}))),
        (id.clone(), name, prop::sample::select(vec!["client", "server", "x"]), prop_oneof![
            Just(json!({})),
            Just(json!({"a": 1})),
            Just(json!({"a": "x"})),
            Just(json!("{\"a\": 2}")),
            Just(json!("oops")),
            arb_value(),
        ])
            .prop_map(|(id, name, ex, args)| ("tool_call".to_string(), json!({"id": id, "name": name, "arguments": args, "executor": ex}))),
        (id.clone(), prop::sample::select(vec!["completed", "error", "weird"]), arb_value())
            .prop_map(|(id, st, r)| ("tool_result".to_string(), json!({"id": id, "status": st, "result": r, "sources": [{"title": "t", "source_url": "u"}], "duration_ms": 3}))),
        prop::collection::vec(id, 0..3).prop_map(|ids| ("requires_action".to_string(), json!({"tool_call_ids": ids}))),
        thread.prop_map(|t| ("done".to_string(), json!({"thread_id": t}))),
        Just(("done".to_string(), json!({}))),
        arb_value().prop_map(|r| ("error".to_string(), json!({"reason": r}))),
        Just(("ping".to_string(), json!({}))),
        ("[a-z_]{1,8}", arb_value()).prop_map(|(t, v)| (t, v)),
        ("[a-z_]{1,12}", arb_value()).prop_map(|(t, v)| (t, json!({"unexpected": v}))),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Send),
        3 => (any::<u8>(), -100_000i32..4_000_000).prop_map(|(k, e)| Op::Token(k, e)),
        2 => (prop::sample::select(vec![200u16, 204, 400, 401, 403, 404, 429, 500, 502, 503, 504]),
              prop::sample::select(vec![None, Some("1"), Some("120"), Some("Sun, 06 Nov 1994 08:49:37 GMT"), Some("garbage")]),
              any::<u8>())
            .prop_map(|(s, ra, r)| Op::Respond(s, ra, r)),
        3 => (any::<bool>(), any::<u8>()).prop_map(|(s, r)| Op::Open(s, r)),
        6 => (prop::collection::vec(arb_event(), 0..6), any::<bool>(), any::<usize>(), any::<u8>()).prop_map(|(e, s, k, r)| Op::Events(e, s, k, r)),
        1 => (prop::collection::vec(any::<u8>(), 0..40), any::<u8>()).prop_map(|(b, r)| Op::Bytes(b, r)),
        1 => any::<u8>().prop_map(Op::End),
        1 => any::<u8>().prop_map(Op::StreamError),
        1 => any::<u8>().prop_map(Op::NetErr),
        3 => any::<u8>().prop_map(Op::ToolOk),
        1 => any::<u8>().prop_map(Op::ToolErr),
        2 => any::<u8>().prop_map(Op::Approve),
        1 => any::<u8>().prop_map(Op::Reject),
        1 => Just(Op::Stop),
        1 => Just(Op::Reset),
        2 => (0u32..70_000).prop_map(Op::Advance),
        1 => Just(Op::ClearSession),
        1 => Just(Op::List),
        1 => any::<u8>().prop_map(Op::Resume),
        1 => any::<u8>().prop_map(Op::Delete),
        1 => any::<bool>().prop_map(Op::UpdateTools),
    ]
}

struct Fuzz {
    h: H,
    token_outstanding: bool,
    token_asked_at: f64,
    streaming: bool,
    framing_sse: Vec<(u64, bool)>,
}

impl Fuzz {
    fn req(&self, k: u8) -> Option<u64> {
        if self.h.fetches.is_empty() {
            return None;
        }
        // Mostly the latest request, sometimes an older (stale) one.
        let i = if k.is_multiple_of(4) {
            k as usize % self.h.fetches.len()
        } else {
            self.h.fetches.len() - 1
        };
        Some(self.h.fetches[i].0)
    }

    fn apply(&mut self, op: &Op) {
        let now = self.h.now;
        match op {
            Op::Send(k) => {
                let text = ["Hi", "  ", "é😀", "x"][*k as usize % 4];
                let _ = self.h.m.send_message(text, now);
            }
            Op::Token(k, e) => {
                if !self.token_outstanding {
                    return;
                }
                self.token_outstanding = false;
                let v = match k % 5 {
                    0 => Err("failed".to_string()),
                    1 => Ok(json!({"session_token": TOKEN, "expires_at": "2099-01-01T00:00:00Z"})),
                    2 => Ok(json!({"token": TOKEN})),
                    _ => Ok(json!({"token": TOKEN, "expiresAt": now + *e as f64})),
                };
                self.h.m.handle_token(v, now);
            }
            Op::Respond(s, ra, r) => {
                if let Some(req) = self.req(*r) {
                    let body = if *s == 200 {
                        r#"{"threads": [], "next_cursor": null, "messages": []}"#.to_string()
                    } else {
                        format!("body {TOKEN}")
                    };
                    self.h.m.handle_response(req, *s, *ra, &body, now);
                }
            }
            Op::Open(sse_framing, r) => {
                if let Some(req) = self.req(*r) {
                    self.h.m.handle_stream_open(
                        req,
                        Some(if *sse_framing {
                            "text/event-stream"
                        } else {
                            "application/x-ndjson"
                        }),
                    );
                    self.framing_sse.push((req, *sse_framing));
                }
            }
            Op::Events(events, as_sse, split, r) => {
                if let Some(req) = self.req(*r) {
                    let events: Vec<(&str, Value)> = events
                        .iter()
                        .map(|(t, v)| (t.as_str(), v.clone()))
                        .collect();
                    let sse_framing = self
                        .framing_sse
                        .iter()
                        .rev()
                        .find(|(q, _)| *q == req)
                        .map_or(*as_sse, |(_, s)| *s);
                    let bytes = if sse_framing {
                        sse(&events)
                    } else {
                        record(&events)
                    };
                    let k = if bytes.is_empty() {
                        0
                    } else {
                        split % (bytes.len() + 1)
                    };
                    self.h.m.handle_chunk(req, &bytes[..k], now);
                    self.check_batch();
                    self.h.m.handle_chunk(req, &bytes[k..], now);
                }
            }
            Op::Bytes(b, r) => {
                if let Some(req) = self.req(*r) {
                    self.h.m.handle_chunk(req, b, now);
                }
            }
            Op::End(r) => {
                if let Some(req) = self.req(*r) {
                    self.h.m.handle_stream_end(req, now);
                }
            }
            Op::StreamError(r) => {
                if let Some(req) = self.req(*r) {
                    self.h.m.handle_stream_error(req);
                }
            }
            Op::NetErr(r) => {
                if let Some(req) = self.req(*r) {
                    self.h
                        .m
                        .handle_network_error(req, &format!("net {TOKEN}"), now);
                }
            }
            Op::ToolOk(k) => self.h.m.handle_tool_result(
                IDS[*k as usize % 4],
                Ok(Some(json!({"k": k}))),
                *k as f64,
                now,
            ),
            Op::ToolErr(k) => self.h.m.handle_tool_result(
                IDS[*k as usize % 4],
                Err(format!("e {TOKEN}")),
                1.0,
                now,
            ),
            Op::Approve(k) => self.h.m.approve(IDS[*k as usize % 4], now),
            Op::Reject(k) => self.h.m.reject(IDS[*k as usize % 4], now),
            Op::Stop => self.h.m.stop(),
            Op::Reset => self.h.m.reset(),
            Op::Advance(ms) => {
                self.h.now += *ms as f64;
                let now = self.h.now;
                if self.h.m.next_wake().is_some_and(|w| w <= now) {
                    self.h.m.handle_timer(now);
                    // A getSessionToken that did not settle in time is given up on, and a new
                    // GetToken may be asked for.
                    if self.token_outstanding
                        && now - self.token_asked_at >= self.h.m.config().token_timeout_ms
                    {
                        self.token_outstanding = false;
                    }
                }
            }
            Op::ClearSession => self.h.m.clear_session(),
            Op::List => {
                let _ = self.h.m.list_threads(Some(3), None, now);
            }
            Op::Resume(k) => {
                let _ = self.h.m.resume_thread(THREADS[*k as usize % 2], now);
            }
            Op::Delete(k) => {
                let _ = self.h.m.delete_thread(THREADS[*k as usize % 2], now);
            }
            Op::UpdateTools(with) => {
                let mut c = tools_config();
                c.enable_history = true;
                if !with {
                    c.tools.clear();
                }
                self.h.m.set_config(c);
            }
        }
        self.check_batch();
    }

    /// Drain one batch and check the invariants.
    fn check_batch(&mut self) {
        self.h.drain();
        let batch = self.h.last.clone();
        let changes = batch
            .iter()
            .filter(|e| **e == Effect::MessagesChanged)
            .count();
        assert!(changes <= 1, "one MessagesChanged per batch: {batch:?}");
        if changes == 1 {
            assert_eq!(
                batch[0],
                Effect::MessagesChanged,
                "MessagesChanged first: {batch:?}"
            );
        }
        for (i, e) in batch.iter().enumerate() {
            match e {
                Effect::GetToken => {
                    assert!(
                        !self.token_outstanding,
                        "a second GetToken while one is in flight"
                    );
                    self.token_outstanding = true;
                    self.token_asked_at = self.h.now;
                }
                Effect::StreamingChanged(b) => {
                    assert_ne!(*b, self.streaming, "StreamingChanged alternates");
                    self.streaming = *b;
                }
                Effect::TurnEnded { .. } => {
                    assert!(
                        batch[..i].contains(&Effect::StreamingChanged(false)),
                        "TurnEnded after StreamingChanged(false)"
                    );
                }
                Effect::Fetch { request, .. } => {
                    if let Some(b) = &request.body {
                        let v: Value = kapa_agent_wasm::json::parse(b).expect("JSON body");
                        assert!(v.get("thread_id").is_some());
                    }
                }
                Effect::RunTool { call_id, .. } => {
                    let status = self.call_status(call_id);
                    assert_eq!(
                        status.as_deref(),
                        Some("executing"),
                        "RunTool for an executing call"
                    );
                }
                _ => {}
            }
        }
        assert_eq!(self.h.m.is_streaming(), self.streaming);
        // Every assistant message's content is the concatenation of its text blocks.
        let msgs = self.h.msgs();
        for msg in msgs.as_array().unwrap() {
            if msg["role"] == "assistant" {
                let joined: String = msg["blocks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .map(|b| b["content"].as_str().unwrap().to_owned())
                    .collect();
                assert_eq!(msg["content"].as_str().unwrap(), joined);
                for b in msg["blocks"].as_array().unwrap() {
                    if b["type"] == "text" {
                        assert_ne!(b["content"], "", "no empty text blocks");
                    }
                    if !self.streaming && b["type"] == "tool_calls" {
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
    }

    fn call_status(&self, id: &str) -> Option<String> {
        let msgs = self.h.msgs();
        let last = msgs
            .as_array()?
            .iter()
            .rev()
            .find(|m| m["role"] == "assistant")?
            .clone();
        last["blocks"]
            .as_array()?
            .iter()
            .filter(|b| b["type"] == "tool_calls")
            .flat_map(|b| b["toolCalls"].as_array().cloned().unwrap_or_default())
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap_or("").to_owned())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_driver_inputs_never_panic_and_keep_invariants(ops in prop::collection::vec(arb_op(), 1..60)) {
        let mut c = tools_config();
        c.enable_history = true;
        let mut f = Fuzz { h: H::new(c), token_outstanding: false, token_asked_at: 0.0, streaming: false, framing_sse: Vec::new() };
        for op in &ops {
            f.apply(op);
        }
        f.h.assert_secret_confined(TOKEN);
    }

    #[test]
    fn random_bytes_in_both_framings_never_panic(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        sse_framing in any::<bool>(),
        end in any::<bool>(),
    ) {
        let mut h = H::new(tools_config());
        h.start("x");
        if sse_framing { h.open_sse(1) } else { h.open_record(1) }
        for c in &chunks {
            let t = h.chunk(1, c);
            prop_assert!(t.iter().filter(|s| *s == "Messages").count() <= 1);
        }
        if end {
            h.end(1);
            // The stream ended: the turn is over unless it moved on to a tool step.
            let moved_on = h.fetches.len() > 1 || h.log.iter().any(|e| matches!(e, Effect::RunTool { .. })) || h.msgs().to_string().contains("approval_requested");
            assert!(!h.m.is_streaming() || moved_on);
        }
    }
}
