// The README's examples (as shipped in the package) run unchanged against the mock backend.
// A fetch shim in the child process sends https://api.kapa.ai and relative URLs to the mock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMockServer, stream, ev, reply } from './helpers/mock-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const readme = fs.readFileSync(path.join(here, 'node_modules', 'kapa-agent-wasm', 'README.md'), 'utf8');

function codeAfter(heading, lang) {
  const re = new RegExp(`^##+ ${heading}[^\\n]*\\n[\\s\\S]*?\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'm');
  const m = readme.match(re);
  assert.ok(m, `the shipped README has a ${lang} example under "${heading}"`);
  return m[1];
}

const shim = (base) => `
const __base = ${JSON.stringify(base)};
const __fetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  let url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (url.startsWith('https://api.kapa.ai')) url = __base + url.slice('https://api.kapa.ai'.length);
  else if (url.startsWith('/')) url = __base + url;
  return typeof input === 'string' || input instanceof URL ? __fetch(url, init) : __fetch(new Request(url, input), init);
};
`;

async function runChild(code, env) {
  const file = path.join(here, 'node_modules', `.readme-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, code);
  try {
    const child = spawn(process.execPath, [file], { cwd: here, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code_ = await new Promise((r) => child.on('exit', r));
    return { code: code_, out, err };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

test('README: the Node 20+ example runs unchanged', async () => {
  const server = await startMockServer();
  try {
    server.queue('session', reply(201, { session_token: 'sess-abc', expires_at: new Date(Date.now() + 3600e3).toISOString() }));
    server.queue('chat', stream([ev.start('thr_r'), ev.text('Install it with npm.'), ev.done('thr_r')]));
    const src = codeAfter('Node', 'js');
    // Imports must stay first in a module: put the shim after them.
    const lines = src.split('\n');
    const lastImport = lines.reduce((n, l, i) => (/^import\s/.test(l) ? i : n), -1);
    const code = [...lines.slice(0, lastImport + 1), shim(server.baseUrl), ...lines.slice(lastImport + 1)].join('\n');
    const r = await runChild(code, { KAPA_PROJECT_ID: 'proj_readme', KAPA_INTEGRATION_ID: 'int_readme', KAPA_API_KEY: 'key-123' });
    assert.equal(r.code, 0, `exit ${r.code}: ${r.err.split('\n').slice(0, 4).join(' | ')}`);
    assert.match(r.out, /Install it with npm\./);
    const sess = server.requestsTo('session')[0];
    assert.equal(sess.headers['x-api-key'], 'key-123');
    const chat = server.requestsTo('chat')[0];
    assert.equal(chat.path, '/agent/v1/projects/proj_readme/agent/chat/');
    assert.equal(chat.headers.authorization, 'Bearer sess-abc');
    assert.equal(chat.body.integration_id, 'int_readme');
  } finally {
    await server.close();
  }
});

test('README: the bundler example (TypeScript, Zod tool) runs in Node once its types are stripped', async () => {
  const { transform } = await import('esbuild');
  const server = await startMockServer();
  try {
    server.queue('appSession', reply(200, { session_token: 'sess-b', expires_at: new Date(Date.now() + 3600e3).toISOString() }));
    server.queue(
      'chat',
      stream([ev.start('thr_b'), ev.toolCall('c1', 'get_current_time', {}), ev.requiresAction(['c1'])]),
      stream([ev.text('It is now.'), ev.done('thr_b')]),
    );
    const ts = codeAfter('With a bundler', 'ts');
    const { code: js } = await transform(ts, {
      loader: 'ts',
      format: 'esm',
      define: { 'import.meta.env.VITE_KAPA_PROJECT_ID': '"proj_b"', 'import.meta.env.VITE_KAPA_INTEGRATION_ID': '"int_b"' },
    });
    const lines = js.split('\n');
    const lastImport = lines.reduce((n, l, i) => (/^import\s/.test(l) ? i : n), -1);
    const code = [...lines.slice(0, lastImport + 1), shim(server.baseUrl), ...lines.slice(lastImport + 1)].join('\n');
    const r = await runChild(code, {});
    assert.equal(r.code, 0, `exit ${r.code}: ${r.err.split('\n').slice(0, 4).join(' | ')}`);
    const chats = server.requestsTo('chat');
    assert.equal(chats.length, 2);
    assert.equal(chats[0].body.tools[0].name, 'get_current_time');
    assert.equal(chats[0].body.tools[0].parameters.type, 'object');
    const res = chats[1].body.input.results[0];
    assert.equal(res.status, 'completed');
    assert.match(res.output.time, /^\d{4}-\d\d-\d\dT/);
  } finally {
    await server.close();
  }
});

test('README: the persist example runs unchanged (sessionStorage shimmed in Node)', async () => {
  const server = await startMockServer();
  try {
    server.queue('appSession', reply(200, { session_token: 'sess-p', expires_at: new Date(Date.now() + 3600e3).toISOString() }));
    server.queue('chat', stream([ev.start('thr_p'), ev.text('Start with npm.'), ev.done('thr_p')]));
    const src = codeAfter('Conversations across page loads', 'js');
    const storage = `
const __data = new Map();
globalThis.sessionStorage = { getItem: (k) => __data.get(k) ?? null, setItem: (k, v) => __data.set(k, String(v)), removeItem: (k) => __data.delete(k) };
`;
    const lines = src.split('\n');
    const lastImport = lines.reduce((n, l, i) => (/^import\s/.test(l) ? i : n), -1);
    const code = [...lines.slice(0, lastImport + 1), shim(server.baseUrl), storage, ...lines.slice(lastImport + 1)].join('\n');
    const r = await runChild(code, {});
    assert.equal(r.code, 0, `exit ${r.code}: ${r.err.split('\n').slice(0, 4).join(' | ')}`);
    assert.match(r.out, /thr_p Start with npm\./, 'page 2 has the conversation');
    assert.match(r.out, /\n2\n?$/, 'the copy restored from exportState has both messages');
    assert.doesNotMatch(r.err, /\S/, 'no storage warning');
  } finally {
    await server.close();
  }
});
