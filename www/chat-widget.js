// The chat on the docs pages (/docs/...): a panel with the same agent as the demo page —
// same project, tools and governance — and `persist: 'session'`, so the conversation started
// on the demo page (or another docs page) is here too, approvals included.
import { Agent, createToolHelper } from '/pkg/governance.js';
import { renderMarkdown, safeHref } from './markdown.js';
import { makeTools } from './tools.js';
import { GOVERNANCE_TOOLS } from './governance.js';
import { trackInterruptions, forgetInterruptions, markInterrupted } from './interrupted.js';

const OPEN_KEY = 'kapa-demo:widget-open';

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k.includes('-')) node.setAttribute(k, v);
    else if (v !== undefined) node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** Same-origin links (the docs) open in this tab, so the conversation comes along. */
function sourceLink(s) {
  const href = safeHref(s.sourceUrl);
  if (!href) return el('span', {}, s.title || s.sourceUrl);
  const a = el('a', { href }, s.title || s.sourceUrl);
  if (new URL(href, location.href).origin !== location.origin) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  return a;
}

const STATUS = {
  pending: 'Pending', approval_requested: 'Needs approval', executing: 'Running',
  completed: 'Done', error: 'Error', denied: 'Denied', stopped: 'Stopped',
};

async function mount(root) {
  const config = await fetch('/api/config').then((r) => r.json()).catch(() => ({ mode: 'embedded' }));
  const baseUrl = config.mode === 'kapa' && config.baseUrl ? config.baseUrl : location.origin;

  const list = el('div', { class: 'kw-messages', 'aria-live': 'polite' });
  const empty = el('p', { class: 'kw-empty' }, 'Ask about these docs. A conversation started on the demo page continues here.');
  const input = el('textarea', { rows: 2, placeholder: 'Ask a question… (Enter to send)' });
  const send = el('button', { type: 'submit', class: 'kw-btn kw-primary' }, 'Send');
  const stop = el('button', { type: 'button', class: 'kw-btn', hidden: true }, 'Stop');
  const form = el('form', { class: 'kw-composer' }, input, send, stop);
  const reset = el('button', { type: 'button', class: 'kw-link' }, 'New chat');
  const close = el('button', { type: 'button', class: 'kw-link', 'aria-label': 'Close the chat' }, '✕');
  const panel = el('section', { class: 'kw-panel', 'aria-label': 'Ask the docs' },
    el('header', { class: 'kw-head' }, el('strong', {}, 'Ask the docs'), el('span', { class: 'kw-spacer' }), reset, close),
    empty, list, form);
  const toggle = el('button', { type: 'button', class: 'kw-toggle', 'aria-expanded': 'false' }, 'Ask AI');
  root.append(panel, toggle);

  const setOpen = (open) => {
    root.classList.toggle('kw-open', open);
    toggle.setAttribute('aria-expanded', String(open));
    try { sessionStorage.setItem(OPEN_KEY, open ? '1' : '0'); } catch { /* ignore */ }
    if (open) {
      list.scrollTop = list.scrollHeight; // a hidden list could not scroll: show the latest
      input.focus({ preventScroll: true });
    }
  };
  toggle.addEventListener('click', () => setOpen(!root.classList.contains('kw-open')));
  close.addEventListener('click', () => setOpen(false));

  const rendered = new WeakMap();
  let agent;

  function toolCard(call) {
    const held = call.status === 'approval_requested' && call.guardian?.status === 'pending';
    const card = el('div', { class: `kw-tool kw-${call.status}` },
      el('span', { class: 'kw-tool-name' }, call.displayName || call.name),
      el('span', { class: 'kw-badge' }, held ? 'Waiting for a reviewer' : STATUS[call.status] ?? call.status));
    card.dataset.toolName = call.name;
    card.dataset.status = call.status;
    if (call.arguments && Object.keys(call.arguments).length) {
      card.append(el('code', { class: 'kw-args' }, JSON.stringify(call.arguments)));
    }
    if (call.status === 'approval_requested' && !held) {
      card.append(el('div', { class: 'kw-approval' },
        el('span', {}, 'Allow this tool to run?'),
        el('button', { type: 'button', class: 'kw-btn kw-primary', onclick: () => agent.approveToolCall(call.id) }, 'Allow'),
        el('button', { type: 'button', class: 'kw-btn', onclick: () => agent.rejectToolCall(call.id) }, 'Deny')));
    }
    if (call.error) card.append(el('p', { class: 'kw-error' }, call.error));
    if (call.sources?.length) {
      card.append(el('ul', { class: 'kw-sources' }, ...call.sources.map((s) => el('li', {}, sourceLink(s)))));
    }
    return card;
  }

  function messageNode(m) {
    if (m.role === 'user') return el('article', { class: 'kw-msg kw-user' }, el('div', { class: 'kw-bubble' }, m.content));
    const node = el('article', { class: `kw-msg kw-assistant${m.isError ? ' kw-failed' : ''}` });
    for (const b of m.blocks ?? []) {
      if (b.type === 'text') node.append(el('div', { class: 'kw-text' }, renderMarkdown(b.content)));
      else node.append(el('div', { class: 'kw-tools' }, ...(b.toolCalls ?? []).map(toolCard)));
    }
    // Same-origin links in the answer's text stay in this tab too.
    for (const a of node.querySelectorAll('.kw-text a[target="_blank"]')) {
      if (new URL(a.href, location.href).origin === location.origin) a.removeAttribute('target');
    }
    return node;
  }

  function render(messages) {
    empty.hidden = messages.length > 0;
    const nodes = messages.map((m, i) => {
      let node = rendered.get(m);
      if (!node) {
        node = messageNode(m);
        rendered.set(m, node);
      }
      markInterrupted(node, i);
      return node;
    });
    list.replaceChildren(...nodes);
    list.scrollTop = list.scrollHeight;
    if (messages.length && !root.dataset.seen) {
      root.dataset.seen = '1';
      let open = null;
      try { open = sessionStorage.getItem(OPEN_KEY); } catch { /* ignore */ }
      if (open !== '0') setOpen(true);
    }
  }

  function setStreaming(on) {
    send.hidden = on;
    stop.hidden = !on;
    root.classList.toggle('kw-streaming', on);
  }

  agent = new Agent({
    projectId: config.projectId || 'demo',
    integrationId: config.integrationId || 'demo-integration',
    baseUrl,
    tools: makeTools(createToolHelper),
    context: { visitor: 'docs page' },
    builtinToolMeta: { search_knowledge_base: { displayName: 'Search the docs' } },
    governance: { endpoint: '/api/kaplaix', agentId: 'kapa-demo', mode: 'require_approval', tools: GOVERNANCE_TOOLS, pollIntervalMs: 1500 },
    persist: 'session',
    getSessionToken: async () => {
      const res = await fetch('/api/session', { method: 'POST' });
      if (!res.ok) throw new Error(`Session creation failed (${res.status})`);
      return res.json();
    },
    onMessagesChange: render,
    onStreamingChange: setStreaming,
    onEvent: (e) => {
      if (e.type === 'conversation_reset') forgetInterruptions();
      if (e.type === 'state_not_saved' || e.type === 'state_discarded') console.warn(`chat: ${e.type}`, e.data);
    },
  });
  window.__agent = agent; // for the console and the end-to-end tests
  trackInterruptions(agent);
  render(agent.getMessages());
  setStreaming(agent.getIsStreaming());

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim() || agent.getIsStreaming()) return;
    input.value = '';
    agent.sendMessage(text).catch((err) => console.error(err));
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  stop.addEventListener('click', () => agent.stopGeneration());
  reset.addEventListener('click', () => agent.resetConversation());
  document.body.classList.add('kw-ready');
}

const root = document.getElementById('kapa-chat');
if (root) mount(root).catch((e) => console.error('chat widget:', e));
