//! The agent's configuration as plain data: what the machine needs to build requests and to
//! decide about tool calls. The wasm skin reads `AgentOptions` from JS (validating them and
//! keeping the JS functions), and hands the machine a [`Config`].

#[allow(unused_imports)]
use crate::prelude::*;
use crate::small_map::SmallMap;

use crate::json::Value;

pub const DEFAULT_BASE_URL: &str = "https://api.kapa.ai";
pub const DEFAULT_MODEL: &str = "kapa-agent-1.0";

/// PROTOCOL.md §5 retry settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    pub max_retries: u32,
    pub base_delay_ms: f64,
    pub max_delay_ms: f64,
    pub max_retry_after_ms: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 3,
            base_delay_ms: 500.0,
            max_delay_ms: 8_000.0,
            max_retry_after_ms: 60_000.0,
        }
    }
}

/// What a governance decision does (GOVERNANCE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GovernanceMode {
    LogOnly,
    Block,
    RequireApproval,
}

/// Kaplaix attribution of a tool (`governance.tools[name]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolAttributes {
    pub tool_type: Option<String>,
    pub operation: Option<String>,
    pub target_system: Option<String>,
}

/// The `governance` option: audit events and policy checks through the integrator's proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceConfig {
    /// The proxy's base URL, e.g. `/api/kaplaix` (the Kaplaix key stays on the server).
    pub endpoint: String,
    pub agent_id: String,
    pub mode: GovernanceMode,
    pub tools: SmallMap<String, ToolAttributes>,
    pub approval_timeout_ms: f64,
    pub poll_interval_ms: f64,
    pub fail_on_circuit_open: bool,
}

impl GovernanceConfig {
    pub fn new(endpoint: impl Into<String>, agent_id: impl Into<String>) -> Self {
        GovernanceConfig {
            endpoint: endpoint.into(),
            agent_id: agent_id.into(),
            mode: GovernanceMode::LogOnly,
            tools: SmallMap::new(),
            approval_timeout_ms: 120_000.0,
            poll_interval_ms: 3_000.0,
            fail_on_circuit_open: false,
        }
    }
}

/// A client tool, as the machine sees it (its `execute` stays in JS).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments: sent to the model and checked before `execute` runs.
    pub parameters: Value,
    pub needs_approval: bool,
    pub display_name: Option<String>,
}

/// Everything the machine needs to know about the integration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub project_id: String,
    pub integration_id: String,
    pub model: String,
    pub base_url: String,
    pub custom_instructions: Option<String>,
    /// `EndUserInfo`, passed through as given.
    pub user: Option<Value>,
    pub source_group_ids_include: Vec<String>,
    pub enable_history: bool,
    pub retry: RetryConfig,
    /// A request that receives nothing (no response head, no stream byte, not even a
    /// keep-alive comment) for this long is ended (`idleTimeoutMs`, default 60 s).
    pub idle_timeout_ms: f64,
    /// `getSessionToken()` must settle within this (`sessionTokenTimeoutMs`, default 30 s).
    pub token_timeout_ms: f64,
    /// Coalesce `onMessagesChange` to at most one call per this many ms while text streams
    /// (`throttleMs`, default 0: one call per network read). The first delta of a turn and
    /// anything other than streamed text are never delayed; the end of a turn flushes.
    pub throttle_ms: f64,
    pub tools: Vec<ToolSpec>,
    /// `builtinToolMeta[name].displayName`.
    pub builtin_display_names: SmallMap<String, String>,
    pub governance: Option<GovernanceConfig>,
}

impl Config {
    pub fn new(project_id: impl Into<String>, integration_id: impl Into<String>) -> Self {
        Config {
            project_id: project_id.into(),
            integration_id: integration_id.into(),
            model: DEFAULT_MODEL.into(),
            base_url: DEFAULT_BASE_URL.into(),
            custom_instructions: None,
            user: None,
            source_group_ids_include: Vec::new(),
            enable_history: false,
            retry: RetryConfig::default(),
            idle_timeout_ms: 60_000.0,
            token_timeout_ms: 30_000.0,
            throttle_ms: 0.0,
            tools: Vec::new(),
            builtin_display_names: SmallMap::new(),
            governance: None,
        }
    }

    pub fn tool(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// `displayName` for a call: from the client tool, else from `builtinToolMeta`.
    pub fn display_name(&self, name: &str) -> Option<String> {
        match self.tool(name) {
            Some(t) => t.display_name.clone(),
            None => self.builtin_display_names.get(name).cloned(),
        }
    }
}
