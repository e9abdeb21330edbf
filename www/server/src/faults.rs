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

#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<VecDeque<Value>>,
}

impl RequestLog {
    pub const MAX: usize = 200;
    pub fn push(&self, v: Value) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.push_back(v);
        while e.len() > Self::MAX {
            e.pop_front();
        }
    }
    pub fn all(&self) -> Vec<Value> {
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
