// The `persist` option (STATE.md): where the conversation is stored, when it is saved, and
// the storage failures that never throw out of the agent nor stop a turn.

/** Saves at most this often while text streams. */
export const STREAM_SAVE_MS = 500;

const errorText = (e) => (e instanceof Error ? e.message : String(e));
const isFunction = (v) => typeof v === 'function';

/** `fn()`, sync or a promise; `done(error, value)` once, never throwing out. */
function attempt(fn, done) {
  let r;
  try {
    r = fn();
  } catch (e) {
    done(e);
    return;
  }
  if (r && isFunction(r.then)) {
    r.then((v) => done(null, v), (e) => done(e ?? new Error('storage failed')));
  } else {
    done(null, r);
  }
}

/** A Web Storage (`sessionStorage`, `localStorage`) as a store; missing or disabled storage
 * fails at use, not here. */
function webStorage(name) {
  const storage = () => {
    const s = globalThis[name]; // may throw (SecurityError) where storage is disabled
    if (!s) throw new Error(`${name} is not available here`);
    return s;
  };
  return {
    load: (key) => storage().getItem(key),
    save: (key, value) => storage().setItem(key, value),
    remove: (key) => storage().removeItem(key),
  };
}

/** The store of the `persist` option: null when absent; a TypeError for another value. */
export function openStore(persist) {
  if (persist === undefined) return null;
  if (persist === 'session') return webStorage('sessionStorage');
  if (persist === 'local') return webStorage('localStorage');
  if (typeof persist === 'object' && persist !== null) {
    let load, save, remove;
    try {
      ({ load, save, remove } = persist);
    } catch {
      // reported below
    }
    if (isFunction(load) && isFunction(save) && isFunction(remove)) {
      return {
        load: (key) => load.call(persist, key),
        save: (key, value) => save.call(persist, key, value),
        remove: (key) => remove.call(persist, key),
      };
    }
  }
  throw new TypeError(
    "options.persist must be 'session', 'local' or an object with load, save and remove functions",
  );
}

export const storageKey = (projectId, integrationId) => `kapa-agent:${projectId}:${integrationId}`;

/**
 * Saves one agent's state: `exportState()` gives it, `emit(event)` fires `onEvent`.
 * `settled()` saves soon (coalescing one batch of callbacks), `streamed()` at most every
 * STREAM_SAVE_MS; `remove()` deletes the stored state and drops a save not yet made.
 */
export class Persister {
  #store;
  #key;
  #exportState;
  #emit;
  #failing = false;
  #quiet = false;
  #soon = false;
  #timer = null;
  #lastSave = -Infinity;
  #closed = false;
  #frozen = false;

  constructor(store, key, exportState, emit) {
    this.#store = store;
    this.#key = key;
    this.#exportState = exportState;
    this.#emit = emit;
  }

  /** Reads the stored text: `done(error, text)`, sync or later. */
  load(done) {
    attempt(() => this.#store.load(this.#key), done);
  }

  /** A storage failure: one `state_not_saved` per failure streak. */
  failed(error) {
    if (this.#failing) return;
    this.#failing = true;
    this.#emit({ type: 'state_not_saved', data: { message: errorText(error) } });
  }

  #ok() {
    this.#failing = false;
  }

  /** Something settled: save once the current batch of callbacks is over. */
  settled() {
    if (this.#quiet || this.#closed || this.#frozen || this.#soon) return;
    this.#soon = true;
    queueMicrotask(() => {
      if (!this.#soon) return;
      this.#soon = false;
      this.save();
    });
  }

  /** Text streamed: save now if the last save is STREAM_SAVE_MS old, else when it is. */
  streamed() {
    if (this.#quiet || this.#closed || this.#frozen || this.#timer !== null || this.#soon) return;
    const wait = this.#lastSave + STREAM_SAVE_MS - Date.now();
    if (wait <= 0) {
      this.settled();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.save();
    }, wait);
  }

  /** A save that is waiting (the page is being left): make it now. */
  flush() {
    if (this.#timer !== null || this.#soon) this.save();
  }

  /**
   * The page is being left (`frozen` true): save what waits, then nothing more, so that what
   * the unload does to the turn (its stream cut: "ended unexpectedly") is not stored over the
   * answer as it was. Thawed when the page turns out to stay (pageshow, user input).
   */
  freeze(frozen) {
    if (frozen) this.flush();
    this.#frozen = frozen;
  }

  #cancel() {
    this.#soon = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  save() {
    this.#cancel();
    if (this.#quiet || this.#closed || this.#frozen) return;
    this.#lastSave = Date.now();
    let text;
    try {
      text = JSON.stringify(this.#exportState());
    } catch (e) {
      this.failed(e);
      return;
    }
    attempt(() => this.#store.save(this.#key, text), (e) => (e ? this.failed(e) : this.#ok()));
  }

  remove() {
    this.#cancel();
    attempt(() => this.#store.remove(this.#key), (e) => (e ? this.failed(e) : this.#ok()));
  }

  /** Runs `fn` with saving off (a reset: its callbacks must not store the empty conversation). */
  quietly(fn) {
    this.#quiet = true;
    try {
      fn();
    } finally {
      this.#quiet = false;
    }
  }

  close() {
    this.#cancel();
    this.#closed = true;
  }
}
