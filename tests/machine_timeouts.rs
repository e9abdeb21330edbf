//! Transcript tests: the idle timeout of a request (no response head, or a stream that stalls)
//! and the timeout of a `getSessionToken()` that never settles.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;

#[test]
fn a_stalled_stream_fails_after_the_idle_timeout_and_keep_alives_reset_it() {
    let mut h = H::new(config());
    let n = started(&mut h, "x");
    h.open_sse(n);
    h.advance(10.0);
    h.chunk(n, &sse(&[text("Partial")]));
    let t_text = h.now;
    assert_eq!(h.m.next_wake(), Some(t_text + 60_000.0));
    // A keep-alive comment is a sign of life: the deadline moves.
    h.advance(59_000.0);
    assert_eq!(h.timer(), tr![]);
    assert_eq!(h.chunk(n, b": ping\n\n"), tr![]);
    assert_eq!(h.m.next_wake(), Some(h.now + 60_000.0));
    h.advance(59_999.0);
    assert_eq!(h.timer(), tr![]);
    h.advance(1.0);
    let t = h.timer();
    assert_eq!(t[0], "Messages");
    assert!(t.contains(&format!("Cancel r{n}")), "{t:?}");
    assert!(
        t.iter()
            .any(|e| e.contains("The response stalled: no data for 60 s")),
        "{t:?}"
    );
    let text = "Partial\n\nThe response stalled: no data for 60 s";
    assert_eq!(h.last_msg()["content"], text);
    assert_eq!(h.last_msg()["isError"], true);
    // Nothing more is sent for this turn, and the next one works.
    assert_eq!(h.fetch_count(n), 1);
    assert!(!h.m.is_streaming());
}

#[test]
fn no_response_head_is_retried_like_a_network_error_then_fails() {
    let mut c = config();
    c.idle_timeout_ms = 1_000.0;
    c.retry.max_retries = 1;
    c.retry.base_delay_ms = 0.0;
    let mut h = H::new(c);
    let n = started(&mut h, "x");
    h.advance(1_000.0);
    // The silent attempt is cancelled and retried within the budget (same request, same key).
    assert_eq!(h.timer(), tr![format!("Cancel r{n}")]);
    assert_eq!(h.timer(), tr![format!("Fetch r{n} POST chat/")]);
    assert_eq!(h.fetch_count(n), 2);
    let keys: Vec<_> = h
        .fetches
        .iter()
        .map(|(_, f)| header(f, "Idempotency-Key"))
        .collect();
    assert_eq!(keys[0], keys[1]);
    h.advance(1_000.0);
    let t = h.timer();
    assert!(
        t.iter()
            .any(|e| e.contains("Network error: no response within 1 s")),
        "{t:?}"
    );
    assert!(!h.m.is_streaming());
}

#[test]
fn a_hanging_get_session_token_fails_the_turn_with_a_clear_error() {
    let mut c = config();
    c.token_timeout_ms = 5_000.0;
    let mut h = H::new(c);
    assert_eq!(
        h.send("x")[..3],
        tr![
            "Messages",
            "Streaming true",
            format!("Event message_sent {}", json!({"messageLength": 1}))
        ][..]
    );
    assert_eq!(h.m.next_wake(), Some(h.now + 5_000.0));
    h.advance(4_999.0);
    assert_eq!(h.timer(), tr![]);
    h.advance(1.0);
    let t = h.timer();
    let error = "Could not get a session token: getSessionToken() did not settle within 5 s";
    assert!(t.iter().any(|e| e.contains(error)), "{t:?}");
    assert_eq!(h.last_msg(), error_message(error));
    assert_eq!(h.m.next_wake(), None);
    // The next message asks for a token again (the hung call is abandoned).
    let t = h.send("y");
    assert!(t.contains(&"GetToken".to_string()), "{t:?}");
}
