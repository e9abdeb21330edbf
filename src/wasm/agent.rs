//! The exported `Agent` class: agent-core's API. Methods validate their input, tell the
//! machine, and let the driver perform the effects. Synchronous parts (SPEC §3: the user
//! message, `onStreamingChange(true)` and `message_sent` before `sendMessage` returns) happen
//! inside the call; the returned promise settles later.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::rc::{Rc, Weak};

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::convert::{error, error_text, to_js, type_error};
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
    let check = {
        let js = inner.js.borrow();
        let Some(tool) = js.tools.iter().find(|t| t.name == name) else {
            return Ok(());
        };
        tool.check.clone()
    };
    match check.call1(&JsValue::UNDEFINED, &to_js(args)) {
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

    /// Every method of agent-core's `Agent` but the constructor, by number (`OP` in
    /// `pkg-template/lib/agent.js`, which checked the arguments: error texts for the page's
    /// mistakes are made there). One export instead of sixteen: each export costs a wrapper
    /// in the glue and a shim in the module.
    pub fn call(&self, op: u32, a: JsValue, b: JsValue) -> JsValue {
        let inner = &self.inner;
        let text = a.as_string();
        // The clocks (`now`) are JS calls, to `performance.now` and `Date.now`, which a page
        // may replace: each arm reads them before it borrows the machine, never while.
        let machine = || inner.machine.borrow_mut();
        match op {
            OP_SEND => return self.send_message(&text.unwrap_or_default()).into(),
            OP_STOP => machine().stop(),
            OP_RESET => machine().reset(),
            OP_APPROVE | OP_REJECT => match text {
                Some(id) if op == OP_APPROVE => {
                    let t = now();
                    machine().approve(&id, t)
                }
                Some(id) => {
                    let t = now();
                    machine().reject(&id, t)
                }
                None => return JsValue::UNDEFINED,
            },
            OP_SET_OPTIONS => {
                // Options that did not come through the package entry are not applied.
                if let Some(Parsed { config, js }) = read(&a, &b) {
                    machine().set_config(config);
                    *inner.js.borrow_mut() = js;
                }
                return JsValue::UNDEFINED;
            }
            OP_MESSAGES => return messages_array(inner),
            OP_STREAMING => return JsValue::from_bool(inner.machine.borrow().is_streaming()),
            OP_THREAD_ID => {
                let machine = inner.machine.borrow();
                return machine.thread_id().map_or(JsValue::NULL, JsValue::from_str);
            }
            OP_FLUSH => return flush_governance(inner, a.as_f64().unwrap_or(10_000.0)).into(),
            OP_EXPORT => return super::convert::to_js(&inner.machine.borrow().export_state()),
            OP_RESTORE => return self.restore_state(&a, b.is_truthy()),
            OP_CLEAR_SESSION => {
                machine().clear_session(); // nothing to perform
                return JsValue::UNDEFINED;
            }
            OP_LIST => {
                let limit = a.as_f64().map(|n| n as u32);
                let t = now();
                let started = machine().list_threads(limit, b.as_string(), t);
                return self.history_promise(started, "").into();
            }
            OP_RESUME | OP_DELETE => {
                let (id, t) = (text.unwrap_or_default(), now());
                let started = if op == OP_RESUME {
                    machine().resume_thread(&id, t)
                } else {
                    machine().delete_thread(&id, t)
                };
                return self.history_promise(started, &id).into();
            }
            _ => return JsValue::UNDEFINED,
        }
        drive(inner);
        JsValue::UNDEFINED
    }
}

// The numbers of `Agent::call` (the same in pkg-template/lib/agent.js).
const OP_SEND: u32 = 0;
const OP_STOP: u32 = 1;
const OP_RESET: u32 = 2;
const OP_APPROVE: u32 = 3;
const OP_REJECT: u32 = 4;
const OP_SET_OPTIONS: u32 = 5;
const OP_MESSAGES: u32 = 6;
const OP_STREAMING: u32 = 7;
const OP_THREAD_ID: u32 = 8;
const OP_FLUSH: u32 = 9;
const OP_EXPORT: u32 = 10;
const OP_RESTORE: u32 = 11;
const OP_CLEAR_SESSION: u32 = 12;
const OP_LIST: u32 = 13;
const OP_RESUME: u32 = 14;
const OP_DELETE: u32 = 15;

impl Agent {
    /// Send a user message and run the agent loop; resolves when the turn ends.
    fn send_message(&self, text: &str) -> Promise {
        if self.inner.closed.get() {
            return Promise::reject(&error("This agent was freed"));
        }
        let t = now();
        let started = self.inner.machine.borrow_mut().send_message(text, t);
        match started {
            Ok(None) => Promise::resolve(&JsValue::UNDEFINED),
            Err(Busy) => Promise::reject(&error(
                "A response is already streaming: wait for it to finish or call stopGeneration() first",
            )),
            Ok(Some(turn)) => {
                let inner = self.inner.clone();
                let promise = Promise::new(&mut |resolve, _reject| {
                    inner.turns.borrow_mut().insert(turn, resolve);
                });
                drive(&self.inner);
                promise
            }
        }
    }

    /// Restore a state the package entry checked: quietly (`announce` false, right after
    /// construction) or delivering it through the callbacks. Answers `undefined`, or why the
    /// state was refused (`"conversation_changed"` when the conversation changed first).
    fn restore_state(&self, state: &JsValue, announce: bool) -> JsValue {
        let Ok(value) = super::convert::from_js(state) else {
            return JsValue::from_str("not JSON data");
        };
        let t = now();
        let done = self
            .inner
            .machine
            .borrow_mut()
            .restore_state(&value, announce, t);
        drive(&self.inner); // delivers an announced state; arms the timer of a resumed wait
        match done {
            Ok(()) => JsValue::UNDEFINED,
            Err(crate::machine::StateError::Invalid(why)) => JsValue::from_str(why),
            Err(crate::machine::StateError::ConversationChanged) => {
                JsValue::from_str("conversation_changed")
            }
        }
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
