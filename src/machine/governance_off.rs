//! The machine's governance hooks when the crate is built without the `governance` feature
//! (the plain package entry): `Config::governance` is never set, so there is no governance
//! state and every hook does nothing. Only the signatures of `governance.rs` are kept, so the
//! agent loop in `mod.rs` reads the same either way; the Kaplaix client, canonical JSON and
//! SHA-256 are not compiled.

use crate::json::Value;
#[allow(unused_imports)]
use crate::prelude::*;

use super::{Machine, ReqId};
use crate::messages::ToolCallStatus;

/// Governance state: none can exist in this build (an empty enum has no values).
pub(super) enum Governance {}

impl Governance {
    pub(super) fn next_wake(&self) -> Option<f64> {
        match *self {}
    }
}

impl Machine {
    /// Events waiting to be delivered (for `flushGovernance()`): never any.
    pub fn governance_pending(&self) -> usize {
        0
    }

    pub(super) fn sync_governance(&mut self) {}

    pub(super) fn gov_new_session(&mut self) {}

    pub(super) fn gov_tool_settled(
        &mut self,
        _name: &str,
        _arguments: &Value,
        _status: ToolCallStatus,
        _now_ms: f64,
    ) {
    }

    pub(super) fn gov_approval(
        &mut self,
        _name: &str,
        _approved: bool,
        _reviewer: Option<Option<String>>,
        _now_ms: f64,
    ) {
    }

    /// The page is being hidden: nothing is queued to send.
    pub fn page_hidden(&mut self, _now: impl Into<super::Now>) {}

    /// Governance is off: the caller proceeds itself.
    pub(super) fn gov_before_run(&mut self, _call_id: &str, _now_ms: f64) -> bool {
        false
    }

    pub(super) fn gov_cancel_wait(&mut self, _call_id: &str) {}

    /// A restored reviewer hold: never, as there is no governance option to restore it with.
    pub(super) fn gov_start_wait(&mut self, _call_id: String, _action: String, _now_ms: f64) {}

    pub(super) fn gov_abandon_turn(&mut self) {}

    /// Not a governance request: there are none.
    pub(super) fn gov_response(
        &mut self,
        _req: ReqId,
        _status: Option<u16>,
        _retry_after: Option<&str>,
        _body: &str,
        _now_ms: f64,
    ) -> bool {
        false
    }

    pub(super) fn gov_timer(&mut self, _now_ms: f64) {}
}
