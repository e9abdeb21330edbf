//! Transcript tests: session tokens with a fake clock (SPEC §7, PROTOCOL §5).

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::machine::{Effect, HistoryError};

const TOK2: &str = "tok-SECRET-bbbb";

fn get_tokens(h: &H) -> usize {
    h.log.iter().filter(|e| **e == Effect::GetToken).count()
}

fn auth(h: &H, n: usize) -> String {
    h.header(n, "Authorization").unwrap()
}

fn finish(h: &mut H, n: usize) {
    let t = h.sse(n, &[text("ok"), done("thr_1")]);
    assert!(t.iter().any(|s| s.starts_with("TurnEnded")), "{t:?}");
}

fn history_config() -> kapa_agent_wasm::options::Config {
    let mut c = config();
    c.enable_history = true;
    c
}

#[test]
fn lazy_no_token_before_the_first_request() {
    let mut h = H::new(tools_config());
    h.m.clear_session();
    assert_eq!(h.stop(), tr![]);
    assert_eq!(h.approve("x"), tr![]);
    assert_eq!(h.reject("x"), tr![]);
    assert_eq!(h.timer(), tr![]);
    assert_eq!(h.reset(), tr!["Event conversation_reset {}"]);
    assert_eq!(get_tokens(&h), 0);
    assert_eq!(h.send("Hi").last().unwrap(), "GetToken");
}

#[test]
fn token_is_cached_across_turns() {
    let mut h = H::new(config());
    h.start("a");
    finish(&mut h, 1);
    h.advance(60_000.0);
    assert_eq!(h.send("b").last().unwrap(), "Fetch r2 POST chat/");
    finish(&mut h, 2);
    assert_eq!(get_tokens(&h), 1);
    assert_eq!(auth(&h, 2), format!("Bearer {TOKEN}"));
}

#[test]
fn refresh_when_less_than_30s_remain() {
    let mut h = H::new(config());
    h.send("a");
    let exp = h.now + 60_000.0;
    assert_eq!(h.token(TOKEN, exp), tr!["Fetch r1 POST chat/"]);
    finish(&mut h, 1);
    h.now = exp - 30_001.0;
    assert_eq!(
        h.send("b").last().unwrap(),
        "Fetch r2 POST chat/",
        "30.001 s left: still used"
    );
    finish(&mut h, 2);
    h.now = exp - 29_999.0;
    assert_eq!(
        h.send("c").last().unwrap(),
        "GetToken",
        "29.999 s left: refreshed before the request"
    );
    assert_eq!(h.token(TOK2, h.now + HOUR), tr!["Fetch r3 POST chat/"]);
    assert_eq!(auth(&h, 3), format!("Bearer {TOK2}"));
    finish(&mut h, 3);
    // Expired long ago: refreshed too.
    h.now += 10.0 * HOUR;
    assert_eq!(h.send("d").last().unwrap(), "GetToken");
}

#[test]
fn a_freshly_fetched_token_with_little_life_is_still_used() {
    let mut h = H::new(config());
    h.send("a");
    let exp = h.now + 10_000.0;
    assert_eq!(h.token(TOKEN, exp), tr!["Fetch r1 POST chat/"]);
    assert_eq!(get_tokens(&h), 1);
    finish(&mut h, 1);
    // The next request refreshes it.
    assert_eq!(h.send("b").last().unwrap(), "GetToken");
    // Even an already-expired fresh token is used once rather than looping.
    let now = h.now;
    assert_eq!(h.token(TOK2, now - 1.0), tr!["Fetch r2 POST chat/"]);
    assert_eq!(get_tokens(&h), 2);
}

#[test]
fn refresh_before_tool_results_request() {
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
    h.advance(HOUR - 10_000.0); // a very slow tool
    let t = h.tool_ok("c1", json!(1), HOUR - 10_000.0);
    assert_eq!(t.last().unwrap(), "GetToken");
    assert_eq!(h.token(TOK2, h.now + HOUR), tr!["Fetch r2 POST chat/"]);
    assert_eq!(auth(&h, 2), format!("Bearer {TOK2}"));
    assert_eq!(h.body(2)["thread_id"], "thr_1");
}

#[test]
fn refresh_on_retry_after_backoff() {
    let mut h = H::new(config());
    h.send("x");
    h.token(TOKEN, h.now + 3_600_000.0);
    // The next turn's request starts with 40 s left, then waits 20 s in back-off.
    h.advance(HOUR - 40_000.0);
    finish(&mut h, 1);
    assert_eq!(h.send("y").last().unwrap(), "Fetch r2 POST chat/");
    assert_eq!(h.respond(2, 429, Some("20"), ""), tr![]);
    h.now = h.m.next_wake().unwrap();
    assert_eq!(
        h.timer(),
        tr!["GetToken"],
        "20 s left at retry time: refreshed"
    );
    assert_eq!(h.token(TOK2, h.now + HOUR), tr!["Fetch r2 POST chat/"]);
    assert_eq!(auth(&h, 2), format!("Bearer {TOK2}"));
    let id = h.req(2);
    let keys: Vec<_> = h
        .fetches
        .iter()
        .filter(|(r, _)| *r == id)
        .map(|(_, f)| header(f, "Idempotency-Key"))
        .collect();
    assert_eq!(keys[0], keys[1]);
}

#[test]
fn one_get_token_for_concurrent_requests() {
    let mut h = H::new(history_config());
    assert_eq!(
        h.send("x"),
        tr![
            "Messages",
            "Streaming true",
            r#"Event message_sent {"messageLength":1}"#,
            "GetToken"
        ]
    );
    assert_eq!(h.list(None, None).unwrap(), tr![]);
    assert_eq!(h.delete("thr_9").unwrap(), tr![]);
    assert_eq!(get_tokens(&h), 1);
    assert_eq!(
        h.token_ok(),
        tr![
            "Fetch r1 POST chat/",
            "Fetch r2 GET threads/",
            "Fetch r3 DELETE threads/thr_9/"
        ]
    );
    for n in 1..=3 {
        assert_eq!(auth(&h, n), format!("Bearer {TOKEN}"));
    }
}

#[test]
fn concurrent_refresh_is_deduplicated() {
    let mut h = H::new(history_config());
    h.send("x");
    let exp = h.now + 60_000.0;
    h.token(TOKEN, exp);
    finish(&mut h, 1);
    h.now = exp - 1_000.0;
    assert_eq!(h.send("y").last().unwrap(), "GetToken");
    assert_eq!(h.list(Some(1), None).unwrap(), tr![]);
    assert_eq!(get_tokens(&h), 2);
    assert_eq!(
        h.token(TOK2, h.now + HOUR),
        tr!["Fetch r2 POST chat/", "Fetch r3 GET threads/?limit=1"]
    );
}

#[test]
fn unauthorized_refetches_token_and_retries_once_with_same_key() {
    let mut h = H::new(config());
    h.start("x");
    let key = h.header(1, "Idempotency-Key");
    assert_eq!(h.respond(1, 401, None, "expired"), tr!["GetToken"]);
    assert!(h.m.is_streaming());
    assert_eq!(h.token(TOK2, h.now + HOUR), tr!["Fetch r1 POST chat/"]);
    assert_eq!(auth(&h, 1), format!("Bearer {TOK2}"));
    assert_eq!(h.header(1, "Idempotency-Key"), key);
    finish(&mut h, 1);
    // The new token is cached for the next turn.
    assert_eq!(h.send("y").last().unwrap(), "Fetch r2 POST chat/");
    assert_eq!(auth(&h, 2), format!("Bearer {TOK2}"));
    assert_eq!(get_tokens(&h), 2);
}

#[test]
fn second_unauthorized_fails() {
    let mut h = H::new(config());
    h.start("x");
    h.respond(1, 401, None, "");
    h.token(TOK2, h.now + HOUR);
    let t = h.respond(1, 401, None, "still no");
    assert_eq!(
        t,
        tr![
            "Messages",
            "Cancel r1",
            "Streaming false",
            r#"Event response_error {"error":"Agent request failed: 401 still no","threadId":null}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(get_tokens(&h), 2);
    assert_eq!(h.fetch_count(1), 2);
}

#[test]
fn unauthorized_retry_is_not_counted_in_the_budget() {
    let mut h = H::new(config());
    h.start("x");
    h.respond(1, 401, None, "");
    h.token(TOK2, h.now + HOUR);
    for _ in 0..3 {
        assert_eq!(h.respond(1, 503, None, ""), tr![]);
        h.now = h.m.next_wake().unwrap();
        assert_eq!(h.timer(), tr!["Fetch r1 POST chat/"]);
    }
    let t = h.respond(1, 503, None, "x");
    assert!(
        t.iter().any(|s| s.contains("Agent request failed: 503 x")),
        "{t:?}"
    );
    assert_eq!(h.fetch_count(1), 5);
}

#[test]
fn unauthorized_after_retries_still_gets_its_one_retry() {
    let mut h = H::new(config());
    h.start("x");
    h.respond(1, 503, None, "");
    h.now = h.m.next_wake().unwrap();
    h.timer();
    assert_eq!(h.respond(1, 401, None, ""), tr!["GetToken"]);
    assert_eq!(h.token(TOK2, h.now + HOUR), tr!["Fetch r1 POST chat/"]);
}

#[test]
fn get_session_token_error_names_the_token_and_hides_it() {
    let mut h = H::new(config());
    h.start("a");
    finish(&mut h, 1);
    h.m.clear_session();
    assert_eq!(
        h.send("b").last().unwrap(),
        "GetToken",
        "clear_session drops the cached token"
    );
    let t = h.token_raw(Err(format!("Session creation failed for {TOKEN}")));
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!(t[0], "Messages");
    assert_eq!(t[1], "Streaming false");
    assert!(t[2].starts_with("Event response_error"));
    assert_eq!(t[3], "TurnEnded t2");
    let err = h.last_msg()["content"].as_str().unwrap().to_owned();
    assert!(err.to_lowercase().contains("session token"), "{err}");
    assert!(err.contains("Session creation failed"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    assert_eq!(h.last_msg(), error_message(&err));
    assert_eq!(
        h.events().last().unwrap().1,
        json!({"error": err, "threadId": "thr_1"})
    );
    h.assert_secret_confined(TOKEN);
    // No token cached: the next turn asks again.
    assert_eq!(h.send("c").last().unwrap(), "GetToken");
}

#[test]
fn bad_token_shapes_are_clear_errors_without_the_value() {
    let bad = [
        json!(null),
        json!(TOK2),
        json!({"token": TOK2}),
        json!({"token": TOK2, "expiresAt": "soon"}),
        json!({"token": TOK2, "expiresAt": null}),
        json!({"session_token": TOK2}),
        json!({"session_token": TOK2, "expires_at": "2026-13-01T00:00:00Z"}),
        json!({"token": 5, "expiresAt": 1}),
        json!({"token": "", "expiresAt": 1}),
        json!({"access": TOK2}),
        json!([TOK2]),
    ];
    for v in bad {
        let mut h = H::new(config());
        h.send("x");
        let t = h.token_raw(Ok(v.clone()));
        assert!(
            t.iter().any(|s| s.starts_with("Event response_error")),
            "{v}: {t:?}"
        );
        let err = h.last_msg()["content"].as_str().unwrap().to_owned();
        assert!(err.to_lowercase().contains("session token"), "{v}: {err}");
        assert!(!err.contains(TOK2), "{v}: {err}");
        h.assert_secret_confined(TOK2);
        assert!(h.fetches.is_empty());
    }
}

#[test]
fn raw_session_answer_and_rfc3339_expiry_are_accepted() {
    let mut h = H::new(config());
    h.now = 1_773_741_291_165.0 - HOUR; // one hour before 2026-03-17T09:54:51.165Z
    h.send("x");
    let t = h.token_raw(Ok(
        json!({"session_token": TOK2, "expires_at": "2026-03-17T09:54:51.165812Z"}),
    ));
    assert_eq!(t, tr!["Fetch r1 POST chat/"]);
    assert_eq!(auth(&h, 1), format!("Bearer {TOK2}"));
    finish(&mut h, 1);
    h.now = 1_773_741_291_165.0 - 29_000.0;
    assert_eq!(
        h.send("y").last().unwrap(),
        "GetToken",
        "expiry read from the RFC 3339 string"
    );
    let mut h = H::new(config());
    h.now = 0.0;
    h.send("x");
    assert_eq!(
        h.token_raw(Ok(
            json!({"token": TOK2, "expiresAt": "2099-01-01T00:00:00Z"})
        )),
        tr!["Fetch r1 POST chat/"]
    );
}

#[test]
fn token_error_fails_every_waiting_request() {
    let mut h = H::new(history_config());
    h.send("x");
    h.list(None, None).unwrap();
    let t = h.token_raw(Err("down".into()));
    assert!(t.iter().any(|s| s.starts_with("Event response_error")));
    let done = h.log.iter().find_map(|e| match e {
        Effect::HistoryDone {
            result: Err(HistoryError::Failed(text)),
            ..
        } => Some(text.clone()),
        _ => None,
    });
    let text = done.expect("history failed");
    assert!(
        text.to_lowercase().contains("session token") && text.contains("down"),
        "{text}"
    );
}

#[test]
fn clear_session_forces_a_new_token_and_token_stays_confined() {
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
    h.m.clear_session();
    assert_eq!(h.tool_ok("c1", json!(1), 1.0).last().unwrap(), "GetToken");
    h.token(TOK2, h.now + HOUR);
    h.respond(2, 500, None, &format!("{TOKEN} {TOK2}"));
    h.assert_secret_confined(TOKEN);
    h.assert_secret_confined(TOK2);
    assert_eq!(get_tokens(&h), 2);
}

#[test]
fn history_request_while_token_in_flight_shares_it() {
    let mut h = H::new(history_config());
    assert_eq!(h.send("é😀").last().unwrap(), "GetToken");
    h.advance(30_000.0);
    assert_eq!(h.list(Some(3), None).unwrap(), tr![]);
    assert_eq!(get_tokens(&h), 1);
}
