//! Hardening (issue 13): the machine's randomness comes from the driver, timers run on the
//! monotonic clock whatever the wall clock does, and "blank" means JS `trim()` blank.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::machine::{Effect, Machine, Now};
#[cfg(feature = "governance")]
use kapa_agent_wasm::options::{GovernanceConfig, GovernanceMode};
use kapa_agent_wasm::rng::Rng;

const W: f64 = 1_780_000_000_000.0; // the wall clock at the start, epoch ms
const JUMP: f64 = 5.0 * HOUR;

fn drain(m: &mut Machine) -> Vec<Effect> {
    std::iter::from_fn(|| m.poll()).collect()
}

fn fetch_header(effects: &[Effect], name: &str) -> Option<String> {
    effects.iter().find_map(|e| match e {
        Effect::Fetch { request, .. } => header(request, name),
        _ => None,
    })
}

// -- randomness ----------------------------------------------------------------------------

#[test]
fn ids_come_from_the_drivers_random_source() {
    // Every bit of the Idempotency-Key but the UUID's version and variant is the source's.
    for (fill, want) in [
        (0xffu8, "ffffffff-ffff-4fff-bfff-ffffffffffff"),
        (0x00u8, "00000000-0000-4000-8000-000000000000"),
    ] {
        let rng = Rng::from_fill(Box::new(move |b: &mut [u8]| b.fill(fill)));
        let mut m = Machine::with_rng(config(), rng);
        m.send_message("hi", 0.0).unwrap();
        drain(&mut m);
        m.handle_token(Ok(json!({"token": TOKEN, "expiresAt": HOUR})), 0.0);
        let effects = drain(&mut m);
        assert_eq!(
            fetch_header(&effects, "Idempotency-Key").as_deref(),
            Some(want)
        );
    }
}

#[test]
#[cfg(feature = "governance")]
fn governance_ids_come_from_the_source_too() {
    let mut c = tools_config();
    c.governance = Some(GovernanceConfig::new("/gov", "agent"));
    let drawn = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let counter = drawn.clone();
    let rng = Rng::from_fill(Box::new(move |b: &mut [u8]| {
        counter.set(counter.get() + b.len());
        b.fill(0xab);
    }));
    let mut m = Machine::with_rng(c, rng);
    // The client session id is drawn at construction.
    assert_eq!(drawn.get(), 16);
    m.send_message("hi", 0.0).unwrap();
    // A turn's runId and its request's Idempotency-Key: 16 bytes each.
    assert_eq!(drawn.get(), 48);
}

// -- two clocks ----------------------------------------------------------------------------

/// A turn streaming on request `req`, its token valid for 10 hours of wall time.
fn streaming(c: kapa_agent_wasm::options::Config) -> (Machine, kapa_agent_wasm::machine::ReqId) {
    let mut m = Machine::new(c, SEED);
    let now = Now {
        mono: 1_000.0,
        wall: W,
    };
    m.send_message("hi", now).unwrap();
    drain(&mut m);
    m.handle_token(
        Ok(json!({"token": TOKEN, "expiresAt": W + 10.0 * HOUR})),
        now,
    );
    let req = drain(&mut m)
        .into_iter()
        .find_map(|e| match e {
            Effect::Fetch { req, .. } => Some(req),
            _ => None,
        })
        .expect("a fetch");
    m.handle_stream_open(req, Some("text/event-stream"));
    m.handle_chunk(req, &sse(&[text("Hel")]), now);
    drain(&mut m);
    (m, req)
}

fn failed(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Event(ev) if ev.kind == "response_error"))
}

#[test]
fn the_idle_timeout_ignores_wall_clock_jumps_both_ways() {
    for jump in [JUMP, -JUMP] {
        let mut c = config();
        c.idle_timeout_ms = 30_000.0;
        let (mut m, req) = streaming(c);
        // Hours of wall clock pass (or go back) in 29 s: the deadline is 30 s of monotonic time.
        assert_eq!(m.next_wake(), Some(31_000.0));
        m.handle_timer(Now {
            mono: 30_000.0,
            wall: W + jump,
        });
        assert!(!failed(&drain(&mut m)), "fired early (jump {jump})");
        m.handle_chunk(
            req,
            &sse(&[text("lo")]),
            Now {
                mono: 30_500.0,
                wall: W + jump,
            },
        );
        drain(&mut m);
        assert_eq!(m.next_wake(), Some(60_500.0), "the deadline moved by 30 s");
        // And it fires on time, not hours late.
        m.handle_timer(Now {
            mono: 60_500.0,
            wall: W + jump + 30_000.0,
        });
        assert!(failed(&drain(&mut m)), "not fired on time (jump {jump})");
    }
}

#[test]
fn retry_back_off_ignores_wall_clock_jumps_both_ways() {
    for jump in [JUMP, -JUMP] {
        let mut c = config();
        c.retry.base_delay_ms = 1_000.0;
        c.retry.max_delay_ms = 1_000.0;
        let (mut m, _) = streaming(c);
        m.stop();
        drain(&mut m);
        let now = Now {
            mono: 2_000.0,
            wall: W,
        };
        m.send_message("again", now).unwrap();
        let req = drain(&mut m)
            .into_iter()
            .find_map(|e| match e {
                Effect::Fetch { req, .. } => Some(req),
                _ => None,
            })
            .expect("the cached token is used at once");
        m.handle_response(req, 503, None, "busy", now);
        drain(&mut m);
        let wake = m.next_wake().expect("a back-off");
        assert!((2_000.0..=3_000.0).contains(&wake), "{wake}");
        // The wall clock jumps: nothing is due before the monotonic back-off ends.
        m.handle_timer(Now {
            mono: 2_000.0,
            wall: W + jump,
        });
        let early = drain(&mut m);
        assert!(
            !early.iter().any(|e| matches!(e, Effect::Fetch { .. })),
            "retried early (jump {jump})"
        );
        m.handle_timer(Now {
            mono: wake,
            wall: W + jump + 1_000.0,
        });
        let due = drain(&mut m);
        assert!(
            due.iter().any(|e| matches!(e, Effect::Fetch { .. })),
            "not retried on time (jump {jump}): {due:?}"
        );
    }
}

#[test]
fn token_expiry_is_wall_clock_time() {
    let (mut m, _) = streaming(config());
    m.stop();
    drain(&mut m);
    // The token expires at W + 10 h by the wall clock: 11 h later by the wall clock it is
    // refreshed, although only a second passed on the monotonic clock.
    m.send_message(
        "later",
        Now {
            mono: 2_000.0,
            wall: W + 11.0 * HOUR,
        },
    )
    .unwrap();
    assert!(drain(&mut m).contains(&Effect::GetToken));
}

#[test]
#[cfg(feature = "governance")]
fn reviewer_polling_ignores_wall_clock_jumps() {
    let mut c = tools_config();
    let mut g = GovernanceConfig::new("/gov", "agent");
    g.mode = GovernanceMode::RequireApproval;
    g.poll_interval_ms = 1_000.0;
    c.governance = Some(g);
    let mut h = H::new(c);
    let n = started(&mut h, "x");
    h.sse(
        n,
        &[
            client_call("c1", "calc", json!({"a": 1})),
            requires(&["c1"]),
        ],
    );
    let gov = |h: &H, path: &str| -> Vec<kapa_agent_wasm::machine::ReqId> {
        h.fetches
            .iter()
            .filter(|(_, r)| r.url.starts_with(&format!("/gov{path}")))
            .map(|(id, _)| *id)
            .collect()
    };
    let check = *gov(&h, "/v1/policies/check")
        .last()
        .expect("a policy check");
    let body = json!({"decision": "REQUIRE_APPROVAL", "pendingActionId": "pa_9"});
    h.m.handle_response(check, 200, None, &body.to_string(), h.now);
    h.drain();
    let mono = h.now;
    // Hours of wall clock either way: the first poll is not due before 1 s of monotonic time.
    for jump in [JUMP, -JUMP] {
        h.m.handle_timer(Now {
            mono: mono + 500.0,
            wall: mono + jump,
        });
        h.drain();
        assert!(
            gov(&h, "/v1/guardian/pending-actions").is_empty(),
            "polled early"
        );
    }
    h.m.handle_timer(Now {
        mono: mono + 1_000.0,
        wall: mono - JUMP,
    });
    h.drain();
    assert_eq!(
        gov(&h, "/v1/guardian/pending-actions").len(),
        1,
        "polled on time"
    );
}

// -- JS white space ------------------------------------------------------------------------

/// ECMA-262 WhiteSpace and LineTerminator: what `String.prototype.trim` strips.
const JS_WHITE_SPACE: &[char] = &[
    '\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', '\u{20}', '\u{a0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}',
];

#[test]
fn blank_means_js_trim_blank_at_every_code_point_where_rust_disagrees() {
    let disagree: Vec<char> = (0..=0x10ffff)
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace() != JS_WHITE_SPACE.contains(c))
        .collect();
    // Rust counts NEL as white space and not the BOM; JS the other way round.
    assert_eq!(disagree, ['\u{85}', '\u{feff}']);
    let mut m = Machine::new(config(), SEED);
    for c in disagree.iter().chain(JS_WHITE_SPACE) {
        let blank = JS_WHITE_SPACE.contains(c);
        for text in [c.to_string(), format!(" {c}\n{c}")] {
            let started = m.send_message(&text, 0.0).unwrap();
            assert_eq!(started.is_none(), blank, "U+{:04X}", *c as u32);
            m.reset();
            drain(&mut m);
        }
    }
    // Characters that look blank but are not white space in either: sent.
    for c in ['\u{180e}', '\u{200b}', '\u{2060}', '\u{1f}'] {
        assert!(m.send_message(&c.to_string(), 0.0).unwrap().is_some());
        m.reset();
        drain(&mut m);
    }
}
