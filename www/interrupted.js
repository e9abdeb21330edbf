// Which answers were cut off by leaving the page (demo UI only). The package restores such an
// answer with the text it had and the turn over (STATE.md); the message itself carries no
// "stopped" flag, so the demo remembers, per tab, which message was streaming when the page
// went away and shows it as stopped on the next page.

const KEY = 'kapa-demo:interrupted';

function read() {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function write(list) {
  try {
    if (list.length) sessionStorage.setItem(KEY, JSON.stringify(list));
    else sessionStorage.removeItem(KEY);
  } catch { /* storage disabled: the mark is only lost */ }
}

/** Indexes of the messages that were streaming when an earlier page of this tab went away. */
export const interrupted = new Set(read());

/** Remembers the streaming answer when the page goes away; forgets all on a reset. */
export function trackInterruptions(agent) {
  // beforeunload: before the unload cuts the stream (pagehide can come after that).
  const leaving = () => {
    if (!agent.getIsStreaming()) return;
    const messages = agent.getMessages();
    const last = messages[messages.length - 1];
    const waiting = (last?.blocks ?? []).some((b) => (b.toolCalls ?? []).some((c) => c.status === 'approval_requested'));
    // An approval wait goes on on the next page: not an interruption.
    if (last?.role === 'assistant' && !waiting) write([...new Set([...read(), messages.length - 1])]);
  };
  addEventListener('beforeunload', leaving);
  addEventListener('pagehide', leaving);
}

export function forgetInterruptions() {
  interrupted.clear();
  write([]);
}

/** Adds (once) the "stopped" mark to the node of message `index` when it was interrupted. */
export function markInterrupted(node, index) {
  if (!interrupted.has(index) || node.querySelector('.interrupted-note')) return;
  node.classList.add('msg-interrupted');
  const note = document.createElement('p');
  note.className = 'interrupted-note small';
  note.style.cssText = 'color:#92400e;background:#fef3c7;border-radius:8px;padding:4px 10px;margin:6px 0 0';
  note.textContent = 'Stopped: the page was left before this answer finished';
  node.append(note);
}
