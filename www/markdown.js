// Markdown for model output, through the libraries Kapa's own examples use: marked (with
// GitHub-flavoured Markdown: tables, strikethrough, autolinks) turns the text into HTML, and
// DOMPurify turns that HTML into DOM nodes with nothing but Markdown's own elements. Both are
// npm packages (www/package.json) the development server serves at /vendor/; no build step.
//
// Safety, in two layers: raw HTML in the text is never markup (marked's `html` renderer
// escapes it, so it shows as text), images show as their alt text, and DOMPurify keeps only the
// allow-listed tags and attributes; links are kept only for http: and https: URLs (anything
// else loses its href) and open in a new tab.
//
// Streaming: `MarkdownView` renders a growing text in time linear in its length. Blocks that
// can no longer change (followed by a blank line and the start of another top-level block,
// outside a code fence) are rendered once and kept; only the last, still-growing block is
// rendered again on each read. `finish()` renders the whole text once more, so constructs
// that span blocks (loose lists, reference links) come out exactly as marked makes them.

import { Marked } from '/vendor/marked/lib/marked.esm.js';
import DOMPurify from '/vendor/dompurify/dist/purify.es.mjs';

/** Returns an http(s) URL string, or null for anything else. */
export function safeHref(raw) {
  try {
    const url = new URL(String(raw).trim(), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

const escapeHtml = (s) => String(s)
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Raw HTML blocks and inline tags are shown as text, never parsed as markup.
    html: ({ text }) => escapeHtml(text),
    // No images from model output (no requests to hosts it names): the alt text stays.
    image: ({ text }) => escapeHtml(text),
  },
});

const ALLOWED_TAGS = [
  'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code',
  'em', 'strong', 'del', 's', 'a', 'ul', 'ol', 'li',
  'table', 'thead', 'tbody', 'tr', 'th', 'td',
];
const ALLOWED_ATTR = ['href', 'title', 'align', 'start', 'class'];

const purify = DOMPurify(window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const url = node.hasAttribute('href') ? safeHref(node.getAttribute('href')) : null;
    if (url) {
      node.setAttribute('href', url);
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    } else {
      node.removeAttribute('href');
    }
  }
  if (node.hasAttribute('class') && !/^language-[\w-]+$/.test(node.getAttribute('class'))) {
    node.removeAttribute('class');
  }
});

const PURIFY_OPTIONS = {
  ALLOWED_TAGS,
  ALLOWED_ATTR,
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

/** Renders Markdown `text` into a new DocumentFragment of safe DOM nodes. */
export function renderMarkdown(text) {
  const html = marked.parse(String(text ?? ''), { async: false }).trim();
  return purify.sanitize(html, PURIFY_OPTIONS);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const LIST_ITEM = /^ {0,3}([-*+]|\d{1,9}[.)])(\s|$)/;

/**
 * Where `text` (which starts outside a code fence) can be cut so that nothing after the cut
 * can change how the part before it renders: the start of the last top-level block that
 * follows a blank line, outside a fence, and is not indented, a list item, a table row or a
 * reference definition (those can belong to the block before). 0 when there is none.
 */
export function stableCut(text) {
  let cut = 0;
  let fence = null;
  let blank = false;
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break; // the last line is still growing
    const line = text.slice(pos, nl);
    if (fence) {
      const m = line.match(FENCE);
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && !line.slice(m[0].length).trim()) fence = null;
    } else if (!line.trim()) {
      blank = true;
    } else {
      if (blank && !/^\s/.test(line) && !LIST_ITEM.test(line) && !line.startsWith('|') && !/^\[[^\]]+\]:/.test(line)) {
        cut = pos;
      }
      blank = false;
      const m = line.match(FENCE);
      if (m) fence = m[1];
    }
    pos = nl + 1;
  }
  return cut;
}

/** A Markdown text that grows while it streams, rendered into `element`. */
export class MarkdownView {
  constructor() {
    this.element = document.createElement('div');
    this.element.className = 'markdown';
    this.text = '';
    this.committed = 0; // chars of `text` rendered for good (the stable blocks)
    this.tailNodes = []; // the nodes of the still-growing rest, replaced on each update
  }

  /** Shows `text`: when it grew, only the part after the stable blocks is parsed again. */
  update(text) {
    text = String(text ?? '');
    if (text === this.text) return;
    // Did the text only grow? Checked on its start and on the part after the stable blocks
    // (not the whole prefix, which would cost time linear in the text on every read).
    const grew = text.length > this.text.length
      && text.startsWith(this.text.slice(0, 64))
      && text.startsWith(this.text.slice(this.committed), this.committed);
    if (!grew) {
      this.element.replaceChildren();
      this.tailNodes = [];
      this.committed = 0;
    }
    this.text = text;
    for (const node of this.tailNodes) node.remove();
    const rest = text.slice(this.committed);
    const cut = stableCut(rest);
    if (cut > 0) {
      this.element.append(renderMarkdown(rest.slice(0, cut)));
      this.committed += cut;
    }
    const tail = renderMarkdown(text.slice(this.committed));
    this.tailNodes = [...tail.childNodes];
    this.element.append(tail);
  }

  /** Once the text is complete: renders it whole, as one document, if it was rendered in parts. */
  finish() {
    if (this.committed === 0) return;
    this.element.replaceChildren(renderMarkdown(this.text));
    this.committed = this.text.length;
    this.tailNodes = [];
  }
}
