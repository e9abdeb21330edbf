//! PROTOCOL.md in one place: the URLs, headers and bodies the agent sends, and the typed
//! reading of what the backend answers (stream events, history documents, session tokens).
//! Another backend dialect would replace this module without touching the machine.

use crate::json::{Map, Value};
#[allow(unused_imports)]
use crate::prelude::*;

use crate::decode::Frame;
use crate::json::Halves;
use crate::messages::{
    AgentMessage, AgentSource, ContentBlock, Executor, ToolCallDisplay, ToolCallStatus,
};
use crate::options::Config;
use crate::time::parse_rfc3339;

/// Text of every failure caused by a response we cannot read.
pub const UNEXPECTED_RESPONSE: &str = "Unexpected response from the server";
/// Text of a stream that closed (or broke) before its terminal event.
pub const STREAM_ENDED: &str = "Stream ended unexpectedly";

/// A request for the skin to perform with `fetch`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
    /// Chat requests are read as a stream when they succeed; others are read whole.
    pub stream: bool,
    /// Send with `keepalive` (governance events while the page is being hidden).
    pub keepalive: bool,
}

/// Percent-encode a path segment or query value (everything but RFC 3986 unreserved bytes).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            crate::text::push_hex(&mut out, b.into(), 2, true);
        }
    }
    out
}

fn agent_url(config: &Config, tail: &str) -> String {
    [
        config.base_url.trim_end_matches('/'),
        "/agent/v1/projects/",
        &encode_component(&config.project_id),
        "/agent/",
        tail,
    ]
    .concat()
}

/// What a chat request carries as `input`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatInput {
    UserMessage(String),
    ToolResults(Vec<ToolResultItem>),
}

/// One entry of a `tool_results` input.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResultItem {
    Completed { id: String, output: Value },
    Error { id: String, error: String },
    Denied { id: String },
}

/// The JSON body of a chat turn (PROTOCOL.md §2).
pub fn chat_body(config: &Config, thread_id: Option<&str>, input: &ChatInput) -> String {
    let mut body = Map::new();
    body.insert("integration_id".into(), jv!(config.integration_id));
    body.insert("model".into(), jv!(config.model));
    body.insert(
        "thread_id".into(),
        thread_id.map_or(Value::Null, |t| jv!(t)),
    );
    let input = match input {
        ChatInput::UserMessage(text) => jv!({"type": "user_message", "content": text}),
        ChatInput::ToolResults(results) => {
            let results: Vec<Value> = results
                .iter()
                .map(|r| match r {
                    ToolResultItem::Completed { id, output } => {
                        jv!({"tool_call_id": id, "status": "completed", "output": output})
                    }
                    ToolResultItem::Error { id, error } => {
                        jv!({"tool_call_id": id, "status": "error", "error": error})
                    }
                    ToolResultItem::Denied { id } => {
                        jv!({"tool_call_id": id, "status": "denied"})
                    }
                })
                .collect();
            jv!({"type": "tool_results", "results": results})
        }
    };
    body.insert("input".into(), input);
    let tools: Vec<Value> = config
        .tools
        .iter()
        .map(|t| jv!({"name": t.name, "description": t.description, "parameters": t.parameters}))
        .collect();
    body.insert("tools".into(), Value::Array(tools));
    if let Some(ci) = &config.custom_instructions {
        body.insert("custom_instructions".into(), jv!(ci));
    }
    if let Some(user) = &config.user {
        body.insert("user".into(), user.clone());
    }
    if !config.source_group_ids_include.is_empty() {
        body.insert(
            "source_group_ids_include".into(),
            jv!(config.source_group_ids_include),
        );
    }
    crate::json::to_string(&Value::Object(body))
}

/// Headers common to every authenticated request.
fn auth_headers(token: &str) -> Vec<(&'static str, String)> {
    vec![("Authorization", ["Bearer ", token].concat())]
}

/// The chat request for one attempt.
pub fn chat_request(
    config: &Config,
    body: &str,
    token: &str,
    idempotency_key: &str,
) -> HttpRequest {
    let mut headers = auth_headers(token);
    headers.push(("Content-Type", "application/json".into()));
    headers.push(("Accept", "text/event-stream".into()));
    headers.push(("Idempotency-Key", idempotency_key.into()));
    HttpRequest {
        method: "POST",
        url: agent_url(config, "chat/"),
        headers,
        body: Some(body.into()),
        stream: true,
        keepalive: false,
    }
}

/// History requests (PROTOCOL.md §4).
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryCall {
    List {
        limit: Option<u32>,
        cursor: Option<String>,
    },
    Get {
        thread_id: String,
    },
    Delete {
        thread_id: String,
    },
}

pub fn history_request(config: &Config, call: &HistoryCall, token: &str) -> HttpRequest {
    let (method, url) = match call {
        HistoryCall::List { limit, cursor } => {
            let mut query = Vec::new();
            if let Some(l) = limit {
                query.push(["limit=", &crate::text::uint((*l).into())].concat());
            }
            if let Some(c) = cursor {
                query.push(["cursor=", &encode_component(c)].concat());
            }
            let q = if query.is_empty() {
                String::new()
            } else {
                ["?", &query.join("&")].concat()
            };
            ("GET", agent_url(config, &["threads/", &q].concat()))
        }
        HistoryCall::Get { thread_id } => (
            "GET",
            agent_url(
                config,
                &["threads/", &encode_component(thread_id), "/"].concat(),
            ),
        ),
        HistoryCall::Delete { thread_id } => (
            "DELETE",
            agent_url(
                config,
                &["threads/", &encode_component(thread_id), "/"].concat(),
            ),
        ),
    };
    let mut headers = auth_headers(token);
    headers.push(("Accept", "application/json".into()));
    HttpRequest {
        method,
        url,
        headers,
        body: None,
        stream: false,
        keepalive: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Stream events

/// A decoded stream event (PROTOCOL.md §3).
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    StreamStart {
        thread_id: String,
    },
    /// Text to append; `halves` are the lone surrogate escapes at its ends (each read as
    /// U+FFFD), which the machine joins with the next delta's (see `crate::json`).
    TextDelta {
        text: String,
        halves: Halves,
    },
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
        executor: Executor,
    },
    ToolResult {
        id: String,
        completed: bool,
        result: Option<Value>,
        error: Option<String>,
        sources: Option<Vec<AgentSource>>,
        duration_ms: Option<f64>,
    },
    RequiresAction {
        tool_call_ids: Vec<String>,
    },
    Done {
        thread_id: Option<String>,
    },
    Error {
        reason: String,
    },
    /// `ping` or a type this version does not know.
    Ignored,
}

fn str_field(obj: &Map, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn parse_sources(v: &Value) -> Option<Vec<AgentSource>> {
    let items = v.as_array()?;
    Some(
        items
            .iter()
            .filter_map(Value::as_object)
            .map(|s| AgentSource {
                title: str_field(s, "title").unwrap_or_default(),
                source_url: str_field(s, "source_url").unwrap_or_default(),
                source_type: str_field(s, "source_type"),
                source_visibility: str_field(s, "source_visibility"),
            })
            .collect(),
    )
}

/// Tool arguments: an object, or a string holding a JSON object.
fn parse_arguments(v: &Value) -> Option<Value> {
    match v {
        Value::Object(_) => Some(v.clone()),
        Value::String(s) => match crate::json::parse(s) {
            Ok(obj @ Value::Object(_)) => Some(obj),
            _ => None,
        },
        _ => None,
    }
}

/// Read a decoded frame as an event. `Err` is a known type missing a required field.
#[cfg_attr(kapa_speed, optimize(speed))]
pub fn parse_event(mut frame: Frame) -> Result<StreamEvent, &'static str> {
    if let Some((text, halves)) = frame.take_text() {
        return Ok(StreamEvent::TextDelta { text, halves });
    }
    let event_type = frame.event_type.as_str();
    match event_type {
        // The common case, read without building a map.
        "text_delta" => {
            return match crate::json::text_member(&frame.raw()) {
                Ok(Some((text, halves))) => Ok(StreamEvent::TextDelta { text, halves }),
                _ => Err(UNEXPECTED_RESPONSE),
            }
        }
        "stream_start" | "tool_call" | "tool_result" | "requires_action" | "done" | "error" => {}
        _ => return Ok(StreamEvent::Ignored),
    }
    let content = crate::json::parse(&frame.raw()).map_err(|_| UNEXPECTED_RESPONSE)?;
    let empty = Map::new();
    let obj = content.as_object().unwrap_or(&empty);
    let need = |k: &str| str_field(obj, k).ok_or(UNEXPECTED_RESPONSE);
    Ok(match event_type {
        "stream_start" => StreamEvent::StreamStart {
            thread_id: need("thread_id")?,
        },
        "text_delta" => StreamEvent::TextDelta {
            text: need("text")?,
            halves: Halves::default(),
        },
        "tool_call" => {
            let executor = match need("executor")?.as_str() {
                "client" => Executor::Client,
                "server" => Executor::Server,
                _ => return Err(UNEXPECTED_RESPONSE),
            };
            let arguments = obj
                .get("arguments")
                .and_then(parse_arguments)
                .ok_or(UNEXPECTED_RESPONSE)?;
            StreamEvent::ToolCall {
                id: need("id")?,
                name: need("name")?,
                arguments,
                executor,
            }
        }
        "tool_result" => {
            let completed = match need("status")?.as_str() {
                "completed" => true,
                "error" => false,
                _ => return Err(UNEXPECTED_RESPONSE),
            };
            StreamEvent::ToolResult {
                id: need("id")?,
                completed,
                result: obj.get("result").cloned(),
                error: obj.get("error").map(|e| {
                    e.as_str()
                        .map_or_else(|| crate::json::to_string(e), str::to_owned)
                }),
                sources: obj.get("sources").and_then(parse_sources),
                duration_ms: obj.get("duration_ms").and_then(Value::as_f64),
            }
        }
        "requires_action" => {
            let ids = obj
                .get("tool_call_ids")
                .and_then(Value::as_array)
                .ok_or(UNEXPECTED_RESPONSE)?;
            let ids = ids
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>();
            StreamEvent::RequiresAction {
                tool_call_ids: ids.ok_or(UNEXPECTED_RESPONSE)?,
            }
        }
        "done" => StreamEvent::Done {
            thread_id: str_field(obj, "thread_id"),
        },
        "error" => StreamEvent::Error {
            reason: str_field(obj, "reason").unwrap_or_else(|| "unknown error".into()),
        },
        _ => StreamEvent::Ignored,
    })
}

/// Whether an event ends the stream.
pub fn is_terminal(event: &StreamEvent) -> bool {
    matches!(
        event,
        StreamEvent::RequiresAction { .. } | StreamEvent::Done { .. } | StreamEvent::Error { .. }
    )
}

// ---------------------------------------------------------------------------------------------
// Session tokens

/// A session token and when it expires.
#[derive(Clone, PartialEq)]
pub struct Token {
    pub value: String,
    pub expires_at_ms: f64,
}

impl core::fmt::Debug for Token {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The token itself never reaches a log.
        f.debug_struct("Token")
            .field("value", &"[redacted]")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// Read what `getSessionToken()` resolved to: `{token, expiresAt}` (epoch ms or RFC 3339) or
/// the raw session answer `{session_token, expires_at}`. The error never contains the token.
pub fn parse_token(v: &Value) -> Result<Token, String> {
    let obj = v.as_object().ok_or(
        "getSessionToken() must resolve to { token, expiresAt } or { session_token, expires_at }",
    )?;
    let (value, expiry) = if obj.contains_key("token") {
        (obj.get("token"), obj.get("expiresAt"))
    } else if obj.contains_key("session_token") {
        (obj.get("session_token"), obj.get("expires_at"))
    } else {
        return Err(
            "getSessionToken() resolved to an object without `token` or `session_token`".into(),
        );
    };
    let value = match value {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("the session token must be a non-empty string".into()),
    };
    let expires_at_ms = match expiry {
        Some(Value::Number(n)) => Some(*n).filter(|f| f.is_finite()),
        Some(Value::String(s)) => parse_rfc3339(s),
        _ => None,
    }
    .ok_or("the session token's expiry must be epoch milliseconds or an RFC 3339 timestamp")?;
    Ok(Token {
        value,
        expires_at_ms,
    })
}

// ---------------------------------------------------------------------------------------------
// History documents

/// `GET threads/` → `{threads: [{id, title, createdAt, updatedAt, messageCount}], nextCursor}`.
pub fn parse_thread_list(v: &Value) -> Option<Value> {
    let threads = v.get("threads")?.as_array()?;
    let threads = threads
        .iter()
        .map(|t| {
            let t = t.as_object()?;
            let mut out = Map::new();
            out.insert("id".into(), jv!(str_field(t, "id")?));
            for (from, to) in [
                ("title", "title"),
                ("created_at", "createdAt"),
                ("updated_at", "updatedAt"),
            ] {
                if let Some(v) = t.get(from).filter(|v| !v.is_null()) {
                    out.insert(to.into(), v.clone());
                }
            }
            if let Some(n) = t.get("message_count").and_then(Value::as_f64) {
                out.insert("messageCount".into(), jv!(n));
            }
            Some(Value::Object(out))
        })
        .collect::<Option<Vec<_>>>()?;
    let next = match v.get("next_cursor") {
        Some(Value::String(s)) => jv!(s),
        _ => Value::Null,
    };
    Some(jv!({"threads": threads, "nextCursor": next}))
}

/// `GET threads/{id}/` → the stored messages, with open calls turned `stopped` and display
/// metadata re-attached from the current configuration.
pub fn parse_thread_messages(v: &Value, config: &Config) -> Option<Vec<AgentMessage>> {
    v.get("messages")?
        .as_array()?
        .iter()
        .map(|m| parse_stored_message(m, config))
        .collect()
}

fn parse_stored_message(m: &Value, config: &Config) -> Option<AgentMessage> {
    let m = m.as_object()?;
    let content = str_field(m, "content").unwrap_or_default();
    match m.get("role")?.as_str()? {
        "user" => Some(AgentMessage::User { content }),
        "assistant" => {
            let mut blocks = Vec::new();
            if let Some(stored) = m.get("blocks").and_then(Value::as_array) {
                for b in stored {
                    match b.get("type").and_then(Value::as_str)? {
                        "text" => blocks.push(ContentBlock::Text {
                            content: str_field(b.as_object()?, "content").unwrap_or_default(),
                        }),
                        "tool_calls" => {
                            let calls = b.get("tool_calls")?.as_array()?;
                            let calls = calls
                                .iter()
                                .map(|c| parse_stored_call(c, config))
                                .collect::<Option<Vec<_>>>()?;
                            blocks.push(ContentBlock::ToolCalls { tool_calls: calls });
                        }
                        _ => {}
                    }
                }
            } else if !content.is_empty() {
                blocks.push(ContentBlock::Text {
                    content: content.clone(),
                });
            }
            let is_error = m.get("is_error").and_then(Value::as_bool).unwrap_or(false);
            Some(AgentMessage::Assistant {
                content,
                blocks,
                is_error,
            })
        }
        _ => None,
    }
}

fn parse_stored_call(c: &Value, config: &Config) -> Option<ToolCallDisplay> {
    let c = c.as_object()?;
    let name = str_field(c, "name")?;
    let mut status = ToolCallStatus::parse(c.get("status")?.as_str()?)?;
    if status.is_open() {
        status = ToolCallStatus::Stopped;
    }
    let tool = config.tool(&name);
    Some(ToolCallDisplay {
        id: str_field(c, "id")?,
        arguments: c
            .get("arguments")
            .and_then(parse_arguments)
            .unwrap_or_else(|| jv!({})),
        status,
        result: c.get("result").cloned(),
        error: str_field(c, "error"),
        duration_ms: c.get("duration_ms").and_then(Value::as_f64),
        sources: c.get("sources").and_then(parse_sources),
        display_name: config.display_name(&name),
        needs_approval: tool.filter(|t| t.needs_approval).map(|_| true),
        guardian: None,
        executor: Some(if tool.is_some() {
            Executor::Client
        } else {
            Executor::Server
        }),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use crate::options::ToolSpec;

    fn frame(t: &str, c: Value) -> Frame {
        Frame::new(t, &c)
    }

    #[test]
    fn chat_body_first_turn_shape() {
        let mut config = Config::new("p", "int_123");
        config.custom_instructions = Some("Answer briefly.".into());
        let body: Value = crate::json::parse(&chat_body(
            &config,
            None,
            &ChatInput::UserMessage("Hi".into()),
        ))
        .unwrap();
        assert_eq!(
            body,
            json!({"integration_id": "int_123", "model": "kapa-agent-1.0", "thread_id": null,
                   "input": {"type": "user_message", "content": "Hi"}, "tools": [],
                   "custom_instructions": "Answer briefly."})
        );
    }

    #[test]
    fn chat_body_tool_results_and_options() {
        let mut config = Config::new("p", "i");
        config.source_group_ids_include = vec!["sg_1".into()];
        config.user = Some(json!({"email": "a@example.com"}));
        config.tools.push(ToolSpec {
            name: "t".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
            needs_approval: false,
            display_name: None,
        });
        let input = ChatInput::ToolResults(vec![
            ToolResultItem::Completed {
                id: "c1".into(),
                output: json!({"x": 1}),
            },
            ToolResultItem::Error {
                id: "c2".into(),
                error: "boom".into(),
            },
            ToolResultItem::Denied { id: "c3".into() },
        ]);
        let body: Value = crate::json::parse(&chat_body(&config, Some("thr_1"), &input)).unwrap();
        assert_eq!(body["thread_id"], "thr_1");
        assert_eq!(body["source_group_ids_include"], json!(["sg_1"]));
        assert_eq!(body["user"], json!({"email": "a@example.com"}));
        assert_eq!(
            body["tools"],
            json!([{"name": "t", "description": "d", "parameters": {"type": "object"}}])
        );
        assert_eq!(
            body["input"],
            json!({"type": "tool_results", "results": [
                {"tool_call_id": "c1", "status": "completed", "output": {"x": 1}},
                {"tool_call_id": "c2", "status": "error", "error": "boom"},
                {"tool_call_id": "c3", "status": "denied"}]})
        );
        assert!(body.get("custom_instructions").is_none());
    }

    #[test]
    fn urls_are_encoded() {
        let mut config = Config::new("my project/1", "i");
        config.base_url = "http://localhost:8080/".into();
        let r = history_request(
            &config,
            &HistoryCall::List {
                limit: Some(5),
                cursor: Some("a b&c".into()),
            },
            "tok",
        );
        assert_eq!(r.url, "http://localhost:8080/agent/v1/projects/my%20project%2F1/agent/threads/?limit=5&cursor=a%20b%26c");
        let r = history_request(
            &config,
            &HistoryCall::Delete {
                thread_id: "t/1".into(),
            },
            "tok",
        );
        assert_eq!(
            (r.method, r.url.as_str()),
            (
                "DELETE",
                "http://localhost:8080/agent/v1/projects/my%20project%2F1/agent/threads/t%2F1/"
            )
        );
        let r = chat_request(&config, "{}", "tok", "key");
        assert!(r.headers.contains(&("Authorization", "Bearer tok".into())));
        assert!(r.headers.contains(&("Idempotency-Key", "key".into())));
    }

    #[test]
    fn events_parse_and_required_fields() {
        assert_eq!(
            parse_event(frame("text_delta", json!({"text": "a"}))),
            Ok(StreamEvent::TextDelta {
                text: "a".into(),
                halves: Halves::default()
            })
        );
        assert!(parse_event(frame("text_delta", json!({"text": 1}))).is_err());
        assert!(parse_event(frame("stream_start", json!({}))).is_err());
        let call = parse_event(frame(
            "tool_call",
            json!({"id": "c", "name": "n", "arguments": "{\"a\":1}", "executor": "client"}),
        ))
        .unwrap();
        assert_eq!(
            call,
            StreamEvent::ToolCall {
                id: "c".into(),
                name: "n".into(),
                arguments: json!({"a": 1}),
                executor: Executor::Client
            }
        );
        assert!(parse_event(frame(
            "tool_call",
            json!({"id": "c", "name": "n", "arguments": "[1]", "executor": "client"})
        ))
        .is_err());
        assert!(parse_event(frame(
            "tool_call",
            json!({"id": "c", "name": "n", "arguments": {}, "executor": "browser"})
        ))
        .is_err());
        assert!(parse_event(frame("requires_action", json!({"tool_call_ids": ["a", 2]}))).is_err());
        assert_eq!(
            parse_event(frame("error", json!({}))),
            Ok(StreamEvent::Error {
                reason: "unknown error".into()
            })
        );
        assert_eq!(
            parse_event(frame("ping", json!(null))),
            Ok(StreamEvent::Ignored)
        );
        assert_eq!(
            parse_event(frame("done", json!([]))),
            Ok(StreamEvent::Done { thread_id: None })
        );
    }

    #[test]
    fn big_integers_are_read_as_json_parse_reads_them() {
        let v = crate::json::parse("{\"a\":[18446744073709551615, -9007199254740993, 5]}").unwrap();
        assert_eq!(v["a"][0].as_f64(), Some(18446744073709551616.0));
        assert_eq!(v["a"][1].as_f64(), Some(-9007199254740992.0));
        assert_eq!(v["a"][2].as_f64(), Some(5.0));
    }

    #[test]
    fn tokens_both_shapes() {
        let t = parse_token(&json!({"token": "abc", "expiresAt": 1000})).unwrap();
        assert_eq!((t.value.as_str(), t.expires_at_ms), ("abc", 1000.0));
        let t = parse_token(&json!({"session_token": "abc", "expires_at": "1970-01-01T00:00:01Z"}))
            .unwrap();
        assert_eq!(t.expires_at_ms, 1000.0);
        let t = parse_token(&json!({"token": "abc", "expiresAt": "1970-01-01T00:00:02Z"})).unwrap();
        assert_eq!(t.expires_at_ms, 2000.0);
        for bad in [
            json!(null),
            json!("abc"),
            json!({"token": ""}),
            json!({"token": "secret", "expiresAt": "soon"}),
            json!({"session_token": 5, "expires_at": 1}),
        ] {
            let err = parse_token(&bad).unwrap_err();
            assert!(!err.contains("secret"), "{err}");
        }
        assert!(!format!(
            "{:?}",
            parse_token(&json!({"token": "secret", "expiresAt": 1})).unwrap()
        )
        .contains("secret"));
    }

    #[test]
    fn thread_documents() {
        let list = parse_thread_list(&json!({"threads": [{"id": "t1", "title": "Hi", "created_at": "x", "updated_at": "y", "message_count": 2}], "next_cursor": null})).unwrap();
        assert_eq!(
            list,
            json!({"threads": [{"id": "t1", "title": "Hi", "createdAt": "x", "updatedAt": "y", "messageCount": 2.0}], "nextCursor": null})
        );
        assert!(parse_thread_list(&json!({"threads": [{"title": "no id"}]})).is_none());
        let mut config = Config::new("p", "i");
        config
            .builtin_display_names
            .insert("search_knowledge_base".into(), "Search".into());
        let doc = json!({"id": "t1", "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a", "blocks": [
                {"type": "tool_calls", "tool_calls": [{"id": "c1", "name": "search_knowledge_base", "arguments": {}, "status": "executing"}]},
                {"type": "text", "content": "a"}]}]});
        let msgs = parse_thread_messages(&doc, &config).unwrap();
        let call = msgs[1].tool_calls().next().unwrap();
        assert_eq!(call.status, ToolCallStatus::Stopped);
        assert_eq!(call.display_name.as_deref(), Some("Search"));
        assert!(
            parse_thread_messages(&json!({"messages": [{"role": "system"}]}), &config).is_none()
        );
    }
}
