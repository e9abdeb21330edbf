//! Transcript tests: stopGeneration and resetConversation at every point of a turn.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::machine::Effect;

const STOPPED_NULL: &str = r#"Event generation_stopped {"threadId":null}"#;
const STOPPED_THR1: &str = r#"Event generation_stopped {"threadId":"thr_1"}"#;

/// After a stop/reset, sendMessage works at once, with no new GetToken (token cached).
fn assert_send_works(h: &mut H, expect_fetch: &str) {
    let n = h.fetches.len();
    let t = h.send("again");
    assert_eq!(
        t,
        tr![
            "Messages",
            "Streaming true",
            r#"Event message_sent {"messageLength":5}"#,
            expect_fetch
        ]
    );
    assert_eq!(h.fetches.len(), n + 1);
    let r = h.last_req();
    let t = h.sse(r, &[text("ok"), done("thr_x")]);
    assert!(
        t.iter().any(|s| s.starts_with("Event response_completed")),
        "{t:?}"
    );
}

fn no_fetch_after(h: &H, n: usize) {
    assert_eq!(h.fetches.len(), n, "no further Fetch for a stopped turn");
}

#[test]
fn stop_without_a_turn_does_nothing() {
    let mut h = H::new(config());
    assert_eq!(h.stop(), tr![]);
    h.start("x");
    h.sse(1, &[text("a"), done("thr_1")]);
    assert_eq!(h.stop(), tr![]);
    assert_eq!(h.msgs(), json!([user("x"), assistant_text("a")]));
}

#[test]
fn stop_while_waiting_for_the_token() {
    let mut h = H::new(config());
    assert_eq!(h.send("Hi")[3], "GetToken");
    assert_eq!(
        h.stop(),
        tr!["Streaming false", STOPPED_NULL, "TurnEnded t1"]
    );
    assert_eq!(
        h.msgs(),
        json!([user("Hi")]),
        "a stop before content adds no assistant message"
    );
    assert!(!h.m.is_streaming());
    // The token arrives late: cached, but nothing is fetched for the stopped turn.
    assert_eq!(h.token_ok(), tr![]);
    no_fetch_after(&h, 0);
    assert_send_works(&mut h, "Fetch r1 POST chat/");
}

#[test]
fn stop_while_waiting_for_the_token_then_send_before_it_arrives() {
    let mut h = H::new(config());
    h.send("Hi");
    h.stop();
    // The first getSessionToken is still in flight: no second one.
    assert_eq!(
        h.send("again"),
        tr![
            "Messages",
            "Streaming true",
            r#"Event message_sent {"messageLength":5}"#
        ]
    );
    assert_eq!(h.token_ok(), tr!["Fetch r1 POST chat/"]);
    assert_eq!(h.body(1)["input"]["content"], "again");
    assert_eq!(h.log.iter().filter(|e| **e == Effect::GetToken).count(), 1);
}

#[test]
fn stop_while_request_in_flight() {
    let mut h = H::new(config());
    h.start("Hi");
    assert_eq!(
        h.stop(),
        tr!["Cancel r1", "Streaming false", STOPPED_NULL, "TurnEnded t1"]
    );
    // Late answers about r1 are ignored.
    assert_eq!(h.respond(1, 503, None, ""), tr![]);
    assert_eq!(h.net_err(1, "offline"), tr![]);
    h.open_sse(1);
    assert_eq!(h.chunk(1, &sse(&[text("late"), done("thr_1")])), tr![]);
    assert_eq!(h.end(1), tr![]);
    assert_eq!(h.stream_error(1), tr![]);
    assert_eq!(h.timer(), tr![]);
    assert_eq!(h.msgs(), json!([user("Hi")]));
    no_fetch_after(&h, 1);
    assert_send_works(&mut h, "Fetch r2 POST chat/");
}

#[test]
fn stop_mid_stream_keeps_content_without_error() {
    let mut h = H::new(config());
    h.start("Hi");
    h.sse(1, &[start_ev("thr_1"), text("Hel")]);
    assert_eq!(
        h.stop(),
        tr!["Cancel r1", "Streaming false", STOPPED_THR1, "TurnEnded t1"]
    );
    assert_eq!(h.msgs(), json!([user("Hi"), assistant_text("Hel")]));
    assert_eq!(h.chunk(1, &sse(&[text("lo"), done("thr_1")])), tr![]);
    assert_eq!(h.end(1), tr![]);
    assert_eq!(h.msgs(), json!([user("Hi"), assistant_text("Hel")]));
    assert!(h
        .events()
        .iter()
        .all(|(k, _)| k != "response_completed" && k != "response_error"));
    assert_send_works(&mut h, "Fetch r2 POST chat/");
    assert_eq!(h.body(2)["thread_id"], "thr_1");
}

#[test]
fn stop_during_approval() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "delete_file", json!({})),
            requires(&["c1"]),
        ],
    );
    assert_eq!(
        h.stop(),
        tr!["Messages", "Streaming false", STOPPED_THR1, "TurnEnded t1"]
    );
    assert_eq!(
        h.last_msg()["blocks"][0]["toolCalls"][0]["status"],
        "stopped"
    );
    assert!(h.last_msg().get("isError").is_none());
    assert_eq!(h.approve("c1"), tr![]);
    assert_eq!(h.reject("c1"), tr![]);
    no_fetch_after(&h, 1);
    assert!(!h
        .log
        .iter()
        .any(|e| matches!(e, Effect::RunTool { .. } | Effect::AbortTool { .. })));
    assert_send_works(&mut h, "Fetch r2 POST chat/");
}

#[test]
fn stop_during_tool_execution_aborts_and_drops_late_results() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "get_time", json!({})),
            client_call("c2", "delete_file", json!({})),
            client_call("c3", "calc", json!({"a": 1})),
            server_call("s1", "search_knowledge_base", json!({})),
            requires(&["c1", "c2", "c3"]),
        ],
    );
    assert_eq!(
        h.tool_ok("c3", json!(1), 1.0)[1],
        r#"Event tool_executed {"toolName":"calc","status":"completed","durationMs":1}"#
    );
    assert_eq!(
        h.stop(),
        tr![
            "Messages",
            "AbortTool c1",
            "Streaming false",
            STOPPED_THR1,
            "TurnEnded t1"
        ]
    );
    let statuses: Vec<_> = h.last_msg()["blocks"][0]["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![
            json!("stopped"),
            json!("stopped"),
            json!("completed"),
            json!("stopped")
        ]
    );
    assert_eq!(h.tool_ok("c1", json!("late"), 5.0), tr![]);
    assert_eq!(h.tool_err("c1", "aborted", 5.0), tr![]);
    assert_eq!(
        h.events()
            .iter()
            .filter(|(k, _)| k == "tool_executed")
            .count(),
        1
    );
    no_fetch_after(&h, 1);
    assert_send_works(&mut h, "Fetch r2 POST chat/");
}

#[test]
fn stop_between_round_trips_cancels_the_tool_results_request() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "get_time", json!({})),
            requires(&["c1"]),
        ],
    );
    assert_eq!(
        h.tool_ok("c1", json!(1), 1.0).last().unwrap(),
        "Fetch r2 POST chat/"
    );
    assert_eq!(
        h.stop(),
        tr!["Cancel r2", "Streaming false", STOPPED_THR1, "TurnEnded t1"]
    );
    assert_eq!(
        h.last_msg()["blocks"][0]["toolCalls"][0]["status"],
        "completed"
    );
    h.open_sse(2);
    assert_eq!(h.chunk(2, &sse(&[text("late")])), tr![]);
    no_fetch_after(&h, 2);
    assert_send_works(&mut h, "Fetch r3 POST chat/");
}

#[test]
fn stop_during_retry_backoff_sends_nothing_more() {
    let mut h = H::new(config());
    h.start("x");
    assert_eq!(h.respond(1, 503, None, "busy"), tr![]);
    assert!(h.m.next_wake().is_some());
    assert_eq!(
        h.stop(),
        tr!["Streaming false", STOPPED_NULL, "TurnEnded t1"]
    );
    assert_eq!(h.m.next_wake(), None);
    h.advance(60_000.0);
    assert_eq!(h.timer(), tr![]);
    no_fetch_after(&h, 1);
}

#[test]
fn stop_twice_is_a_no_op() {
    let mut h = H::new(config());
    h.start("x");
    h.stop();
    assert_eq!(h.stop(), tr![]);
    assert_eq!(
        h.events()
            .iter()
            .filter(|(k, _)| k == "generation_stopped")
            .count(),
        1
    );
}

#[test]
fn reset_without_anything() {
    let mut h = H::new(config());
    assert_eq!(h.reset(), tr!["Event conversation_reset {}"]);
}

#[test]
fn reset_after_a_turn_keeps_the_token() {
    let mut h = H::new(config());
    h.start("x");
    h.sse(1, &[start_ev("thr_1"), text("a"), done("thr_1")]);
    assert_eq!(
        h.reset(),
        tr!["Messages", "ThreadId null", "Event conversation_reset {}"]
    );
    assert_eq!(h.msgs(), json!([]));
    assert_eq!(h.m.thread_id(), None);
    let t = h.send("fresh");
    assert_eq!(
        t,
        tr![
            "Messages",
            "Streaming true",
            r#"Event message_sent {"messageLength":5}"#,
            "Fetch r2 POST chat/"
        ]
    );
    assert_eq!(h.body(2)["thread_id"], json!(null));
    assert_eq!(h.msgs(), json!([user("fresh")]));
}

#[test]
fn reset_during_tool_execution() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "get_time", json!({})),
            requires(&["c1"]),
        ],
    );
    assert_eq!(
        h.reset(),
        tr![
            "Messages",
            "AbortTool c1",
            "Streaming false",
            "TurnEnded t1",
            "ThreadId null",
            "Event conversation_reset {}"
        ]
    );
    assert!(h.events().iter().all(|(k, _)| k != "generation_stopped"));
    assert_eq!(h.tool_ok("c1", json!(1), 1.0), tr![]);
    no_fetch_after(&h, 1);
    assert_send_works(&mut h, "Fetch r2 POST chat/");
    assert_eq!(h.body(2)["thread_id"], json!(null));
}

#[test]
fn reset_in_flight_and_waiting_token() {
    let mut h = H::new(config());
    h.start("x");
    assert_eq!(
        h.reset(),
        tr![
            "Messages",
            "Cancel r1",
            "Streaming false",
            "TurnEnded t1",
            "Event conversation_reset {}"
        ]
    );
    let mut h = H::new(config());
    h.send("x");
    assert_eq!(
        h.reset(),
        tr![
            "Messages",
            "Streaming false",
            "TurnEnded t1",
            "Event conversation_reset {}"
        ]
    );
    assert_eq!(h.token_ok(), tr![]);
    assert_send_works(&mut h, "Fetch r1 POST chat/");
}

#[test]
fn reset_mid_stream_ignores_late_chunks() {
    let mut h = H::new(config());
    h.start("x");
    h.sse(1, &[start_ev("thr_1"), text("partial")]);
    h.reset();
    assert_eq!(h.chunk(1, &sse(&[text("more"), done("thr_1")])), tr![]);
    assert_eq!(h.msgs(), json!([]));
    assert_eq!(h.m.thread_id(), None);
}

#[test]
fn late_token_failure_after_stop_is_silent() {
    let mut h = H::new(config());
    h.send("Hi");
    h.stop();
    assert_eq!(h.token_raw(Err("boom".into())), tr![]);
    assert_eq!(h.msgs(), json!([user("Hi")]));
    assert_eq!(h.send("again").last().unwrap(), "GetToken");
}
