//! Session tokens: the page's `/api/session` (minted here or forwarded to Kapa), the embedded
//! backend's own session endpoint (PROTOCOL.md §1) and `/api/config`.

use super::{cross_origin_problem, loopback_only, owner_from_cookie, AgentPath};
use crate::error::{Error, Result};
use crate::util::{now_ms, random_hex, rfc3339};
use crate::App;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;

/// What the page needs to know to build its `Agent`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigResponse {
    mode: &'static str,
    project_id: String,
    integration_id: String,
    base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_ttl_secs: Option<u64>,
}

/// Body of a session request (PROTOCOL.md §1).
#[derive(Serialize, Deserialize, Default)]
pub struct SessionRequest {
    #[serde(default)]
    pub external_owner_id: Option<String>,
}

/// A minted session token.
#[derive(Serialize)]
pub struct SessionResponse {
    session_token: String,
    expires_at: String,
}

pub async fn api_config(State(app): State<Arc<App>>) -> Json<ConfigResponse> {
    let c = &app.config;
    Json(match &c.upstream {
        Some(u) => ConfigResponse {
            mode: "kapa",
            project_id: u.project_id.clone(),
            integration_id: u
                .integration_id
                .clone()
                .unwrap_or_else(|| c.integration_id.clone()),
            base_url: Some(u.api_url.clone()),
            token_ttl_secs: None,
        },
        None => ConfigResponse {
            mode: "embedded",
            project_id: c.project_id.clone(),
            integration_id: c.integration_id.clone(),
            base_url: None,
            token_ttl_secs: Some(c.token_ttl_secs),
        },
    })
}

/// `bytes` with every occurrence of `secret` replaced by `[redacted]`.
fn redact(bytes: &[u8], secret: &[u8]) -> Vec<u8> {
    if secret.is_empty() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(secret) {
            out.extend_from_slice(b"[redacted]");
            i += secret.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Stores a new session token for `owner` on `project_id` and answers it.
async fn mint(app: &App, project_id: String, owner: Option<String>) -> Result<SessionResponse> {
    let now = now_ms();
    let token = format!("kds_{}", random_hex(24));
    let expires = now + app.config.token_ttl_secs as i64 * 1000;
    let stored = token.clone();
    app.db
        .run(move |db| {
            if let Some(o) = &owner {
                db.ensure_owner(o, now)?;
            }
            db.insert_session(&stored, &project_id, owner.as_deref(), expires, now)
        })
        .await?;
    Ok(SessionResponse {
        session_token: token,
        expires_at: rfc3339(expires),
    })
}

/// Asks Kapa for a session for `owner` with the server's API key; Kapa's answer is passed on
/// with the key redacted, should Kapa ever echo it.
async fn forward_to_kapa(app: &App, owner: String) -> Result<Response> {
    let Some(up) = &app.config.upstream else {
        return Err(Error::database());
    };
    let url = format!(
        "{}/agent/v1/projects/{}/agent/sessions/",
        up.api_url,
        crate::util::encode_path(&up.project_id).replace('/', "%2F")
    );
    let r = app
        .http
        .post(url)
        .header("X-API-Key", &up.api_key)
        .json(&SessionRequest {
            external_owner_id: Some(owner),
        })
        .send()
        .await
        .map_err(|_| {
            Error::detail(
                StatusCode::BAD_GATEWAY,
                "could not reach Kapa's session endpoint",
            )
        })?;
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
        .unwrap_or(HeaderValue::from_static("application/json"));
    let body = r.bytes().await.unwrap_or_default();
    // Even if the upstream echoes the key (an error message), it stops here.
    let body = redact(&body, up.api_key.as_bytes());
    Ok((status, [(header::CONTENT_TYPE, ct)], body).into_response())
}

/// `POST /api/session`: the page's token endpoint, same-origin only.
pub async fn api_session(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response> {
    if let Some(why) = cross_origin_problem(&headers) {
        return Err(Error::forbidden(why));
    }
    let (owner, set_cookie) = owner_from_cookie(&headers);
    let answer = match app.config.upstream {
        Some(_) => {
            let o = owner.clone();
            let _ = app.db.run(move |db| db.ensure_owner(&o, now_ms())).await;
            forward_to_kapa(&app, owner).await
        }
        None => {
            let project = app.config.project_id.clone();
            mint(&app, project, Some(owner))
                .await
                .map(|minted| Json(minted).into_response())
        }
    };
    // Errors too are never cached, and still give the visitor its owner id.
    let mut res = answer.unwrap_or_else(IntoResponse::into_response);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = set_cookie {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// `POST .../agent/sessions/` on the embedded backend (PROTOCOL.md §1), loopback only, any
/// non-empty `X-API-Key`. Without `external_owner_id` the session has no history.
pub async fn backend_session(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<AgentPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    loopback_only(&peer)?;
    let key_ok = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !key_ok {
        return Err(Error::unauthorized("missing X-API-Key"));
    }
    let req: SessionRequest = if body.is_empty() {
        SessionRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Error::bad_request(format!("invalid session request: {e}")))?
    };
    let owner = req.external_owner_id.filter(|s| !s.is_empty());
    let minted = mint(&app, path.project_id, owner).await?;
    Ok((StatusCode::CREATED, Json(minted)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_copy() {
        assert_eq!(redact(b"a-key-b-key", b"key"), b"a-[redacted]-b-[redacted]");
        assert_eq!(redact(b"abc", b""), b"abc");
    }
}
