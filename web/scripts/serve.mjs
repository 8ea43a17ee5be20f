#!/usr/bin/env node
// A tiny static server for web/dist that also proxies /api, /oidc and
// /stream to a Ginflix server, so the browser sees one origin (as it will
// when the Go `web` role serves web/dist). Used by the browser tests and
// for trying the built apps:
//
//   node scripts/serve.mjs --port 5173 --backend http://127.0.0.1:8099
//
// Routing (the same the Go web role should do):
//   /api/*, /oidc/*, /stream/*, /health, /ready  → backend
//   /admin/<file that exists>                   → dist/admin/<file>
//   /admin, /admin/*                            → dist/admin/index.html (SPA)
//   /<file that exists>                         → dist/user/<file>
//   anything else                               → dist/user/index.html (SPA)
// Hashed files under assets/ are immutable; index.html is no-cache.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const proxied = [/^\/api(\/|$)/, /^\/oidc(\/|$)/, /^\/stream(\/|$)/, /^\/health$/, /^\/ready$/];

/**
 * Creates the server (not listening). dist: the web/dist folder; backend:
 * the Ginflix base URL, e.g. http://127.0.0.1:8099.
 */
export function createServer({ dist = path.join(here, '..', 'dist'), backend }) {
  const target = new URL(backend);
  const roots = { user: path.resolve(dist, 'user'), admin: path.resolve(dist, 'admin') };

  function proxy(req, res) {
    const headers = { ...req.headers, host: target.host };
    const up = http.request(
      { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: `backend unreachable: ${err.message}` } }));
      } else res.destroy();
    });
    req.on('aborted', () => up.destroy());
    req.pipe(up);
  }

  function sendFile(req, res, file, immutable) {
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
      }
      res.writeHead(200, {
        'content-type': types[path.extname(file)] ?? 'application/octet-stream',
        'content-length': st.size,
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      if (req.method === 'HEAD') return res.end();
      fs.createReadStream(file).pipe(res);
    });
  }

  function serveApp(req, res, root, rel) {
    // rel: path below the app's base, without a leading slash.
    let decoded;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      res.writeHead(400);
      return res.end();
    }
    const file = path.resolve(root, decoded);
    if (file !== root && !file.startsWith(root + path.sep)) {
      res.writeHead(400);
      return res.end();
    }
    fs.stat(file, (err, st) => {
      if (!err && st.isFile()) return sendFile(req, res, file, decoded.startsWith('assets/'));
      // A missing asset is a 404, not the SPA's page.
      if (decoded.startsWith('assets/') || path.extname(decoded) !== '') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
      }
      sendFile(req, res, path.join(root, 'index.html'), false);
    });
  }

  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (proxied.some((re) => re.test(p))) return proxy(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      return res.end();
    }
    if (p === '/admin') {
      res.writeHead(308, { location: '/admin/' + url.search });
      return res.end();
    }
    if (p.startsWith('/admin/')) return serveApp(req, res, roots.admin, p.slice('/admin/'.length));
    return serveApp(req, res, roots.user, p.slice(1));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : def;
  };
  const port = Number(opt('port', process.env.PORT ?? '5173'));
  const host = opt('host', '127.0.0.1');
  const backend = opt('backend', process.env.GINFLIX_BACKEND ?? 'http://127.0.0.1:8080');
  const server = createServer({ dist: opt('dist', undefined), backend });
  server.listen(port, host, () => {
    console.log(`web/dist on http://${host}:${port}, proxying /api /oidc /stream to ${backend}`);
  });
}
