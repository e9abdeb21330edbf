// Type-level test: seed 001's code samples plus SPEC.md's additions, compiled with
// `tsc --noEmit --strict` against the built package. Never executed.
import {
  Agent,
  createToolHelper,
  SessionWithoutOwnerError,
  HistoryDisabledError,
  ThreadNotFoundError,
  ready,
  registerZodToJsonSchema,
} from 'kapa-agent-wasm';
import type {
  AgentOptions,
  AgentMessage,
  ContentBlock,
  ToolCallDisplay,
  ToolCallStatus,
  AgentSource,
  ToolDefinition,
  ToolDisplayMeta,
  EndUserInfo,
  AgentEvent,
  OnAgentEvent,
} from 'kapa-agent-wasm';
import { z } from 'zod';

declare function renderMessages(messages: AgentMessage[]): void;
declare function toggleLoadingIndicator(isStreaming: boolean): void;

// ---- seed 001: "The Agent class"
const agent = new Agent({
  projectId: 'your-project-id',
  integrationId: 'your-integration-id',
  tools: [],
  context: {},
  getSessionToken: async () => {
    const res = await fetch('/api/session', { method: 'POST' });
    return res.json(); // SDK accepts the raw API response directly
  },
  onMessagesChange: (messages) => {
    // Called whenever messages update (new text, tool calls, etc.)
    renderMessages(messages);
  },
  onStreamingChange: (isStreaming) => {
    // Called when streaming starts or stops
    toggleLoadingIndicator(isStreaming);
  },
});

// Send a message — triggers the agent loop
async function main() {
  await agent.sendMessage('How do I get started?');
}
void main;

// ---- seed 001: methods
async function methods(a: Agent) {
  const p: Promise<void> = a.sendMessage('hi');
  await p;
  a.resetConversation();
  a.stopGeneration();
  a.approveToolCall('call_1');
  a.rejectToolCall('call_1');
  a.updateOptions({ customInstructions: 'Be brief.' });
  a.updateOptions({ tools: [], context: {} });
  const msgs: AgentMessage[] = a.getMessages();
  const streaming: boolean = a.getIsStreaming();
  const tid: string | null = a.getThreadId();
  a.clearSession();
  void msgs;
  void streaming;
  void tid;
  // SPEC §1 additions
  const page = await a.listThreads({ limit: 20, cursor: 'abc' });
  const page2 = await a.listThreads();
  const nc: string | null = page.nextCursor;
  for (const t of page2.threads) {
    const id: string = t.id;
    const title: string = t.title;
    const c: string = t.createdAt;
    const u: string = t.updatedAt;
    const n: number = t.messageCount;
    void [id, title, c, u, n, nc];
  }
  await a.resumeThread('thr_1');
  await a.deleteThread('thr_1');
}
void methods;

// ---- seed 001: message format
function render(messages: AgentMessage[]) {
  for (const m of messages) {
    if (m.role === 'user') {
      const c: string = m.content;
      void c;
    } else {
      const c: string = m.content;
      const err: boolean | undefined = m.isError;
      void [c, err];
      for (const b of m.blocks) renderBlock(b);
    }
  }
}
void render;

function renderBlock(b: ContentBlock) {
  switch (b.type) {
    case 'text': {
      const c: string = b.content;
      void c;
      break;
    }
    case 'tool_calls':
      for (const tc of b.toolCalls) renderCall(tc);
      break;
    default: {
      const never: never = b;
      void never;
    }
  }
}

function renderCall(tc: ToolCallDisplay) {
  const id: string = tc.id;
  const name: string = tc.name;
  const args: Record<string, unknown> = tc.arguments;
  const status: ToolCallStatus = tc.status;
  const result: unknown = tc.result;
  const error: string | undefined = tc.error;
  const dur: number | undefined = tc.durationMs;
  const sources: AgentSource[] | undefined = tc.sources;
  const dn: string | undefined = tc.displayName;
  const na: boolean | undefined = tc.needsApproval;
  for (const s of sources ?? []) {
    const t: string = s.title;
    const u: string = s.sourceUrl;
    void [t, u, s.sourceType, s.sourceVisibility];
  }
  void [id, name, args, result, error, dur, dn, na];
  statusLabel(status);
}

function statusLabel(s: ToolCallStatus): string {
  switch (s) {
    case 'pending':
      return 'Waiting';
    case 'approval_requested':
      return 'Needs approval';
    case 'executing':
      return 'Running';
    case 'completed':
      return 'Done';
    case 'error':
      return 'Failed';
    case 'denied':
      return 'Denied';
    case 'stopped':
      return 'Stopped';
    default: {
      const never: never = s;
      return never;
    }
  }
}

// ---- a tool made with createToolHelper and a Zod schema
type AppContext = { userId: string; navigate: (path: string) => void };
const tool = createToolHelper<AppContext>();

const navigateTool = tool({
  name: 'navigate',
  description: 'Navigate to a page in the app',
  parameters: z.object({ path: z.string().describe('The path') }),
  needsApproval: true,
  displayName: 'Navigating',
  execute: async (args, context, opts) => {
    context.navigate(String((args as { path?: unknown }).path));
    const aborted: boolean | undefined = opts?.signal.aborted;
    const callId: string | undefined = opts?.toolCallId;
    return { ok: true, user: context.userId, aborted, callId };
  },
});

const timeTool: ToolDefinition<AppContext> = {
  name: 'get_current_time',
  description: 'Get the current time',
  parameters: { type: 'object', properties: {} },
  execute: () => ({ time: new Date().toISOString() }),
};

const meta: Record<string, ToolDisplayMeta> = {
  search_knowledge_base: { displayName: 'Searching docs' },
};
const user: EndUserInfo = { email: 'a@example.com', unique_client_id: 'u-42' };

// ---- onEvent switching on every event type
const onEvent: OnAgentEvent = (event: AgentEvent) => {
  switch (event.type) {
    case 'message_sent': {
      const n: number = event.data.messageLength;
      void n;
      break;
    }
    case 'response_completed': {
      const t: string | null = event.data.threadId;
      const n: number = event.data.toolCallCount;
      void [t, n];
      break;
    }
    case 'response_error': {
      const e: string = event.data.error;
      const t: string | null = event.data.threadId;
      void [e, t];
      break;
    }
    case 'generation_stopped': {
      const t: string | null = event.data.threadId;
      void t;
      break;
    }
    case 'tool_executed': {
      const name: string = event.data.toolName;
      const status: string = event.data.status;
      const d: number = event.data.durationMs;
      const e: string | undefined = event.data.error;
      void [name, status, d, e];
      break;
    }
    case 'tool_approved':
    case 'tool_denied': {
      const name: string = event.data.toolName;
      const id: string = event.data.toolCallId;
      void [name, id];
      break;
    }
    case 'conversation_reset':
      break;
    case 'thread_resumed':
    case 'thread_deleted': {
      const t: string = event.data.threadId;
      void t;
      break;
    }
    case 'governance_decision': {
      const d: string = event.data.decision;
      const rule: string | undefined = event.data.ruleId;
      void [d, rule, event.data.toolName, event.data.toolCallId];
      break;
    }
    case 'governance_warning': {
      const m: string = event.data.message;
      void m;
      break;
    }
    case 'state_discarded':
      void event.data.reason;
      break;
    case 'state_not_saved':
      void event.data.message;
      break;
    default: {
      const never: never = event;
      void never;
    }
  }
};

// ---- every option, typed as AgentOptions<AppContext>
const options: AgentOptions<AppContext> = {
  projectId: 'p',
  integrationId: 'i',
  getSessionToken: async () => ({ token: 't', expiresAt: Date.now() + 3600_000 }),
  tools: [navigateTool, timeTool],
  context: { userId: 'u1', navigate: () => {} },
  builtinToolMeta: meta,
  customInstructions: 'Answer briefly.',
  user,
  onEvent,
  onMessagesChange: renderMessages,
  onStreamingChange: toggleLoadingIndicator,
  onThreadIdChange: (threadId) => {
    const t: string | null = threadId;
    void t;
  },
  // SPEC §1 additions
  model: 'kapa-agent-1.0',
  sourceGroupIdsInclude: ['sg_1'],
  enableHistory: true,
  baseUrl: 'http://127.0.0.1:8787',
  retry: { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60000 },
};
const typed = new Agent(options);
void typed;

// raw token shape is accepted by getSessionToken
new Agent({
  projectId: 'p',
  integrationId: 'i',
  getSessionToken: async () => ({ session_token: 's', expires_at: '2026-03-17T09:54:51.165812Z' }),
  onMessagesChange: () => {},
  onStreamingChange: () => {},
});

// ---- error classes
async function history(a: Agent) {
  try {
    await a.listThreads();
  } catch (e) {
    if (e instanceof HistoryDisabledError) {
      const m: string = e.message;
      void m;
    } else if (e instanceof SessionWithoutOwnerError) {
      const n: string = e.name;
      void n;
    } else if (e instanceof ThreadNotFoundError) {
      const err: Error = e;
      void err;
    }
  }
}
void history;

// ---- wrong usage must not compile
// @ts-expect-error projectId must be a string
new Agent({ projectId: 1, integrationId: 'i', getSessionToken: async () => ({ token: 't', expiresAt: 0 }), onMessagesChange: () => {}, onStreamingChange: () => {} });
// @ts-expect-error onMessagesChange is required
new Agent({ projectId: 'p', integrationId: 'i', getSessionToken: async () => ({ token: 't', expiresAt: 0 }), onStreamingChange: () => {} });
// @ts-expect-error sendMessage takes a string
agent.sendMessage(42);
// @ts-expect-error not a ToolCallStatus
const badStatus: ToolCallStatus = 'running';
void badStatus;
// @ts-expect-error no such method
agent.sendMesage('typo');
// @ts-expect-error assistant messages need blocks
const badMsg: AgentMessage = { role: 'assistant', content: 'x' };
void badMsg;
// @ts-expect-error a tool needs execute
const badTool: ToolDefinition<AppContext> = { name: 'x', description: 'd', parameters: {} };
void badTool;
const onEv: OnAgentEvent = (e) => {
  if (e.type === 'message_sent') {
    // @ts-expect-error message_sent has no threadId
    void e.data.threadId;
  }
};
void onEv;

// ---- the entry: `ready` (optional to await) and the zod 4.0/4.1 converter registration
const waited: Promise<void> = ready;
void waited.then(() => agent.sendMessage('after ready'));
registerZodToJsonSchema(z.toJSONSchema);
// @ts-expect-error ready is a promise, not a function
ready();

// ---- STATE.md: exportState, initialState, persist
const exported: import('kapa-agent-wasm').AgentState = agent.exportState();
const stateVersion: 1 = exported.version;
void stateVersion;
const persistBase = { projectId: 'p', integrationId: 'i', getSessionToken: () => ({ token: 't', expiresAt: 0 }), onMessagesChange: renderMessages, onStreamingChange: toggleLoadingIndicator };
new Agent({ ...persistBase, initialState: exported, persist: 'session' });
new Agent({ ...persistBase, initialState: JSON.stringify(exported), persist: 'local' });
const asyncStore: import('kapa-agent-wasm').AgentStateStorage = {
  load: async (key: string) => key,
  save: async () => {},
  remove: () => {},
};
new Agent({ ...persistBase, persist: asyncStore });
// @ts-expect-error persist is 'session', 'local' or a storage object
new Agent({ ...persistBase, persist: 'cookie' });
const stateEvent: OnAgentEvent = (e) => {
  if (e.type === 'state_discarded') void e.data.reason.length;
  if (e.type === 'state_not_saved') void e.data.message.length;
};
void stateEvent;
