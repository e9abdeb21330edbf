//! Transcript tests: client tools, approvals, parallel calls, validation, tool call counting.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::Effect;

fn calls(h: &H) -> Vec<Value> {
    let msg = h.last_msg();
    msg["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_calls")
        .flat_map(|b| b["toolCalls"].as_array().unwrap().clone())
        .collect()
}

fn call(h: &H, id: &str) -> Value {
    calls(h).into_iter().find(|c| c["id"] == id).expect("call")
}

#[test]
fn client_tool_round_trip() {
    let mut h = H::new(tools_config());
    h.start("time?");
    let t = h.sse(
        1,
        &[
            start_ev("thr_1"),
            text("Checking. "),
            client_call("c1", "get_time", json!({})),
            requires(&["c1"]),
        ],
    );
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId thr_1",
            "Cancel r1",
            "RunTool c1 get_time {}"
        ]
    );
    assert_eq!(
        h.last_msg(),
        json!({"role": "assistant", "content": "Checking. ", "blocks": [
            {"type": "text", "content": "Checking. "},
            {"type": "tool_calls", "toolCalls": [
                {"id": "c1", "name": "get_time", "arguments": {}, "status": "executing", "displayName": "Clock"}]}]})
    );
    let t = h.tool_ok("c1", json!({"time": "10:00"}), 5.0);
    assert_eq!(
        t,
        tr![
            "Messages",
            r#"Event tool_executed {"toolName":"get_time","status":"completed","durationMs":5}"#,
            "Fetch r2 POST chat/"
        ]
    );
    let b1 = h.body(1);
    let b2 = h.body(2);
    assert_eq!(b2["thread_id"], "thr_1");
    assert_eq!(
        b2["input"],
        json!({"type": "tool_results", "results": [{"tool_call_id": "c1", "status": "completed", "output": {"time": "10:00"}}]})
    );
    for k in ["integration_id", "model", "tools"] {
        assert_eq!(b1[k], b2[k], "{k}");
    }
    assert_ne!(
        h.header(1, "Idempotency-Key"),
        h.header(2, "Idempotency-Key"),
        "fresh key per logical request"
    );
    assert_eq!(
        h.header(2, "Authorization").unwrap(),
        format!("Bearer {TOKEN}")
    );
    let t = h.sse(2, &[text("It is 10:00."), done("thr_1")]);
    assert_eq!(
        t,
        tr![
            "Messages",
            "Cancel r2",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_1","toolCallCount":1}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(
        h.msgs(),
        json!([user("time?"), {"role": "assistant", "content": "Checking. It is 10:00.", "blocks": [
            {"type": "text", "content": "Checking. "},
            {"type": "tool_calls", "toolCalls": [
                {"id": "c1", "name": "get_time", "arguments": {}, "status": "completed", "result": {"time": "10:00"},
                 "durationMs": 5, "displayName": "Clock"}]},
            {"type": "text", "content": "It is 10:00."}]}])
    );
    // Streaming stayed on through the round trip: exactly one true and one false.
    let flags: Vec<_> = h
        .log
        .iter()
        .filter(|e| matches!(e, Effect::StreamingChanged(_)))
        .collect();
    assert_eq!(
        flags,
        vec![
            &Effect::StreamingChanged(true),
            &Effect::StreamingChanged(false)
        ]
    );
    // A late duplicate result is ignored.
    assert_eq!(h.tool_ok("c1", json!(1), 1.0), tr![]);
}

#[test]
fn tool_error_and_null_results_shapes() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            client_call("c1", "calc", json!({"a": 1})),
            client_call("c2", "get_time", json!({})),
            requires(&["c1", "c2"]),
        ],
    );
    assert_eq!(
        t,
        tr![
            "Messages",
            "Cancel r1",
            r#"RunTool c1 calc {"a":1}"#,
            "RunTool c2 get_time {}"
        ]
    );
    let t = h.tool_err("c1", "Division by zero", 3.0);
    assert_eq!(
        t,
        tr![
            "Messages",
            r#"Event tool_executed {"toolName":"calc","status":"error","durationMs":3,"error":"Division by zero"}"#
        ]
    );
    assert_eq!(
        call(&h, "c1"),
        json!({"id": "c1", "name": "calc", "arguments": {"a": 1}, "status": "error", "error": "Division by zero", "durationMs": 3})
    );
    let t = h.tool_ok("c2", Value::Null, 0.5);
    assert_eq!(t[2], "Fetch r2 POST chat/");
    assert_eq!(
        h.body(2)["input"]["results"],
        json!([{"tool_call_id": "c1", "status": "error", "error": "Division by zero"},
               {"tool_call_id": "c2", "status": "completed", "output": null}])
    );
}

#[test]
fn approval_approve_then_run() {
    let mut h = H::new(tools_config());
    h.start("delete it");
    assert_eq!(
        h.sse(
            1,
            &[client_call("c1", "delete_file", json!({"path": "/a"}))]
        ),
        tr!["Messages"]
    );
    assert_eq!(
        call(&h, "c1"),
        json!({"id": "c1", "name": "delete_file", "arguments": {"path": "/a"}, "status": "pending", "displayName": "Delete", "needsApproval": true})
    );
    // Approve/reject on a pending call do nothing.
    assert_eq!(h.approve("c1"), tr![]);
    assert_eq!(h.reject("c1"), tr![]);
    assert_eq!(
        h.chunk(1, &sse(&[requires(&["c1"])])),
        tr!["Messages", "Cancel r1"]
    );
    assert_eq!(call(&h, "c1")["status"], "approval_requested");
    assert!(
        h.m.is_streaming(),
        "still streaming while waiting for approval"
    );
    assert_eq!(h.approve("nope"), tr![]);
    assert_eq!(
        h.approve("c1"),
        tr![
            "Messages",
            r#"Event tool_approved {"toolName":"delete_file","toolCallId":"c1"}"#,
            r#"RunTool c1 delete_file {"path":"/a"}"#
        ]
    );
    assert_eq!(call(&h, "c1")["status"], "executing");
    // No-ops on an executing call.
    assert_eq!(h.approve("c1"), tr![]);
    assert_eq!(h.reject("c1"), tr![]);
    let t = h.tool_ok("c1", json!("deleted"), 10.0);
    assert_eq!(
        t,
        tr![
            "Messages",
            r#"Event tool_executed {"toolName":"delete_file","status":"completed","durationMs":10}"#,
            "Fetch r2 POST chat/"
        ]
    );
    assert_eq!(
        h.body(2)["input"]["results"],
        json!([{"tool_call_id": "c1", "status": "completed", "output": "deleted"}])
    );
    // No-ops on a completed call.
    assert_eq!(h.approve("c1"), tr![]);
    assert_eq!(h.reject("c1"), tr![]);
    h.sse(2, &[done("thr_1")]);
    assert_eq!(call(&h, "c1")["needsApproval"], true);
    assert_eq!(h.approve("c1"), tr![], "no turn running");
}

#[test]
fn approval_reject_denies() {
    let mut h = H::new(tools_config());
    h.start("delete it");
    h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "delete_file", json!({"path": "/a"})),
            requires(&["c1"]),
        ],
    );
    let t = h.reject("c1");
    assert_eq!(
        t,
        tr![
            "Messages",
            r#"Event tool_denied {"toolName":"delete_file","toolCallId":"c1"}"#,
            "Fetch r2 POST chat/"
        ]
    );
    assert_eq!(
        call(&h, "c1"),
        json!({"id": "c1", "name": "delete_file", "arguments": {"path": "/a"}, "status": "denied", "displayName": "Delete", "needsApproval": true})
    );
    assert_eq!(
        h.body(2)["input"],
        json!({"type": "tool_results", "results": [{"tool_call_id": "c1", "status": "denied"}]})
    );
    assert_eq!(h.body(2)["thread_id"], "thr_1");
    assert_eq!(h.approve("c1"), tr![], "denied is final");
    assert!(
        h.events().iter().all(|(k, _)| k != "tool_executed"),
        "denied calls fire no tool_executed"
    );
    assert!(!h.log.iter().any(|e| matches!(e, Effect::RunTool { .. })));
    h.sse(2, &[text("OK, not deleting."), done("thr_1")]);
    assert_eq!(
        h.events().last().unwrap().1,
        json!({"threadId": "thr_1", "toolCallCount": 1})
    );
}

#[test]
fn parallel_calls_some_needing_approval_results_in_arrival_order() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            client_call("c1", "get_time", json!({})),
            client_call("c2", "delete_file", json!({"path": "/b"})),
            client_call("c3", "calc", json!({"a": 2})),
            requires(&["c3", "c2", "c1"]),
        ],
    );
    assert_eq!(
        t,
        tr![
            "Messages",
            "Cancel r1",
            "RunTool c1 get_time {}",
            r#"RunTool c3 calc {"a":2}"#
        ]
    );
    let statuses: Vec<Value> = calls(&h).iter().map(|c| c["status"].clone()).collect();
    assert_eq!(
        statuses,
        vec![
            json!("executing"),
            json!("approval_requested"),
            json!("executing")
        ]
    );
    assert_eq!(
        h.tool_ok("c3", json!(4), 2.0),
        tr![
            "Messages",
            r#"Event tool_executed {"toolName":"calc","status":"completed","durationMs":2}"#
        ]
    );
    assert_eq!(
        h.tool_ok("c1", json!("noon"), 1.0),
        tr![
            "Messages",
            r#"Event tool_executed {"toolName":"get_time","status":"completed","durationMs":1}"#
        ]
    );
    assert_eq!(
        h.approve("c2"),
        tr![
            "Messages",
            r#"Event tool_approved {"toolName":"delete_file","toolCallId":"c2"}"#,
            r#"RunTool c2 delete_file {"path":"/b"}"#
        ]
    );
    let t = h.tool_err("c2", "nope", 7.0);
    assert_eq!(
        t,
        tr![
            "Messages",
            r#"Event tool_executed {"toolName":"delete_file","status":"error","durationMs":7,"error":"nope"}"#,
            "Fetch r2 POST chat/"
        ]
    );
    assert_eq!(
        h.body(2)["input"]["results"],
        json!([{"tool_call_id": "c1", "status": "completed", "output": "noon"},
               {"tool_call_id": "c2", "status": "error", "error": "nope"},
               {"tool_call_id": "c3", "status": "completed", "output": 4}])
    );
}

#[test]
fn parallel_with_rejection_sends_after_last_settles() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[
            client_call("c1", "delete_file", json!({})),
            client_call("c2", "get_time", json!({})),
            requires(&["c1", "c2"]),
        ],
    );
    assert_eq!(
        h.reject("c1"),
        tr![
            "Messages",
            r#"Event tool_denied {"toolName":"delete_file","toolCallId":"c1"}"#
        ]
    );
    let t = h.tool_ok("c2", json!(1), 1.0);
    assert_eq!(t.last().unwrap(), "Fetch r2 POST chat/");
    assert_eq!(
        h.body(2)["input"]["results"],
        json!([{"tool_call_id": "c1", "status": "denied"}, {"tool_call_id": "c2", "status": "completed", "output": 1}])
    );
}

#[test]
fn unknown_tool_is_settled_as_error_without_running() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "mystery", json!({"q": 1})),
            requires(&["c1"]),
        ],
    );
    assert_eq!(t.len(), 5, "{t:?}");
    assert_eq!(t[..3], tr!["Messages", "ThreadId thr_1", "Cancel r1"]);
    assert!(t[3].starts_with("Event tool_executed "), "{t:?}");
    assert_eq!(t[4], "Fetch r2 POST chat/");
    let c = call(&h, "c1");
    let err = c["error"].as_str().unwrap().to_owned();
    assert!(err.contains("mystery"), "{err}");
    assert_eq!(
        c,
        json!({"id": "c1", "name": "mystery", "arguments": {"q": 1}, "status": "error", "error": err, "durationMs": 0})
    );
    let (_, data) = h
        .events()
        .into_iter()
        .find(|(k, _)| k == "tool_executed")
        .unwrap();
    assert_eq!(
        data,
        json!({"toolName": "mystery", "status": "error", "durationMs": 0, "error": err})
    );
    assert_eq!(
        h.body(2)["input"]["results"],
        json!([{"tool_call_id": "c1", "status": "error", "error": err}])
    );
    assert!(!h.log.iter().any(|e| matches!(e, Effect::RunTool { .. })));
}

#[test]
fn bad_arguments_fail_schema_without_running_others_still_run() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            client_call("c1", "calc", json!({"a": "not a number"})),
            client_call("c2", "calc", json!("{\"a\": 5}")),
            client_call("c3", "calc", json!({})),
            requires(&["c1", "c2", "c3"]),
        ],
    );
    assert_eq!(t[..2], tr!["Messages", "Cancel r1"]);
    let runs: Vec<_> = t.iter().filter(|s| s.starts_with("RunTool")).collect();
    assert_eq!(
        runs,
        vec![r#"RunTool c2 calc {"a":5}"#],
        "only the valid call runs"
    );
    let executed: Vec<_> = h
        .events()
        .into_iter()
        .filter(|(k, _)| k == "tool_executed")
        .collect();
    assert_eq!(executed.len(), 2);
    for (id, (_, data)) in ["c1", "c3"].iter().zip(&executed) {
        let c = call(&h, id);
        assert_eq!(c["status"], "error");
        assert_eq!(c["durationMs"], 0);
        assert_eq!(data["durationMs"], 0);
        assert_eq!(data["error"], c["error"]);
        assert_eq!(data["status"], "error");
        assert!(!c["error"].as_str().unwrap().is_empty());
    }
    assert_eq!(call(&h, "c2")["arguments"], json!({"a": 5}));
    let t = h.tool_ok("c2", json!(25), 1.0);
    assert_eq!(t.last().unwrap(), "Fetch r2 POST chat/");
    let results = h.body(2)["input"]["results"].clone();
    assert_eq!(
        results
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["tool_call_id"].clone())
            .collect::<Vec<_>>(),
        vec![json!("c1"), json!("c2"), json!("c3")]
    );
    assert_eq!(results[0]["status"], "error");
    assert_eq!(
        results[1],
        json!({"tool_call_id": "c2", "status": "completed", "output": 25})
    );
}

#[test]
fn done_with_pending_calls_marks_them_stopped() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "get_time", json!({})),
            server_call("s1", "search_knowledge_base", json!({"query": "q"})),
            text("bye"),
            done("thr_1"),
        ],
    );
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId thr_1",
            "Cancel r1",
            "Streaming false",
            r#"Event response_completed {"threadId":"thr_1","toolCallCount":2}"#,
            "TurnEnded t1"
        ]
    );
    assert_eq!(call(&h, "c1")["status"], "stopped");
    assert_eq!(call(&h, "s1")["status"], "stopped");
    assert!(call(&h, "c1").get("error").is_none());
    assert_eq!(
        h.events().len(),
        2,
        "message_sent and response_completed only"
    );
}

#[test]
fn partial_requires_action_then_second_step_and_tool_call_count() {
    let mut h = H::new(tools_config());
    h.start("x");
    let t = h.sse(
        1,
        &[
            start_ev("thr_1"),
            client_call("c1", "get_time", json!({})),
            client_call("c2", "calc", json!({"a": 1})),
            requires(&["c1"]),
        ],
    );
    assert_eq!(
        t,
        tr![
            "Messages",
            "ThreadId thr_1",
            "Cancel r1",
            "RunTool c1 get_time {}"
        ]
    );
    assert_eq!(call(&h, "c2")["status"], "pending");
    h.tool_ok("c1", json!(1), 1.0);
    assert_eq!(h.body(2)["input"]["results"].as_array().unwrap().len(), 1);
    let t = h.sse(
        2,
        &[
            text("Now "),
            server_call("s1", "search_knowledge_base", json!({})),
            ("tool_result", json!({"id": "s1", "status": "completed"})),
            requires(&["c2"]),
        ],
    );
    assert_eq!(
        t,
        tr!["Messages", "Cancel r2", r#"RunTool c2 calc {"a":1}"#]
    );
    let t = h.tool_ok("c2", json!(2), 1.0);
    assert_eq!(t.last().unwrap(), "Fetch r3 POST chat/");
    assert_eq!(
        h.body(3)["input"]["results"],
        json!([{"tool_call_id": "c2", "status": "completed", "output": 2}])
    );
    let t = h.sse(3, &[text("done"), done("thr_1")]);
    assert_eq!(
        t[3],
        r#"Event response_completed {"threadId":"thr_1","toolCallCount":3}"#
    );
    // Block structure: tool_calls [c1, c2], text, tool_calls [s1], text.
    let blocks = h.last_msg()["blocks"].clone();
    let kinds: Vec<_> = blocks
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec!["tool_calls", "text", "tool_calls", "text"],
        "{blocks}"
    );
    assert_eq!(h.last_msg()["content"], "Now done");
    assert_eq!(
        h.msgs().as_array().unwrap().len(),
        2,
        "one assistant message per turn"
    );
}

#[test]
fn tool_result_for_unknown_call_is_ignored() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[client_call("c1", "get_time", json!({})), requires(&["c1"])],
    );
    assert_eq!(h.tool_ok("zzz", json!(1), 1.0), tr![]);
    assert_eq!(h.tool_err("zzz", "e", 1.0), tr![]);
}

#[test]
fn tool_error_text_is_scrubbed_of_the_token() {
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(
        1,
        &[client_call("c1", "get_time", json!({})), requires(&["c1"])],
    );
    h.tool_err("c1", &format!("bad {TOKEN} here"), 1.0);
    h.assert_secret_confined(TOKEN);
}

#[test]
fn needs_approval_absent_for_tools_without_approval() {
    // needsApproval comes from the tool definition at tool_call time.
    let mut h = H::new(tools_config());
    h.start("x");
    h.sse(1, &[client_call("c1", "get_time", json!({}))]);
    assert!(call(&h, "c1").get("needsApproval").is_none());
    assert_eq!(call(&h, "c1")["displayName"], "Clock");
}
