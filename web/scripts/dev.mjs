#!/usr/bin/env node
// Development: both apps with hot reload behind one origin, like production.
//
//   GINFLIX_PUBLIC_URL=http://127.0.0.1:5173 bin/ginflix serve --demo --addr 127.0.0.1:8099 --data /tmp/webdev
//   npm run dev            # then open http://127.0.0.1:5173/ and /admin/
//
// The viewer app's Vite server listens on PORT (5173) and proxies /api,
// /oidc and /stream to GINFLIX_BACKEND (http://127.0.0.1:8099), and /admin
// (with its HMR socket) to the admin app's Vite server on PORT+1.

import { createServer } from 'vite';

const port = Number(process.env.PORT ?? 5173);
const backend = process.env.GINFLIX_BACKEND ?? 'http://127.0.0.1:8099';
const api = { target: backend, changeOrigin: true };

const admin = await createServer({
  configFile: new URL('../vite.config.ts', import.meta.url).pathname,
  mode: 'admin',
  server: { port: port + 1, ws: { clientPort: port } },
});
await admin.listen();

const user = await createServer({
  configFile: new URL('../vite.config.ts', import.meta.url).pathname,
  mode: 'user',
  server: {
    port,
    proxy: {
      '/api': api,
      '/oidc': api,
      '/stream': api,
      '/admin': { target: `http://127.0.0.1:${port + 1}`, ws: true },
    },
  },
});
await user.listen();
console.log(`viewer app: http://127.0.0.1:${port}/   admin app: http://127.0.0.1:${port}/admin/   backend: ${backend}`);
