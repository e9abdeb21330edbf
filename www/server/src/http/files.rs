//! Static files (tower-http's `ServeDir`: MIME types, ETags, conditional and range requests)
//! and the docs pages rendered from Markdown.
//!
//! - `/` serves `<root>/www`, except `www/server` (the server's sources and data) and
//!   `www/node_modules`;
//! - `/pkg/` serves `<root>/pkg` (the built package);
//! - `/vendor/` serves `<root>/www/node_modules` (the page's npm libraries: marked, DOMPurify).

use super::owner_from_cookie;
use crate::error::{Error, Result};
use crate::App;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{Html, Redirect, Response};
use axum::routing::get;
use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;
use tower_http::services::ServeDir;

pub fn routes(_app: &Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/docs", get(docs_index))
        .route("/docs/", get(docs_index))
        .route("/docs/{*path}", get(docs_page))
        .fallback(static_file)
}

/// The folder a request path is served from, and the path inside it (still percent-encoded).
fn mount<'a>(app: &App, path: &'a str) -> Option<(PathBuf, &'a str)> {
    let root = &app.config.root;
    let (first, rest) = match path.trim_start_matches('/').split_once('/') {
        Some((f, r)) => (f, r),
        None => (path.trim_start_matches('/'), ""),
    };
    match first {
        "pkg" => Some((root.join("pkg"), rest)),
        "vendor" => Some((root.join("www/node_modules"), rest)),
        _ => {
            let decoded = percent_encoding::percent_decode_str(first).decode_utf8_lossy();
            // The server's own sources and data, and the raw npm folder, are never served.
            let hidden = ["server", "node_modules"]
                .iter()
                .any(|h| decoded.eq_ignore_ascii_case(h));
            (!hidden).then(|| (root.join("www"), path.trim_start_matches('/')))
        }
    }
}

/// A path `ServeDir` may look up: once decoded, no empty, hidden (`.`, `..`, `.git`) or
/// backslash segments and no NUL. (ServeDir refuses `..` itself; this also keeps dotfiles and
/// `//` out.)
fn safe_rel(encoded: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
    decoded.is_empty()
        || decoded.split('/').enumerate().all(|(i, seg)| {
            // A trailing slash (a directory's index) leaves one empty last segment.
            let last = i == decoded.split('/').count() - 1;
            (!seg.is_empty() || last)
                && !seg.starts_with('.')
                && !seg.contains('\\')
                && !seg.contains('\0')
        })
}

/// Text types get an explicit `charset=utf-8` (mime_guess gives `text/javascript` without it).
fn with_charset(res: &mut Response) {
    let Some(ct) = res.headers().get(header::CONTENT_TYPE) else {
        return;
    };
    let Ok(s) = ct.to_str() else { return };
    let textual = s.starts_with("text/") || s == "application/javascript" || s == "image/svg+xml";
    if textual && !s.contains("charset") {
        if let Ok(v) = HeaderValue::from_str(&format!("{s}; charset=utf-8")) {
            res.headers_mut().insert(header::CONTENT_TYPE, v);
        }
    }
}

async fn static_file(State(app): State<Arc<App>>, req: Request) -> Result<Response> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(Error::not_found("not found"));
    }
    let path = req.uri().path().to_string();
    let Some((dir, rel)) = mount(&app, &path).filter(|(_, rel)| safe_rel(rel)) else {
        return Err(Error::not_found("not found"));
    };
    let is_www = dir == app.config.root.join("www");
    let (mut parts, body) = req.into_parts();
    let owner = owner_from_cookie(&parts.headers);
    parts.uri = format!("/{rel}")
        .parse()
        .map_err(|_| Error::not_found("not found"))?;
    let res = ServeDir::new(&dir)
        .redirect_to_trailing_slash(false)
        .oneshot(Request::from_parts(parts, body))
        .await
        .map_err(|_| Error::not_found("not found"))?;
    let mut res = res.map(Body::new);
    if res.status() == axum::http::StatusCode::NOT_FOUND {
        return Err(Error::not_found("not found"));
    }
    with_charset(&mut res);
    // The visitor's owner id is set on the first page view.
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_www && is_html {
        if let (_, Some(c)) = owner {
            res.headers_mut().insert(header::SET_COOKIE, c);
        }
    }
    Ok(res)
}

async fn docs_index(State(app): State<Arc<App>>) -> Result<Redirect> {
    let d = app
        .kb
        .docs
        .first()
        .ok_or_else(|| Error::not_found("no docs"))?;
    Ok(Redirect::to(&format!(
        "/docs/{}",
        crate::util::encode_path(&d.path)
    )))
}

async fn docs_page(State(app): State<Arc<App>>, Path(path): Path<String>) -> Result<Html<String>> {
    let mut doc = app
        .kb
        .doc_by_path(&path)
        .ok_or_else(|| Error::not_found("not a known document"))?
        .clone();
    // Read it again so edits show without a restart.
    if let Ok(md) = tokio::fs::read_to_string(app.config.root.join(&doc.path)).await {
        doc.markdown = md;
    }
    Ok(Html(crate::docs::render_page(&doc, &app.kb.docs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths() {
        assert!(safe_rel("a/b.js"));
        assert!(safe_rel(""));
        assert!(safe_rel("dir/"));
        assert!(!safe_rel("a/../b"));
        assert!(!safe_rel(".git/config"));
        assert!(!safe_rel("%2egit/config"));
        assert!(!safe_rel("a//b"));
        assert!(!safe_rel("a%5cb"));
        assert!(!safe_rel("%00index.js"));
    }
}
