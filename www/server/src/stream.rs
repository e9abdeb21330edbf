//! Chat stream events (PROTOCOL.md §3): their two framings, and the stored assistant message
//! that the events build up (PROTOCOL.md §4's message shape).

use crate::config::Framing;
use serde_json::{json, Map, Value};

#[derive(Clone, Debug)]
pub enum Ev {
    StreamStart {
        thread_id: String,
    },
    TextDelta(String),
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
        executor: &'static str,
    },
    ToolResult {
        id: String,
        status: &'static str,
        result: Option<Value>,
        error: Option<String>,
        sources: Vec<Value>,
        duration_ms: u64,
    },
    RequiresAction(Vec<String>),
    Done {
        thread_id: String,
    },
    Error {
        reason: String,
    },
    /// Fault injection: a frame whose JSON is broken.
    Malformed,
}

impl Ev {
    pub fn type_name(&self) -> &'static str {
        match self {
            Ev::StreamStart { .. } => "stream_start",
            Ev::TextDelta(_) | Ev::Malformed => "text_delta",
            Ev::ToolCall { .. } => "tool_call",
            Ev::ToolResult { .. } => "tool_result",
            Ev::RequiresAction(_) => "requires_action",
            Ev::Done { .. } => "done",
            Ev::Error { .. } => "error",
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Ev::RequiresAction(_) | Ev::Done { .. } | Ev::Error { .. }
        )
    }

    pub fn content(&self) -> Value {
        match self {
            Ev::StreamStart { thread_id } | Ev::Done { thread_id } => {
                json!({ "thread_id": thread_id })
            }
            Ev::TextDelta(t) => json!({ "text": t }),
            Ev::ToolCall {
                id,
                name,
                arguments,
                executor,
            } => {
                json!({ "id": id, "name": name, "arguments": arguments, "executor": executor })
            }
            Ev::ToolResult {
                id,
                status,
                result,
                error,
                sources,
                duration_ms,
            } => {
                let mut m = Map::new();
                m.insert("id".into(), json!(id));
                m.insert("status".into(), json!(status));
                if let Some(r) = result {
                    m.insert("result".into(), r.clone());
                }
                if let Some(e) = error {
                    m.insert("error".into(), json!(e));
                }
                if !sources.is_empty() {
                    m.insert("sources".into(), Value::Array(sources.clone()));
                }
                m.insert("duration_ms".into(), json!(duration_ms));
                Value::Object(m)
            }
            Ev::RequiresAction(ids) => json!({ "tool_call_ids": ids }),
            Ev::Error { reason } => json!({ "reason": reason, "code": "agent_error" }),
            Ev::Malformed => Value::Null,
        }
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
                let frame = json!({ "chunk": { "type": ev.type_name(), "content": ev.content(), "stream_end": ev.is_terminal() } });
                format!("{frame}\u{241E}").into_bytes()
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

/// An assistant message being built from events, in the stored (§4) shape.
#[derive(Clone, Debug)]
pub struct Assistant(pub Value);

impl Default for Assistant {
    fn default() -> Self {
        Assistant(json!({ "role": "assistant", "content": "", "blocks": [] }))
    }
}

impl Assistant {
    pub fn from_value(v: Value) -> Assistant {
        if v.get("blocks").is_some_and(Value::is_array) {
            Assistant(v)
        } else {
            Assistant::default()
        }
    }

    fn blocks(&mut self) -> &mut Vec<Value> {
        if !self.0["blocks"].is_array() {
            self.0["blocks"] = json!([]);
        }
        self.0["blocks"].as_array_mut().expect("array")
    }

    pub fn is_empty(&self) -> bool {
        self.0["blocks"].as_array().is_none_or(|b| b.is_empty())
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let blocks = self.blocks();
        match blocks.last_mut() {
            Some(b) if b["type"] == "text" => {
                let s = format!("{}{}", b["content"].as_str().unwrap_or(""), text);
                b["content"] = json!(s);
            }
            _ => blocks.push(json!({ "type": "text", "content": text })),
        }
        let c = format!("{}{}", self.0["content"].as_str().unwrap_or(""), text);
        self.0["content"] = json!(c);
    }

    /// Every tool call of the message, mutable.
    pub fn calls_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.blocks()
            .iter_mut()
            .filter(|b| b["type"] == "tool_calls")
            .flat_map(|b| b["tool_calls"].as_array_mut().into_iter().flatten())
    }

    pub fn calls(&self) -> Vec<Value> {
        self.0["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "tool_calls")
            .flat_map(|b| b["tool_calls"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Sets every call in one of `from` statuses to `to` (with `error` when given).
    pub fn settle_open(&mut self, to: &str, error: Option<&str>) {
        for c in self.calls_mut() {
            let st = c["status"].as_str().unwrap_or("");
            if matches!(st, "pending" | "executing" | "approval_requested") {
                c["status"] = json!(to);
                if let Some(e) = error {
                    c["error"] = json!(e);
                }
            }
        }
    }

    pub fn apply(&mut self, ev: &Ev) {
        match ev {
            Ev::TextDelta(t) => self.push_text(t),
            Ev::ToolCall {
                id,
                name,
                arguments,
                executor,
            } => {
                let call = json!({
                    "id": id, "name": name, "arguments": arguments,
                    "status": if *executor == "server" { "executing" } else { "pending" },
                });
                let blocks = self.blocks();
                match blocks.last_mut() {
                    Some(b) if b["type"] == "tool_calls" => {
                        if let Some(a) = b["tool_calls"].as_array_mut() {
                            a.push(call)
                        }
                    }
                    _ => blocks.push(json!({ "type": "tool_calls", "tool_calls": [call] })),
                }
            }
            Ev::ToolResult {
                id,
                status,
                result,
                error,
                sources,
                duration_ms,
            } => {
                for c in self.calls_mut() {
                    if c["id"] == json!(id) {
                        c["status"] = json!(status);
                        if let Some(r) = result {
                            c["result"] = r.clone();
                        }
                        if let Some(e) = error {
                            c["error"] = json!(e);
                        }
                        if !sources.is_empty() {
                            c["sources"] = Value::Array(sources.clone());
                        }
                        c["duration_ms"] = json!(duration_ms);
                    }
                }
            }
            Ev::Done { .. } => self.settle_open("stopped", None),
            Ev::Error { reason } => {
                self.settle_open("error", Some(reason));
                if self.is_empty() {
                    self.push_text(reason);
                } else {
                    // A separate final block, as the client shows it (SPEC.md §4).
                    let text = format!("\n\n{reason}");
                    self.blocks()
                        .push(json!({ "type": "text", "content": text }));
                    let c = format!("{}{}", self.0["content"].as_str().unwrap_or(""), text);
                    self.0["content"] = json!(c);
                }
                self.0["is_error"] = json!(true);
            }
            Ev::StreamStart { .. } | Ev::RequiresAction(_) | Ev::Malformed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_framings() {
        let ev = Ev::TextDelta("hi".into());
        assert_eq!(
            String::from_utf8(ev.encode(Framing::Sse)).unwrap(),
            "event: text_delta\ndata: {\"text\":\"hi\"}\n\n"
        );
        let rec = String::from_utf8(
            Ev::Done {
                thread_id: "t".into(),
            }
            .encode(Framing::Record),
        )
        .unwrap();
        assert!(rec.ends_with('\u{241E}'));
        let v: Value = serde_json::from_str(rec.trim_end_matches('\u{241E}')).unwrap();
        assert_eq!(v["chunk"]["type"], "done");
        assert_eq!(v["chunk"]["stream_end"], true);
    }

    #[test]
    fn builds_message() {
        let mut a = Assistant::default();
        a.apply(&Ev::ToolCall {
            id: "c1".into(),
            name: "s".into(),
            arguments: json!({}),
            executor: "server",
        });
        a.apply(&Ev::TextDelta("Hel".into()));
        a.apply(&Ev::TextDelta("lo".into()));
        a.apply(&Ev::Done {
            thread_id: "t".into(),
        });
        assert_eq!(a.0["content"], "Hello");
        assert_eq!(a.0["blocks"][0]["tool_calls"][0]["status"], "stopped");
        assert_eq!(a.0["blocks"][1]["content"], "Hello");
    }
}
