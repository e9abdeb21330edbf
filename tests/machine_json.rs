//! JSON exactly as JavaScript writes and reads it, through whole turns (issue 11): numbers
//! and key order from the wire to tool arguments and from tool results to the request body,
//! `undefined` results, and text deltas that split a surrogate pair.

mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::Effect;
use kapa_agent_wasm::messages::{AgentMessage, ContentBlock, ToolCallDisplay};
use proptest::prelude::*;

fn assistant(h: &H) -> AgentMessage {
    h.m.messages().last().expect("a message").message.clone()
}

fn content(h: &H) -> String {
    match assistant(h) {
        AgentMessage::Assistant {
            content, blocks, ..
        } => {
            // The text blocks hold the same text.
            let joined: String = blocks
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::Text { content } => Some(content.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(joined, content);
            content
        }
        other => panic!("not an assistant message: {other:?}"),
    }
}

fn tool_call(h: &H, id: &str) -> ToolCallDisplay {
    assistant(h)
        .tool_calls()
        .find(|c| c.id == id)
        .expect("the call")
        .clone()
}

/// The raw body text of request `n`.
fn body_text(h: &H, n: usize) -> String {
    h.fetch(n).body.clone().expect("a body")
}

/// An SSE `text_delta` whose JSON text is `literal` (written as is: it may hold escapes
/// `JSON.stringify` would not write).
fn sse_delta(literal: &str) -> String {
    format!("event: text_delta\ndata: {{\"text\":\"{literal}\"}}\n\n")
}

/// The same in Kapa's record framing.
fn record_delta(literal: &str) -> String {
    format!(
        "{{\"chunk\":{{\"type\":\"text_delta\",\"content\":{{\"text\":\"{literal}\"}}}}}}\u{241E}"
    )
}

fn stream_text(deltas: &[&str], record: bool) -> H {
    let mut h = H::new(config());
    let r = started(&mut h, "hi");
    let mut bytes = String::new();
    for d in deltas {
        bytes += &if record {
            record_delta(d)
        } else {
            sse_delta(d)
        };
    }
    if record {
        h.open_record(r);
        bytes += "{\"chunk\":{\"type\":\"done\",\"content\":{}}}\u{241E}";
    } else {
        h.open_sse(r);
        bytes += "event: done\ndata: {}\n\n";
    }
    h.chunk(r, bytes.as_bytes());
    h
}

#[test]
fn a_surrogate_pair_split_over_two_deltas_joins() {
    for record in [false, true] {
        let h = stream_text(&["a\\ud83d", "\\ude00b"], record);
        assert_eq!(content(&h), "a😀b");
        // The halves may be alone in their deltas, and the escapes in capitals.
        let h = stream_text(&["x", "\\uD83D", "\\uDE00", "y"], record);
        assert_eq!(content(&h), "x😀y");
        // A half with no other half is U+FFFD, as the page shows it.
        let h = stream_text(&["a\\ud83d"], record);
        assert_eq!(content(&h), "a\u{FFFD}");
        let h = stream_text(&["a\\ud83d", "b"], record);
        assert_eq!(content(&h), "a\u{FFFD}b");
        let h = stream_text(&["a\\ud83d", "\\ud83d", "\\ude00"], record);
        assert_eq!(content(&h), "a\u{FFFD}😀");
        let h = stream_text(&["\\ude00a"], record);
        assert_eq!(content(&h), "\u{FFFD}a");
        // An empty delta between the halves changes nothing.
        let h = stream_text(&["a\\ud83d", "", "\\ude00"], record);
        assert_eq!(content(&h), "a😀");
    }
}

#[test]
fn a_held_half_is_kept_when_a_tool_call_or_the_end_comes_first() {
    let mut h = H::new(tools_config());
    let r = started(&mut h, "hi");
    h.open_sse(r);
    let mut bytes = sse_delta("a\\ud83d").into_bytes();
    bytes.extend(sse(&[client_call("c1", "get_time", json!({}))]));
    bytes.extend(sse_delta("\\ude00").into_bytes());
    h.chunk(r, &bytes);
    assert_eq!(content(&h), "a\u{FFFD}\u{FFFD}");
    // A turn that fails keeps the held half before the error text.
    let mut h = H::new(config());
    let r = started(&mut h, "hi");
    h.open_sse(r);
    h.chunk(r, sse_delta("a\\ud83d").as_bytes());
    h.end(r);
    assert!(
        content(&h).starts_with("a\u{FFFD}\n\n"),
        "{:?}",
        content(&h)
    );
}

/// The JSON string body for these UTF-16 units, cut at `cuts`: surrogates as escapes
/// (upper or lower case hex), other units raw or escaped as `style` says.
fn literal(units: &[u16], style: &[u8]) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        let pick = style.get(i % style.len().max(1)).copied().unwrap_or(0);
        let pair = (0xD800..0xDC00).contains(&u)
            && units
                .get(i + 1)
                .is_some_and(|l| (0xDC00..0xE000).contains(l));
        if pair && pick % 3 == 0 {
            let c = char::decode_utf16([u, units[i + 1]])
                .next()
                .unwrap()
                .unwrap();
            s.push(c);
            i += 2;
            continue;
        }
        match u {
            0x22 => s.push_str("\\\""),
            0x5c => s.push_str("\\\\"),
            0..=0x1f => s.push_str(&format!("\\u{u:04x}")),
            0xD800..=0xDFFF if pick % 2 == 0 => s.push_str(&format!("\\u{u:04x}")),
            0xD800..=0xDFFF => s.push_str(&format!("\\u{u:04X}")),
            _ if pick % 5 == 0 => s.push_str(&format!("\\u{u:04x}")),
            _ => s.push(char::from_u32(u32::from(u)).unwrap()),
        }
        i += 1;
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Any text cut at any UTF-16 positions (inside pairs too) into deltas, each written
    /// with escapes: the content is the JS concatenation of the deltas, made well formed.
    #[test]
    fn deltas_cut_anywhere_concatenate_as_in_javascript(
        units in prop::collection::vec(prop_oneof![
            4 => 0x20u16..0x7f,
            2 => 0xD800u16..0xE000,
            1 => any::<u16>(),
            2 => Just(0xD83Du16),
            2 => Just(0xDE00u16),
        ], 0..40),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        style in prop::collection::vec(any::<u8>(), 1..8),
        record in any::<bool>(),
    ) {
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(units.len() + 1)).collect();
        at.sort();
        let mut deltas = Vec::new();
        let mut from = 0;
        for &c in at.iter().chain([units.len()].iter()) {
            deltas.push(literal(&units[from..c], &style));
            from = c;
        }
        let refs: Vec<&str> = deltas.iter().map(String::as_str).collect();
        let h = stream_text(&refs, record);
        let want = String::from_utf16_lossy(&units);
        if want.is_empty() {
            prop_assert!(h.m.messages().len() == 1 || content(&h).is_empty());
        } else {
            prop_assert_eq!(content(&h), want);
        }
    }
}

/// The arguments of the `RunTool` effect for `id`.
fn run_tool_arguments(h: &H, id: &str) -> Value {
    h.log
        .iter()
        .find_map(|e| match e {
            Effect::RunTool {
                call_id, arguments, ..
            } if call_id == id => Some(arguments.clone()),
            _ => None,
        })
        .expect("RunTool")
}

#[test]
fn wire_arguments_keep_javascripts_numbers_and_key_order() {
    let mut h = H::new(tools_config());
    let r = started(&mut h, "hi");
    h.open_sse(r);
    let args = r#"{"b":1,"1":8.0,"a":-0,"0":1e400,"big":9007199254740993,"tiny":-1e-400,"s":"\ud83d!","b":2}"#;
    for arguments in [args.to_string(), json::quote(args)] {
        let mut h = H::new(tools_config());
        let r = started(&mut h, "hi");
        h.open_sse(r);
        let event = format!(
            "event: tool_call\ndata: {{\"id\":\"c1\",\"name\":\"get_time\",\"executor\":\"client\",\"arguments\":{arguments}}}\n\n"
        );
        h.chunk(r, event.as_bytes());
        h.chunk(r, &sse(&[requires(&["c1"])]));
        for got in [run_tool_arguments(&h, "c1"), tool_call(&h, "c1").arguments] {
            let (text, nan) = json::to_js_text(&got);
            assert!(!nan);
            // What JSON.parse gives: keys "0", "1" first, then b (last value) and the rest
            // in order; -0 kept; 1e400 Infinity; 2^53 + 1 rounded; -1e-400 is -0.
            assert_eq!(
                text,
                "{\"0\":1e999,\"1\":8,\"b\":2,\"a\":-0,\"big\":9007199254740992,\"tiny\":-0,\"s\":\"\u{FFFD}!\"}"
            );
        }
    }
    drop(h);
}

#[test]
fn tool_results_go_on_the_wire_as_json_stringify_writes_them() {
    let mut h = H::new(tools_config());
    let r = started(&mut h, "hi");
    h.sse(
        r,
        &[
            client_call("c1", "get_time", json!({})),
            client_call("c2", "get_time", json!({})),
            client_call("c3", "get_time", json!({})),
            requires(&["c1", "c2", "c3"]),
        ],
    );
    let result = json::parse(r#"{"members":8,"limit":500000,"2":-0,"z":[0.1,1e21,1e-7]}"#).unwrap();
    let mut odd = json::Map::new();
    odd.insert("nan".into(), Value::Number(f64::NAN));
    odd.insert("inf".into(), Value::Number(f64::INFINITY));
    odd.insert("neg".into(), Value::Number(-0.0));
    h.tool_ok("c1", result.clone(), 1.0);
    h.tool_ok("c2", Value::Object(odd.clone()), 1.0);
    // c3's execute resolved undefined.
    h.m.handle_tool_result("c3", Ok(None), 1.0, h.now);
    h.drain();
    let body = body_text(&h, h.last_req());
    assert!(
        body.contains(
            r#"{"tool_call_id":"c1","status":"completed","output":{"2":0,"members":8,"limit":500000,"z":[0.1,1e+21,1e-7]}}"#
        ),
        "{body}"
    );
    assert!(
        body.contains(
            r#"{"tool_call_id":"c2","status":"completed","output":{"nan":null,"inf":null,"neg":0}}"#
        ),
        "{body}"
    );
    assert!(
        body.contains(r#"{"tool_call_id":"c3","status":"completed","output":null}"#),
        "{body}"
    );
    // The message keeps the page's values: -0, NaN and Infinity as they were, and no
    // `result` at all for `undefined`.
    assert_eq!(tool_call(&h, "c1").result, Some(result));
    assert_eq!(tool_call(&h, "c2").result, Some(Value::Object(odd)));
    let c3 = tool_call(&h, "c3");
    assert_eq!(c3.result, None);
    let block = ContentBlock::ToolCalls {
        tool_calls: vec![c3],
    }
    .to_value();
    let c3_js = &block["toolCalls"][0];
    assert!(
        c3_js.as_object().is_some_and(|o| !o.contains_key("result")),
        "{c3_js:?}"
    );
    assert_eq!(c3_js["status"], "completed");
}
