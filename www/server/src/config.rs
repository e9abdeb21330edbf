//! Configuration from command-line flags and environment variables.
//!
//! Flags win over environment variables, which win over defaults.

use std::path::PathBuf;

/// Wire framing of the chat stream (PROTOCOL.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Sse,
    Record,
}

impl Framing {
    pub fn parse(s: &str) -> Option<Framing> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sse" | "text/event-stream" => Some(Framing::Sse),
            "record" | "records" | "kapa" => Some(Framing::Record),
            _ => None,
        }
    }
}

/// Forwarding `/api/session` to Kapa (set when `KAPA_API_KEY` and `KAPA_PROJECT_ID` are set).
#[derive(Clone)]
pub struct Upstream {
    pub api_key: String,
    pub project_id: String,
    pub api_url: String,
    pub integration_id: Option<String>,
}

impl std::fmt::Debug for Upstream {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("project_id", &self.project_id)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
    pub root: PathBuf,
    pub token_ttl_secs: u64,
    pub delta_delay_ms: u64,
    pub framing: Framing,
    /// Project and integration ids the demo page uses against the embedded backend.
    pub project_id: String,
    pub integration_id: String,
    pub upstream: Option<Upstream>,
    /// Kaplaix governance (`KAPLAIX_API_KEY`, `KAPLAIX_BASE_URL`, `KAPLAIX_PENDING_TTL_SECS`).
    pub kaplaix: crate::kaplaix::KaplaixConfig,
    /// Print one line per request to stderr.
    pub quiet: bool,
}

pub const USAGE: &str = "\
kapa-dev-server: serves the demo page, the built package and an embedded agent backend

Usage: kapa-dev-server [--port N] [--data-dir DIR] [--root DIR] [--token-ttl-secs N]
                       [--delta-delay-ms N] [--framing sse|record] [--quiet]

  --port N             port on 127.0.0.1 (env PORT; default 8080; 0 picks a free port)
  --data-dir DIR       SQLite data directory (env DATA_DIR; default <root>/www/server/data)
  --root DIR           repository root: serves <root>/www at / and <root>/pkg at /pkg
                       (env KAPA_DEV_ROOT; default: the current directory if it has www/,
                       else the checkout this binary was built from)
  --token-ttl-secs N   lifetime of session tokens minted here (env TOKEN_TTL_SECS; default 3600)
  --delta-delay-ms N   pause between streamed text deltas (env DELTA_DELAY_MS; default 15)
  --framing F          default chat framing: sse or record (env FRAMING; default sse)
  --quiet              do not log requests

Environment: KAPA_API_KEY + KAPA_PROJECT_ID (+ KAPA_API_URL, KAPA_INTEGRATION_ID) make
/api/session forward to Kapa instead of minting local tokens.
KAPLAIX_API_KEY (+ KAPLAIX_BASE_URL) makes /api/kaplaix forward to Kaplaix instead of the
embedded governance service; KAPLAIX_PENDING_TTL_SECS sets its pending actions' lifetime.";

impl Config {
    /// Reads flags (`args` without the program name) and the environment through `env`.
    pub fn from_args(
        args: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let mut flags: std::collections::HashMap<String, String> = Default::default();
        let mut quiet = false;
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--help" || a == "-h" {
                return Err(USAGE.to_string());
            }
            if a == "--quiet" {
                quiet = true;
                i += 1;
                continue;
            }
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument {a:?}\n\n{USAGE}"));
            };
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    i += 1;
                    let v = args
                        .get(i)
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    (name.to_string(), v.clone())
                }
            };
            if ![
                "port",
                "data-dir",
                "root",
                "token-ttl-secs",
                "delta-delay-ms",
                "framing",
            ]
            .contains(&name.as_str())
            {
                return Err(format!("unknown flag --{name}\n\n{USAGE}"));
            }
            flags.insert(name, value);
            i += 1;
        }
        let get = |flag: &str, var: &str| {
            flags
                .get(flag)
                .cloned()
                .or_else(|| env(var).filter(|v| !v.is_empty()))
        };
        let num = |flag: &str, var: &str, default: u64| -> Result<u64, String> {
            match get(flag, var) {
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| format!("--{flag}: not a number: {v:?}")),
                None => Ok(default),
            }
        };
        let port = num("port", "PORT", 8080)?;
        let port = u16::try_from(port).map_err(|_| "--port: out of range".to_string())?;
        let root = match get("root", "KAPA_DEV_ROOT") {
            Some(r) => PathBuf::from(r),
            None => default_root(),
        };
        let data_dir = match get("data-dir", "DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => root.join("www/server/data"),
        };
        let framing = match get("framing", "FRAMING") {
            Some(f) => Framing::parse(&f)
                .ok_or_else(|| format!("--framing: {f:?} is not sse or record"))?,
            None => Framing::Sse,
        };
        let upstream = match (env("KAPA_API_KEY"), env("KAPA_PROJECT_ID")) {
            (Some(key), Some(project)) if !key.is_empty() && !project.is_empty() => {
                Some(Upstream {
                    api_key: key,
                    project_id: project,
                    api_url: env("KAPA_API_URL")
                        .filter(|u| !u.is_empty())
                        .unwrap_or_else(|| "https://api.kapa.ai".into())
                        .trim_end_matches('/')
                        .to_string(),
                    integration_id: env("KAPA_INTEGRATION_ID").filter(|u| !u.is_empty()),
                })
            }
            _ => None,
        };
        Ok(Config {
            port,
            data_dir,
            root,
            token_ttl_secs: num("token-ttl-secs", "TOKEN_TTL_SECS", 3600)?.max(1),
            delta_delay_ms: num("delta-delay-ms", "DELTA_DELAY_MS", 15)?,
            framing,
            project_id: "demo".into(),
            integration_id: "demo-integration".into(),
            upstream,
            kaplaix: crate::kaplaix::KaplaixConfig::from_env(&env)?,
            quiet,
        })
    }

    /// A configuration for tests: free port, given root and data dir, no delays.
    pub fn for_tests(root: PathBuf, data_dir: PathBuf) -> Config {
        Config {
            port: 0,
            data_dir,
            root,
            token_ttl_secs: 3600,
            delta_delay_ms: 0,
            framing: Framing::Sse,
            project_id: "demo".into(),
            integration_id: "demo-integration".into(),
            upstream: None,
            kaplaix: Default::default(),
            quiet: true,
        }
    }
}

fn default_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        if cwd.join("www").is_dir() {
            return cwd;
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}
