// The demo page's governance view, over the development server's proxy path /api/kaplaix:
// the audit timeline of a session, the active policy (editable JSON), and a reviewer panel
// listing Guardian pending actions with Approve / Reject. Open /?reviewer=1 in a second tab to
// play the reviewer. With KAPLAIX_API_KEY set the server forwards only what the package needs
// to Kaplaix, so these views say to use Kaplaix's dashboard instead.

/** Kaplaix attributes of the demo's tools: what policy rules match on. */
export const GOVERNANCE_TOOLS = {
  calculator: { toolType: 'compute', operation: 'evaluate', targetSystem: 'browser' },
  get_current_time: { toolType: 'read', operation: 'read_clock', targetSystem: 'browser' },
  get_page_info: { toolType: 'read', operation: 'read_page', targetSystem: 'browser' },
  set_theme: { toolType: 'ui', operation: 'change_setting', targetSystem: 'browser' },
};

export const PRESETS = {
  'Review the calculator': {
    name: 'Review calculations',
    description: 'A reviewer approves every calculation; everything else is allowed.',
    defaultDecision: 'allowed',
    rules: [
      { id: 'review-compute', decision: 'requires_review', priority: 10, conditions: { toolType: 'compute' }, reason: 'Calculations need a reviewer' },
    ],
  },
  'Deny theme changes': {
    name: 'No theme changes',
    description: 'The agent may not change the theme; calculations need a reviewer.',
    defaultDecision: 'allowed',
    rules: [
      { id: 'deny-theme', decision: 'denied', priority: 5, conditions: { toolName: 'set_theme' }, reason: 'Theme changes are not allowed' },
      { id: 'review-compute', decision: 'requires_review', priority: 10, conditions: { toolType: 'compute' }, reason: 'Calculations need a reviewer' },
    ],
  },
  'Allow everything': {
    name: 'Allow everything',
    description: 'No rules: every tool call is allowed.',
    defaultDecision: 'allowed',
    rules: [],
  },
};

const STATUS_TEXT = { 200: 'completed', 500: 'error', 403: 'denied', 499: 'stopped' };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for') node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function timeOf(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t).toLocaleTimeString([], { hour12: false });
}

class KaplaixError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? `${e.code}: ${e.message}` : `HTTP ${status}`);
    this.status = status;
    this.code = e ? e.code : null;
    this.details = e && Array.isArray(e.details) ? e.details : [];
  }
}

/**
 * Builds the view inside `root` (an empty <aside>).
 * @param {object} o
 * @param {string} o.endpoint the proxy path, e.g. '/api/kaplaix'
 * @param {string} o.agentId
 * @param {string} o.mode the governance mode the page's Agent uses ('off' when none)
 * @param {boolean} o.reviewer reviewer mode (/?reviewer=1): the view fills the page
 * @param {() => string|null} o.getSessionId the current conversation's id
 * @param {HTMLElement} o.root
 * @param {HTMLElement} o.toggle the top bar button that opens the view
 * @param {HTMLElement} o.count its pending-actions counter
 */
export function initGovernance(o) {
  const state = {
    open: false, tab: o.reviewer ? 'reviewer' : 'audit', proxied: false,
    followCurrent: true, sessionId: null, policy: null, dirty: false, timer: null,
  };

  async function kx(method, path, body) {
    const res = await fetch(`${o.endpoint}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!res.ok) {
      const err = new KaplaixError(res.status, json);
      if (err.code === 'NOT_FORWARDED') setProxied();
      throw err;
    }
    return json;
  }

  // ---------- skeleton ----------
  const tabs = {};
  const panels = {};
  const tablist = el('div', { class: 'gov-tabs', role: 'tablist', 'aria-label': 'Governance views' });
  for (const [id, label] of [['audit', 'Audit trail'], ['policy', 'Policy'], ['reviewer', 'Reviewer']]) {
    const b = el('button', { type: 'button', class: 'gov-tab', id: `gov-tab-${id}`, role: 'tab', 'data-tab': id, 'aria-controls': `gov-panel-${id}`, text: label });
    if (id === 'reviewer') {
      b.append(el('span', { class: 'count', id: 'gov-tab-count', hidden: true }));
    }
    b.addEventListener('click', () => selectTab(id));
    tabs[id] = b;
    tablist.append(b);
    panels[id] = el('section', { class: 'gov-panel', id: `gov-panel-${id}`, role: 'tabpanel', 'aria-labelledby': `gov-tab-${id}` });
  }
  const head = el('div', { class: 'gov-head' },
    el('h2', { text: o.reviewer ? 'Reviewer console' : 'Governance' }),
    el('span', { class: 'pill', id: 'gov-mode', title: 'The governance mode of this page\'s agent', text: o.mode === 'off' ? 'governance off' : `mode: ${o.mode}` }),
    el('span', { class: 'spacer' }),
    o.reviewer
      ? el('a', { href: '/', class: 'link-btn', text: 'Open the chat', target: '_blank', rel: 'noopener' })
      : el('a', { href: '/?reviewer=1', class: 'link-btn', id: 'gov-open-reviewer', text: 'Reviewer ↗', target: '_blank', rel: 'noopener', title: 'Open the reviewer console in a new tab' }),
  );
  const proxiedNote = el('p', { class: 'gov-note', id: 'gov-proxied', hidden: true,
    text: 'This server forwards governance to Kaplaix (KAPLAIX_API_KEY is set). It forwards only events, policy checks and the pending-action list, so review actions, edit the policy and read the audit trail in Kaplaix\'s dashboard.' });
  o.root.append(head, tablist, proxiedNote, ...Object.values(panels));

  // Audit trail
  const sessionSelect = el('select', { id: 'gov-session', 'aria-label': 'Session' });
  const timeline = el('ol', { class: 'gov-timeline', id: 'gov-timeline' });
  const timelineEmpty = el('p', { class: 'muted small', id: 'gov-timeline-empty', text: 'No audit events yet.' });
  const auditRefresh = el('button', { type: 'button', class: 'link-btn', text: 'Refresh' });
  auditRefresh.addEventListener('click', () => refreshAudit(true));
  sessionSelect.addEventListener('change', () => {
    state.followCurrent = sessionSelect.value === '';
    state.sessionId = sessionSelect.value || null;
    refreshAudit();
  });
  panels.audit.append(
    el('div', { class: 'gov-row' }, el('label', { for: 'gov-session', class: 'small muted', text: 'Session' }), sessionSelect, auditRefresh),
    el('p', { class: 'small muted', id: 'gov-session-id' }),
    timeline, timelineEmpty,
  );

  // Policy
  const policyMeta = el('p', { class: 'small', id: 'gov-policy-meta', text: 'Loading…' });
  const policyText = el('textarea', { id: 'gov-policy-json', class: 'gov-json', rows: 16, 'aria-label': 'The active policy as JSON' });
  policyText.spellcheck = false;
  const policyErrors = el('ul', { class: 'gov-errors', id: 'gov-policy-errors', role: 'alert' });
  const policySaved = el('span', { class: 'small gov-ok', id: 'gov-policy-saved', role: 'status' });
  const saveBtn = el('button', { type: 'button', class: 'btn btn-primary btn-small', id: 'gov-policy-save', text: 'Save policy' });
  const reloadBtn = el('button', { type: 'button', class: 'btn btn-small', id: 'gov-policy-reload', text: 'Reload' });
  const presets = el('div', { class: 'gov-presets' }, el('span', { class: 'small muted', text: 'Presets:' }));
  for (const name of Object.keys(PRESETS)) {
    const b = el('button', { type: 'button', class: 'gov-preset', text: name });
    b.addEventListener('click', () => {
      policyText.value = JSON.stringify(PRESETS[name], null, 2);
      state.dirty = true;
      showPolicyErrors([]);
    });
    presets.append(b);
  }
  policyText.addEventListener('input', () => { state.dirty = true; policySaved.textContent = ''; });
  saveBtn.addEventListener('click', savePolicy);
  reloadBtn.addEventListener('click', () => { state.dirty = false; refreshPolicy(); });
  panels.policy.append(
    policyMeta,
    el('p', { class: 'small muted', text: 'Rules are tried by priority (lower first); the first whose conditions all match decides: allowed, requires_review or denied. Conditions match toolName, toolType, operation, targetSystem or initiatorType (a string or a list of strings). No rule matches: defaultDecision.' }),
    presets, policyText, policyErrors,
    el('div', { class: 'gov-row' }, saveBtn, reloadBtn, policySaved),
  );

  // Reviewer
  let reviewerName = 'reviewer@demo';
  try { reviewerName = localStorage.getItem('kapa-demo-reviewer') || reviewerName; } catch { /* private mode */ }
  const nameInput = el('input', { id: 'gov-reviewer-name', value: reviewerName, 'aria-label': 'Your reviewer name', autocomplete: 'off' });
  nameInput.addEventListener('change', () => {
    try { localStorage.setItem('kapa-demo-reviewer', nameInput.value.trim()); } catch { /* ignore */ }
  });
  const pendingList = el('ul', { class: 'gov-actions', id: 'gov-pending' });
  const pendingEmpty = el('p', { class: 'muted small', id: 'gov-pending-empty', text: 'Nothing is waiting for a reviewer.' });
  const decidedList = el('ul', { class: 'gov-actions gov-decided', id: 'gov-decided' });
  const reviewError = el('p', { class: 'gov-errors', id: 'gov-review-error', role: 'alert', hidden: true });
  panels.reviewer.append(
    el('div', { class: 'gov-row' }, el('label', { for: 'gov-reviewer-name', class: 'small muted', text: 'Deciding as' }), nameInput),
    el('h3', { text: 'Waiting for a decision' }), pendingList, pendingEmpty, reviewError,
    el('h3', { text: 'Recently decided' }), decidedList,
  );

  // ---------- audit ----------
  function summary(e) {
    const p = e.payload || {};
    switch (e.category) {
      case 'identity':
        return [`${p.agentName ?? '?'} ${p.version ?? ''}`.trim(), `tools: ${(p.capabilities || []).join(', ') || 'none'}`];
      case 'tool_api':
        return [`${p.toolName} → ${p.responseStatus} ${STATUS_TEXT[p.responseStatus] ?? ''}`.trim(), `argumentsHash ${p.argumentsHash}`];
      case 'approval':
        return [`${p.decision} by ${p.approverId}`, p.scope];
      default:
        return [JSON.stringify(p)];
    }
  }

  function renderTimeline(events) {
    timeline.textContent = '';
    for (const e of events) {
      const [main, sub] = summary(e);
      const attrs = [e.toolType, e.operation, e.targetSystem].filter(Boolean).join(' · ');
      const li = el('li', { class: `gov-event cat-${e.category}`, 'data-category': e.category },
        el('time', { text: timeOf(e.sourceTimestamp), title: e.sourceTimestamp }),
        el('span', { class: 'gov-cat', text: e.category }),
        el('span', { class: 'gov-main', text: main }),
      );
      if (e.category === 'tool_api') li.dataset.tool = e.payload.toolName;
      if (e.category === 'approval') li.dataset.decision = e.payload.decision;
      if (sub) li.append(el('code', { class: 'gov-sub', text: sub, title: sub }));
      if (attrs) li.append(el('span', { class: 'gov-attrs small muted', text: attrs }));
      timeline.append(li);
    }
    timelineEmpty.hidden = events.length > 0;
    timelineEmpty.textContent = 'No audit events yet.';
  }

  async function refreshSessions() {
    const page = await kx('GET', `/v1/sessions?limit=20&agentId=${encodeURIComponent(o.agentId)}`);
    const current = o.getSessionId();
    const wanted = state.followCurrent ? '' : state.sessionId;
    sessionSelect.textContent = '';
    sessionSelect.append(el('option', { value: '', text: current ? 'This conversation' : 'Latest session' }));
    for (const s of page.data) {
      sessionSelect.append(el('option', { value: s.id, text: `${s.id} · ${s.eventCount} event${s.eventCount === 1 ? '' : 's'} · ${timeOf(s.updatedAt)}` }));
    }
    sessionSelect.value = wanted ?? '';
    return page.data;
  }

  async function refreshAudit() {
    if (state.proxied) return;
    try {
      const sessions = await refreshSessions();
      const id = state.followCurrent ? (o.getSessionId() || (sessions[0] && sessions[0].id) || null) : state.sessionId;
      document.getElementById('gov-session-id').textContent = id ? `Session ${id}` : 'No session yet: send a message.';
      // A conversation with no audit event yet has no session: no need to ask (and see a 404).
      if (!id || (state.followCurrent && !sessions.some((x) => x.id === id))) { renderTimeline([]); return; }
      try {
        const s = await kx('GET', `/v1/sessions/${encodeURIComponent(id)}`);
        renderTimeline(s.events || []);
      } catch (err) {
        if (err.status === 404) renderTimeline([]);
        else throw err;
      }
    } catch (err) {
      if (!state.proxied) {
        timelineEmpty.hidden = false;
        timelineEmpty.textContent = `Audit trail unavailable: ${err.message}`;
      }
    }
  }

  // ---------- policy ----------
  function editable(p) {
    return { name: p.name, description: p.description ?? undefined, defaultDecision: p.defaultDecision, rules: p.rules };
  }

  function showPolicyErrors(list) {
    policyErrors.textContent = '';
    for (const e of list) {
      policyErrors.append(el('li', {}, e.field ? el('code', { text: e.field }) : null, document.createTextNode(`${e.field ? ' ' : ''}${e.message}`)));
    }
  }

  async function refreshPolicy() {
    if (state.proxied) return;
    try {
      const page = await kx('GET', '/v1/policies?status=active&limit=1');
      const p = page.data[0] || null;
      state.policy = p;
      policyMeta.textContent = '';
      if (p) {
        policyMeta.append(
          'Active policy ', el('strong', { text: p.name }), ` · version ${p.version} · ${p.rules.length} rule${p.rules.length === 1 ? '' : 's'} · default ${p.defaultDecision} · `,
          el('code', { text: p.id }),
        );
        policyMeta.dataset.policyId = p.id;
      } else {
        policyMeta.append('No active policy: every tool call is allowed. Pick a preset or write one, then save.');
        delete policyMeta.dataset.policyId;
      }
      if (!state.dirty) {
        policyText.value = JSON.stringify(p ? editable(p) : PRESETS['Review the calculator'], null, 2);
        showPolicyErrors([]);
      }
    } catch (err) {
      if (!state.proxied) policyMeta.textContent = `Policy unavailable: ${err.message}`;
    }
  }

  async function savePolicy() {
    policySaved.textContent = '';
    let body;
    try {
      body = JSON.parse(policyText.value);
    } catch (err) {
      showPolicyErrors([{ field: null, message: `Not valid JSON: ${err.message}` }]);
      return;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      showPolicyErrors([{ field: null, message: 'The policy must be a JSON object.' }]);
      return;
    }
    saveBtn.disabled = true;
    try {
      const saved = state.policy
        ? await kx('PATCH', `/v1/policies/${encodeURIComponent(state.policy.id)}`, { ...body, status: 'active' })
        : await kx('POST', '/v1/policies', body);
      showPolicyErrors([]);
      state.dirty = false;
      policySaved.textContent = `Saved: version ${saved.version}.`;
      await refreshPolicy();
    } catch (err) {
      showPolicyErrors(err.details.length ? err.details : [{ field: null, message: err.message }]);
    } finally {
      saveBtn.disabled = false;
    }
  }

  // ---------- reviewer ----------
  function setCount(n) {
    for (const c of [o.count, document.getElementById('gov-tab-count')]) {
      if (!c) continue;
      c.hidden = n === 0;
      c.textContent = String(n);
    }
  }

  function actionAttrs(a) {
    return [a.toolType, a.operation, a.targetSystem].filter(Boolean).join(' · ') || 'no attributes';
  }

  function pendingItem(a) {
    const reason = el('input', { class: 'gov-reason', placeholder: 'Reason (optional)', 'aria-label': `Reason for ${a.toolName}` });
    const approve = el('button', { type: 'button', class: 'btn btn-primary btn-small gov-approve', text: 'Approve' });
    const reject = el('button', { type: 'button', class: 'btn btn-small gov-reject', text: 'Reject' });
    const expires = el('span', { class: 'small muted gov-expires' });
    const li = el('li', { class: 'gov-action', 'data-id': a.id, 'data-status': a.status, 'data-tool': a.toolName },
      el('div', { class: 'gov-action-head' }, el('strong', { text: a.toolName }), el('span', { class: 'small muted', text: actionAttrs(a) }), expires),
      el('div', { class: 'small muted', text: `asked ${timeOf(a.createdAt)} · session ${a.sessionId ?? '?'} · rule ${a.ruleId ?? '(default)'}${a.policyReason ? ` · ${a.policyReason}` : ''}` }),
      el('div', { class: 'gov-row' }, reason, approve, reject),
    );
    li._expiresAt = a.expiresAt;
    const decide = async (decision) => {
      approve.disabled = reject.disabled = true;
      reviewError.hidden = true;
      try {
        await kx('POST', `/v1/guardian/pending-actions/${encodeURIComponent(a.id)}/decide`, {
          decision, decidedBy: nameInput.value.trim() || 'reviewer', reason: reason.value.trim() || undefined,
        });
      } catch (err) {
        reviewError.hidden = false;
        reviewError.textContent = `Could not record the decision: ${err.message}`;
      }
      await refreshReviewer();
    };
    approve.addEventListener('click', () => decide('approved'));
    reject.addEventListener('click', () => decide('rejected'));
    return li;
  }

  function tickExpiry() {
    for (const li of pendingList.children) {
      const left = Math.max(0, Math.round((Date.parse(li._expiresAt) - Date.now()) / 1000));
      li.querySelector('.gov-expires').textContent = `expires in ${left >= 60 ? `${Math.floor(left / 60)} min ${left % 60} s` : `${left} s`}`;
    }
  }

  async function refreshReviewer() {
    if (state.proxied) return;
    try {
      const page = await kx('GET', '/v1/guardian/pending-actions?limit=50');
      const pending = page.data.filter((a) => a.status === 'pending');
      const decided = page.data.filter((a) => a.status !== 'pending').slice(0, 8);
      // Keep the nodes of actions still pending (a reason being typed survives a refresh).
      const keep = new Map([...pendingList.children].map((li) => [li.dataset.id, li]));
      const nodes = pending.map((a) => keep.get(a.id) || pendingItem(a));
      [...pendingList.children].forEach((li) => { if (!nodes.includes(li)) li.remove(); });
      nodes.forEach((n, i) => { if (pendingList.children[i] !== n) pendingList.insertBefore(n, pendingList.children[i] ?? null); });
      pendingEmpty.hidden = pending.length > 0;
      tickExpiry();
      decidedList.textContent = '';
      for (const a of decided) {
        decidedList.append(el('li', { class: `gov-action gov-${a.status}`, 'data-id': a.id, 'data-status': a.status },
          el('div', { class: 'gov-action-head' }, el('strong', { text: a.toolName }), el('span', { class: `badge gov-badge-${a.status}`, text: a.status }),
            el('span', { class: 'small muted', text: a.decidedBy ? `by ${a.decidedBy}` : '' }),
            el('time', { class: 'small muted gov-expires', text: timeOf(a.decidedAt), title: a.decidedAt })),
          a.reason ? el('div', { class: 'small muted', text: `“${a.reason}”` }) : null,
        ));
      }
      if (!decided.length) decidedList.append(el('li', { class: 'muted small', text: 'No decisions yet.' }));
      setCount(pending.length);
    } catch (err) {
      if (!state.proxied) {
        reviewError.hidden = false;
        reviewError.textContent = `Pending actions unavailable: ${err.message}`;
      }
    }
  }

  // ---------- wiring ----------
  function setProxied() {
    if (state.proxied) return;
    state.proxied = true;
    proxiedNote.hidden = false;
    const link = document.getElementById('gov-open-reviewer');
    if (link) link.hidden = true;
    for (const p of Object.values(panels)) p.hidden = true;
    tablist.hidden = true;
  }

  function refresh() {
    if (state.tab === 'audit') return refreshAudit();
    if (state.tab === 'policy') return refreshPolicy();
    return refreshReviewer();
  }

  function selectTab(id) {
    state.tab = id;
    for (const [k, b] of Object.entries(tabs)) {
      b.setAttribute('aria-selected', String(k === id));
      b.classList.toggle('active', k === id);
      panels[k].hidden = k !== id || state.proxied;
    }
    refresh();
  }

  function schedule() {
    clearTimeout(state.timer);
    if (state.proxied) return;
    const visible = document.visibilityState === 'visible';
    // The reviewer console and an open panel poll; otherwise only the pending count, slowly.
    const delay = !visible ? 10000 : (state.open ? (state.tab === 'policy' ? 5000 : 1500) : 4000);
    state.timer = setTimeout(async () => {
      if (document.visibilityState === 'visible' && !state.proxied) {
        if (state.open) await refresh();
        if (!state.open || state.tab !== 'reviewer') await refreshReviewer();
      }
      schedule();
    }, delay);
  }

  function setOpen(open) {
    state.open = open;
    o.root.hidden = !open;
    o.toggle.setAttribute('aria-expanded', String(open));
    document.querySelector('.app').classList.toggle('gov-open', open);
    if (open) refresh();
    schedule();
  }

  o.toggle.addEventListener('click', () => setOpen(!state.open));
  setInterval(tickExpiry, 1000);
  document.addEventListener('visibilitychange', schedule);
  // Which mode is the server in? A proxy to Kaplaix answers NOT_FORWARDED here (a 404 in the
  // console, once); only then would polling the forwarded pending-actions list spend Kaplaix calls.
  kx('GET', '/v1/policies?limit=1').catch(() => {}).finally(() => {
    selectTab(state.tab);
    setOpen(o.reviewer || new URLSearchParams(location.search).get('governance-view') === '1');
    refreshReviewer();
  });

  return {
    /** Lets the view follow the agent: events are sent in the background, so look a bit later. */
    onAgentEvent(event) {
      const t = event.type;
      if (t === 'governance_decision' || t === 'tool_executed' || t === 'tool_approved' || t === 'tool_denied'
        || t === 'response_completed' || t === 'conversation_reset' || t === 'thread_resumed') {
        setTimeout(() => { if (state.open) refresh(); refreshReviewer(); }, 400);
      }
    },
    refresh,
    open: () => setOpen(true),
    selectTab,
  };
}
