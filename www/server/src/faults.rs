//! Fault injection (loopback only) and the log of recent chat requests.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Mutex;

pub const KINDS: &[&str] = &[
    "401",
    "429",
    "500",
    "502",
    "503",
    "504",
    "drop_mid_stream",
    "stall",
    "malformed",
    "error",
    "script",
    "reset",
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    pub kind: String,
    /// How many of the next chat requests it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// `Retry-After` value for 429/503 (seconds or an HTTP date), sent as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// `reason` of the `error` event for kind "error".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Stall length in milliseconds (default 120 000), for kind "stall".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_ms: Option<u64>,
    /// Wait this long before answering (any kind): a request in flight with no response yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Kind "script": the exact response body, chunk by chunk (sent before any backend logic;
    /// the token is not checked). For drops mid-character, invalid UTF-8, huge or deeply
    /// nested events, tool calls the backend would never send, echoed model text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Chunk>,
    /// Kind "script": how the body ends after the chunks: "end" (clean close, the default),
    /// "drop" (connection reset) or "stall" (nothing more for `stall_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<String>,
    /// Kind "script": the response's Content-Type (default `text/event-stream`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// One chunk of a scripted body: `text` (UTF-8) or `hex` (raw bytes), repeated `repeat`
/// times (default 1, at most 16 MiB in all), after a pause of `delay_ms`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Chunk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// Largest scripted body (all chunks, repeats included).
pub const MAX_SCRIPT_BYTES: usize = 16 << 20;

impl Chunk {
    /// The chunk's bytes (repeats included), or why it is invalid.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        let one = match (&self.text, &self.hex) {
            (Some(t), None) => t.as_bytes().to_vec(),
            (None, Some(h)) => {
                let h: String = h.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                hex::decode(h).map_err(|e| format!("hex: {e}"))?
            }
            _ => return Err("a chunk has exactly one of text or hex".into()),
        };
        let n = self.repeat.unwrap_or(1);
        if one.len().saturating_mul(n) > MAX_SCRIPT_BYTES {
            return Err("scripted body too large".into());
        }
        Ok(one.repeat(n))
    }
}

fn one() -> u32 {
    1
}

#[derive(Default)]
pub struct Faults {
    queue: Mutex<VecDeque<Fault>>,
}

impl Faults {
    pub fn push(&self, f: Fault) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(f);
    }
    pub fn clear(&self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    pub fn list(&self) -> Vec<Fault> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
    /// The fault for the next chat request, if any (consumes one of its count).
    pub fn take(&self) -> Option<Fault> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let front = q.front_mut()?;
        let f = front.clone();
        front.count = front.count.saturating_sub(1);
        if front.count == 0 {
            q.pop_front();
        }
        (f.count > 0).then_some(f)
    }
}

/// One chat request as `GET /__requests` lists it. The `Authorization` header is never
/// recorded, only whether it was present.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    pub at: String,
    pub method: &'static str,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub has_authorization: bool,
    pub framing: &'static str,
    pub fault: Option<String>,
    /// The JSON body as sent (a string when it was not JSON).
    pub body: Value,
}

#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<VecDeque<RequestRecord>>,
}

impl RequestLog {
    pub const MAX: usize = 200;
    pub fn push(&self, v: RequestRecord) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.push_back(v);
        while e.len() > Self::MAX {
            e.pop_front();
        }
    }
    pub fn all(&self) -> Vec<RequestRecord> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
