//! Transcript tests: thread history (SPEC §8, PROTOCOL §4).

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::{Effect, HistoryError};
use kapa_agent_wasm::options::Config;

fn hconfig() -> Config {
    let mut c = tools_config();
    c.enable_history = true;
    c
}

/// A harness with a cached token and (optionally) a finished turn on thread `thr_1`.
fn ready(with_turn: bool) -> H {
    let mut h = H::new(hconfig());
    if with_turn {
        h.start("first");
        h.sse(1, &[start_ev("thr_1"), text("answer"), done("thr_1")]);
    }
    h
}

fn thread_doc() -> Value {
    json!({"id": "thr_9", "title": "Old chat", "messages": [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Looked it up.", "blocks": [
            {"type": "tool_calls", "tool_calls": [
                {"id": "s1", "name": "search_knowledge_base", "arguments": {"query": "q"}, "status": "executing"},
                {"id": "s2", "name": "search_knowledge_base", "arguments": {"query": "r"}, "status": "completed", "duration_ms": 12,
                 "sources": [{"title": "T", "source_url": "https://x/y", "source_type": "doc", "source_visibility": "public"}]},
                {"id": "c1", "name": "delete_file", "arguments": {"path": "/a"}, "status": "approval_requested"},
                {"id": "c2", "name": "get_time", "arguments": {}, "status": "completed", "result": {"t": 1}},
                {"id": "c3", "name": "calc", "arguments": {"a": 1}, "status": "pending"},
                {"id": "c4", "name": "gone_tool", "arguments": {}, "status": "error", "error": "boom"}]},
            {"type": "text", "content": "Looked it up."}]},
        {"role": "user", "content": "and?"},
        {"role": "assistant", "content": "Failed", "blocks": [{"type": "text", "content": "Failed"}], "is_error": true}
    ]})
}

fn resumed_messages() -> Value {
    json!([
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Looked it up.", "blocks": [
            {"type": "tool_calls", "toolCalls": [
                {"id": "s1", "name": "search_knowledge_base", "arguments": {"query": "q"}, "status": "stopped", "displayName": "Searching docs"},
                {"id": "s2", "name": "search_knowledge_base", "arguments": {"query": "r"}, "status": "completed", "durationMs": 12,
                 "sources": [{"title": "T", "sourceUrl": "https://x/y", "sourceType": "doc", "sourceVisibility": "public"}],
                 "displayName": "Searching docs"},
                {"id": "c1", "name": "delete_file", "arguments": {"path": "/a"}, "status": "stopped", "displayName": "Delete", "needsApproval": true},
                {"id": "c2", "name": "get_time", "arguments": {}, "status": "completed", "result": {"t": 1}, "displayName": "Clock"},
                {"id": "c3", "name": "calc", "arguments": {"a": 1}, "status": "stopped"},
                {"id": "c4", "name": "gone_tool", "arguments": {}, "status": "error", "error": "boom"}]},
            {"type": "text", "content": "Looked it up."}]},
        {"role": "user", "content": "and?"},
        {"role": "assistant", "content": "Failed", "blocks": [{"type": "text", "content": "Failed"}], "isError": true}
    ])
}

#[test]
fn disabled_history_sends_nothing() {
    let mut h = H::new(tools_config());
    assert_eq!(h.list(None, None), Err(HistoryError::Disabled));
    assert_eq!(h.resume("thr_1"), Err(HistoryError::Disabled));
    assert_eq!(h.delete("thr_1"), Err(HistoryError::Disabled));
    h.start("x");
    assert_eq!(h.resume("thr_1"), Err(HistoryError::Disabled));
    assert_eq!(
        h.log
            .iter()
            .filter(|e| matches!(e, Effect::Fetch { .. } | Effect::GetToken))
            .count(),
        2,
        "only the chat's token + fetch"
    );
}

#[test]
fn list_threads_query_and_mapping() {
    let mut h = H::new(hconfig());
    assert_eq!(
        h.list(Some(5), Some("a b&c")).unwrap(),
        tr!["GetToken"],
        "lazy token"
    );
    assert_eq!(
        h.token_ok(),
        tr!["Fetch r1 GET threads/?limit=5&cursor=a%20b%26c"]
    );
    let f = h.fetch(1).clone();
    assert_eq!(f.body, None);
    assert!(!f.stream);
    assert_eq!(
        header(&f, "Authorization").unwrap(),
        format!("Bearer {TOKEN}")
    );
    let body = r#"{"threads": [
        {"id": "thr_1", "title": "Hi", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z", "message_count": 4},
        {"id": "thr_2", "title": "Yo", "created_at": "2026-01-03T00:00:00.5+02:00", "updated_at": "2026-01-04T00:00:00Z", "message_count": 0}],
        "next_cursor": "cur_2"}"#;
    let t = h.respond(1, 200, None, body);
    // In this key order, as agent-core builds these objects.
    let expected = kapa_agent_wasm::json::parse(r#"{"threads": [
        {"id": "thr_1", "title": "Hi", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z", "messageCount": 4},
        {"id": "thr_2", "title": "Yo", "createdAt": "2026-01-03T00:00:00.5+02:00", "updatedAt": "2026-01-04T00:00:00Z", "messageCount": 0}],
        "nextCursor": "cur_2"}"#).unwrap();
    assert_eq!(t, tr![format!("HistoryDone h1 Ok {expected}")]);
    assert_eq!(h.msgs(), json!([]));
    assert!(!h.m.is_streaming());

    assert_eq!(h.list(None, None).unwrap(), tr!["Fetch r2 GET threads/"]);
    assert_eq!(
        h.respond(2, 200, None, r#"{"threads": [], "next_cursor": null}"#),
        tr![r#"HistoryDone h2 Ok {"threads":[],"nextCursor":null}"#]
    );
    assert_eq!(
        h.list(Some(20), None).unwrap(),
        tr!["Fetch r3 GET threads/?limit=20"]
    );
    assert_eq!(
        h.list(None, Some("x")).unwrap(),
        tr!["Fetch r4 GET threads/?cursor=x"]
    );
}

#[test]
fn list_threads_is_allowed_during_a_turn() {
    let mut h = ready(false);
    h.start("x");
    assert_eq!(h.list(None, None).unwrap(), tr!["Fetch r2 GET threads/"]);
    assert_eq!(
        h.respond(2, 200, None, r#"{"threads": [], "next_cursor": null}"#)
            .len(),
        1
    );
    assert!(h.m.is_streaming());
}

#[test]
fn resume_replaces_messages_and_stops_open_calls() {
    let mut h = ready(true);
    assert_eq!(
        h.resume("thr_9").unwrap(),
        tr!["Fetch r2 GET threads/thr_9/"]
    );
    let t = h.respond(2, 200, None, &thread_doc().to_string());
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId thr_9",
            r#"Event thread_resumed {"threadId":"thr_9"}"#,
            "HistoryDone h1 Ok null"
        ]
    );
    assert_eq!(h.msgs(), resumed_messages());
    assert_eq!(h.m.thread_id(), Some("thr_9"));
    assert!(!h.m.is_streaming());
    // Restored calls are never run, approved or aborted.
    assert_eq!(h.approve("c1"), tr![]);
    assert!(!h
        .log
        .iter()
        .any(|e| matches!(e, Effect::RunTool { .. } | Effect::AbortTool { .. })));
    // The next turn continues the resumed thread and appends.
    let t = h.send("more");
    assert_eq!(t.last().unwrap(), "Fetch r3 POST chat/");
    assert_eq!(h.body(3)["thread_id"], "thr_9");
    h.sse(3, &[text("sure"), done("thr_9")]);
    let msgs = h.msgs();
    assert_eq!(msgs.as_array().unwrap().len(), 6);
    assert_eq!(msgs[5], assistant_text("sure"));
    assert_eq!(msgs[1], resumed_messages()[1]);
}

#[test]
fn resume_the_current_thread_fires_no_thread_id_change() {
    let mut h = ready(true);
    h.resume("thr_1").unwrap();
    let doc = json!({"id": "thr_1", "messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "answer"}]});
    let t = h.respond(2, 200, None, &doc.to_string());
    assert_eq!(
        t,
        tr![
            "Messages",
            r#"Event thread_resumed {"threadId":"thr_1"}"#,
            "HistoryDone h1 Ok null"
        ]
    );
    // A stored assistant message without blocks gets one text block from its content.
    assert_eq!(h.msgs(), json!([user("first"), assistant_text("answer")]));
}

#[test]
fn resume_is_busy_while_a_turn_runs() {
    let mut h = ready(false);
    h.start("x");
    assert_eq!(h.resume("thr_9"), Err(HistoryError::Busy));
    assert_eq!(h.fetches.len(), 1);
    // Started before the turn, answered during it: rejected, messages untouched.
    let mut h = ready(true);
    h.resume("thr_9").unwrap();
    h.send("second");
    let before = h.msgs();
    let t = h.respond(2, 200, None, &thread_doc().to_string());
    assert_eq!(t, tr!["HistoryDone h1 Err Busy"]);
    assert_eq!(h.msgs(), before);
    assert_eq!(h.m.thread_id(), Some("thr_1"));
}

#[test]
fn delete_current_thread_resets_then_fires_thread_deleted() {
    let mut h = ready(true);
    assert_eq!(
        h.delete("thr_1").unwrap(),
        tr!["Fetch r2 DELETE threads/thr_1/"]
    );
    assert_eq!(
        h.msgs().as_array().unwrap().len(),
        2,
        "nothing changes before the DELETE succeeded"
    );
    let t = h.respond(2, 204, None, "");
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId null",
            "Event conversation_reset {}",
            r#"Event thread_deleted {"threadId":"thr_1"}"#,
            "HistoryDone h1 Ok null"
        ]
    );
    assert_eq!(h.msgs(), json!([]));
    assert_eq!(h.m.thread_id(), None);
    // The token is kept.
    assert_eq!(h.send("new").last().unwrap(), "Fetch r3 POST chat/");
}

#[test]
fn delete_other_thread_changes_nothing_else() {
    let mut h = ready(true);
    h.delete("thr_x").unwrap();
    let before = h.msgs();
    assert_eq!(
        h.respond(2, 204, None, ""),
        tr![
            r#"Event thread_deleted {"threadId":"thr_x"}"#,
            "HistoryDone h1 Ok null"
        ]
    );
    assert_eq!(h.msgs(), before);
    assert_eq!(h.m.thread_id(), Some("thr_1"));
}

#[test]
fn delete_failure_does_not_reset() {
    let mut h = ready(true);
    h.delete("thr_1").unwrap();
    let t = h.respond(2, 404, None, r#"{"detail":"not found"}"#);
    assert_eq!(t, tr!["HistoryDone h1 Err ThreadNotFound"]);
    assert_eq!(h.m.thread_id(), Some("thr_1"));
    assert_eq!(h.msgs().as_array().unwrap().len(), 2);
}

#[test]
fn forbidden_session_without_owner() {
    for call in ["list", "resume", "delete"] {
        let mut h = ready(false);
        h.send("x");
        h.token_ok();
        match call {
            "list" => h.list(None, None).unwrap(),
            "resume" => {
                h.sse(1, &[done("thr_1")]);
                h.resume("thr_1").unwrap()
            }
            _ => h.delete("thr_1").unwrap(),
        };
        let n = h.last_req();
        let t = h.respond(
            n,
            403,
            None,
            r#"{"code": "session_without_owner", "detail": "no owner"}"#,
        );
        assert_eq!(t, tr!["HistoryDone h1 Err SessionWithoutOwner"], "{call}");
    }
}

#[test]
fn other_403_and_500_fail_with_the_http_message() {
    let mut h = ready(false);
    h.start("x");
    h.list(None, None).unwrap();
    let t = h.respond(2, 403, None, r#"{"code":"other"}"#);
    assert_eq!(
        t.last().unwrap(),
        r#"HistoryDone h1 Err Failed("Agent request failed: 403 {\"code\":\"other\"}")"#
    );
    h.resume("thr_1").err();
    h.list(None, None).unwrap();
    let t = h.respond(3, 500, None, "down");
    assert_eq!(
        t.last().unwrap(),
        r#"HistoryDone h2 Err Failed("Agent request failed: 500 down")"#
    );
    assert!(h.m.is_streaming(), "history failures do not touch the turn");
}

#[test]
fn not_found_is_thread_not_found() {
    let mut h = ready(false);
    h.send("x");
    h.token_ok();
    h.sse(1, &[done("thr_1")]);
    h.resume("nope").unwrap();
    assert_eq!(
        h.respond(2, 404, None, ""),
        tr!["HistoryDone h1 Err ThreadNotFound"]
    );
    assert_eq!(h.m.thread_id(), Some("thr_1"));
}

#[test]
fn history_requests_retry_and_refresh_like_chat() {
    let mut h = ready(false);
    h.send("x");
    h.token_ok();
    h.sse(1, &[done("thr_1")]);
    h.list(None, None).unwrap();
    assert_eq!(h.respond(2, 503, None, ""), tr![]);
    h.now = h.m.next_wake().unwrap();
    assert_eq!(h.timer(), tr!["Fetch r2 GET threads/"]);
    assert_eq!(h.respond(2, 401, None, ""), tr!["GetToken"]);
    assert_eq!(
        h.token("tok-SECRET-cccc", h.now + HOUR),
        tr!["Fetch r2 GET threads/"]
    );
    for _ in 0..2 {
        assert_eq!(h.net_err(2, "offline"), tr![]);
        h.now = h.m.next_wake().unwrap();
        h.timer();
    }
    let t = h.net_err(2, "offline");
    assert_eq!(
        t.last().unwrap(),
        r#"HistoryDone h1 Err Failed("Network error: offline")"#
    );
}

#[test]
fn malformed_history_answers_fail_cleanly() {
    for (call, body) in [
        ("list", "not json"),
        ("list", r#"{"threads": [{"title": "no id"}]}"#),
        ("resume", "{}"),
        ("resume", r#"{"messages": [{"role": "system"}]}"#),
    ] {
        let mut h = ready(true);
        let before = h.msgs();
        if call == "list" {
            h.list(None, None).unwrap();
        } else {
            h.resume("thr_9").unwrap();
        }
        let t = h.respond(2, 200, None, body);
        assert_eq!(t.len(), 1, "{call} {body}: {t:?}");
        assert!(t[0].starts_with("HistoryDone h1 Err Failed("), "{t:?}");
        assert_eq!(h.msgs(), before);
        assert_eq!(h.m.thread_id(), Some("thr_1"));
    }
}

#[test]
fn history_token_stays_confined() {
    let mut h = ready(true);
    h.list(None, None).unwrap();
    h.respond(2, 500, None, &format!("leak {TOKEN}"));
    h.assert_secret_confined(TOKEN);
}
