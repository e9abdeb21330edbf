//! kapa-dev-server: the development server of kapa-agent-wasm.
//!
//! It serves the demo page (`<root>/www`), the built package (`<root>/pkg` at `/pkg/`), the
//! project's docs rendered from Markdown (`/docs/...`), the page's token endpoint
//! (`/api/session`), and an embedded agent backend that speaks `shared/PROTOCOL.md`
//! (chat in both framings, history, token checks) with a deterministic agent: BM25 search over
//! the docs and client tool calls chosen from the user's words. State lives in SQLite.
//! See `www/README.md` for the endpoints, including the loopback-only fault injection.

pub mod agent;
pub mod config;
pub mod db;
pub mod docs;
pub mod error;
pub mod faults;
pub mod http;
pub mod kaplaix;
pub mod stream;
pub mod util;

use axum::http::HeaderValue;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Config, Framing};

/// Shared state of the server.
pub struct App {
    pub config: Config,
    pub db: db::Db,
    pub kb: docs::Kb,
    pub faults: faults::Faults,
    pub requests: faults::RequestLog,
    pub http: reqwest::Client,
    pub csp: HeaderValue,
    pub bound_port: std::sync::atomic::AtomicU16,
    /// Kaplaix governance: the proxy path's mode and the embedded service (`kaplaix/`).
    pub kaplaix: kaplaix::Kaplaix,
}

impl App {
    pub fn port(&self) -> u16 {
        self.bound_port.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, gives open streams a moment, then ends.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// Opens the database, loads the docs and binds 127.0.0.1:`config.port`.
pub async fn start(config: Config) -> Result<Running, String> {
    let db = db::Db::open(&config.data_dir)?;
    let kaplaix = kaplaix::Kaplaix::open(&config.data_dir, config.kaplaix.clone())?;
    let kb = docs::Kb::load(&config.root);
    let mut connect = "'self'".to_string();
    if let Some(u) = &config.upstream {
        connect.push(' ');
        connect.push_str(&u.api_url);
    }
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|e| format!("http client: {e}"))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Arc::new(App {
        config,
        db,
        kb,
        faults: Default::default(),
        requests: Default::default(),
        kaplaix,
        http,
        csp: HeaderValue::from_str(&csp).map_err(|e| e.to_string())?,
        bound_port: addr.port().into(),
    });
    let router = http::router(app.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
    });
    Ok(Running {
        addr,
        app,
        shutdown: Some(tx),
        task,
    })
}
