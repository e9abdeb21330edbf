// Types of the `kapa-agent-wasm/governance` entry: the same API as the package's main entry,
// whose `Agent` here also accepts the `governance` option (GovernanceOptions) and whose
// `flushGovernance()` waits for the audit queue.
export * from './index.js';
