//! wasm-bindgen tests of the glue, in headless Chromium (and Node): the `Agent` class with a
//! stubbed `fetch`, exercising tool calls, abort signals, callbacks that throw, re-entrancy
//! and freeing mid-turn. The scenarios live in tests/wasm/harness.js.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Reflect};
use kapa_agent_wasm::wasm::agent::Agent;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/wasm/harness.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeOptions)]
    fn make_options(extra: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makeToolOptions)]
    fn make_tool_options(state: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makeResultOptions)]
    fn make_result_options() -> JsValue;
    #[wasm_bindgen(js_name = makeThrowingOptions)]
    fn make_throwing_options(log: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makeReentrantOptions)]
    fn make_reentrant_options(state: &JsValue, get_agent: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = splitOptions)]
    fn split_options(options: &JsValue) -> JsValue;
    #[wasm_bindgen(catch, js_name = scenarioStopAbortsTool)]
    async fn scenario_stop_aborts_tool(agent: JsValue, state: &JsValue)
        -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = scenarioThrowingCallbacks)]
    async fn scenario_throwing_callbacks(agent: JsValue, log: &JsValue)
        -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = scenarioReentrancy)]
    async fn scenario_reentrancy(agent: JsValue, state: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = scenarioToolResults)]
    async fn scenario_tool_results(agent: JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = scenarioFreeMidTurn)]
    async fn scenario_free_mid_turn(agent: JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = scenarioTokenNotLeaked)]
    async fn scenario_token_not_leaked(agent: JsValue, log: &JsValue) -> Result<JsValue, JsValue>;
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &k.into()).unwrap()
}

/// An agent over `options`, split as the package entry would hand them over.
fn agent(options: JsValue) -> Agent {
    let split = split_options(&options);
    Agent::new(get(&split, "config"), get(&split, "js")).unwrap()
}

fn fail(e: JsValue) -> ! {
    panic!(
        "{}",
        get(&e, "message")
            .as_string()
            .unwrap_or_else(|| format!("{e:?}"))
    )
}

#[wasm_bindgen_test]
async fn stop_aborts_a_tool_that_never_settles() {
    let state: JsValue = Object::new().into();
    let made = make_tool_options(&state);
    let agent = agent(get(&made, "options"));
    scenario_stop_aborts_tool(agent.into(), &state)
        .await
        .unwrap_or_else(|e| fail(e));
}

#[wasm_bindgen_test]
async fn callbacks_that_throw_do_not_break_the_agent() {
    let log: JsValue = Object::new().into();
    let agent = agent(make_throwing_options(&log));
    scenario_throwing_callbacks(agent.into(), &log)
        .await
        .unwrap_or_else(|e| fail(e));
}

#[wasm_bindgen_test]
async fn callbacks_and_tools_can_call_back_into_the_agent() {
    let state: JsValue = Object::new().into();
    // The callbacks need the agent's JS object, which exists only after construction.
    let slot: Rc<RefCell<JsValue>> = Rc::new(RefCell::new(JsValue::UNDEFINED));
    let reader = slot.clone();
    let get_agent = Closure::<dyn Fn() -> JsValue>::new(move || reader.borrow().clone());
    let options = make_reentrant_options(&state, get_agent.as_ref());
    let agent: JsValue = agent(options).into();
    *slot.borrow_mut() = agent.clone();
    scenario_reentrancy(agent, &state)
        .await
        .unwrap_or_else(|e| fail(e));
    drop(get_agent);
}

#[wasm_bindgen_test]
async fn tool_results_of_every_kind() {
    let agent = agent(make_result_options());
    scenario_tool_results(agent.into())
        .await
        .unwrap_or_else(|e| fail(e));
}

#[wasm_bindgen_test]
async fn freeing_mid_turn_aborts_the_request() {
    let made = make_options(&JsValue::UNDEFINED);
    let agent = agent(get(&made, "options"));
    scenario_free_mid_turn(agent.into())
        .await
        .unwrap_or_else(|e| fail(e));
}

#[wasm_bindgen_test]
async fn the_token_never_reaches_messages_or_events() {
    let made = make_options(&JsValue::UNDEFINED);
    let agent = agent(get(&made, "options"));
    scenario_token_not_leaked(agent.into(), &get(&made, "log"))
        .await
        .unwrap_or_else(|e| fail(e));
}

#[wasm_bindgen_test]
fn options_that_skipped_the_entry_are_refused_with_a_type_error() {
    // The entry checks AgentOptions (TypeErrors naming the option: tests/js); the Rust agent
    // takes only what it split them into, and refuses anything else without trapping.
    let made = make_options(&JsValue::UNDEFINED);
    for (config, js) in [
        (get(&made, "options"), JsValue::UNDEFINED),
        (JsValue::from(5), JsValue::NULL),
    ] {
        let err = Agent::new(config, js).err().expect("refused");
        assert!(err.is_instance_of::<js_sys::TypeError>());
        let message = get(&err, "message").as_string().unwrap();
        assert!(message.contains("package entry"), "{message}");
    }
}
