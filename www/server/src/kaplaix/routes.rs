//! Routes of the proxy path (mounted at `/api/kaplaix`): the proxy to Kaplaix when
//! `KAPLAIX_API_KEY` is set, else the embedded service.

use super::{validate, ApiError};
use crate::App;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body the proxy path reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The requests forwarded to Kaplaix in proxy mode, and nothing else.
pub const FORWARDED: &[(&str, &str)] = &[
    ("POST", "/v1/events"),
    ("POST", "/v1/policies/check"),
    ("GET", "/v1/guardian/pending-actions"),
];

/// Request headers passed on to Kaplaix (the page's own `Authorization`, cookies and the rest
/// never are).
const PASS_REQUEST: &[&str] = &[
    "content-type",
    "accept",
    "x-kaplaix-sdk",
    "x-kaplaix-framework",
    "x-kaplaix-agent-version",
];

/// The router for `/api/kaplaix`, by mode.
pub fn router(app: &Arc<App>) -> Router<Arc<App>> {
    let routes = if app.kaplaix.config.proxied() {
        Router::new()
            .route("/{*path}", any(proxy))
            .fallback(proxy_root)
    } else {
        embedded()
    };
    routes.layer(axum::middleware::from_fn(same_origin))
}

/// Only the page itself (or a non-browser client) may use the path: a loopback `Host` (no DNS
/// rebinding), and a browser's `Sec-Fetch-Site` and `Origin` must say same-origin. Otherwise a
/// page on another site could send events with the server's key or approve pending actions.
async fn same_origin(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match crate::http::cross_origin_problem(req.headers()) {
        Some(why) => ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", why).into_response(),
        None => next.run(req).await,
    }
}

fn embedded() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/events", post(add_event))
        .route("/v1/sessions", get(list_sessions))
        .route("/v1/sessions/{id}", get(get_session))
        .route("/v1/policies", post(create_policy).get(list_policies))
        .route("/v1/policies/check", post(check))
        .route(
            "/v1/policies/{id}",
            get(get_policy).patch(patch_policy).delete(archive_policy),
        )
        .route("/v1/guardian/pending-actions", get(list_pending))
        .route("/v1/guardian/pending-actions/{id}/decide", post(decide))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no such endpoint: {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the body is larger than {BODY_LIMIT} bytes"),
        )
    })
}

/// The query of the list endpoints.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
    agent_id: Option<String>,
    session_id: Option<String>,
}

/// `202` answer of `POST /v1/events`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventAccepted {
    event_id: String,
    session_id: String,
    status: &'static str,
}

/// The `status` filter, when given, if it is one of `allowed`.
fn status_filter(q: &ListQuery, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match q.status.clone().filter(|s| !s.is_empty()) {
        Some(s) if !allowed.contains(&s.as_str()) => {
            Err(ApiError::validation(vec![super::detail(
                "status",
                format!("must be one of: {}", allowed.join(", ")),
            )]))
        }
        status => Ok(status),
    }
}

fn page_params(q: &ListQuery) -> Result<(usize, Option<i64>), ApiError> {
    let mut d = vec![];
    let p = validate::page_params(q.limit.as_deref(), q.cursor.as_deref(), &mut d);
    if d.is_empty() {
        Ok(p)
    } else {
        Err(ApiError::validation(d))
    }
}

// ---------- embedded service ----------

async fn add_event(State(app): State<Arc<App>>, body: Body) -> Result<Response, ApiError> {
    let body = read_body(body).await?;
    let e = validate::event(&body).map_err(ApiError::validation)?;
    let (event_id, session_id) = (e.event_id.clone(), e.session_id.clone());
    let stored = app.kaplaix.store.run(move |s| s.add_event(&e)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(EventAccepted {
            event_id,
            session_id,
            status: if stored { "accepted" } else { "duplicate" },
        }),
    )
        .into_response())
}

async fn list_sessions(
    State(app): State<Arc<App>>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let (limit, cursor) = page_params(&q)?;
    let agent = q.agent_id.clone().filter(|s| !s.is_empty());
    Ok(Json(
        app.kaplaix
            .store
            .run(move |s| s.list_sessions(limit, cursor, agent.as_deref()))
            .await?,
    ))
}

async fn get_session(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(app.kaplaix.store.run(move |s| s.session(&id)).await?))
}

async fn create_policy(State(app): State<Arc<App>>, body: Body) -> Result<Response, ApiError> {
    let body = read_body(body).await?;
    let p = validate::policy(&body, true).map_err(ApiError::validation)?;
    Ok((
        StatusCode::CREATED,
        Json(app.kaplaix.store.run(move |s| s.create_policy(p)).await?),
    )
        .into_response())
}

async fn list_policies(
    State(app): State<Arc<App>>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let (limit, cursor) = page_params(&q)?;
    let status = status_filter(&q, &["active", "inactive", "archived", "all"])?;
    Ok(Json(
        app.kaplaix
            .store
            .run(move |s| s.list_policies(limit, cursor, status.as_deref()))
            .await?,
    ))
}

async fn get_policy(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(app.kaplaix.store.run(move |s| s.policy(&id)).await?))
}

async fn patch_policy(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body = read_body(body).await?;
    let p = validate::policy(&body, false).map_err(ApiError::validation)?;
    Ok(Json(
        app.kaplaix
            .store
            .run(move |s| s.patch_policy(&id, p))
            .await?,
    ))
}

async fn archive_policy(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.kaplaix
            .store
            .run(move |s| s.archive_policy(&id))
            .await?,
    ))
}

async fn check(State(app): State<Arc<App>>, body: Body) -> Result<Json<Value>, ApiError> {
    let body = read_body(body).await?;
    let c = validate::check(&body).map_err(ApiError::validation)?;
    let ttl = app.kaplaix.config.pending_ttl_ms;
    Ok(Json(
        app.kaplaix.store.run(move |s| s.check(&c, ttl)).await?,
    ))
}

async fn list_pending(
    State(app): State<Arc<App>>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let (limit, cursor) = page_params(&q)?;
    let status = status_filter(&q, validate::PENDING_STATUSES)?;
    let agent = q.agent_id.clone().filter(|s| !s.is_empty());
    let session = q.session_id.clone().filter(|s| !s.is_empty());
    Ok(Json(
        app.kaplaix
            .store
            .run(move |s| {
                s.list_pending(
                    limit,
                    cursor,
                    status.as_deref(),
                    agent.as_deref(),
                    session.as_deref(),
                )
            })
            .await?,
    ))
}

async fn decide(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body = read_body(body).await?;
    let d = validate::decide(&body).map_err(ApiError::validation)?;
    Ok(Json(
        app.kaplaix.store.run(move |s| s.decide(&id, &d)).await?,
    ))
}

// ---------- proxy mode ----------

async fn proxy_root(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(&app, method, "/".into(), uri, headers, body).await
}

async fn proxy(
    State(app): State<Arc<App>>,
    method: Method,
    Path(path): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(&app, method, format!("/{path}"), uri, headers, body).await
}

async fn forward(
    app: &App,
    method: Method,
    path: String,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let cfg = &app.kaplaix.config;
    let Some(key) = cfg.api_key.as_deref() else {
        return ApiError::internal().into_response();
    };
    let methods: Vec<&str> = FORWARDED
        .iter()
        .filter(|(_, p)| *p == path)
        .map(|(m, _)| *m)
        .collect();
    if methods.is_empty() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FORWARDED",
            format!(
                "this proxy forwards only {} to Kaplaix; use Kaplaix's dashboard for the rest",
                FORWARDED
                    .iter()
                    .map(|(m, p)| format!("{m} {p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into_response();
    }
    if !methods.contains(&method.as_str()) {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{method} is not forwarded on {path}"),
        )
        .into_response();
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let mut url = format!("{}{path}", cfg.base_url);
    if method == Method::GET {
        if let Some(q) = uri.query() {
            url.push('?');
            url.push_str(q);
        }
    }
    let mut req = app
        .http
        .request(method.clone(), url)
        .timeout(Duration::from_secs(10))
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    for name in PASS_REQUEST {
        if let Some(v) = headers.get(*name) {
            req = req.header(*name, v.clone());
        }
    }
    if method == Method::POST {
        if !headers.contains_key(header::CONTENT_TYPE) {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        req = req.body(body);
    }
    let res = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "UPSTREAM_TIMEOUT",
                "Kaplaix did not answer in time",
            )
            .into_response()
        }
        Err(_) => {
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                "UPSTREAM_UNAVAILABLE",
                "could not reach Kaplaix",
            )
            .into_response()
        }
    };
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = res.headers().get(header::CONTENT_TYPE).cloned();
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let bytes = res.bytes().await.unwrap_or_default();
    // Belt and braces: should Kaplaix ever echo the key, it still never reaches the page.
    let text = String::from_utf8_lossy(&bytes);
    let bytes = if text.contains(key) {
        Bytes::from(text.replace(key, "[redacted]"))
    } else {
        bytes
    };
    let mut out = (status, bytes).into_response();
    let h = out.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
    );
    if let Some(ra) = retry_after {
        h.insert(header::RETRY_AFTER, ra);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out
}
