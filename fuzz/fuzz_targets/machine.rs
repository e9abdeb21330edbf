//! The agent state machine driven by arbitrary sequences of events.
//!
//! The input is read as a script of operations (user calls: send, stop, reset, approve,
//! reject, history, clear session; driver reports: token, stream open / chunk / end / error,
//! responses with any status, network errors, tool results, timers with the wall clock
//! jumping by hours either way), with ids and bytes taken from the input. Tools (one needing
//! approval) and Kaplaix governance (in approval mode) are configured, history is enabled.
//!
//! Properties, after every operation: no panic; an assistant message's content is its text
//! blocks joined, with no empty text block; no call is left open once the turn is over; the
//! session token is in no effect but a request's Authorization header.
#![no_main]

use kapa_agent_wasm::json;
use kapa_agent_wasm::machine::{Effect, Machine, Now, ReqId};
use kapa_agent_wasm::messages::{AgentMessage, ContentBlock};
use kapa_agent_wasm::options::{Config, GovernanceConfig, GovernanceMode, ToolSpec};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "tok-SECRET-fz";

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn bytes(&mut self) -> Option<&[u8]> {
        let n = usize::from(self.byte()?).min(self.0.len());
        let (a, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(a)
    }
    fn text(&mut self) -> Option<String> {
        Some(String::from_utf8_lossy(self.bytes()?).into_owned())
    }
    fn pick<'t, T>(&mut self, items: &'t [T]) -> Option<&'t T> {
        if items.is_empty() {
            return None;
        }
        Some(&items[usize::from(self.byte()?) % items.len()])
    }
}

fn config() -> Config {
    let mut c = Config::new("proj", "int");
    let tool = |name: &str, parameters, needs_approval| ToolSpec {
        name: name.into(),
        description: name.into(),
        parameters,
        needs_approval,
        display_name: None,
    };
    c.tools = vec![
        tool(
            "calc",
            json!({"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]}),
            false,
        ),
        tool("get_time", json!({}), false),
        tool("delete_file", json!({"type": "object"}), true),
    ];
    c.enable_history = true;
    c.throttle_ms = 50.0;
    c.idle_timeout_ms = 30_000.0;
    let mut g = GovernanceConfig::new("/gov", "agent");
    g.mode = GovernanceMode::RequireApproval;
    c.governance = Some(g);
    c
}

/// Stream pieces the script can name by number (so short inputs reach deep states).
const PIECES: &[&[u8]] = &[
    b"event: text_delta\ndata: {\"text\":\"Hi \"}\n\n",
    b"event: tool_call\ndata: {\"id\":\"c1\",\"name\":\"calc\",\"arguments\":{\"a\":1},\"executor\":\"client\"}\n\n",
    b"event: tool_call\ndata: {\"id\":\"c2\",\"name\":\"delete_file\",\"arguments\":{},\"executor\":\"client\"}\n\n",
    b"event: tool_call\ndata: {\"id\":\"s1\",\"name\":\"search\",\"arguments\":{},\"executor\":\"server\"}\n\n",
    b"event: tool_result\ndata: {\"tool_call_id\":\"s1\",\"output\":\"x\"}\n\n",
    b"event: requires_action\ndata: {\"tool_call_ids\":[\"c1\",\"c2\"]}\n\n",
    b"event: done\ndata: {\"thread_id\":\"thr_1\"}\n\n",
    b"event: error\ndata: {\"reason\":\"tok-SECRET-fz broke\"}\n\n",
    b"{\"chunk\":{\"type\":\"text_delta\",\"content\":{\"text\":\"r\"}}}\xe2\x90\x9e",
    b"{\"decision\":\"ALLOW\"}",
    b"{\"decision\":\"REQUIRE_APPROVAL\",\"approvalId\":\"ap1\"}",
    b"{\"status\":\"APPROVED\",\"decidedBy\":\"r\"}",
    b"{\"threads\":[],\"nextCursor\":null}",
];

const STATUSES: &[u16] = &[200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 502, 503];

fn check(m: &Machine, effects: &[Effect], token_in_input: bool) {
    for slot in m.messages() {
        if let AgentMessage::Assistant {
            content, blocks, ..
        } = &slot.message
        {
            let mut joined = String::new();
            for b in blocks {
                match b {
                    ContentBlock::Text { content } => {
                        assert!(!content.is_empty(), "an empty text block");
                        joined.push_str(content);
                    }
                    ContentBlock::ToolCalls { tool_calls } => {
                        if !m.is_streaming() {
                            for c in tool_calls {
                                assert!(!c.status.is_open(), "open call after the turn: {c:?}");
                            }
                        }
                    }
                }
            }
            assert_eq!(*content, joined, "content is its text blocks joined");
        }
    }
    // A token the script itself wrote (in a user message, say) may be anywhere.
    for e in effects.iter().filter(|_| !token_in_input) {
        let leak = match e {
            Effect::Fetch { request, .. } => {
                request.url.contains(TOKEN)
                    || request.body.as_deref().is_some_and(|b| b.contains(TOKEN))
                    || request
                        .headers
                        .iter()
                        .any(|(k, v)| v.contains(TOKEN) && !k.eq_ignore_ascii_case("authorization"))
            }
            other => format!("{other:?}").contains(TOKEN),
        };
        assert!(!leak, "the session token leaked: {e:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    // The token written by the script, or its tail after a tab: JSON writes a tab as `\t`, so
    // a user message holding TAB + "ok-SECRET-fz" puts the token's text in a request body.
    let tail = &TOKEN.as_bytes()[1..];
    let token_in_input = data.windows(tail.len()).any(|w| w == tail);
    let mut input = Input(data);
    let mut m = Machine::new(config(), 7);
    let mut mono = 1_000.0;
    let mut wall = 1_700_000_000_000.0;
    let mut reqs: Vec<ReqId> = Vec::new();
    let mut calls: Vec<String> = vec!["c1".into(), "c2".into()];
    let mut steps = 0;
    let mut issued = false;
    while let Some(op) = input.byte() {
        steps += 1;
        if steps > 400 {
            break;
        }
        let now = Now { mono, wall };
        let req = input.pick(&reqs).copied();
        match op % 20 {
            0 => {
                let text = input.text().unwrap_or_default();
                let _ = m.send_message(&text, now);
            }
            1 => {
                let ttl = f64::from(input.byte().unwrap_or(0)) * 10_000.0 - 100_000.0;
                m.handle_token(Ok(json!({"token": TOKEN, "expiresAt": wall + ttl})), now);
                issued = true;
            }
            // An error text naming a token the machine was given before (it cannot scrub
            // one it never saw).
            2 if issued => m.handle_token(Err(format!("refresh of {TOKEN} failed")), now),
            2 => m.handle_token(Err("no token".into()), now),
            3 => {
                let ct = *input
                    .pick(&[
                        None,
                        Some("text/event-stream"),
                        Some("application/json"),
                        Some("x"),
                    ])
                    .unwrap_or(&None);
                if let Some(r) = req {
                    m.handle_stream_open(r, ct);
                }
            }
            4 => {
                let bytes = input.bytes().unwrap_or_default().to_vec();
                if let Some(r) = req {
                    m.handle_chunk(r, &bytes, now);
                }
            }
            5 | 6 => {
                let piece = *input.pick(PIECES).unwrap_or(&&b""[..]);
                if let Some(r) = req {
                    m.handle_chunk(r, piece, now);
                }
            }
            7 => {
                if let Some(r) = req {
                    m.handle_stream_end(r, now);
                }
            }
            8 => {
                if let Some(r) = req {
                    m.handle_stream_error(r);
                }
            }
            9 => {
                let status = *input.pick(STATUSES).unwrap_or(&200);
                let retry_after = *input
                    .pick(&[
                        None,
                        Some("1"),
                        Some("0.5"),
                        Some("Sun, 06 Nov 1994 08:49:37 GMT"),
                        Some("soon"),
                    ])
                    .unwrap_or(&None);
                let body = match input.byte() {
                    Some(b) if b & 1 == 0 => {
                        String::from_utf8_lossy(input.pick(PIECES).unwrap_or(&&b""[..]))
                            .into_owned()
                    }
                    _ => input.text().unwrap_or_default(),
                };
                if let Some(r) = req {
                    m.handle_response(r, status, retry_after, &body, now);
                }
            }
            10 => {
                if let Some(r) = req {
                    m.handle_network_error(r, "offline", now);
                }
            }
            11 => {
                // A value, `undefined` (no result), or a throw.
                let outcome = match input.byte().unwrap_or(0) % 3 {
                    0 => Ok(Some(json!({"r": 1}))),
                    1 => Ok(None),
                    _ => Err("boom".to_owned()),
                };
                let duration = f64::from(input.byte().unwrap_or(0));
                if let Some(id) = input.pick(&calls).cloned() {
                    m.handle_tool_result(&id, outcome, duration, now);
                }
            }
            12 => {
                if let Some(id) = input.pick(&calls).cloned() {
                    m.approve(&id, now);
                }
            }
            13 => {
                if let Some(id) = input.pick(&calls).cloned() {
                    m.reject(&id, now);
                }
            }
            14 => m.stop(),
            15 => m.reset(),
            16 => {
                // Time passes on the monotonic clock; the wall clock may jump by hours.
                let step = f64::from(input.byte().unwrap_or(0));
                mono += step * step * 10.0;
                wall += step * step * 10.0;
                match input.byte().unwrap_or(0) % 4 {
                    0 => wall += 3.0 * 3_600_000.0,
                    1 => wall -= 3.0 * 3_600_000.0,
                    _ => {}
                }
                m.handle_timer(Now { mono, wall });
            }
            17 => m.clear_session(),
            18 => {
                let id = input.text().unwrap_or_default();
                let _ = match input.byte().unwrap_or(0) % 3 {
                    0 => m.list_threads(Some(10), None, now),
                    1 => m.resume_thread(&id, now),
                    _ => m.delete_thread(&id, now),
                };
            }
            _ => m.page_hidden(now),
        }
        let effects: Vec<Effect> = std::iter::from_fn(|| m.poll()).collect();
        for e in &effects {
            match e {
                Effect::Fetch { req, .. } => reqs.push(*req),
                Effect::RunTool { call_id, .. } if !calls.contains(call_id) => {
                    calls.push(call_id.clone())
                }
                _ => {}
            }
        }
        if reqs.len() > 64 {
            reqs.drain(..32);
        }
        check(&m, &effects, token_in_input);
    }
});
