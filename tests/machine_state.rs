//! STATE.md: exportState / restore rules of the core, as transcripts.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::{StateError, INTERRUPTED};

/// A fresh machine (another seed: another page) restored from `state`, quietly.
fn restored(config: kapa_agent_wasm::options::Config, state: &Value) -> H {
    let mut h = H::with_seed(config, 99);
    h.m.restore_state(state, false, h.now).expect("restores");
    assert_eq!(h.drain(), tr![], "a quiet restore emits nothing");
    h
}

/// Round trip through JSON text, as storage does.
fn through_text(v: Value) -> Value {
    json::parse(&json::to_string(&v)).unwrap()
}

/// A turn that asked to approve `delete_file` (c2) after `get_time` (c1) ran, on thr_1.
fn approval_wait() -> H {
    let mut h = H::new(tools_config());
    h.start("tidy up");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            text("Checking. "),
            client_call("c1", "get_time", json!({})),
            client_call("c2", "delete_file", json!({"path": "/a"})),
            client_call("c3", "calc", json!({"a": 1})),
            requires(&["c1", "c2", "c3"]),
        ],
    );
    h.tool_ok("c1", json!({"time": "10:00"}), 5.0);
    h
}

#[test]
fn export_shape_and_completed_conversation_round_trip() {
    let mut h = H::new(tools_config());
    h.start("hi");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            text("Hello "),
            text("there"),
            done("thr_1"),
        ],
    );
    let state = h.m.export_state();
    assert_eq!(
        canon(state.clone()),
        json!({"version": 1, "projectId": "proj", "integrationId": "int_123", "threadId": "thr_1",
               "messages": [user("hi"), assistant_text("Hello there")]})
    );
    let mut r = restored(tools_config(), &through_text(state));
    assert_eq!(r.msgs(), h.msgs());
    assert_eq!(r.m.thread_id(), Some("thr_1"));
    assert!(!r.m.is_streaming());
    // The next message continues the thread, and its first change delivers everything.
    let t = r.start("more");
    assert_eq!(t[0], "Messages");
    assert_eq!(r.body(1)["thread_id"], "thr_1");
    assert_eq!(r.msgs().as_array().unwrap().len(), 3);
}

#[test]
fn streaming_turn_keeps_its_text_and_is_over() {
    let mut h = H::new(tools_config());
    h.start("hi");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            text("Half an ans"),
            server_call("s1", "search_knowledge_base", json!({"q": "x"})),
            client_call("c1", "get_time", json!({})),
        ],
    );
    let state = through_text(h.m.export_state());
    assert!(state["turn"].is_object(), "a running turn is exported");
    let r = restored(tools_config(), &state);
    assert!(!r.m.is_streaming());
    let last = r.last_msg();
    assert_eq!(last["content"], "Half an ans");
    assert_eq!(last["blocks"][1]["toolCalls"][0]["status"], "stopped");
    assert_eq!(last["blocks"][1]["toolCalls"][1]["status"], "stopped");
    assert!(last.get("isError").is_none());
    assert!(
        r.m.next_wake().is_none(),
        "nothing scheduled, nothing fetched"
    );
}

#[test]
fn executing_call_is_stopped_and_never_runs() {
    let mut h = H::new(tools_config());
    h.start("time?");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "get_time", json!({})),
            requires(&["c1"]),
        ],
    );
    assert_eq!(
        h.m.export_state()["messages"][1]["blocks"][0]["toolCalls"][0]["status"],
        "executing"
    );
    let mut r = restored(tools_config(), &h.m.export_state());
    assert!(!r.m.is_streaming());
    assert_eq!(
        r.last_msg()["blocks"][0]["toolCalls"][0]["status"],
        "stopped"
    );
    assert_eq!(
        r.tool_ok("c1", json!(1), 1.0),
        tr![],
        "a late result is dropped"
    );
    assert_eq!(r.approve("c1"), tr![]);
}

#[test]
fn approval_wait_survives_and_approve_posts_the_step() {
    let h = approval_wait();
    let state = through_text(h.m.export_state());
    assert_eq!(state["turn"]["step"], json!(["c1", "c2", "c3"]));
    let mut r = restored(tools_config(), &state);
    assert!(r.m.is_streaming(), "an approval wait is a running turn");
    let calls = &r.last_msg()["blocks"][1]["toolCalls"];
    assert_eq!(calls[0]["status"], "completed");
    assert_eq!(calls[1]["status"], "approval_requested");
    assert_eq!(calls[2]["status"], "stopped", "was executing at export");
    assert_eq!(
        r.approve("c2"),
        tr![
            "Messages",
            r#"Event tool_approved {"toolName":"delete_file","toolCallId":"c2"}"#,
            r#"RunTool c2 delete_file {"path":"/a"}"#
        ]
    );
    let t = r.tool_ok("c2", json!("deleted"), 3.0);
    assert_eq!(
        t,
        tr![
            "Messages",
            r#"Event tool_executed {"toolName":"delete_file","status":"completed","durationMs":3}"#,
            "GetToken"
        ]
    );
    r.token_ok();
    let body = r.body(1);
    assert_eq!(body["thread_id"], "thr_1");
    assert_eq!(
        canon(body["input"].clone()),
        json!({"type": "tool_results", "results": [
            {"tool_call_id": "c1", "status": "completed", "output": {"time": "10:00"}},
            {"tool_call_id": "c2", "status": "completed", "output": "deleted"},
            {"tool_call_id": "c3", "status": "error", "error": INTERRUPTED},
        ]})
    );
    r.sse(1, &[text("Done."), done("thr_1")]);
    assert!(!r.m.is_streaming());
    assert!(r.last_msg()["content"].as_str().unwrap().ends_with("Done."));
    assert_eq!(r.events().last().unwrap().0, "response_completed");
}

#[test]
fn restored_reject_posts_denied() {
    let mut r = restored(tools_config(), &approval_wait().m.export_state());
    let t = r.reject("c2");
    assert_eq!(
        t[1],
        r#"Event tool_denied {"toolName":"delete_file","toolCallId":"c2"}"#
    );
    r.token_ok();
    assert_eq!(
        r.body(1)["input"]["results"][1],
        json!({"tool_call_id": "c2", "status": "denied"})
    );
}

#[test]
fn restored_wait_stop_and_send_behave_as_live() {
    let mut r = restored(tools_config(), &approval_wait().m.export_state());
    assert!(r.m.send_message("again", r.now).is_err(), "busy, as live");
    let t = r.stop();
    assert!(t.contains(&"Streaming false".to_string()), "{t:?}");
    assert_eq!(
        r.last_msg()["blocks"][1]["toolCalls"][1]["status"],
        "stopped"
    );
    assert!(r.fetches.is_empty());
}

#[test]
fn announced_restore_delivers_and_refuses_a_changed_conversation() {
    let state = approval_wait().m.export_state();
    let mut r = H::with_seed(tools_config(), 5);
    r.m.restore_state(&state, true, r.now).unwrap();
    assert_eq!(
        r.drain(),
        tr!["Messages", "ThreadId thr_1", "Streaming true"]
    );
    assert_eq!(
        r.m.restore_state(&state, true, r.now),
        Err(StateError::ConversationChanged)
    );
    let mut s = H::new(tools_config());
    s.start("typed first");
    assert_eq!(
        s.m.restore_state(&state, true, s.now),
        Err(StateError::ConversationChanged)
    );
}

#[test]
fn bad_states_are_refused_without_panicking() {
    let good = approval_wait().m.export_state();
    let with = |k: &str, v: Value| {
        let mut s = good.clone();
        s[k] = v;
        s
    };
    let bad = [
        json!(null),
        json!("text"),
        json!([]),
        with("version", json!(2)),
        with("version", json!("1")),
        with("projectId", json!("other")),
        with("integrationId", json!("other")),
        with("messages", json!({})),
        with("messages", json!([{"role": "system", "content": "x"}])),
        with("messages", json!([{"role": "user"}])),
        with(
            "messages",
            json!([{"role": "assistant", "content": "x", "blocks": [{"type": "image"}]}]),
        ),
        with(
            "messages",
            json!([{"role": "assistant", "content": "", "blocks": [{"type": "tool_calls", "toolCalls": [{"id": "c", "name": "n", "status": "running"}]}]}]),
        ),
        with(
            "messages",
            json!([{"role": "assistant", "content": "", "blocks": [{"type": "tool_calls", "toolCalls": [{"id": 1, "name": "n", "status": "stopped"}]}]}]),
        ),
        with("threadId", json!(5)),
    ];
    for state in bad {
        let mut h = H::new(tools_config());
        assert!(
            matches!(
                h.m.restore_state(&state, false, h.now),
                Err(StateError::Invalid(_))
            ),
            "{state}"
        );
        assert!(h.m.messages().is_empty());
    }
    // Malformed `turn` (ours) only loses the wait.
    for turn in [
        json!(1),
        json!({"step": "c2"}),
        json!({"step": [1, 2]}),
        json!({"step": ["nope"]}),
    ] {
        let r = restored(tools_config(), &with("turn", turn));
        assert!(!r.m.is_streaming());
        assert_eq!(
            r.last_msg()["blocks"][1]["toolCalls"][1]["status"],
            "stopped"
        );
    }
    // Every prefix-truncation of the JSON text either fails to parse or is refused cleanly.
    let text = json::to_string(&good);
    for cut in (0..text.len()).step_by(7) {
        if let Ok(v) = json::parse(&text[..cut]) {
            let mut h = H::new(tools_config());
            let _ = h.m.restore_state(&v, false, h.now);
        }
    }
}

#[test]
#[cfg(feature = "governance")]
fn governance_audits_a_restored_approval() {
    let mut config = tools_config();
    config.governance = Some(kapa_agent_wasm::options::GovernanceConfig::new(
        "https://gov.example/api",
        "agent-1",
    ));
    let mut h = H::new(config.clone());
    h.start("delete");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "delete_file", json!({"path": "/a"})),
            requires(&["c1"]),
        ],
    );
    // The policy check (request 2) allows it: the call waits for the user.
    let check = h.last_req();
    assert!(h.fetch(check).url.ends_with("/v1/policies/check"));
    h.respond(check, 200, None, r#"{"decision":"ALLOW"}"#);
    let state = h.m.export_state();
    assert_eq!(
        state["messages"][1]["blocks"][0]["toolCalls"][0]["status"],
        "approval_requested"
    );
    let run_id = state["turn"]["runId"].clone();
    let mut r = restored(config, &state);
    r.approve("c1");
    r.tool_ok("c1", json!("ok"), 1.0);
    // Accept each audit event as it is sent (one in flight at a time) until none is left.
    let mut answered = 0;
    while let Some(n) = (1..=r.fetches.len())
        .find(|&n| r.fetches[n - 1].1.url.ends_with("/v1/events") && n > answered)
    {
        answered = n;
        r.respond(n, 202, None, "{}");
    }
    let events: Vec<Value> = r
        .fetches
        .iter()
        .filter(|(_, f)| f.url.ends_with("/v1/events"))
        .map(|(_, f)| json::parse(f.body.as_deref().unwrap()).unwrap())
        .collect();
    let categories: Vec<&str> = events
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        ["identity", "approval", "tool_api"],
        "audited like a live approval"
    );
    for e in &events {
        assert_eq!(e["sessionId"], "thr_1");
        assert_eq!(e["runId"], run_id, "the restored turn keeps its run id");
    }
    assert_eq!(events[1]["payload"]["decision"], "approved");
    assert_eq!(events[2]["payload"]["responseStatus"], 200);
    assert_eq!(r.m.governance_pending(), 0);
}

/// A small deterministic generator (xorshift) for the mutation test below.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn value(&mut self) -> Value {
        match self.below(9) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(-1.5),
            3 => json!("approval_requested"),
            4 => json!("c2"),
            5 => json!([]),
            6 => json!({}),
            7 => json!(["c1", "c2", "c3", "zz"]),
            _ => json!({"id": "c9", "name": "delete_file", "status": "pending"}),
        }
    }
}

/// Replace or delete one node chosen at random anywhere in `v`.
fn mutate(v: &mut Value, g: &mut Gen) {
    let child = match v {
        Value::Object(o) if !o.is_empty() => {
            let k = o.keys().nth(g.below(o.len())).unwrap().clone();
            if g.below(4) == 0 {
                o.remove(&k);
                return;
            }
            o.get_mut(&k).unwrap()
        }
        Value::Array(a) if !a.is_empty() => {
            let i = g.below(a.len());
            &mut a[i]
        }
        _ => {
            *v = g.value();
            return;
        }
    };
    if g.below(3) == 0 {
        *child = g.value();
    } else {
        mutate(child, g);
    }
}

#[test]
fn mutated_states_never_panic_and_restored_agents_keep_working() {
    let good = approval_wait().m.export_state();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut state = good.clone();
        for _ in 0..=g.below(3) {
            mutate(&mut state, &mut g);
        }
        let mut h = H::with_seed(tools_config(), 3);
        if h.m.restore_state(&state, g.below(2) == 0, h.now).is_err() {
            refused += 1;
            assert!(h.m.messages().is_empty() && !h.m.is_streaming());
            continue;
        }
        ok += 1;
        h.drain();
        // Whatever came back, the agent works on: decide, stop, ask again.
        for id in ["c1", "c2", "c3", "c9"] {
            h.approve(id);
            h.tool_ok(id, json!(1), 1.0);
            h.reject(id);
        }
        h.stop();
        assert!(!h.m.is_streaming());
        h.start("next");
        assert!(h.m.is_streaming());
    }
    assert!(ok > 100 && refused > 100, "ok {ok}, refused {refused}");
}
