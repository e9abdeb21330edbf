// The `Agent` class the package exports: agent-core's API over the Rust agent of the
// WebAssembly module. It exists so that `new Agent(options)` works the moment the entry is
// imported, before the module has loaded: options are checked here, synchronously (TypeError
// naming the option); until the module is ready the getters answer the initial state and the
// other calls wait for it, in the order they were made; after that every call goes straight
// to the Rust agent.

import { loaded } from './load.js';
import { parseOptions } from './options.js';
import { makeError } from './errors.js';

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

/** The Rust heap's live bytes (null before the module is ready); for the benchmark. */
export const heapBytes = () => (glue ? glue.__heapBytes() : null);
/** The size of the wasm memory (null before the module is ready); for the benchmark. */
export const memoryBytes = () => (glue ? glue.initSync().memory.buffer.byteLength : null);

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

  constructor(options) {
    const { config, js } = parseOptions(options);
    this.#options = { ...options };
    if (glue) {
      this.#inner = new glue.Agent(config, js);
      this.#queue = null;
      return;
    }
    glueReady.then(
      () => {
        if (this.#freed) return;
        this.#inner = new glue.Agent(config, js);
        this.#flush(this.#inner, null);
      },
      (error) => this.#flush(null, error),
    );
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
    if (this.#inner) return this.#inner.sendMessage(text);
    return this.#later((inner) => inner.sendMessage(text));
  }

  stopGeneration() {
    this.#run((inner) => inner.stopGeneration());
  }

  resetConversation() {
    this.#run((inner) => inner.resetConversation());
  }

  approveToolCall(id) {
    this.#run((inner) => inner.approveToolCall(id));
  }

  rejectToolCall(id) {
    this.#run((inner) => inner.rejectToolCall(id));
  }

  updateOptions(partial) {
    if (typeof partial !== 'object' || partial === null) {
      throw new TypeError('updateOptions(partial): partial must be an object');
    }
    const merged = { ...this.#options, ...partial };
    const { config, js } = parseOptions(merged);
    this.#options = merged;
    this.#run((inner) => inner.setOptions(config, js));
  }

  getMessages() {
    return this.#inner ? this.#inner.getMessages() : this.#messages;
  }

  getIsStreaming() {
    return this.#inner ? this.#inner.getIsStreaming() : false;
  }

  getThreadId() {
    return this.#inner ? this.#inner.getThreadId() : this.#threadId;
  }

  clearSession() {
    this.#run((inner) => inner.clearSession());
  }

  listThreads(params) {
    return this.#later((inner) => inner.listThreads(params));
  }

  resumeThread(threadId) {
    return this.#later((inner) => inner.resumeThread(threadId));
  }

  deleteThread(threadId) {
    return this.#later((inner) => inner.deleteThread(threadId));
  }

  flushGovernance(options) {
    return this.#later((inner) => inner.flushGovernance(options));
  }

  /** Releases the agent now: aborts its request, tools and timers. Later calls do nothing,
   * or reject with "This agent was freed"; the getters keep answering the last state. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    const inner = this.#inner;
    if (inner) {
      this.#messages = inner.getMessages();
      this.#threadId = inner.getThreadId();
      this.#inner = null;
      inner.free(); // may call back into this agent (abort listeners): it is already freed
    } else {
      this.#flush(null, freed());
    }
  }
}

if (typeof Symbol.dispose === 'symbol') Agent.prototype[Symbol.dispose] = Agent.prototype.free;
