// The demo page: a plain ES module using the package exactly as a page would.
// The governance entry: this page uses the `governance` option (www/governance.js).
import { Agent, createToolHelper } from '/pkg/governance.js';
import { MarkdownView, safeHref } from './markdown.js';
import { makeTools, setTheme, getTheme } from './tools.js';
import { initGovernance, GOVERNANCE_TOOLS } from './governance.js';
import { trackInterruptions, forgetInterruptions, markInterrupted } from './interrupted.js';

const $ = (id) => document.getElementById(id);
const els = {
  messages: $('messages'), welcome: $('welcome'), examples: $('examples'), status: $('status'),
  form: $('composer'), input: $('input'), send: $('send'), stop: $('stop'), newChat: $('new-chat'),
  threads: $('threads'), threadsEmpty: $('threads-empty'), more: $('more-threads'),
  refresh: $('refresh-history'), log: $('event-log'), clearLog: $('clear-log'),
  threadId: $('thread-id'), framing: $('framing'), mode: $('mode'),
  themeToggle: $('theme-toggle'), sidebar: $('sidebar'), toggleSidebar: $('toggle-sidebar'),
};

const EXAMPLES = [
  'How do I run the development server?',
  'What time is it?',
  'Calculate (17 + 25) * 3 / 2',
  'What page am I on, and what time is it?',
  'Switch to the dark theme',
  'How does fault injection work?',
];

// ---------- theme ----------
try {
  const saved = localStorage.getItem('kapa-demo-theme');
  if (saved === 'dark' || saved === 'light') setTheme(saved);
  else if (matchMedia('(prefers-color-scheme: dark)').matches) setTheme('dark');
} catch { /* ignore */ }
els.themeToggle.addEventListener('click', () => setTheme(getTheme() === 'dark' ? 'light' : 'dark'));

// ---------- configuration ----------
const config = await fetch('/api/config').then((r) => r.json()).catch(() => ({ mode: 'embedded' }));
const params = new URLSearchParams(location.search);
const framing = params.get('framing') === 'record' ? 'record' : 'sse';
let baseUrl = location.origin;
if (config.mode === 'kapa' && config.baseUrl) {
  baseUrl = config.baseUrl;
} else if (framing === 'record') {
  // The embedded backend answers in Kapa's record framing under this prefix.
  baseUrl = `${location.origin}/framing/record`;
}
els.framing.textContent = config.mode === 'kapa' ? 'kapa' : framing;
els.mode.textContent = config.mode === 'kapa' ? 'Kapa API' : 'embedded backend';

// ---------- event log ----------
function logEvent(type, data, kind = 'event') {
  const li = document.createElement('li');
  li.className = `log-${kind}`;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  const name = document.createElement('span');
  name.className = 'log-type';
  name.textContent = type;
  li.append(time, name);
  if (data !== undefined && !(data && typeof data === 'object' && Object.keys(data).length === 0)) {
    const pre = document.createElement('code');
    pre.className = 'log-data';
    pre.textContent = JSON.stringify(data);
    li.append(pre);
  }
  li.dataset.type = type;
  els.log.prepend(li);
  while (els.log.children.length > 300) els.log.lastChild.remove();
}
els.clearLog.addEventListener('click', () => { els.log.textContent = ''; });

// ---------- governance (Kaplaix, through the server's /api/kaplaix proxy path) ----------
// ?governance=off|log_only|block|require_approval (default require_approval); ?reviewer=1 opens
// the reviewer console.
const govParam = params.get('governance');
const govMode = ['off', 'log_only', 'block', 'require_approval'].includes(govParam) ? govParam : 'require_approval';
const reviewerMode = params.get('reviewer') === '1';
document.body.classList.toggle('reviewer-mode', reviewerMode);
let governanceView = null;

// ---------- the agent ----------
let tokenFetches = 0;
const agent = new Agent({
  projectId: config.projectId || 'demo',
  integrationId: config.integrationId || 'demo-integration',
  baseUrl,
  enableHistory: true,
  persist: 'session', // the conversation follows the reader into the docs pages (chat-widget.js)
  tools: makeTools(createToolHelper),
  context: { visitor: 'demo page' },
  builtinToolMeta: { search_knowledge_base: { displayName: 'Search the docs' } },
  governance: govMode === 'off' ? undefined : {
    endpoint: '/api/kaplaix',
    agentId: 'kapa-demo',
    mode: govMode,
    tools: GOVERNANCE_TOOLS,
    pollIntervalMs: 1500,
  },
  getSessionToken: async () => {
    const res = await fetch('/api/session', { method: 'POST' });
    if (!res.ok) throw new Error(`Session creation failed (${res.status})`);
    const session = await res.json();
    tokenFetches += 1;
    // The token itself is never shown or logged.
    logEvent('session_token', { fetch: tokenFetches, expires_at: session.expires_at ?? session.expiresAt }, 'local');
    return session;
  },
  onMessagesChange: (messages) => render(messages),
  onStreamingChange: (streaming) => setStreaming(streaming),
  onThreadIdChange: (id) => {
    els.threadId.textContent = id ?? 'none';
    highlightThread(id);
  },
  onEvent: (event) => {
    logEvent(event.type, event.data);
    if (event.type === 'conversation_reset') forgetInterruptions();
    governanceView?.onAgentEvent(event);
    if (['response_completed', 'response_error', 'generation_stopped', 'thread_deleted'].includes(event.type)) {
      loadThreads();
    }
  },
});
window.__agent = agent; // for the console and the end-to-end tests
trackInterruptions(agent);
governanceView = initGovernance({
  endpoint: '/api/kaplaix', agentId: 'kapa-demo', mode: govMode, reviewer: reviewerMode,
  getSessionId: () => agent.getThreadId(),
  root: $('governance'), toggle: $('gov-toggle'), count: $('gov-count'),
});
window.__governance = governanceView;

// ---------- rendering ----------
const rendered = new WeakMap(); // message object → its DOM node (unchanged messages keep theirs)
// `${message index}:${block index}` → the MarkdownView of that text block. A streaming message
// is a new object on every read; its text blocks keep their view, which parses only what is
// new, so rendering an answer costs time linear in its length.
const views = new Map();

function render(messages) {
  els.welcome.hidden = messages.length > 0;
  const nodes = messages.map((m, i) => {
    let node = rendered.get(m);
    if (!node) {
      node = m.role === 'user' ? renderUser(m) : renderAssistant(m, i);
      rendered.set(m, node);
    }
    markInterrupted(node, i);
    return node;
  });
  for (const key of views.keys()) {
    if (Number(key.split(':')[0]) >= messages.length) views.delete(key);
  }
  // Keep the welcome section first, then exactly these nodes in order.
  const wanted = [els.welcome, ...nodes];
  [...els.messages.children].forEach((child) => { if (!wanted.includes(child)) child.remove(); });
  wanted.forEach((node, i) => {
    if (els.messages.children[i] !== node) els.messages.insertBefore(node, els.messages.children[i] ?? null);
  });
  updateTyping();
  scrollToEnd();
}

function renderUser(m) {
  const div = document.createElement('article');
  div.className = 'msg msg-user';
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  bubble.textContent = m.content;
  div.append(bubble);
  return div;
}

function renderAssistant(m, index) {
  const div = document.createElement('article');
  div.className = `msg msg-assistant${m.isError ? ' msg-error' : ''}`;
  if (m.isError) {
    const banner = document.createElement('div');
    banner.className = 'error-banner';
    banner.textContent = '⚠ The answer failed';
    div.append(banner);
  }
  (m.blocks ?? []).forEach((block, b) => {
    if (block.type === 'text') {
      const key = `${index}:${b}`;
      let view = views.get(key);
      if (!view) views.set(key, (view = new MarkdownView()));
      view.update(block.content);
      div.append(view.element);
    } else if (block.type === 'tool_calls') {
      const group = document.createElement('div');
      group.className = 'tool-calls';
      for (const call of block.toolCalls ?? []) group.append(renderToolCall(call));
      div.append(group);
    }
  });
  return div;
}

const STATUS_LABEL = {
  pending: 'Pending', approval_requested: 'Needs approval', executing: 'Running',
  completed: 'Done', error: 'Error', denied: 'Denied', stopped: 'Stopped',
};

function renderToolCall(call) {
  const card = document.createElement('section');
  card.className = `tool-card status-${call.status}`;
  card.dataset.toolName = call.name;
  card.dataset.status = call.status;

  const head = document.createElement('header');
  const title = document.createElement('span');
  title.className = 'tool-name';
  title.textContent = call.displayName || call.name;
  const raw = document.createElement('code');
  raw.className = 'tool-raw';
  raw.textContent = call.name;
  // Held by governance for a Kaplaix reviewer (GOVERNANCE.md): not the user's to approve.
  const heldForReviewer = call.status === 'approval_requested' && call.guardian?.status === 'pending';
  if (call.guardian) card.dataset.guardian = call.guardian.status;
  const badge = document.createElement('span');
  badge.className = `badge badge-${call.status}`;
  badge.textContent = heldForReviewer ? 'Waiting for a reviewer' : (STATUS_LABEL[call.status] ?? call.status);
  head.append(title, raw, badge);
  if (typeof call.durationMs === 'number') {
    const d = document.createElement('span');
    d.className = 'duration';
    d.textContent = call.durationMs < 1000 ? `${Math.round(call.durationMs)} ms` : `${(call.durationMs / 1000).toFixed(1)} s`;
    head.append(d);
  }
  card.append(head);

  const args = call.arguments && Object.keys(call.arguments).length ? call.arguments : null;
  if (args) card.append(kv('Arguments', JSON.stringify(args, null, 2)));

  if (heldForReviewer) {
    const wait = document.createElement('div');
    wait.className = 'approval guardian-wait';
    const q = document.createElement('span');
    q.textContent = 'Waiting for a reviewer to approve this call…';
    const id = document.createElement('code');
    id.className = 'guardian-id';
    id.textContent = call.guardian.pendingActionId;
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'btn btn-small';
    cancel.textContent = 'Cancel';
    cancel.title = 'Do not run this call';
    cancel.addEventListener('click', () => agent.rejectToolCall(call.id));
    wait.append(q, id, cancel);
    card.append(wait);
  } else if (call.status === 'approval_requested') {
    const actions = document.createElement('div');
    actions.className = 'approval';
    const q = document.createElement('span');
    q.textContent = 'Allow this tool to run?';
    const allow = document.createElement('button');
    allow.type = 'button';
    allow.className = 'btn btn-primary btn-small';
    allow.textContent = 'Allow';
    allow.addEventListener('click', () => agent.approveToolCall(call.id));
    const deny = document.createElement('button');
    deny.type = 'button';
    deny.className = 'btn btn-small';
    deny.textContent = 'Deny';
    deny.addEventListener('click', () => agent.rejectToolCall(call.id));
    actions.append(q, allow, deny);
    card.append(actions);
  }
  if (call.guardian && call.guardian.status !== 'pending') {
    const note = document.createElement('p');
    note.className = `guardian-note small guardian-${call.guardian.status}`;
    note.textContent = `Reviewer: ${call.guardian.status}`;
    card.append(note);
  }
  if (call.error) {
    const e = kv('Error', call.error);
    e.classList.add('tool-error');
    card.append(e);
  } else if (call.result !== undefined && call.name !== 'search_knowledge_base') {
    card.append(kv('Result', JSON.stringify(call.result, null, 2)));
  }
  if (call.sources && call.sources.length) {
    const list = document.createElement('ul');
    list.className = 'sources';
    for (const s of call.sources) {
      const li = document.createElement('li');
      const href = safeHref(s.sourceUrl);
      const node = document.createElement(href ? 'a' : 'span');
      if (href) {
        node.href = href;
        // The docs (same origin) open in this tab: the conversation follows (persist).
        if (new URL(href, location.href).origin !== location.origin) {
          node.target = '_blank';
          node.rel = 'noopener noreferrer';
        }
      }
      node.textContent = s.title || s.sourceUrl;
      li.append(node);
      list.append(li);
    }
    card.append(list);
  }
  return card;
}

function kv(label, text) {
  const wrap = document.createElement('div');
  wrap.className = 'kv';
  const l = document.createElement('span');
  l.className = 'kv-label';
  l.textContent = label;
  const pre = document.createElement('pre');
  pre.textContent = text;
  wrap.append(l, pre);
  return wrap;
}

let typing = null;
function updateTyping() {
  const msgs = agent.getMessages();
  const last = msgs[msgs.length - 1];
  const show = agent.getIsStreaming() && (!last || last.role === 'user');
  if (show && !typing) {
    typing = document.createElement('div');
    typing.className = 'msg msg-assistant typing';
    typing.setAttribute('aria-label', 'The agent is thinking');
    typing.append(...[0, 1, 2].map(() => document.createElement('span')));
  }
  if (show) els.messages.append(typing);
  else if (typing) typing.remove();
}

function scrollToEnd() {
  const nearEnd = els.messages.scrollHeight - els.messages.scrollTop - els.messages.clientHeight < 160;
  if (nearEnd || agent.getIsStreaming()) els.messages.scrollTop = els.messages.scrollHeight;
}

function setStreaming(streaming) {
  // A finished answer is rendered once more as a whole (see MarkdownView.finish).
  if (!streaming) for (const view of views.values()) view.finish();
  document.body.classList.toggle('streaming', streaming);
  els.send.hidden = streaming;
  els.stop.hidden = !streaming;
  updateTyping();
}

function showStatus(text, kind = 'info') {
  els.status.hidden = !text;
  els.status.className = `status status-${kind}`;
  els.status.textContent = text ?? '';
}

// ---------- composer ----------
async function send(text) {
  if (!text.trim() || agent.getIsStreaming()) return;
  els.input.value = '';
  autosize();
  showStatus(null);
  closeSidebar();
  await agent.sendMessage(text);
}

els.form.addEventListener('submit', (e) => {
  e.preventDefault();
  send(els.input.value);
});
els.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send(els.input.value);
  }
});
function autosize() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight, 200)}px`;
}
els.input.addEventListener('input', autosize);
els.stop.addEventListener('click', () => agent.stopGeneration());
els.newChat.addEventListener('click', () => {
  agent.resetConversation();
  showStatus(null);
  els.input.focus();
});

for (const text of EXAMPLES) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'example';
  b.setAttribute('role', 'listitem');
  b.textContent = text;
  b.addEventListener('click', () => send(text));
  els.examples.append(b);
}

// ---------- history ----------
let nextCursor = null;

function relTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

function threadItem(t) {
  const li = document.createElement('li');
  li.className = 'thread';
  li.dataset.threadId = t.id;
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'thread-open';
  const title = document.createElement('span');
  title.className = 'thread-title';
  title.textContent = t.title || 'Untitled';
  const meta = document.createElement('span');
  meta.className = 'thread-meta';
  meta.textContent = `${relTime(t.updatedAt)} · ${t.messageCount} message${t.messageCount === 1 ? '' : 's'}`;
  open.append(title, meta);
  open.addEventListener('click', async () => {
    try {
      await agent.resumeThread(t.id);
      showStatus(null);
      closeSidebar();
    } catch (err) {
      showStatus(`Could not open that conversation: ${err.message}`, 'error');
    }
  });
  const del = document.createElement('button');
  del.type = 'button';
  del.className = 'thread-delete icon-btn';
  del.title = 'Delete this conversation';
  del.setAttribute('aria-label', `Delete "${t.title}"`);
  del.textContent = '×';
  del.addEventListener('click', async () => {
    try {
      await agent.deleteThread(t.id);
      li.remove();
    } catch (err) {
      showStatus(`Could not delete: ${err.message}`, 'error');
    }
  });
  li.append(open, del);
  return li;
}

let loading = null;
async function loadThreads(more = false) {
  if (loading && !more) return loading;
  const run = (async () => {
    try {
      const page = await agent.listThreads(more && nextCursor ? { limit: 20, cursor: nextCursor } : { limit: 20 });
      if (!more) els.threads.textContent = '';
      for (const t of page.threads) els.threads.append(threadItem(t));
      nextCursor = page.nextCursor ?? null;
      els.more.hidden = !nextCursor;
      els.threadsEmpty.hidden = els.threads.children.length > 0;
      els.threadsEmpty.textContent = 'No conversations yet.';
      highlightThread(agent.getThreadId());
    } catch (err) {
      els.threadsEmpty.hidden = false;
      els.threadsEmpty.textContent = err && err.name === 'SessionWithoutOwnerError'
        ? 'History is not available for this session.'
        : `History unavailable: ${err.message}`;
    }
  })();
  loading = run;
  await run;
  loading = null;
}

function highlightThread(id) {
  for (const li of els.threads.children) li.classList.toggle('current', li.dataset.threadId === id);
}

els.more.addEventListener('click', () => loadThreads(true));
els.refresh.addEventListener('click', () => loadThreads());

// ---------- sidebar on phones ----------
function closeSidebar() {
  els.sidebar.classList.remove('open');
  els.toggleSidebar.setAttribute('aria-expanded', 'false');
}
els.toggleSidebar.addEventListener('click', () => {
  const open = !els.sidebar.classList.contains('open');
  els.sidebar.classList.toggle('open', open);
  els.toggleSidebar.setAttribute('aria-expanded', String(open));
});

// A conversation restored by persist (the constructor calls no callback): show it.
render(agent.getMessages());
setStreaming(agent.getIsStreaming());
els.threadId.textContent = agent.getThreadId() ?? 'none';
document.body.classList.add('ready');
loadThreads();
els.input.focus();
