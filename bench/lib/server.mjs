// A tiny static server on 127.0.0.1 for the browser runs: /pkg/* (the snapshot in
// bench/build/pkg), /base-pkg/* (the optional baseline's snapshot in bench/build/base-pkg)
// and /bench/* only.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml' };

export function startServer(root, pkgDir, basePkgDir = null) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!/^\/(pkg|base-pkg|bench)\//.test(path) || path.includes('..') || path.includes('node_modules')
      || (path.startsWith('/base-pkg/') && !basePkgDir)) {
      res.writeHead(404).end(); return;
    }
    try {
      const file = path.startsWith('/pkg/') ? join(pkgDir, path.slice(5))
        : path.startsWith('/base-pkg/') ? join(basePkgDir, path.slice(10)) : join(root, path);
      const body = await readFile(file);
      // Cross-origin isolated (COOP + COEP): performance.now() then ticks in 5 µs instead of
      // 100 µs steps, which matters for sub-millisecond turns.
      res.writeHead(200, { 'content-type': TYPES[extname(path)] || 'application/octet-stream', 'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.end(body);
    } catch { res.writeHead(404).end(); }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) });
  }));
}
