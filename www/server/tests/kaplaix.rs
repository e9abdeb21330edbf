//! The Kaplaix proxy path `/api/kaplaix` over real HTTP: every endpoint of the embedded
//! service (events, sessions, policies, checks, Guardian pending actions), pagination to the
//! end, validation details, rule priority, the decide flow, expiry, the error envelope, and the
//! proxy mode against a local stand-in for Kaplaix.

use kapa_dev_server::kaplaix::KaplaixConfig;
use kapa_dev_server::{Config, Running};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

mod common;
use common::{server, Env};

fn env() -> Env {
    common::env_with("# Demo\n\nText.\n", "server source")
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(r: &Running) -> Api {
        Api {
            base: format!("{}/api/kaplaix", r.url()),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(body)).await
    }
}

fn uuid(n: u64) -> String {
    format!("550e8400-e29b-41d4-a716-{n:012x}")
}

fn event(n: u64, session: &str, category: &str, ts: &str, payload: Value) -> Value {
    json!({
        "eventId": uuid(n), "agentId": "kapa-demo", "sessionId": session,
        "sourceTimestamp": ts, "category": category, "schemaVersion": "1.0", "payload": payload,
    })
}

fn tool_payload() -> Value {
    json!({ "toolName": "calculator", "argumentsHash": "a".repeat(64), "responseStatus": 200 })
}

/// The `field`s of a VALIDATION_ERROR's details.
fn fields(v: &Value) -> Vec<String> {
    assert_eq!(v["error"]["code"], "VALIDATION_ERROR", "{v}");
    assert!(v["error"]["message"].is_string());
    v["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()));
            d["field"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Follows `nextCursor` to the end; returns every page's ids.
async fn all_pages(api: &Api, path: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (s, v) = api.get(&url).await;
        assert_eq!(s, 200, "{v}");
        let ids: Vec<String> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        assert!(ids.len() <= limit);
        pages.push(ids);
        assert!(v.as_object().unwrap().contains_key("nextCursor"));
        match v["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages.len() < 50, "pagination does not end");
    }
    pages
}

#[tokio::test]
async fn events_are_validated_and_idempotent() {
    let e = env();
    let r = server(&e, |_| {}).await;
    let api = Api::new(&r);

    let ev = event(
        1,
        "sess-1",
        "tool_api",
        "2025-01-15T10:30:00Z",
        tool_payload(),
    );
    let (s, v) = api.post("/v1/events", ev.clone()).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["eventId"], uuid(1));
    // Same eventId again (a retry): accepted once, answered 202 again.
    let (s, v) = api.post("/v1/events", ev).await;
    assert_eq!(s, 202);
    assert_eq!(v["status"], "duplicate");
    let (_, sess) = api.get("/v1/sessions/sess-1").await;
    assert_eq!(sess["eventCount"], 1);
    assert_eq!(sess["events"].as_array().unwrap().len(), 1);

    // Every bad field of the envelope is listed.
    let (s, v) = api
        .post(
            "/v1/events",
            json!({
                "eventId": "not-a-uuid", "agentId": 5, "sourceTimestamp": "2025-01-15T10:30:00",
                "category": "gossip", "schemaVersion": "2.0", "payload": [1],
            }),
        )
        .await;
    assert_eq!(s, 400);
    let f = fields(&v);
    for want in [
        "eventId",
        "agentId",
        "sessionId",
        "sourceTimestamp",
        "category",
        "schemaVersion",
        "payload",
    ] {
        assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
    }

    // Payload fields of the categories the package sends.
    let (s, v) = api
        .post(
            "/v1/events",
            event(
                2,
                "sess-1",
                "tool_api",
                "2025-01-15T10:30:00+02:00",
                json!({"toolName": "calculator", "argumentsHash": "sha256-of-args", "responseStatus": "ok", "arguments": {"x": 1}}),
            ),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        fields(&v),
        vec![
            "payload.argumentsHash",
            "payload.responseStatus",
            "payload.arguments"
        ]
    );
    let (s, v) = api
        .post(
            "/v1/events",
            event(
                3,
                "sess-1",
                "approval",
                "2025-01-15T10:30:00Z",
                json!({"scope": "tool:calculator", "decision": "maybe"}),
            ),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["payload.approverId", "payload.decision"]);
    let (s, v) = api
        .post(
            "/v1/events",
            event(
                4,
                "sess-1",
                "identity",
                "2025-01-15T10:30:00Z",
                json!({"capabilities": "calculator"}),
            ),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        fields(&v),
        vec!["payload.agentName", "payload.capabilities"]
    );

    // Bodies that are not JSON objects.
    let res = api
        .http
        .post(format!("{}/v1/events", api.base))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(fields(&v), vec!["body"]);
    let (s, v) = api.post("/v1/events", json!([1, 2])).await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["body"]);
    r.stop().await;
}

#[tokio::test]
async fn sessions_paginate_to_the_end_and_show_a_timeline() {
    let e = env();
    let r = server(&e, |_| {}).await;
    let api = Api::new(&r);
    let mut n = 100;
    for i in 0..7 {
        let sid = format!("thr_{i}");
        for (cat, ts, payload) in [
            ("tool_api", "2025-01-15T10:30:02Z", tool_payload()),
            // Earlier in time though sent later, and in another zone.
            (
                "identity",
                "2025-01-15T11:30:00+01:00",
                json!({"agentName": "kapa-demo", "version": "0.1.0", "capabilities": ["calculator"]}),
            ),
            (
                "approval",
                "2025-01-15T10:30:01.500Z",
                json!({"approverId": "reviewer", "scope": "tool:calculator", "decision": "approved"}),
            ),
        ] {
            n += 1;
            let (s, v) = api
                .post("/v1/events", event(n, &sid, cat, ts, payload))
                .await;
            assert_eq!(s, 202, "{v}");
        }
    }
    let pages = all_pages(&api, "/v1/sessions", 3).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    let all: Vec<String> = pages.concat();
    assert_eq!(all.len(), 7);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 7);
    // Newest first.
    assert_eq!(all[0], "thr_6");
    assert_eq!(all[6], "thr_0");
    // Exactly one page when it fits; agentId filter.
    let (_, v) = api.get("/v1/sessions?limit=7").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 7);
    assert!(v["nextCursor"].is_null());
    let (_, v) = api.get("/v1/sessions?agentId=other").await;
    assert_eq!(v["data"], json!([]));
    assert!(v["nextCursor"].is_null());
    let (_, first) = api.get("/v1/sessions?limit=1").await;
    assert_eq!(first["data"][0]["eventCount"], 3);
    assert_eq!(first["data"][0]["agentId"], "kapa-demo");

    // The timeline is ordered by sourceTimestamp.
    let (s, v) = api.get("/v1/sessions/thr_3").await;
    assert_eq!(s, 200);
    assert_eq!(v["id"], "thr_3");
    let cats: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert_eq!(cats, vec!["identity", "approval", "tool_api"]);
    assert!(v["events"][0]["receivedAt"].is_string());
    assert_eq!(v["events"][2]["payload"]["argumentsHash"], "a".repeat(64));

    let (s, v) = api.get("/v1/sessions/nope").await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "NOT_FOUND");
    for bad in ["limit=0", "limit=101", "limit=abc"] {
        let (s, v) = api.get(&format!("/v1/sessions?{bad}")).await;
        assert_eq!(s, 400);
        assert_eq!(fields(&v), vec!["limit"]);
    }
    let (s, v) = api.get("/v1/sessions?cursor=garbage!").await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["cursor"]);
    r.stop().await;
}

fn review_calculator() -> Value {
    json!({
        "name": "Review calculations",
        "defaultDecision": "allowed",
        "rules": [{
            "id": "review-compute", "decision": "requires_review", "priority": 10,
            "conditions": { "toolType": "compute" }, "reason": "calculations need a reviewer",
        }],
    })
}

#[tokio::test]
async fn policies_crud_keeps_one_active() {
    let e = env();
    let r = server(&e, |_| {}).await;
    let api = Api::new(&r);
    let (s, p1) = api.post("/v1/policies", review_calculator()).await;
    assert_eq!(s, 201, "{p1}");
    assert_eq!(p1["status"], "active");
    assert_eq!(p1["version"], 1);
    assert_eq!(p1["rules"][0]["id"], "review-compute");
    let id1 = p1["id"].as_str().unwrap().to_string();
    let (s, p2) = api
        .post(
            "/v1/policies",
            json!({"name": "Deny all", "defaultDecision": "denied"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(p2["rules"], json!([]));
    let id2 = p2["id"].as_str().unwrap().to_string();
    // Creating p2 made p1 inactive.
    let (_, v) = api.get(&format!("/v1/policies/{id1}")).await;
    assert_eq!(v["status"], "inactive");
    let (_, v) = api.get("/v1/policies?status=active").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"][0]["id"], id2);

    // PATCH: activate p1 again (p2 goes inactive), change its rules.
    let (s, v) = api
        .send(
            "PATCH",
            &format!("/v1/policies/{id1}"),
            Some(
                json!({"status": "active", "defaultDecision": "requires_review", "id": "ignored"}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "active");
    assert_eq!(v["defaultDecision"], "requires_review");
    assert_eq!(v["version"], 2);
    assert_eq!(v["id"], id1);
    assert_eq!(v["name"], "Review calculations");
    assert_eq!(
        v["rules"][0]["id"], "review-compute",
        "untouched rules stay"
    );
    let (_, v) = api.get(&format!("/v1/policies/{id2}")).await;
    assert_eq!(v["status"], "inactive");

    // Invalid rules: every problem listed.
    let (s, v) = api
        .send(
            "PATCH",
            &format!("/v1/policies/{id1}"),
            Some(json!({
                "rules": [
                    {"id": "a", "decision": "maybe", "priority": 1, "conditions": {"toolKind": "x"}},
                    {"id": "a", "decision": "denied", "priority": "high", "conditions": {"toolName": []}},
                    "not a rule",
                ],
                "defaultDecision": "sometimes",
                "owner": "me",
            })),
        )
        .await;
    assert_eq!(s, 400);
    let f = fields(&v);
    for want in [
        "owner",
        "defaultDecision",
        "rules[0].decision",
        "rules[0].conditions.toolKind",
        "rules[1].id",
        "rules[1].priority",
        "rules[1].conditions.toolName",
        "rules[2]",
    ] {
        assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
    }
    let (s, v) = api
        .post("/v1/policies", json!({"rules": [{"decision": "denied"}]}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["rules[0].id", "rules[0].priority"]);

    // DELETE archives: gone from the default list, kept under status=archived.
    let (s, v) = api
        .send("DELETE", &format!("/v1/policies/{id1}"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "archived");
    assert!(v["archivedAt"].is_string());
    let (_, v) = api.get("/v1/policies").await;
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id2.as_str()]);
    let (_, v) = api.get("/v1/policies?status=archived").await;
    assert_eq!(v["data"][0]["id"], id1);
    let (s, v) = api
        .send(
            "PATCH",
            &format!("/v1/policies/{id1}"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["error"]["code"], "POLICY_ARCHIVED");
    let (s, v) = api.get("/v1/policies/pol_nope").await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "NOT_FOUND");
    let (s, v) = api.get("/v1/policies?status=weird").await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["status"]);

    // Policies paginate too.
    for i in 0..4 {
        api.post(
            "/v1/policies",
            json!({"name": format!("p{i}"), "status": "inactive"}),
        )
        .await;
    }
    let pages = all_pages(&api, "/v1/policies?status=all", 2).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 2]
    );
    r.stop().await;
}

fn check_body(tool: &str, tool_type: Option<&str>, op: Option<&str>) -> Value {
    let mut b = json!({
        "toolName": tool, "targetSystem": "browser", "initiatorType": "agent",
        "agentId": "kapa-demo", "sessionId": "thr_1",
    });
    if let Some(t) = tool_type {
        b["toolType"] = json!(t);
    }
    if let Some(o) = op {
        b["operation"] = json!(o);
    }
    b
}

#[tokio::test]
async fn checks_follow_rule_priority() {
    let e = env();
    let r = server(&e, |_| {}).await;
    let api = Api::new(&r);
    // No active policy: everything is allowed.
    let (s, v) = api
        .post(
            "/v1/policies/check",
            check_body("calculator", Some("compute"), None),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["decision"], "ALLOW");
    assert!(v.get("ruleId").is_none());

    let (_, p) = api
        .post(
            "/v1/policies",
            json!({
                "name": "Layered",
                "defaultDecision": "denied",
                // Listed out of priority order on purpose.
                "rules": [
                    {"id": "review-compute", "decision": "requires_review", "priority": 20,
                     "conditions": {"toolType": "compute"}},
                    {"id": "allow-reads", "decision": "allowed", "priority": 30,
                     "conditions": {"toolType": ["read", "compute"], "targetSystem": "browser"}},
                    {"id": "deny-theme", "decision": "denied", "priority": 10,
                     "conditions": {"toolName": "set_theme"}, "reason": "no theme changes"},
                    {"id": "allow-safe-eval", "decision": "allowed", "priority": 5,
                     "conditions": {"toolType": "compute", "operation": "evaluate_constant"}},
                    {"id": "deny-users", "decision": "denied", "priority": 1,
                     "conditions": {"initiatorType": "user"}},
                    {"id": "tie-first", "decision": "allowed", "priority": 40,
                     "conditions": {"toolName": "get_page_info"}},
                    {"id": "tie-second", "decision": "denied", "priority": 40,
                     "conditions": {"toolName": "get_page_info"}},
                ],
            }),
        )
        .await;
    let pid = p["id"].as_str().unwrap();
    let cases = [
        (
            check_body("calculator", Some("compute"), Some("evaluate")),
            "REQUIRE_APPROVAL",
            Some("review-compute"),
        ),
        (
            check_body("calculator", Some("compute"), Some("evaluate_constant")),
            "ALLOW",
            Some("allow-safe-eval"),
        ),
        (
            check_body("set_theme", Some("read"), None),
            "DENY",
            Some("deny-theme"),
        ),
        (
            check_body("get_current_time", Some("read"), None),
            "ALLOW",
            Some("allow-reads"),
        ),
        // Unmapped tool (no toolType): no rule with a toolType condition matches it.
        (check_body("get_current_time", None, None), "DENY", None),
        (
            check_body("get_page_info", None, None),
            "ALLOW",
            Some("tie-first"),
        ),
    ];
    for (body, want, rule) in cases {
        let (s, v) = api.post("/v1/policies/check", body.clone()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["decision"], want, "{body} -> {v}");
        assert_eq!(v["ruleId"].as_str(), rule, "{body} -> {v}");
        assert_eq!(v["policyId"], pid);
        assert!(v["reason"].is_string());
        assert_eq!(
            v.get("pendingActionId").is_some(),
            want == "REQUIRE_APPROVAL"
        );
    }
    let mut user = check_body("calculator", Some("compute"), Some("evaluate"));
    user["initiatorType"] = json!("user");
    let (_, v) = api.post("/v1/policies/check", user).await;
    assert_eq!(v["ruleId"], "deny-users");
    let (_, v) = api
        .post("/v1/policies/check", check_body("set_theme", None, None))
        .await;
    assert_eq!(v["reason"], "no theme changes");

    let (s, v) = api.post("/v1/policies/check", json!({"toolType": 3})).await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["toolName", "toolType"]);
    r.stop().await;
}

#[tokio::test]
async fn pending_actions_decide_flow() {
    let e = env();
    let r = server(&e, |_| {}).await;
    let api = Api::new(&r);
    api.post("/v1/policies", review_calculator()).await;
    let mut ids = vec![];
    for _ in 0..5 {
        let (_, v) = api
            .post(
                "/v1/policies/check",
                check_body("calculator", Some("compute"), Some("evaluate")),
            )
            .await;
        assert_eq!(v["decision"], "REQUIRE_APPROVAL");
        assert!(v["expiresAt"].is_string());
        ids.push(v["pendingActionId"].as_str().unwrap().to_string());
    }
    // Pagination to the end, newest first.
    let pages = all_pages(&api, "/v1/guardian/pending-actions", 2).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let mut rev = ids.clone();
    rev.reverse();
    assert_eq!(pages.concat(), rev);

    let (_, list) = api.get("/v1/guardian/pending-actions?limit=1").await;
    let a = &list["data"][0];
    assert_eq!(a["id"], ids[4]);
    assert_eq!(a["status"], "pending");
    assert_eq!(a["toolName"], "calculator");
    assert_eq!(a["ruleId"], "review-compute");
    assert_eq!(a["sessionId"], "thr_1");
    assert!(a.get("decidedBy").is_none());

    let path = |id: &str| format!("/v1/guardian/pending-actions/{id}/decide");
    let (s, v) = api
        .post(
            &path(&ids[0]),
            json!({"decision": "approved", "decidedBy": "alice@example.com", "reason": "fine"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "approved");
    assert_eq!(v["decidedBy"], "alice@example.com");
    assert_eq!(v["reason"], "fine");
    assert!(v["decidedAt"].is_string());
    let (_, v) = api
        .post(&path(&ids[1]), json!({"decision": "rejected"}))
        .await;
    assert_eq!(v["status"], "rejected");
    assert_eq!(v["decidedBy"], "reviewer");
    // Decided once only.
    let (s, v) = api
        .post(&path(&ids[0]), json!({"decision": "rejected"}))
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["error"]["code"], "ALREADY_DECIDED");
    let (s, v) = api
        .post(&path("pa_nope"), json!({"decision": "approved"}))
        .await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "NOT_FOUND");
    let (s, v) = api
        .post(&path(&ids[2]), json!({"decision": "yes", "reason": 4}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["decision", "reason"]);

    // Filters: status, sessionId.
    let (_, v) = api
        .get("/v1/guardian/pending-actions?status=pending&limit=100")
        .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 3);
    let (_, v) = api
        .get("/v1/guardian/pending-actions?status=approved")
        .await;
    assert_eq!(v["data"][0]["id"], ids[0]);
    let (_, v) = api
        .get("/v1/guardian/pending-actions?sessionId=other")
        .await;
    assert_eq!(v["data"], json!([]));
    let (s, v) = api.get("/v1/guardian/pending-actions?status=maybe").await;
    assert_eq!(s, 400);
    assert_eq!(fields(&v), vec!["status"]);
    r.stop().await;
}

#[tokio::test]
async fn pending_actions_expire() {
    let e = env();
    let r = server(&e, |c| c.kaplaix.pending_ttl_ms = 300).await;
    let api = Api::new(&r);
    api.post("/v1/policies", review_calculator()).await;
    let (_, v) = api
        .post(
            "/v1/policies/check",
            check_body("calculator", Some("compute"), None),
        )
        .await;
    let id = v["pendingActionId"].as_str().unwrap().to_string();
    let (_, v) = api.get("/v1/guardian/pending-actions").await;
    assert_eq!(v["data"][0]["status"], "pending");
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let (_, v) = api.get("/v1/guardian/pending-actions").await;
    assert_eq!(v["data"][0]["id"], id);
    assert_eq!(v["data"][0]["status"], "expired");
    let (s, v) = api
        .post(
            &format!("/v1/guardian/pending-actions/{id}/decide"),
            json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["error"]["code"], "ACTION_EXPIRED");
    r.stop().await;
}

#[tokio::test]
async fn errors_use_the_envelope_everywhere() {
    let e = env();
    let r = server(&e, |_| {}).await;
    let api = Api::new(&r);
    let (s, v) = api.get("/v1/agents").await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "NOT_FOUND");
    let (s, v) = api.get("/v1/events").await;
    assert_eq!(s, 405);
    assert_eq!(v["error"]["code"], "METHOD_NOT_ALLOWED");
    let (s, v) = api
        .post("/v1/events", json!({"pad": "x".repeat(70_000)}))
        .await;
    assert_eq!(s, 413);
    assert_eq!(v["error"]["code"], "PAYLOAD_TOO_LARGE");
    // Another site's page may not use the path (it could approve actions).
    let res = api
        .http
        .post(format!("{}/v1/guardian/pending-actions/x/decide", api.base))
        .header("origin", "https://evil.example")
        .body(r#"{"decision":"approved"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let v: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "FORBIDDEN");
    let res = api
        .http
        .get(format!("{}/v1/sessions", api.base))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The page's own requests pass.
    let res = api
        .http
        .get(format!("{}/v1/sessions", api.base))
        .header("sec-fetch-site", "same-origin")
        .header("origin", r.url())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    r.stop().await;
}

#[test]
fn config_from_env() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = KaplaixConfig::from_env(&vars(&[])).unwrap();
    assert!(!c.proxied());
    assert_eq!(c.base_url, "https://api.kaplaix.com");
    assert_eq!(c.pending_ttl_ms, 600_000);
    let c = KaplaixConfig::from_env(&vars(&[
        ("KAPLAIX_API_KEY", "al_live_secret"),
        ("KAPLAIX_BASE_URL", "http://127.0.0.1:9/"),
        ("KAPLAIX_PENDING_TTL_SECS", "30"),
    ]))
    .unwrap();
    assert!(c.proxied());
    assert_eq!(c.base_url, "http://127.0.0.1:9");
    assert_eq!(c.pending_ttl_ms, 30_000);
    assert!(!format!("{c:?}").contains("al_live_secret"));
    assert!(KaplaixConfig::from_env(&vars(&[("KAPLAIX_BASE_URL", "ftp://x")])).is_err());
    assert!(KaplaixConfig::from_env(&vars(&[("KAPLAIX_PENDING_TTL_SECS", "0")])).is_err());
    // From the command line's environment too.
    let c = Config::from_args(&[], |k| {
        (k == "KAPLAIX_API_KEY").then(|| "al_live_x".to_string())
    })
    .unwrap();
    assert!(c.kaplaix.proxied());
}

// ---------- proxy mode ----------

const KEY: &str = "al_live_test_9f8e7d";

type Seen = Arc<Mutex<Vec<Value>>>;

/// A stand-in for Kaplaix: records each request; echoes the Authorization header in the check
/// answer (to prove the proxy never lets the key through); rate limits pending-actions.
async fn stand_in() -> (String, Seen) {
    use axum::http::{HeaderMap, Method, Uri};
    use axum::response::IntoResponse;
    let seen: Seen = Default::default();
    let s2 = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let seen = s2.clone();
            async move {
                let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_string());
                seen.lock().unwrap().push(json!({
                    "method": method.as_str(), "path": uri.path(), "query": uri.query(),
                    "authorization": h("authorization"), "cookie": h("cookie"),
                    "sdk": h("x-kaplaix-sdk"), "framework": h("x-kaplaix-framework"),
                    "agentVersion": h("x-kaplaix-agent-version"), "origin": h("origin"),
                    "contentType": h("content-type"),
                    "body": String::from_utf8_lossy(&body),
                }));
                match uri.path() {
                    "/v1/events" => (
                        axum::http::StatusCode::ACCEPTED,
                        [("x-upstream-auth", h("authorization").unwrap_or_default())],
                        r#"{"status":"accepted"}"#.to_string(),
                    )
                        .into_response(),
                    "/v1/policies/check" => (
                        [("content-type", "application/json")],
                        json!({"decision": "ALLOW", "echo": h("authorization")}).to_string(),
                    )
                        .into_response(),
                    "/v1/guardian/pending-actions" => (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "2"), ("content-type", "application/json")],
                        r#"{"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
                    )
                        .into_response(),
                    _ => axum::http::StatusCode::IM_A_TEAPOT.into_response(),
                }
            }
        },
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn proxy_mode_adds_the_key_server_side_and_forwards_only_three_requests() {
    let (kaplaix, seen) = stand_in().await;
    let e = env();
    let r = server(&e, |c| {
        c.kaplaix.api_key = Some(KEY.into());
        c.kaplaix.base_url = kaplaix.clone();
    })
    .await;
    let base = format!("{}/api/kaplaix", r.url());
    let http = reqwest::Client::new();
    let mut bodies = String::new();

    // 1. Events: the page's Authorization and cookies are not passed on; x-kaplaix-* are.
    let ev = event(
        1,
        "thr_1",
        "tool_api",
        "2025-01-15T10:30:00Z",
        tool_payload(),
    );
    let res = http
        .post(format!("{base}/v1/events"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer page-made-this-up")
        .header("cookie", "kapa_owner=own_1")
        .header("x-kaplaix-sdk", "kapa-agent-wasm/0.1.0")
        .header("x-kaplaix-framework", "kapa-agent")
        .header("x-kaplaix-agent-version", "demo")
        .body(ev.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let headers = format!("{:?}", res.headers());
    assert!(!headers.contains(KEY), "a response header carries the key");
    assert!(res.headers().get("x-upstream-auth").is_none());
    bodies.push_str(&res.text().await.unwrap());

    // 2. The check: the stand-in echoes the Authorization header it got.
    let res = http
        .post(format!("{base}/v1/policies/check"))
        .header("content-type", "application/json")
        .body(check_body("calculator", Some("compute"), None).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["decision"], "ALLOW");
    assert_eq!(v["echo"], "Bearer [redacted]");
    bodies.push_str(&text);

    // 3. Pending actions: the query goes along; 429 and Retry-After come back.
    let res = http
        .get(format!(
            "{base}/v1/guardian/pending-actions?limit=100&cursor=abc"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "2");
    let v: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "RATE_LIMITED");

    // Nothing else is forwarded, including the reviewer/admin endpoints.
    for (m, p) in [
        ("GET", "/v1/sessions"),
        ("GET", "/v1/sessions/thr_1"),
        ("POST", "/v1/policies"),
        ("GET", "/v1/policies"),
        ("PATCH", "/v1/policies/pol_1"),
        ("DELETE", "/v1/policies/pol_1"),
        ("POST", "/v1/guardian/pending-actions/pa_1/decide"),
        ("GET", "/v1/agents"),
    ] {
        let res = http
            .request(
                reqwest::Method::from_bytes(m.as_bytes()).unwrap(),
                format!("{base}{p}"),
            )
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{m} {p}");
        let t = res.text().await.unwrap();
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["error"]["code"], "NOT_FORWARDED", "{m} {p}");
        bodies.push_str(&t);
    }
    for (m, p) in [
        ("GET", "/v1/events"),
        ("GET", "/v1/policies/check"),
        ("POST", "/v1/guardian/pending-actions"),
    ] {
        let res = http
            .request(
                reqwest::Method::from_bytes(m.as_bytes()).unwrap(),
                format!("{base}{p}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{m} {p}");
    }
    assert!(!bodies.contains(KEY));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        3,
        "only the three forwarded requests reach Kaplaix: {seen:#?}"
    );
    for s in &seen {
        assert_eq!(s["authorization"], format!("Bearer {KEY}"));
        assert!(s["cookie"].is_null());
        assert!(s["origin"].is_null());
    }
    assert_eq!(seen[0]["method"], "POST");
    assert_eq!(seen[0]["path"], "/v1/events");
    assert_eq!(
        serde_json::from_str::<Value>(seen[0]["body"].as_str().unwrap()).unwrap(),
        ev
    );
    assert_eq!(seen[0]["sdk"], "kapa-agent-wasm/0.1.0");
    assert_eq!(seen[0]["framework"], "kapa-agent");
    assert_eq!(seen[0]["agentVersion"], "demo");
    assert_eq!(seen[0]["contentType"], "application/json");
    assert_eq!(seen[1]["path"], "/v1/policies/check");
    assert_eq!(seen[2]["method"], "GET");
    assert_eq!(seen[2]["path"], "/v1/guardian/pending-actions");
    assert_eq!(seen[2]["query"], "limit=100&cursor=abc");

    // The key is in no page-facing answer: the page, its config, the docs.
    for p in ["/", "/api/config"] {
        let t = http
            .get(format!("{}{p}", r.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!t.contains(KEY));
    }
    r.stop().await;
}

#[tokio::test]
async fn proxy_mode_reports_an_unreachable_kaplaix() {
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let e = env();
    let r = server(&e, |c| {
        c.kaplaix.api_key = Some(KEY.into());
        c.kaplaix.base_url = dead;
    })
    .await;
    let api = Api::new(&r);
    let (s, v) = api
        .post("/v1/policies/check", check_body("calculator", None, None))
        .await;
    assert_eq!(s, 502);
    assert_eq!(v["error"]["code"], "UPSTREAM_UNAVAILABLE");
    assert!(!v.to_string().contains(KEY));
    r.stop().await;
}
