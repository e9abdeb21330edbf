// Type-level test of the `kapa-agent-wasm/governance` entry: the same API as the main entry,
// with the `governance` option and flushGovernance(). Compiled with `tsc --noEmit --strict`.
import { Agent, ready, createToolHelper } from 'kapa-agent-wasm/governance';
import type { AgentOptions, GovernanceOptions, AgentEvent } from 'kapa-agent-wasm/governance';
import type { AgentOptions as MainOptions } from 'kapa-agent-wasm';

const governance: GovernanceOptions = { endpoint: '/api/kaplaix', agentId: 'support-bot', mode: 'require_approval' };
const options: AgentOptions = {
  projectId: 'p',
  integrationId: 'i',
  getSessionToken: async () => ({ token: 't', expiresAt: Date.now() + 3600_000 }),
  onMessagesChange: () => {},
  onStreamingChange: () => {},
  onEvent: (e: AgentEvent) => {
    if (e.type === 'governance_warning') console.warn(e.data.message);
  },
  governance,
};
// The two entries' option types are one type.
const same: MainOptions = options;
void same;
void createToolHelper;

async function main(): Promise<boolean> {
  await ready;
  const agent = new Agent(options);
  return agent.flushGovernance({ timeoutMs: 5000 });
}
void main;
