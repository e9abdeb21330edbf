//! The exported `Agent` class: agent-core's API. Methods validate their input, tell the
//! machine, and let the driver perform the effects. Synchronous parts (SPEC §3: the user
//! message, `onStreamingChange(true)` and `message_sent` before `sendMessage` returns) happen
//! inside the call; the returned promise settles later.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::rc::{Rc, Weak};

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::convert::{error, error_text, get, to_js, type_error};
use super::driver::{
    drive, flush_governance, history_error, messages_array, now, shutdown, watch_visibility, Inner,
};
use super::options::{read, Parsed};
use crate::json::Value;
use crate::machine::{Busy, HistoryError, Machine, OpId};

#[wasm_bindgen(typescript_custom_section)]
const TS_NOTE: &str = r#"
// The package entry (index.d.ts) carries agent-core's full types; these are the raw bindings.
"#;

/// Kapa's agent: streaming, tool calls, approvals, token lifecycle, retries and history.
#[wasm_bindgen]
pub struct Agent {
    inner: Rc<Inner>,
}

/// A call's arguments checked by its tool's JS validator (`check`, made by `pkg-template/lib/
/// options.js` from `validateArgs` in schema-check.js): `null` or the message.
fn check_args(inner: &Weak<Inner>, name: &str, args: &Value) -> Result<(), String> {
    let Some(inner) = inner.upgrade() else {
        return Ok(());
    };
    let js = inner.js.borrow();
    let Some(tool) = js.tools.iter().find(|t| t.name == name) else {
        return Ok(());
    };
    match tool.check.call1(&JsValue::UNDEFINED, &to_js(args)) {
        Ok(r) => r.as_string().map_or(Ok(()), Err),
        Err(e) => Err(error_text(&e)),
    }
}

#[wasm_bindgen]
impl Agent {
    /// The agent over options the package entry checked and split (`pkg-template/lib/
    /// options.js`: `config` for the machine, `js` for the callbacks); fetches nothing.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, js: JsValue) -> Result<Agent, JsValue> {
        let Parsed { config, js } = read(&config, &js).ok_or_else(not_checked)?;
        // Ids sent on the wire must not be guessable: the platform's CSPRNG or no agent.
        let rng = super::platform::random().map_err(|_| {
            error("crypto.getRandomValues is not available: Agent needs a secure random source")
        })?;
        let inner = Inner::new(Machine::with_rng(config, rng), js);
        let weak = Rc::downgrade(&inner);
        inner
            .machine
            .borrow_mut()
            .set_args_check(Box::new(move |tool, args| {
                check_args(&weak, &tool.name, args)
            }));
        watch_visibility(&inner);
        Ok(Agent { inner })
    }

    /// Send a user message and run the agent loop; resolves when the turn ends.
    #[wasm_bindgen(js_name = sendMessage)]
    pub fn send_message(&self, text: JsValue) -> Result<Promise, JsValue> {
        let Some(text) = text.as_string() else {
            return Err(type_error("sendMessage(text): text must be a string"));
        };
        if self.inner.closed.get() {
            return Ok(Promise::reject(&error("This agent was freed")));
        }
        let started = self.inner.machine.borrow_mut().send_message(&text, now());
        match started {
            Ok(None) => Ok(Promise::resolve(&JsValue::UNDEFINED)),
            Err(Busy) => Ok(Promise::reject(&error(
                "A response is already streaming: wait for it to finish or call stopGeneration() first",
            ))),
            Ok(Some(turn)) => {
                let inner = self.inner.clone();
                let promise = Promise::new(&mut |resolve, _reject| {
                    inner.turns.borrow_mut().insert(turn, resolve);
                });
                drive(&self.inner);
                Ok(promise)
            }
        }
    }

    /// Abort the current response; open tool calls become `stopped`.
    #[wasm_bindgen(js_name = stopGeneration)]
    pub fn stop_generation(&self) {
        self.inner.machine.borrow_mut().stop();
        drive(&self.inner);
    }

    /// Stop, clear the messages and the thread id. The session token is kept.
    #[wasm_bindgen(js_name = resetConversation)]
    pub fn reset_conversation(&self) {
        self.inner.machine.borrow_mut().reset();
        drive(&self.inner);
    }

    /// Approve a tool call that is `approval_requested`; otherwise nothing happens.
    #[wasm_bindgen(js_name = approveToolCall)]
    pub fn approve_tool_call(&self, id: JsValue) {
        if let Some(id) = id.as_string() {
            self.inner.machine.borrow_mut().approve(&id, now());
            drive(&self.inner);
        }
    }

    /// Reject a tool call that is `approval_requested`; otherwise nothing happens.
    #[wasm_bindgen(js_name = rejectToolCall)]
    pub fn reject_tool_call(&self, id: JsValue) {
        if let Some(id) = id.as_string() {
            self.inner.machine.borrow_mut().reject(&id, now());
            drive(&self.inner);
        }
    }

    /// `updateOptions`: the entry merged and checked the options; this swaps them in
    /// without resetting.
    #[wasm_bindgen(js_name = setOptions)]
    pub fn set_options(&self, config: JsValue, js: JsValue) -> Result<(), JsValue> {
        let Parsed { config, js } = read(&config, &js).ok_or_else(not_checked)?;
        self.inner.machine.borrow_mut().set_config(config);
        *self.inner.js.borrow_mut() = js;
        Ok(())
    }

    /// The current messages (the same array until something changes).
    #[wasm_bindgen(js_name = getMessages)]
    pub fn get_messages(&self) -> JsValue {
        messages_array(&self.inner)
    }

    #[wasm_bindgen(js_name = getIsStreaming)]
    pub fn get_is_streaming(&self) -> bool {
        self.inner.machine.borrow().is_streaming()
    }

    #[wasm_bindgen(js_name = getThreadId)]
    pub fn get_thread_id(&self) -> JsValue {
        self.inner
            .machine
            .borrow()
            .thread_id()
            .map_or(JsValue::NULL, JsValue::from_str)
    }

    /// Wait until every queued governance audit event was delivered: resolves `true` once the
    /// queue is empty, `false` when `timeoutMs` (default 10 000) passes first. Never hangs.
    #[wasm_bindgen(js_name = flushGovernance)]
    pub fn flush_governance(&self, options: JsValue) -> Result<Promise, JsValue> {
        let timeout = get(&options, "timeoutMs");
        let timeout_ms = match timeout.as_f64() {
            _ if timeout.is_undefined() => 10_000.0,
            Some(ms) if ms.is_finite() && ms >= 0.0 => ms,
            _ => {
                return Err(type_error(
                    "flushGovernance: timeoutMs must be a non-negative number",
                ))
            }
        };
        Ok(flush_governance(&self.inner, timeout_ms))
    }

    /// `exportState()` (STATE.md): the conversation as JSON data; no token, no `context`.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self) -> JsValue {
        super::convert::to_js(&self.inner.machine.borrow().export_state())
    }

    /// Restore a state the package entry checked: quietly (`announce` false, right after
    /// construction) or delivering it through the callbacks. Answers `undefined`, or why the
    /// state was refused (`"conversation_changed"` when the conversation changed first).
    #[wasm_bindgen(js_name = restoreState)]
    pub fn restore_state(&self, state: JsValue, announce: bool) -> JsValue {
        let Ok(value) = super::convert::from_js(&state) else {
            return JsValue::from_str("not JSON data");
        };
        let done = self
            .inner
            .machine
            .borrow_mut()
            .restore_state(&value, announce, now());
        drive(&self.inner); // delivers an announced state; arms the timer of a resumed wait
        match done {
            Ok(()) => JsValue::UNDEFINED,
            Err(crate::machine::StateError::Invalid(why)) => JsValue::from_str(why),
            Err(crate::machine::StateError::ConversationChanged) => {
                JsValue::from_str("conversation_changed")
            }
        }
    }

    /// Forget the cached session token; the next request fetches a new one.
    #[wasm_bindgen(js_name = clearSession)]
    pub fn clear_session(&self) {
        self.inner.machine.borrow_mut().clear_session();
    }

    fn history_promise(&self, started: Result<OpId, HistoryError>, thread_id: &str) -> Promise {
        match started {
            Err(e) => Promise::reject(&history_error(&e, thread_id)),
            Ok(op) => {
                let inner = self.inner.clone();
                let thread_id = thread_id.to_owned();
                let promise = Promise::new(&mut |resolve, reject| {
                    inner
                        .history
                        .borrow_mut()
                        .insert(op, (resolve, reject, thread_id.clone()));
                });
                drive(&self.inner);
                promise
            }
        }
    }

    /// `listThreads({limit?, cursor?})` → `{threads, nextCursor}`.
    #[wasm_bindgen(js_name = listThreads)]
    pub fn list_threads(&self, params: JsValue) -> Promise {
        let (limit, cursor) = if params.is_undefined() || params.is_null() {
            (JsValue::UNDEFINED, JsValue::UNDEFINED)
        } else if params.is_object() {
            (get(&params, "limit"), get(&params, "cursor"))
        } else {
            return Promise::reject(&type_error("listThreads(params): params must be an object"));
        };
        let limit = match limit.as_f64() {
            _ if limit.is_undefined() => None,
            Some(n) if n >= 1.0 && crate::fmath::fract(n) == 0.0 && n <= 1_000_000.0 => {
                Some(n as u32)
            }
            _ => {
                return Promise::reject(&type_error(
                    "listThreads: limit must be a positive whole number",
                ))
            }
        };
        let cursor = match cursor.as_string() {
            _ if cursor.is_undefined() || cursor.is_null() => None,
            Some(c) => Some(c),
            None => return Promise::reject(&type_error("listThreads: cursor must be a string")),
        };
        let started = self
            .inner
            .machine
            .borrow_mut()
            .list_threads(limit, cursor, now());
        self.history_promise(started, "")
    }

    /// Load a stored thread and make it the current conversation.
    #[wasm_bindgen(js_name = resumeThread)]
    pub fn resume_thread(&self, thread_id: JsValue) -> Promise {
        let Some(id) = thread_id.as_string().filter(|s| !s.is_empty()) else {
            return Promise::reject(&type_error(
                "resumeThread(threadId): threadId must be a non-empty string",
            ));
        };
        let started = self.inner.machine.borrow_mut().resume_thread(&id, now());
        self.history_promise(started, &id)
    }

    /// Delete a stored thread; resets the conversation when it is the current one.
    #[wasm_bindgen(js_name = deleteThread)]
    pub fn delete_thread(&self, thread_id: JsValue) -> Promise {
        let Some(id) = thread_id.as_string().filter(|s| !s.is_empty()) else {
            return Promise::reject(&type_error(
                "deleteThread(threadId): threadId must be a non-empty string",
            ));
        };
        let started = self.inner.machine.borrow_mut().delete_thread(&id, now());
        self.history_promise(started, &id)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        shutdown(&self.inner);
    }
}

/// Options that did not come through the package entry's checks.
fn not_checked() -> JsValue {
    type_error("kapa-agent-wasm: construct the Agent through the package entry")
}

/// The package entry registers how errors are made, so that the history errors are instances
/// of the classes it exports.
#[wasm_bindgen(js_name = __setErrorFactory, skip_typescript)]
pub fn set_error_factory(factory: JsValue) {
    super::convert::set_error_factory(&factory);
}

/// Bytes the module's Rust side holds now, for the benchmark's memory figures (not part of
/// the public API).
#[wasm_bindgen(js_name = __heapBytes, skip_typescript)]
pub fn heap_bytes() -> f64 {
    super::heap::live_bytes() as f64
}
