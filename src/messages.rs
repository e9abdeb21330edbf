//! The conversation as the page sees it: agent-core's `AgentMessage`, `ContentBlock`,
//! `ToolCallDisplay`, `ToolCallStatus` and `AgentSource`, with serde shapes that match the
//! TypeScript types exactly (camelCase fields, absent optional fields, tagged unions).
//!
//! The machine owns a `Vec<MessageSlot>`; each slot carries a stable `id` and a `rev` that is
//! bumped whenever the message changes, so the wasm skin can keep the JS object of every
//! unchanged message (structural sharing) and rebuild only what changed.

use crate::json::{Map, Value};
#[allow(unused_imports)]
use crate::prelude::*;
use serde::Serialize;

/// Lifecycle of a tool call (seed 001's seven values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallStatus {
    Pending,
    ApprovalRequested,
    Executing,
    Completed,
    Error,
    Denied,
    Stopped,
}

impl ToolCallStatus {
    /// Still waiting for something (not settled).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::ApprovalRequested | Self::Executing
        )
    }

    /// The wire and JS name (what the serde derive writes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::ApprovalRequested => "approval_requested",
            Self::Executing => "executing",
            Self::Completed => "completed",
            Self::Error => "error",
            Self::Denied => "denied",
            Self::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approval_requested" => Self::ApprovalRequested,
            "executing" => Self::Executing,
            "completed" => Self::Completed,
            "error" => Self::Error,
            "denied" => Self::Denied,
            "stopped" => Self::Stopped,
            _ => return None,
        })
    }
}

/// Who runs a tool call. Not part of the JS shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    Client,
    Server,
}

/// A knowledge-base source returned by a server tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSource {
    pub title: String,
    pub source_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_visibility: Option<String>,
}

/// One tool call as displayed (seed 001's `ToolCallDisplay`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallDisplay {
    pub id: String,
    pub name: String,
    pub arguments: Value,
    pub status: ToolCallStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<AgentSource>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_approval: Option<bool>,
    /// Set while (and after) a Kaplaix reviewer holds the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardian: Option<Guardian>,
    #[serde(skip)]
    pub executor: Option<Executor>,
}

/// A call held for a governance reviewer: `{pendingActionId, status}`; `status` is
/// `pending`, then `approved`, `rejected` or `expired`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Guardian {
    pub pending_action_id: String,
    pub status: String,
}

/// A block of an assistant message, in stream order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        content: String,
    },
    ToolCalls {
        #[serde(rename = "toolCalls")]
        tool_calls: Vec<ToolCallDisplay>,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A message of the conversation (seed 001's `AgentMessage`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum AgentMessage {
    User {
        content: String,
    },
    Assistant {
        content: String,
        blocks: Vec<ContentBlock>,
        #[serde(rename = "isError", skip_serializing_if = "is_false")]
        is_error: bool,
    },
}

impl AgentMessage {
    pub fn assistant() -> Self {
        AgentMessage::Assistant {
            content: String::new(),
            blocks: Vec::new(),
            is_error: false,
        }
    }

    /// An assistant message's content, blocks and error flag; `None` for a user message.
    pub fn assistant_parts(&self) -> Option<(&str, &[ContentBlock], bool)> {
        match self {
            AgentMessage::Assistant {
                content,
                blocks,
                is_error,
            } => Some((content, blocks, *is_error)),
            AgentMessage::User { .. } => None,
        }
    }

    /// Every tool call of an assistant message, in order.
    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCallDisplay> {
        let blocks: &[ContentBlock] = match self {
            AgentMessage::Assistant { blocks, .. } => blocks,
            AgentMessage::User { .. } => &[],
        };
        blocks.iter().flat_map(|b| match b {
            ContentBlock::ToolCalls { tool_calls } => tool_calls.as_slice(),
            ContentBlock::Text { .. } => &[],
        })
    }

    pub fn tool_calls_mut(&mut self) -> impl Iterator<Item = &mut ToolCallDisplay> {
        let blocks: &mut [ContentBlock] = match self {
            AgentMessage::Assistant { blocks, .. } => blocks,
            AgentMessage::User { .. } => &mut [],
        };
        blocks.iter_mut().flat_map(|b| match b {
            ContentBlock::ToolCalls { tool_calls } => tool_calls.as_mut_slice(),
            ContentBlock::Text { .. } => &mut [],
        })
    }

    pub fn tool_call_mut(&mut self, id: &str) -> Option<&mut ToolCallDisplay> {
        self.tool_calls_mut().find(|c| c.id == id)
    }

    /// Append streamed text: to the last text block, or a new one after a tool_calls block.
    pub fn append_text(&mut self, text: &str) {
        if let AgentMessage::Assistant {
            content, blocks, ..
        } = self
        {
            content.push_str(text);
            match blocks.last_mut() {
                Some(ContentBlock::Text { content }) => content.push_str(text),
                _ => blocks.push(ContentBlock::Text {
                    content: text.to_owned(),
                }),
            }
        }
    }

    /// Append a tool call: to the last tool_calls block, or a new one after text.
    pub fn push_tool_call(&mut self, call: ToolCallDisplay) {
        if let AgentMessage::Assistant { blocks, .. } = self {
            match blocks.last_mut() {
                Some(ContentBlock::ToolCalls { tool_calls }) => tool_calls.push(call),
                _ => blocks.push(ContentBlock::ToolCalls {
                    tool_calls: vec![call],
                }),
            }
        }
    }

    /// SPEC §4: keep what was shown, add a final `"\n\n" + error` text block, mark as error.
    pub fn mark_failed(&mut self, error_text: &str) {
        if let AgentMessage::Assistant {
            content,
            blocks,
            is_error,
        } = self
        {
            let text = if blocks.is_empty() {
                error_text.to_owned()
            } else {
                ["\n\n", error_text].concat()
            };
            content.push_str(&text);
            blocks.push(ContentBlock::Text { content: text });
            *is_error = true;
        }
    }
}

impl ContentBlock {
    /// The block as JSON, exactly as its serde derive writes it (the tests check it), built
    /// by hand so that the .wasm needs no serde serializer.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        match self {
            ContentBlock::Text { content } => {
                m.insert("type".into(), "text".into());
                m.insert("content".into(), content.as_str().into());
            }
            ContentBlock::ToolCalls { tool_calls } => {
                m.insert("type".into(), "tool_calls".into());
                let calls = tool_calls.iter().map(ToolCallDisplay::to_value).collect();
                m.insert("toolCalls".into(), Value::Array(calls));
            }
        }
        Value::Object(m)
    }
}

impl ToolCallDisplay {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        put("id", Some(self.id.as_str().into()));
        put("name", Some(self.name.as_str().into()));
        put("arguments", Some(self.arguments.clone()));
        put("status", Some(self.status.as_str().into()));
        put("result", self.result.clone());
        put("error", self.error.as_deref().map(Value::from));
        put("durationMs", self.duration_ms.map(Value::from));
        put(
            "sources",
            self.sources
                .as_ref()
                .map(|s| Value::Array(s.iter().map(AgentSource::to_value).collect())),
        );
        put("displayName", self.display_name.as_deref().map(Value::from));
        put("needsApproval", self.needs_approval.map(Value::from));
        put(
            "guardian",
            self.guardian.as_ref().map(|g| {
                let mut o = Map::new();
                o.insert(
                    "pendingActionId".into(),
                    g.pending_action_id.as_str().into(),
                );
                o.insert("status".into(), g.status.as_str().into());
                Value::Object(o)
            }),
        );
        Value::Object(m)
    }
}

impl AgentSource {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("title".into(), self.title.as_str().into());
        m.insert("sourceUrl".into(), self.source_url.as_str().into());
        if let Some(t) = &self.source_type {
            m.insert("sourceType".into(), t.as_str().into());
        }
        if let Some(v) = &self.source_visibility {
            m.insert("sourceVisibility".into(), v.as_str().into());
        }
        Value::Object(m)
    }
}

/// A message with the identity the skin uses for structural sharing.
#[derive(Debug, Clone)]
pub struct MessageSlot {
    pub id: u64,
    pub rev: u64,
    pub message: AgentMessage,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn call(status: ToolCallStatus, full: bool) -> ToolCallDisplay {
        ToolCallDisplay {
            id: "call_1".into(),
            name: "search".into(),
            arguments: json!({"q": "x", "n": [1, 2.5]}),
            status,
            result: full.then(|| json!({"ok": true})),
            error: full.then(|| "boom".into()),
            duration_ms: full.then_some(12.5),
            sources: full.then(|| {
                vec![
                    AgentSource {
                        title: "T".into(),
                        source_url: "https://e.x/".into(),
                        source_type: Some("doc".into()),
                        source_visibility: Some("public".into()),
                    },
                    AgentSource {
                        title: "U".into(),
                        source_url: "https://e.y/".into(),
                        source_type: None,
                        source_visibility: None,
                    },
                ]
            }),
            display_name: full.then(|| "Search".into()),
            needs_approval: full.then_some(false),
            guardian: full.then(|| Guardian {
                pending_action_id: "pa_1".into(),
                status: "pending".into(),
            }),
            executor: Some(Executor::Client),
        }
    }

    /// The hand-written JSON of a block is what the serde derive (the documented shape) writes.
    #[test]
    fn block_values_match_the_serde_shape() {
        let statuses = [
            ToolCallStatus::Pending,
            ToolCallStatus::ApprovalRequested,
            ToolCallStatus::Executing,
            ToolCallStatus::Completed,
            ToolCallStatus::Error,
            ToolCallStatus::Denied,
            ToolCallStatus::Stopped,
        ];
        let mut blocks = vec![ContentBlock::Text {
            content: "a \"b\"\n".into(),
        }];
        for s in statuses {
            assert_eq!(ToolCallStatus::parse(s.as_str()), Some(s));
            for full in [false, true] {
                blocks.push(ContentBlock::ToolCalls {
                    tool_calls: vec![call(s, full), call(s, !full)],
                });
            }
        }
        for b in &blocks {
            assert_eq!(b.to_value(), serde_json::to_value(b).unwrap(), "{b:?}");
        }
    }
}
