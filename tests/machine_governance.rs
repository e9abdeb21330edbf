//! Transcript tests of governance (GOVERNANCE.md): audit events (identity, tool_api, approval)
//! in order with retries, the bounded queue and keepalive; the policy check before client
//! tools in the three modes; the reviewer wait by polling; the circuit breaker.
//! Only with the `governance` feature (a default one).
#![cfg(feature = "governance")]

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::canonical::arguments_hash;
use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::{Effect, ReqId};
use kapa_agent_wasm::options::{Config, GovernanceConfig, GovernanceMode, ToolAttributes};
use kapa_agent_wasm::protocol::HttpRequest;

const GOV: &str = "/api/kaplaix";

fn gov_config(mode: GovernanceMode) -> Config {
    let mut c = tools_config();
    c.user = Some(json!({"email": "a@example.com", "unique_client_id": "u-42"}));
    let mut g = GovernanceConfig::new(GOV, "demo-agent");
    g.mode = mode;
    g.tools.insert(
        "calc".into(),
        ToolAttributes {
            tool_type: Some("compute".into()),
            operation: Some("evaluate".into()),
            target_system: Some("browser".into()),
        },
    );
    c.governance = Some(g);
    c
}

fn is_gov(r: &HttpRequest, path: &str) -> bool {
    r.url.starts_with(&format!("{GOV}{path}"))
}

/// Governance fetches to `path` (in order): (request id, request).
fn gov_fetches(h: &H, path: &str) -> Vec<(ReqId, HttpRequest)> {
    h.fetches
        .iter()
        .filter(|(_, r)| is_gov(r, path))
        .cloned()
        .collect()
}

fn bodies(h: &H, path: &str) -> Vec<Value> {
    gov_fetches(h, path)
        .iter()
        .map(|(_, r)| kapa_agent_wasm::json::parse(r.body.as_deref().unwrap_or("null")).unwrap())
        .collect()
}

/// Answer a governance request.
fn answer(h: &mut H, req: ReqId, status: u16, body: Value) -> Vec<String> {
    h.m.handle_response(req, status, None, &body.to_string(), h.now);
    h.drain()
}

/// Answer every event POST still unanswered with 202, repeatedly, until none is left.
fn deliver_events(h: &mut H) {
    let mut answered = std::collections::HashSet::new();
    loop {
        let pending: Vec<ReqId> = gov_fetches(h, "/v1/events")
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| !answered.contains(r))
            .collect();
        if pending.is_empty() {
            break;
        }
        for r in pending {
            answered.insert(r);
            answer(h, r, 202, json!({}));
        }
    }
}

fn events_of(h: &H, kind: &str) -> Vec<Value> {
    h.events()
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, d)| d)
        .collect()
}

/// Start a turn whose model calls `calc` with `{"a": 1}` (a client call): returns the chat
/// request number. The policy check is in flight afterwards.
fn calc_turn(h: &mut H) -> usize {
    let n = started(h, "compute");
    h.sse(
        n,
        &[
            start_ev("thr_1"),
            client_call("c1", "calc", json!({"a": 1})),
            requires(&["c1"]),
        ],
    );
    n
}

/// Answer the latest policy check.
fn answer_check(h: &mut H, status: u16, body: Value) -> Vec<String> {
    let req = check_req(h);
    answer(h, req, status, body)
}

fn check_req(h: &H) -> ReqId {
    gov_fetches(h, "/v1/policies/check")
        .last()
        .expect("a policy check")
        .0
}

fn call_status(h: &H) -> Value {
    h.last_msg()["blocks"][0]["toolCalls"][0].clone()
}

#[test]
fn allow_runs_the_tool_and_records_identity_then_tool_api() {
    let mut h = H::new(gov_config(GovernanceMode::RequireApproval));
    calc_turn(&mut h);
    // The call stays pending while it is checked.
    assert_eq!(call_status(&h)["status"], "pending");
    let check = &gov_fetches(&h, "/v1/policies/check")[0].1;
    assert_eq!(check.method, "POST");
    assert_eq!(
        kapa_agent_wasm::json::parse(check.body.as_deref().unwrap()).unwrap(),
        json!({"toolName": "calc", "toolType": "compute", "operation": "evaluate", "targetSystem": "browser",
               "initiatorType": "agent", "agentId": "demo-agent", "sessionId": "thr_1"})
    );
    assert_eq!(
        header(check, "x-kaplaix-sdk").unwrap(),
        format!("kapa-agent-wasm/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(header(check, "x-kaplaix-framework").unwrap(), "kapa-agent");
    assert_eq!(
        header(check, "x-kaplaix-agent-version").unwrap(),
        "kapa-agent-1.0"
    );
    assert!(
        header(check, "Authorization").is_none(),
        "the proxy adds the Kaplaix key, never the page"
    );

    let t = answer_check(&mut h, 200, json!({"decision": "ALLOW", "ruleId": "r1"}));
    assert!(
        t.contains(&r#"RunTool c1 calc {"a":1}"#.to_string()),
        "{t:?}"
    );
    assert_eq!(
        events_of(&h, "governance_decision"),
        vec![json!({"toolName": "calc", "toolCallId": "c1", "decision": "ALLOW", "ruleId": "r1"})]
    );
    h.tool_ok("c1", json!({"r": 1}), 3.0);
    deliver_events(&mut h);
    let events = bodies(&h, "/v1/events");
    let categories: Vec<&str> = events
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["identity", "tool_api"]);
    assert_eq!(
        events[0]["payload"],
        json!({"agentName": "demo-agent", "version": env!("CARGO_PKG_VERSION"), "capabilities": ["get_time", "calc", "delete_file"]})
    );
    let e = &events[1];
    assert_eq!(
        e["payload"],
        json!({"toolName": "calc", "argumentsHash": arguments_hash(&json!({"a": 1})), "responseStatus": 200})
    );
    assert_eq!(e["sessionId"], "thr_1");
    assert_eq!(e["schemaVersion"], "1.0");
    assert_eq!(
        (e["toolType"].as_str(), e["operation"].as_str()),
        (Some("compute"), Some("evaluate"))
    );
    assert!(e["runId"].as_str().is_some_and(|r| r.len() == 36));
    assert!(e["eventId"].as_str().is_some_and(|r| r.len() == 36));
    assert!(e["sourceTimestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(h.m.governance_pending(), 0);
}

/// The decision table: (decision, mode) → final status of the call.
#[test]
fn decision_table_in_each_mode() {
    use GovernanceMode::*;
    let cases = [
        ("ALLOW", LogOnly, "executing"),
        ("ALLOW", Block, "executing"),
        ("ALLOW", RequireApproval, "executing"),
        ("DENY", LogOnly, "executing"),
        ("DENY", Block, "denied"),
        ("DENY", RequireApproval, "denied"),
        ("REQUIRE_APPROVAL", LogOnly, "executing"),
        ("REQUIRE_APPROVAL", Block, "denied"),
        ("REQUIRE_APPROVAL", RequireApproval, "approval_requested"),
    ];
    for (decision, mode, expected) in cases {
        let mut h = H::new(gov_config(mode));
        let n = calc_turn(&mut h);
        let answer_body = json!({"decision": decision, "ruleId": "rule_7", "reason": "not today", "pendingActionId": "pa_1"});
        answer_check(&mut h, 200, answer_body);
        let call = call_status(&h);
        assert_eq!(call["status"], expected, "{decision} in {mode:?}");
        let warned = !events_of(&h, "governance_warning").is_empty();
        assert_eq!(
            warned,
            mode == LogOnly && decision != "ALLOW",
            "{decision} in {mode:?}: warning"
        );
        match expected {
            "denied" => {
                assert_eq!(call["error"], "Denied by policy rule rule_7: not today");
                // A governance denial fires neither tool_denied nor tool_executed.
                assert!(
                    events_of(&h, "tool_denied").is_empty()
                        && events_of(&h, "tool_executed").is_empty()
                );
                // The model is told the call was denied, and the turn goes on.
                let results = h.body(h.last_req())["input"]["results"].clone();
                assert_eq!(results, json!([{"tool_call_id": "c1", "status": "denied"}]));
                assert!(h.last_req() > n);
            }
            "approval_requested" => {
                assert_eq!(
                    call["guardian"],
                    json!({"pendingActionId": "pa_1", "status": "pending"})
                );
            }
            _ => assert!(call.get("guardian").is_none()),
        }
    }
}

#[test]
fn reviewer_approval_by_polling_with_pagination() {
    let mut c = gov_config(GovernanceMode::RequireApproval);
    c.governance.as_mut().unwrap().poll_interval_ms = 1_000.0;
    let mut h = H::new(c);
    calc_turn(&mut h);
    answer_check(
        &mut h,
        200,
        json!({"decision": "REQUIRE_APPROVAL", "pendingActionId": "pa_9"}),
    );
    // The user's approve does nothing to a call the reviewer holds.
    assert_eq!(h.approve("c1"), tr![]);
    assert_eq!(call_status(&h)["status"], "approval_requested");
    assert!(gov_fetches(&h, "/v1/guardian").is_empty());
    h.advance(1_000.0);
    h.timer();
    let polls = gov_fetches(&h, "/v1/guardian/pending-actions");
    assert_eq!(polls.len(), 1);
    assert_eq!(
        polls[0].1.url,
        format!("{GOV}/v1/guardian/pending-actions?limit=100")
    );
    // Not on the first page: the next page is asked for at once.
    answer(
        &mut h,
        polls[0].0,
        200,
        json!({"data": [{"id": "pa_1", "status": "pending", "toolName": "calc"}], "nextCursor": "c2"}),
    );
    let polls = gov_fetches(&h, "/v1/guardian/pending-actions");
    assert_eq!(
        polls[1].1.url,
        format!("{GOV}/v1/guardian/pending-actions?limit=100&cursor=c2")
    );
    answer(
        &mut h,
        polls[1].0,
        200,
        json!({"data": [{"id": "pa_9", "status": "pending", "toolName": "calc"}], "nextCursor": null}),
    );
    assert_eq!(call_status(&h)["status"], "approval_requested");
    h.advance(1_000.0);
    h.timer();
    let poll = gov_fetches(&h, "/v1/guardian/pending-actions")
        .last()
        .unwrap()
        .0;
    let t = answer(
        &mut h,
        poll,
        200,
        json!({"data": [{"id": "pa_9", "status": "approved", "toolName": "calc", "decidedBy": "rev@example.com"}], "nextCursor": null}),
    );
    assert!(
        t.contains(&r#"RunTool c1 calc {"a":1}"#.to_string()),
        "{t:?}"
    );
    assert_eq!(call_status(&h)["guardian"]["status"], "approved");
    deliver_events(&mut h);
    let approval: Vec<Value> = bodies(&h, "/v1/events")
        .into_iter()
        .filter(|e| e["category"] == "approval")
        .collect();
    assert_eq!(
        approval[0]["payload"],
        json!({"approverId": "rev@example.com", "scope": "tool:calc", "decision": "approved"})
    );
    // No more polling once decided.
    h.advance(5_000.0);
    h.timer();
    assert_eq!(gov_fetches(&h, "/v1/guardian/pending-actions").len(), 3);
}

#[test]
fn reviewer_rejection_expiry_timeout_and_stop() {
    for outcome in ["rejected", "expired", "timeout", "stop", "user_reject"] {
        let mut c = gov_config(GovernanceMode::RequireApproval);
        let g = c.governance.as_mut().unwrap();
        g.poll_interval_ms = 1_000.0;
        g.approval_timeout_ms = 10_000.0;
        let mut h = H::new(c);
        calc_turn(&mut h);
        answer_check(
            &mut h,
            200,
            json!({"decision": "REQUIRE_APPROVAL", "pendingActionId": "pa_1"}),
        );
        match outcome {
            "timeout" => {
                h.advance(1_000.0);
                h.timer();
                let poll = gov_fetches(&h, "/v1/guardian/pending-actions")[0].0;
                answer(&mut h, poll, 200, json!({"data": [], "nextCursor": null}));
                h.advance(9_000.0);
                h.timer();
                assert_eq!(call_status(&h)["status"], "error", "{outcome}");
                assert_eq!(call_status(&h)["error"], "No reviewer decision within 10 s");
            }
            "stop" => {
                h.advance(1_000.0);
                h.timer();
                let t = h.stop();
                assert!(
                    t.iter().any(|e| e.starts_with("Cancel")),
                    "the poll is cancelled: {t:?}"
                );
                assert_eq!(call_status(&h)["status"], "stopped");
                h.advance(10_000.0);
                h.timer();
                assert_eq!(
                    gov_fetches(&h, "/v1/guardian/pending-actions").len(),
                    1,
                    "polling ended"
                );
            }
            "user_reject" => {
                h.reject("c1");
                assert_eq!(call_status(&h)["status"], "denied");
                assert_eq!(events_of(&h, "tool_denied").len(), 1);
                h.advance(3_000.0);
                h.timer();
                assert!(
                    gov_fetches(&h, "/v1/guardian/pending-actions").is_empty(),
                    "polling ended"
                );
                deliver_events(&mut h);
                let approval: Vec<Value> = bodies(&h, "/v1/events")
                    .into_iter()
                    .filter(|e| e["category"] == "approval")
                    .collect();
                assert_eq!(
                    approval[0]["payload"],
                    json!({"approverId": "u-42", "scope": "tool:calc", "decision": "rejected"})
                );
            }
            status => {
                h.advance(1_000.0);
                h.timer();
                let poll = gov_fetches(&h, "/v1/guardian/pending-actions")[0].0;
                let action = json!({"id": "pa_1", "status": status, "toolName": "calc", "reason": "too risky"});
                answer(
                    &mut h,
                    poll,
                    200,
                    json!({"data": [action], "nextCursor": null}),
                );
                let call = call_status(&h);
                if status == "rejected" {
                    assert_eq!(call["status"], "denied");
                    assert_eq!(call["error"], "Rejected by a reviewer: too risky");
                } else {
                    assert_eq!(call["status"], "error");
                }
                assert_eq!(call["guardian"]["status"], status);
                let last = events_of(&h, "governance_decision").pop().unwrap();
                assert_eq!(last["decision"], status);
                assert!(
                    events_of(&h, "tool_denied").is_empty()
                        && events_of(&h, "tool_executed").is_empty()
                );
            }
        }
    }
}

#[test]
fn failed_checks_open_the_circuit_and_fail_open_or_closed() {
    for fail_closed in [false, true] {
        let mut c = gov_config(GovernanceMode::Block);
        c.governance.as_mut().unwrap().fail_on_circuit_open = fail_closed;
        let mut h = H::new(c);
        let expected = if fail_closed { "denied" } else { "executing" };
        for i in 0..3 {
            if i == 0 {
                calc_turn(&mut h);
            } else {
                let n = started(&mut h, "again");
                let id = format!("c{}", i + 1);
                h.sse(
                    n,
                    &[client_call(&id, "calc", json!({"a": 1})), requires(&[&id])],
                );
            }
            let error = json!({"error": {"code": "INTERNAL", "message": "db down"}});
            answer_check(&mut h, 500, error);
            assert_eq!(
                h.last_msg()["blocks"][0]["toolCalls"][0]["status"],
                expected,
                "check {i}"
            );
            let warning = events_of(&h, "governance_warning").pop().unwrap();
            assert!(
                warning["message"]
                    .as_str()
                    .unwrap()
                    .contains("INTERNAL: db down"),
                "{warning}"
            );
            h.stop();
        }
        // Three consecutive failures: the circuit is open, no check is sent for 30 s.
        let checks = gov_fetches(&h, "/v1/policies/check").len();
        let n = started(&mut h, "open");
        h.sse(
            n,
            &[
                client_call("c9", "calc", json!({"a": 1})),
                requires(&["c9"]),
            ],
        );
        assert_eq!(gov_fetches(&h, "/v1/policies/check").len(), checks);
        assert_eq!(
            h.last_msg()["blocks"][0]["toolCalls"][0]["status"],
            expected
        );
        assert!(
            events_of(&h, "governance_warning").pop().unwrap()["message"]
                .as_str()
                .unwrap()
                .contains("circuit open")
        );
        h.stop();
        h.advance(30_000.0);
        let n = started(&mut h, "closed again");
        h.sse(
            n,
            &[
                client_call("c10", "calc", json!({"a": 1})),
                requires(&["c10"]),
            ],
        );
        assert_eq!(gov_fetches(&h, "/v1/policies/check").len(), checks + 1);
    }
}

#[test]
fn a_check_that_takes_longer_than_5_s_fails() {
    let mut h = H::new(gov_config(GovernanceMode::Block));
    calc_turn(&mut h);
    let check = check_req(&h);
    h.advance(4_999.0);
    h.timer();
    assert_eq!(call_status(&h)["status"], "pending");
    h.advance(1.0);
    h.timer();
    assert!(h.log.contains(&Effect::CancelFetch { req: check }));
    assert_eq!(
        call_status(&h)["status"],
        "executing",
        "fail open by default"
    );
    // A late answer is ignored.
    answer(&mut h, check, 200, json!({"decision": "DENY"}));
    assert_eq!(call_status(&h)["status"], "executing");
}

#[test]
fn events_retry_with_the_same_event_id_then_drop_on_4xx() {
    let mut h = H::new(gov_config(GovernanceMode::LogOnly));
    calc_turn(&mut h);
    answer_check(&mut h, 200, json!({"decision": "ALLOW"}));
    h.tool_ok("c1", json!(1), 1.0);
    // identity is in flight; it fails with 503, then with a network error, then succeeds.
    let first = gov_fetches(&h, "/v1/events")[0].0;
    answer(&mut h, first, 503, json!({}));
    assert_eq!(
        gov_fetches(&h, "/v1/events").len(),
        1,
        "waits for the back-off"
    );
    let wake = h.m.next_wake().unwrap();
    assert!(wake <= h.now + 500.0, "first retry within base delay");
    h.now = wake;
    h.timer();
    let second = gov_fetches(&h, "/v1/events")[1].0;
    h.m.handle_network_error(second, "offline", h.now);
    h.drain();
    h.now = h.m.next_wake().unwrap();
    h.timer();
    let all = bodies(&h, "/v1/events");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0]["eventId"], all[1]["eventId"]);
    assert_eq!(all[1]["eventId"], all[2]["eventId"]);
    let third = gov_fetches(&h, "/v1/events")[2].0;
    answer(&mut h, third, 202, json!({}));
    // Next: tool_api, answered 422: dropped with a warning, never retried.
    let fourth = gov_fetches(&h, "/v1/events")[3].0;
    assert_eq!(bodies(&h, "/v1/events")[3]["category"], "tool_api");
    answer(
        &mut h,
        fourth,
        422,
        json!({"error": {"code": "VALIDATION_ERROR", "message": "bad payload"}}),
    );
    let warning = events_of(&h, "governance_warning").pop().unwrap();
    assert_eq!(
        warning["message"],
        "governance event dropped (tool_api): VALIDATION_ERROR: bad payload"
    );
    assert_eq!(h.m.governance_pending(), 0);
}

#[test]
fn events_that_keep_failing_stay_queued_with_growing_backoff() {
    let mut h = H::new(gov_config(GovernanceMode::LogOnly));
    calc_turn(&mut h);
    answer_check(&mut h, 200, json!({"decision": "ALLOW"}));
    h.tool_ok("c1", json!(1), 1.0);
    let mut gaps = Vec::new();
    for _ in 0..8 {
        let last = gov_fetches(&h, "/v1/events").last().unwrap().0;
        answer(&mut h, last, 503, json!({}));
        let wake = h.m.next_wake().unwrap();
        gaps.push(wake - h.now);
        h.now = wake;
        h.timer();
    }
    // Three jittered retries, then the queue waits 1 s, then three more, then 2 s.
    assert_eq!(gaps[3], 1_000.0, "{gaps:?}");
    assert_eq!(gaps[7], 2_000.0, "{gaps:?}");
    assert!(gaps[..3].iter().all(|g| *g <= 2_000.0));
    assert_eq!(
        h.m.governance_pending(),
        2,
        "identity and tool_api are still queued, in order"
    );
    assert!(bodies(&h, "/v1/events")
        .iter()
        .all(|b| b["category"] == "identity"));
}

#[test]
fn the_queue_is_bounded_and_keepalive_sends_on_page_hide() {
    let mut h = H::new(gov_config(GovernanceMode::LogOnly));
    // 1,100 server tool calls settle while the first event is never answered.
    let n = started(&mut h, "many");
    let mut events = vec![start_ev("thr_1")];
    for i in 0..1_100 {
        events.push(server_call(
            &format!("s{i}"),
            "search_knowledge_base",
            json!({"q": i}),
        ));
        events.push((
            "tool_result",
            json!({"id": format!("s{i}"), "status": "completed"}),
        ));
    }
    h.sse(n, &events);
    assert_eq!(h.m.governance_pending(), 1_000);
    let drops = events_of(&h, "governance_warning");
    assert_eq!(drops.len(), 101, "each drop is reported");
    assert!(drops[0]["message"]
        .as_str()
        .unwrap()
        .contains("dropped the oldest"));
    let before = gov_fetches(&h, "/v1/events").len();
    h.m.page_hidden(h.now);
    h.drain();
    let sent = gov_fetches(&h, "/v1/events");
    assert_eq!(
        sent.len() - before,
        999,
        "every queued event not in flight goes out"
    );
    assert!(sent[before..].iter().all(|(_, r)| r.keepalive));
}

#[test]
fn without_governance_nothing_goes_anywhere_but_the_agent_backend() {
    let mut h = H::new(tools_config());
    calc_turn(&mut h);
    h.tool_ok("c1", json!(1), 1.0);
    assert!(h.fetches.iter().all(|(_, r)| r.url.starts_with(BASE)));
    assert_eq!(h.m.governance_pending(), 0);
}
