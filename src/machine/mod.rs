//! The agent loop as a pure state machine: no I/O, no clock, no JS.
//!
//! The driver tells the machine what happened through `send_message`, `stop`, `reset`,
//! `approve`, `reject`, the history calls and the `handle_*` methods (token fetched, response
//! head or body, stream bytes, stream end, network error, tool settled, timer fired), always
//! passing the current time as `now_ms`. It then drains [`Machine::poll`] for the
//! [`Effect`]s to perform (fetch this, run that tool, deliver messages, fire an event, end a
//! turn) and arms one timer for [`Machine::next_wake`].
//!
//! Every entry point is one *batch*: whatever messages it changed are delivered by a single
//! [`Effect::MessagesChanged`] placed before the other effects of the batch, so one network
//! read costs one `onMessagesChange` and every callback sees the messages already updated.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::VecDeque;

use crate::json::Value;

use crate::decode::{Framing, StreamDecoder};
use crate::messages::{AgentMessage, Executor, MessageSlot, ToolCallDisplay, ToolCallStatus};
use crate::options::{Config, ToolSpec};
use crate::protocol::{
    self, chat_body, parse_event, ChatInput, HistoryCall, HttpRequest, StreamEvent, Token,
    ToolResultItem, STREAM_ENDED, UNEXPECTED_RESPONSE,
};
use crate::rng::Rng;
#[cfg(not(target_arch = "wasm32"))]
use crate::schema;
use crate::text::uint;
pub use crate::time::Now;

// Without the `governance` feature, the same hooks as no-ops (the plain package entry).
#[cfg_attr(not(feature = "governance"), path = "governance_off.rs")]
mod governance;
mod state;

pub use state::{StateError, INTERRUPTED, STATE_VERSION};

/// The host's validation of a client call's arguments against its tool's `parameters` schema:
/// `Err` holds the message for the model (e.g. `arguments.x: expected string, got number`).
/// The wasm skin validates in JS (`pkg-template/lib/schema-check.js`); without a hook, host
/// builds use `schema::validate` (no `pattern`), and wasm builds accept every call.
pub type ArgsCheck = Box<dyn Fn(&ToolSpec, &Value) -> Result<(), String>>;

pub type ReqId = u64;
pub type TurnId = u64;
pub type OpId = u64;

/// Tokens with less than this left are refreshed before a request (seed 000).
pub const TOKEN_REFRESH_MARGIN_MS: f64 = 30_000.0;
/// Error bodies are cut to this many characters in error texts.
const MAX_BODY_IN_ERROR: usize = 500;

/// An `onEvent` event: `{type, data}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentEvent {
    pub kind: &'static str,
    pub data: Value,
}

/// Why a history call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryError {
    /// `enableHistory` is not true: nothing was sent.
    Disabled,
    /// 403 `session_without_owner`.
    SessionWithoutOwner,
    /// 404.
    ThreadNotFound,
    /// A turn is running.
    Busy,
    /// Anything else, with its error text.
    Failed(String),
}

/// `sendMessage` while a turn runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Call `getSessionToken()` and report with [`Machine::handle_token`].
    GetToken,
    /// Start a fetch and report with `handle_response` / `handle_stream_open` + chunks.
    Fetch {
        req: ReqId,
        request: HttpRequest,
    },
    /// Abort a fetch (or cancel its body); nothing more about it will be accepted.
    CancelFetch {
        req: ReqId,
    },
    /// Run a client tool's `execute` and report with [`Machine::handle_tool_result`].
    RunTool {
        call_id: String,
        name: String,
        arguments: Value,
    },
    /// Abort the signal handed to a running `execute`.
    AbortTool {
        call_id: String,
    },
    /// Deliver [`Machine::messages`] to `onMessagesChange`.
    MessagesChanged,
    StreamingChanged(bool),
    ThreadIdChanged(Option<String>),
    Event(AgentEvent),
    /// The `sendMessage` promise of this turn resolves.
    TurnEnded {
        turn: TurnId,
    },
    /// A history call's promise settles.
    HistoryDone {
        op: OpId,
        result: Result<Value, HistoryError>,
    },
}

/// How a stream ended.
enum Terminal {
    RequiresAction,
    Done,
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ReqState {
    WaitingToken,
    InFlight,
    Streaming,
    Backoff { until: f64 },
}

#[derive(Debug)]
enum Purpose {
    Chat {
        turn: TurnId,
        body: String,
        idempotency_key: String,
    },
    History {
        op: OpId,
        call: HistoryCall,
    },
}

struct Request {
    id: ReqId,
    purpose: Purpose,
    state: ReqState,
    /// Retries used from the shared 429/5xx/network budget.
    retries: u32,
    retried_401: bool,
    /// This request already waited for a freshly fetched token (refresh at most once).
    refreshed: bool,
    token_used: Option<String>,
    decoder: Option<StreamDecoder>,
    /// When the last sign of life arrived (send, response head, any stream byte).
    last_activity: f64,
}

#[derive(Debug)]
struct Turn {
    id: TurnId,
    /// Index of the turn's assistant message, once content arrived.
    assistant: Option<usize>,
    /// Client calls named by the last `requires_action`, in arrival order.
    step: Vec<String>,
    /// Kaplaix `runId`: one per turn.
    #[cfg_attr(not(feature = "governance"), allow(dead_code))]
    run_id: String,
    /// The assistant message was delivered to `onMessagesChange` at least once.
    shown_assistant: bool,
    /// The high half of a surrogate pair that ended the last text delta (`0`: none), held
    /// back to join the low half the next delta starts with (see `crate::json`).
    pending_high: u16,
    /// Calls of a restored step that were running at export: posted as `error` (state.rs).
    interrupted: Vec<String>,
}

/// The agent loop. See the module docs for the calling contract.
pub struct Machine {
    config: Config,
    messages: Vec<MessageSlot>,
    next_message_id: u64,
    rev: u64,
    thread_id: Option<String>,
    turn: Option<Turn>,
    next_id: u64,
    requests: Vec<Request>,
    token: Option<Token>,
    token_fetching: bool,
    /// When the pending `getSessionToken()` call started.
    token_since: f64,
    /// Tokens seen lately, scrubbed from every error text.
    secrets: Vec<String>,
    rng: Rng,
    effects: VecDeque<Effect>,
    batch_start: usize,
    messages_dirty: bool,
    gov: Option<governance::Governance>,
    /// The latest monotonic time the driver reported (for entry points without a clock
    /// argument).
    last_now: f64,
    /// Wall clock minus monotonic clock at the latest entry point (see [`Now`]).
    wall_offset: f64,
    /// First message index changed since the skin last looked (see `take_changed_from`).
    changed_from: usize,
    /// When the last `MessagesChanged` was emitted, and when held-back changes are due.
    last_flush: f64,
    flush_due: Option<f64>,
    /// Validation of tool-call arguments, supplied by the host (see [`ArgsCheck`]).
    args_check: Option<ArgsCheck>,
}

/// White space as JS `String.prototype.trim` strips it (ECMA-262 WhiteSpace and
/// LineTerminator): TAB, VT, FF, SP, NBSP, ZWNBSP (U+FEFF), the other `Zs` characters, LF,
/// CR, LS and PS. Not Rust's `char::is_whitespace`, which also has U+0085 (NEL) and lacks
/// U+FEFF.
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `text.trim() === ""` in JS (SPEC §3: such a message does nothing).
fn js_trim_is_empty(s: &str) -> bool {
    s.chars().all(is_js_space)
}

fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl Machine {
    /// A machine whose ids come from a deterministic generator seeded with `seed`
    /// ([`Rng::seeded`]): for tests and reproducible runs. The wasm skin uses
    /// [`Machine::with_rng`] with the platform's CSPRNG.
    pub fn new(config: Config, seed: u64) -> Self {
        Self::with_rng(config, Rng::seeded(seed))
    }

    /// A machine that draws its randomness (ids, retry jitter) from `rng`.
    pub fn with_rng(config: Config, rng: Rng) -> Self {
        let mut m = Machine {
            config,
            messages: Vec::new(),
            next_message_id: 1,
            rev: 0,
            thread_id: None,
            turn: None,
            next_id: 1,
            requests: Vec::new(),
            token: None,
            token_fetching: false,
            token_since: 0.0,
            secrets: Vec::new(),
            rng,
            effects: VecDeque::new(),
            batch_start: 0,
            messages_dirty: false,
            gov: None,
            last_now: 0.0,
            wall_offset: 0.0,
            args_check: None,
            changed_from: 0,
            last_flush: f64::NEG_INFINITY,
            flush_due: None,
        };
        m.sync_governance();
        m
    }

    // -- queries ------------------------------------------------------------------------------

    /// Let the host validate client-call arguments before a tool runs (see [`ArgsCheck`]).
    pub fn set_args_check(&mut self, check: ArgsCheck) {
        self.args_check = Some(check);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replace the configuration (`updateOptions`). A running turn continues with it.
    pub fn set_config(&mut self, config: Config) {
        self.config = config;
        self.sync_governance();
    }

    pub fn messages(&self) -> &[MessageSlot] {
        &self.messages
    }

    /// Changes whenever any message changes (the skin's cache key for the messages array).
    pub fn revision(&self) -> u64 {
        self.rev
    }

    pub fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_deref()
    }

    pub fn is_streaming(&self) -> bool {
        self.turn.is_some()
    }

    /// The earliest time the driver must call [`Machine::handle_timer`].
    pub fn next_wake(&self) -> Option<f64> {
        let idle = self.config.idle_timeout_ms;
        let requests = self.requests.iter().filter_map(|r| match r.state {
            ReqState::Backoff { until } => Some(until),
            ReqState::InFlight | ReqState::Streaming => Some(r.last_activity + idle),
            ReqState::WaitingToken => None,
        });
        let token = self
            .token_fetching
            .then_some(self.token_since + self.config.token_timeout_ms);
        let gov = self.gov.as_ref().and_then(|g| g.next_wake());
        let flush = self.flush_due.filter(|_| self.messages_dirty);
        requests
            .chain(token)
            .chain(gov)
            .chain(flush)
            .reduce(f64::min)
    }

    /// The next effect to perform, in order.
    pub fn poll(&mut self) -> Option<Effect> {
        let effect = self.effects.pop_front();
        self.batch_start = self.batch_start.saturating_sub(1);
        effect
    }

    /// Replace every token seen by this machine with `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if !s.is_empty() && out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        out
    }

    // -- batching -----------------------------------------------------------------------------

    /// Record the driver's clocks at an entry point; returns the monotonic time, the one every
    /// timer and duration uses.
    fn at(&mut self, now: impl Into<Now>) -> f64 {
        let Now { mono, wall } = now.into();
        if mono.is_finite() && mono > self.last_now {
            self.last_now = mono;
        }
        if mono.is_finite() && wall.is_finite() {
            self.wall_offset = wall - mono;
        }
        mono
    }

    /// The wall clock (epoch ms) at monotonic time `mono`, as of the latest entry point: for
    /// token expiry, HTTP dates and timestamps sent on the wire, never for a timer.
    fn wall(&self, mono: f64) -> f64 {
        mono + self.wall_offset
    }

    fn batch<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.batch_start = self.effects.len();
        let r = f(self);
        if self.messages_dirty && !self.throttled() {
            self.messages_dirty = false;
            self.flush_due = None;
            self.last_flush = self.last_now;
            if let Some(t) = self.turn.as_mut() {
                t.shown_assistant = t.assistant.is_some();
            }
            let at = self.batch_start.min(self.effects.len());
            self.effects.insert(at, Effect::MessagesChanged);
        }
        r
    }

    /// `throttleMs`: hold back a batch that only streamed more text into an assistant message
    /// already shown, until the throttle interval since the last delivery has passed.
    fn throttled(&mut self) -> bool {
        let throttle = self.config.throttle_ms;
        let quiet = self.effects.len() == self.batch_start; // nothing but message changes
        let shown = self.turn.as_ref().is_some_and(|t| t.shown_assistant);
        if throttle <= 0.0 || !quiet || !shown || self.last_now >= self.last_flush + throttle {
            return false;
        }
        self.flush_due = Some(self.last_flush + throttle);
        true
    }

    fn emit(&mut self, effect: Effect) {
        self.effects.push_back(effect);
    }

    fn event(&mut self, kind: &'static str, data: Value) {
        self.emit(Effect::Event(AgentEvent { kind, data }));
    }

    fn touch(&mut self, index: usize) {
        self.rev += 1;
        if let Some(slot) = self.messages.get_mut(index) {
            slot.rev = self.rev;
        }
        self.changed_from = self.changed_from.min(index);
        self.messages_dirty = true;
    }

    /// The index of the first message that may have changed (been added, replaced or
    /// removed) since the last call; resets the mark. Lets the skin skip the unchanged prefix,
    /// so its cost per read does not grow with the conversation.
    pub fn take_changed_from(&mut self) -> usize {
        core::mem::replace(&mut self.changed_from, self.messages.len())
    }

    fn push_message(&mut self, message: AgentMessage) -> usize {
        self.rev += 1;
        let id = self.next_message_id;
        self.next_message_id += 1;
        self.messages.push(MessageSlot {
            id,
            rev: self.rev,
            message,
        });
        self.changed_from = self.changed_from.min(self.messages.len() - 1);
        self.messages_dirty = true;
        self.messages.len() - 1
    }

    fn set_thread_id(&mut self, id: Option<String>) {
        if self.thread_id != id {
            self.thread_id = id.clone();
            self.emit(Effect::ThreadIdChanged(id));
        }
    }

    fn thread_id_value(&self) -> Value {
        self.thread_id.as_deref().map_or(Value::Null, |t| jv!(t))
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    // -- user actions -------------------------------------------------------------------------

    /// `sendMessage(text)`. `Ok(None)`: blank text, nothing happened.
    pub fn send_message(
        &mut self,
        text: &str,
        now: impl Into<Now>,
    ) -> Result<Option<TurnId>, Busy> {
        let now_ms = self.at(now);
        if js_trim_is_empty(text) {
            return Ok(None);
        }
        if self.turn.is_some() {
            return Err(Busy);
        }
        Ok(Some(self.batch(|m| {
            m.push_message(AgentMessage::User {
                content: text.to_owned(),
            });
            let turn = m.fresh_id();
            let run_id = m.rng.uuid_v4();
            m.turn = Some(Turn {
                run_id,
                shown_assistant: false,
                id: turn,
                assistant: None,
                step: Vec::new(),
                pending_high: 0,
                interrupted: Vec::new(),
            });
            m.emit(Effect::StreamingChanged(true));
            m.event(
                "message_sent",
                jv!({ "messageLength": text.encode_utf16().count() }),
            );
            m.start_chat(ChatInput::UserMessage(text.to_owned()), now_ms);
            turn
        })))
    }

    /// `stopGeneration()`.
    pub fn stop(&mut self) {
        if self.turn.is_some() {
            self.batch(|m| m.end_turn_stopped(true));
        }
    }

    /// `resetConversation()`.
    pub fn reset(&mut self) {
        self.batch(Self::reset_inner);
    }

    fn reset_inner(&mut self) {
        if self.turn.is_some() {
            self.end_turn_stopped(false);
        }
        if !self.messages.is_empty() {
            self.messages = Vec::new(); // not clear(): give the capacity back too
            self.changed_from = 0;
            self.rev += 1;
            self.messages_dirty = true;
        }
        self.set_thread_id(None);
        self.gov_new_session();
        self.event("conversation_reset", jv!({}));
    }

    /// `clearSession()`: forget the cached token.
    pub fn clear_session(&mut self) {
        self.token = None;
    }

    /// `approveToolCall(id)`: only acts on a call that is `approval_requested` (and not held
    /// by a governance reviewer: only the reviewer can release that one).
    pub fn approve(&mut self, call_id: &str, now: impl Into<Now>) {
        let now_ms = self.at(now);
        let Some(call) = self.current_call(call_id) else {
            return;
        };
        let held = call
            .guardian
            .as_ref()
            .is_some_and(|g| g.status == "pending");
        if call.status != ToolCallStatus::ApprovalRequested || held {
            return;
        }
        let (name, arguments) = (call.name.clone(), call.arguments.clone());
        self.batch(|m| {
            m.event(
                "tool_approved",
                jv!({"toolName": name, "toolCallId": call_id}),
            );
            m.gov_approval(&name, true, None, now_ms);
            m.update_call(call_id, |c| c.status = ToolCallStatus::Executing);
            m.emit(Effect::RunTool {
                call_id: call_id.to_owned(),
                name,
                arguments,
            });
        });
    }

    /// `rejectToolCall(id)`: only acts on a call that is `approval_requested`.
    pub fn reject(&mut self, call_id: &str, now: impl Into<Now>) {
        let now_ms = self.at(now);
        let Some(call) = self.current_call(call_id) else {
            return;
        };
        if call.status != ToolCallStatus::ApprovalRequested {
            return;
        }
        let name = call.name.clone();
        self.batch(|m| {
            m.gov_cancel_wait(call_id);
            m.update_call(call_id, |c| c.status = ToolCallStatus::Denied);
            m.event(
                "tool_denied",
                jv!({"toolName": name, "toolCallId": call_id}),
            );
            m.gov_approval(&name, false, None, now_ms);
            m.call_settled(call_id, now_ms);
            m.check_step_complete(now_ms);
        });
    }

    // -- history ------------------------------------------------------------------------------

    fn start_history(&mut self, call: HistoryCall, now_ms: f64) -> Result<OpId, HistoryError> {
        if !self.config.enable_history {
            return Err(HistoryError::Disabled);
        }
        Ok(self.batch(|m| {
            let op = m.fresh_id();
            m.new_request(Purpose::History { op, call }, now_ms);
            op
        }))
    }

    pub fn list_threads(
        &mut self,
        limit: Option<u32>,
        cursor: Option<String>,
        now: impl Into<Now>,
    ) -> Result<OpId, HistoryError> {
        let now_ms = self.at(now);
        self.start_history(HistoryCall::List { limit, cursor }, now_ms)
    }

    pub fn resume_thread(
        &mut self,
        thread_id: &str,
        now: impl Into<Now>,
    ) -> Result<OpId, HistoryError> {
        let now_ms = self.at(now);
        if self.config.enable_history && self.turn.is_some() {
            return Err(HistoryError::Busy);
        }
        self.start_history(
            HistoryCall::Get {
                thread_id: thread_id.to_owned(),
            },
            now_ms,
        )
    }

    pub fn delete_thread(
        &mut self,
        thread_id: &str,
        now: impl Into<Now>,
    ) -> Result<OpId, HistoryError> {
        let now_ms = self.at(now);
        self.start_history(
            HistoryCall::Delete {
                thread_id: thread_id.to_owned(),
            },
            now_ms,
        )
    }

    fn finish_history(&mut self, op: OpId, call: HistoryCall, body: &str) {
        let parsed: Option<Value> = if crate::text::trim(body).is_empty() {
            Some(Value::Null)
        } else {
            crate::json::parse(body).ok()
        };
        let result = match (call, parsed) {
            (HistoryCall::List { .. }, Some(v)) => protocol::parse_thread_list(&v).ok_or(()),
            (HistoryCall::Get { thread_id }, Some(v)) => {
                match protocol::parse_thread_messages(&v, &self.config) {
                    Some(_) if self.turn.is_some() => {
                        self.emit(Effect::HistoryDone {
                            op,
                            result: Err(HistoryError::Busy),
                        });
                        return;
                    }
                    Some(messages) => {
                        self.messages.clear();
                        self.changed_from = 0;
                        self.rev += 1;
                        for message in messages {
                            self.push_message(message);
                        }
                        self.messages_dirty = true;
                        self.set_thread_id(Some(thread_id.clone()));
                        self.event("thread_resumed", jv!({ "threadId": thread_id }));
                        Ok(Value::Null)
                    }
                    None => Err(()),
                }
            }
            (HistoryCall::Delete { thread_id }, _) => {
                if self.thread_id.as_deref() == Some(thread_id.as_str()) {
                    self.reset_inner();
                }
                self.event("thread_deleted", jv!({ "threadId": thread_id }));
                Ok(Value::Null)
            }
            (_, None) => Err(()),
        };
        let result = result.map_err(|()| HistoryError::Failed(UNEXPECTED_RESPONSE.into()));
        self.emit(Effect::HistoryDone { op, result });
    }

    // -- requests, tokens, retries -----------------------------------------------------------

    fn start_chat(&mut self, input: ChatInput, now_ms: f64) {
        let Some(turn) = self.turn.as_ref().map(|t| t.id) else {
            return;
        };
        let body = chat_body(&self.config, self.thread_id.as_deref(), &input);
        let idempotency_key = self.rng.uuid_v4();
        self.new_request(
            Purpose::Chat {
                turn,
                body,
                idempotency_key,
            },
            now_ms,
        );
    }

    fn new_request(&mut self, purpose: Purpose, now_ms: f64) {
        let id = self.fresh_id();
        self.requests.push(Request {
            id,
            purpose,
            state: ReqState::WaitingToken,
            retries: 0,
            retried_401: false,
            refreshed: false,
            token_used: None,
            decoder: None,
            last_activity: now_ms,
        });
        self.dispatch(id, now_ms);
    }

    fn request_index(&self, req: ReqId) -> Option<usize> {
        self.requests.iter().position(|r| r.id == req)
    }

    /// Send a request now if a usable token is cached, else wait for one.
    fn dispatch(&mut self, req: ReqId, now_ms: f64) {
        let Some(i) = self.request_index(req) else {
            return;
        };
        if let Some(token) = &self.token {
            if token.expires_at_ms - self.wall(now_ms) >= TOKEN_REFRESH_MARGIN_MS
                || self.requests[i].refreshed
            {
                let token = token.value.clone();
                self.send(i, &token, now_ms);
                return;
            }
            self.token = None;
        }
        self.requests[i].state = ReqState::WaitingToken;
        if !self.token_fetching {
            self.token_fetching = true;
            self.token_since = now_ms;
            self.emit(Effect::GetToken);
        }
    }

    fn send(&mut self, i: usize, token: &str, now_ms: f64) {
        let r = &mut self.requests[i];
        r.state = ReqState::InFlight;
        r.last_activity = now_ms;
        r.token_used = Some(token.to_owned());
        let request = match &r.purpose {
            Purpose::Chat {
                body,
                idempotency_key,
                ..
            } => protocol::chat_request(&self.config, body, token, idempotency_key),
            Purpose::History { call, .. } => protocol::history_request(&self.config, call, token),
        };
        let req = r.id;
        self.emit(Effect::Fetch { req, request });
    }

    /// What `getSessionToken()` gave: its resolved value, or the error text of its failure.
    pub fn handle_token(&mut self, result: Result<Value, String>, now: impl Into<Now>) {
        let now_ms = self.at(now);
        self.batch(|m| {
            m.token_fetching = false;
            let token = result.and_then(|v| protocol::parse_token(&v));
            let waiting: Vec<ReqId> = m
                .requests
                .iter()
                .filter(|r| r.state == ReqState::WaitingToken)
                .map(|r| r.id)
                .collect();
            match token {
                Ok(token) => {
                    m.secrets.retain(|s| *s != token.value);
                    m.secrets.push(token.value.clone());
                    if m.secrets.len() > 4 {
                        m.secrets.remove(0);
                    }
                    m.token = Some(token);
                    for req in waiting {
                        if let Some(i) = m.request_index(req) {
                            m.requests[i].refreshed = true;
                        }
                        m.dispatch(req, now_ms);
                    }
                }
                Err(cause) => {
                    let text = ["Could not get a session token: ", &m.scrub(&cause)].concat();
                    m.fail_waiting_for_token(&text);
                }
            }
        });
    }

    fn fail_waiting_for_token(&mut self, text: &str) {
        let waiting: Vec<ReqId> = self
            .requests
            .iter()
            .filter(|r| r.state == ReqState::WaitingToken)
            .map(|r| r.id)
            .collect();
        for req in waiting {
            self.fail_request(req, text.to_owned());
        }
    }

    fn take_request(&mut self, req: ReqId) -> Option<Request> {
        let i = self.request_index(req)?;
        Some(self.requests.remove(i))
    }

    fn cancel_request(&mut self, req: ReqId) {
        if let Some(r) = self.take_request(req) {
            if matches!(r.state, ReqState::InFlight | ReqState::Streaming) {
                self.emit(Effect::CancelFetch { req });
            }
        }
    }

    fn fail_request(&mut self, req: ReqId, text: String) {
        let Some(r) = self.take_request(req) else {
            return;
        };
        if matches!(r.state, ReqState::InFlight | ReqState::Streaming) {
            self.emit(Effect::CancelFetch { req });
        }
        match r.purpose {
            Purpose::Chat { turn, .. } => self.fail_turn(turn, &text),
            Purpose::History { op, .. } => {
                let text = self.scrub(&text);
                self.emit(Effect::HistoryDone {
                    op,
                    result: Err(HistoryError::Failed(text)),
                })
            }
        }
    }

    /// Retry with a delay if the shared budget allows; `false` when it is spent.
    fn retry_later(&mut self, i: usize, delay_ms: Option<f64>, now_ms: f64) -> bool {
        let retry = self.config.retry;
        let r = &mut self.requests[i];
        if r.retries >= retry.max_retries {
            return false;
        }
        r.retries += 1;
        let delay = delay_ms.unwrap_or_else(|| {
            let cap = retry
                .max_delay_ms
                .min(retry.base_delay_ms * crate::fmath::powi(2.0, r.retries as i32 - 1));
            self.rng.next_f64() * cap.max(0.0)
        });
        r.state = ReqState::Backoff {
            until: now_ms + delay,
        };
        true
    }

    /// A timer fired: send every request whose back-off is over, end requests that went
    /// silent for `idle_timeout_ms`, and give up on a `getSessionToken()` that hangs.
    pub fn handle_timer(&mut self, now: impl Into<Now>) {
        let now_ms = self.at(now);
        self.batch(|m| {
            m.gov_timer(now_ms);
            let idle = m.config.idle_timeout_ms;
            let mut due = Vec::new();
            let mut silent = Vec::new();
            for r in &m.requests {
                match r.state {
                    ReqState::Backoff { until } if until <= now_ms => due.push(r.id),
                    ReqState::InFlight | ReqState::Streaming
                        if r.last_activity + idle <= now_ms =>
                    {
                        silent.push((r.id, r.state == ReqState::Streaming))
                    }
                    _ => {}
                }
            }
            for req in due {
                m.dispatch(req, now_ms);
            }
            let secs = crate::fmath::round(idle / 1000.0) as u64;
            for (req, streaming) in silent {
                if streaming {
                    m.fail_request(
                        req,
                        ["The response stalled: no data for ", &uint(secs), " s"].concat(),
                    );
                    continue;
                }
                // Nothing came back at all: like a network error, retried within the budget.
                m.emit(Effect::CancelFetch { req });
                let Some(i) = m.request_index(req) else {
                    continue;
                };
                if !m.retry_later(i, None, now_ms) {
                    let text = ["Network error: no response within ", &uint(secs), " s"].concat();
                    m.fail_request(req, text);
                }
            }
            if m.token_fetching && m.token_since + m.config.token_timeout_ms <= now_ms {
                m.token_fetching = false;
                let secs = crate::fmath::round(m.config.token_timeout_ms / 1000.0) as u64;
                let text = [
                    "Could not get a session token: getSessionToken() did not settle within ",
                    &uint(secs),
                    " s",
                ]
                .concat();
                m.fail_waiting_for_token(&text);
            }
        });
    }

    /// `fetch` rejected before any response byte.
    pub fn handle_network_error(&mut self, req: ReqId, detail: &str, now: impl Into<Now>) {
        let now_ms = self.at(now);
        self.batch(|m| {
            if m.gov_response(req, None, None, detail, now_ms) {
                return;
            }
            let Some(i) = m.request_index(req) else {
                return;
            };
            if m.requests[i].state != ReqState::InFlight {
                return;
            }
            if !m.retry_later(i, None, now_ms) {
                let text = ["Network error: ", &m.scrub(detail)].concat();
                m.fail_request(req, text);
            }
        });
    }

    /// A complete response that is not streamed: any non-2xx, or any history answer.
    /// `retry_after` is the `Retry-After` header, if any.
    pub fn handle_response(
        &mut self,
        req: ReqId,
        status: u16,
        retry_after: Option<&str>,
        body: &str,
        now: impl Into<Now>,
    ) {
        let now_ms = self.at(now);
        self.batch(|m| {
            if m.gov_response(req, Some(status), retry_after, body, now_ms) {
                return;
            }
            let Some(i) = m.request_index(req) else {
                return;
            };
            if m.requests[i].state != ReqState::InFlight {
                return;
            }
            if (200..300).contains(&status) {
                if matches!(m.requests[i].purpose, Purpose::Chat { .. }) {
                    // A chat answer normally streams; a whole one is read as a one-chunk stream.
                    m.open_stream(req, None);
                    m.feed(req, body.as_bytes(), now_ms, true);
                } else if let Some(Request {
                    purpose: Purpose::History { op, call },
                    ..
                }) = m.take_request(req)
                {
                    m.finish_history(op, call, body);
                }
                return;
            }
            let failure = [
                "Agent request failed: ",
                &uint(status.into()),
                " ",
                truncate_chars(body, MAX_BODY_IN_ERROR),
            ]
            .concat();
            let failure = crate::text::trim_end(&failure).to_owned();
            match status {
                401 if !m.requests[i].retried_401 => {
                    let r = &mut m.requests[i];
                    r.retried_401 = true;
                    let used = r.token_used.take();
                    if m.token
                        .as_ref()
                        .map(|t| Some(&t.value) == used.as_ref())
                        .unwrap_or(false)
                    {
                        m.token = None;
                    }
                    m.dispatch(req, now_ms);
                }
                429 => {
                    let wall = m.wall(now_ms);
                    let wait = retry_after.and_then(|v| crate::time::parse_retry_after(v, wall));
                    if wait.is_some_and(|w| w > m.config.retry.max_retry_after_ms)
                        || !m.retry_later(i, wait, now_ms)
                    {
                        m.fail_request(req, failure);
                    }
                }
                502..=504 => {
                    if !m.retry_later(i, None, now_ms) {
                        m.fail_request(req, failure);
                    }
                }
                _ => match (&m.requests[i].purpose, status) {
                    (Purpose::History { op, .. }, 403 | 404) => {
                        let op = *op;
                        let err = if status == 404 {
                            Some(HistoryError::ThreadNotFound)
                        } else {
                            crate::json::parse(body)
                                .ok()
                                .filter(|v| {
                                    v.get("code").and_then(Value::as_str)
                                        == Some("session_without_owner")
                                })
                                .map(|_| HistoryError::SessionWithoutOwner)
                        };
                        match err {
                            Some(err) => {
                                m.take_request(req);
                                m.emit(Effect::HistoryDone {
                                    op,
                                    result: Err(err),
                                });
                            }
                            None => m.fail_request(req, failure),
                        }
                    }
                    _ => m.fail_request(req, failure),
                },
            }
        });
    }

    /// A 2xx chat response: its body is a stream of events, framed as `content_type` says.
    pub fn handle_stream_open(&mut self, req: ReqId, content_type: Option<&str>) {
        self.open_stream(req, content_type);
    }

    fn open_stream(&mut self, req: ReqId, content_type: Option<&str>) {
        if let Some(i) = self.request_index(req) {
            let r = &mut self.requests[i];
            if r.state == ReqState::InFlight && matches!(r.purpose, Purpose::Chat { .. }) {
                r.state = ReqState::Streaming;
                r.decoder = Some(StreamDecoder::new(Framing::from_content_type(content_type)));
            }
        }
    }

    /// Bytes of a streaming response, exactly as read (a read may end anywhere).
    pub fn handle_chunk(&mut self, req: ReqId, bytes: &[u8], now: impl Into<Now>) {
        let now_ms = self.at(now);
        self.batch(|m| m.feed(req, bytes, now_ms, false));
    }

    /// The streaming response ended normally.
    pub fn handle_stream_end(&mut self, req: ReqId, now: impl Into<Now>) {
        let now_ms = self.at(now);
        self.batch(|m| m.feed(req, &[], now_ms, true));
    }

    /// Reading the stream failed after it started: never retried.
    pub fn handle_stream_error(&mut self, req: ReqId) {
        self.batch(|m| {
            if m.request_index(req).is_some() {
                m.fail_request(req, STREAM_ENDED.into());
            }
        });
    }

    fn feed(&mut self, req: ReqId, bytes: &[u8], now_ms: f64, end: bool) {
        let Some(i) = self.request_index(req) else {
            return;
        };
        let r = &mut self.requests[i];
        let Purpose::Chat { turn, .. } = r.purpose else {
            return;
        };
        if !bytes.is_empty() {
            r.last_activity = now_ms;
        }
        let Some(decoder) = r.decoder.as_mut() else {
            return;
        };
        let mut frames = Vec::new();
        let mut result = decoder.feed(bytes, &mut frames);
        if end && result.is_ok() {
            result = decoder.finish(&mut frames);
        }
        for frame in frames {
            let event = match parse_event(frame) {
                Ok(e) => e,
                Err(text) => return self.fail_request(req, text.into()),
            };
            match self.apply_event(turn, event) {
                Err(text) => return self.fail_request(req, text.into()),
                Ok(None) => {}
                Ok(Some(terminal)) => {
                    // Anything after a terminal event is ignored; the body is cancelled.
                    self.cancel_request(req);
                    match terminal {
                        Terminal::RequiresAction => self.start_step(now_ms),
                        Terminal::Done => self.complete_turn(),
                        Terminal::Error(reason) => self.fail_turn(turn, &reason),
                    }
                    return;
                }
            }
        }
        if result.is_err() {
            self.fail_request(req, UNEXPECTED_RESPONSE.into());
        } else if end {
            self.fail_request(req, STREAM_ENDED.into());
        }
    }

    // -- the turn -----------------------------------------------------------------------------

    fn assistant_index(&mut self) -> Option<usize> {
        let turn = self.turn.as_ref()?;
        if let Some(i) = turn.assistant {
            return Some(i);
        }
        let i = self.push_message(AgentMessage::assistant());
        if let Some(t) = self.turn.as_mut() {
            t.assistant = Some(i);
        }
        Some(i)
    }

    fn current_assistant(&self) -> Option<&AgentMessage> {
        let i = self.turn.as_ref()?.assistant?;
        self.messages.get(i).map(|s| &s.message)
    }

    fn current_call(&self, call_id: &str) -> Option<&ToolCallDisplay> {
        self.current_assistant()?
            .tool_calls()
            .find(|c| c.id == call_id)
    }

    fn update_call(&mut self, call_id: &str, f: impl FnOnce(&mut ToolCallDisplay)) {
        let Some(i) = self.turn.as_ref().and_then(|t| t.assistant) else {
            return;
        };
        if let Some(call) = self
            .messages
            .get_mut(i)
            .and_then(|s| s.message.tool_call_mut(call_id))
        {
            f(call);
            self.touch(i);
        }
    }

    /// Apply one stream event to the running turn. `Err` is a protocol failure.
    fn apply_event(
        &mut self,
        turn: TurnId,
        event: StreamEvent,
    ) -> Result<Option<Terminal>, &'static str> {
        if self.turn.as_ref().map(|t| t.id) != Some(turn) {
            return Ok(None);
        }
        match event {
            StreamEvent::StreamStart { thread_id } => self.set_thread_id(Some(thread_id)),
            // An empty delta leaves a held half held (JS: `"a\ud83d" + "" + "\ude00"`).
            StreamEvent::TextDelta { text, .. } if text.is_empty() => {}
            StreamEvent::TextDelta { mut text, halves } => {
                let mut held = 0;
                if halves.trail_high != 0 && text.ends_with('\u{FFFD}') {
                    text.truncate(text.len() - '\u{FFFD}'.len_utf8());
                    held = halves.trail_high;
                }
                let pending = self
                    .turn
                    .as_mut()
                    .map_or(0, |t| core::mem::replace(&mut t.pending_high, held));
                if pending != 0 {
                    if halves.lead_low != 0 && text.starts_with('\u{FFFD}') {
                        let joined = crate::json::join_halves(pending, halves.lead_low);
                        text.replace_range(
                            ..'\u{FFFD}'.len_utf8(),
                            joined.encode_utf8(&mut [0; 4]),
                        );
                    } else {
                        text.insert(0, '\u{FFFD}');
                    }
                }
                if !text.is_empty() {
                    if let Some(i) = self.assistant_index() {
                        self.messages[i].message.append_text(&text);
                        self.touch(i);
                    }
                }
            }
            StreamEvent::ToolCall {
                id,
                name,
                arguments,
                executor,
            } => {
                self.flush_half();
                if self.current_call(&id).is_some() {
                    return Err(UNEXPECTED_RESPONSE);
                }
                let client = executor == Executor::Client;
                let needs_approval =
                    client && self.config.tool(&name).is_some_and(|t| t.needs_approval);
                let call = ToolCallDisplay {
                    id,
                    display_name: self.config.display_name(&name),
                    name,
                    arguments,
                    status: if client {
                        ToolCallStatus::Pending
                    } else {
                        ToolCallStatus::Executing
                    },
                    result: None,
                    error: None,
                    duration_ms: None,
                    sources: None,
                    needs_approval: needs_approval.then_some(true),
                    guardian: None,
                    executor: Some(executor),
                };
                if let Some(i) = self.assistant_index() {
                    self.messages[i].message.push_tool_call(call);
                    self.touch(i);
                }
            }
            StreamEvent::ToolResult {
                id,
                completed,
                result,
                error,
                sources,
                duration_ms,
            } => {
                let call = self.current_call(&id).ok_or(UNEXPECTED_RESPONSE)?;
                if call.executor != Some(Executor::Server) || !call.status.is_open() {
                    return Err(UNEXPECTED_RESPONSE);
                }
                self.update_call(&id, |c| {
                    c.status = if completed {
                        ToolCallStatus::Completed
                    } else {
                        ToolCallStatus::Error
                    };
                    c.result = result;
                    c.error = error;
                    c.sources = sources;
                    c.duration_ms = duration_ms;
                });
                let now_ms = self.last_now;
                self.call_settled(&id, now_ms);
            }
            StreamEvent::RequiresAction { tool_call_ids } => {
                let assistant = self.current_assistant().ok_or(UNEXPECTED_RESPONSE)?;
                let mut order = Vec::with_capacity(tool_call_ids.len());
                for id in &tool_call_ids {
                    let position = assistant.tool_calls().position(|c| {
                        &c.id == id
                            && c.executor == Some(Executor::Client)
                            && c.status == ToolCallStatus::Pending
                    });
                    let position = position.ok_or(UNEXPECTED_RESPONSE)?;
                    // Kept in order as it is built (no sort routine in the .wasm for this).
                    let at = order.partition_point(|(p, _)| *p < position);
                    if order.get(at).is_some_and(|(p, _)| *p == position) {
                        return Err(UNEXPECTED_RESPONSE);
                    }
                    order.insert(at, (position, id.clone()));
                }
                if order.is_empty() {
                    return Err(UNEXPECTED_RESPONSE);
                }
                if let Some(t) = self.turn.as_mut() {
                    t.step = order.into_iter().map(|(_, id)| id).collect();
                }
                return Ok(Some(Terminal::RequiresAction));
            }
            StreamEvent::Done { thread_id } => {
                if let Some(t) = thread_id {
                    self.set_thread_id(Some(t));
                }
                return Ok(Some(Terminal::Done));
            }
            StreamEvent::Error { reason } => return Ok(Some(Terminal::Error(reason))),
            StreamEvent::Ignored => {}
        }
        Ok(None)
    }

    /// `requires_action` arrived: run, refuse or ask approval for each named call.
    fn start_step(&mut self, now_ms: f64) {
        let step = self
            .turn
            .as_ref()
            .map(|t| t.step.clone())
            .unwrap_or_default();
        for id in step {
            let Some(call) = self.current_call(&id) else {
                continue;
            };
            let (name, arguments) = (call.name.clone(), call.arguments.clone());
            let check = match self.config.tool(&name) {
                None => Err(["Unknown tool: ", &name].concat()),
                Some(tool) => match &self.args_check {
                    Some(check) => check(tool, &arguments),
                    #[cfg(not(target_arch = "wasm32"))]
                    None => schema::validate(&tool.parameters, &arguments),
                    #[cfg(target_arch = "wasm32")]
                    None => Ok(()),
                }
                .map(|()| tool.needs_approval)
                .map_err(|e| ["Invalid arguments for tool ", &name, ": ", &e].concat()),
            };
            match check {
                Err(error) => {
                    self.update_call(&id, |c| {
                        c.status = ToolCallStatus::Error;
                        c.error = Some(error.clone());
                        c.duration_ms = Some(0.0);
                    });
                    self.event(
                        "tool_executed",
                        jv!({"toolName": name, "status": "error", "durationMs": 0, "error": error}),
                    );
                }
                Ok(_) => {
                    if !self.gov_before_run(&id, now_ms) {
                        self.proceed_call(&id, now_ms);
                    }
                }
            }
            if let Some(call) = self.current_call(&id) {
                if !call.status.is_open() {
                    self.call_settled(&id, now_ms);
                }
            }
        }
        self.check_step_complete(now_ms);
    }

    /// A client call cleared to run: ask the user first if the tool needs approval.
    fn proceed_call(&mut self, call_id: &str, _now_ms: f64) {
        let Some(call) = self.current_call(call_id) else {
            return;
        };
        let (name, arguments) = (call.name.clone(), call.arguments.clone());
        if self.config.tool(&name).is_some_and(|t| t.needs_approval) {
            self.update_call(call_id, |c| c.status = ToolCallStatus::ApprovalRequested);
        } else {
            self.update_call(call_id, |c| c.status = ToolCallStatus::Executing);
            self.emit(Effect::RunTool {
                call_id: call_id.to_owned(),
                name,
                arguments,
            });
        }
    }

    /// A call settled: governance records it (`tool_api`).
    fn call_settled(&mut self, call_id: &str, now_ms: f64) {
        if self.gov.is_none() {
            return;
        }
        if let Some(call) = self.current_call(call_id) {
            let (name, arguments, status) =
                (call.name.clone(), call.arguments.clone(), call.status);
            self.gov_tool_settled(&name, &arguments, status, now_ms);
        }
    }

    /// A client tool's `execute` settled: its value (`None` when it resolved `undefined`:
    /// the call then has no `result`, and the wire sends `null`), or the error text.
    pub fn handle_tool_result(
        &mut self,
        call_id: &str,
        outcome: Result<Option<Value>, String>,
        duration_ms: f64,
        now: impl Into<Now>,
    ) {
        let now_ms = self.at(now);
        let Some(call) = self.current_call(call_id) else {
            return;
        };
        if call.status != ToolCallStatus::Executing {
            return; // stopped, reset or failed meanwhile: a late result is dropped
        }
        let name = call.name.clone();
        self.batch(|m| {
            let duration_ms = duration_ms.max(0.0);
            let data = match outcome {
                Ok(value) => {
                    m.update_call(call_id, |c| {
                        c.status = ToolCallStatus::Completed;
                        c.result = value;
                        c.duration_ms = Some(duration_ms);
                    });
                    jv!({"toolName": name, "status": "completed", "durationMs": duration_ms})
                }
                Err(error) => {
                    let error = m.scrub(&error);
                    m.update_call(call_id, |c| {
                        c.status = ToolCallStatus::Error;
                        c.error = Some(error.clone());
                        c.duration_ms = Some(duration_ms);
                    });
                    jv!({"toolName": name, "status": "error", "durationMs": duration_ms, "error": error})
                }
            };
            m.event("tool_executed", data);
            m.call_settled(call_id, now_ms);
            m.check_step_complete(now_ms);
        });
    }

    /// When every call of the step settled, send their results and read the next stream.
    fn check_step_complete(&mut self, now_ms: f64) {
        let Some(turn) = self.turn.as_ref() else {
            return;
        };
        if turn.step.is_empty() {
            return;
        }
        let Some(assistant) = self.current_assistant() else {
            return;
        };
        let mut results = Vec::with_capacity(turn.step.len());
        for id in &turn.step {
            let Some(call) = assistant.tool_calls().find(|c| &c.id == id) else {
                return;
            };
            results.push(match call.status {
                ToolCallStatus::Completed => ToolResultItem::Completed {
                    id: id.clone(),
                    output: call.result.clone().unwrap_or(Value::Null),
                },
                ToolCallStatus::Error => ToolResultItem::Error {
                    id: id.clone(),
                    error: call.error.clone().unwrap_or_default(),
                },
                ToolCallStatus::Stopped if turn.interrupted.contains(id) => ToolResultItem::Error {
                    id: id.clone(),
                    error: INTERRUPTED.into(),
                },
                ToolCallStatus::Denied | ToolCallStatus::Stopped => {
                    ToolResultItem::Denied { id: id.clone() }
                }
                _ => return, // still open
            });
        }
        if let Some(t) = self.turn.as_mut() {
            t.step.clear();
        }
        self.start_chat(ChatInput::ToolResults(results), now_ms);
    }

    /// Mark every open call of the turn with `status` (and `error`), aborting running tools.
    fn close_open_calls(&mut self, status: ToolCallStatus, error: Option<&str>) {
        let Some(i) = self.turn.as_ref().and_then(|t| t.assistant) else {
            return;
        };
        let mut aborted = Vec::new();
        let mut changed = false;
        let mut settled = Vec::new();
        for call in self.messages[i].message.tool_calls_mut() {
            if call.status.is_open() {
                settled.push(call.id.clone());
                if call.status == ToolCallStatus::Executing
                    && call.executor == Some(Executor::Client)
                {
                    aborted.push(call.id.clone());
                }
                call.status = status;
                if let Some(e) = error {
                    call.error = Some(e.to_owned());
                }
                changed = true;
            }
        }
        if changed {
            self.touch(i);
        }
        for call_id in aborted {
            self.emit(Effect::AbortTool { call_id });
        }
        self.gov_abandon_turn();
        let now_ms = self.last_now;
        for call_id in settled {
            self.call_settled(&call_id, now_ms);
        }
    }

    fn cancel_turn_requests(&mut self, turn: TurnId) {
        let reqs: Vec<ReqId> = self
            .requests
            .iter()
            .filter(|r| matches!(r.purpose, Purpose::Chat { turn: t, .. } if t == turn))
            .map(|r| r.id)
            .collect();
        for req in reqs {
            self.cancel_request(req);
        }
    }

    /// A high surrogate held back from the last text delta whose low half never came: it
    /// stays U+FFFD, as the page would show it.
    fn flush_half(&mut self) {
        let Some(t) = self.turn.as_mut() else { return };
        if core::mem::take(&mut t.pending_high) == 0 {
            return;
        }
        if let Some(i) = self.assistant_index() {
            self.messages[i].message.append_text("\u{FFFD}");
            self.touch(i);
        }
    }

    fn end_turn(&mut self, event: Option<(&'static str, Value)>) {
        self.flush_half();
        let Some(turn) = self.turn.take() else { return };
        self.cancel_turn_requests(turn.id);
        self.emit(Effect::StreamingChanged(false));
        if let Some((kind, data)) = event {
            self.event(kind, data);
        }
        self.emit(Effect::TurnEnded { turn: turn.id });
    }

    fn complete_turn(&mut self) {
        self.close_open_calls(ToolCallStatus::Stopped, None);
        let count = self
            .current_assistant()
            .map_or(0, |m| m.tool_calls().count());
        let data = jv!({"threadId": self.thread_id_value(), "toolCallCount": count});
        self.end_turn(Some(("response_completed", data)));
    }

    fn end_turn_stopped(&mut self, with_event: bool) {
        self.close_open_calls(ToolCallStatus::Stopped, None);
        let event = with_event.then(|| {
            (
                "generation_stopped",
                jv!({"threadId": self.thread_id_value()}),
            )
        });
        self.end_turn(event);
    }

    /// SPEC §4: the turn failed; what was shown stays, the error is appended.
    fn fail_turn(&mut self, turn: TurnId, text: &str) {
        if self.turn.as_ref().map(|t| t.id) != Some(turn) {
            return;
        }
        let text = self.scrub(text);
        self.flush_half();
        self.close_open_calls(ToolCallStatus::Error, Some(&text));
        if let Some(i) = self.assistant_index() {
            self.messages[i].message.mark_failed(&text);
            self.touch(i);
        }
        let data = jv!({"error": text, "threadId": self.thread_id_value()});
        self.end_turn(Some(("response_error", data)));
    }
}
