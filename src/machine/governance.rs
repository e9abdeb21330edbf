//! Governance over Kaplaix (GOVERNANCE.md), as part of the machine: audit events in an ordered,
//! bounded background queue; a policy check before each client tool call; the wait for a
//! human reviewer by polling; the circuit breaker. Every request goes to the integrator's
//! proxy (`governance.endpoint`), which adds the Kaplaix key server-side. Nothing here blocks
//! the chat: the queue has its own requests, retries and timers.
//!
//! Governance requests share the machine's request ids and the driver's `Fetch` /
//! `handle_response` / `handle_network_error`, so the skin needs nothing special but
//! `keepalive` and `flushGovernance()`.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::VecDeque;

use crate::small_map::{SmallMap, SmallSet};

use crate::json::{Map, Value};

use super::{Effect, Machine, Now, ReqId};
use crate::canonical::arguments_hash;
use crate::messages::{Guardian, ToolCallStatus};
use crate::options::{GovernanceConfig, GovernanceMode};
use crate::protocol::{encode_component, HttpRequest};
use crate::text::uint;
use crate::time::{format_rfc3339, parse_retry_after};

/// The package version, sent in `x-kaplaix-sdk` and identity events.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The queue keeps at most this many events (oldest dropped first).
pub const MAX_QUEUE: usize = 1_000;
/// Per-event retries for 429 / 502 / 503 / 504 / network errors (the seed's default).
const EVENT_RETRIES: u32 = 3;
const QUEUE_BACKOFF_START_MS: f64 = 1_000.0;
const QUEUE_BACKOFF_MAX_MS: f64 = 60_000.0;
/// A policy check that takes longer fails (and is not retried).
pub const CHECK_TIMEOUT_MS: f64 = 5_000.0;
/// Consecutive failed checks that open the circuit, and for how long it stays open.
pub const CIRCUIT_THRESHOLD: u32 = 3;
pub const CIRCUIT_OPEN_MS: f64 = 30_000.0;

struct QueuedEvent {
    body: String,
    category: &'static str,
    /// Retries used in the current round.
    retries: u32,
    in_flight: Option<ReqId>,
}

struct Wait {
    pending_action_id: String,
    deadline: f64,
    next_poll: f64,
    polling: Option<ReqId>,
    cursor: Option<String>,
    warned: bool,
}

/// Governance state, present when the `governance` option is.
pub(super) struct Governance {
    queue: VecDeque<QueuedEvent>,
    /// When the head of the queue may be sent again after a failure.
    retry_at: f64,
    round_delay_ms: f64,
    identified: SmallSet<String>,
    /// The session id before the server gave a thread id, and after a reset.
    client_session: String,
    checks: SmallMap<ReqId, (String, f64)>,
    waits: SmallMap<String, Wait>,
    failures: u32,
    open_until: f64,
}

impl Governance {
    pub(super) fn new(client_session: String) -> Self {
        Governance {
            queue: VecDeque::new(),
            retry_at: 0.0,
            round_delay_ms: QUEUE_BACKOFF_START_MS,
            identified: SmallSet::new(),
            client_session,
            checks: SmallMap::new(),
            waits: SmallMap::new(),
            failures: 0,
            open_until: 0.0,
        }
    }

    pub(super) fn next_wake(&self) -> Option<f64> {
        let queue = (!self.queue.is_empty() && self.queue.iter().all(|e| e.in_flight.is_none()))
            .then_some(self.retry_at);
        let checks = self.checks.values().map(|(_, deadline)| *deadline);
        let waits = self.waits.values().flat_map(|w| {
            let poll = w.polling.is_none().then_some(w.next_poll);
            core::iter::once(w.deadline).chain(poll)
        });
        queue
            .into_iter()
            .chain(checks)
            .chain(waits)
            .reduce(f64::min)
    }
}

/// `<code>: <message>` from Kaplaix's error envelope, or the HTTP status.
fn envelope_text(status: u16, body: &str) -> String {
    let parsed: Option<Value> = crate::json::parse(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
    match (code, message) {
        (Some(c), Some(m)) => [c, ": ", m].concat(),
        (Some(c), None) => c.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => ["HTTP ", &uint(status.into())].concat(),
    }
}

/// Kaplaix's `responseStatus` for a settled call.
fn response_status(status: ToolCallStatus) -> u16 {
    match status {
        ToolCallStatus::Completed => 200,
        ToolCallStatus::Denied => 403,
        ToolCallStatus::Stopped => 499,
        _ => 500,
    }
}

impl Machine {
    fn gov_config(&self) -> Option<&GovernanceConfig> {
        self.config.governance.as_ref()
    }

    /// Events waiting to be delivered (for `flushGovernance()`).
    pub fn governance_pending(&self) -> usize {
        self.gov.as_ref().map_or(0, |g| g.queue.len())
    }

    fn gov_url(&self, path: &str) -> String {
        let endpoint = self.gov_config().map_or("", |g| g.endpoint.as_str());
        [endpoint.trim_end_matches('/'), path].concat()
    }

    fn gov_request(&self, method: &'static str, path: &str, body: Option<String>) -> HttpRequest {
        let mut headers = vec![
            ("x-kaplaix-sdk", ["kapa-agent-wasm/", SDK_VERSION].concat()),
            ("x-kaplaix-framework", "kapa-agent".to_owned()),
            ("x-kaplaix-agent-version", self.config.model.clone()),
        ];
        if body.is_some() {
            headers.push(("Content-Type", "application/json".to_owned()));
        }
        HttpRequest {
            method,
            url: self.gov_url(path),
            headers,
            body,
            stream: false,
            keepalive: false,
        }
    }

    fn gov_warn(&mut self, message: String) {
        self.event("governance_warning", jv!({ "message": message }));
    }

    /// Make the governance state match the configuration (after `new` or `set_config`).
    pub(super) fn sync_governance(&mut self) {
        match (&self.config.governance, &self.gov) {
            (Some(_), None) => {
                let session = self.rng.uuid_v4();
                self.gov = Some(Governance::new(session));
            }
            (None, Some(_)) => self.gov = None,
            _ => {}
        }
    }

    fn gov_session_id(&self) -> String {
        match (&self.thread_id, &self.gov) {
            (Some(t), _) => t.clone(),
            (None, Some(g)) => g.client_session.clone(),
            (None, None) => String::new(),
        }
    }

    /// After a reset the conversation is a new session.
    pub(super) fn gov_new_session(&mut self) {
        let session = self.rng.uuid_v4();
        if let Some(g) = self.gov.as_mut() {
            g.client_session = session;
        }
    }

    // -- audit events -------------------------------------------------------------------------

    fn gov_attribution(&self, tool_name: &str, out: &mut Map) {
        let Some(attrs) = self.gov_config().and_then(|g| g.tools.get(tool_name)) else {
            return;
        };
        for (key, value) in [
            ("toolType", &attrs.tool_type),
            ("operation", &attrs.operation),
            ("targetSystem", &attrs.target_system),
        ] {
            if let Some(v) = value {
                out.insert(key.into(), jv!(v));
            }
        }
    }

    /// Queue an audit event (preceded by `identity` for a session not seen before).
    fn gov_event(
        &mut self,
        category: &'static str,
        payload: Value,
        tool: Option<&str>,
        initiator: &str,
        now_ms: f64,
    ) {
        let Some(config) = self.gov_config() else {
            return;
        };
        let agent_id = config.agent_id.clone();
        let session = self.gov_session_id();
        let first = self
            .gov
            .as_mut()
            .is_some_and(|g| g.identified.insert(session.clone()));
        if first && category != "identity" {
            let capabilities: Vec<&str> =
                self.config.tools.iter().map(|t| t.name.as_str()).collect();
            let payload =
                jv!({"agentName": agent_id, "version": SDK_VERSION, "capabilities": capabilities});
            self.gov_event("identity", payload, None, "agent", now_ms);
        }
        let event_id = self.rng.uuid_v4();
        let mut body = Map::new();
        body.insert("eventId".into(), jv!(event_id));
        body.insert("agentId".into(), jv!(agent_id));
        body.insert("sessionId".into(), jv!(session));
        body.insert(
            "sourceTimestamp".into(),
            jv!(format_rfc3339(self.wall(now_ms))),
        );
        body.insert("category".into(), jv!(category));
        body.insert("schemaVersion".into(), jv!("1.0"));
        body.insert("payload".into(), payload);
        body.insert("initiatorType".into(), jv!(initiator));
        if let Some(run) = self.turn.as_ref().map(|t| t.run_id.clone()) {
            body.insert("runId".into(), jv!(run));
        }
        if let Some(name) = tool {
            self.gov_attribution(name, &mut body);
        }
        let body = crate::json::to_string(&Value::Object(body));
        let mut dropped = None;
        if let Some(g) = self.gov.as_mut() {
            if g.queue.len() >= MAX_QUEUE {
                if let Some(i) = g.queue.iter().position(|e| e.in_flight.is_none()) {
                    dropped = g.queue.remove(i).map(|e| e.category);
                }
            }
            g.queue.push_back(QueuedEvent {
                body,
                category,
                retries: 0,
                in_flight: None,
            });
        }
        if let Some(category) = dropped {
            self.gov_warn(
                [
                    "governance queue full (",
                    &uint(MAX_QUEUE as u64),
                    " events): dropped the oldest, a ",
                    category,
                    " event",
                ]
                .concat(),
            );
        }
        self.gov_pump(now_ms);
    }

    /// `tool_api` when a call settles (client or server).
    pub(super) fn gov_tool_settled(
        &mut self,
        name: &str,
        arguments: &Value,
        status: ToolCallStatus,
        now_ms: f64,
    ) {
        if self.gov.is_none() {
            return;
        }
        let payload = jv!({
            "toolName": name,
            "argumentsHash": arguments_hash(arguments),
            "responseStatus": response_status(status),
        });
        self.gov_event("tool_api", payload, Some(name), "agent", now_ms);
    }

    /// `approval` when the user (or a reviewer, with `reviewer: Some(decidedBy)`) decides.
    pub(super) fn gov_approval(
        &mut self,
        name: &str,
        approved: bool,
        reviewer: Option<Option<String>>,
        now_ms: f64,
    ) {
        if self.gov.is_none() {
            return;
        }
        let (approver, initiator) = match reviewer {
            Some(decided_by) => (decided_by.unwrap_or_else(|| "reviewer".into()), "reviewer"),
            None => {
                let user = self.config.user.as_ref();
                let field = |k: &str| {
                    user.and_then(|u| u.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                (
                    field("unique_client_id")
                        .or_else(|| field("email"))
                        .unwrap_or_else(|| "end-user".into()),
                    "user",
                )
            }
        };
        let payload = jv!({
            "approverId": approver,
            "scope": ["tool:", name].concat(),
            "decision": if approved { "approved" } else { "rejected" },
        });
        self.gov_event("approval", payload, Some(name), initiator, now_ms);
    }

    /// Send the head of the queue when nothing is in flight and no back-off is running.
    fn gov_pump(&mut self, now_ms: f64) {
        let Some(g) = self.gov.as_ref() else { return };
        if g.queue.iter().any(|e| e.in_flight.is_some())
            || g.retry_at > now_ms
            || g.queue.is_empty()
        {
            return;
        }
        let body = g.queue[0].body.clone();
        let req = self.fresh_id();
        let request = self.gov_request("POST", "/v1/events", Some(body));
        if let Some(head) = self.gov.as_mut().and_then(|g| g.queue.front_mut()) {
            head.in_flight = Some(req);
        }
        self.emit(Effect::Fetch { req, request });
    }

    /// The page is being hidden: send everything queued now, with `keepalive`.
    pub fn page_hidden(&mut self, now: impl Into<Now>) {
        self.at(now);
        self.batch(|m| {
            let Some(g) = m.gov.as_ref() else { return };
            let waiting: Vec<(usize, String)> = g
                .queue
                .iter()
                .enumerate()
                .filter(|(_, e)| e.in_flight.is_none())
                .map(|(i, e)| (i, e.body.clone()))
                .collect();
            for (i, body) in waiting {
                let req = m.fresh_id();
                let mut request = m.gov_request("POST", "/v1/events", Some(body));
                request.keepalive = true;
                if let Some(e) = m.gov.as_mut().and_then(|g| g.queue.get_mut(i)) {
                    e.in_flight = Some(req);
                }
                m.emit(Effect::Fetch { req, request });
            }
        });
    }

    fn gov_event_result(
        &mut self,
        req: ReqId,
        outcome: Result<u16, ()>,
        retry_after: Option<&str>,
        body: &str,
        now_ms: f64,
    ) {
        let base = self.config.retry.base_delay_ms;
        let cap = self.config.retry.max_delay_ms;
        let jitter = self.rng.next_f64();
        let wall = self.wall(now_ms);
        let Some(g) = self.gov.as_mut() else { return };
        let Some(i) = g.queue.iter().position(|e| e.in_flight == Some(req)) else {
            return;
        };
        g.queue[i].in_flight = None;
        let retryable = match outcome {
            Ok(status) if (200..300).contains(&status) => {
                g.queue.remove(i);
                g.round_delay_ms = QUEUE_BACKOFF_START_MS;
                return self.gov_pump(now_ms);
            }
            Ok(429) => Some(retry_after.and_then(|v| parse_retry_after(v, wall))),
            Ok(status) if status >= 500 => Some(None),
            Err(()) => Some(None),
            Ok(_) => None,
        };
        match retryable {
            None => {
                let event = g.queue.remove(i);
                let category = event.map_or("", |e| e.category);
                let text = envelope_text(outcome.unwrap_or(0), body);
                self.gov_warn(["governance event dropped (", category, "): ", &text].concat());
                self.gov_pump(now_ms);
            }
            Some(wait) => {
                let e = &mut g.queue[i];
                if e.retries < EVENT_RETRIES {
                    e.retries += 1;
                    let backoff =
                        cap.min(base * crate::fmath::powi(2.0, e.retries as i32 - 1)) * jitter;
                    g.retry_at = now_ms + wait.unwrap_or(backoff);
                } else {
                    // Still failing: it stays queued and the queue tries again later.
                    e.retries = 0;
                    g.retry_at = now_ms + g.round_delay_ms;
                    g.round_delay_ms = (g.round_delay_ms * 2.0).min(QUEUE_BACKOFF_MAX_MS);
                }
            }
        }
    }

    // -- policy checks ------------------------------------------------------------------------

    /// Before a client call runs (or asks the user): check it against the policy.
    /// Returns `false` when governance is off and the caller should proceed itself.
    pub(super) fn gov_before_run(&mut self, call_id: &str, now_ms: f64) -> bool {
        let Some(g) = self.gov.as_ref() else {
            return false;
        };
        let Some(call) = self.current_call(call_id) else {
            return true;
        };
        let name = call.name.clone();
        if g.open_until > now_ms {
            self.gov_unavailable(
                call_id,
                "the policy service is unavailable (circuit open)",
                now_ms,
            );
            return true;
        }
        let mut body = Map::new();
        body.insert("toolName".into(), jv!(name));
        self.gov_attribution(&name, &mut body);
        body.insert("initiatorType".into(), jv!("agent"));
        body.insert(
            "agentId".into(),
            jv!(self.gov_config().map(|c| c.agent_id.clone())),
        );
        body.insert("sessionId".into(), jv!(self.gov_session_id()));
        let req = self.fresh_id();
        let request = self.gov_request(
            "POST",
            "/v1/policies/check",
            Some(crate::json::to_string(&Value::Object(body))),
        );
        if let Some(g) = self.gov.as_mut() {
            g.checks
                .insert(req, (call_id.to_owned(), now_ms + CHECK_TIMEOUT_MS));
        }
        self.emit(Effect::Fetch { req, request });
        true
    }

    /// A check failed or the circuit is open: proceed with a warning, or deny.
    fn gov_unavailable(&mut self, call_id: &str, why: &str, now_ms: f64) {
        let Some(call) = self.current_call(call_id) else {
            return;
        };
        let name = call.name.clone();
        if self.gov_config().is_some_and(|g| g.fail_on_circuit_open) {
            self.gov_warn(
                [
                    "policy check for ",
                    &name,
                    " failed: ",
                    why,
                    "; denied (failOnCircuitOpen)",
                ]
                .concat(),
            );
            self.gov_deny(
                call_id,
                &["Denied: the policy check failed (", why, ")"].concat(),
                now_ms,
            );
        } else {
            self.gov_warn(
                [
                    "policy check for ",
                    &name,
                    " failed: ",
                    why,
                    "; proceeding without it",
                ]
                .concat(),
            );
            self.proceed_call(call_id, now_ms);
        }
    }

    fn gov_check_failed(&mut self, call_id: &str, why: &str, now_ms: f64) {
        if let Some(g) = self.gov.as_mut() {
            g.failures += 1;
            if g.failures >= CIRCUIT_THRESHOLD {
                g.failures = 0;
                g.open_until = now_ms + CIRCUIT_OPEN_MS;
            }
        }
        self.gov_unavailable(call_id, why, now_ms);
    }

    fn gov_deny(&mut self, call_id: &str, text: &str, now_ms: f64) {
        self.update_call(call_id, |c| {
            c.status = ToolCallStatus::Denied;
            c.error = Some(text.to_owned());
        });
        self.call_settled(call_id, now_ms);
        self.check_step_complete(now_ms);
    }

    fn gov_check_result(
        &mut self,
        req: ReqId,
        call_id: String,
        status: Option<u16>,
        body: &str,
        now_ms: f64,
    ) {
        let Some(call) = self.current_call(&call_id) else {
            return;
        };
        if call.status != ToolCallStatus::Pending {
            return;
        }
        let name = call.name.clone();
        let _ = req;
        let status = match status {
            None => return self.gov_check_failed(&call_id, body, now_ms),
            Some(s) => s,
        };
        if !(200..300).contains(&status) {
            return self.gov_check_failed(&call_id, &envelope_text(status, body), now_ms);
        }
        let answer: Value = crate::json::parse(body).unwrap_or(Value::Null);
        let field = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
        let (decision, rule_id, reason) = (field("decision"), field("ruleId"), field("reason"));
        let Some(decision) =
            decision.filter(|d| matches!(d.as_str(), "ALLOW" | "DENY" | "REQUIRE_APPROVAL"))
        else {
            return self.gov_check_failed(
                &call_id,
                "unexpected answer from the policy service",
                now_ms,
            );
        };
        if let Some(g) = self.gov.as_mut() {
            g.failures = 0;
        }
        let mut data = jv!({"toolName": name, "toolCallId": call_id, "decision": decision});
        if let (Some(r), Some(o)) = (&rule_id, data.as_object_mut()) {
            o.insert("ruleId".into(), jv!(r));
        }
        self.event("governance_decision", data);
        let mode = self
            .gov_config()
            .map_or(GovernanceMode::LogOnly, |g| g.mode);
        let rule_text = || {
            let rule = rule_id
                .as_deref()
                .map_or(String::new(), |r| [" rule ", r].concat());
            let reason = reason
                .as_deref()
                .map_or(String::new(), |r| [": ", r].concat());
            ["policy", &rule, &reason].concat()
        };
        match (decision.as_str(), mode) {
            ("ALLOW", _) => self.proceed_call(&call_id, now_ms),
            (_, GovernanceMode::LogOnly) => {
                self.gov_warn(
                    [
                        &name,
                        ": ",
                        &decision,
                        " by ",
                        &rule_text(),
                        " (log_only: proceeding)",
                    ]
                    .concat(),
                );
                self.proceed_call(&call_id, now_ms);
            }
            ("DENY", _) | ("REQUIRE_APPROVAL", GovernanceMode::Block) => {
                self.gov_deny(&call_id, &["Denied by ", &rule_text()].concat(), now_ms)
            }
            _ => match field("pendingActionId") {
                Some(pending_action_id) => {
                    let guardian = Guardian {
                        pending_action_id: pending_action_id.clone(),
                        status: "pending".into(),
                    };
                    self.update_call(&call_id, |c| {
                        c.status = ToolCallStatus::ApprovalRequested;
                        c.guardian = Some(guardian);
                    });
                    self.gov_start_wait(call_id, pending_action_id, now_ms);
                }
                None => self.gov_check_failed(
                    &call_id,
                    "REQUIRE_APPROVAL without a pendingActionId",
                    now_ms,
                ),
            },
        }
    }

    // -- the reviewer wait --------------------------------------------------------------------

    fn gov_poll(&mut self, call_id: &str) {
        let Some(cursor) = self
            .gov
            .as_ref()
            .and_then(|g| g.waits.get(call_id))
            .map(|w| w.cursor.clone())
        else {
            return;
        };
        let path = match cursor {
            Some(c) => [
                "/v1/guardian/pending-actions?limit=100&cursor=",
                &encode_component(&c),
            ]
            .concat(),
            None => "/v1/guardian/pending-actions?limit=100".to_owned(),
        };
        let req = self.fresh_id();
        let request = self.gov_request("GET", &path, None);
        if let Some(w) = self.gov.as_mut().and_then(|g| g.waits.get_mut(call_id)) {
            w.polling = Some(req);
        }
        self.emit(Effect::Fetch { req, request });
    }

    fn gov_end_wait(&mut self, call_id: &str) {
        let Some(w) = self.gov.as_mut().and_then(|g| g.waits.remove(call_id)) else {
            return;
        };
        if let Some(req) = w.polling {
            self.emit(Effect::CancelFetch { req });
        }
    }

    fn set_guardian_status(&mut self, call_id: &str, status: &str) {
        self.update_call(call_id, |c| {
            if let Some(g) = c.guardian.as_mut() {
                g.status = status.to_owned();
            }
        });
    }

    fn gov_poll_result(&mut self, call_id: String, status: Option<u16>, body: &str, now_ms: f64) {
        let interval = self.gov_config().map_or(3_000.0, |g| g.poll_interval_ms);
        let Some(w) = self.gov.as_mut().and_then(|g| g.waits.get_mut(&call_id)) else {
            return;
        };
        w.polling = None;
        let page: Option<Value> = status
            .filter(|s| (200..300).contains(s))
            .and_then(|_| crate::json::parse(body).ok());
        let Some(page) = page else {
            w.next_poll = now_ms + interval;
            w.cursor = None;
            if !w.warned {
                w.warned = true;
                let text = status.map_or_else(|| body.to_owned(), |s| envelope_text(s, body));
                self.gov_warn(
                    [
                        "could not read the reviewer's decision: ",
                        &text,
                        "; still waiting",
                    ]
                    .concat(),
                );
            }
            return;
        };
        let id = w.pending_action_id.clone();
        let found = page
            .get("data")
            .and_then(Value::as_array)
            .and_then(|items| {
                items
                    .iter()
                    .find(|a| a.get("id").and_then(Value::as_str) == Some(id.as_str()))
            })
            .cloned();
        let Some(action) = found else {
            match page.get("nextCursor").and_then(Value::as_str) {
                Some(next) => {
                    w.cursor = Some(next.to_owned());
                    self.gov_poll(&call_id);
                }
                None => {
                    w.cursor = None;
                    w.next_poll = now_ms + interval;
                }
            }
            return;
        };
        w.cursor = None;
        let text = |k: &str| action.get(k).and_then(Value::as_str).map(str::to_owned);
        let Some(name) = self.current_call(&call_id).map(|c| c.name.clone()) else {
            return;
        };
        match text("status").as_deref() {
            Some("approved") => {
                self.gov_end_wait(&call_id);
                self.set_guardian_status(&call_id, "approved");
                self.event(
                    "governance_decision",
                    jv!({"toolName": name, "toolCallId": call_id, "decision": "approved"}),
                );
                self.gov_approval(&name, true, Some(text("decidedBy")), now_ms);
                self.update_call(&call_id, |c| c.status = ToolCallStatus::Pending);
                self.proceed_call(&call_id, now_ms);
            }
            Some("rejected") => {
                self.gov_end_wait(&call_id);
                self.set_guardian_status(&call_id, "rejected");
                self.event(
                    "governance_decision",
                    jv!({"toolName": name, "toolCallId": call_id, "decision": "rejected"}),
                );
                self.gov_approval(&name, false, Some(text("decidedBy")), now_ms);
                let reason = text("reason").map_or(String::new(), |r| [": ", &r].concat());
                self.gov_deny(
                    &call_id,
                    &["Rejected by a reviewer", &reason].concat(),
                    now_ms,
                );
            }
            Some("expired") => {
                self.gov_end_wait(&call_id);
                self.set_guardian_status(&call_id, "expired");
                self.event(
                    "governance_decision",
                    jv!({"toolName": name, "toolCallId": call_id, "decision": "expired"}),
                );
                self.gov_error(&call_id, "The reviewer's approval request expired", now_ms);
            }
            _ => {
                if let Some(w) = self.gov.as_mut().and_then(|g| g.waits.get_mut(&call_id)) {
                    w.next_poll = now_ms + interval;
                }
            }
        }
    }

    /// Settle a held call as `error` (expiry, timeout): no `tool_executed`, the model is told.
    fn gov_error(&mut self, call_id: &str, text: &str, now_ms: f64) {
        self.update_call(call_id, |c| {
            c.status = ToolCallStatus::Error;
            c.error = Some(text.to_owned());
        });
        self.call_settled(call_id, now_ms);
        self.check_step_complete(now_ms);
    }

    /// Wait for a reviewer's decision on `call_id` (held as `action`): poll until the approval
    /// timeout. Also a restored held call (state.rs), which gets a full timeout again.
    pub(super) fn gov_start_wait(&mut self, call_id: String, action: String, now_ms: f64) {
        let timeout = self
            .gov_config()
            .map_or(120_000.0, |g| g.approval_timeout_ms);
        let interval = self.gov_config().map_or(3_000.0, |g| g.poll_interval_ms);
        if let Some(g) = self.gov.as_mut() {
            let wait = Wait {
                pending_action_id: action,
                deadline: now_ms + timeout,
                next_poll: now_ms + interval,
                polling: None,
                cursor: None,
                warned: false,
            };
            g.waits.insert(call_id, wait);
        }
    }

    /// The user rejected a call that a reviewer holds: the wait ends.
    pub(super) fn gov_cancel_wait(&mut self, call_id: &str) {
        self.gov_end_wait(call_id);
    }

    /// Stop / reset / failure: every check and wait of the turn ends.
    pub(super) fn gov_abandon_turn(&mut self) {
        let Some(g) = self.gov.as_mut() else { return };
        let reqs: Vec<ReqId> = core::mem::take(&mut g.checks)
            .into_keys()
            .chain(
                core::mem::take(&mut g.waits)
                    .into_values()
                    .filter_map(|w| w.polling),
            )
            .collect();
        for req in reqs {
            self.emit(Effect::CancelFetch { req });
        }
    }

    // -- driver entry points ------------------------------------------------------------------

    /// Route a response to governance. `false`: not a governance request.
    pub(super) fn gov_response(
        &mut self,
        req: ReqId,
        status: Option<u16>,
        retry_after: Option<&str>,
        body: &str,
        now_ms: f64,
    ) -> bool {
        let Some(g) = self.gov.as_mut() else {
            return false;
        };
        if let Some((call_id, _)) = g.checks.remove(&req) {
            self.gov_check_result(req, call_id, status, body, now_ms);
            return true;
        }
        let polled = g
            .waits
            .iter()
            .find(|(_, w)| w.polling == Some(req))
            .map(|(id, _)| id.clone());
        if let Some(call_id) = polled {
            self.gov_poll_result(call_id, status, body, now_ms);
            return true;
        }
        if g.queue.iter().any(|e| e.in_flight == Some(req)) {
            self.gov_event_result(req, status.ok_or(()), retry_after, body, now_ms);
            return true;
        }
        false
    }

    pub(super) fn gov_timer(&mut self, now_ms: f64) {
        let Some(g) = self.gov.as_mut() else { return };
        let timed_out: Vec<(ReqId, String)> = g
            .checks
            .iter()
            .filter(|(_, (_, d))| *d <= now_ms)
            .map(|(r, (c, _))| (*r, c.clone()))
            .collect();
        for (req, call_id) in timed_out {
            if let Some(g) = self.gov.as_mut() {
                g.checks.remove(&req);
            }
            self.emit(Effect::CancelFetch { req });
            self.gov_check_failed(&call_id, "no answer within 5 s", now_ms);
        }
        let Some(g) = self.gov.as_ref() else { return };
        let expired: Vec<String> = g
            .waits
            .iter()
            .filter(|(_, w)| w.deadline <= now_ms)
            .map(|(c, _)| c.clone())
            .collect();
        let due: Vec<String> = g
            .waits
            .iter()
            .filter(|(_, w)| w.deadline > now_ms && w.polling.is_none() && w.next_poll <= now_ms)
            .map(|(c, _)| c.clone())
            .collect();
        for call_id in expired {
            self.gov_end_wait(&call_id);
            self.set_guardian_status(&call_id, "expired");
            let secs = crate::fmath::round(
                self.gov_config().map_or(0.0, |g| g.approval_timeout_ms) / 1000.0,
            ) as u64;
            if let Some(name) = self.current_call(&call_id).map(|c| c.name.clone()) {
                self.event(
                    "governance_decision",
                    jv!({"toolName": name, "toolCallId": call_id, "decision": "timeout"}),
                );
            }
            self.gov_error(
                &call_id,
                &["No reviewer decision within ", &uint(secs), " s"].concat(),
                now_ms,
            );
        }
        for call_id in due {
            self.gov_poll(&call_id);
        }
        self.gov_pump(now_ms);
    }
}
