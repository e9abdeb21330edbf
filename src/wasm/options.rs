//! Reading `AgentOptions` from JS: validation with `TypeError`s that name the option, the
//! plain-data [`Config`] for the machine, and the JS side kept in the skin (callbacks, tool
//! `execute` functions, Standard Schemas, `context`).

#[allow(unused_imports)]
use crate::prelude::*;

use crate::json::Value;
use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::convert::{from_js, get};
use crate::options::{
    Config, GovernanceConfig, GovernanceMode, RetryConfig, ToolAttributes, ToolSpec,
    DEFAULT_BASE_URL, DEFAULT_MODEL,
};

#[wasm_bindgen(module = "/src/wasm/schemas.js")]
extern "C" {
    /// JSON Schema of a tool's `parameters` (plain JSON Schema, Zod 4, Zod 3 with the optional
    /// `zod-to-json-schema` peer, or a Standard Schema that can describe itself). Throws a
    /// message when it cannot.
    #[wasm_bindgen(catch, js_name = toJsonSchema)]
    fn to_json_schema(parameters: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = setZodToJsonSchema)]
    pub fn set_zod_to_json_schema(f: &JsValue);
    #[wasm_bindgen(js_name = setZod4ToJSONSchema)]
    pub fn set_zod4_to_json_schema(f: &JsValue);
}

/// A client tool's JS half.
pub struct JsTool {
    pub name: String,
    pub execute: Function,
    /// The `parameters` object when it is a Standard Schema (`~standard.validate`).
    pub standard: Option<JsValue>,
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

type R<T> = Result<T, String>;

fn required_string(o: &JsValue, key: &str) -> R<String> {
    match get(o, key).as_string() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(format!("options.{key} must be a non-empty string")),
    }
}

fn optional_string(o: &JsValue, key: &str) -> R<Option<String>> {
    let v = get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| format!("options.{key} must be a string"))
}

fn required_fn(o: &JsValue, key: &str) -> R<Function> {
    get(o, key)
        .dyn_into::<Function>()
        .map_err(|_| format!("options.{key} must be a function"))
}

fn optional_fn(o: &JsValue, key: &str) -> R<Option<Function>> {
    let v = get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.dyn_into::<Function>()
        .map(Some)
        .map_err(|_| format!("options.{key} must be a function"))
}

fn retry_config(o: &JsValue) -> R<RetryConfig> {
    let mut retry = RetryConfig::default();
    let v = get(o, "retry");
    if v.is_undefined() {
        return Ok(retry);
    }
    if !v.is_object() {
        return Err("options.retry must be an object".into());
    }
    let field = |key: &str| -> R<Option<f64>> {
        let f = get(&v, key);
        if f.is_undefined() {
            return Ok(None);
        }
        match f.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
            _ => Err(format!("options.retry.{key} must be a non-negative number")),
        }
    };
    if let Some(n) = field("maxRetries")? {
        if crate::fmath::fract(n) != 0.0 || n > 100.0 {
            return Err("options.retry.maxRetries must be a whole number from 0 to 100".into());
        }
        retry.max_retries = n as u32;
    }
    if let Some(n) = field("baseDelayMs")? {
        retry.base_delay_ms = n;
    }
    if let Some(n) = field("maxDelayMs")? {
        retry.max_delay_ms = n;
    }
    if let Some(n) = field("maxRetryAfterMs")? {
        retry.max_retry_after_ms = n;
    }
    Ok(retry)
}

fn tools(o: &JsValue) -> R<(Vec<ToolSpec>, Vec<JsTool>)> {
    let v = get(o, "tools");
    if v.is_undefined() {
        return Ok((Vec::new(), Vec::new()));
    }
    if !Array::is_array(&v) {
        return Err("options.tools must be an array".into());
    }
    let mut specs: Vec<ToolSpec> = Vec::new();
    let mut js = Vec::new();
    for (i, t) in Array::from(&v).iter().enumerate() {
        let at = format!("options.tools[{i}]");
        if !t.is_object() {
            return Err(format!("{at} must be an object"));
        }
        let name = match get(&t, "name").as_string() {
            Some(s) if !s.is_empty() => s,
            _ => return Err(format!("{at}.name must be a non-empty string")),
        };
        if specs.iter().any(|s| s.name == name) {
            return Err(format!("{at}.name: the tool name \"{name}\" is used twice"));
        }
        let description = get(&t, "description")
            .as_string()
            .ok_or_else(|| format!("{at}.description must be a string"))?;
        let execute = get(&t, "execute")
            .dyn_into::<Function>()
            .map_err(|_| format!("{at}.execute must be a function"))?;
        let parameters = get(&t, "parameters");
        if !parameters.is_object() {
            return Err(format!(
                "{at}.parameters must be a Zod schema or a JSON Schema object"
            ));
        }
        let schema_js = to_json_schema(&parameters)
            .map_err(|e| format!("{at}.parameters: {}", super::convert::error_text(&e)))?;
        let schema: Value = from_js(&schema_js).map_err(|e| format!("{at}.parameters: {e}"))?;
        crate::schema::check_schema(&schema).map_err(|e| format!("{at}.parameters: {e}"))?;
        let needs_approval = match get(&t, "needsApproval") {
            v if v.is_undefined() => false,
            v => v
                .as_bool()
                .ok_or_else(|| format!("{at}.needsApproval must be a boolean"))?,
        };
        let display_name = match get(&t, "displayName") {
            v if v.is_undefined() => None,
            v => Some(
                v.as_string()
                    .ok_or_else(|| format!("{at}.displayName must be a string"))?,
            ),
        };
        let standard = get(&get(&parameters, "~standard"), "validate")
            .is_function()
            .then(|| parameters.clone());
        specs.push(ToolSpec {
            name: name.clone(),
            description,
            parameters: schema,
            needs_approval,
            display_name,
        });
        js.push(JsTool {
            name,
            execute,
            standard,
        });
    }
    Ok((specs, js))
}

fn positive_ms(o: &JsValue, key: &str, at: &str) -> R<Option<f64>> {
    let v = get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.is_finite() && n > 0.0 => Ok(Some(n)),
        _ => Err(format!(
            "{at}.{key} must be a positive number of milliseconds"
        )),
    }
}

/// The `governance` option (GOVERNANCE.md).
fn governance(o: &JsValue) -> R<Option<GovernanceConfig>> {
    let g = get(o, "governance");
    if g.is_undefined() {
        return Ok(None);
    }
    if !g.is_object() {
        return Err("options.governance must be an object".into());
    }
    let string = |key: &str| match get(&g, key).as_string() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(format!(
            "options.governance.{key} must be a non-empty string"
        )),
    };
    let mut config = GovernanceConfig::new(string("endpoint")?, string("agentId")?);
    config.mode = match get(&g, "mode") {
        m if m.is_undefined() => GovernanceMode::LogOnly,
        m => match m.as_string().as_deref() {
            Some("log_only") => GovernanceMode::LogOnly,
            Some("block") => GovernanceMode::Block,
            Some("require_approval") => GovernanceMode::RequireApproval,
            _ => {
                return Err(
                    "options.governance.mode must be 'log_only', 'block' or 'require_approval'"
                        .into(),
                )
            }
        },
    };
    if let Some(ms) = positive_ms(&g, "approvalTimeoutMs", "options.governance")? {
        config.approval_timeout_ms = ms;
    }
    if let Some(ms) = positive_ms(&g, "pollIntervalMs", "options.governance")? {
        config.poll_interval_ms = ms;
    }
    match get(&g, "failOnCircuitOpen") {
        f if f.is_undefined() => {}
        f => {
            config.fail_on_circuit_open = f
                .as_bool()
                .ok_or("options.governance.failOnCircuitOpen must be a boolean")?
        }
    }
    let tools = get(&g, "tools");
    if !tools.is_undefined() {
        if !tools.is_object() || Array::is_array(&tools) {
            return Err("options.governance.tools must be an object".into());
        }
        for key in Object::keys(tools.unchecked_ref::<Object>()).iter() {
            let Some(name) = key.as_string() else {
                continue;
            };
            let entry = get(&tools, &name);
            let at = format!("options.governance.tools.{name}");
            if !entry.is_object() {
                return Err(format!("{at} must be an object"));
            }
            let field = |k: &str| match get(&entry, k) {
                v if v.is_undefined() => Ok(None),
                v => v
                    .as_string()
                    .map(Some)
                    .ok_or_else(|| format!("{at}.{k} must be a string")),
            };
            let attrs = ToolAttributes {
                tool_type: field("toolType")?,
                operation: field("operation")?,
                target_system: field("targetSystem")?,
            };
            config.tools.insert(name, attrs);
        }
    }
    Ok(Some(config))
}

/// Validate `options` and split them into the machine's config and the JS side.
pub fn parse(o: &JsValue) -> R<Parsed> {
    if !o.is_object() {
        return Err("options must be an object".into());
    }
    let project_id = required_string(o, "projectId")?;
    let integration_id = required_string(o, "integrationId")?;
    let get_session_token = required_fn(o, "getSessionToken")?;
    let on_messages_change = required_fn(o, "onMessagesChange")?;
    let on_streaming_change = required_fn(o, "onStreamingChange")?;
    let on_thread_id_change = optional_fn(o, "onThreadIdChange")?;
    let on_event = optional_fn(o, "onEvent")?;
    let (tool_specs, js_tools) = tools(o)?;

    let mut config = Config::new(project_id, integration_id);
    config.model = match optional_string(o, "model")? {
        Some(m) if m.is_empty() => return Err("options.model must be a non-empty string".into()),
        m => m.unwrap_or_else(|| DEFAULT_MODEL.into()),
    };
    config.base_url = match optional_string(o, "baseUrl")? {
        Some(b) if b.is_empty() => return Err("options.baseUrl must be a non-empty string".into()),
        b => b.unwrap_or_else(|| DEFAULT_BASE_URL.into()),
    };
    config.custom_instructions = optional_string(o, "customInstructions")?;
    let user = get(o, "user");
    if !user.is_undefined() {
        if !user.is_object() || Array::is_array(&user) {
            return Err("options.user must be an object".into());
        }
        config.user = Some(from_js(&user).map_err(|e| format!("options.user: {e}"))?);
    }
    let groups = get(o, "sourceGroupIdsInclude");
    if !groups.is_undefined() {
        let ids: Option<Vec<String>> = Array::is_array(&groups)
            .then(|| Array::from(&groups).iter().map(|g| g.as_string()).collect())
            .flatten();
        config.source_group_ids_include =
            ids.ok_or("options.sourceGroupIdsInclude must be an array of strings")?;
    }
    let history = get(o, "enableHistory");
    if !history.is_undefined() {
        config.enable_history = history
            .as_bool()
            .ok_or("options.enableHistory must be a boolean")?;
    }
    config.retry = retry_config(o)?;
    config.governance = governance(o)?;
    let throttle = get(o, "throttleMs");
    if !throttle.is_undefined() {
        match throttle.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => config.throttle_ms = n,
            _ => {
                return Err(
                    "options.throttleMs must be a non-negative number of milliseconds".into(),
                )
            }
        }
    }
    for (key, slot) in [
        ("idleTimeoutMs", &mut config.idle_timeout_ms),
        ("sessionTokenTimeoutMs", &mut config.token_timeout_ms),
    ] {
        let v = get(o, key);
        if !v.is_undefined() {
            match v.as_f64() {
                Some(n) if n.is_finite() && n > 0.0 => *slot = n,
                _ => {
                    return Err(format!(
                        "options.{key} must be a positive number of milliseconds"
                    ))
                }
            }
        }
    }
    config.tools = tool_specs;
    let meta = get(o, "builtinToolMeta");
    if !meta.is_undefined() {
        if !meta.is_object() {
            return Err("options.builtinToolMeta must be an object".into());
        }
        let mut names = crate::small_map::SmallMap::new();
        for key in Object::keys(meta.unchecked_ref::<Object>()).iter() {
            let Some(k) = key.as_string() else { continue };
            let entry = get(&meta, &k);
            if !entry.is_object() {
                return Err(format!("options.builtinToolMeta.{k} must be an object"));
            }
            match get(&entry, "displayName") {
                d if d.is_undefined() => {}
                d => {
                    let d = d.as_string().ok_or_else(|| {
                        format!("options.builtinToolMeta.{k}.displayName must be a string")
                    })?;
                    names.insert(k, d);
                }
            }
        }
        config.builtin_display_names = names;
    }
    let context = match get(o, "context") {
        c if c.is_undefined() => Object::new().into(),
        c => c,
    };
    Ok(Parsed {
        config,
        js: JsSide {
            get_session_token,
            on_messages_change,
            on_streaming_change,
            on_thread_id_change,
            on_event,
            tools: js_tools,
            context,
        },
    })
}
