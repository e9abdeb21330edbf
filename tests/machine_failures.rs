//! Transcript tests: SPEC §4 failures and PROTOCOL §5 retries.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::Effect;
use kapa_agent_wasm::options::RetryConfig;

const UNEXPECTED: &str = "Unexpected response from the server";

fn response_error(error: &str, thread: Option<&str>) -> String {
    format!(
        "Event response_error {}",
        json!({"error": error, "threadId": thread})
    )
}

/// The failure transcript of a streaming request `rN`.
fn failed(n: usize, error: &str, thread: Option<&str>, turn: &str) -> Vec<String> {
    tr![
        "Messages",
        format!("Cancel r{n}"),
        "Streaming false",
        response_error(error, thread),
        format!("TurnEnded {turn}")
    ]
}

fn last_error(h: &H) -> String {
    let (_, data) = h
        .events()
        .into_iter()
        .rev()
        .find(|(k, _)| k == "response_error")
        .expect("response_error");
    data["error"].as_str().unwrap().to_owned()
}

// -- HTTP failures ------------------------------------------------------------------------------

#[test]
fn http_500_fails_with_status_and_body() {
    let mut h = H::new(config());
    h.start("Hi");
    let t = h.respond(1, 500, None, "boom");
    let text = "Agent request failed: 500 boom";
    assert_eq!(t, failed(1, text, None, "t1"));
    assert_eq!(h.msgs(), json!([user("Hi"), error_message(text)]));
    assert_eq!(h.fetch_count(1), 1, "500 is final");
    assert_eq!(h.m.next_wake(), None);
    // The next turn works.
    let t = h.send("again");
    assert_eq!(t.last().unwrap(), "Fetch r2 POST chat/");
}

#[test]
fn other_4xx_are_final() {
    for status in [400u16, 403, 404, 409, 422] {
        let mut h = H::new(config());
        h.start("Hi");
        let t = h.respond(1, status, None, r#"{"detail":"bad"}"#);
        let text = format!("Agent request failed: {status} {{\"detail\":\"bad\"}}");
        assert_eq!(t, failed(1, &text, None, "t1"), "{status}");
        assert_eq!(h.fetch_count(1), 1);
    }
}

#[test]
fn http_failure_after_tool_round_trip_keeps_content() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            text("Working. "),
            client_call("c1", "get_time", json!({})),
            requires(&["c1"]),
        ],
    );
    h.tool_ok("c1", json!(1), 1.0);
    let t = h.respond(2, 500, None, "oops");
    let text = "Agent request failed: 500 oops";
    assert_eq!(t, failed(2, text, Some("thr_1"), "t1"));
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": format!("Working. \n\n{text}"), "isError": true, "blocks": [
            {"type": "text", "content": "Working. "},
            {"type": "tool_calls", "toolCalls": [{"id": "c1", "name": "get_time", "arguments": {}, "status": "completed",
                "result": 1, "durationMs": 1, "displayName": "Clock"}]},
            {"type": "text", "content": format!("\n\n{text}")}]})
    );
}

// -- stream failures ------------------------------------------------------------------------------

#[test]
fn stream_error_event_reason_is_shown_after_content() {
    let mut h = H::new(config());
    h.start("Hi");
    h.sse(1, &[start_ev("thr_1"), text("Hello")]);
    let t = h.chunk(
        1,
        &sse(&[(
            "error",
            json!({"reason": "Model overloaded", "code": "overloaded"}),
        )]),
    );
    assert_eq!(t, failed(1, "Model overloaded", Some("thr_1"), "t1"));
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": "Hello\n\nModel overloaded", "isError": true,
               "blocks": [{"type": "text", "content": "Hello"}, {"type": "text", "content": "\n\nModel overloaded"}]})
    );
}

#[test]
fn stream_error_event_before_content_and_without_reason() {
    let mut h = H::new(config());
    h.start("Hi");
    let t = h.sse(1, &[("error", json!({"reason": "Nope"}))]);
    assert_eq!(t, failed(1, "Nope", None, "t1"));
    assert_eq!(h.msgs(), json!([user("Hi"), error_message("Nope")]));
    let mut h = H::new(config());
    h.start("Hi");
    h.sse(1, &[("error", json!({}))]);
    assert_eq!(h.last_msg(), error_message("unknown error"));
}

#[test]
fn stream_closing_without_terminal_event() {
    let mut h = H::new(config());
    h.start("Hi");
    assert_eq!(h.sse(1, &[text("partial")]), tr!["Messages"]);
    let t = h.end(1);
    let err = last_error(&h);
    assert!(
        err.to_lowercase().contains("stream ended unexpectedly"),
        "{err}"
    );
    assert_eq!(t, failed(1, &err, None, "t1"));
    assert_eq!(h.last_msg()["content"], format!("partial\n\n{err}"));
    assert_eq!(h.last_msg()["isError"], true);
    assert_eq!(h.fetch_count(1), 1, "never retried once bytes were read");
}

#[test]
fn stream_closing_with_an_unterminated_event_is_still_a_failure() {
    // The last SSE event lacks its blank line: discarded, and the stream has no terminal.
    let mut h = H::new(config());
    h.start("Hi");
    h.open_sse(1);
    h.chunk(
        1,
        b"event: text_delta\ndata: {\"text\":\"a\"}\n\nevent: done\ndata: {\"thread_id\":\"t\"}\n",
    );
    h.end(1);
    assert!(last_error(&h).to_lowercase().contains("ended unexpectedly"));
    // Record framing: trailing bytes after the last delimiter are ignored.
    let mut h = H::new(config());
    h.start("Hi");
    h.open_record(1);
    let mut bytes = record(&[text("a")]);
    bytes.extend_from_slice(br#"{"chunk":{"type":"done","content":{}}}"#);
    h.chunk(1, &bytes);
    h.end(1);
    assert!(last_error(&h).to_lowercase().contains("ended unexpectedly"));
    assert_eq!(h.last_msg()["blocks"][0]["content"], "a");
}

#[test]
fn stream_read_error_fails_without_retry() {
    let mut h = H::new(config());
    h.start("Hi");
    h.sse(1, &[text("a")]);
    // Responses and network errors about a streaming request are ignored: never retried.
    assert_eq!(h.respond(1, 503, None, ""), tr![]);
    assert_eq!(h.net_err(1, "reset"), tr![]);
    let t = h.stream_error(1);
    let err = last_error(&h);
    assert!(
        err.to_lowercase().contains("stream ended unexpectedly"),
        "{err}"
    );
    assert_eq!(t, failed(1, &err, None, "t1"));
    assert_eq!(h.fetch_count(1), 1);
    assert_eq!(h.m.next_wake(), None);
}

#[test]
fn malformed_json_applies_earlier_events_first() {
    for sse_framing in [true, false] {
        let mut h = H::new(config());
        h.start("Hi");
        let bytes: Vec<u8> = if sse_framing {
            h.open_sse(1);
            b"event: stream_start\ndata: {\"thread_id\":\"thr_1\"}\n\nevent: text_delta\ndata: {\"text\":\"ok\"}\n\nevent: text_delta\ndata: {bad\n\n".to_vec()
        } else {
            h.open_record(1);
            let mut b = record(&[start_ev("thr_1"), text("ok")]);
            b.extend_from_slice("not json\u{241E}".as_bytes());
            b
        };
        let t = h.chunk(1, &bytes);
        assert_eq!(
            t,
            tr![
                "Messages",
                "ThreadId thr_1",
                "Cancel r1",
                "Streaming false",
                response_error(UNEXPECTED, Some("thr_1")),
                "TurnEnded t1"
            ],
            "sse={sse_framing}"
        );
        assert_eq!(
            h.last_msg(),
            json!({"role": "assistant", "content": format!("ok\n\n{UNEXPECTED}"), "isError": true,
                   "blocks": [{"type": "text", "content": "ok"}, {"type": "text", "content": format!("\n\n{UNEXPECTED}")}]})
        );
        assert_eq!(h.chunk(1, &sse(&[text("more")])), tr![]);
    }
}

#[test]
fn known_events_missing_required_fields_fail() {
    let bad: Vec<(&str, Value)> = vec![
        ("stream_start", json!({})),
        ("stream_start", json!({"thread_id": 5})),
        ("text_delta", json!({})),
        ("text_delta", json!({"text": null})),
        (
            "tool_call",
            json!({"name": "get_time", "arguments": {}, "executor": "client"}),
        ),
        (
            "tool_call",
            json!({"id": "c1", "arguments": {}, "executor": "client"}),
        ),
        (
            "tool_call",
            json!({"id": "c1", "name": "get_time", "executor": "client"}),
        ),
        (
            "tool_call",
            json!({"id": "c1", "name": "get_time", "arguments": [1], "executor": "client"}),
        ),
        (
            "tool_call",
            json!({"id": "c1", "name": "get_time", "arguments": "not json", "executor": "client"}),
        ),
        (
            "tool_call",
            json!({"id": "c1", "name": "get_time", "arguments": {}}),
        ),
        ("tool_result", json!({"status": "completed"})),
        ("tool_result", json!({"id": "s0"})),
        ("requires_action", json!({})),
        ("requires_action", json!({"tool_call_ids": "c1"})),
        ("requires_action", json!({"tool_call_ids": [1]})),
    ];
    for (kind, content) in bad {
        let mut h = H::new(tools_config());
        h.start("x");
        let t = h.sse(
            1,
            &[
                server_call("s0", "search_knowledge_base", json!({})),
                text("shown"),
                (kind, content.clone()),
            ],
        );
        assert_eq!(t, failed(1, UNEXPECTED, None, "t1"), "{kind} {content}");
        let msg = h.last_msg();
        assert_eq!(msg["isError"], true);
        assert_eq!(
            msg["content"],
            format!("shown\n\n{UNEXPECTED}"),
            "{kind} {content}"
        );
        // The open server call became an error with the error text.
        assert_eq!(msg["blocks"][0]["toolCalls"][0]["status"], "error");
        assert_eq!(msg["blocks"][0]["toolCalls"][0]["error"], UNEXPECTED);
    }
}

#[test]
fn requires_action_naming_unknown_server_or_settled_calls_fails() {
    // Unknown id and a server call.
    for ids in [vec!["zzz"], vec!["s1"], vec!["c1", "zzz"]] {
        let mut h = H::new(tools_config());
        h.start("x");
        let t = h.sse(
            1,
            &[
                client_call("c1", "get_time", json!({})),
                server_call("s1", "search_knowledge_base", json!({})),
                requires(&ids),
            ],
        );
        assert_eq!(t, failed(1, UNEXPECTED, None, "t1"), "{ids:?}");
        assert!(
            !h.log.iter().any(|e| matches!(e, Effect::RunTool { .. })),
            "{ids:?}"
        );
        let calls = h.last_msg()["blocks"][0]["toolCalls"].clone();
        for c in calls.as_array().unwrap() {
            assert_eq!(c["status"], "error");
            assert_eq!(c["error"], UNEXPECTED);
        }
        assert!(
            h.events().iter().all(|(k, _)| k != "tool_executed"),
            "a failed turn fires no tool_executed"
        );
    }
    // A call already settled in this turn.
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[client_call("c1", "get_time", json!({})), requires(&["c1"])],
    );
    h.tool_ok("c1", json!(1), 1.0);
    let t = h.sse(2, &[requires(&["c1"])]);
    assert_eq!(t, failed(2, UNEXPECTED, None, "t1"));
    assert_eq!(
        h.last_msg()["blocks"][0]["toolCalls"][0]["status"],
        "completed",
        "settled calls stay settled"
    );
    assert_eq!(h.fetches.len(), 2);
}

#[test]
fn tool_result_for_a_client_call_fails() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "get_time", json!({})),
            (
                "tool_result",
                json!({"id": "c1", "status": "completed", "result": 1}),
            ),
        ],
    );
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId thr_1",
            "Cancel r1",
            "Streaming false",
            response_error(UNEXPECTED, Some("thr_1")),
            "TurnEnded t1"
        ]
    );
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": format!("\n\n{UNEXPECTED}"), "isError": true, "blocks": [
            {"type": "tool_calls", "toolCalls": [{"id": "c1", "name": "get_time", "arguments": {}, "status": "error", "error": UNEXPECTED, "displayName": "Clock"}]},
            {"type": "text", "content": format!("\n\n{UNEXPECTED}")}]})
    );
}

#[test]
fn tool_result_for_unknown_or_settled_server_call_fails() {
    for extra in [
        json!({"id": "nope", "status": "completed"}),
        json!({"id": "s1", "status": "completed"}),
    ] {
        let mut h = H::new(config());
        h.start("x");
        let t = h.sse(
            1,
            &[
                server_call("s1", "search_knowledge_base", json!({})),
                ("tool_result", json!({"id": "s1", "status": "completed"})),
                ("tool_result", extra.clone()),
            ],
        );
        assert_eq!(t, failed(1, UNEXPECTED, None, "t1"), "{extra}");
    }
}

#[test]
fn duplicate_tool_call_ids_fail_keeping_content() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            text("Intro"),
            client_call("c1", "get_time", json!({})),
            client_call("c1", "calc", json!({"a": 1})),
        ],
    );
    assert_eq!(t, failed(1, UNEXPECTED, None, "t1"));
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": format!("Intro\n\n{UNEXPECTED}"), "isError": true, "blocks": [
            {"type": "text", "content": "Intro"},
            {"type": "tool_calls", "toolCalls": [{"id": "c1", "name": "get_time", "arguments": {}, "status": "error", "error": UNEXPECTED, "displayName": "Clock"}]},
            {"type": "text", "content": format!("\n\n{UNEXPECTED}")}]})
    );
}

#[test]
fn duplicate_tool_call_id_across_round_trips_fails() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[client_call("c1", "get_time", json!({})), requires(&["c1"])],
    );
    h.tool_ok("c1", json!(1), 1.0);
    let t = h.sse(2, &[client_call("c1", "get_time", json!({}))]);
    assert_eq!(t, failed(2, UNEXPECTED, None, "t1"));
}

// -- retries --------------------------------------------------------------------------------------

fn keys(h: &H, n: usize) -> Vec<String> {
    let id = h.req(n);
    h.fetches
        .iter()
        .filter(|(r, _)| *r == id)
        .map(|(_, f)| header(f, "Idempotency-Key").unwrap())
        .collect()
}

#[test]
fn retry_429_with_retry_after_seconds() {
    let mut h = H::new(config());
    h.start("x");
    let t0 = h.now;
    assert_eq!(h.respond(1, 429, Some("2"), "slow"), tr![]);
    assert_eq!(h.m.next_wake(), Some(t0 + 2000.0));
    assert!(h.m.is_streaming());
    h.advance(1999.0);
    assert_eq!(h.timer(), tr![]);
    h.advance(1.0);
    assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
    let k = keys(&h, 1);
    assert_eq!(k.len(), 2);
    assert_eq!(k[0], k[1], "same Idempotency-Key on every attempt");
    assert_eq!(h.body(1)["input"]["content"], "x");
    h.sse(1, &[text("ok"), done("thr_1")]);
    assert_eq!(h.msgs(), json!([user("x"), assistant_text("ok")]));
}

#[test]
fn retry_429_with_retry_after_http_date() {
    let mut h = H::new(config());
    h.now = 784_111_777_000.0; // Sun, 06 Nov 1994 08:49:37 GMT
    h.start("x");
    assert_eq!(
        h.respond(1, 429, Some("Sun, 06 Nov 1994 08:49:40 GMT"), ""),
        tr![]
    );
    assert_eq!(h.m.next_wake(), Some(784_111_780_000.0));
    h.now = 784_111_780_000.0;
    assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
}

#[test]
fn retry_after_above_max_fails_at_once() {
    let mut h = H::new(config());
    h.start("x");
    let t = h.respond(1, 429, Some("61"), "slow down");
    assert_eq!(
        t,
        failed(1, "Agent request failed: 429 slow down", None, "t1")
    );
    assert_eq!(h.m.next_wake(), None);
    // Exactly the maximum is still waited for.
    let mut h = H::new(config());
    h.start("x");
    assert_eq!(h.respond(1, 429, Some("60"), ""), tr![]);
    // A custom maximum, and an HTTP date beyond it.
    let mut c = config();
    c.retry = RetryConfig {
        max_retry_after_ms: 1_000.0,
        ..RetryConfig::default()
    };
    let mut h = H::new(c);
    h.now = 784_111_777_000.0;
    h.start("x");
    let t = h.respond(1, 429, Some("Sun, 06 Nov 1994 08:49:39 GMT"), "");
    assert!(
        t.iter().any(|s| s.starts_with("Event response_error")),
        "{t:?}"
    );
    assert_eq!(h.fetch_count(1), 1);
}

#[test]
fn retry_429_without_header_uses_backoff() {
    let mut h = H::new(config());
    h.start("x");
    let t0 = h.now;
    assert_eq!(h.respond(1, 429, None, ""), tr![]);
    let wake = h.m.next_wake().unwrap();
    assert!(wake >= t0 && wake <= t0 + 500.0, "{}", wake - t0);
}

/// Run a request through `statuses` (each answered when due) and return the back-off delays.
fn delays_for(seed: u64, retry: RetryConfig, attempts: usize, status: u16) -> (H, Vec<f64>) {
    let mut c = config();
    c.retry = retry;
    let mut h = H::with_seed(c, seed);
    h.start("x");
    let mut delays = Vec::new();
    for _ in 0..attempts {
        let t = h.respond(1, status, None, "busy");
        if !t.is_empty() {
            break;
        }
        let wake = h.m.next_wake().expect("backing off");
        delays.push(wake - h.now);
        h.now = wake;
        assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
    }
    (h, delays)
}

#[test]
fn retry_5xx_full_jitter_bounds_and_budget() {
    for status in [502u16, 503, 504] {
        let mut maxima = [0f64; 3];
        for seed in 0..60 {
            let (h, d) = delays_for(seed, RetryConfig::default(), 10, status);
            assert_eq!(d.len(), 3, "maxRetries 3");
            for (k, delay) in d.iter().enumerate() {
                let cap = (500.0 * 2f64.powi(k as i32)).min(8000.0);
                assert!(
                    *delay >= 0.0 && *delay <= cap,
                    "retry {} delay {delay} > {cap}",
                    k + 1
                );
                maxima[k] = maxima[k].max(*delay);
            }
            assert_eq!(h.fetch_count(1), 4, "at most 4 attempts");
            assert_eq!(
                last_error(&h),
                format!("Agent request failed: {status} busy")
            );
            assert_eq!(
                h.last_msg(),
                error_message(&format!("Agent request failed: {status} busy"))
            );
            let k = keys(&h, 1);
            assert!(k.iter().all(|x| *x == k[0]));
        }
        // Full jitter: uses the whole range, not a fixed small delay.
        assert!(
            maxima[0] > 250.0 && maxima[1] > 500.0 && maxima[2] > 1000.0,
            "{maxima:?}"
        );
    }
}

#[test]
fn retry_caps_at_max_delay_and_custom_budget() {
    let retry = RetryConfig {
        max_retries: 5,
        base_delay_ms: 1000.0,
        max_delay_ms: 1500.0,
        max_retry_after_ms: 60_000.0,
    };
    for seed in 0..40 {
        let (h, d) = delays_for(seed, retry, 10, 503);
        assert_eq!(d.len(), 5);
        assert!(d[0] <= 1000.0);
        assert!(d[1..].iter().all(|x| *x <= 1500.0 && *x >= 0.0), "{d:?}");
        assert_eq!(h.fetch_count(1), 6);
    }
    let none = RetryConfig {
        max_retries: 0,
        ..RetryConfig::default()
    };
    let (h, d) = delays_for(1, none, 10, 503);
    assert!(d.is_empty());
    assert_eq!(h.fetch_count(1), 1);
    assert_eq!(last_error(&h), "Agent request failed: 503 busy");
}

#[test]
fn retry_budget_is_shared_between_429_5xx_and_network_errors() {
    let mut h = H::new(config());
    h.start("x");
    assert_eq!(h.respond(1, 429, Some("1"), ""), tr![]);
    h.now = h.m.next_wake().unwrap();
    assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
    assert_eq!(h.respond(1, 502, None, ""), tr![]);
    h.now = h.m.next_wake().unwrap();
    assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
    assert_eq!(h.net_err(1, "offline"), tr![]);
    h.now = h.m.next_wake().unwrap();
    assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
    let t = h.respond(1, 429, Some("1"), "again");
    assert_eq!(t, failed(1, "Agent request failed: 429 again", None, "t1"));
    assert_eq!(h.fetch_count(1), 4);
    let k = keys(&h, 1);
    assert!(k.iter().all(|x| *x == k[0]));
}

#[test]
fn network_error_retried_then_fails() {
    let mut h = H::new(config());
    h.start("x");
    for _ in 0..3 {
        assert_eq!(h.net_err(1, "Failed to fetch"), tr![]);
        h.now = h.m.next_wake().unwrap();
        assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
    }
    let t = h.net_err(1, "Failed to fetch");
    assert_eq!(t, failed(1, "Network error: Failed to fetch", None, "t1"));
    assert_eq!(
        h.msgs(),
        json!([user("x"), error_message("Network error: Failed to fetch")])
    );
}

#[test]
fn network_error_then_success() {
    let mut h = H::new(config());
    h.start("x");
    h.net_err(1, "offline");
    h.now = h.m.next_wake().unwrap();
    h.timer();
    let t = h.sse(1, &[text("fine"), done("thr_1")]);
    assert!(t.contains(&"TurnEnded t1".to_string()));
    assert_eq!(h.msgs(), json!([user("x"), assistant_text("fine")]));
}

#[test]
fn tool_results_request_is_retried_with_its_own_key() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[client_call("c1", "get_time", json!({})), requires(&["c1"])],
    );
    h.tool_ok("c1", json!(1), 1.0);
    assert_eq!(h.respond(2, 503, None, ""), tr![]);
    h.now = h.m.next_wake().unwrap();
    assert_eq!(h.timer(), tr!["Fetch r2 POST chat/"]);
    let k = keys(&h, 2);
    assert_eq!(k[0], k[1]);
    assert_ne!(k[0], keys(&h, 1)[0]);
    assert_eq!(h.body(2)["input"]["type"], "tool_results");
}

#[test]
fn timer_before_due_does_nothing() {
    let mut h = H::new(config());
    h.start("x");
    h.respond(1, 503, None, "");
    let wake = h.m.next_wake().unwrap();
    h.now = wake - 0.5;
    if h.now > 1_000_000.0 {
        assert_eq!(h.timer(), tr![]);
    }
    h.now = wake;
    assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
}

#[test]
fn error_text_never_contains_the_token() {
    let mut h = H::new(config());
    h.start("x");
    h.respond(1, 500, None, &format!("echo: Bearer {TOKEN}"));
    assert!(!last_error(&h).contains(TOKEN));
    h.assert_secret_confined(TOKEN);
    let mut h = H::new(config());
    h.start("x");
    h.sse(
        1,
        &[("error", json!({"reason": format!("bad token {TOKEN}")}))],
    );
    h.assert_secret_confined(TOKEN);
    let mut h = H::new(config());
    h.start("x");
    for _ in 0..4 {
        h.net_err(1, &format!("net {TOKEN}"));
        if let Some(w) = h.m.next_wake() {
            h.now = w;
            h.timer();
        }
    }
    assert!(last_error(&h).starts_with("Network error: "));
    h.assert_secret_confined(TOKEN);
}
