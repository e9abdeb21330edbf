//! Performs the machine's effects and feeds the results back.
//!
//! [`drive`] drains `Machine::poll` and performs each effect; it never holds a `RefCell`
//! borrow while calling user JS, so a callback may call back into the agent (its own effects
//! are picked up by the loop already running). Async work (token, fetch, tools, timer) runs
//! in `spawn_local` tasks that report to the machine and call [`drive`] again. After the agent
//! is dropped, every task finds it shut down and stops.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::small_map::SmallMap;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, RefCell};

use crate::json::Value;
use js_sys::{Function, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortController, Response};

use super::convert::{error_text, from_js, from_js_opt, get, make_error, object, to_js};
use super::options::JsSide;
use crate::machine::{Effect, HistoryError, Machine, OpId, ReqId, TurnId};
use crate::messages::{AgentMessage, ContentBlock};
use crate::protocol::HttpRequest;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &JsValue, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

use super::platform::mono_now;
pub use super::platform::now;

/// What the skin remembers of the assistant message it last gave JS, to tell how the next
/// version differs. No JS handles: the previous object is the one in the previous messages
/// array, so a streamed read costs one call into JS (`growAt`) however long the message.
struct AssistantJs {
    content_len: usize,
    block_count: usize,
    /// Byte length of the last block's text when that block is a text block.
    last_text_len: Option<usize>,
    /// The Rust value behind each tool-calls block (`None` for text blocks), to build a
    /// tool-calls block again only when it changed.
    tool_blocks: Vec<Option<ContentBlock>>,
    is_error: bool,
}

struct CachedMessage {
    id: u64,
    rev: u64,
    assistant: Option<AssistantJs>,
}

/// The JS objects of the current messages, reused while a message's revision is unchanged.
#[derive(Default)]
pub struct MessageCache {
    revision: Option<u64>,
    items: Vec<CachedMessage>,
    array: Option<js_sys::Array>,
}

/// How an assistant message's JS object changes.
enum Change<'a> {
    /// Its content and its last text block grew by this text (the streaming case).
    Grow(&'a str),
    /// Anything else: built again (reusing the unchanged blocks of `prev`).
    Rebuild,
}

/// What changed in `message` since `prev` was built.
fn assistant_change<'a>(message: &'a AgentMessage, prev: &AssistantJs) -> Change<'a> {
    let Some((content, blocks, is_error)) = message.assistant_parts() else {
        return Change::Rebuild;
    };
    let Some((ContentBlock::Text { content: text }, earlier)) = blocks.split_last() else {
        return Change::Rebuild;
    };
    let same_shape = is_error == prev.is_error
        && blocks.len() == prev.block_count
        && earlier.iter().zip(&prev.tool_blocks).all(|(b, t)| match t {
            Some(t) => t == b,
            None => matches!(b, ContentBlock::Text { .. }),
        });
    match (same_shape, prev.last_text_len) {
        (true, Some(old)) => match (content.get(prev.content_len..), text.get(old..)) {
            (Some(a), Some(b)) if a == b => Change::Grow(a),
            _ => Change::Rebuild,
        },
        _ => Change::Rebuild,
    }
}

/// What to remember of an assistant message once its JS object is built.
fn assistant_memo(message: &AgentMessage) -> Option<AssistantJs> {
    let (content, blocks, is_error) = message.assistant_parts()?;
    Some(AssistantJs {
        content_len: content.len(),
        block_count: blocks.len(),
        last_text_len: match blocks.last() {
            Some(ContentBlock::Text { content }) => Some(content.len()),
            _ => None,
        },
        tool_blocks: blocks
            .iter()
            .map(|b| match b {
                ContentBlock::Text { .. } => None,
                tool => Some(tool.clone()),
            })
            .collect(),
        is_error,
    })
}

/// The JS object of a message. For an assistant message, the blocks of `prev` (its previous
/// JS object, remembered as `memo`) that did not change are reused: earlier text blocks
/// never change, tool-call blocks are built again only when they changed.
fn message_js(message: &AgentMessage, prev: Option<(&JsValue, &AssistantJs)>) -> JsValue {
    let (content, blocks, is_error) = match message {
        AgentMessage::User { content } => return user_message(content),
        AgentMessage::Assistant {
            content,
            blocks,
            is_error,
        } => (content, blocks, *is_error),
    };
    let prev_blocks = prev.map(|(js, _)| get(js, "blocks"));
    let reusable = |i: usize, block: &ContentBlock| -> Option<JsValue> {
        let (_, memo) = prev?;
        let same = match (block, memo.tool_blocks.get(i)?) {
            (ContentBlock::Text { .. }, None) => i + 1 < memo.block_count,
            (tool, Some(old)) => tool == old,
            _ => false,
        };
        same.then(|| js_sys::Reflect::get_u32(prev_blocks.as_ref()?, i as u32).ok())
            .flatten()
    };
    let array = js_sys::Array::new_with_length(blocks.len() as u32);
    for (i, block) in blocks.iter().enumerate() {
        let value = reusable(i, block).unwrap_or_else(|| match block {
            ContentBlock::Text { content } => text_block(&js_sys::JsString::from(content.as_str())),
            tool => to_js(&tool.to_value()),
        });
        array.set(i as u32, value);
    }
    assistant_message(&js_sys::JsString::from(content.as_str()), &array, is_error)
}

/// Everything one agent owns, shared by the class and its tasks.
pub struct Inner {
    pub machine: RefCell<Machine>,
    pub js: RefCell<JsSide>,
    /// In-flight fetches by request, with the attempt number that started each.
    fetches: RefCell<SmallMap<ReqId, (u64, AbortController)>>,
    attempts: Cell<u64>,
    tools: RefCell<SmallMap<String, AbortController>>,
    pub turns: RefCell<SmallMap<TurnId, Function>>,
    pub history: RefCell<SmallMap<OpId, (Function, Function, String)>>,
    cache: RefCell<MessageCache>,
    /// `flushGovernance()` calls waiting for the audit queue to empty: resolve, timer, and
    /// the timer's callback (dropped with the entry, whether or not it fired).
    pub flushes: RefCell<Vec<Flush>>,
    /// The `visibilitychange` listener (browsers), removed when the agent is freed.
    visibility: RefCell<Option<JsValue>>,
    driving: Cell<bool>,
    /// The request whose network read is being handed to the machine right now.
    reading: Cell<Option<ReqId>>,
    pub closed: Cell<bool>,
}

/// A `flushGovernance()` promise waiting: its resolve, its timeout's id and callback.
pub type Flush = (Function, JsValue, Closure<dyn FnMut()>);

impl Inner {
    /// The fetch `attempt` of `req` is still wanted: not cancelled, not superseded by a retry
    /// of the same request, and the agent not freed.
    fn fetch_live(&self, req: ReqId, attempt: u64) -> bool {
        !self.closed.get()
            && self
                .fetches
                .borrow()
                .get(&req)
                .is_some_and(|(a, _)| *a == attempt)
    }

    pub fn new(machine: Machine, js: JsSide) -> Rc<Self> {
        Rc::new(Inner {
            machine: RefCell::new(machine),
            js: RefCell::new(js),
            fetches: RefCell::default(),
            attempts: Cell::new(0),
            tools: RefCell::default(),
            turns: RefCell::default(),
            history: RefCell::default(),
            cache: RefCell::default(),
            flushes: RefCell::default(),
            visibility: RefCell::default(),
            driving: Cell::new(false),
            reading: Cell::new(None),
            closed: Cell::new(false),
        })
    }
}

/// Call a user callback; a throw is reported to the console and otherwise ignored.
fn call(f: &Function, args: &[&JsValue]) {
    let r = match args {
        [] => f.call0(&JsValue::UNDEFINED),
        [a] => f.call1(&JsValue::UNDEFINED, a),
        [a, b] => f.call2(&JsValue::UNDEFINED, a, b),
        [a, b, c, ..] => f.call3(&JsValue::UNDEFINED, a, b, c),
    };
    if let Err(e) = r {
        web_sys::console::error_2(&"kapa-agent-wasm: a callback threw:".into(), &e);
    }
}

/// The current messages as a JS array: the same array until something changes; unchanged
/// message objects keep their identity. While messages are only appended to or changed in
/// place (streaming), the new array is a copy of the previous one with the changed entries
/// replaced, so the cost does not grow with the conversation's JS objects.
pub fn messages_array(inner: &Inner) -> JsValue {
    let mut machine = inner.machine.borrow_mut();
    let mut cache = inner.cache.borrow_mut();
    if let (Some(array), true) = (&cache.array, cache.revision == Some(machine.revision())) {
        return array.clone().into();
    }
    // Only messages from `from` on can differ from the cached ones.
    let from = machine.take_changed_from();
    let slots = machine.messages();
    let (array, from) = match &cache.array {
        Some(prev) if cache.items.len() <= slots.len() => (prev.slice(0, prev.length()), from),
        _ => {
            cache.items = Vec::new();
            (js_sys::Array::new(), 0)
        }
    };
    for (i, slot) in slots.iter().enumerate().skip(from) {
        match cache.items.get_mut(i) {
            Some(item) if item.id == slot.id && item.rev == slot.rev => {}
            Some(item) => {
                // Build on the previous version only if it is the same message.
                let prev = item.assistant.take().filter(|_| item.id == slot.id);
                let memo = match prev.map(|p| (assistant_change(&slot.message, &p), p)) {
                    Some((Change::Grow(delta), mut p)) => {
                        if !delta.is_empty() {
                            grow_at(&array, i as u32, delta);
                            p.content_len += delta.len();
                            p.last_text_len = p.last_text_len.map(|n| n + delta.len());
                        }
                        Some(p)
                    }
                    Some((Change::Rebuild, p)) => {
                        let old = array.get(i as u32);
                        array.set(i as u32, message_js(&slot.message, Some((&old, &p))));
                        assistant_memo(&slot.message)
                    }
                    None => {
                        array.set(i as u32, message_js(&slot.message, None));
                        assistant_memo(&slot.message)
                    }
                };
                *item = CachedMessage {
                    id: slot.id,
                    rev: slot.rev,
                    assistant: memo,
                };
            }
            None => {
                array.push(&message_js(&slot.message, None));
                cache.items.push(CachedMessage {
                    id: slot.id,
                    rev: slot.rev,
                    assistant: assistant_memo(&slot.message),
                });
            }
        }
    }
    // Only the last message streams; the others keep no memo (a change to one of them,
    // rare, rebuilds it from the Rust message).
    let last = cache.items.len().saturating_sub(1);
    for item in cache.items[..last].iter_mut().skip(from.saturating_sub(1)) {
        item.assistant = None;
    }
    cache.revision = Some(machine.revision());
    cache.array = Some(array.clone());
    array.into()
}

/// Drain and perform the machine's effects, then re-arm the timer.
pub fn drive(inner: &Rc<Inner>) {
    if inner.driving.get() {
        return; // the loop already running picks up what a re-entrant call queued
    }
    inner.driving.set(true);
    loop {
        if inner.closed.get() {
            break; // freed by a callback meanwhile: shutdown settled everything
        }
        let effect = inner.machine.borrow_mut().poll();
        match effect {
            Some(effect) => perform(inner, effect),
            None => break,
        }
    }
    inner.driving.set(false);
    arm_timer(inner);
    settle_flushes(inner);
}

/// Resolve `flushGovernance()` promises once nothing is left to deliver.
fn settle_flushes(inner: &Inner) {
    if inner.flushes.borrow().is_empty() || inner.machine.borrow().governance_pending() > 0 {
        return;
    }
    let waiting: Vec<Flush> = inner.flushes.borrow_mut().drain(..).collect();
    for (resolve, timer, _callback) in waiting {
        clear_timeout(&timer);
        call(&resolve, &[&JsValue::TRUE]);
    }
}

/// `flushGovernance({timeoutMs})`: `true` once the audit queue is empty, `false` at the timeout.
/// Without the `governance` feature nothing is ever queued: `true` at once.
pub fn flush_governance(inner: &Rc<Inner>, timeout_ms: f64) -> Promise {
    if !cfg!(feature = "governance")
        || inner.closed.get()
        || inner.machine.borrow().governance_pending() == 0
    {
        return Promise::resolve(&JsValue::TRUE);
    }
    let inner = inner.clone();
    Promise::new(&mut |resolve, _reject| {
        let weak = Rc::downgrade(&inner);
        let me = resolve.clone();
        let on_timeout = Closure::<dyn FnMut()>::new(move || {
            // Removing the entry drops this callback while it runs; wasm-bindgen defers
            // freeing a closure until its current call returns.
            let removed: Vec<Flush> = weak.upgrade().map_or_else(Vec::new, |inner| {
                let mut flushes = inner.flushes.borrow_mut();
                let (gone, kept) = core::mem::take(&mut *flushes)
                    .into_iter()
                    .partition(|(f, _, _)| Object::is(f, &me));
                *flushes = kept;
                gone
            });
            call(&me, &[&JsValue::FALSE]);
            drop(removed);
        });
        let timer = set_timeout(on_timeout.as_ref(), timeout_ms);
        inner
            .flushes
            .borrow_mut()
            .push((resolve, timer, on_timeout));
    })
}

/// Browsers: when the page is hidden, send queued audit events with `keepalive`.
/// Without the `governance` feature there is nothing to send: no listener.
pub fn watch_visibility(inner: &Rc<Inner>) {
    if !cfg!(feature = "governance") {
        return;
    }
    let document = get(&js_sys::global(), "document");
    let add = get(&document, "addEventListener");
    let Some(add) = add.dyn_ref::<Function>() else {
        return;
    };
    let weak = Rc::downgrade(inner);
    let doc = document.clone();
    let listener = Closure::<dyn Fn()>::new(move || {
        let hidden = get(&doc, "visibilityState").as_string().as_deref() == Some("hidden");
        if let Some(inner) = weak.upgrade().filter(|_| hidden) {
            if !inner.closed.get() {
                let t = now();
                inner.machine.borrow_mut().page_hidden(t);
                drive(&inner);
            }
        }
    })
    .into_js_value();
    if add
        .call2(&document, &"visibilitychange".into(), &listener)
        .is_ok()
    {
        *inner.visibility.borrow_mut() = Some(listener);
    }
}

/// The module's one timer, shared by its agents. Per-agent timers cost a setTimeout and a
/// clearTimeout per turn (the turn's deadline is set when its request starts and dropped when
/// it ends; 10–15 µs in Chromium) plus a callback per agent. Here a timer nothing waits for
/// any more is left to fire (harmlessly), so back-to-back turns, of one agent or of several,
/// share one; in Node it is unref'd meanwhile so that it does not keep the process alive.
struct Clock {
    /// The pending setTimeout: when it fires, and its id.
    armed: Option<(f64, JsValue)>,
    /// Whether it is wanted (and, in Node, ref'd).
    held: bool,
    /// Made on first use, kept for the module's life (the timer always calls this one).
    callback: Option<Closure<dyn FnMut()>>,
    /// The agents that wait for a time, and that time.
    waiting: Vec<(Weak<Inner>, f64)>,
}

/// A module-wide value. The .wasm is built without threads (no atomics, no shared memory),
/// so every access is from the one thread that instantiated it.
struct ModuleWide<T>(T);

// SAFETY: see above: there is no second thread to share it with.
unsafe impl<T> Sync for ModuleWide<T> {}

#[cfg(target_feature = "atomics")]
compile_error!("ModuleWide assumes a single-threaded wasm (no atomics, no shared memory)");

impl<T> ModuleWide<T> {
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0)
    }
}

static CLOCK: ModuleWide<RefCell<Clock>> = ModuleWide(RefCell::new(Clock {
    armed: None,
    held: false,
    callback: None,
    waiting: Vec::new(),
}));

impl Clock {
    /// Arm, keep, or release the timer for the earliest time an agent waits for.
    fn schedule(&mut self) {
        let want = self.waiting.iter().map(|(_, at)| *at).reduce(f64::min);
        match (&self.armed, want) {
            // A timer that fires no later than needed is kept (firing early is harmless: the
            // agents do what is due and ask again), so the idle deadline moving with every
            // network read costs no clearTimeout + setTimeout.
            (Some((at, _)), Some(w)) if *at <= w => self.hold(true),
            (Some(_), None) => self.hold(false),
            (None, None) => {}
            (_, Some(w)) => {
                if let Some((_, id)) = self.armed.take() {
                    clear_timeout(&id);
                }
                let callback = self
                    .callback
                    .get_or_insert_with(|| Closure::new(clock_fired));
                let id = set_timeout(callback.as_ref(), (w - mono_now()).max(0.0));
                self.armed = Some((w, id));
                self.held = true;
            }
        }
    }

    /// Mark the armed timer wanted or not (in Node, ref or unref it).
    fn hold(&mut self, wanted: bool) {
        if let Some((_, id)) = self.armed.as_ref().filter(|_| self.held != wanted) {
            if id.is_object() {
                hold_timer(id, wanted);
            }
            self.held = wanted;
        }
    }
}

/// The shared timer fired: every agent whose time has come does what is due.
fn clock_fired() {
    let t = mono_now();
    let due: Vec<Rc<Inner>> = CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        c.armed = None;
        c.waiting.retain(|(w, _)| w.strong_count() > 0);
        c.waiting
            .iter()
            .filter(|(_, at)| *at <= t)
            .filter_map(|(w, _)| w.upgrade())
            .collect()
    });
    for inner in &due {
        if !inner.closed.get() {
            let t = now();
            inner.machine.borrow_mut().handle_timer(t);
            drive(inner);
        }
    }
    CLOCK.with(|c| c.borrow_mut().schedule());
}

/// Tell the clock when this agent next needs to wake (or that it does not).
fn arm_timer(inner: &Rc<Inner>) {
    let wake = if inner.closed.get() {
        None
    } else {
        inner.machine.borrow().next_wake()
    };
    CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        let me = Rc::as_ptr(inner);
        let pos = c.waiting.iter().position(|(w, _)| w.as_ptr() == me);
        match (pos, wake) {
            (Some(i), Some(w)) if c.waiting[i].1 == w => return,
            (Some(i), Some(w)) => c.waiting[i].1 = w,
            (None, Some(w)) => c.waiting.push((Rc::downgrade(inner), w)),
            (Some(i), None) => {
                c.waiting.swap_remove(i);
            }
            (None, None) => return,
        }
        c.schedule();
    });
}

fn perform(inner: &Rc<Inner>, effect: Effect) {
    match effect {
        Effect::GetToken => get_token(inner),
        Effect::Fetch { req, request } => start_fetch(inner, req, request),
        Effect::CancelFetch { req } => {
            let controller = inner.fetches.borrow_mut().remove(&req);
            // Cancelled while its own read is being handled (a terminal event, or a callback
            // stopping the turn): the read loop cancels the body as soon as that read returns,
            // which ends the fetch too, without abort()'s DOMException (tens of µs in Chromium).
            if inner.reading.get() != Some(req) {
                if let Some((_, c)) = controller {
                    c.abort();
                }
            }
        }
        Effect::RunTool {
            call_id,
            name,
            arguments,
        } => run_tool(inner, call_id, name, arguments),
        Effect::AbortTool { call_id } => {
            // Out of the map first, then abort: abort() runs the page's listeners, which may
            // call back into the agent (even free it), so no borrow may be held across it.
            let controller = inner.tools.borrow_mut().remove(&call_id);
            if let Some(c) = controller {
                c.abort();
            }
        }
        Effect::MessagesChanged => {
            let array = messages_array(inner);
            let f = inner.js.borrow().on_messages_change.clone();
            call(&f, &[&array]);
        }
        Effect::StreamingChanged(on) => {
            let f = inner.js.borrow().on_streaming_change.clone();
            call(&f, &[&JsValue::from_bool(on)]);
        }
        Effect::ThreadIdChanged(id) => {
            let f = inner.js.borrow().on_thread_id_change.clone();
            if let Some(f) = f {
                call(&f, &[&id.map_or(JsValue::NULL, |s| JsValue::from_str(&s))]);
            }
        }
        Effect::Event(e) => {
            let f = inner.js.borrow().on_event.clone();
            if let Some(f) = f {
                let event = object(&[
                    ("type", &JsValue::from_str(e.kind)),
                    ("data", &to_js(&e.data)),
                ]);
                call(&f, &[&event]);
            }
        }
        Effect::TurnEnded { turn } => {
            let resolve = inner.turns.borrow_mut().remove(&turn);
            if let Some(resolve) = resolve {
                call(&resolve, &[]);
            }
        }
        Effect::HistoryDone { op, result } => {
            let settle = inner.history.borrow_mut().remove(&op);
            if let Some((resolve, reject, thread_id)) = settle {
                match result {
                    Ok(v) if v.is_null() => call(&resolve, &[]),
                    Ok(v) => call(&resolve, &[&to_js(&v)]),
                    Err(e) => call(&reject, &[&history_error(&e, &thread_id)]),
                }
            }
        }
    }
}

pub fn history_error(e: &HistoryError, thread_id: &str) -> JsValue {
    match e {
        HistoryError::Disabled => make_error("history_disabled", ""),
        HistoryError::SessionWithoutOwner => make_error("session_without_owner", ""),
        HistoryError::ThreadNotFound => make_error("thread_not_found", thread_id),
        HistoryError::Busy => make_error(
            "error",
            "Cannot change threads while a response is streaming: stop it first",
        ),
        HistoryError::Failed(text) => make_error("error", text),
    }
}

/// Await a value that may be a promise (or any thenable).
async fn settle(value: JsValue) -> Result<JsValue, JsValue> {
    if get(&value, "then").is_function() {
        JsFuture::from(Promise::resolve(&value)).await
    } else {
        Ok(value)
    }
}

fn get_token(inner: &Rc<Inner>) {
    let f = inner.js.borrow().get_session_token.clone();
    match f.call0(&JsValue::UNDEFINED) {
        Ok(v) if get(&v, "then").is_function() => {
            let inner = inner.clone();
            spawn_local(async move {
                let result = JsFuture::from(Promise::resolve(&v)).await;
                if !inner.closed.get() {
                    token_result(&inner, result);
                    drive(&inner);
                }
            });
        }
        // A plain value (or a throw) is handled at once: no task, no extra microtask. The
        // drive loop that performed GetToken performs what this queues.
        settled => {
            token_result(inner, settled);
            drive(inner);
        }
    }
}

fn token_result(inner: &Inner, result: Result<JsValue, JsValue>) {
    let result = match result {
        Ok(v) => from_js(&v).map_err(|e| {
            [
                "getSessionToken() resolved to a value that is not JSON: ",
                &e,
            ]
            .concat()
        }),
        Err(e) => Err(["getSessionToken() failed: ", &error_text(&e)].concat()),
    };
    let t = now();
    inner.machine.borrow_mut().handle_token(result, t);
}

fn start_fetch(inner: &Rc<Inner>, req: ReqId, request: HttpRequest) {
    let Ok(controller) = AbortController::new() else {
        let t = now();
        inner
            .machine
            .borrow_mut()
            .handle_network_error(req, "AbortController is not available", t);
        return;
    };
    let attempt = inner.attempts.get() + 1;
    inner.attempts.set(attempt);
    let signal = controller.signal();
    inner
        .fetches
        .borrow_mut()
        .insert(req, (attempt, controller));
    // One call builds the init object and fetches: the header names and values cross as one
    // string, not as a dozen (each crossing is a UTF-8 decode on the JS side).
    let mut headers = String::new();
    for (k, v) in &request.headers {
        headers.push_str(k);
        headers.push('\n');
        headers.push_str(v);
        headers.push('\n');
    }
    // A value with a line break (a malformed session token, say) is refused as fetch
    // itself would refuse it, and never split into other headers.
    let bad_header = request
        .headers
        .iter()
        .any(|(_, v)| v.contains(['\n', '\r']));
    let started = if bad_header {
        Err(JsValue::from_str("Invalid header value"))
    } else {
        js_fetch(
            &request.url,
            request.method,
            &headers,
            request.body.as_deref(),
            &signal,
            request.keepalive,
        )
    };
    let inner = inner.clone();
    spawn_local(async move {
        let response = match started {
            Ok(p) => JsFuture::from(Promise::resolve(&p)).await,
            Err(e) => Err(e),
        };
        let live = |inner: &Inner| inner.fetch_live(req, attempt);
        if !live(&inner) {
            return;
        }
        // Status, content type and Retry-After in one call ("status\ntype\nretry-after").
        let head = response.and_then(|r| match response_head(&r) {
            Some(head) => Ok((r.unchecked_into::<Response>(), head)),
            None => Err(JsValue::from_str("fetch did not return a Response")),
        });
        let (response, head) = match head {
            Ok(r) => r,
            Err(e) => {
                inner.fetches.borrow_mut().remove(&req);
                let (why, t) = (error_text(&e), now());
                inner
                    .machine
                    .borrow_mut()
                    .handle_network_error(req, &why, t);
                return drive(&inner);
            }
        };
        let mut fields = head.split('\n');
        let status: u16 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let content_type = fields.next().filter(|s| !s.is_empty());
        let retry_after = fields.next().filter(|s| !s.is_empty());
        if request.stream && (200..300).contains(&status) {
            inner
                .machine
                .borrow_mut()
                .handle_stream_open(req, content_type);
            drive(&inner);
            read_stream(&inner, req, attempt, &response).await;
        } else {
            let text = match response.text() {
                Ok(p) => JsFuture::from(p)
                    .await
                    .ok()
                    .and_then(|t| t.as_string())
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            if !live(&inner) {
                return;
            }
            inner.fetches.borrow_mut().remove(&req);
            let t = now();
            inner
                .machine
                .borrow_mut()
                .handle_response(req, status, retry_after, &text, t);
            drive(&inner);
        }
    });
}

#[wasm_bindgen(module = "/src/wasm/stream.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn pump(body: &web_sys::ReadableStream, on_chunk: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = textBlock)]
    fn text_block(content: &js_sys::JsString) -> JsValue;
    /// `array[index]`, an assistant message, replaced by a copy whose content and last
    /// (text) block end with `delta`.
    #[wasm_bindgen(js_name = growAt)]
    fn grow_at(array: &js_sys::Array, index: u32, delta: &str);
    #[wasm_bindgen(js_name = userMessage)]
    fn user_message(content: &str) -> JsValue;
    #[wasm_bindgen(js_name = assistantMessage)]
    fn assistant_message(
        content: &js_sys::JsString,
        blocks: &js_sys::Array,
        is_error: bool,
    ) -> JsValue;
    /// Node: `timeout.ref()` / `timeout.unref()` (browsers' timer ids are numbers).
    #[wasm_bindgen(js_name = holdTimer)]
    fn hold_timer(id: &JsValue, hold: bool);
    /// `"status\ncontent-type\nretry-after"` of a `Response`, `None` for anything else.
    #[wasm_bindgen(js_name = responseHead)]
    fn response_head(response: &JsValue) -> Option<String>;
    #[wasm_bindgen(catch, js_name = startFetch)]
    fn js_fetch(
        url: &str,
        method: &str,
        headers: &str,
        body: Option<&str>,
        signal: &web_sys::AbortSignal,
        keepalive: bool,
    ) -> Result<JsValue, JsValue>;
}

async fn read_stream(inner: &Rc<Inner>, req: ReqId, attempt: u64, response: &Response) {
    let live = move |inner: &Inner| inner.fetch_live(req, attempt);
    let Some(body) = response.body() else {
        if live(inner) {
            let t = now();
            inner.machine.borrow_mut().handle_stream_end(req, t);
            drive(inner);
        }
        return;
    };
    let weak = Rc::downgrade(inner);
    let on_chunk = Closure::<dyn FnMut(Uint8Array) -> bool>::new(move |bytes: Uint8Array| {
        let Some(inner) = weak.upgrade() else {
            return false;
        };
        if !live(&inner) {
            return false;
        }
        let bytes = bytes.to_vec();
        let outer = inner.reading.replace(Some(req));
        let t = now();
        inner.machine.borrow_mut().handle_chunk(req, &bytes, t);
        drive(&inner);
        inner.reading.set(outer);
        live(&inner)
    });
    let ended = pump(&body, on_chunk.as_ref()).await;
    drop(on_chunk);
    if !live(inner) {
        // Cancelled: either the AbortController errored the body, or the read loop has
        // cancelled it (see `Effect::CancelFetch`).
        return;
    }
    inner.fetches.borrow_mut().remove(&req);
    match ended {
        Ok(_) => {
            let t = now();
            inner.machine.borrow_mut().handle_stream_end(req, t)
        }
        Err(_) => inner.machine.borrow_mut().handle_stream_error(req),
    }
    drive(inner);
}

fn run_tool(inner: &Rc<Inner>, call_id: String, name: String, arguments: Value) {
    let (execute, standard, context) = {
        let js = inner.js.borrow();
        match js.tools.iter().find(|t| t.name == name) {
            Some(t) => (t.execute.clone(), t.standard.clone(), js.context.clone()),
            None => {
                drop(js);
                let t = now();
                inner.machine.borrow_mut().handle_tool_result(
                    &call_id,
                    Err(["Unknown tool: ", &name].concat()),
                    0.0,
                    t,
                );
                return;
            }
        }
    };
    let Ok(controller) = AbortController::new() else {
        return;
    };
    let signal = controller.signal();
    inner.tools.borrow_mut().insert(call_id.clone(), controller);
    let inner = inner.clone();
    spawn_local(async move {
        let started = mono_now();
        let mut args = to_js(&arguments);
        if let Some(schema) = standard {
            match validate_standard(&schema, &args).await {
                Ok(value) => args = value,
                Err(e) => {
                    if inner.tools.borrow_mut().remove(&call_id).is_some() && !inner.closed.get() {
                        let t = now();
                        inner.machine.borrow_mut().handle_tool_result(
                            &call_id,
                            Err(["Invalid arguments for tool ", &name, ": ", &e].concat()),
                            0.0,
                            t,
                        );
                        drive(&inner);
                    }
                    return;
                }
            }
        }
        let options = object(&[
            ("signal", &signal),
            ("toolCallId", &JsValue::from_str(&call_id)),
        ]);
        let outcome = match execute.call3(&JsValue::UNDEFINED, &args, &context, &options) {
            Ok(v) => settle(v).await,
            Err(e) => Err(e),
        };
        let duration = mono_now() - started;
        if inner.tools.borrow_mut().remove(&call_id).is_none() || inner.closed.get() {
            return; // stopped or reset meanwhile: the late result is dropped
        }
        let outcome = match outcome {
            Ok(v) => from_js_opt(&v)
                .map_err(|e| ["The tool's result is not JSON-serialisable: ", &e].concat()),
            Err(e) => Err(error_text(&e)),
        };
        let t = now();
        inner
            .machine
            .borrow_mut()
            .handle_tool_result(&call_id, outcome, duration, t);
        drive(&inner);
    });
}

/// Standard Schema validation: the (possibly transformed) value, or the issues as text.
async fn validate_standard(schema: &JsValue, args: &JsValue) -> Result<JsValue, String> {
    let standard = get(schema, "~standard");
    let validate: Function = get(&standard, "validate").unchecked_into();
    let result = match validate.call1(&standard, args) {
        Ok(r) => settle(r).await.map_err(|e| error_text(&e))?,
        Err(e) => return Err(error_text(&e)),
    };
    let issues = get(&result, "issues");
    if js_sys::Array::is_array(&issues) {
        let text: Vec<String> = js_sys::Array::from(&issues)
            .iter()
            .map(|issue| {
                let message = get(&issue, "message")
                    .as_string()
                    .unwrap_or_else(|| "invalid".into());
                let path = get(&issue, "path");
                let path: Vec<String> = if js_sys::Array::is_array(&path) {
                    js_sys::Array::from(&path)
                        .iter()
                        .map(|seg| {
                            let key = if seg.is_object() {
                                get(&seg, "key")
                            } else {
                                seg
                            };
                            key.as_string()
                                .or_else(|| key.as_f64().map(crate::json::js_number))
                                .unwrap_or_default()
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                if path.is_empty() {
                    message
                } else {
                    [&path.join("."), ": ", &message].concat()
                }
            })
            .collect();
        return Err(text.join("; "));
    }
    Ok(get(&result, "value"))
}

/// The agent is gone: abort every request and tool, clear the timer, settle every promise.
pub fn shutdown(inner: &Rc<Inner>) {
    if inner.closed.replace(true) {
        return;
    }
    // Each map is taken in a statement of its own: a `for` over `take(&mut *x.borrow_mut())`
    // would hold the borrow through the loop, and abort() runs the page's listeners.
    let fetches = core::mem::take(&mut *inner.fetches.borrow_mut());
    for (_, (_, c)) in fetches.into_iter() {
        c.abort();
    }
    let tools = core::mem::take(&mut *inner.tools.borrow_mut());
    for (_, c) in tools.into_iter() {
        c.abort();
    }
    arm_timer(inner); // closed: the clock forgets this agent
    let listener = inner.visibility.borrow_mut().take();
    if let Some(listener) = listener {
        let document = get(&js_sys::global(), "document");
        if let Some(remove) = get(&document, "removeEventListener").dyn_ref::<Function>() {
            let _ = remove.call2(&document, &"visibilitychange".into(), &listener);
        }
    }
    let flushes: Vec<Flush> = inner.flushes.borrow_mut().drain(..).collect();
    for (resolve, timer, _callback) in flushes {
        clear_timeout(&timer);
        call(&resolve, &[&JsValue::FALSE]);
    }
    let turns: Vec<Function> = core::mem::take(&mut *inner.turns.borrow_mut())
        .into_values()
        .collect();
    for resolve in turns {
        call(&resolve, &[]);
    }
    let ops: Vec<Function> = core::mem::take(&mut *inner.history.borrow_mut())
        .into_values()
        .map(|(_, reject, _)| reject)
        .collect();
    for reject in ops {
        call(&reject, &[&make_error("error", "The agent was freed")]);
    }
}
