//! What every integration test of the development server needs: a throw-away repository root
//! and data directory, a server started on them, and an HTTP client.
#![allow(dead_code)]

use kapa_dev_server::{start, Config, Running};
use std::path::PathBuf;

pub struct Env {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub data: PathBuf,
}

/// A root with `README.md` (`readme`), a demo page, a package entry, and a file under
/// `www/server/` (`server_file`) that static serving must never expose.
pub fn env_with(readme: &str, server_file: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("www/server")).unwrap();
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("README.md"), readme).unwrap();
    std::fs::write(
        root.join("www/index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    std::fs::write(root.join("www/server/secret.txt"), server_file).unwrap();
    std::fs::write(root.join("pkg/index.js"), "export const x = 1;").unwrap();
    let data = dir.path().join("data");
    Env {
        _dir: dir,
        root,
        data,
    }
}

/// A server on `e`, with its test configuration changed by `tweak`.
pub async fn server(e: &Env, tweak: impl FnOnce(&mut Config)) -> Running {
    let mut c = Config::for_tests(e.root.clone(), e.data.clone());
    tweak(&mut c);
    start(c).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}
