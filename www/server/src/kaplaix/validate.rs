//! Validation of the embedded service's request bodies, and its cursors.
//!
//! Every validator collects all bad fields as `{field, message}` details instead of stopping at
//! the first, so one `400 VALIDATION_ERROR` lists them all.

use super::detail;
use crate::util::parse_rfc3339;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

pub const EVENT_CATEGORIES: &[&str] = &[
    "identity",
    "tool_api",
    "approval",
    "llm",
    "data_access",
    "error",
    "custom",
];
pub const RULE_DECISIONS: &[&str] = &["allowed", "requires_review", "denied"];
pub const CONDITION_KEYS: &[&str] = &[
    "toolName",
    "toolType",
    "operation",
    "targetSystem",
    "initiatorType",
];
pub const PENDING_STATUSES: &[&str] = &["pending", "approved", "rejected", "expired"];
const MAX_ID: usize = 200;

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits (any version).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Opaque cursor: base64url of `{"last": seq}` (the last row of the page).
pub fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{{\"last\":{seq}}}"))
}

pub fn decode_cursor(c: &str) -> Option<i64> {
    if c.len() > 100 {
        return None;
    }
    let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    v.get("last")?.as_i64()
}

/// `limit` (1–100, default 20) and `cursor` of a list request.
pub fn page_params(
    limit: Option<&str>,
    cursor: Option<&str>,
    details: &mut Vec<Value>,
) -> (usize, Option<i64>) {
    let limit = match limit {
        None => 20,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                details.push(detail("limit", "must be an integer from 1 to 100"));
                20
            }
        },
    };
    let cursor = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match decode_cursor(c) {
            Some(s) => Some(s),
            None => {
                details.push(detail("cursor", "is not a cursor this service returned"));
                None
            }
        },
    };
    (limit, cursor)
}

/// An optional string field: absent and `null` are `None`; another type is a detail.
pub fn opt_str(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    max: usize,
    details: &mut Vec<Value>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= max => Some(s.clone()),
        Some(Value::String(s)) if s.is_empty() => {
            details.push(detail(&format!("{prefix}{key}"), "must not be empty"));
            None
        }
        Some(Value::String(_)) => {
            details.push(detail(
                &format!("{prefix}{key}"),
                format!("must be at most {max} characters"),
            ));
            None
        }
        Some(_) => {
            details.push(detail(&format!("{prefix}{key}"), "must be a string"));
            None
        }
    }
}

pub fn req_str(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    max: usize,
    details: &mut Vec<Value>,
) -> Option<String> {
    if matches!(obj.get(key), None | Some(Value::Null)) {
        details.push(detail(&format!("{prefix}{key}"), "is required"));
        return None;
    }
    opt_str(obj, key, prefix, max, details)
}

fn one_of(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    allowed: &[&str],
    required: bool,
    details: &mut Vec<Value>,
) -> Option<String> {
    let s = if required {
        req_str(obj, key, prefix, 100, details)
    } else {
        opt_str(obj, key, prefix, 100, details)
    }?;
    if allowed.contains(&s.as_str()) {
        Some(s)
    } else {
        details.push(detail(
            &format!("{prefix}{key}"),
            format!("must be one of: {}", allowed.join(", ")),
        ));
        None
    }
}

/// A parsed body that must be a JSON object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, Vec<Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(vec![detail("body", "must be a JSON object")]),
        Err(e) => Err(vec![detail("body", format!("is not valid JSON: {e}"))]),
    }
}

/// A validated event envelope.
pub struct Event {
    pub event_id: String,
    pub agent_id: String,
    pub session_id: String,
    pub category: String,
    pub source_ms: i64,
    pub envelope: Value,
}

/// `POST /v1/events` (GOVERNANCE.md "Events"): the envelope and, for the three categories the
/// package sends, the payload fields.
pub fn event(body: &[u8]) -> Result<Event, Vec<Value>> {
    let obj = object(body)?;
    let mut d = vec![];
    let event_id = req_str(&obj, "eventId", "", 100, &mut d);
    if let Some(id) = &event_id {
        if !is_uuid(id) {
            d.push(detail(
                "eventId",
                "must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
            ));
        }
    }
    let agent_id = req_str(&obj, "agentId", "", MAX_ID, &mut d);
    let session_id = req_str(&obj, "sessionId", "", MAX_ID, &mut d);
    let ts = req_str(&obj, "sourceTimestamp", "", 64, &mut d);
    let source_ms = ts.as_deref().and_then(|t| {
        let ms = parse_rfc3339(t);
        if ms.is_none() {
            d.push(detail(
                "sourceTimestamp",
                "must be an RFC 3339 date-time with a zone, e.g. 2025-01-15T10:30:00Z",
            ));
        }
        ms
    });
    let category = one_of(&obj, "category", "", EVENT_CATEGORIES, true, &mut d);
    match obj.get("schemaVersion") {
        Some(Value::String(v)) if v == "1.0" => {}
        None | Some(Value::Null) => d.push(detail("schemaVersion", "is required")),
        Some(_) => d.push(detail("schemaVersion", "must be \"1.0\"")),
    }
    for k in [
        "runId",
        "toolType",
        "operation",
        "targetSystem",
        "initiatorType",
    ] {
        opt_str(&obj, k, "", MAX_ID, &mut d);
    }
    match obj.get("payload") {
        Some(Value::Object(p)) => {
            if let Some(c) = &category {
                payload(c, p, &mut d);
            }
        }
        None | Some(Value::Null) => d.push(detail("payload", "is required")),
        Some(_) => d.push(detail("payload", "must be an object")),
    }
    if !d.is_empty() {
        return Err(d);
    }
    Ok(Event {
        event_id: event_id.unwrap_or_default().to_ascii_lowercase(),
        agent_id: agent_id.unwrap_or_default(),
        session_id: session_id.unwrap_or_default(),
        category: category.unwrap_or_default(),
        source_ms: source_ms.unwrap_or_default(),
        envelope: Value::Object(obj),
    })
}

fn payload(category: &str, p: &Map<String, Value>, d: &mut Vec<Value>) {
    let pre = "payload.";
    match category {
        "identity" => {
            req_str(p, "agentName", pre, MAX_ID, d);
            opt_str(p, "version", pre, 100, d);
            match p.get("capabilities") {
                None | Some(Value::Null) => {}
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
                Some(_) => d.push(detail(
                    "payload.capabilities",
                    "must be an array of strings",
                )),
            }
        }
        "tool_api" => {
            req_str(p, "toolName", pre, MAX_ID, d);
            if let Some(h) = req_str(p, "argumentsHash", pre, 64, d) {
                if h.len() != 64 || !h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
                    d.push(detail(
                        "payload.argumentsHash",
                        "must be a lowercase hex SHA-256 (64 characters)",
                    ));
                }
            }
            match p.get("responseStatus") {
                Some(Value::Number(n)) if n.as_u64().is_some_and(|n| (100..=599).contains(&n)) => {}
                None | Some(Value::Null) => d.push(detail("payload.responseStatus", "is required")),
                Some(_) => d.push(detail(
                    "payload.responseStatus",
                    "must be an HTTP status code (100–599)",
                )),
            }
            if p.contains_key("arguments") {
                d.push(detail(
                    "payload.arguments",
                    "raw arguments must not be sent: send argumentsHash",
                ));
            }
        }
        "approval" => {
            req_str(p, "approverId", pre, MAX_ID, d);
            req_str(p, "scope", pre, MAX_ID, d);
            one_of(p, "decision", pre, &["approved", "rejected"], true, d);
        }
        _ => {}
    }
}

/// A validated rule of a policy.
fn rule(i: usize, v: &Value, ids: &mut Vec<String>, d: &mut Vec<Value>) -> Value {
    let pre = format!("rules[{i}].");
    let Value::Object(r) = v else {
        d.push(detail(&format!("rules[{i}]"), "must be an object"));
        return Value::Null;
    };
    for k in r.keys() {
        if ![
            "id",
            "decision",
            "priority",
            "conditions",
            "reason",
            "description",
        ]
        .contains(&k.as_str())
        {
            d.push(detail(
                &format!("{pre}{k}"),
                "is not a rule field (id, decision, priority, conditions, reason, description)",
            ));
        }
    }
    if let Some(id) = req_str(r, "id", &pre, 100, d) {
        if ids.contains(&id) {
            d.push(detail(
                &format!("{pre}id"),
                format!("duplicates the id {id:?} of another rule"),
            ));
        }
        ids.push(id);
    }
    one_of(r, "decision", &pre, RULE_DECISIONS, true, d);
    match r.get("priority") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|p| p.abs() <= 1_000_000_000) => {}
        None | Some(Value::Null) => d.push(detail(
            &format!("{pre}priority"),
            "is required (lower is evaluated first)",
        )),
        Some(_) => d.push(detail(&format!("{pre}priority"), "must be an integer")),
    }
    opt_str(r, "reason", &pre, 500, d);
    opt_str(r, "description", &pre, 2000, d);
    let mut out = r.clone();
    match r.get("conditions") {
        None | Some(Value::Null) => {
            out.insert("conditions".into(), Value::Object(Map::new()));
        }
        Some(Value::Object(c)) => {
            for (k, val) in c {
                let f = format!("{pre}conditions.{k}");
                if !CONDITION_KEYS.contains(&k.as_str()) {
                    d.push(detail(
                        &f,
                        format!("is not a condition (one of {})", CONDITION_KEYS.join(", ")),
                    ));
                    continue;
                }
                let ok = match val {
                    Value::String(s) => !s.is_empty(),
                    Value::Array(a) => {
                        !a.is_empty() && a.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty()))
                    }
                    _ => false,
                };
                if !ok {
                    d.push(detail(
                        &f,
                        "must be a non-empty string or a non-empty array of strings",
                    ));
                }
            }
        }
        Some(_) => d.push(detail(&format!("{pre}conditions"), "must be an object")),
    }
    Value::Object(out)
}

/// Fields of a policy body (`POST`: `create` true; `PATCH`: only the fields given).
#[derive(Default, Debug)]
pub struct PolicyInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub rules: Option<Value>,
    pub default_decision: Option<String>,
    pub status: Option<String>,
}

pub fn policy(body: &[u8], create: bool) -> Result<PolicyInput, Vec<Value>> {
    let obj = object(body)?;
    let mut d = vec![];
    const READ_ONLY: &[&str] = &["id", "version", "createdAt", "updatedAt", "archivedAt"];
    for k in obj.keys() {
        if !["name", "description", "rules", "defaultDecision", "status"].contains(&k.as_str())
            && !READ_ONLY.contains(&k.as_str())
        {
            d.push(detail(
                k,
                "is not a policy field (name, description, rules, defaultDecision, status)",
            ));
        }
    }
    let mut out = PolicyInput {
        name: opt_str(&obj, "name", "", 200, &mut d),
        ..Default::default()
    };
    if obj.contains_key("description") {
        out.description = Some(opt_str(&obj, "description", "", 2000, &mut d));
    }
    out.default_decision = one_of(&obj, "defaultDecision", "", RULE_DECISIONS, false, &mut d);
    out.status = one_of(&obj, "status", "", &["active", "inactive"], false, &mut d);
    match obj.get("rules") {
        None | Some(Value::Null) if create => out.rules = Some(Value::Array(vec![])),
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.len() > 200 => d.push(detail("rules", "at most 200 rules")),
        Some(Value::Array(a)) => {
            let mut ids = vec![];
            let rules: Vec<Value> = a
                .iter()
                .enumerate()
                .map(|(i, r)| rule(i, r, &mut ids, &mut d))
                .collect();
            out.rules = Some(Value::Array(rules));
        }
        Some(_) => d.push(detail("rules", "must be an array")),
    }
    if d.is_empty() {
        Ok(out)
    } else {
        Err(d)
    }
}

/// A validated `POST /v1/policies/check` body.
#[derive(Debug, Clone)]
pub struct Check {
    pub tool_name: String,
    pub tool_type: Option<String>,
    pub operation: Option<String>,
    pub target_system: Option<String>,
    pub initiator_type: String,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
}

impl Check {
    /// The request's value for a rule condition key.
    pub fn field(&self, key: &str) -> Option<&str> {
        match key {
            "toolName" => Some(&self.tool_name),
            "toolType" => self.tool_type.as_deref(),
            "operation" => self.operation.as_deref(),
            "targetSystem" => self.target_system.as_deref(),
            "initiatorType" => Some(&self.initiator_type),
            _ => None,
        }
    }
}

pub fn check(body: &[u8]) -> Result<Check, Vec<Value>> {
    let obj = object(body)?;
    let mut d = vec![];
    let c = Check {
        tool_name: req_str(&obj, "toolName", "", MAX_ID, &mut d).unwrap_or_default(),
        tool_type: opt_str(&obj, "toolType", "", MAX_ID, &mut d),
        operation: opt_str(&obj, "operation", "", MAX_ID, &mut d),
        target_system: opt_str(&obj, "targetSystem", "", MAX_ID, &mut d),
        initiator_type: opt_str(&obj, "initiatorType", "", MAX_ID, &mut d)
            .unwrap_or_else(|| "agent".into()),
        agent_id: opt_str(&obj, "agentId", "", MAX_ID, &mut d),
        session_id: opt_str(&obj, "sessionId", "", MAX_ID, &mut d),
    };
    if d.is_empty() {
        Ok(c)
    } else {
        Err(d)
    }
}

/// A validated decide body.
pub struct Decide {
    pub decision: String,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
}

pub fn decide(body: &[u8]) -> Result<Decide, Vec<Value>> {
    let obj = object(body)?;
    let mut d = vec![];
    let decision = one_of(
        &obj,
        "decision",
        "",
        &["approved", "rejected"],
        true,
        &mut d,
    );
    let reason = opt_str(&obj, "reason", "", 1000, &mut d);
    let decided_by = opt_str(&obj, "decidedBy", "", MAX_ID, &mut d);
    if d.is_empty() {
        Ok(Decide {
            decision: decision.unwrap_or_default(),
            reason,
            decided_by,
        })
    } else {
        Err(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_uuids() {
        for n in [0, 1, 42, 123_456_789] {
            assert_eq!(decode_cursor(&encode_cursor(n)), Some(n));
        }
        assert!(encode_cursor(7).starts_with("eyJsYXN0"));
        assert_eq!(decode_cursor("!!"), None);
        assert!(is_uuid("550e8400-e29b-41d4-a716-446655440000"));
        assert!(!is_uuid("550e8400e29b41d4a716446655440000"));
        assert!(!is_uuid("550e8400-e29b-41d4-a716-44665544000g"));
    }
}
