//! The conversation as the page sees it: agent-core's `AgentMessage`, `ContentBlock`,
//! `ToolCallDisplay`, `ToolCallStatus` and `AgentSource`, with serde shapes that match the
//! TypeScript types exactly (camelCase fields, absent optional fields, tagged unions).
//!
//! The machine owns a `Vec<MessageSlot>`; each slot carries a stable `id` and a `rev` that is
//! bumped whenever the message changes, so the wasm skin can keep the JS object of every
//! unchanged message (structural sharing) and rebuild only what changed.

use serde::Serialize;
use serde_json::Value;

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
                format!("\n\n{error_text}")
            };
            content.push_str(&text);
            blocks.push(ContentBlock::Text { content: text });
            *is_error = true;
        }
    }
}

/// A message with the identity the skin uses for structural sharing.
#[derive(Debug, Clone)]
pub struct MessageSlot {
    pub id: u64,
    pub rev: u64,
    pub message: AgentMessage,
}
