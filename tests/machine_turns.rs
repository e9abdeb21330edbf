//! Transcript tests: plain text turns, framings, read splitting, request shapes, server tools.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::Effect;
use kapa_agent_wasm::options::Config;

fn hello_events() -> Vec<(&'static str, Value)> {
    vec![
        start_ev("thr_1"),
        text("Hé"),
        text("llo ✓ 😀"),
        ("ping", json!({})),
        text(" world"),
        done("thr_1"),
    ]
}

#[test]
fn text_turn_sse_whole_transcript() {
    let mut h = H::new(config());
    assert_eq!(h.drain(), tr![], "nothing happens at construction");
    assert_eq!(
        h.send("Hello"),
        tr![
            "Messages",
            "Streaming true",
            r#"Event message_sent {"messageLength":5}"#,
            "GetToken"
        ]
    );
    assert_eq!(h.msgs(), json!([user("Hello")]));
    assert!(h.m.is_streaming());
    assert_eq!(h.token_ok(), tr!["Fetch r1 POST chat/"]);
    assert_eq!(
        h.sse(1, &hello_events()),
        tr![
            "Messages",
            "ThreadId thr_1",
            "Cancel r1",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_1","toolCallCount":0}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(
        h.msgs(),
        json!([user("Hello"), assistant_text("Héllo ✓ 😀 world")])
    );
    assert_eq!(h.m.thread_id(), Some("thr_1"));
    assert!(!h.m.is_streaming());
    // Late bytes and a late end for the finished request change nothing.
    assert_eq!(h.chunk(1, &sse(&[text("late")])), tr![]);
    assert_eq!(h.end(1), tr![]);
    assert_eq!(h.msgs()[1]["content"], "Héllo ✓ 😀 world");
    h.assert_secret_confined(TOKEN);
}

#[test]
fn text_turn_record_framing_gives_same_messages() {
    let mut h = H::new(config());
    h.start("Hello");
    h.open_record(1);
    let t = h.chunk(1, &record(&hello_events()));
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId thr_1",
            "Cancel r1",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_1","toolCallCount":0}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(
        h.msgs(),
        json!([user("Hello"), assistant_text("Héllo ✓ 😀 world")])
    );
}

#[test]
fn missing_content_type_means_record_framing() {
    let mut h = H::new(config());
    h.start("Hi");
    h.m.handle_stream_open(h.req(1), None);
    h.chunk(1, &record(&[text("ok"), done("thr_1")]));
    assert_eq!(h.msgs(), json!([user("Hi"), assistant_text("ok")]));
}

/// Feed `bytes` in the given pieces; returns the final messages. Asserts exactly one
/// MessagesChanged for every handle_chunk call that changed the messages, none otherwise.
fn feed_pieces(framing_sse: bool, pieces: &[&[u8]]) -> (Value, Vec<String>) {
    let mut h = H::new(config());
    h.start("Hello");
    if framing_sse {
        h.open_sse(1);
    } else {
        h.open_record(1);
    }
    let mut all = Vec::new();
    for p in pieces {
        let before = h.msgs();
        let t = h.chunk(1, p);
        let changes = t.iter().filter(|s| *s == "Messages").count();
        let changed = h.msgs() != before;
        assert_eq!(
            changes, changed as usize,
            "one MessagesChanged per changing read: {t:?}"
        );
        if changed {
            assert_eq!(t[0], "Messages", "MessagesChanged comes first in its batch");
        }
        all.extend(t);
    }
    (h.msgs(), all)
}

#[test]
fn reads_split_at_every_byte_offset_give_identical_messages() {
    for framing_sse in [true, false] {
        let bytes = if framing_sse {
            sse(&hello_events())
        } else {
            record(&hello_events())
        };
        let (whole, _) = feed_pieces(framing_sse, &[&bytes]);
        assert_eq!(
            whole,
            json!([user("Hello"), assistant_text("Héllo ✓ 😀 world")])
        );
        for k in 0..=bytes.len() {
            let (msgs, t) = feed_pieces(framing_sse, &[&bytes[..k], &bytes[k..]]);
            assert_eq!(msgs, whole, "split at {k} (sse={framing_sse})");
            assert_eq!(t.iter().filter(|s| *s == "TurnEnded t1").count(), 1);
            assert!(t.iter().any(|s| s.starts_with("Event response_completed")));
        }
        // Three-way splits around every position too (a read inside a multi-byte char / delimiter).
        for k in (0..bytes.len()).step_by(3) {
            let j = (k + 2).min(bytes.len());
            let (msgs, _) = feed_pieces(framing_sse, &[&bytes[..k], &bytes[k..j], &bytes[j..]]);
            assert_eq!(msgs, whole, "split at {k},{j}");
        }
        // One byte per read.
        let pieces: Vec<&[u8]> = bytes.chunks(1).collect();
        let (msgs, t) = feed_pieces(framing_sse, &pieces);
        assert_eq!(msgs, whole);
        // One MessagesChanged per non-empty delta event (three of them).
        assert_eq!(t.iter().filter(|s| *s == "Messages").count(), 3);
    }
}

#[test]
fn sse_variants_comments_ids_crlf_and_cr() {
    for sep in ["\n", "\r\n", "\r"] {
        let raw = format!(
            ": keep-alive{s}id: 7{s}retry: 100{s}event: text_delta{s}data: {{\"text\":\"a\"}}{s}{s}event: done{s}data: {{\"thread_id\":\"thr_1\"}}{s}{s}",
            s = sep
        );
        let mut h = H::new(config());
        h.start("Hi");
        h.open_sse(1);
        let t = h.chunk(1, raw.as_bytes());
        assert!(t.contains(&"TurnEnded t1".to_string()), "{sep:?}: {t:?}");
        assert_eq!(
            h.msgs(),
            json!([user("Hi"), assistant_text("a")]),
            "{sep:?}"
        );
    }
}

#[test]
fn events_after_terminal_are_ignored() {
    let mut h = H::new(config());
    h.start("Hi");
    let t = h.sse(
        1,
        &[
            text("a"),
            done("thr_1"),
            text("b"),
            ("error", json!({"reason": "x"})),
        ],
    );
    assert_eq!(
        t.iter().filter(|s| s.starts_with("Event")).count(),
        1,
        "{t:?}"
    );
    assert_eq!(h.msgs(), json!([user("Hi"), assistant_text("a")]));
}

#[test]
fn empty_text_delta_creates_nothing_and_no_content_turn_has_no_assistant() {
    let mut h = H::new(config());
    h.start("Hi");
    assert_eq!(
        h.sse(1, &[start_ev("thr_1"), text("")]),
        tr!["ThreadId thr_1"]
    );
    assert_eq!(h.msgs(), json!([user("Hi")]));
    let t = h.chunk(1, &sse(&[text(""), done("thr_1")]));
    assert_eq!(
        t,
        tr![
            "Cancel r1",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_1","toolCallCount":0}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(h.msgs(), json!([user("Hi")]));
}

#[test]
fn blank_text_does_nothing_and_busy_changes_nothing() {
    let mut h = H::new(config());
    for blank in ["", "   ", "\n\t", "\u{3000}\u{feff}"] {
        assert_eq!(h.m.send_message(blank, h.now), Ok(None));
    }
    assert_eq!(h.drain(), tr![]);
    assert_eq!(h.msgs(), json!([]));
    h.start("  padded  ");
    let rev = h.m.revision();
    assert!(h.m.send_message("again", h.now).is_err());
    assert_eq!(h.drain(), tr![]);
    assert_eq!(h.m.revision(), rev);
    assert_eq!(
        h.msgs(),
        json!([user("  padded  ")]),
        "sent as given, not trimmed"
    );
    assert_eq!(
        h.body(1)["input"],
        json!({"type": "user_message", "content": "  padded  "})
    );
    // Blank text while busy is still a no-op, not an error.
    assert_eq!(h.m.send_message(" ", h.now), Ok(None));
}

#[test]
fn message_length_counts_utf16_units() {
    let mut h = H::new(config());
    let t = h.send("é😀");
    assert_eq!(t[2], r#"Event message_sent {"messageLength":3}"#);
}

#[test]
fn chat_request_shape_and_thread_id_across_turns() {
    let mut c = tools_config();
    c.custom_instructions = Some("Answer briefly.".into());
    c.user = Some(json!({"email": "a@example.com", "unique_client_id": "u-42", "extra": 1}));
    c.source_group_ids_include = vec!["sg_1".into()];
    let mut h = H::new(c);
    h.start("How?");
    let r = h.fetch(1).clone();
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.url,
        "https://api.kapa.ai/agent/v1/projects/proj/agent/chat/"
    );
    assert!(r.stream);
    assert_eq!(
        h.header(1, "Authorization").as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        h.header(1, "Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(h.header(1, "Accept").as_deref(), Some("text/event-stream"));
    let key1 = h.header(1, "Idempotency-Key").unwrap();
    assert_eq!(key1.len(), 36);
    assert_eq!(
        h.body(1),
        json!({
            "integration_id": "int_123",
            "model": "kapa-agent-1.0",
            "thread_id": null,
            "input": {"type": "user_message", "content": "How?"},
            "tools": [
                {"name": "get_time", "description": "get_time tool", "parameters": {"type": "object", "properties": {}}},
                {"name": "calc", "description": "calc tool", "parameters": {"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]}},
                {"name": "delete_file", "description": "delete_file tool", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}
            ],
            "custom_instructions": "Answer briefly.",
            "user": {"email": "a@example.com", "unique_client_id": "u-42", "extra": 1},
            "source_group_ids_include": ["sg_1"]
        })
    );
    h.sse(1, &[start_ev("thr_1"), text("a"), done("thr_1")]);
    // Second turn: cached token, same thread, fresh key.
    assert_eq!(
        h.send("More"),
        tr![
            "Messages",
            "Streaming true",
            r#"Event message_sent {"messageLength":4}"#,
            "Fetch r2 POST chat/"
        ]
    );
    assert_eq!(h.body(2)["thread_id"], "thr_1");
    assert_ne!(h.header(2, "Idempotency-Key").unwrap(), key1);
    // Same thread id again: no ThreadIdChanged.
    assert_eq!(
        h.sse(2, &[start_ev("thr_1"), text("b"), done("thr_1")]),
        tr![
            "Messages",
            "Cancel r2",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_1","toolCallCount":0}"#,
            "TurnEnded t2"
        ]
    );
    assert_eq!(
        h.msgs(),
        json!([
            user("How?"),
            assistant_text("a"),
            user("More"),
            assistant_text("b")
        ])
    );
}

#[test]
fn minimal_body_omits_optional_fields_and_sends_empty_tools() {
    let mut c = config();
    c.source_group_ids_include = vec![];
    let mut h = H::new(c);
    h.start("x");
    assert_eq!(
        h.body(1),
        json!({"integration_id": "int_123", "model": "kapa-agent-1.0", "thread_id": null,
               "input": {"type": "user_message", "content": "x"}, "tools": []})
    );
}

#[test]
fn base_url_and_project_id_are_used() {
    let mut c = Config::new("my proj", "i");
    c.base_url = "http://localhost:9/".into();
    c.model = "m2".into();
    let mut h = H::new(c);
    h.start("x");
    assert_eq!(
        h.fetch(1).url,
        "http://localhost:9/agent/v1/projects/my%20proj/agent/chat/"
    );
    assert_eq!(h.body(1)["model"], "m2");
}

#[test]
fn done_with_a_different_thread_id_updates_it() {
    let mut h = H::new(config());
    h.start("x");
    let t = h.sse(1, &[start_ev("thr_1"), text("a"), done("thr_2")]);
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId thr_1",
            "ThreadId thr_2",
            "Cancel r1",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_2","toolCallCount":0}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(h.m.thread_id(), Some("thr_2"));
}

#[test]
fn stream_without_stream_start_is_legal() {
    let mut h = H::new(config());
    h.start("x");
    let t = h.sse(1, &[text("a"), ("done", json!({}))]);
    assert_eq!(
        t,
        tr![
            "Messages",
            "Cancel r1",
            "Streaming false",
            r#"Event response_completed {"threadId":null,"toolCallCount":0}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(h.m.thread_id(), None);
}

#[test]
fn server_tool_with_sources_and_builtin_display_name() {
    let mut h = H::new(tools_config());
    h.start("install?");
    let t = h.sse(
        1,
        &[
            start_ev("thr_1"),
            server_call(
                "call_9",
                "search_knowledge_base",
                json!({"query": "install"}),
            ),
        ],
    );
    assert_eq!(t, tr!["Messages", "ThreadId thr_1"]);
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": "", "blocks": [{"type": "tool_calls", "toolCalls": [
            {"id": "call_9", "name": "search_knowledge_base", "arguments": {"query": "install"},
             "status": "executing", "displayName": "Searching docs"}]}]})
    );
    let t = h.chunk(
        1,
        &sse(&[
            ("tool_result", json!({"id": "call_9", "status": "completed", "sources": [
                {"title": "Install|Quickstart", "source_url": "https://docs.example.com/install", "source_type": "doc", "source_visibility": "public"},
                {"title": "Bare", "source_url": "https://docs.example.com/bare"}], "duration_ms": 120})),
            text("Run "),
            text("`npm install`."),
            done("thr_1"),
        ]),
    );
    assert_eq!(
        t,
        tr![
            "Messages",
            "Cancel r1",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_1","toolCallCount":1}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": "Run `npm install`.", "blocks": [
            {"type": "tool_calls", "toolCalls": [
                {"id": "call_9", "name": "search_knowledge_base", "arguments": {"query": "install"},
                 "status": "completed", "durationMs": 120,
                 "sources": [
                    {"title": "Install|Quickstart", "sourceUrl": "https://docs.example.com/install", "sourceType": "doc", "sourceVisibility": "public"},
                    {"title": "Bare", "sourceUrl": "https://docs.example.com/bare"}],
                 "displayName": "Searching docs"}]},
            {"type": "text", "content": "Run `npm install`."}]})
    );
    // No tool_executed for server tools, no RunTool.
    assert!(h.events().iter().all(|(k, _)| k != "tool_executed"));
    assert!(!h.log.iter().any(|e| matches!(e, Effect::RunTool { .. })));
}

#[test]
fn server_tool_error_result_and_consecutive_calls_share_a_block() {
    let mut h = H::new(config());
    h.start("x");
    h.sse(
        1,
        &[
            text("Let me look. "),
            server_call("s1", "search_knowledge_base", json!({"query": "a"})),
            server_call("s2", "other_server_tool", json!("{\"q\":2}")),
            (
                "tool_result",
                json!({"id": "s1", "status": "error", "error": "index down"}),
            ),
            (
                "tool_result",
                json!({"id": "s2", "status": "completed", "result": {"n": 1}}),
            ),
            text("Done."),
            done("thr_1"),
        ],
    );
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": "Let me look. Done.", "blocks": [
            {"type": "text", "content": "Let me look. "},
            {"type": "tool_calls", "toolCalls": [
                {"id": "s1", "name": "search_knowledge_base", "arguments": {"query": "a"}, "status": "error", "error": "index down"},
                {"id": "s2", "name": "other_server_tool", "arguments": {"q": 2}, "status": "completed", "result": {"n": 1}}]},
            {"type": "text", "content": "Done."}]})
    );
    assert_eq!(
        h.events().last().unwrap().1,
        json!({"threadId": "thr_1", "toolCallCount": 2})
    );
}

#[test]
fn whole_2xx_body_via_handle_response_is_read_as_a_stream() {
    let mut h = H::new(config());
    h.start("x");
    let body = String::from_utf8(record(&[text("whole"), done("thr_1")])).unwrap();
    let t = h.respond(1, 200, None, &body);
    assert!(t.contains(&"TurnEnded t1".to_string()), "{t:?}");
    assert_eq!(h.msgs(), json!([user("x"), assistant_text("whole")]));
}

#[test]
fn messages_keep_identity_when_unchanged() {
    let mut h = H::new(config());
    h.start("x");
    h.sse(1, &[text("a")]);
    let (id0, rev0) = (h.m.messages()[0].id, h.m.messages()[0].rev);
    let rev1 = h.m.messages()[1].rev;
    h.chunk(1, &sse(&[text("b")]));
    assert_eq!(
        (h.m.messages()[0].id, h.m.messages()[0].rev),
        (id0, rev0),
        "user message unchanged"
    );
    assert_ne!(h.m.messages()[1].rev, rev1, "assistant message changed");
    let r = h.m.revision();
    h.chunk(1, &sse(&[("ping", json!({}))]));
    assert_eq!(h.m.revision(), r);
}

#[test]
fn record_stream_end_flag_is_not_relied_on() {
    let mut h = H::new(config());
    h.start("x");
    h.open_record(1);
    let mut bytes =
        br#"{"chunk":{"type":"text_delta","content":{"text":"a"},"stream_end":true}}"#.to_vec();
    bytes.extend_from_slice("\u{241E}".as_bytes());
    bytes.extend_from_slice(&record(&[text("b"), done("thr_1")]));
    let t = h.chunk(1, &bytes);
    assert!(t.contains(&"TurnEnded t1".to_string()), "{t:?}");
    assert_eq!(h.msgs(), json!([user("x"), assistant_text("ab")]));
}

#[test]
fn sse_multi_line_data_and_bom() {
    let mut h = H::new(config());
    h.start("x");
    h.open_sse(1);
    let raw = "\u{feff}event: text_delta\ndata: {\"text\":\ndata: \"multi\"}\n\ndata: {\"ignored\": true}\n\nevent: done\ndata: {}\n\n";
    let t = h.chunk(1, raw.as_bytes());
    assert!(t.contains(&"TurnEnded t1".to_string()), "{t:?}");
    assert_eq!(h.msgs(), json!([user("x"), assistant_text("multi")]));
}

/// A driver that runs tools synchronously: it answers each RunTool as soon as it polls it,
/// before draining the rest of the queue (what a sync `execute` does in the skin).
#[test]
fn synchronous_tool_results_while_draining() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.open_sse(1);
    let bytes = sse(&[
        start_ev("thr_1"),
        client_call("c1", "get_time", json!({})),
        client_call("c2", "calc", json!({"a": 1})),
        requires(&["c1", "c2"]),
    ]);
    h.m.handle_chunk(h.req(1), &bytes, h.now);
    let mut seen = Vec::new();
    while let Some(e) = h.m.poll() {
        if let Effect::RunTool { call_id, .. } = &e {
            h.m.handle_tool_result(call_id, Ok(Some(json!(call_id))), 0.0, h.now);
        }
        seen.push(e);
    }
    let fetches = seen
        .iter()
        .filter(|e| matches!(e, Effect::Fetch { .. }))
        .count();
    assert_eq!(fetches, 1, "{seen:?}");
    let runs = seen
        .iter()
        .filter(|e| matches!(e, Effect::RunTool { .. }))
        .count();
    assert_eq!(runs, 2);
    // The last effect is the tool_results request, after both tool_executed events.
    let kinds: Vec<String> = seen
        .iter()
        .map(|e| match e {
            Effect::Event(ev) => ev.kind.to_string(),
            Effect::Fetch { .. } => "fetch".into(),
            Effect::RunTool { call_id, .. } => format!("run {call_id}"),
            Effect::MessagesChanged => "messages".into(),
            other => format!("{other:?}"),
        })
        .collect();
    let run1 = kinds.iter().position(|k| k == "run c1").unwrap();
    let run2 = kinds.iter().position(|k| k == "run c2").unwrap();
    let fetch = kinds.iter().position(|k| k == "fetch").unwrap();
    assert!(run1 < run2 && run2 < fetch, "{kinds:?}");
    let Some(Effect::Fetch { request, .. }) =
        seen.iter().find(|e| matches!(e, Effect::Fetch { .. }))
    else {
        unreachable!()
    };
    let body: Value = kapa_agent_wasm::json::parse(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body["input"]["results"],
        json!([{"tool_call_id": "c1", "status": "completed", "output": "c1"}, {"tool_call_id": "c2", "status": "completed", "output": "c2"}])
    );
}
