// A small, safe Markdown renderer for model output. It builds DOM nodes and only ever sets
// text through text nodes: no HTML from the model reaches the DOM. Links are kept only for
// http: and https: URLs (anything else is shown as plain text).
//
// Supported: paragraphs, headings, fenced code blocks, blockquotes, ordered and unordered
// lists, horizontal rules, and inline `code`, **bold**, *italic*/_italic_, ~~strike~~,
// [links](https://…) and bare https:// URLs. An unclosed fence (mid-stream) renders as code.

/** Returns an http(s) URL string, or null for anything else. */
export function safeHref(raw) {
  try {
    const url = new URL(String(raw).trim(), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

/** Renders Markdown `text` into a new DocumentFragment. */
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  let para = [];

  const flushPara = () => {
    if (para.length) {
      const p = el('p');
      appendInline(p, para.join('\n'));
      frag.appendChild(p);
      para = [];
    }
  };

  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```|~~~)\s*([\w+-]*)/);
    if (fence) {
      flushPara();
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) {
        code.push(lines[i]);
        i += 1;
      }
      i += 1; // closing fence (or end)
      const pre = el('pre');
      const c = el('code');
      if (fence[2]) c.dataset.lang = fence[2];
      c.textContent = code.join('\n');
      pre.appendChild(c);
      frag.appendChild(pre);
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) {
      flushPara();
      const h = el(`h${Math.min(6, heading[1].length + 2)}`);
      appendInline(h, heading[2].replace(/\s#+\s*$/, ''));
      frag.appendChild(h);
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flushPara();
      frag.appendChild(el('hr'));
      i += 1;
      continue;
    }
    if (/^\s*>/.test(line)) {
      flushPara();
      const quoted = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) {
        quoted.push(lines[i].replace(/^\s*>\s?/, ''));
        i += 1;
      }
      const bq = el('blockquote');
      bq.appendChild(renderMarkdown(quoted.join('\n')));
      frag.appendChild(bq);
      continue;
    }
    const item = line.match(/^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/);
    if (item) {
      flushPara();
      const ordered = /\d/.test(item[2]);
      const list = el(ordered ? 'ol' : 'ul');
      if (ordered) {
        const start = parseInt(item[2], 10);
        if (start !== 1) list.start = start;
      }
      while (i < lines.length) {
        const m = lines[i].match(/^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/);
        if (!m || /\d/.test(m[2]) !== ordered) break;
        const body = [m[3]];
        i += 1;
        // Indented continuation lines belong to the item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !/^\s*([-*+]|\d{1,9}[.)])\s+/.test(lines[i])) {
          body.push(lines[i].trim());
          i += 1;
        }
        const li = el('li');
        appendInline(li, body.join('\n'));
        list.appendChild(li);
      }
      frag.appendChild(list);
      continue;
    }
    if (line.trim() === '') {
      flushPara();
      i += 1;
      continue;
    }
    para.push(line);
    i += 1;
  }
  flushPara();
  return frag;
}

// Inline tokens, tried in order at each position.
const INLINE = [
  { re: /^`([^`]+)`/, make: (m) => { const c = el('code'); c.textContent = m[1]; return c; } },
  { re: /^\*\*(?=\S)([\s\S]*?\S)\*\*/, make: (m) => wrap('strong', m[1]) },
  { re: /^__(?=\S)([\s\S]*?\S)__/, make: (m) => wrap('strong', m[1]) },
  { re: /^~~(?=\S)([\s\S]*?\S)~~/, make: (m) => wrap('del', m[1]) },
  { re: /^\*(?=[^\s*])([\s\S]*?[^\s*])\*/, make: (m) => wrap('em', m[1]) },
  { re: /^_(?=[^\s_])([\s\S]*?[^\s_])_(?![\w])/, make: (m) => wrap('em', m[1]) },
  {
    re: /^\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/,
    make: (m) => link(m[2], m[1]),
  },
  { re: /^https?:\/\/[^\s<>()\]]+[^\s<>()\].,;:!?'"]/, make: (m) => link(m[0], null) },
];

function wrap(tag, inner) {
  const node = el(tag);
  appendInline(node, inner);
  return node;
}

function link(href, label) {
  const url = safeHref(href);
  if (!url) {
    // Not http(s): keep the words, drop the link.
    const span = el('span');
    appendInline(span, label ?? href);
    return span;
  }
  const a = el('a');
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  if (label == null) a.textContent = href;
  else appendInline(a, label);
  return a;
}

/** Appends inline Markdown `text` to `parent` as DOM nodes. */
export function appendInline(parent, text) {
  let buf = '';
  const flush = () => {
    if (buf) {
      // A single newline inside a paragraph is a space (CommonMark's soft break), unless the
      // line ends with two spaces or a backslash (a hard break).
      const parts = buf.split(/(?: {2,}|\\)\n/);
      parts.forEach((part, k) => {
        if (k > 0) parent.appendChild(el('br'));
        if (part) parent.appendChild(document.createTextNode(part.replace(/\n/g, ' ')));
      });
      buf = '';
    }
  };
  let i = 0;
  outer: while (i < text.length) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length && /[\\`*_{}[\]()#+\-.!~>]/.test(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if ('`*_~[h'.includes(ch)) {
      const rest = text.slice(i);
      // `_` inside a word (snake_case) is not emphasis.
      const wordBefore = i > 0 && /\w/.test(text[i - 1]);
      for (const tok of INLINE) {
        if (ch === '_' && wordBefore) break;
        if (ch === 'h' && (wordBefore || !tok.re.source.startsWith('^https'))) continue;
        const m = rest.match(tok.re);
        if (m) {
          flush();
          parent.appendChild(tok.make(m));
          i += m[0].length;
          continue outer;
        }
      }
    }
    buf += ch;
    i += 1;
  }
  flush();
}
