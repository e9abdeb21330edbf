// The `Agent` class the package exports: agent-core's API over the Rust agent of the
// WebAssembly module. It exists so that `new Agent(options)` works the moment the entry is
// imported, before the module has loaded: options are checked here, synchronously (TypeError
// naming the option); until the module is ready the getters answer the initial state and the
// other calls wait for it, in the order they were made; after that every call goes straight
// to the Rust agent.

import { loaded } from './load.js';
import { parseOptions } from './options.js';
import { makeError } from './errors.js';
import { checkState, emptyState } from './state.js';
import { openStore, storageKey, Persister } from './persist.js';

/** wasm-bindgen's glue, once the module is ready. */
let glue = null;
/** Why the module did not load, once that is known. */
let loadError = null;

const glueReady = loaded.then(
  (g) => {
    g.__setErrorFactory(makeError);
    glue = g;
  },
  (error) => {
    loadError = error;
    throw error;
  },
);

/** Resolves once the WebAssembly module is ready; rejects, saying which URL failed and why,
 * when it cannot load. Agents work before that too: awaiting it is optional. */
export const ready = glueReady.then(() => undefined);
ready.catch(() => {}); // reported to whoever awaits it, or through the calls that need it

const freed = () => new Error('This agent was freed');

/** The methods of the Rust agent's one entry point, `call(op, a, b)` (src/wasm/agent.rs). */
const SEND = 0, STOP = 1, RESET = 2, APPROVE = 3, REJECT = 4, SET_OPTIONS = 5, MESSAGES = 6,
  STREAMING = 7, THREAD_ID = 8, FLUSH = 9, EXPORT = 10, RESTORE = 11, CLEAR_SESSION = 12,
  LIST = 13, RESUME = 14, DELETE = 15;

/** A rejected promise with a TypeError (the methods that answer promises never throw). */
const refuse = (message) => Promise.reject(new TypeError(message));

/** The `threadId` of resumeThread / deleteThread, or a rejection naming the method. */
const threadIdOf = (method, id) =>
  typeof id === 'string' && id !== '' ? null : refuse(`${method}(threadId): threadId must be a non-empty string`);

/** The Rust heap's live bytes (null before the module is ready); for the benchmark. */
export const heapBytes = () => (glue ? glue.__heapBytes() : null);
/** The size of the wasm memory (null before the module is ready); for the benchmark. The
 * module's exports are renamed at build time (scripts/build-pkg.sh), so the memory is found by
 * its type, not by the name `memory`. */
let wasmMemory = null;
export const memoryBytes = () => {
  if (!glue) return null;
  wasmMemory ??= Object.values(glue.initSync()).find((v) => v instanceof WebAssembly.Memory);
  return wasmMemory.buffer.byteLength;
};

/** `o[key]`, or undefined when the getter throws. */
function read(o, key) {
  try {
    return o[key];
  } catch {
    return undefined;
  }
}

/** The tool-call statuses of the last message: a change of them settles something. */
function statusesOf(messages) {
  const last = messages[messages.length - 1];
  const blocks = (last && last.blocks) || [];
  let out = `${messages.length}`;
  for (const b of blocks) for (const c of b.toolCalls || []) out += `|${c.id}:${c.status}`;
  return out;
}

export class Agent {
  /** The Rust agent (wasm-bindgen's class), once the module is ready and until free(). */
  #inner = null;
  /** Calls made before the module was ready: each takes the Rust agent, or null and an error. */
  #queue = [];
  /** The options as last given, which updateOptions merges into. */
  #options;
  #freed = false;
  /** What the getters answer when there is no Rust agent (before the module, after free()). */
  #messages = [];
  #threadId = null;
  /** A state to restore once the Rust agent exists (module not ready yet), as JSON data. */
  #pending = null;
  /** What exportState() answers without a Rust agent after free(). */
  #exported = null;
  #ids;
  /** The `persist` option's saver, or null. */
  #persist = null;
  #statuses = '';
  #onEvent;
  /** The page-lifecycle listeners of persist: [type, listener] pairs. */
  #pagehide = null;

  constructor(options) {
    const { config, js } = parseOptions(options);
    this.#ids = [config.projectId, config.integrationId];
    const initial = read(options, 'initialState');
    let state = initial === undefined ? null : checkState(initial, ...this.#ids);
    const store = openStore(read(options, 'persist'));
    this.#options = { ...options };
    this.#onEvent = js.onEvent;
    if (store) {
      this.#persist = new Persister(store, storageKey(...this.#ids), () => this.exportState(), (e) => this.#emit(e));
      this.#hook(js);
      if (typeof globalThis.addEventListener === 'function') {
        const leave = () => this.#persist?.freeze(true);
        const stay = () => this.#persist?.freeze(false);
        this.#pagehide = [['beforeunload', leave], ['pagehide', leave], ['pageshow', stay], ['pointerdown', stay], ['keydown', stay]];
        for (const [type, fn] of this.#pagehide) globalThis.addEventListener(type, fn, true);
      }
      if (state === null) state = this.#loadStored();
    }
    if (glue) {
      this.#inner = new glue.Agent(config, js);
      this.#queue = null;
      if (state) this.#restore(this.#inner, state, false);
      return;
    }
    this.#pending = state;
    glueReady.then(
      () => {
        if (this.#freed) return;
        this.#inner = new glue.Agent(config, js);
        const pending = this.#pending;
        this.#pending = null;
        // Arriving after construction, the state is delivered through the callbacks.
        if (pending) this.#restore(this.#inner, pending, true);
        this.#flush(this.#inner, null);
      },
      (error) => this.#flush(null, error),
    );
  }

  /** `onEvent`, after construction; never throws out. */
  #emit(event) {
    const fire = () => {
      try {
        this.#onEvent?.(event);
      } catch (e) {
        console.error('kapa-agent-wasm: a callback threw:', e);
      }
    };
    queueMicrotask(fire);
  }

  /** Save after the callbacks that settle something (persist). */
  #hook(js) {
    const p = () => this.#persist;
    const { onMessagesChange, onStreamingChange, onThreadIdChange } = js;
    js.onMessagesChange = (messages) => {
      try {
        onMessagesChange(messages);
      } finally {
        const statuses = statusesOf(messages);
        const streaming = this.#inner?.call(STREAMING);
        if (!streaming || statuses !== this.#statuses) p()?.settled();
        else p()?.streamed();
        this.#statuses = statuses;
      }
    };
    js.onStreamingChange = (on) => {
      try {
        onStreamingChange(on);
      } finally {
        p()?.settled();
      }
    };
    js.onThreadIdChange = (id) => {
      try {
        onThreadIdChange?.(id);
      } finally {
        p()?.settled();
      }
    };
  }

  /** The stored state (persist): now when `load` is sync, else once it resolves. */
  #loadStored() {
    let now = null;
    let sync = true;
    this.#persist.load((error, text) => {
      if (error) return this.#persist?.failed(error);
      if (text === null || text === undefined) return;
      let state;
      try {
        state = checkState(text, ...this.#ids);
      } catch (e) {
        this.#persist?.remove();
        this.#emit({ type: 'state_discarded', data: { reason: e.message } });
        return;
      }
      if (sync) now = state;
      else this.#arrived(state);
    });
    sync = false;
    return now;
  }

  /** A stored state that an async `load` gave. */
  #arrived(state) {
    if (this.#freed) return;
    if (this.#touched) {
      this.#restore(null, state, true, true);
      return;
    }
    if (this.#inner === null && this.#queue) {
      this.#pending = state; // the module is not ready yet: restored with it
      return;
    }
    this.#run((inner) => this.#restore(inner, state, true, true));
  }

  #touched = false;

  /** Restores `state` into the Rust agent; a refusal discards it (never a throw here). */
  #restore(inner, state, announce, late = false) {
    const why = late && this.#touched ? 'conversation_changed' : inner.call(RESTORE, state, announce);
    if (why === undefined) return;
    if (why !== 'conversation_changed') this.#persist?.remove();
    this.#emit({
      type: 'state_discarded',
      data: {
        reason: why === 'conversation_changed'
          ? 'the conversation changed before the stored state was loaded'
          : `the state was refused: ${why}`,
      },
    });
  }

  /** `exportState()` (STATE.md): the conversation as JSON data, to give back as
   * `initialState`. Before the module is ready: the state it will restore (or an empty one). */
  exportState() {
    if (this.#inner) return this.#inner.call(EXPORT);
    if (this.#exported) return this.#exported;
    return this.#pending ? JSON.parse(JSON.stringify(this.#pending)) : emptyState(...this.#ids);
  }

  #flush(inner, error) {
    const queue = this.#queue;
    this.#queue = null;
    for (const call of queue ?? []) call(inner, error);
  }

  /** Runs `fn` on the Rust agent now or once it exists; nothing when that can no longer be. */
  #run(fn) {
    if (this.#inner) fn(this.#inner);
    else if (this.#queue) this.#queue.push((inner) => inner && fn(inner));
  }

  /** `fn`'s promise on the Rust agent, now or once it exists; rejects when it cannot be. */
  #later(fn) {
    if (this.#inner) return fn(this.#inner);
    if (!this.#queue) return Promise.reject(this.#freed ? freed() : loadError);
    return new Promise((resolve, reject) => {
      this.#queue.push((inner, error) => {
        if (!inner) return reject(error ?? freed());
        try {
          resolve(fn(inner));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  sendMessage(text) {
    if (typeof text !== 'string') throw new TypeError('sendMessage(text): text must be a string');
    if (text.trim() !== '') this.#touched = true;
    if (this.#inner) return this.#inner.call(SEND, text);
    return this.#later((inner) => inner.call(SEND, text));
  }

  stopGeneration() {
    this.#run((inner) => inner.call(STOP));
  }

  resetConversation() {
    this.#touched = true;
    this.#pending = null;
    this.#run((inner) => {
      if (!this.#persist) return inner.call(RESET);
      this.#persist.quietly(() => inner.call(RESET));
      this.#persist.remove();
    });
  }

  approveToolCall(id) {
    this.#run((inner) => inner.call(APPROVE, id));
  }

  rejectToolCall(id) {
    this.#run((inner) => inner.call(REJECT, id));
  }

  updateOptions(partial) {
    if (typeof partial !== 'object' || partial === null) {
      throw new TypeError('updateOptions(partial): partial must be an object');
    }
    const merged = { ...this.#options, ...partial };
    const { config, js } = parseOptions(merged);
    if (this.#persist) this.#hook(js);
    this.#options = merged;
    this.#onEvent = js.onEvent;
    this.#run((inner) => inner.call(SET_OPTIONS, config, js));
  }

  getMessages() {
    return this.#inner ? this.#inner.call(MESSAGES) : this.#messages;
  }

  getIsStreaming() {
    return this.#inner ? this.#inner.call(STREAMING) : false;
  }

  getThreadId() {
    return this.#inner ? this.#inner.call(THREAD_ID) : this.#threadId;
  }

  clearSession() {
    this.#persist?.remove();
    this.#run((inner) => inner.call(CLEAR_SESSION));
  }

  listThreads(params) {
    if (params !== undefined && params !== null && typeof params !== 'object') {
      return refuse('listThreads(params): params must be an object');
    }
    const limit = params == null ? undefined : read(params, 'limit');
    const cursor = params == null ? undefined : read(params, 'cursor');
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 1e6)) {
      return refuse('listThreads: limit must be a positive whole number');
    }
    if (cursor != null && typeof cursor !== 'string') return refuse('listThreads: cursor must be a string');
    return this.#later((inner) => inner.call(LIST, limit, cursor ?? undefined));
  }

  resumeThread(threadId) {
    this.#touched = true;
    return threadIdOf('resumeThread', threadId) ?? this.#later((inner) => inner.call(RESUME, threadId));
  }

  deleteThread(threadId) {
    return threadIdOf('deleteThread', threadId) ?? this.#later((inner) => inner.call(DELETE, threadId));
  }

  flushGovernance(options) {
    const ms = read(options ?? {}, 'timeoutMs');
    if (ms !== undefined && !(typeof ms === 'number' && ms >= 0 && ms < Infinity)) {
      return refuse('flushGovernance: timeoutMs must be a non-negative number');
    }
    return this.#later((inner) => inner.call(FLUSH, ms));
  }

  /** Releases the agent now: aborts its request, tools and timers. Later calls do nothing,
   * or reject with "This agent was freed"; the getters keep answering the last state. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    const inner = this.#inner;
    this.#persist?.close();
    for (const [type, fn] of this.#pagehide ?? []) globalThis.removeEventListener(type, fn, true);
    if (inner) {
      this.#exported = inner.call(EXPORT);
      this.#messages = inner.call(MESSAGES);
      this.#threadId = inner.call(THREAD_ID);
      this.#inner = null;
      inner.free(); // may call back into this agent (abort listeners): it is already freed
    } else {
      this.#flush(null, freed());
    }
  }
}

if (typeof Symbol.dispose === 'symbol') Agent.prototype[Symbol.dispose] = Agent.prototype.free;
