// The history error classes: real Error subclasses, so `instanceof` and `name` work. The
// Rust side makes its errors through makeError (registered at load, see agent.js).

export class SessionWithoutOwnerError extends Error {
  constructor(message = 'This session has no owner: history needs a session token created with an external_owner_id') {
    super(message);
    this.name = 'SessionWithoutOwnerError';
  }
}

export class HistoryDisabledError extends Error {
  constructor(message = 'History is disabled: pass enableHistory: true to the Agent') {
    super(message);
    this.name = 'HistoryDisabledError';
  }
}

export class ThreadNotFoundError extends Error {
  constructor(threadId) {
    super(`Thread not found: ${threadId}`);
    this.name = 'ThreadNotFoundError';
    this.threadId = threadId;
  }
}

export function makeError(kind, detail) {
  switch (kind) {
    case 'session_without_owner': return new SessionWithoutOwnerError();
    case 'history_disabled': return new HistoryDisabledError();
    case 'thread_not_found': return new ThreadNotFoundError(detail);
    case 'type': return new TypeError(detail);
    default: return new Error(detail);
  }
}
