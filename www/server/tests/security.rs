//! Security of the development server: the token endpoint answers only its own page, the
//! test endpoints only loopback peers, request bodies are size-limited, static files never
//! escape their folders, the API key never reaches a browser, and the scripted stream fault
//! validates what it is given.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use kapa_dev_server::Running;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

mod common;
use common::{client, server, Env};

fn env() -> Env {
    common::env_with("# Demo\n\nTOP-SECRET-README\n", "SERVER-SOURCE")
}

#[tokio::test]
async fn session_endpoint_answers_only_its_own_origin() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let host = base.trim_start_matches("http://").to_string();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut r = client().post(format!("{base}/api/session"));
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send()
    };
    // Same origin (what the page's fetch sends), and no Origin at all (not a browser): a token.
    for h in [
        vec![
            ("origin", base.clone()),
            ("sec-fetch-site", "same-origin".into()),
        ],
        vec![],
    ] {
        let r = post(h.clone()).await.unwrap();
        assert_eq!(r.status(), 200, "{h:?}");
        assert!(r.headers().get("access-control-allow-origin").is_none());
        let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert!(v["session_token"].is_string());
    }
    // Any other origin, a cross-site fetch, a foreign Host (DNS rebinding): refused.
    let port = host.rsplit(':').next().unwrap().to_string();
    for h in [
        vec![("origin", "http://evil.example".to_string())],
        vec![("origin", "null".to_string())],
        vec![("origin", format!("http://localhost:{port}"))],
        vec![("origin", base.replace("http://", "https://"))],
        vec![("sec-fetch-site", "cross-site".to_string())],
        vec![("sec-fetch-site", "same-site".to_string())],
        vec![("host", format!("evil.example:{port}"))],
        vec![
            ("host", format!("evil.example:{port}")),
            ("origin", format!("http://evil.example:{port}")),
        ],
    ] {
        let r = post(h.clone()).await.unwrap();
        assert_eq!(r.status(), 403, "{h:?}");
        assert!(r.headers().get("access-control-allow-origin").is_none());
        assert!(
            r.headers().get("set-cookie").is_none(),
            "no owner cookie for {h:?}"
        );
        let body = r.text().await.unwrap();
        assert!(!body.contains("session_token"), "{h:?}: {body}");
    }
    // A CORS preflight gets no permission.
    let r = client()
        .request(reqwest::Method::OPTIONS, format!("{base}/api/session"))
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert!(r.headers().get("access-control-allow-methods").is_none());
    s.stop().await;
}

/// Sends `req` through the router as if it came from `peer`.
async fn as_peer(s: &Running, peer: [u8; 4], req: Request<Body>) -> StatusCode {
    let mut req = req;
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
    let router = kapa_dev_server::http::router(s.app.clone());
    router.oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn test_and_admin_endpoints_answer_only_loopback() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let routes: Vec<(&str, &str, &str)> = vec![
        ("GET", "/__faults", ""),
        ("POST", "/__faults", r#"{"kind": "503"}"#),
        ("DELETE", "/__faults", ""),
        ("GET", "/__requests", ""),
        ("DELETE", "/__requests", ""),
        (
            "POST",
            "/agent/v1/projects/demo/agent/sessions/",
            r#"{"external_owner_id": "x"}"#,
        ),
    ];
    let req = |m: &str, p: &str, b: &str| {
        Request::builder()
            .method(m)
            .uri(p)
            .header("x-api-key", "k")
            .header("host", "127.0.0.1")
            .body(Body::from(b.to_string()))
            .unwrap()
    };
    for (m, p, b) in &routes {
        for peer in [[10, 0, 0, 7], [192, 168, 1, 2], [8, 8, 8, 8]] {
            assert_eq!(
                as_peer(&s, peer, req(m, p, b)).await,
                StatusCode::FORBIDDEN,
                "{m} {p} from {peer:?}"
            );
        }
        let ok = as_peer(&s, [127, 0, 0, 1], req(m, p, b)).await;
        assert!(ok.is_success(), "{m} {p} from loopback: {ok}");
    }
    // Nothing was queued by the refused POSTs (only the loopback one, then cleared).
    assert!(s.app.faults.list().is_empty());
    s.stop().await;
}

#[tokio::test]
async fn request_bodies_are_size_limited() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let big = vec![b'x'; kapa_dev_server::http::MAX_BODY_BYTES + 1];
    for path in [
        "/agent/v1/projects/demo/agent/chat/",
        "/framing/record/agent/v1/projects/demo/agent/chat/",
        "/agent/v1/projects/demo/agent/sessions/",
        "/__faults",
    ] {
        let r = client()
            .post(format!("{base}{path}"))
            .header("x-api-key", "k")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
    }
    // Just under the limit is read (and refused for what it is, not its size).
    let r = client()
        .post(format!("{base}/agent/v1/projects/demo/agent/chat/"))
        .body(vec![b' '; kapa_dev_server::http::MAX_BODY_BYTES - 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

/// A raw HTTP/1.1 GET, so that the path reaches the server exactly as written.
async fn raw_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    sock.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn static_files_never_escape_their_folders() {
    let e = env();
    let s = server(&e, |_| {}).await;
    assert_eq!(raw_get(s.addr, "/pkg/index.js").await.0, 200);
    for path in [
        "/../README.md",
        "/../../etc/passwd",
        "/%2e%2e/README.md",
        "/%2E%2E/README.md",
        "/.%2e/README.md",
        "/pkg/../README.md",
        "/pkg/%2e%2e/README.md",
        "/pkg/..%2fREADME.md",
        "/pkg/%2e%2e%2fREADME.md",
        "/pkg/%2e%2e%5cREADME.md",
        "/pkg/..%5cREADME.md",
        "/pkg/%2fetc%2fpasswd",
        "/pkg//etc/passwd",
        "/pkg/%00index.js",
        "/..%2fREADME.md",
        "/server/secret.txt",
        "/%73erver/secret.txt",
        "/Server/secret.txt",
        "/./server/secret.txt",
        "//server/secret.txt",
        "/docs/../README.md",
        "/docs/..%2fwww%2fserver%2fsecret.txt",
        "/docs/%2e%2e/README.md",
        "/.git/config",
        "/pkg/.%2e/README.md",
    ] {
        let (status, text) = raw_get(s.addr, path).await;
        assert!(status == 404 || status == 400, "{path}: {status}\n{text}");
        assert!(
            !text.contains("TOP-SECRET-README"),
            "{path} leaked the README"
        );
        assert!(
            !text.contains("SERVER-SOURCE"),
            "{path} leaked server files"
        );
        assert!(!text.contains("root:"), "{path} leaked /etc/passwd");
    }
    s.stop().await;
}

#[tokio::test]
async fn api_key_never_reaches_the_browser_even_when_upstream_echoes_it() {
    use axum::{routing::post, Router};
    let key = "sk-echoed-secret-987";
    // An upstream that rejects the key and quotes it back.
    let kapa = Router::new().route(
        "/agent/v1/projects/{pid}/agent/sessions/",
        post(move |headers: axum::http::HeaderMap| async move {
            let k = headers
                .get("x-api-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            (
                StatusCode::UNAUTHORIZED,
                [("x-echo-key", k.clone())],
                axum::Json(json!({"detail": format!("invalid API key {k}")})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let kapa_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, kapa).await.unwrap() });
    let e = env();
    let s = server(&e, |c| {
        c.upstream = Some(kapa_dev_server::config::Upstream {
            api_key: key.into(),
            project_id: "proj".into(),
            api_url: kapa_url.clone(),
            integration_id: None,
        })
    })
    .await;
    let r = client()
        .post(format!("{}/api/session", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the upstream status passes through");
    let headers = format!("{:?}", r.headers());
    let body = r.text().await.unwrap();
    assert!(!headers.contains(key), "key in headers: {headers}");
    assert!(!body.contains(key), "key in body: {body}");
    assert!(body.contains("[redacted]"), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn scripted_faults_are_validated_and_replayed_byte_for_byte() {
    let e = env();
    let s = server(&e, |_| {}).await;
    let base = s.url();
    let add = |f: Value| {
        client()
            .post(format!("{base}/__faults"))
            .body(f.to_string())
            .send()
    };
    for bad in [
        json!({"kind": "script", "chunks": [{"hex": "zz"}]}),
        json!({"kind": "script", "chunks": [{"hex": "abc"}]}),
        json!({"kind": "script", "chunks": [{"text": "a", "hex": "61"}]}),
        json!({"kind": "script", "chunks": [{}]}),
        json!({"kind": "script", "chunks": [{"text": "x", "repeat": 20_000_000}]}),
        json!({"kind": "script", "chunks": [{"text": "xxxxxxxx", "repeat": 1_500_000}, {"text": "xxxxxxxx", "repeat": 1_500_000}]}),
        json!({"kind": "script", "then": "explode"}),
        json!({"kind": "script", "content_type": "a\nb"}),
    ] {
        assert_eq!(add(bad.clone()).await.unwrap().status(), 400, "{bad}");
    }
    let f = json!({"kind": "script", "content_type": "application/x-test",
        "chunks": [{"text": "héllo "}, {"hex": "ff00e2"}, {"text": "ab", "repeat": 3, "delay_ms": 5}]});
    assert_eq!(add(f).await.unwrap().status(), 200);
    let r = client()
        .post(format!("{base}/agent/v1/projects/demo/agent/chat/"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/x-test");
    let bytes = r.bytes().await.unwrap();
    let mut want = "héllo ".as_bytes().to_vec();
    want.extend_from_slice(&[0xff, 0x00, 0xe2]);
    want.extend_from_slice(b"ababab");
    assert_eq!(&bytes[..], &want[..]);
    // "reset": the connection closes before any response byte.
    assert_eq!(add(json!({"kind": "reset"})).await.unwrap().status(), 200);
    let (status, text) = {
        let mut sock = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        sock.write_all(b"POST /agent/v1/projects/demo/agent/chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = sock.read_to_end(&mut out).await;
        (out.len(), String::from_utf8_lossy(&out).to_string())
    };
    assert_eq!(status, 0, "no byte at all: {text}");
    s.stop().await;
}
