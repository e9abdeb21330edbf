//! The embedded Kaplaix service's storage and logic: `kaplaix.sqlite3` in the data dir.
//!
//! One connection behind a mutex (its own file, so it never contends with the agent backend's).
//! Lists are newest first with keyset cursors on an autoincrement `seq`.

use super::validate::{encode_cursor, Check, Decide, Event, PolicyInput};
use super::ApiError;
use crate::util::{now_ms, random_id, rfc3339};
use axum::http::StatusCode;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Cheap to clone: every clone shares the one connection.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

type R<T> = Result<T, ApiError>;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS kx_sessions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  agent_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  event_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS kx_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  category TEXT NOT NULL,
  source_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kx_events_by_session ON kx_events (session_id, source_ms, seq);
CREATE TABLE IF NOT EXISTS kx_policies (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  description TEXT,
  status TEXT NOT NULL,
  default_decision TEXT NOT NULL,
  rules TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  archived_ms INTEGER
);
CREATE TABLE IF NOT EXISTS kx_pending (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  tool_name TEXT NOT NULL,
  tool_type TEXT,
  operation TEXT,
  target_system TEXT,
  initiator_type TEXT NOT NULL,
  agent_id TEXT,
  session_id TEXT,
  policy_id TEXT,
  rule_id TEXT,
  policy_reason TEXT,
  decided_by TEXT,
  reason TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  decided_ms INTEGER
);
CREATE INDEX IF NOT EXISTS kx_pending_by_status ON kx_pending (status, seq);
";

/// A page of a list: `{data, nextCursor}` (`nextCursor` null at the end).
pub fn page(mut rows: Vec<(i64, Value)>, limit: usize) -> Value {
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|(s, _)| encode_cursor(*s))
    } else {
        None
    };
    json!({ "data": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>(), "nextCursor": next })
}

fn opt_time(ms: Option<i64>) -> Value {
    ms.map(|m| Value::String(rfc3339(m))).unwrap_or(Value::Null)
}

/// Drops `null` members so optional fields are absent rather than null.
fn compact(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        v => v,
    }
}

const POLICY_COLS: &str =
    "seq, id, name, description, status, default_decision, rules, version, created_ms, updated_ms, archived_ms";

fn policy_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Value)> {
    let rules: String = r.get(6)?;
    Ok((
        r.get(0)?,
        json!({
            "id": r.get::<_, String>(1)?,
            "name": r.get::<_, String>(2)?,
            "description": r.get::<_, Option<String>>(3)?,
            "status": r.get::<_, String>(4)?,
            "defaultDecision": r.get::<_, String>(5)?,
            "rules": serde_json::from_str::<Value>(&rules).unwrap_or(json!([])),
            "version": r.get::<_, i64>(7)?,
            "createdAt": rfc3339(r.get(8)?),
            "updatedAt": rfc3339(r.get(9)?),
            "archivedAt": opt_time(r.get(10)?),
        }),
    ))
}

const PENDING_COLS: &str = "seq, id, status, tool_name, tool_type, operation, target_system, initiator_type, \
     agent_id, session_id, policy_id, rule_id, policy_reason, decided_by, reason, created_ms, expires_ms, decided_ms";

fn pending_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Value)> {
    Ok((
        r.get(0)?,
        compact(json!({
            "id": r.get::<_, String>(1)?,
            "status": r.get::<_, String>(2)?,
            "toolName": r.get::<_, String>(3)?,
            "toolType": r.get::<_, Option<String>>(4)?,
            "operation": r.get::<_, Option<String>>(5)?,
            "targetSystem": r.get::<_, Option<String>>(6)?,
            "initiatorType": r.get::<_, String>(7)?,
            "agentId": r.get::<_, Option<String>>(8)?,
            "sessionId": r.get::<_, Option<String>>(9)?,
            "policyId": r.get::<_, Option<String>>(10)?,
            "ruleId": r.get::<_, Option<String>>(11)?,
            "policyReason": r.get::<_, Option<String>>(12)?,
            "decidedBy": r.get::<_, Option<String>>(13)?,
            "reason": r.get::<_, Option<String>>(14)?,
            "createdAt": rfc3339(r.get(15)?),
            "expiresAt": rfc3339(r.get(16)?),
            "decidedAt": opt_time(r.get(17)?),
        })),
    ))
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Value)> {
    Ok((
        r.get(0)?,
        json!({
            "id": r.get::<_, String>(1)?,
            "agentId": r.get::<_, String>(2)?,
            "createdAt": rfc3339(r.get(3)?),
            "updatedAt": rfc3339(r.get(4)?),
            "eventCount": r.get::<_, i64>(5)?,
        }),
    ))
}

/// Keyset condition for a newest-first page after `cursor`.
fn after(cursor: Option<i64>) -> i64 {
    cursor.unwrap_or(i64::MAX)
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, String> {
        let conn = crate::db::open_sqlite(dir, "kaplaix.sqlite3", SCHEMA)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on tokio's blocking pool, off the async threads (SQLite calls block).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> R<T> + Send + 'static,
    ) -> R<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap_or_else(|_| Err(ApiError::internal()))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> R<T>) -> R<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    // ---------- events and sessions ----------

    /// Stores an event; `Ok(false)` when its `eventId` was already stored (idempotent: the
    /// first copy wins).
    pub fn add_event(&self, e: &Event) -> R<bool> {
        let now = now_ms();
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO kx_events (event_id, session_id, category, source_ms, received_ms, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![e.event_id, e.session_id, e.category, e.source_ms, now, e.envelope.to_string()],
            )?;
            if n == 1 {
                tx.execute(
                    "INSERT INTO kx_sessions (id, agent_id, created_ms, updated_ms, event_count) VALUES (?1, ?2, ?3, ?3, 1)
                     ON CONFLICT(id) DO UPDATE SET updated_ms = ?3, event_count = event_count + 1",
                    params![e.session_id, e.agent_id, now],
                )?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    pub fn list_sessions(
        &self,
        limit: usize,
        cursor: Option<i64>,
        agent_id: Option<&str>,
    ) -> R<Value> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT seq, id, agent_id, created_ms, updated_ms, event_count FROM kx_sessions
                 WHERE seq < ?1 AND (?2 IS NULL OR agent_id = ?2) ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = st
                .query_map(
                    params![after(cursor), agent_id, limit as i64 + 1],
                    session_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(page(rows, limit))
        })
    }

    /// A session and its timeline: events by `sourceTimestamp`, then arrival.
    pub fn session(&self, id: &str) -> R<Value> {
        self.with(|c| {
            let Some((_, mut s)) = c
                .query_row(
                    "SELECT seq, id, agent_id, created_ms, updated_ms, event_count FROM kx_sessions WHERE id = ?1",
                    params![id],
                    session_row,
                )
                .optional()?
            else {
                return Err(ApiError::kaplaix_not_found("session"));
            };
            let mut st = c.prepare(
                "SELECT data, received_ms FROM kx_events WHERE session_id = ?1 ORDER BY source_ms, seq LIMIT 5000",
            )?;
            let events = st
                .query_map(params![id], |r| {
                    let data: String = r.get(0)?;
                    let mut v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                    if let Value::Object(m) = &mut v {
                        m.insert("receivedAt".into(), Value::String(rfc3339(r.get(1)?)));
                    }
                    Ok(v)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            s["events"] = Value::Array(events);
            Ok(s)
        })
    }

    // ---------- policies ----------

    pub fn create_policy(&self, p: PolicyInput) -> R<Value> {
        let now = now_ms();
        let id = random_id("pol");
        let status = p.status.unwrap_or_else(|| "active".into());
        self.with(|c| {
            let tx = c.transaction()?;
            if status == "active" {
                tx.execute("UPDATE kx_policies SET status = 'inactive' WHERE status = 'active'", [])?;
            }
            tx.execute(
                "INSERT INTO kx_policies (id, name, description, status, default_decision, rules, version, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
                params![
                    id,
                    p.name.unwrap_or_else(|| "Untitled policy".into()),
                    p.description.flatten(),
                    status,
                    p.default_decision.unwrap_or_else(|| "allowed".into()),
                    p.rules.unwrap_or(json!([])).to_string(),
                    now
                ],
            )?;
            tx.commit()?;
            Ok(())
        })?;
        self.policy(&id)
    }

    pub fn policy(&self, id: &str) -> R<Value> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {POLICY_COLS} FROM kx_policies WHERE id = ?1"),
                params![id],
                policy_row,
            )
            .optional()?
            .map(|(_, v)| v)
            .ok_or_else(|| ApiError::kaplaix_not_found("policy"))
        })
    }

    /// Newest first; archived policies only with `status=archived` (or `status=all`).
    pub fn list_policies(
        &self,
        limit: usize,
        cursor: Option<i64>,
        status: Option<&str>,
    ) -> R<Value> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {POLICY_COLS} FROM kx_policies WHERE seq < ?1
                 AND (CASE WHEN ?2 IS NULL THEN status != 'archived' WHEN ?2 = 'all' THEN 1 ELSE status = ?2 END)
                 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let rows = st
                .query_map(params![after(cursor), status, limit as i64 + 1], policy_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(page(rows, limit))
        })
    }

    pub fn patch_policy(&self, id: &str, p: PolicyInput) -> R<Value> {
        let now = now_ms();
        self.with(|c| {
            let tx = c.transaction()?;
            let status: Option<String> = tx
                .query_row("SELECT status FROM kx_policies WHERE id = ?1", params![id], |r| r.get(0))
                .optional()?;
            match status.as_deref() {
                None => return Err(ApiError::kaplaix_not_found("policy")),
                Some("archived") => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "POLICY_ARCHIVED",
                        "an archived policy cannot be changed",
                    ))
                }
                _ => {}
            }
            if p.status.as_deref() == Some("active") {
                tx.execute(
                    "UPDATE kx_policies SET status = 'inactive' WHERE status = 'active' AND id != ?1",
                    params![id],
                )?;
            }
            tx.execute(
                "UPDATE kx_policies SET
                   name = coalesce(?2, name),
                   description = CASE WHEN ?3 THEN ?4 ELSE description END,
                   status = coalesce(?5, status),
                   default_decision = coalesce(?6, default_decision),
                   rules = coalesce(?7, rules),
                   version = version + 1,
                   updated_ms = ?8
                 WHERE id = ?1",
                params![
                    id,
                    p.name,
                    p.description.is_some(),
                    p.description.clone().flatten(),
                    p.status,
                    p.default_decision,
                    p.rules.as_ref().map(Value::to_string),
                    now
                ],
            )?;
            tx.commit()?;
            Ok(())
        })?;
        self.policy(id)
    }

    /// Archives (Kaplaix's DELETE): no longer active, kept for the record.
    pub fn archive_policy(&self, id: &str) -> R<Value> {
        let now = now_ms();
        self.with(|c| {
            let n = c.execute(
                "UPDATE kx_policies SET status = 'archived', archived_ms = coalesce(archived_ms, ?2), updated_ms = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            if n == 0 {
                return Err(ApiError::kaplaix_not_found("policy"));
            }
            Ok(())
        })?;
        self.policy(id)
    }

    // ---------- checks and Guardian ----------

    /// Evaluates the active policy: rules by `priority` (ties: their order in the policy), the
    /// first whose conditions all match wins, else `defaultDecision`. No active policy: ALLOW.
    /// REQUIRE_APPROVAL creates a pending action that expires after `ttl_ms`.
    pub fn check(&self, req: &Check, ttl_ms: i64) -> R<Value> {
        let active = self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {POLICY_COLS} FROM kx_policies WHERE status = 'active' ORDER BY seq DESC LIMIT 1"),
                [],
                policy_row,
            )
            .optional()?)
        })?;
        let Some((_, policy)) = active else {
            return Ok(json!({ "decision": "ALLOW", "reason": "no active policy" }));
        };
        let policy_id = policy["id"].as_str().unwrap_or_default().to_string();
        let mut rules: Vec<&Map<String, Value>> = policy["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .collect();
        rules.sort_by_key(|r| r.get("priority").and_then(Value::as_i64).unwrap_or(0));
        let matched = rules.into_iter().find(|r| rule_matches(r, req));
        let (decision, rule_id, reason) = match matched {
            Some(r) => {
                let id = r
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let reason = r
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("matched rule {id}"));
                (
                    r.get("decision")
                        .and_then(Value::as_str)
                        .unwrap_or("allowed")
                        .to_string(),
                    Some(id),
                    reason,
                )
            }
            None => (
                policy["defaultDecision"]
                    .as_str()
                    .unwrap_or("allowed")
                    .to_string(),
                None,
                format!(
                    "default decision of policy {:?}",
                    policy["name"].as_str().unwrap_or("")
                ),
            ),
        };
        let wire = match decision.as_str() {
            "denied" => "DENY",
            "requires_review" => "REQUIRE_APPROVAL",
            _ => "ALLOW",
        };
        let mut out = compact(json!({
            "decision": wire, "ruleId": rule_id, "reason": reason, "policyId": policy_id,
        }));
        if wire == "REQUIRE_APPROVAL" {
            let now = now_ms();
            let id = random_id("pa");
            self.with(|c| {
                c.execute(
                    "INSERT INTO kx_pending (id, status, tool_name, tool_type, operation, target_system, initiator_type,
                       agent_id, session_id, policy_id, rule_id, policy_reason, created_ms, expires_ms)
                     VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    params![
                        id, req.tool_name, req.tool_type, req.operation, req.target_system, req.initiator_type,
                        req.agent_id, req.session_id, policy_id, out.get("ruleId").and_then(Value::as_str),
                        reason, now, now + ttl_ms
                    ],
                )?;
                Ok(())
            })?;
            out["pendingActionId"] = Value::String(id);
            out["expiresAt"] = Value::String(rfc3339(now + ttl_ms));
        }
        Ok(out)
    }

    fn expire(c: &Connection, now: i64) -> rusqlite::Result<usize> {
        c.execute(
            "UPDATE kx_pending SET status = 'expired', decided_ms = expires_ms WHERE status = 'pending' AND expires_ms <= ?1",
            params![now],
        )
    }

    pub fn list_pending(
        &self,
        limit: usize,
        cursor: Option<i64>,
        status: Option<&str>,
        agent_id: Option<&str>,
        session_id: Option<&str>,
    ) -> R<Value> {
        self.with(|c| {
            Self::expire(c, now_ms())?;
            let mut st = c.prepare(&format!(
                "SELECT {PENDING_COLS} FROM kx_pending WHERE seq < ?1 AND (?2 IS NULL OR status = ?2)
                 AND (?3 IS NULL OR agent_id = ?3) AND (?4 IS NULL OR session_id = ?4)
                 ORDER BY seq DESC LIMIT ?5"
            ))?;
            let rows = st
                .query_map(
                    params![after(cursor), status, agent_id, session_id, limit as i64 + 1],
                    pending_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(page(rows, limit))
        })
    }

    pub fn decide(&self, id: &str, d: &Decide) -> R<Value> {
        let now = now_ms();
        self.with(|c| {
            let tx = c.transaction()?;
            Self::expire(&tx, now)?;
            let status: Option<String> = tx
                .query_row("SELECT status FROM kx_pending WHERE id = ?1", params![id], |r| r.get(0))
                .optional()?;
            match status.as_deref() {
                None => return Err(ApiError::kaplaix_not_found("pending action")),
                Some("pending") => {}
                Some("expired") => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "ACTION_EXPIRED",
                        "the pending action expired before it was decided",
                    ))
                }
                Some(s) => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "ALREADY_DECIDED",
                        format!("the pending action was already {s}"),
                    ))
                }
            }
            tx.execute(
                "UPDATE kx_pending SET status = ?2, decided_by = ?3, reason = ?4, decided_ms = ?5 WHERE id = ?1",
                params![id, d.decision, d.decided_by.as_deref().unwrap_or("reviewer"), d.reason, now],
            )?;
            let row = tx.query_row(
                &format!("SELECT {PENDING_COLS} FROM kx_pending WHERE id = ?1"),
                params![id],
                pending_row,
            )?;
            tx.commit()?;
            Ok(row.1)
        })
    }
}

/// All of a rule's conditions hold: each names a request field that is present and equal to
/// the condition (a string) or to one of its strings (an array). No conditions: always.
fn rule_matches(rule: &Map<String, Value>, req: &Check) -> bool {
    let Some(conds) = rule.get("conditions").and_then(Value::as_object) else {
        return true;
    };
    conds.iter().all(|(k, want)| {
        let Some(have) = req.field(k) else {
            return false;
        };
        match want {
            Value::String(s) => s == have,
            Value::Array(a) => a.iter().any(|x| x.as_str() == Some(have)),
            _ => false,
        }
    })
}
