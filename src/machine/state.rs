//! Conversations that survive a page load (STATE.md): [`Machine::export_state`] and
//! [`Machine::restore_state`], with the restore rules.
//!
//! The exported state is `{version: 1, projectId, integrationId, threadId, messages}` plus, while
//! a turn runs, `turn: {runId, step}`: the Kaplaix run id of the turn and the ids of the client
//! calls named by the last `requires_action` (the step whose results are still to be posted).
//! Nothing else: no session token, no `context`, no other option.
//!
//! Restore rules:
//! - a call `pending` or `executing` comes back `stopped` and is never run;
//! - a turn that was streaming is over, its text kept;
//! - when the turn was waiting for an approval (a call of `turn.step` is `approval_requested`),
//!   it is running again: that call waits for `approveToolCall` / `rejectToolCall`; the calls of
//!   the step that had completed are posted with their output when the step is complete, the
//!   ones that were still running come back `stopped` and are posted as `error`; a call held by
//!   a Kaplaix reviewer resumes its wait (polling starts again, with a full `approvalTimeoutMs`),
//!   or, with no `governance` option any more, is treated as interrupted.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::json::{Map, Value};

use super::{Effect, Machine, Now, Turn};
use crate::messages::{
    AgentMessage, AgentSource, ContentBlock, Executor, Guardian, MessageSlot, ToolCallDisplay,
    ToolCallStatus,
};

/// The `version` this package writes and reads.
pub const STATE_VERSION: f64 = 1.0;

/// The error posted to the model for a call of a restored step that was running at export.
pub const INTERRUPTED: &str =
    "The tool call was interrupted (the page was left or reloaded) before it finished";

/// Why a state was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// Not a state of this version, project and integration, or malformed.
    Invalid(&'static str),
    /// A live restore onto an agent whose conversation already changed.
    ConversationChanged,
}

fn message_value(message: &AgentMessage) -> Value {
    let mut m = Map::new();
    match message {
        AgentMessage::User { content } => {
            m.insert("role".into(), "user".into());
            m.insert("content".into(), content.as_str().into());
        }
        AgentMessage::Assistant {
            content,
            blocks,
            is_error,
        } => {
            m.insert("role".into(), "assistant".into());
            m.insert("content".into(), content.as_str().into());
            let blocks = blocks.iter().map(ContentBlock::to_value).collect();
            m.insert("blocks".into(), Value::Array(blocks));
            if *is_error {
                m.insert("isError".into(), true.into());
            }
        }
    }
    Value::Object(m)
}

fn opt_str(o: &Map, key: &str) -> Result<Option<String>, ()> {
    match o.get(key) {
        None => Ok(None),
        Some(v) => v.as_str().map(|s| Some(s.to_owned())).ok_or(()),
    }
}

fn req_str(o: &Map, key: &str) -> Result<String, ()> {
    opt_str(o, key)?.ok_or(())
}

fn parse_source(v: &Value) -> Result<AgentSource, ()> {
    let o = v.as_object().ok_or(())?;
    Ok(AgentSource {
        title: req_str(o, "title")?,
        source_url: req_str(o, "sourceUrl")?,
        source_type: opt_str(o, "sourceType")?,
        source_visibility: opt_str(o, "sourceVisibility")?,
    })
}

fn parse_call(v: &Value) -> Result<ToolCallDisplay, ()> {
    let o = v.as_object().ok_or(())?;
    let status = o.get("status").and_then(Value::as_str).ok_or(())?;
    let guardian = match o.get("guardian") {
        None => None,
        Some(g) => {
            let g = g.as_object().ok_or(())?;
            Some(Guardian {
                pending_action_id: req_str(g, "pendingActionId")?,
                status: req_str(g, "status")?,
            })
        }
    };
    let duration_ms = match o.get("durationMs") {
        None => None,
        Some(d) => Some(d.as_f64().ok_or(())?),
    };
    let sources = match o.get("sources") {
        None => None,
        Some(s) => Some(
            s.as_array()
                .ok_or(())?
                .iter()
                .map(parse_source)
                .collect::<Result<Vec<_>, ()>>()?,
        ),
    };
    let needs_approval = match o.get("needsApproval") {
        None => None,
        Some(b) => Some(b.as_bool().ok_or(())?),
    };
    Ok(ToolCallDisplay {
        id: req_str(o, "id")?,
        name: req_str(o, "name")?,
        arguments: o.get("arguments").cloned().unwrap_or_else(|| jv!({})),
        status: ToolCallStatus::parse(status).ok_or(())?,
        result: o.get("result").cloned(),
        error: opt_str(o, "error")?,
        duration_ms,
        sources,
        display_name: opt_str(o, "displayName")?,
        needs_approval,
        guardian,
        executor: None,
    })
}

fn parse_message(v: &Value) -> Result<AgentMessage, ()> {
    let o = v.as_object().ok_or(())?;
    let content = req_str(o, "content")?;
    match o.get("role").and_then(Value::as_str) {
        Some("user") => Ok(AgentMessage::User { content }),
        Some("assistant") => {
            let mut blocks = Vec::new();
            match o.get("blocks") {
                None if content.is_empty() => {}
                None => blocks.push(ContentBlock::Text {
                    content: content.clone(),
                }),
                Some(b) => {
                    for b in b.as_array().ok_or(())? {
                        let bo = b.as_object().ok_or(())?;
                        blocks.push(match bo.get("type").and_then(Value::as_str) {
                            Some("text") => ContentBlock::Text {
                                content: req_str(bo, "content")?,
                            },
                            Some("tool_calls") => ContentBlock::ToolCalls {
                                tool_calls: bo
                                    .get("toolCalls")
                                    .and_then(Value::as_array)
                                    .ok_or(())?
                                    .iter()
                                    .map(parse_call)
                                    .collect::<Result<Vec<_>, ()>>()?,
                            },
                            _ => return Err(()),
                        });
                    }
                }
            }
            let is_error = match o.get("isError") {
                None => false,
                Some(b) => b.as_bool().ok_or(())?,
            };
            Ok(AgentMessage::Assistant {
                content,
                blocks,
                is_error,
            })
        }
        _ => Err(()),
    }
}

/// The parts of a state, checked.
struct Parsed {
    thread_id: Option<String>,
    messages: Vec<AgentMessage>,
    run_id: Option<String>,
    step: Vec<String>,
}

fn parse_state(state: &Value, project: &str, integration: &str) -> Result<Parsed, StateError> {
    let bad = StateError::Invalid;
    let o = state.as_object().ok_or(bad("not an object"))?;
    if o.get("version").and_then(Value::as_f64) != Some(STATE_VERSION) {
        return Err(bad("unknown version"));
    }
    if o.get("projectId").and_then(Value::as_str) != Some(project)
        || o.get("integrationId").and_then(Value::as_str) != Some(integration)
    {
        return Err(bad("another project or integration"));
    }
    let thread_id = match o.get("threadId") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if !t.is_empty() => Some(t.clone()),
        Some(_) => return Err(bad("threadId is not a string or null")),
    };
    let messages = o
        .get("messages")
        .and_then(Value::as_array)
        .ok_or(bad("messages is not an array"))?
        .iter()
        .map(parse_message)
        .collect::<Result<Vec<_>, ()>>()
        .map_err(|()| bad("messages is not an array of messages"))?;
    // `turn` is ours: a malformed one only loses the approval wait, never the conversation.
    let turn = o.get("turn").and_then(Value::as_object);
    let run_id = turn
        .and_then(|t| t.get("runId"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let step = turn
        .and_then(|t| t.get("step"))
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(Parsed {
        thread_id,
        messages,
        run_id,
        step,
    })
}

impl Machine {
    /// `exportState()`: see the module docs for the shape.
    pub fn export_state(&self) -> Value {
        let mut o = Map::new();
        o.insert("version".into(), Value::from(STATE_VERSION as u64));
        o.insert("projectId".into(), self.config.project_id.as_str().into());
        o.insert(
            "integrationId".into(),
            self.config.integration_id.as_str().into(),
        );
        o.insert("threadId".into(), self.thread_id_value());
        let messages = self
            .messages
            .iter()
            .map(|s| message_value(&s.message))
            .collect();
        o.insert("messages".into(), Value::Array(messages));
        if let Some(turn) = &self.turn {
            let step = turn.step.iter().map(|s| Value::from(s.as_str())).collect();
            o.insert(
                "turn".into(),
                jv!({"runId": turn.run_id.as_str(), "step": Value::Array(step)}),
            );
        }
        Value::Object(o)
    }

    /// Check a state without restoring it (what `new Agent({initialState})` refuses).
    pub fn check_state(&self, state: &Value) -> Result<(), StateError> {
        parse_state(state, &self.config.project_id, &self.config.integration_id).map(|_| ())
    }

    /// Restore an exported state (module docs: the rules). With `announce` false (at
    /// construction) nothing is emitted: the first change after it delivers the whole restored
    /// conversation. With `announce` true (a state that arrived later) the messages, thread id
    /// and streaming flag are delivered now; refused when the conversation already changed.
    pub fn restore_state(
        &mut self,
        state: &Value,
        announce: bool,
        now: impl Into<Now>,
    ) -> Result<(), StateError> {
        let now_ms = self.at(now);
        let parsed = parse_state(state, &self.config.project_id, &self.config.integration_id)?;
        if self.turn.is_some() || !self.messages.is_empty() {
            return Err(StateError::ConversationChanged);
        }
        if announce {
            self.batch(|m| m.apply_state(parsed, true, now_ms));
        } else {
            self.apply_state(parsed, false, now_ms);
            self.messages_dirty = false;
        }
        Ok(())
    }

    fn apply_state(&mut self, parsed: Parsed, announce: bool, now_ms: f64) {
        let Parsed {
            thread_id,
            mut messages,
            run_id,
            step,
        } = parsed;
        let last = messages.len().wrapping_sub(1);
        // The approval wait goes on only if the last message is the turn's assistant message,
        // holding every call of the step, one of them waiting for a decision.
        let waits = !step.is_empty()
            && messages.last().is_some_and(|m| {
                let calls: Vec<&ToolCallDisplay> = m.tool_calls().collect();
                step.iter().all(|id| calls.iter().any(|c| &c.id == id))
                    && calls.iter().any(|c| {
                        step.contains(&c.id) && c.status == ToolCallStatus::ApprovalRequested
                    })
            });
        let governed = self.gov.is_some();
        let mut interrupted = Vec::new();
        let mut held = Vec::new();
        for (i, message) in messages.iter_mut().enumerate() {
            for call in message.tool_calls_mut() {
                let in_step = waits && i == last && step.contains(&call.id);
                call.executor = Some(if in_step || self.config.tool(&call.name).is_some() {
                    Executor::Client
                } else {
                    Executor::Server
                });
                if !call.status.is_open() {
                    continue;
                }
                let pending_review = call
                    .guardian
                    .as_ref()
                    .filter(|g| g.status == "pending")
                    .map(|g| g.pending_action_id.clone());
                match (in_step, call.status, pending_review) {
                    (true, ToolCallStatus::ApprovalRequested, None) => {}
                    (true, ToolCallStatus::ApprovalRequested, Some(action)) if governed => {
                        held.push((call.id.clone(), action));
                    }
                    (true, _, _) => {
                        call.status = ToolCallStatus::Stopped;
                        interrupted.push(call.id.clone());
                    }
                    (false, _, _) => call.status = ToolCallStatus::Stopped,
                }
            }
        }
        // A step whose only waiting call was a held one without governance is over too.
        let waits = waits
            && messages.last().is_some_and(|m| {
                m.tool_calls()
                    .any(|c| step.contains(&c.id) && c.status == ToolCallStatus::ApprovalRequested)
            });
        if !waits {
            // Calls of a step that cannot wait any more were stopped above like any other.
            interrupted.clear();
        }
        self.messages = Vec::with_capacity(messages.len());
        for message in messages {
            let id = self.next_message_id;
            self.next_message_id += 1;
            self.rev += 1;
            self.messages.push(MessageSlot {
                id,
                rev: self.rev,
                message,
            });
        }
        self.rev += 1;
        self.changed_from = 0;
        self.messages_dirty = announce;
        if announce {
            self.set_thread_id(thread_id);
        } else {
            self.thread_id = thread_id;
        }
        if waits {
            let id = self.fresh_id();
            let run_id = run_id.unwrap_or_else(|| self.rng.uuid_v4());
            self.turn = Some(Turn {
                id,
                assistant: Some(last),
                step,
                run_id,
                shown_assistant: true,
                interrupted,
                pending_high: 0,
            });
            for (call_id, action) in held {
                self.gov_start_wait(call_id, action, now_ms);
            }
            if announce {
                self.emit(Effect::StreamingChanged(true));
            }
        }
    }
}
