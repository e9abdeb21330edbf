//! HTTP routes: static files, docs pages, `/api/session`, the embedded agent backend
//! (PROTOCOL.md §1–§4) and the loopback-only test endpoints, with the layers every response
//! goes through (security headers, the request log, a timeout, the body limit).
//!
//! Every handler returns `Result<_, Error>` ([`crate::error::Error`]), and reads and writes
//! its bodies as serde-derived types.

mod chat;
mod files;
mod history;
mod session;
mod testing;

use crate::config::Framing;
use crate::db::Session;
use crate::error::{Error, Result};
use crate::util::{cookie_value, now_ms, random_hex};
use crate::App;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub const OWNER_COOKIE: &str = "kapa_owner";

/// Largest request body any route reads (larger: 413).
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// How long a request may take to get its response head (streams may then run longer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn router(app: Arc<App>) -> Router {
    let agent = Router::new()
        .route(
            "/agent/v1/projects/{project_id}/agent/sessions/",
            post(session::backend_session),
        )
        .route(
            "/agent/v1/projects/{project_id}/agent/chat/",
            post(chat::chat),
        )
        .route(
            "/agent/v1/projects/{project_id}/agent/threads/",
            get(history::list_threads),
        )
        .route(
            "/agent/v1/projects/{project_id}/agent/threads/{thread_id}/",
            get(history::get_thread).delete(history::delete_thread),
        );
    Router::new()
        .merge(agent.clone())
        // Same backend with the framing chosen by the path: /framing/record/agent/v1/...
        .nest("/framing/{framing}", agent)
        .route("/api/session", post(session::api_session))
        .route("/api/config", get(session::api_config))
        // Kaplaix governance: proxy to Kaplaix or the embedded service (src/kaplaix/).
        .nest("/api/kaplaix", crate::kaplaix::router(&app))
        .merge(testing::routes())
        .merge(files::routes(&app))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(app.clone(), common_headers))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(
            // The request log: method, path (never the query or headers) and status.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                // Every response's status is logged below; 5xx (injected faults included) are
                // not logged again as errors.
                .on_failure(())
                .on_response(
                    |res: &Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(status = res.status().as_u16(), ms = latency.as_millis() as u64);
                    },
                ),
        )
        .with_state(app)
}

/// Refuses (403) a request whose peer is not a loopback address.
async fn loopback_guard(req: axum::extract::Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    match peer.map(|addr| loopback_only(&addr)) {
        Some(Ok(())) => next.run(req).await,
        Some(Err(refused)) => refused.into_response(),
        None => Error::forbidden("only available from loopback").into_response(),
    }
}

async fn common_headers(State(app): State<Arc<App>>, req: Request<Body>, next: Next) -> Response {
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
    res
}

// ---------- shared checks ----------

pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn loopback_only(addr: &SocketAddr) -> Result<()> {
    if is_loopback(addr) {
        Ok(())
    } else {
        Err(Error::forbidden("only available from loopback"))
    }
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

/// The session of the request's Bearer token, if it is known, unexpired and for `project_id`.
async fn bearer_session(app: &App, headers: &HeaderMap, project_id: &str) -> Result<Session> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::unauthorized("missing bearer token"))?
        .to_string();
    let session = app
        .db
        .run(move |db| db.session(&token))
        .await?
        .ok_or_else(|| Error::unauthorized("invalid session token"))?;
    if session.expires_at <= now_ms() {
        return Err(Error::unauthorized("session token expired"));
    }
    if session.project_id != project_id {
        return Err(Error::unauthorized("session token is for another project"));
    }
    Ok(session)
}

/// The path parameters of the agent backend's routes (`framing` only under `/framing/...`).
#[derive(Deserialize)]
struct AgentPath {
    project_id: String,
    framing: Option<String>,
    thread_id: Option<String>,
}

/// `?framing=` on a chat request.
#[derive(Deserialize, Default)]
struct FramingQuery {
    framing: Option<String>,
}

/// The framing of a chat response: the path prefix, then `?framing=`, then the
/// `X-Kapa-Framing` header, then the server's default.
fn framing_for(app: &App, path: &AgentPath, query: &FramingQuery, headers: &HeaderMap) -> Framing {
    path.framing
        .as_deref()
        .and_then(Framing::parse)
        .or_else(|| query.framing.as_deref().and_then(Framing::parse))
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
            .is_err_and(|e| e.status == StatusCode::FORBIDDEN));
    }
}
