//! HTTP routes: static files, docs pages, `/api/session`, the embedded agent backend
//! (PROTOCOL.md §1–§4) and the loopback-only test endpoints.

// Handlers' helpers return a ready `Response` as their error: that is axum's idiom.
#![allow(clippy::result_large_err)]

use crate::agent::{self, CallOutcome, ClientTool};
use crate::config::Framing;
use crate::db::{Session, Thread};
use crate::faults::{Fault, KINDS};
use crate::stream::{content_type, Assistant, Ev};
use crate::util::{cookie_value, now_ms, random_hex, random_id, rfc3339};
use crate::App;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const OWNER_COOKIE: &str = "kapa_owner";

/// Largest request body any route reads (larger: 413).
pub const MAX_BODY_BYTES: usize = 2 << 20;

pub fn router(app: Arc<App>) -> Router {
    let agent = Router::new()
        .route(
            "/agent/v1/projects/{project_id}/agent/sessions/",
            post(backend_session),
        )
        .route("/agent/v1/projects/{project_id}/agent/chat/", post(chat))
        .route(
            "/agent/v1/projects/{project_id}/agent/threads/",
            get(list_threads),
        )
        .route(
            "/agent/v1/projects/{project_id}/agent/threads/{thread_id}/",
            get(get_thread).delete(delete_thread),
        );
    Router::new()
        .merge(agent.clone())
        // Same backend with the framing chosen by the path: /framing/record/agent/v1/...
        .nest("/framing/{framing}", agent)
        .route("/api/session", post(api_session))
        .route("/api/config", get(api_config))
        // Kaplaix governance: proxy to Kaplaix or the embedded service (src/kaplaix/).
        .nest("/api/kaplaix", crate::kaplaix::router(&app))
        .merge(test_endpoints())
        .route("/docs", get(docs_index))
        .route("/docs/", get(docs_index))
        .route("/docs/{*path}", get(docs_page))
        .route("/pkg/{*path}", get(pkg_file))
        .fallback(www_file)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(app.clone(), common_headers))
        .with_state(app)
}

/// Fault injection and the request log: for tests and demos on this machine only, so every
/// route here is guarded once by [`loopback_guard`].
fn test_endpoints() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/__faults",
            get(faults_list).post(faults_add).delete(faults_clear),
        )
        .route("/__requests", get(requests_list).delete(requests_clear))
        .route_layer(middleware::from_fn(loopback_guard))
}

/// Refuses (403) a request whose peer is not a loopback address.
async fn loopback_guard(req: axum::extract::Request, next: middleware::Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    match peer.map(|addr| loopback_only(&addr)) {
        Some(Ok(())) => next.run(req).await,
        Some(Err(refused)) => refused,
        None => detail(StatusCode::FORBIDDEN, "only available from loopback"),
    }
}

// ---------- helpers ----------

fn json_error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn detail(status: StatusCode, msg: &str) -> Response {
    json_error(status, json!({ "detail": msg }))
}

pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn loopback_only(addr: &SocketAddr) -> Result<(), Response> {
    if is_loopback(addr) {
        Ok(())
    } else {
        Err(detail(
            StatusCode::FORBIDDEN,
            "only available from loopback",
        ))
    }
}

/// `http://<Host>` of the request, for absolute source links.
fn origin(headers: &HeaderMap, app: &App) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("127.0.0.1:{}", app.port()));
    format!("http://{host}")
}

fn bearer_session(app: &App, headers: &HeaderMap, project_id: &str) -> Result<Session, Response> {
    let unauthorized = |m: &str| detail(StatusCode::UNAUTHORIZED, m);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("missing bearer token"))?;
    let session = app
        .db
        .session(token)
        .map_err(|_| detail(StatusCode::INTERNAL_SERVER_ERROR, "database error"))?
        .ok_or_else(|| unauthorized("invalid session token"))?;
    if session.expires_at <= now_ms() {
        return Err(unauthorized("session token expired"));
    }
    if session.project_id != project_id {
        return Err(unauthorized("session token is for another project"));
    }
    Ok(session)
}

fn framing_for(
    app: &App,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Framing {
    params
        .get("framing")
        .and_then(|f| Framing::parse(f))
        .or_else(|| query.get("framing").and_then(|f| Framing::parse(f)))
        .or_else(|| {
            headers
                .get("x-kapa-framing")
                .and_then(|h| h.to_str().ok())
                .and_then(Framing::parse)
        })
        .unwrap_or(app.config.framing)
}

/// Owner id from the cookie, or a fresh one plus the `Set-Cookie` to store it.
fn owner_from_cookie(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let existing = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .find_map(|h| cookie_value(h, OWNER_COOKIE))
        .filter(|v| v.len() <= 80 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    match existing {
        Some(id) => (id, None),
        None => {
            let id = format!("own_{}", random_hex(16));
            let cookie =
                format!("{OWNER_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000");
            (id, HeaderValue::from_str(&cookie).ok())
        }
    }
}

async fn common_headers(State(app): State<Arc<App>>, req: Request<Body>, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::HeaderName::from_static("content-security-policy"),
        app.csp.clone(),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if !app.config.quiet {
        eprintln!("{method} {path} -> {}", res.status().as_u16());
    }
    res
}

// ---------- session ----------

async fn api_config(State(app): State<Arc<App>>) -> Response {
    match &app.config.upstream {
        Some(u) => Json(json!({
            "mode": "kapa",
            "projectId": u.project_id,
            "integrationId": u.integration_id.clone().unwrap_or_else(|| app.config.integration_id.clone()),
            "baseUrl": u.api_url,
        }))
        .into_response(),
        None => Json(json!({
            "mode": "embedded",
            "projectId": app.config.project_id,
            "integrationId": app.config.integration_id,
            "baseUrl": null,
            "tokenTtlSecs": app.config.token_ttl_secs,
        }))
        .into_response(),
    }
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

/// Why a request may not use a same-origin-only path, or `None` when it may: the `Host` must
/// be a loopback name (no DNS rebinding), and a browser's `Origin` (sent on every POST) and
/// `Sec-Fetch-Site` must say same-origin. Non-browser clients send neither and are allowed.
/// Shared by `/api/session` (which mints tokens for whoever asks) and `/api/kaplaix` (which
/// spends the server's Kaplaix key); no CORS headers are ever sent, so a cross-origin page
/// cannot read the answers either.
pub(crate) fn cross_origin_problem(headers: &HeaderMap) -> Option<&'static str> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let hostname = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().map(|h| format!("[{h}]")),
        None => host.split(':').next().map(str::to_string),
    }
    .unwrap_or_default();
    if !["127.0.0.1", "localhost", "[::1]"].contains(&hostname.as_str()) {
        return Some("this path answers only on a loopback host");
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Some("cross-site requests are refused");
        }
    }
    if let Some(o) = headers.get(header::ORIGIN) {
        if o.as_bytes() != format!("http://{host}").as_bytes() {
            return Some("cross-origin requests are refused");
        }
    }
    None
}

fn same_origin_only(headers: &HeaderMap) -> Result<(), Response> {
    match cross_origin_problem(headers) {
        Some(why) => Err(detail(StatusCode::FORBIDDEN, why)),
        None => Ok(()),
    }
}

/// `POST /api/session` (seed 000): the page's token endpoint, same-origin only.
async fn api_session(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(r) = same_origin_only(&headers) {
        return r;
    }
    let (owner, set_cookie) = owner_from_cookie(&headers);
    let now = now_ms();
    let _ = app.db.ensure_owner(&owner, now);
    let mut res = match &app.config.upstream {
        Some(up) => {
            let url = format!(
                "{}/agent/v1/projects/{}/agent/sessions/",
                up.api_url,
                crate::util::encode_path(&up.project_id).replace('/', "%2F")
            );
            let sent = app
                .http
                .post(url)
                .header("X-API-Key", &up.api_key)
                .header(header::CONTENT_TYPE, "application/json")
                .body(json!({ "external_owner_id": owner }).to_string())
                .send()
                .await;
            match sent {
                Ok(r) => {
                    let status = StatusCode::from_u16(r.status().as_u16())
                        .unwrap_or(StatusCode::BAD_GATEWAY);
                    let ct = r
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/json")
                        .to_string();
                    let body = r.bytes().await.unwrap_or_default();
                    // Even if the upstream echoes the key (an error message), it stops here.
                    let body = redact(&body, up.api_key.as_bytes());
                    let mut res = (status, body).into_response();
                    if let Ok(v) = HeaderValue::from_str(&ct) {
                        res.headers_mut().insert(header::CONTENT_TYPE, v);
                    }
                    res
                }
                Err(_) => detail(
                    StatusCode::BAD_GATEWAY,
                    "could not reach Kapa's session endpoint",
                ),
            }
        }
        None => {
            let token = format!("kds_{}", random_hex(24));
            let expires = now + app.config.token_ttl_secs as i64 * 1000;
            match app
                .db
                .insert_session(&token, &app.config.project_id, Some(&owner), expires, now)
            {
                Ok(()) => Json(json!({ "session_token": token, "expires_at": rfc3339(expires) }))
                    .into_response(),
                Err(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
            }
        }
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = set_cookie {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

/// `POST .../agent/sessions/` on the embedded backend (PROTOCOL.md §1), loopback only, any
/// non-empty `X-API-Key`. Without `external_owner_id` the session has no history.
async fn backend_session(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = loopback_only(&peer) {
        return r;
    }
    let key_ok = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !key_ok {
        return detail(StatusCode::UNAUTHORIZED, "missing X-API-Key");
    }
    let project_id = params.get("project_id").cloned().unwrap_or_default();
    let owner = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v
                .get("external_owner_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            Err(_) => return detail(StatusCode::BAD_REQUEST, "body is not JSON"),
        }
    };
    let now = now_ms();
    if let Some(o) = &owner {
        let _ = app.db.ensure_owner(o, now);
    }
    let token = format!("kds_{}", random_hex(24));
    let expires = now + app.config.token_ttl_secs as i64 * 1000;
    match app
        .db
        .insert_session(&token, &project_id, owner.as_deref(), expires, now)
    {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({ "session_token": token, "expires_at": rfc3339(expires) })),
        )
            .into_response(),
        Err(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
    }
}

// ---------- chat ----------

#[allow(clippy::too_many_arguments)]
async fn chat(
    State(app): State<Arc<App>>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let project_id = params.get("project_id").cloned().unwrap_or_default();
    let framing = framing_for(&app, &params, &headers, &query);
    let body_json: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let fault = app.faults.take();
    app.requests.push(json!({
        "at": rfc3339(now_ms()),
        "method": "POST",
        "path": uri.path(),
        "idempotency_key": headers.get("idempotency-key").and_then(|v| v.to_str().ok()),
        "content_type": headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        "accept": headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()),
        "has_authorization": headers.contains_key(header::AUTHORIZATION),
        "framing": match framing { Framing::Sse => "sse", Framing::Record => "record" },
        "fault": fault.as_ref().map(|f| f.kind.clone()),
        "body": body_json,
    }));

    if let Some(ms) = fault.as_ref().and_then(|f| f.delay_ms) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(f) = &fault {
        let status_fault = |code: u16, msg: &str| {
            let mut r = detail(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                msg,
            );
            if let Some(ra) = f
                .retry_after
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                r.headers_mut().insert(header::RETRY_AFTER, ra);
            }
            r
        };
        match f.kind.as_str() {
            "401" => return status_fault(401, "injected fault: token rejected"),
            "429" => return status_fault(429, "injected fault: rate limited"),
            "500" => return status_fault(500, "injected fault: internal error"),
            "502" => return status_fault(502, "injected fault: bad gateway"),
            "503" => return status_fault(503, "injected fault: service unavailable"),
            "504" => return status_fault(504, "injected fault: gateway timeout"),
            "reset" => return reset_response(),
            "script" => return script_response(f),
            _ => {}
        }
    }

    let session = match bearer_session(&app, &headers, &project_id) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Value::Object(req) = &body_json else {
        return detail(StatusCode::BAD_REQUEST, "body must be a JSON object");
    };
    if req
        .get("integration_id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return detail(StatusCode::BAD_REQUEST, "integration_id is required");
    }
    let tools: Vec<ClientTool> = match req.get("tools") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| {
                Some(ClientTool {
                    name: t.get("name")?.as_str()?.to_string(),
                    description: t
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    parameters: t.get("parameters").cloned().unwrap_or(json!({})),
                })
            })
            .collect(),
        Some(_) => return detail(StatusCode::BAD_REQUEST, "tools must be an array"),
    };
    let brief = req
        .get("custom_instructions")
        .and_then(Value::as_str)
        .is_some_and(|s| {
            let s = s.to_lowercase();
            ["brief", "short", "concise", "succinct"]
                .iter()
                .any(|w| s.contains(w))
        });
    let input = req.get("input").cloned().unwrap_or(Value::Null);
    let now = now_ms();

    // The thread.
    let thread_id = match req.get("thread_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return detail(
                StatusCode::BAD_REQUEST,
                "thread_id must be a string or null",
            )
        }
    };
    let thread = match &thread_id {
        Some(id) => match app.db.thread(id) {
            Ok(Some(t))
                if !t.deleted && t.project_id == project_id && t.owner_id == session.owner_id =>
            {
                t
            }
            Ok(_) => return detail(StatusCode::NOT_FOUND, "thread not found"),
            Err(_) => return detail(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
        },
        None => {
            let title = input
                .get("content")
                .and_then(Value::as_str)
                .map(title_of)
                .unwrap_or_else(|| "New conversation".into());
            let t = Thread {
                id: random_id("thr"),
                project_id: project_id.clone(),
                owner_id: session.owner_id.clone(),
                title,
                created_at: now,
                updated_at: now,
                deleted: false,
            };
            if app.db.create_thread(&t).is_err() {
                return detail(StatusCode::INTERNAL_SERVER_ERROR, "database error");
            }
            t
        }
    };
    let messages = app.db.messages(&thread.id).unwrap_or_default();
    let last_assistant = messages
        .last()
        .filter(|(_, m)| m["role"] == "assistant")
        .map(|(id, m)| (*id, Assistant::from_value(m.clone())));

    let mut events = vec![Ev::StreamStart {
        thread_id: thread.id.clone(),
    }];
    let (row, assistant) = match input.get("type").and_then(Value::as_str) {
        Some("user_message") => {
            let Some(text) = input.get("content").and_then(Value::as_str) else {
                return detail(StatusCode::BAD_REQUEST, "input.content must be a string");
            };
            // Client calls left unanswered (the user stopped) are cancelled.
            if let Some((id, mut a)) = last_assistant {
                let before = a.0.clone();
                a.settle_open("stopped", None);
                if a.0 != before {
                    let _ = app.db.update_message(id, &a.0);
                }
            }
            let _ =
                app.db
                    .insert_message(&thread.id, &json!({ "role": "user", "content": text }), now);
            let calls = agent::match_tools(text, &tools);
            if !calls.is_empty() {
                let mut ids = vec![];
                for c in calls {
                    let id = random_id("call");
                    ids.push(id.clone());
                    events.push(Ev::ToolCall {
                        id,
                        name: c.name,
                        arguments: c.arguments,
                        executor: "client",
                    });
                }
                events.push(Ev::RequiresAction(ids));
            } else {
                let call_id = random_id("call");
                events.push(Ev::ToolCall {
                    id: call_id.clone(),
                    name: "search_knowledge_base".into(),
                    arguments: json!({ "query": text }),
                    executor: "server",
                });
                let started = Instant::now();
                let hits = app.kb.search(text, 3);
                let origin = origin(&headers, &app);
                let sources: Vec<Value> = hits
                    .iter()
                    .map(|h| {
                        json!({
                            "title": app.kb.passage_title(h.passage),
                            "source_url": format!("{origin}{}", app.kb.passage_href(h.passage)),
                            "source_type": "doc",
                            "source_visibility": "public",
                        })
                    })
                    .collect();
                let result = json!({
                    "query": text,
                    "results": hits.iter().map(|h| json!({
                        "title": app.kb.passage_title(h.passage),
                        "score": (h.score * 1000.0).round() / 1000.0,
                    })).collect::<Vec<_>>(),
                });
                // Searching takes a moment, so a person sees the call executing.
                let simulated = app.config.delta_delay_ms * 12;
                events.push(Ev::ToolResult {
                    id: call_id,
                    status: "completed",
                    result: Some(result),
                    error: None,
                    sources,
                    duration_ms: started.elapsed().as_millis() as u64 + simulated,
                });
                let answer = agent::knowledge_answer(&app.kb, &hits, &origin, brief);
                events.extend(agent::deltas(&answer).into_iter().map(Ev::TextDelta));
                events.push(Ev::Done {
                    thread_id: thread.id.clone(),
                });
            }
            (None, Assistant::default())
        }
        Some("tool_results") => {
            let Some(results) = input.get("results").and_then(Value::as_array) else {
                return detail(StatusCode::BAD_REQUEST, "input.results must be an array");
            };
            let Some((row, mut a)) = last_assistant else {
                return detail(
                    StatusCode::CONFLICT,
                    "no tool calls are waiting for results",
                );
            };
            let pending: Vec<Value> = a
                .calls()
                .into_iter()
                .filter(|c| c["status"] == "pending" && c["name"] != "search_knowledge_base")
                .collect();
            if pending.is_empty() {
                return detail(
                    StatusCode::CONFLICT,
                    "no tool calls are waiting for results",
                );
            }
            let by_id: HashMap<&str, &Value> = results
                .iter()
                .filter_map(|r| Some((r.get("tool_call_id")?.as_str()?, r)))
                .collect();
            let mut outcomes = vec![];
            for c in a.calls_mut() {
                let Some(id) = c["id"].as_str().map(str::to_string) else {
                    continue;
                };
                if c["status"] != "pending" || c["name"] == "search_knowledge_base" {
                    continue;
                }
                let r = by_id.get(id.as_str());
                let status = r
                    .and_then(|r| r.get("status"))
                    .and_then(Value::as_str)
                    .filter(|s| ["completed", "error", "denied"].contains(s))
                    .unwrap_or("error")
                    .to_string();
                let output = r.and_then(|r| r.get("output")).cloned();
                let error = match r {
                    None => Some("no result was sent for this call".to_string()),
                    Some(r) => r.get("error").and_then(Value::as_str).map(str::to_string),
                };
                c["status"] = json!(status);
                if status == "completed" {
                    c["result"] = output.clone().unwrap_or(Value::Null);
                }
                if status == "error" {
                    c["error"] = json!(error.clone().unwrap_or_else(|| "tool failed".into()));
                }
                outcomes.push(CallOutcome {
                    name: c["name"].as_str().unwrap_or("tool").to_string(),
                    arguments: c["arguments"].clone(),
                    status,
                    output,
                    error,
                });
            }
            let answer = agent::results_answer(&outcomes);
            events.extend(agent::deltas(&answer).into_iter().map(Ev::TextDelta));
            events.push(Ev::Done {
                thread_id: thread.id.clone(),
            });
            (Some(row), a)
        }
        _ => {
            return detail(
                StatusCode::BAD_REQUEST,
                "input.type must be user_message or tool_results",
            )
        }
    };

    let stall_ms = fault.as_ref().and_then(|f| f.stall_ms).unwrap_or(120_000);
    let events = apply_stream_fault(events, fault.as_ref());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let task_app = app.clone();
    let thread_id = thread.id.clone();
    tokio::spawn(async move {
        run_stream(
            task_app, thread_id, row, assistant, events, framing, tx, stall_ms,
        )
        .await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(framing)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// Fault "reset": the connection closes before any response byte (a network error in the
/// browser). The body fails on its first poll, so hyper drops the connection with the head
/// still unsent.
fn reset_response() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// Fault "script": the body given chunk by chunk, then a clean end, a drop or a stall.
fn script_response(f: &Fault) -> Response {
    let chunks: Vec<(u64, Vec<u8>)> = f
        .chunks
        .iter()
        .map(|c| (c.delay_ms.unwrap_or(0), c.bytes().unwrap_or_default()))
        .collect();
    let then = f.then.clone().unwrap_or_else(|| "end".into());
    let stall_ms = f.stall_ms.unwrap_or(120_000);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        for (delay, bytes) in chunks {
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if tx.send(Ok(Bytes::from(bytes))).await.is_err() {
                return;
            }
        }
        match then.as_str() {
            "drop" => {
                // Let hyper flush what was sent: an error on the next poll drops unsent bytes.
                tokio::time::sleep(Duration::from_millis(30)).await;
                let _ = tx
                    .send(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected drop",
                    )))
                    .await;
            }
            "stall" => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(stall_ms)) => {}
                    _ = tx.closed() => {}
                }
            }
            _ => {}
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut res = Response::new(Body::from_stream(stream));
    let ct = f.content_type.as_deref().unwrap_or("text/event-stream");
    if let Ok(v) = HeaderValue::from_str(ct) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

fn title_of(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(60).collect::<String>().trim_end())
    } else if t.is_empty() {
        "New conversation".into()
    } else {
        t
    }
}

/// Marker events the streamer acts on (never sent as is).
#[derive(Debug)]
enum Step {
    Send(Ev),
    /// Close the connection abruptly.
    Drop,
    /// Send nothing until the client leaves (or `stall_ms`).
    Stall,
    /// End the body cleanly without a terminal event.
    End,
}

fn apply_stream_fault(events: Vec<Ev>, fault: Option<&Fault>) -> Vec<(Step, bool)> {
    let Some(f) = fault else {
        return events.into_iter().map(|e| (Step::Send(e), false)).collect();
    };
    // Cut in the middle of the text (or after the first events when there is none).
    let text_idx: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Ev::TextDelta(_)))
        .map(|(i, _)| i)
        .collect();
    let cut = if f.kind == "stall" {
        1
    } else if text_idx.is_empty() {
        (events.len() - 1).clamp(1, 2)
    } else {
        text_idx[text_idx.len() / 2]
    };
    let mut out: Vec<(Step, bool)> = events
        .into_iter()
        .take(cut)
        .map(|e| (Step::Send(e), false))
        .collect();
    match f.kind.as_str() {
        "drop_mid_stream" => out.push((Step::Drop, true)),
        "stall" => out.push((Step::Stall, true)),
        "malformed" => {
            out.push((Step::Send(Ev::Malformed), true));
            out.push((Step::End, true));
        }
        "error" => out.push((
            Step::Send(Ev::Error {
                reason: f
                    .reason
                    .clone()
                    .unwrap_or_else(|| "The agent ran into an injected failure.".into()),
            }),
            true,
        )),
        _ => {}
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn run_stream(
    app: Arc<App>,
    thread_id: String,
    mut row: Option<i64>,
    mut msg: Assistant,
    steps: Vec<(Step, bool)>,
    framing: Framing,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    stall_ms: u64,
) {
    let delay = Duration::from_millis(app.config.delta_delay_ms);
    let persist = |msg: &Assistant, row: &mut Option<i64>| {
        if msg.is_empty() && row.is_none() {
            return;
        }
        let now = now_ms();
        match row {
            Some(id) => {
                let _ = app.db.update_message(*id, &msg.0);
            }
            None => *row = app.db.insert_message(&thread_id, &msg.0, now).ok(),
        }
        let _ = app.db.touch_thread(&thread_id, now);
    };
    let _ = app.db.touch_thread(&thread_id, now_ms());
    for (step, _) in steps {
        match step {
            Step::Send(ev) => {
                match &ev {
                    Ev::TextDelta(_) if !delay.is_zero() => tokio::time::sleep(delay).await,
                    Ev::ToolResult { .. } if !delay.is_zero() => {
                        tokio::time::sleep(delay * 12).await
                    }
                    _ => {}
                }
                msg.apply(&ev);
                if ev.is_terminal() {
                    // Stored before the client can act on the terminal event.
                    persist(&msg, &mut row);
                }
                if tx.send(Ok(Bytes::from(ev.encode(framing)))).await.is_err() {
                    // The client went away (stop): what it saw is what is kept.
                    msg.settle_open("stopped", None);
                    persist(&msg, &mut row);
                    return;
                }
                if ev.is_terminal() {
                    return;
                }
            }
            Step::Drop => {
                msg.settle_open("stopped", None);
                persist(&msg, &mut row);
                let _ = tx
                    .send(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected drop",
                    )))
                    .await;
                return;
            }
            Step::Stall => {
                persist(&msg, &mut row);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(stall_ms)) => {}
                    _ = tx.closed() => {}
                }
                msg.settle_open("stopped", None);
                persist(&msg, &mut row);
                return;
            }
            Step::End => {
                msg.settle_open("stopped", None);
                persist(&msg, &mut row);
                return;
            }
        }
    }
    persist(&msg, &mut row);
}

// ---------- history ----------

fn history_session(
    app: &App,
    headers: &HeaderMap,
    project_id: &str,
) -> Result<(Session, String), Response> {
    let s = bearer_session(app, headers, project_id)?;
    let owner = s
        .owner_id
        .clone()
        .ok_or_else(|| json_error(StatusCode::FORBIDDEN, json!({ "code": "session_without_owner", "detail": "this session has no owner, so it has no history" })))?;
    Ok((s, owner))
}

fn encode_cursor(updated_at: i64, id: &str) -> String {
    format!("{updated_at}.{id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    if !c.len().is_multiple_of(2) || c.len() > 400 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(c.get(i..i + 2)?, 16).ok())
        .collect();
    let s = String::from_utf8(bytes?).ok()?;
    let (u, id) = s.split_once('.')?;
    Some((u.parse().ok()?, id.to_string()))
}

async fn list_threads(
    State(app): State<Arc<App>>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let project_id = params.get("project_id").cloned().unwrap_or_default();
    let (_, owner) = match history_session(&app, &headers, &project_id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let limit = match query.get("limit") {
        None => 20,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return detail(
                    StatusCode::BAD_REQUEST,
                    "limit must be an integer from 1 to 100",
                )
            }
        },
    };
    let after = match query.get("cursor") {
        None => None,
        Some(c) => match decode_cursor(c) {
            Some(x) => Some(x),
            None => return detail(StatusCode::BAD_REQUEST, "invalid cursor"),
        },
    };
    let mut rows = match app.db.list_threads(&project_id, &owner, limit + 1, after) {
        Ok(r) => r,
        Err(_) => return detail(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
    };
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .map(|r| encode_cursor(r.thread.updated_at, &r.thread.id))
    } else {
        None
    };
    let threads: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.thread.id,
                "title": r.thread.title,
                "created_at": rfc3339(r.thread.created_at),
                "updated_at": rfc3339(r.thread.updated_at),
                "message_count": r.message_count,
            })
        })
        .collect();
    Json(json!({ "threads": threads, "next_cursor": next_cursor })).into_response()
}

fn owned_thread(
    app: &App,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Thread, Response> {
    let project_id = params.get("project_id").cloned().unwrap_or_default();
    let (_, owner) = history_session(app, headers, &project_id)?;
    let id = params.get("thread_id").cloned().unwrap_or_default();
    match app.db.thread(&id) {
        Ok(Some(t))
            if !t.deleted
                && t.project_id == project_id
                && t.owner_id.as_deref() == Some(owner.as_str()) =>
        {
            Ok(t)
        }
        Ok(_) => Err(detail(StatusCode::NOT_FOUND, "thread not found")),
        Err(_) => Err(detail(StatusCode::INTERNAL_SERVER_ERROR, "database error")),
    }
}

async fn get_thread(
    State(app): State<Arc<App>>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match owned_thread(&app, &params, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let messages: Vec<Value> = app
        .db
        .messages(&t.id)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m.is_object())
        .collect();
    Json(json!({
        "id": t.id,
        "title": t.title,
        "created_at": rfc3339(t.created_at),
        "updated_at": rfc3339(t.updated_at),
        "messages": messages,
    }))
    .into_response()
}

async fn delete_thread(
    State(app): State<Arc<App>>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match owned_thread(&app, &params, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match app.db.delete_thread(&t.id, now_ms()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
    }
}

// ---------- loopback-only test endpoints ----------

async fn faults_add(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let f: Fault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return detail(StatusCode::BAD_REQUEST, &format!("bad fault: {e}")),
    };
    if !KINDS.contains(&f.kind.as_str()) {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!("unknown kind; one of {}", KINDS.join(", ")),
        );
    }
    if f.count == 0 {
        return detail(StatusCode::BAD_REQUEST, "count must be at least 1");
    }
    let mut script_bytes = 0usize;
    for c in &f.chunks {
        match c.bytes() {
            Ok(b) => script_bytes += b.len(),
            Err(e) => return detail(StatusCode::BAD_REQUEST, &format!("bad chunk: {e}")),
        }
    }
    if script_bytes > crate::faults::MAX_SCRIPT_BYTES {
        return detail(StatusCode::BAD_REQUEST, "scripted body too large");
    }
    if f.then
        .as_deref()
        .is_some_and(|t| !["end", "drop", "stall"].contains(&t))
    {
        return detail(StatusCode::BAD_REQUEST, "then must be end, drop or stall");
    }
    if f.content_type
        .as_deref()
        .is_some_and(|c| HeaderValue::from_str(c).is_err())
    {
        return detail(
            StatusCode::BAD_REQUEST,
            "content_type is not a valid header value",
        );
    }
    if let Some(ra) = &f.retry_after {
        if HeaderValue::from_str(ra).is_err() {
            return detail(
                StatusCode::BAD_REQUEST,
                "retry_after is not a valid header value",
            );
        }
    }
    app.faults.push(f);
    Json(json!({ "faults": app.faults.list() })).into_response()
}

async fn faults_list(State(app): State<Arc<App>>) -> Response {
    Json(json!({ "faults": app.faults.list() })).into_response()
}

async fn faults_clear(State(app): State<Arc<App>>) -> Response {
    app.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn requests_list(State(app): State<Arc<App>>) -> Response {
    Json(json!({ "requests": app.requests.all() })).into_response()
}

async fn requests_clear(State(app): State<Arc<App>>) -> Response {
    app.requests.clear();
    StatusCode::NO_CONTENT.into_response()
}

// ---------- static files and docs ----------

fn mime(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "md" => "text/markdown; charset=utf-8",
        "txt" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Safe relative path: no `..`, no hidden segments, no backslashes.
fn safe_rel(path: &str) -> Option<String> {
    let path = path.trim_start_matches('/');
    let ok = path.split('/').all(|seg| {
        !seg.is_empty() && !seg.starts_with('.') && !seg.contains('\\') && !seg.contains('\0')
    });
    (ok || path.is_empty()).then(|| path.to_string())
}

async fn serve_file(base: &std::path::Path, rel: &str) -> Response {
    let Some(rel) = safe_rel(rel) else {
        return detail(StatusCode::NOT_FOUND, "not found");
    };
    let mut full = base.join(&rel);
    if full.is_dir() {
        full = full.join("index.html");
    }
    match tokio::fs::read(&full).await {
        Ok(bytes) => {
            let name = full.to_string_lossy().to_string();
            ([(header::CONTENT_TYPE, mime(&name))], bytes).into_response()
        }
        Err(_) => detail(StatusCode::NOT_FOUND, "not found"),
    }
}

async fn pkg_file(State(app): State<Arc<App>>, Path(path): Path<String>) -> Response {
    serve_file(&app.config.root.join("pkg"), &path).await
}

async fn www_file(
    State(app): State<Arc<App>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return detail(StatusCode::NOT_FOUND, "not found");
    }
    let path = uri.path().trim_start_matches('/');
    // The server's own sources and data live under www/server: never served.
    if path == "server" || path.starts_with("server/") {
        return detail(StatusCode::NOT_FOUND, "not found");
    }
    let mut res = serve_file(&app.config.root.join("www"), path).await;
    // The visitor's owner id is set on the first page view.
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html {
        let (_, set_cookie) = owner_from_cookie(&headers);
        if let Some(c) = set_cookie {
            res.headers_mut().insert(header::SET_COOKIE, c);
        }
    }
    res
}

async fn docs_index(State(app): State<Arc<App>>) -> Response {
    match app.kb.docs.first() {
        Some(d) => {
            axum::response::Redirect::to(&format!("/docs/{}", crate::util::encode_path(&d.path)))
                .into_response()
        }
        None => detail(StatusCode::NOT_FOUND, "no docs"),
    }
}

async fn docs_page(State(app): State<Arc<App>>, Path(path): Path<String>) -> Response {
    let Some(doc) = app.kb.doc_by_path(&path) else {
        return detail(StatusCode::NOT_FOUND, "not a known document");
    };
    // Read it again so edits show without a restart.
    let mut doc = doc.clone();
    if let Ok(md) = tokio::fs::read_to_string(app.config.root.join(&doc.path)).await {
        doc.markdown = md;
    }
    let html = crate::docs::render_page(&doc, &app.kb.docs);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_check() {
        assert!(is_loopback(&"127.0.0.1:1".parse().unwrap()));
        assert!(is_loopback(&"[::1]:1".parse().unwrap()));
        assert!(is_loopback(&"[::ffff:127.0.0.1]:1".parse().unwrap()));
        assert!(!is_loopback(&"192.168.1.2:1".parse().unwrap()));
        assert!(!is_loopback(&"[2001:db8::1]:1".parse().unwrap()));
        assert!(loopback_only(&"10.0.0.1:5".parse().unwrap())
            .is_err_and(|r| r.status() == StatusCode::FORBIDDEN));
    }

    #[test]
    fn cursor_round_trip() {
        let c = encode_cursor(1234, "thr_ab");
        assert_eq!(decode_cursor(&c), Some((1234, "thr_ab".to_string())));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
    }

    #[test]
    fn safe_paths() {
        assert_eq!(safe_rel("/a/b.js").as_deref(), Some("a/b.js"));
        assert_eq!(safe_rel("a/../b"), None);
        assert_eq!(safe_rel(".git/config"), None);
        assert_eq!(safe_rel("a//b"), None);
    }
}
