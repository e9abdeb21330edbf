//! Chat stream events (PROTOCOL.md §3): their two framings, and the stored messages that the
//! events build up (PROTOCOL.md §4's message shape), all as serde-derived types.

use crate::config::Framing;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `stream_start` and `done`.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadRef {
    pub thread_id: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TextDelta {
    pub text: String,
}

/// Who runs a tool call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Executor {
    Server,
    Client,
}

#[derive(Clone, Debug, Serialize)]
pub struct ToolCallEv {
    pub id: String,
    pub name: String,
    pub arguments: Value,
    pub executor: Executor,
}

/// A source a server tool cites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub title: String,
    pub source_url: String,
    pub source_type: String,
    pub source_visibility: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ToolResultEv {
    pub id: String,
    pub status: CallStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RequiresAction {
    pub tool_call_ids: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgentError {
    pub reason: String,
    pub code: &'static str,
}

#[derive(Clone, Debug)]
pub enum Ev {
    StreamStart(ThreadRef),
    TextDelta(TextDelta),
    ToolCall(ToolCallEv),
    ToolResult(ToolResultEv),
    RequiresAction(RequiresAction),
    Done(ThreadRef),
    Error(AgentError),
    /// Fault injection: a frame whose JSON is broken.
    Malformed,
}

/// One frame of the record framing.
#[derive(Serialize)]
struct Record<'a> {
    chunk: RecordChunk<'a>,
}

#[derive(Serialize)]
struct RecordChunk<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    content: &'a Value,
    stream_end: bool,
}

impl Ev {
    pub fn text(t: impl Into<String>) -> Ev {
        Ev::TextDelta(TextDelta { text: t.into() })
    }

    pub fn error(reason: impl Into<String>) -> Ev {
        Ev::Error(AgentError {
            reason: reason.into(),
            code: "agent_error",
        })
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Ev::StreamStart(_) => "stream_start",
            Ev::TextDelta(_) | Ev::Malformed => "text_delta",
            Ev::ToolCall(_) => "tool_call",
            Ev::ToolResult(_) => "tool_result",
            Ev::RequiresAction(_) => "requires_action",
            Ev::Done(_) => "done",
            Ev::Error(_) => "error",
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Ev::RequiresAction(_) | Ev::Done(_) | Ev::Error(_))
    }

    /// The event's `content` (the SSE `data:`).
    pub fn content(&self) -> Value {
        let v = match self {
            Ev::StreamStart(c) | Ev::Done(c) => serde_json::to_value(c),
            Ev::TextDelta(c) => serde_json::to_value(c),
            Ev::ToolCall(c) => serde_json::to_value(c),
            Ev::ToolResult(c) => serde_json::to_value(c),
            Ev::RequiresAction(c) => serde_json::to_value(c),
            Ev::Error(c) => serde_json::to_value(c),
            Ev::Malformed => Ok(Value::Null),
        };
        v.unwrap_or(Value::Null)
    }

    /// The bytes of this event in `framing`.
    pub fn encode(&self, framing: Framing) -> Vec<u8> {
        match (framing, self) {
            (Framing::Sse, Ev::Malformed) => {
                b"event: text_delta\ndata: {\"text\": \"oops\n\n".to_vec()
            }
            (Framing::Record, Ev::Malformed) => {
                "{\"chunk\": {\"type\": \"text_delta\", \"content\": {\"te\u{241E}"
                    .as_bytes()
                    .to_vec()
            }
            (Framing::Sse, ev) => {
                format!("event: {}\ndata: {}\n\n", ev.type_name(), ev.content()).into_bytes()
            }
            (Framing::Record, ev) => {
                let content = ev.content();
                let frame = Record {
                    chunk: RecordChunk {
                        kind: ev.type_name(),
                        content: &content,
                        stream_end: ev.is_terminal(),
                    },
                };
                let mut out = serde_json::to_vec(&frame).unwrap_or_default();
                out.extend_from_slice("\u{241E}".as_bytes());
                out
            }
        }
    }
}

/// Content type of a stream in `framing`.
pub fn content_type(framing: Framing) -> &'static str {
    match framing {
        Framing::Sse => "text/event-stream; charset=utf-8",
        Framing::Record => "text/plain; charset=utf-8",
    }
}

/// A tool call's status (PROTOCOL.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Pending,
    Executing,
    ApprovalRequested,
    Completed,
    Error,
    Denied,
    Stopped,
}

impl CallStatus {
    /// Still waiting for a result.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CallStatus::Pending | CallStatus::Executing | CallStatus::ApprovalRequested
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Pending => "pending",
            CallStatus::Executing => "executing",
            CallStatus::ApprovalRequested => "approval_requested",
            CallStatus::Completed => "completed",
            CallStatus::Error => "error",
            CallStatus::Denied => "denied",
            CallStatus::Stopped => "stopped",
        }
    }
}

/// A stored tool call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub arguments: Value,
    pub status: CallStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// A block of an assistant message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text { content: String },
    ToolCalls { tool_calls: Vec<ToolCall> },
}

/// An assistant message in the stored (§4) shape, built up from the events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Assistant {
    pub content: String,
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

/// A stored message: what `GET .../threads/{id}/` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User { content: String },
    Assistant(Assistant),
}

impl Message {
    pub fn role(&self) -> &'static str {
        match self {
            Message::User { .. } => "user",
            Message::Assistant(_) => "assistant",
        }
    }
}

impl Assistant {
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.blocks.last_mut() {
            Some(Block::Text { content }) => content.push_str(text),
            _ => self.blocks.push(Block::Text {
                content: text.to_string(),
            }),
        }
        self.content.push_str(text);
    }

    /// Every tool call of the message, mutable.
    pub fn calls_mut(&mut self) -> impl Iterator<Item = &mut ToolCall> {
        self.blocks.iter_mut().flat_map(|b| match b {
            Block::ToolCalls { tool_calls } => tool_calls.iter_mut(),
            Block::Text { .. } => [].iter_mut(),
        })
    }

    pub fn calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.blocks.iter().flat_map(|b| match b {
            Block::ToolCalls { tool_calls } => tool_calls.iter(),
            Block::Text { .. } => [].iter(),
        })
    }

    /// Sets every call still waiting for a result to `to` (with `error` when given).
    pub fn settle_open(&mut self, to: CallStatus, error: Option<&str>) {
        for c in self.calls_mut() {
            if c.status.is_open() {
                c.status = to;
                if let Some(e) = error {
                    c.error = Some(e.to_string());
                }
            }
        }
    }

    pub fn apply(&mut self, ev: &Ev) {
        match ev {
            Ev::TextDelta(t) => self.push_text(&t.text),
            Ev::ToolCall(c) => {
                let call = ToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                    status: match c.executor {
                        Executor::Server => CallStatus::Executing,
                        Executor::Client => CallStatus::Pending,
                    },
                    result: None,
                    error: None,
                    sources: vec![],
                    duration_ms: None,
                };
                match self.blocks.last_mut() {
                    Some(Block::ToolCalls { tool_calls }) => tool_calls.push(call),
                    _ => self.blocks.push(Block::ToolCalls {
                        tool_calls: vec![call],
                    }),
                }
            }
            Ev::ToolResult(r) => {
                for c in self.calls_mut().filter(|c| c.id == r.id) {
                    c.status = r.status;
                    if r.result.is_some() {
                        c.result = r.result.clone();
                    }
                    if r.error.is_some() {
                        c.error = r.error.clone();
                    }
                    if !r.sources.is_empty() {
                        c.sources = r.sources.clone();
                    }
                    c.duration_ms = Some(r.duration_ms);
                }
            }
            Ev::Done(_) => self.settle_open(CallStatus::Stopped, None),
            Ev::Error(e) => {
                self.settle_open(CallStatus::Error, Some(&e.reason));
                if self.is_empty() {
                    self.push_text(&e.reason);
                } else {
                    // A separate final block, as the client shows it (SPEC.md §4).
                    let text = format!("\n\n{}", e.reason);
                    self.content.push_str(&text);
                    self.blocks.push(Block::Text { content: text });
                }
                self.is_error = true;
            }
            Ev::StreamStart(_) | Ev::RequiresAction(_) | Ev::Malformed => {}
        }
    }
}

/// A message as JSON (for the request log and tests).
pub fn to_json(m: &Message) -> Value {
    serde_json::to_value(m).unwrap_or_else(|_| json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_framings() {
        let ev = Ev::text("hi");
        assert_eq!(
            String::from_utf8(ev.encode(Framing::Sse)).unwrap(),
            "event: text_delta\ndata: {\"text\":\"hi\"}\n\n"
        );
        let rec = String::from_utf8(
            Ev::Done(ThreadRef {
                thread_id: "t".into(),
            })
            .encode(Framing::Record),
        )
        .unwrap();
        assert!(rec.ends_with('\u{241E}'));
        let v: Value = serde_json::from_str(rec.trim_end_matches('\u{241E}')).unwrap();
        assert_eq!(v["chunk"]["type"], "done");
        assert_eq!(v["chunk"]["stream_end"], true);
        assert_eq!(v["chunk"]["content"]["thread_id"], "t");
    }

    #[test]
    fn builds_message() {
        let mut a = Assistant::default();
        a.apply(&Ev::ToolCall(ToolCallEv {
            id: "c1".into(),
            name: "s".into(),
            arguments: json!({}),
            executor: Executor::Server,
        }));
        a.apply(&Ev::text("Hel"));
        a.apply(&Ev::text("lo"));
        a.apply(&Ev::Done(ThreadRef {
            thread_id: "t".into(),
        }));
        let v = to_json(&Message::Assistant(a.clone()));
        assert_eq!(v["role"], "assistant");
        assert_eq!(v["content"], "Hello");
        assert_eq!(v["blocks"][0]["type"], "tool_calls");
        assert_eq!(v["blocks"][0]["tool_calls"][0]["status"], "stopped");
        assert_eq!(v["blocks"][1]["content"], "Hello");
        assert!(v.get("is_error").is_none());
        let back: Message = serde_json::from_value(v).unwrap();
        assert_eq!(back, Message::Assistant(a));
    }

    #[test]
    fn error_after_text_is_its_own_block() {
        let mut a = Assistant::default();
        a.apply(&Ev::text("Hi"));
        a.apply(&Ev::error("boom"));
        assert_eq!(a.content, "Hi\n\nboom");
        assert_eq!(a.blocks.len(), 2);
        assert!(a.is_error);
    }
}
