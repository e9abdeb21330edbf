// Types of kapa-agent-wasm: agent-core's public types, by name and shape.

/** Lifecycle of a tool call. */
export type ToolCallStatus =
  | 'pending'
  | 'approval_requested'
  | 'executing'
  | 'completed'
  | 'error'
  | 'denied'
  | 'stopped';

/** A knowledge-base source found by a server tool. */
export interface AgentSource {
  title: string;
  sourceUrl: string;
  sourceType?: string;
  sourceVisibility?: string;
}

/** One tool call as displayed. */
export type ToolCallDisplay = {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  status: ToolCallStatus;
  result?: unknown;
  error?: string;
  durationMs?: number;
  sources?: AgentSource[];
  displayName?: string;
  needsApproval?: boolean;
  /** Set when a governance reviewer holds (or held) the call. */
  guardian?: GuardianState;
};

/** A call held for a Kaplaix reviewer (governance `require_approval` mode). */
export interface GuardianState {
  pendingActionId: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
}

/** Blocks of an assistant message, in the order they streamed. */
export type ContentBlock =
  | { type: 'text'; content: string }
  | { type: 'tool_calls'; toolCalls: ToolCallDisplay[] };

/** A message of the conversation. */
export type AgentMessage =
  | { role: 'user'; content: string }
  | {
      role: 'assistant';
      content: string;
      blocks: ContentBlock[];
      isError?: boolean;
    };

/** Display metadata for a tool (e.g. the built-in `search_knowledge_base`). */
export interface ToolDisplayMeta {
  displayName?: string;
}

/** The end user, passed to the backend as given. */
export interface EndUserInfo {
  email?: string;
  unique_client_id?: string;
  [key: string]: unknown;
}

/** What `getSessionToken` may resolve to: the normalized shape or Kapa's raw session answer. */
export type SessionToken =
  | { token: string; expiresAt: number | string }
  | { session_token: string; expires_at: string };

/** The third argument of a tool's `execute`. */
export interface ToolExecuteOptions {
  /** Aborts on stopGeneration(), resetConversation(), or when the agent is freed. */
  signal: AbortSignal;
  toolCallId: string;
}

/** A Standard Schema (Zod 3.24+, Zod 4, Valibot, ArkType, ...), as far as types go. */
export interface StandardSchemaLike<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => unknown;
    readonly types?: { readonly input: unknown; readonly output: Output } | undefined;
  };
}

/** A JSON Schema object describing the tool's arguments. */
export type JsonSchema = { [key: string]: unknown };

/** A tool's `parameters`: a Zod (or other Standard) schema, or a raw JSON Schema object. */
export type ToolParameters = StandardSchemaLike<any> | JsonSchema;

/** The arguments type a tool's `parameters` describe. */
export type InferToolArgs<P> = P extends { readonly '~standard': { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O }
    ? O
    : Record<string, unknown>
  : Record<string, unknown>;

/** A client tool: runs in the page when the model calls it. */
export interface ToolDefinition<TContext = unknown, P extends ToolParameters = ToolParameters> {
  /** Unique tool name (sent to the model). */
  name: string;
  /** What the tool does (sent to the model). */
  description: string;
  /** Zod schema or raw JSON Schema of the arguments. */
  parameters: P;
  execute(args: InferToolArgs<P>, context: TContext, options: ToolExecuteOptions): unknown;
  /** Human-readable name for the UI. */
  displayName?: string;
  /** Ask the user before running (approveToolCall / rejectToolCall). */
  needsApproval?: boolean;
}

/** Retry settings for 429, 502, 503, 504 and network errors. */
export interface RetryOptions {
  /** Retries per request (default 3). */
  maxRetries?: number;
  /** Base of the exponential back-off with full jitter (default 500). */
  baseDelayMs?: number;
  /** Cap of the back-off (default 8000). */
  maxDelayMs?: number;
  /** A longer Retry-After fails at once (default 60000). */
  maxRetryAfterMs?: number;
}

export type AgentEvent =
  | { type: 'message_sent'; data: { messageLength: number } }
  | { type: 'response_completed'; data: { threadId: string | null; toolCallCount: number } }
  | { type: 'response_error'; data: { error: string; threadId: string | null } }
  | { type: 'generation_stopped'; data: { threadId: string | null } }
  | {
      type: 'tool_executed';
      data: { toolName: string; status: 'completed' | 'error'; durationMs: number; error?: string };
    }
  | { type: 'tool_approved'; data: { toolName: string; toolCallId: string } }
  | { type: 'tool_denied'; data: { toolName: string; toolCallId: string } }
  | { type: 'conversation_reset'; data: Record<string, never> }
  | { type: 'thread_resumed'; data: { threadId: string } }
  | { type: 'thread_deleted'; data: { threadId: string } }
  | {
      type: 'governance_decision';
      data: {
        toolName: string;
        toolCallId: string;
        /** The policy's answer, or the reviewer's outcome for a held call. */
        decision: 'ALLOW' | 'DENY' | 'REQUIRE_APPROVAL' | 'approved' | 'rejected' | 'expired' | 'timeout';
        ruleId?: string;
      };
    }
  | { type: 'governance_warning'; data: { message: string } }
  /** A stored state (persist) was not restored: malformed, another version or project, or the
   * conversation changed before an async `load` gave it. */
  | { type: 'state_discarded'; data: { reason: string } }
  /** The storage of `persist` failed (quota, disabled, a throwing save): once per failure streak. */
  | { type: 'state_not_saved'; data: { message: string } };

/**
 * What `exportState()` returns and `initialState` takes (also as its JSON text). Plain JSON data:
 * never a session token nor `context`.
 */
export interface AgentState {
  version: 1;
  projectId: string;
  integrationId: string;
  threadId: string | null;
  messages: AgentMessage[];
  /**
   * Present while a turn runs: its Kaplaix run id and the client calls of the step whose results
   * are still to be posted (a restored approval wait goes on with them). Version 1 of the format.
   */
  turn?: { runId: string; step: string[] };
}

/** Where `persist` stores the state (key `kapa-agent:<projectId>:<integrationId>`): sync or async. */
export interface AgentStateStorage {
  load(key: string): string | null | undefined | Promise<string | null | undefined>;
  save(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

/** Kaplaix attribution of a tool, matched by policy rules. */
export interface GovernanceToolAttributes {
  toolType?: string;
  operation?: string;
  targetSystem?: string;
}

/** Audit events and policy checks over Kaplaix, through your server's proxy. */
export interface GovernanceOptions {
  /** Your proxy's base URL, e.g. '/api/kaplaix' (it adds the Kaplaix key server-side). */
  endpoint: string;
  /** Kaplaix agentId. */
  agentId: string;
  /** What a policy decision does (default 'log_only'). */
  mode?: 'log_only' | 'block' | 'require_approval';
  tools?: Record<string, GovernanceToolAttributes>;
  /** How long a reviewer may take (default 120000). */
  approvalTimeoutMs?: number;
  /** How often to ask for the reviewer's decision (default 3000). */
  pollIntervalMs?: number;
  /** Deny tool calls while the policy service is unreachable (default false: fail open). */
  failOnCircuitOpen?: boolean;
}

export type OnAgentEvent = (event: AgentEvent) => void;

export type AgentOptions<TContext = unknown> = {
  projectId: string;
  integrationId: string;
  getSessionToken: () => Promise<SessionToken> | SessionToken;
  tools?: ToolDefinition<TContext, any>[];
  context?: TContext;
  builtinToolMeta?: Record<string, ToolDisplayMeta>;
  customInstructions?: string;
  user?: EndUserInfo;
  onEvent?: OnAgentEvent;
  onMessagesChange: (messages: AgentMessage[]) => void;
  onStreamingChange: (isStreaming: boolean) => void;
  onThreadIdChange?: (threadId: string | null) => void;
  /** Model id (default "kapa-agent-1.0"). */
  model?: string;
  sourceGroupIdsInclude?: string[];
  /** listThreads / resumeThread / deleteThread work only when true (default false). */
  enableHistory?: boolean;
  /** Agent API base URL (default "https://api.kapa.ai"). */
  baseUrl?: string;
  retry?: RetryOptions;
  /**
   * Coalesce onMessagesChange to at most one call per this many ms while text streams
   * (default 0: one call per network read). Never delays the first delta; flushes at the end.
   */
  throttleMs?: number;
  /** End a request that receives nothing, not even a keep-alive, for this long (default 60000). */
  idleTimeoutMs?: number;
  /** Fail when getSessionToken() does not settle within this (default 30000). */
  sessionTokenTimeoutMs?: number;
  /**
   * Put client tool calls under a Kaplaix policy with an audit trail. Only with the
   * `kapa-agent-wasm/governance` entry: the main entry's Agent throws a TypeError.
   */
  governance?: GovernanceOptions;
  /**
   * Start from an exported state (or its JSON text): messages, thread id and approvals still
   * waiting. A bad state throws a TypeError naming `initialState`. Read at construction only.
   */
  initialState?: AgentState | string;
  /**
   * Keep the conversation across page loads: restored at construction, saved after every
   * change that settles something (at most every 500 ms while text streams), removed by
   * resetConversation() and clearSession(). Read at construction only.
   */
  persist?: 'session' | 'local' | AgentStateStorage;
};

/** A stored conversation, as listed by listThreads(). */
export interface AgentThread {
  id: string;
  title: string;
  /** RFC 3339, as the server sent it. */
  createdAt: string;
  /** RFC 3339, as the server sent it. */
  updatedAt: string;
  messageCount: number;
}

export interface ListThreadsResult {
  threads: AgentThread[];
  nextCursor: string | null;
}

export declare class Agent<TContext = unknown> {
  constructor(options: AgentOptions<TContext>);
  /** Send a user message and run the agent loop; resolves when the turn ends. */
  sendMessage(text: string): Promise<void>;
  /** Clear all messages and abort any in-progress request. */
  resetConversation(): void;
  /** Abort the current streaming response. */
  stopGeneration(): void;
  /** Approve a tool that is waiting for user confirmation. */
  approveToolCall(id: string): void;
  /** Reject a tool that is waiting for user confirmation. */
  rejectToolCall(id: string): void;
  /** Update tools, context, or other options without resetting. */
  updateOptions(partial: Partial<AgentOptions<TContext>>): void;
  /** The current messages array. */
  getMessages(): AgentMessage[];
  /** Whether the agent is currently streaming. */
  getIsStreaming(): boolean;
  /** The current conversation thread id. */
  getThreadId(): string | null;
  /** Force clear the cached session token. */
  clearSession(): void;
  /** List stored threads (needs enableHistory). */
  listThreads(params?: { limit?: number; cursor?: string | null }): Promise<ListThreadsResult>;
  /** Load a stored thread as the current conversation (needs enableHistory). */
  resumeThread(threadId: string): Promise<void>;
  /** Delete a stored thread; resets the conversation if it is the current one (needs enableHistory). */
  deleteThread(threadId: string): Promise<void>;
  /**
   * Resolves true once every governance audit event was delivered, false at the timeout
   * (default 10000 ms). With the main entry (no governance): true at once.
   */
  flushGovernance(options?: { timeoutMs?: number }): Promise<boolean>;
  /** The conversation as JSON data, to give back as `initialState` (on this page or the next). */
  exportState(): AgentState;
  /** Release the agent now: aborts its request, tools and timers. */
  free(): void;
}

/** Returns a function that returns the tool definition it is given (for type inference). */
export declare function createToolHelper<TContext = unknown>(): <P extends ToolParameters>(
  tool: ToolDefinition<TContext, P>,
) => ToolDefinition<TContext, P>;

/**
 * Registers zod 4's `z.toJSONSchema`, for zod 4.0 / 4.1 schemas (zod 4.2+ schemas describe
 * themselves; Zod 3 schemas are converted by the package). Other functions are ignored.
 */
export declare function registerZodToJsonSchema(converter: (schema: any, options?: any) => unknown): void;

/**
 * Resolves once the WebAssembly module is ready; rejects with the `.wasm` URL and the reason
 * when it cannot load. Waiting is optional: an `Agent` can be constructed at once, and calls
 * made before the module is ready wait for it.
 */
export declare const ready: Promise<void>;

export declare class SessionWithoutOwnerError extends Error {
  name: 'SessionWithoutOwnerError';
}
export declare class HistoryDisabledError extends Error {
  name: 'HistoryDisabledError';
}
export declare class ThreadNotFoundError extends Error {
  name: 'ThreadNotFoundError';
  threadId: string;
}
