//! Values across the boundary, double for double and key for key. Out (Rust → JS): JSON text
//! written to read back exactly (`crate::json::to_js_text`: `-0`, `±Infinity` as `±1e999`)
//! and read by `JSON.parse`, which makes plain objects (never `Map`s) with JavaScript's key
//! order and `null` for JSON null; a value holding `NaN` (no JSON text reads as one) is
//! built directly instead. In (JS → Rust): a walker with `JSON.stringify`'s semantics (keys
//! as `Object.keys` lists them, `undefined` members dropped, `undefined` items `null`) that
//! keeps numbers exactly (`-0`, `NaN` and `±Infinity` too: the message shows the page's
//! value, the wire writes them as `JSON.stringify` does) and reports what cannot be JSON
//! (functions, symbols, BigInt, cycles) instead of dropping it silently.

use crate::json::{Map, Value};
#[allow(unused_imports)]
use crate::prelude::*;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(module = "/src/wasm/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeError)]
    pub fn make_error(kind: &str, detail: &str) -> JsValue;
    #[wasm_bindgen(js_name = setErrorFactory)]
    pub fn set_error_factory(factory: &JsValue);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = String)]
    fn js_string(v: &JsValue) -> Result<js_sys::JsString, JsValue>;
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> Result<JsValue, JsValue>;
}

/// Nesting deeper than this is refused (and catches cycles early).
const MAX_DEPTH: usize = 128;

/// A JSON value as the plain JS data `JSON.parse` makes of it (objects, never `Map`s; `null`
/// for JSON null), through its text: the values crossing here are small (events, tool
/// arguments, tool-call blocks), never the streamed text.
pub fn to_js(value: &Value) -> JsValue {
    let (text, nan) = crate::json::to_js_text(value);
    if nan {
        return build(value);
    }
    json_parse(&text).unwrap_or(JsValue::UNDEFINED)
}

/// `value` built piece by piece (for values holding `NaN`, which no JSON text gives).
fn build(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(*n),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(build).collect::<Array>().into(),
        // Own data properties, as JSON.parse makes them (`Reflect.set` would run the
        // `__proto__` setter).
        Value::Object(map) => {
            let entries: Array = map
                .iter()
                .map(|(k, v)| Array::of2(&JsValue::from_str(k), &build(v)))
                .collect();
            Object::from_entries(&entries)
                .map(JsValue::from)
                .unwrap_or(JsValue::NULL)
        }
    }
}

pub fn type_error(message: &str) -> JsValue {
    make_error("type", message)
}

pub fn error(message: &str) -> JsValue {
    make_error("error", message)
}

/// The text of a thrown value: an Error's message, else `String(thrown)`.
pub fn error_text(thrown: &JsValue) -> String {
    if let Some(e) = thrown.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    if thrown.is_object() {
        if let Some(m) = Reflect::get(thrown, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
        {
            return m;
        }
    }
    js_string(thrown)
        .map(String::from)
        .unwrap_or_else(|_| "unknown error".into())
}

/// Read a JS value as JSON (`undefined` at the top becomes `null`).
pub fn from_js(value: &JsValue) -> Result<Value, String> {
    Ok(from_js_opt(value)?.unwrap_or(Value::Null))
}

/// Read a JS value as JSON; `None` for `undefined` (and what `JSON.stringify` skips).
pub fn from_js_opt(value: &JsValue) -> Result<Option<Value>, String> {
    let mut stack = Vec::new();
    walk(value, &mut stack)
}

fn walk(v: &JsValue, stack: &mut Vec<JsValue>) -> Result<Option<Value>, String> {
    if v.is_undefined() {
        return Ok(None);
    }
    if v.is_null() {
        return Ok(Some(Value::Null));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Some(Value::Bool(b)));
    }
    if let Some(n) = v.as_f64() {
        return Ok(Some(Value::Number(n)));
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(Value::String(s)));
    }
    if v.is_bigint() {
        return Err("a BigInt is not JSON-serialisable".into());
    }
    if v.is_function() {
        return Err("a function is not JSON-serialisable".into());
    }
    if v.is_symbol() {
        return Err("a symbol is not JSON-serialisable".into());
    }
    if !v.is_object() {
        return Err("value is not JSON-serialisable".into());
    }
    if stack.iter().any(|s| Object::is(s, v)) {
        return Err("a cyclic structure is not JSON-serialisable".into());
    }
    if stack.len() >= MAX_DEPTH {
        return Err("value is nested too deeply to be JSON".into());
    }
    // Dates and other objects with toJSON behave as JSON.stringify makes them.
    if let Ok(to_json) = Reflect::get(v, &"toJSON".into()) {
        if let Some(f) = to_json.dyn_ref::<js_sys::Function>() {
            let replaced = f
                .call0(v)
                .map_err(|e| ["toJSON() threw: ", &error_text(&e)].concat())?;
            stack.push(v.clone());
            let r = walk(&replaced, stack);
            stack.pop();
            return r;
        }
    }
    stack.push(v.clone());
    let result = if Array::is_array(v) {
        let arr: &Array = v.unchecked_ref();
        let mut out = Vec::with_capacity(arr.length() as usize);
        for item in arr.iter() {
            out.push(walk(&item, stack)?.unwrap_or(Value::Null));
        }
        Value::Array(out)
    } else {
        let obj: &Object = v.unchecked_ref();
        let keys = Object::keys(obj);
        let mut out = Vec::with_capacity(keys.length() as usize);
        for key in keys.iter() {
            let Some(k) = key.as_string() else { continue };
            let item = Reflect::get(v, &key)
                .map_err(|e| ["reading \"", &k, "\" threw: ", &error_text(&e)].concat())?;
            if let Some(val) = walk(&item, stack)? {
                out.push((k, val));
            }
        }
        // In `Object.keys` order, which is already JavaScript's.
        Value::Object(Map::from_entries(out))
    };
    stack.pop();
    Ok(Some(result))
}

/// `obj[key]`, or `undefined` when `obj` is not an object or the getter throws.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() && !obj.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A plain object from key/value pairs.
pub fn object(pairs: &[(&str, &JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&obj, &JsValue::from_str(k), v);
    }
    obj.into()
}
