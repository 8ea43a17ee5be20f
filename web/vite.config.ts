import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// Two apps, two builds: `vite build --mode user` → dist/user (served at /),
// `vite build --mode admin` → dist/admin (served at /admin/). They share
// src/common. The dev server (scripts/dev.mjs) runs both behind one origin.
const apps = {
  user: { root: 'src/user', base: '/', outDir: 'dist/user' },
  admin: { root: 'src/admin', base: '/admin/', outDir: 'dist/admin' },
} as const;

export default defineConfig(({ mode }) => {
  const app = apps[(mode === 'admin' ? 'admin' : 'user') as keyof typeof apps];
  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  return {
    root: here(app.root),
    base: app.base,
    plugins: [react()],
    publicDir: false,
    // One dependency cache per app: the two dev servers run side by side.
    cacheDir: here(`node_modules/.vite-${mode === 'admin' ? 'admin' : 'user'}`),
    build: {
      outDir: here(app.outDir),
      emptyOutDir: true,
      sourcemap: process.env.SOURCEMAP === '1', // kept out of the embedded build by default
      assetsDir: 'assets',
      chunkSizeWarningLimit: 1024,
    },
    server: { host: '127.0.0.1', strictPort: true },
  };
});
