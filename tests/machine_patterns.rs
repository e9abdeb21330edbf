//! The host validates a client call's arguments through the machine's hook (the wasm skin in
//! JS, with `RegExp` for JSON Schema `pattern`, `patternProperties` and `propertyNames`). Here
//! the Rust validator with a tiny host matcher stands in: `^literal$` patterns only.

#[macro_use]
mod common;

use common::*;
use kapa_agent_wasm::json;
use kapa_agent_wasm::schema::validate_with;

fn exact(pattern: &str, text: &str) -> Option<bool> {
    let literal = pattern.strip_prefix('^')?.strip_suffix('$')?;
    Some(literal == text)
}

#[test]
fn a_call_whose_argument_fails_its_pattern_is_an_error_without_running() {
    let mut c = config();
    c.tools = vec![tool(
        "lookup",
        json!({"type": "object", "properties": {"code": {"type": "string", "pattern": "^ABC$"}}}),
        false,
        None,
    )];
    let mut h = H::new(c);
    h.m.set_args_check(Box::new(|tool, args| {
        validate_with(&tool.parameters, args, Some(&exact))
    }));
    let n = started(&mut h, "x");
    let t = h.sse(
        n,
        &[
            client_call("c1", "lookup", json!({"code": "abc"})),
            requires(&["c1"]),
        ],
    );
    assert!(!t.iter().any(|e| e.starts_with("RunTool")), "{t:?}");
    let call = &h.last_msg()["blocks"][0]["toolCalls"][0];
    assert_eq!(call["status"], "error");
    assert_eq!(
        call["error"],
        "Invalid arguments for tool lookup: arguments.code: expected a string matching /^ABC$/, got \"abc\""
    );
    // A matching value runs.
    let n = h.last_req();
    h.sse(
        n,
        &[
            client_call("c2", "lookup", json!({"code": "ABC"})),
            requires(&["c2"]),
        ],
    );
    assert!(h
        .last
        .iter()
        .any(|e| matches!(e, kapa_agent_wasm::machine::Effect::RunTool { .. })));
}

#[test]
fn pattern_properties_and_property_names() {
    let m: &dyn Fn(&str, &str) -> Option<bool> = &exact;
    let schema = json!({"type": "object", "patternProperties": {"^x$": {"type": "number"}}, "additionalProperties": false});
    assert_eq!(validate_with(&schema, &json!({"x": 1}), Some(m)), Ok(()));
    assert_eq!(
        validate_with(&schema, &json!({"x": "1"}), Some(m)),
        Err("arguments.x: expected number, got string".into())
    );
    assert_eq!(
        validate_with(&schema, &json!({"y": 1}), Some(m)),
        Err("arguments: unexpected property \"y\"".into())
    );
    // Without a matcher, patterns are not evaluated (and additionalProperties cannot be).
    assert_eq!(validate_with(&schema, &json!({"y": 1}), None), Ok(()));
    let names = json!({"propertyNames": {"pattern": "^ok$"}});
    assert_eq!(validate_with(&names, &json!({"ok": 1}), Some(m)), Ok(()));
    assert!(validate_with(&names, &json!({"bad": 1}), Some(m)).is_err());
    // An invalid pattern (the host says None) is not enforced.
    let never: &dyn Fn(&str, &str) -> Option<bool> = &|_, _| None;
    assert_eq!(
        validate_with(&json!({"pattern": "("}), &json!("x"), Some(never)),
        Ok(())
    );
}
