//! Reading the options the package entry checked. `new Agent(options)` is validated in JS
//! (`pkg-template/lib/options.js`: TypeErrors naming the option, thrown even before this
//! module has loaded), which hands the Rust agent two halves: `config`, plain JSON data for
//! the machine (each tool's `parameters` already JSON Schema), and `js`, what stays in JS
//! (callbacks, each tool's `execute`, argument check and Standard Schema, `context`). This only reads them.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::json::Value;
use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::convert::{from_js, get};
use crate::options::{Config, ToolSpec};
#[cfg(feature = "governance")]
use crate::options::{GovernanceConfig, GovernanceMode, ToolAttributes};

/// A client tool's JS half.
pub struct JsTool {
    pub name: String,
    pub execute: Function,
    /// The `parameters` object when it is a Standard Schema (`~standard.validate`).
    pub standard: Option<JsValue>,
    /// `check(args)`: the arguments validated against the JSON Schema, `null` or the message.
    pub check: Function,
}

/// Everything of the options that stays in JS.
pub struct JsSide {
    pub get_session_token: Function,
    pub on_messages_change: Function,
    pub on_streaming_change: Function,
    pub on_thread_id_change: Option<Function>,
    pub on_event: Option<Function>,
    pub tools: Vec<JsTool>,
    pub context: JsValue,
}

pub struct Parsed {
    pub config: Config,
    pub js: JsSide,
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(String::from)
}

fn number(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn flag(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn tool(t: &Value) -> Option<ToolSpec> {
    Some(ToolSpec {
        name: string(t, "name")?,
        description: string(t, "description")?,
        parameters: t.get("parameters")?.clone(),
        needs_approval: flag(t, "needsApproval").unwrap_or(false),
        display_name: string(t, "displayName"),
    })
}

#[cfg(feature = "governance")]
fn governance(g: &Value) -> Option<GovernanceConfig> {
    let mut config = GovernanceConfig::new(string(g, "endpoint")?, string(g, "agentId")?);
    config.mode = match g.get("mode").and_then(Value::as_str) {
        Some("block") => GovernanceMode::Block,
        Some("require_approval") => GovernanceMode::RequireApproval,
        _ => GovernanceMode::LogOnly,
    };
    if let Some(ms) = number(g, "approvalTimeoutMs") {
        config.approval_timeout_ms = ms;
    }
    if let Some(ms) = number(g, "pollIntervalMs") {
        config.poll_interval_ms = ms;
    }
    config.fail_on_circuit_open = flag(g, "failOnCircuitOpen").unwrap_or(false);
    for (name, attrs) in g
        .get("tools")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let attrs = ToolAttributes {
            tool_type: string(attrs, "toolType"),
            operation: string(attrs, "operation"),
            target_system: string(attrs, "targetSystem"),
        };
        config.tools.insert(name.clone(), attrs);
    }
    Some(config)
}

fn config(v: &Value) -> Option<Config> {
    let mut config = Config::new(string(v, "projectId")?, string(v, "integrationId")?);
    if let Some(m) = string(v, "model") {
        config.model = m;
    }
    if let Some(b) = string(v, "baseUrl") {
        config.base_url = b;
    }
    config.custom_instructions = string(v, "customInstructions");
    config.user = v.get("user").cloned();
    if let Some(groups) = v.get("sourceGroupIdsInclude").and_then(Value::as_array) {
        config.source_group_ids_include = groups
            .iter()
            .filter_map(|g| g.as_str().map(String::from))
            .collect();
    }
    config.enable_history = flag(v, "enableHistory").unwrap_or(false);
    if let Some(r) = v.get("retry") {
        let retry = &mut config.retry;
        if let Some(n) = number(r, "maxRetries") {
            retry.max_retries = n as u32;
        }
        for (key, slot) in [
            ("baseDelayMs", &mut retry.base_delay_ms),
            ("maxDelayMs", &mut retry.max_delay_ms),
            ("maxRetryAfterMs", &mut retry.max_retry_after_ms),
        ] {
            if let Some(n) = number(r, key) {
                *slot = n;
            }
        }
    }
    // Without the feature the entry refused the option already (pkg-template/lib/options.js).
    #[cfg(feature = "governance")]
    {
        config.governance = match v.get("governance") {
            Some(g) => Some(governance(g)?),
            None => None,
        };
    }
    for (key, slot) in [
        ("throttleMs", &mut config.throttle_ms),
        ("idleTimeoutMs", &mut config.idle_timeout_ms),
        ("sessionTokenTimeoutMs", &mut config.token_timeout_ms),
    ] {
        if let Some(n) = number(v, key) {
            *slot = n;
        }
    }
    if let Some(tools) = v.get("tools").and_then(Value::as_array) {
        config.tools = tools.iter().map(tool).collect::<Option<_>>()?;
    }
    for (name, meta) in v
        .get("builtinToolMeta")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(d) = string(meta, "displayName") {
            config.builtin_display_names.insert(name.clone(), d);
        }
    }
    Some(config)
}

fn js_side(js: &JsValue) -> Option<JsSide> {
    let func = |key: &str| get(js, key).dyn_into::<Function>().ok();
    let tools = get(js, "tools");
    let tools = Array::is_array(&tools)
        .then(|| Array::from(&tools))
        .map(|a| a.iter().collect::<Vec<_>>())
        .unwrap_or_default();
    Some(JsSide {
        get_session_token: func("getSessionToken")?,
        on_messages_change: func("onMessagesChange")?,
        on_streaming_change: func("onStreamingChange")?,
        on_thread_id_change: func("onThreadIdChange"),
        on_event: func("onEvent"),
        tools: tools
            .iter()
            .map(|t| {
                Some(JsTool {
                    name: get(t, "name").as_string()?,
                    execute: get(t, "execute").dyn_into::<Function>().ok()?,
                    standard: Some(get(t, "standard")).filter(|s| !s.is_undefined()),
                    check: get(t, "check").dyn_into::<Function>().ok()?,
                })
            })
            .collect::<Option<_>>()?,
        context: get(js, "context"),
    })
}

/// The two halves the entry made of `AgentOptions`, or `None` when they are not that.
pub fn read(config_js: &JsValue, js: &JsValue) -> Option<Parsed> {
    Some(Parsed {
        config: config(&from_js(config_js).ok()?)?,
        js: js_side(js)?,
    })
}
