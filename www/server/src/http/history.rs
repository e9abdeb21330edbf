//! Conversation history (PROTOCOL.md §4): list, get and soft-delete threads of the token's
//! owner.

use super::{bearer_session, AgentPath};
use crate::db::Thread;
use crate::error::{Error, Result};
use crate::stream::Message;
use crate::util::{now_ms, rfc3339};
use crate::App;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ThreadSummary {
    id: String,
    title: String,
    created_at: String,
    updated_at: String,
    message_count: i64,
}

#[derive(Serialize)]
pub struct ThreadList {
    threads: Vec<ThreadSummary>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ThreadDetail {
    id: String,
    title: String,
    created_at: String,
    updated_at: String,
    messages: Vec<Message>,
}

/// The owner of the request's session; ownerless sessions have no history (403).
async fn history_owner(app: &App, headers: &HeaderMap, project_id: &str) -> Result<String> {
    bearer_session(app, headers, project_id)
        .await?
        .owner_id
        .ok_or_else(|| {
            Error::forbidden("this session has no owner, so it has no history")
                .with_code("session_without_owner")
        })
}

/// Opaque keyset cursor: base64url of `<updated_at>.<id>` of the page's last thread.
fn encode_cursor(updated_at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{updated_at}.{id}"))
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    if c.len() > 400 {
        return None;
    }
    let s = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let (u, id) = s.split_once('.')?;
    Some((u.parse().ok()?, id.to_string()))
}

pub async fn list_threads(
    State(app): State<Arc<App>>,
    Path(path): Path<AgentPath>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<ThreadList>> {
    let owner = history_owner(&app, &headers, &path.project_id).await?;
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return Err(Error::bad_request("limit must be an integer from 1 to 100")),
    };
    let after = match query.cursor.as_deref() {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| Error::bad_request("invalid cursor"))?),
    };
    let project = path.project_id;
    let mut rows = app
        .db
        .run(move |db| db.list_threads(&project, &owner, limit + 1, after))
        .await?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .map(|r| encode_cursor(r.thread.updated_at, &r.thread.id))
    } else {
        None
    };
    let threads = rows
        .into_iter()
        .map(|r| ThreadSummary {
            created_at: rfc3339(r.thread.created_at),
            updated_at: rfc3339(r.thread.updated_at),
            id: r.thread.id,
            title: r.thread.title,
            message_count: r.message_count,
        })
        .collect();
    Ok(Json(ThreadList {
        threads,
        next_cursor,
    }))
}

/// The thread of the path, if it exists, is not deleted and belongs to the token's owner.
async fn owned_thread(app: &App, path: AgentPath, headers: &HeaderMap) -> Result<Thread> {
    let owner = history_owner(app, headers, &path.project_id).await?;
    let id = path.thread_id.unwrap_or_default();
    let found = app.db.run(move |db| db.thread(&id)).await?;
    match found {
        Some(t)
            if !t.deleted
                && t.project_id == path.project_id
                && t.owner_id.as_deref() == Some(owner.as_str()) =>
        {
            Ok(t)
        }
        _ => Err(Error::not_found("thread not found")),
    }
}

pub async fn get_thread(
    State(app): State<Arc<App>>,
    Path(path): Path<AgentPath>,
    headers: HeaderMap,
) -> Result<Json<ThreadDetail>> {
    let t = owned_thread(&app, path, &headers).await?;
    let id = t.id.clone();
    let messages = app.db.run(move |db| db.messages(&id)).await?;
    Ok(Json(ThreadDetail {
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
        id: t.id,
        title: t.title,
        messages: messages.into_iter().map(|(_, m)| m).collect(),
    }))
}

pub async fn delete_thread(
    State(app): State<Arc<App>>,
    Path(path): Path<AgentPath>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let t = owned_thread(&app, path, &headers).await?;
    app.db
        .run(move |db| db.delete_thread(&t.id, now_ms()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        let c = encode_cursor(1234, "thr_ab");
        assert_eq!(decode_cursor(&c), Some((1234, "thr_ab".to_string())));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
        assert_eq!(decode_cursor("!!"), None);
    }
}
