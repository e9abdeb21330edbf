//! Transcript harness for the agent state machine: owns a `Machine` with a fixed seed and a fake
//! clock, feeds it scripted inputs and records every `Effect` drained from `poll()`.
//!
//! Each action returns the batch's transcript as short strings, with request, turn and history
//! op ids renamed `r1`, `r2`, … / `t1`, … / `h1`, … in order of first appearance, so tests read
//! as the whole sequence of effects and do not depend on how the machine numbers things.
#![allow(dead_code)]

use kapa_agent_wasm::json;
use kapa_agent_wasm::json::Value;
use kapa_agent_wasm::machine::{Effect, HistoryError, Machine, OpId, ReqId, TurnId};
use kapa_agent_wasm::options::{Config, ToolSpec};
use kapa_agent_wasm::protocol::HttpRequest;

pub const SEED: u64 = 7;
pub const BASE: &str = "https://api.kapa.ai/agent/v1/projects/proj/agent/";
pub const TOKEN: &str = "tok-SECRET-aaaa";
pub const HOUR: f64 = 3_600_000.0;

pub fn config() -> Config {
    Config::new("proj", "int_123")
}

pub fn tool(
    name: &str,
    parameters: Value,
    needs_approval: bool,
    display_name: Option<&str>,
) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: format!("{name} tool"),
        parameters,
        needs_approval,
        display_name: display_name.map(str::to_owned),
    }
}

/// get_time (no args, display name), calc (requires number `a`), delete_file (needs approval).
pub fn tools_config() -> Config {
    let mut c = config();
    c.tools = vec![
        tool(
            "get_time",
            json!({"type": "object", "properties": {}}),
            false,
            Some("Clock"),
        ),
        tool(
            "calc",
            json!({"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]}),
            false,
            None,
        ),
        tool(
            "delete_file",
            json!({"type": "object", "properties": {"path": {"type": "string"}}}),
            true,
            Some("Delete"),
        ),
    ];
    c.builtin_display_names
        .insert("search_knowledge_base".into(), "Searching docs".into());
    c
}

pub struct H {
    pub m: Machine,
    pub now: f64,
    /// Every effect ever drained, in order.
    pub log: Vec<Effect>,
    /// The effects of the last action.
    pub last: Vec<Effect>,
    /// Every Fetch, in order.
    pub fetches: Vec<(ReqId, HttpRequest)>,
    reqs: Vec<ReqId>,
    turns: Vec<TurnId>,
    ops: Vec<OpId>,
    pub turn: Option<TurnId>,
}

impl H {
    pub fn new(config: Config) -> Self {
        Self::with_seed(config, SEED)
    }

    pub fn with_seed(config: Config, seed: u64) -> Self {
        H {
            m: Machine::new(config, seed),
            now: 1_000_000.0,
            log: Vec::new(),
            last: Vec::new(),
            fetches: Vec::new(),
            reqs: Vec::new(),
            turns: Vec::new(),
            ops: Vec::new(),
            turn: None,
        }
    }

    // -- labels -----------------------------------------------------------------------------

    fn label(list: &mut Vec<u64>, id: u64, prefix: &str) -> String {
        let n = match list.iter().position(|x| *x == id) {
            Some(i) => i + 1,
            None => {
                list.push(id);
                list.len()
            }
        };
        format!("{prefix}{n}")
    }

    /// The machine's id of request `rN`.
    pub fn req(&self, n: usize) -> ReqId {
        self.reqs[n - 1]
    }

    pub fn op(&self, n: usize) -> OpId {
        self.ops[n - 1]
    }

    pub fn describe(&mut self, e: &Effect) -> String {
        match e {
            Effect::GetToken => "GetToken".into(),
            Effect::Fetch { req, request } => {
                let path = request
                    .url
                    .strip_prefix(BASE)
                    .unwrap_or(&request.url)
                    .to_owned();
                format!(
                    "Fetch {} {} {}",
                    Self::label(&mut self.reqs, *req, "r"),
                    request.method,
                    path
                )
            }
            Effect::CancelFetch { req } => {
                format!("Cancel {}", Self::label(&mut self.reqs, *req, "r"))
            }
            Effect::RunTool {
                call_id,
                name,
                arguments,
            } => format!("RunTool {call_id} {name} {}", canon(arguments.clone())),
            Effect::AbortTool { call_id } => format!("AbortTool {call_id}"),
            Effect::MessagesChanged => "Messages".into(),
            Effect::StreamingChanged(b) => format!("Streaming {b}"),
            Effect::ThreadIdChanged(t) => format!("ThreadId {}", t.as_deref().unwrap_or("null")),
            Effect::Event(ev) => format!("Event {} {}", ev.kind, canon(ev.data.clone())),
            Effect::TurnEnded { turn } => {
                format!("TurnEnded {}", Self::label(&mut self.turns, *turn, "t"))
            }
            Effect::HistoryDone { op, result } => {
                let op = Self::label(&mut self.ops, *op, "h");
                match result {
                    Ok(v) => format!("HistoryDone {op} Ok {}", canon(v.clone())),
                    Err(e) => format!("HistoryDone {op} Err {e:?}"),
                }
            }
        }
    }

    /// Drain every pending effect; returns the transcript of what was drained.
    pub fn drain(&mut self) -> Vec<String> {
        let mut effects = Vec::new();
        while let Some(e) = self.m.poll() {
            effects.push(e);
        }
        let mut out = Vec::new();
        for e in &effects {
            if let Effect::Fetch { req, request } = e {
                self.fetches.push((*req, request.clone()));
            }
            out.push(self.describe(e));
        }
        self.log.extend(effects.iter().cloned());
        self.last = effects;
        out
    }

    // -- inputs -----------------------------------------------------------------------------

    pub fn advance(&mut self, ms: f64) {
        self.now += ms;
    }

    pub fn send(&mut self, text: &str) -> Vec<String> {
        let turn = self.m.send_message(text, self.now).expect("not busy");
        if let Some(t) = turn {
            self.turn = Some(t);
            Self::label(&mut self.turns, t, "t");
        }
        self.drain()
    }

    pub fn token(&mut self, value: &str, expires_at: f64) -> Vec<String> {
        self.m.handle_token(
            Ok(json!({"token": value, "expiresAt": expires_at})),
            self.now,
        );
        self.drain()
    }

    /// Answer GetToken with TOKEN valid for an hour.
    pub fn token_ok(&mut self) -> Vec<String> {
        let exp = self.now + HOUR;
        self.token(TOKEN, exp)
    }

    pub fn token_raw(&mut self, result: Result<Value, String>) -> Vec<String> {
        self.m.handle_token(result, self.now);
        self.drain()
    }

    pub fn open_sse(&mut self, n: usize) {
        self.m
            .handle_stream_open(self.req(n), Some("text/event-stream"));
    }

    pub fn open_record(&mut self, n: usize) {
        self.m
            .handle_stream_open(self.req(n), Some("application/json"));
    }

    pub fn chunk(&mut self, n: usize, bytes: &[u8]) -> Vec<String> {
        self.m.handle_chunk(self.req(n), bytes, self.now);
        self.drain()
    }

    /// Open request `rN` as SSE and feed it these events in one read.
    pub fn sse(&mut self, n: usize, events: &[(&str, Value)]) -> Vec<String> {
        self.open_sse(n);
        self.chunk(n, &sse(events))
    }

    pub fn end(&mut self, n: usize) -> Vec<String> {
        self.m.handle_stream_end(self.req(n), self.now);
        self.drain()
    }

    pub fn stream_error(&mut self, n: usize) -> Vec<String> {
        self.m.handle_stream_error(self.req(n));
        self.drain()
    }

    pub fn net_err(&mut self, n: usize, detail: &str) -> Vec<String> {
        self.m.handle_network_error(self.req(n), detail, self.now);
        self.drain()
    }

    pub fn respond(
        &mut self,
        n: usize,
        status: u16,
        retry_after: Option<&str>,
        body: &str,
    ) -> Vec<String> {
        self.m
            .handle_response(self.req(n), status, retry_after, body, self.now);
        self.drain()
    }

    pub fn tool_ok(&mut self, call: &str, value: Value, duration: f64) -> Vec<String> {
        self.m
            .handle_tool_result(call, Ok(Some(value)), duration, self.now);
        self.drain()
    }

    pub fn tool_err(&mut self, call: &str, error: &str, duration: f64) -> Vec<String> {
        self.m
            .handle_tool_result(call, Err(error.into()), duration, self.now);
        self.drain()
    }

    pub fn timer(&mut self) -> Vec<String> {
        self.m.handle_timer(self.now);
        self.drain()
    }

    pub fn stop(&mut self) -> Vec<String> {
        self.m.stop();
        self.drain()
    }

    pub fn reset(&mut self) -> Vec<String> {
        self.m.reset();
        self.drain()
    }

    pub fn approve(&mut self, id: &str) -> Vec<String> {
        self.m.approve(id, self.now);
        self.drain()
    }

    pub fn reject(&mut self, id: &str) -> Vec<String> {
        self.m.reject(id, self.now);
        self.drain()
    }

    pub fn list(
        &mut self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Vec<String>, HistoryError> {
        let op = self
            .m
            .list_threads(limit, cursor.map(str::to_owned), self.now)?;
        Self::label(&mut self.ops, op, "h");
        Ok(self.drain())
    }

    pub fn resume(&mut self, id: &str) -> Result<Vec<String>, HistoryError> {
        let op = self.m.resume_thread(id, self.now)?;
        Self::label(&mut self.ops, op, "h");
        Ok(self.drain())
    }

    pub fn delete(&mut self, id: &str) -> Result<Vec<String>, HistoryError> {
        let op = self.m.delete_thread(id, self.now)?;
        Self::label(&mut self.ops, op, "h");
        Ok(self.drain())
    }

    // -- composite steps --------------------------------------------------------------------

    /// Send `text` and answer the token request (if any): the chat request is in flight.
    pub fn start(&mut self, text: &str) -> Vec<String> {
        let mut t = self.send(text);
        if t.iter().any(|s| s == "GetToken") {
            t.extend(self.token_ok());
        }
        t
    }

    /// The number of the last request that was fetched.
    pub fn last_req(&self) -> usize {
        let id = self.fetches.last().expect("a fetch").0;
        self.reqs.iter().position(|x| *x == id).unwrap() + 1
    }

    // -- inspection -------------------------------------------------------------------------

    /// The latest Fetch of request `rN`.
    pub fn fetch(&self, n: usize) -> &HttpRequest {
        let id = self.req(n);
        &self
            .fetches
            .iter()
            .rev()
            .find(|(r, _)| *r == id)
            .expect("fetched")
            .1
    }

    pub fn fetch_count(&self, n: usize) -> usize {
        let id = self.req(n);
        self.fetches.iter().filter(|(r, _)| *r == id).count()
    }

    pub fn body(&self, n: usize) -> Value {
        kapa_agent_wasm::json::parse(self.fetch(n).body.as_deref().expect("a body"))
            .expect("JSON body")
    }

    pub fn header(&self, n: usize, name: &str) -> Option<String> {
        header(self.fetch(n), name)
    }

    /// The messages as JS would see them.
    pub fn msgs(&self) -> Value {
        canon(Value::Array(
            self.m
                .messages()
                .iter()
                .map(|s| Value::from(serde_json::to_value(&s.message).unwrap()))
                .collect(),
        ))
    }

    pub fn last_msg(&self) -> Value {
        self.msgs()
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn events(&self) -> Vec<(String, Value)> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Effect::Event(ev) => Some((ev.kind.to_owned(), canon(ev.data.clone()))),
                _ => None,
            })
            .collect()
    }

    /// The token appears in no effect, message or event except Fetch's Authorization header.
    pub fn assert_secret_confined(&self, secret: &str) {
        for e in &self.log {
            match e {
                Effect::Fetch { request, .. } => {
                    assert!(!request.url.contains(secret));
                    assert!(
                        !request.body.as_deref().unwrap_or("").contains(secret),
                        "token in body"
                    );
                    for (k, v) in &request.headers {
                        if *k != "Authorization" {
                            assert!(!v.contains(secret), "token in header {k}");
                        }
                    }
                }
                other => assert!(!format!("{other:?}").contains(secret), "token in {other:?}"),
            }
        }
        assert!(
            !self.msgs().to_string().contains(secret),
            "token in messages"
        );
    }
}

pub fn header(r: &HttpRequest, name: &str) -> Option<String> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// Numbers as JS sees them (they are doubles already, as in JS: nothing to do).
pub fn canon(v: Value) -> Value {
    v
}

/// SSE framing of these events.
pub fn sse(events: &[(&str, Value)]) -> Vec<u8> {
    let mut out = String::new();
    for (t, c) in events {
        out.push_str(&format!("event: {t}\ndata: {c}\n\n"));
    }
    out.into_bytes()
}

/// Kapa record framing of these events.
pub fn record(events: &[(&str, Value)]) -> Vec<u8> {
    let mut out = String::new();
    for (t, c) in events {
        let terminal = matches!(*t, "done" | "error" | "requires_action");
        out.push_str(
            &json!({"chunk": {"type": t, "content": c, "stream_end": terminal}}).to_string(),
        );
        out.push('\u{241E}');
    }
    out.into_bytes()
}

pub fn ev(t: &str, c: Value) -> (&str, Value) {
    (t, c)
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[allow(unused_macros)]
macro_rules! tr {
    ($($s:expr),* $(,)?) => { vec![$(String::from($s)),*] as Vec<String> };
}

/// Drive `h` to the point where a turn is streaming on a fresh request: returns its number.
pub fn started(h: &mut H, text: &str) -> usize {
    h.start(text);
    h.last_req()
}

pub fn client_call(id: &str, name: &str, args: Value) -> (&'static str, Value) {
    (
        "tool_call",
        json!({"id": id, "name": name, "arguments": args, "executor": "client"}),
    )
}

pub fn server_call(id: &str, name: &str, args: Value) -> (&'static str, Value) {
    (
        "tool_call",
        json!({"id": id, "name": name, "arguments": args, "executor": "server"}),
    )
}

pub fn text(t: &str) -> (&'static str, Value) {
    ("text_delta", json!({"text": t}))
}

pub fn start_ev(thread: &str) -> (&'static str, Value) {
    ("stream_start", json!({"thread_id": thread}))
}

pub fn done(thread: &str) -> (&'static str, Value) {
    ("done", json!({"thread_id": thread}))
}

pub fn requires(ids: &[&str]) -> (&'static str, Value) {
    ("requires_action", json!({"tool_call_ids": ids}))
}

pub fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

pub fn assistant_text(text: &str) -> Value {
    json!({"role": "assistant", "content": text, "blocks": [{"type": "text", "content": text}]})
}

pub fn error_message(text: &str) -> Value {
    json!({"role": "assistant", "content": text, "blocks": [{"type": "text", "content": text}], "isError": true})
}
