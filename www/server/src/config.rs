//! Configuration from command-line flags and environment variables.
//!
//! Flags win over environment variables, which win over defaults (clap, derive + env).

use clap::{CommandFactory, Parser};
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
    /// No request log (the binary then logs warnings only).
    pub quiet: bool,
}

/// The command line. Flags win over their environment variables, which win over defaults;
/// an empty variable counts as unset. The secrets (`KAPA_API_KEY`, `KAPLAIX_API_KEY`) are read
/// from the environment only, never from a flag, so they never show in a process list.
#[derive(Parser, Debug)]
#[command(
    name = "kapa-dev-server",
    about = "Serves the demo page, the built package and an embedded agent backend",
    after_help = "\
Environment: KAPA_API_KEY + KAPA_PROJECT_ID (+ KAPA_API_URL, KAPA_INTEGRATION_ID) make
/api/session forward to Kapa instead of minting local tokens.
KAPLAIX_API_KEY (+ KAPLAIX_BASE_URL) makes /api/kaplaix forward to Kaplaix instead of the
embedded governance service; KAPLAIX_PENDING_TTL_SECS sets its pending actions' lifetime.
RUST_LOG filters the log (default: info; with --quiet: warn)."
)]
pub struct Cli {
    /// Port on 127.0.0.1 (0 picks a free port)
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// SQLite data directory [default: <root>/www/server/data]
    #[arg(long, env = "DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Repository root: serves <root>/www at / and <root>/pkg at /pkg [default: the current
    /// directory if it has www/, else the checkout this binary was built from]
    #[arg(long, env = "KAPA_DEV_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Lifetime of the session tokens minted here, in seconds
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl_secs: u64,
    /// Pause between streamed text deltas, in milliseconds
    #[arg(long, env = "DELTA_DELAY_MS", default_value_t = 15)]
    pub delta_delay_ms: u64,
    /// Default chat framing: sse or record
    #[arg(long, env = "FRAMING", default_value = "sse", value_parser = parse_framing)]
    pub framing: Framing,
    /// Do not log requests
    #[arg(long)]
    pub quiet: bool,
}

fn parse_framing(s: &str) -> Result<Framing, String> {
    Framing::parse(s).ok_or_else(|| format!("{s:?} is not sse or record"))
}

impl Config {
    /// Reads flags (`args` without the program name, and their environment variables) with
    /// clap, and the secrets and upstream settings through `env`. `--help` and bad flags come
    /// back as clap's error, which prints itself (`e.exit()`).
    pub fn from_args(
        args: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, clap::Error> {
        let cli = Cli::try_parse_from(
            std::iter::once("kapa-dev-server".to_string()).chain(args.iter().cloned()),
        )?;
        Config::from_cli(cli, env)
            .map_err(|msg| Cli::command().error(clap::error::ErrorKind::InvalidValue, msg))
    }

    /// The configuration from parsed flags, plus the environment's secrets through `env`.
    pub fn from_cli(cli: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let root = cli.root.unwrap_or_else(default_root);
        let data_dir = cli.data_dir.unwrap_or_else(|| root.join("www/server/data"));
        let upstream = match (env("KAPA_API_KEY"), env("KAPA_PROJECT_ID")) {
            (Some(api_key), Some(project_id)) => Some(Upstream {
                api_key,
                project_id,
                api_url: env("KAPA_API_URL")
                    .unwrap_or_else(|| "https://api.kapa.ai".into())
                    .trim_end_matches('/')
                    .to_string(),
                integration_id: env("KAPA_INTEGRATION_ID"),
            }),
            _ => None,
        };
        Ok(Config {
            port: cli.port,
            data_dir,
            root,
            token_ttl_secs: cli.token_ttl_secs,
            delta_delay_ms: cli.delta_delay_ms,
            framing: cli.framing,
            project_id: "demo".into(),
            integration_id: "demo-integration".into(),
            upstream,
            kaplaix: crate::kaplaix::KaplaixConfig::from_env(&env)?,
            quiet: cli.quiet,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_and_secrets() {
        let c = Config::from_args(
            &args(&[
                "--port=9000",
                "--token-ttl-secs",
                "40",
                "--framing",
                "record",
                "--quiet",
            ]),
            |k| match k {
                "KAPA_API_KEY" => Some("sk-x".into()),
                "KAPA_PROJECT_ID" => Some("p1".into()),
                "KAPA_API_URL" => Some("http://127.0.0.1:9/".into()),
                _ => None,
            },
        )
        .unwrap();
        assert_eq!(
            (c.port, c.token_ttl_secs, c.framing, c.quiet),
            (9000, 40, Framing::Record, true)
        );
        let up = c.upstream.unwrap();
        assert_eq!(up.api_url, "http://127.0.0.1:9");
        assert!(!format!("{up:?}").contains("sk-x"));
        let c = Config::from_args(&args(&["--root", "/r"]), |_| None).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/r/www/server/data"));
        assert!(c.upstream.is_none());
    }

    #[test]
    fn rejects_bad_flags_and_prints_help() {
        for bad in [
            &["--port", "70000"][..],
            &["--framing", "xml"],
            &["--token-ttl-secs", "0"],
            &["--nope"],
            &["stray"],
        ] {
            let e = Config::from_args(&args(bad), |_| None).unwrap_err();
            assert_ne!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{bad:?}");
        }
        let e = Config::from_args(&args(&["--help"]), |_| None).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = e.to_string();
        for flag in [
            "--port",
            "--data-dir",
            "--root",
            "--token-ttl-secs",
            "--delta-delay-ms",
            "--framing",
            "--quiet",
            "[env: PORT=]",
            "KAPLAIX_API_KEY",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
        }
        let e = Config::from_args(&[], |k| (k == "KAPLAIX_BASE_URL").then(|| "ftp://x".into()))
            .unwrap_err();
        assert!(e.to_string().contains("KAPLAIX_BASE_URL"), "{e}");
    }
}
