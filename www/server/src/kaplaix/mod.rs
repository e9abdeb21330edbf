//! Kaplaix governance for the demo: the proxy path `/api/kaplaix` (GOVERNANCE.md).
//!
//! - With `KAPLAIX_API_KEY` set, the path forwards exactly three requests to Kaplaix
//!   (`KAPLAIX_BASE_URL`, default `https://api.kaplaix.com`) with `Authorization: Bearer <key>`
//!   added: `POST /v1/events`, `POST /v1/policies/check` and `GET /v1/guardian/pending-actions`.
//!   Everything else answers `404 NOT_FORWARDED`. The key never reaches the page.
//! - Without it, the path answers from an embedded Kaplaix-compatible service stored in SQLite
//!   (`kaplaix.sqlite3` in the data dir): events and sessions, policies with one active policy,
//!   policy checks, Guardian pending actions and decisions. The reviewer/admin endpoints the demo
//!   page needs (sessions, policies, pending actions, decide) exist only in this mode.
//!
//! Every error uses Kaplaix's envelope `{"error": {"code", "message", "details"?}}`.
//! See `docs/governance.md` for the decisions taken where GOVERNANCE.md is silent.

pub mod routes;
pub mod store;
pub mod validate;

use serde_json::{json, Value};
use std::path::Path;

pub use routes::router;

pub const DEFAULT_BASE_URL: &str = "https://api.kaplaix.com";
/// Pending actions expire after this long unless `KAPLAIX_PENDING_TTL_SECS` says otherwise.
pub const DEFAULT_PENDING_TTL_MS: i64 = 600_000;

/// Kaplaix settings, from the environment (`KAPLAIX_*`).
#[derive(Clone)]
pub struct KaplaixConfig {
    /// Set: proxy mode. Unset: the embedded service answers.
    pub api_key: Option<String>,
    /// Kaplaix's base URL without a trailing slash.
    pub base_url: String,
    /// Lifetime of a pending action of the embedded service, in milliseconds.
    pub pending_ttl_ms: i64,
}

impl Default for KaplaixConfig {
    fn default() -> Self {
        KaplaixConfig {
            api_key: None,
            base_url: DEFAULT_BASE_URL.into(),
            pending_ttl_ms: DEFAULT_PENDING_TTL_MS,
        }
    }
}

impl std::fmt::Debug for KaplaixConfig {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KaplaixConfig")
            .field("proxy", &self.api_key.is_some())
            .field("base_url", &self.base_url)
            .field("pending_ttl_ms", &self.pending_ttl_ms)
            .finish()
    }
}

impl KaplaixConfig {
    /// Reads `KAPLAIX_API_KEY`, `KAPLAIX_BASE_URL` and `KAPLAIX_PENDING_TTL_SECS`.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<KaplaixConfig, String> {
        let get = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let base_url = get("KAPLAIX_BASE_URL")
            .unwrap_or_else(|| DEFAULT_BASE_URL.into())
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(format!(
                "KAPLAIX_BASE_URL must be an http(s) URL, not {base_url:?}"
            ));
        }
        let pending_ttl_ms = match get("KAPLAIX_PENDING_TTL_SECS") {
            None => DEFAULT_PENDING_TTL_MS,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=30 * 86_400).contains(&n) => n * 1000,
                _ => {
                    return Err(format!(
                        "KAPLAIX_PENDING_TTL_SECS: not a number of seconds from 1 to 2592000: {v:?}"
                    ))
                }
            },
        };
        Ok(KaplaixConfig {
            api_key: get("KAPLAIX_API_KEY"),
            base_url,
            pending_ttl_ms,
        })
    }

    pub fn proxied(&self) -> bool {
        self.api_key.is_some()
    }
}

/// The embedded service's state (also present, unused, in proxy mode).
pub struct Kaplaix {
    pub config: KaplaixConfig,
    pub store: store::Store,
}

impl Kaplaix {
    pub fn open(data_dir: &Path, config: KaplaixConfig) -> Result<Kaplaix, String> {
        Ok(Kaplaix {
            store: store::Store::open(data_dir)?,
            config,
        })
    }
}

/// Kaplaix errors are the server's one error type in its Kaplaix shape
/// (`{"error": {"code", "message", "details"?}}`).
pub use crate::error::Error as ApiError;

/// Storage failures of the embedded service answer Kaplaix's `500 INTERNAL_ERROR`.
impl From<rusqlite::Error> for ApiError {
    fn from(_: rusqlite::Error) -> Self {
        ApiError::internal()
    }
}

/// One validation detail.
pub fn detail(field: &str, message: impl Into<String>) -> Value {
    json!({ "field": field, "message": message.into() })
}
