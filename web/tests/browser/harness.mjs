// Starts what the browser tests run against: a real all-in-one
// `ginflix serve --demo` on a fresh data directory — its web role serves the
// web/dist build embedded in the binary, on the same origin as /api, /oidc
// and /stream — and Debian's Chromium through playwright-core.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, '..', '..');
const repo = path.resolve(web, '..');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * bin/ginflix, built from the repository (GINFLIX_BIN names a binary to use
 * instead). If the tree does not build right now (another change under way),
 * an existing bin/ginflix is reused, with a warning.
 */
function ginflixBinary() {
  if (process.env.GINFLIX_BIN) return process.env.GINFLIX_BIN;
  const bin = path.join(repo, 'bin', 'ginflix');
  try {
    execFileSync('go', ['build', '-o', bin, './cmd/ginflix'], { cwd: repo, stdio: ['ignore', 'inherit', 'pipe'] });
  } catch (e) {
    if (!fs.existsSync(bin)) throw new Error(`go build failed and there is no bin/ginflix to reuse:\n${e.stderr ?? e.message}`);
    console.warn(`# warning: go build failed, reusing the existing bin/ginflix:\n${String(e.stderr ?? e.message).replace(/^/gm, '#   ')}`);
  }
  return bin;
}

async function waitFor(fn, what, timeoutMs) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

export async function startStack() {
  if (!fs.existsSync(path.join(web, 'dist', 'user', 'index.html')) || !fs.existsSync(path.join(web, 'dist', 'admin', 'index.html'))) {
    throw new Error('web/dist is missing: run npm run build first');
  }
  const bin = ginflixBinary();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ginflix-web-test-'));
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const automation = { id: 'web-tests', secret: 'web-tests-secret-' + Math.random().toString(36).slice(2) };

  const logFile = path.join(dataDir, 'ginflix.log');
  const log = fs.createWriteStream(logFile);
  const proc = spawn(bin, ['serve', '--demo', '--addr', `127.0.0.1:${port}`, '--data', dataDir], {
    env: {
      ...process.env,
      GINFLIX_PUBLIC_URL: baseURL,
      GINFLIX_AUTOMATION_CLIENT_ID: automation.id,
      GINFLIX_AUTOMATION_CLIENT_SECRET: automation.secret,
      GINFLIX_WORKERS: '2',
      GINFLIX_FFMPEG_PRESET: 'ultrafast',
      GINFLIX_LOG_FORMAT: 'text',
      GINFLIX_CATALOG_CACHE_TTL: '0',
      // A view counts after 3 s watched instead of 10, to keep the suite short.
      GINFLIX_VIEW_THRESHOLD: '3s',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk) => {
    output += chunk.toString();
    log.write(chunk);
  };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  let exited = null;
  proc.on('exit', (code, signal) => (exited = { code, signal }));

  const stop = async () => {
    await browser?.close().catch(() => {});
    if (exited === null) {
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]);
      if (exited === null) proc.kill('SIGKILL');
    }
    log.end();
    if (!process.env.KEEP_TEST_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  let browser;
  try {
    // The admin's password is printed once, on this first start.
    const password = await waitFor(() => {
      if (exited) throw new Error(`ginflix exited (${JSON.stringify(exited)}):\n${output}`);
      return /password:\s+(\S+)/.exec(output)?.[1];
    }, 'the admin password on ginflix serve’s output', 30_000);
    const email = /email:\s+(\S+)/.exec(output)?.[1] ?? 'admin@ginflix.local';
    await waitFor(async () => (await fetch(`${baseURL}/api/health`)).ok, 'the backend to be ready', 30_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });

    /** A client-credentials token (admin role), for setting things up through the API. */
    const token = async () => {
      const res = await fetch(`${baseURL}/oidc/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: 'Basic ' + Buffer.from(`${automation.id}:${automation.secret}`).toString('base64'),
        },
        body: 'grant_type=client_credentials',
      });
      if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
      return (await res.json()).access_token;
    };
    const api = async (method, p, body) => {
      const res = await fetch(baseURL + p, {
        method,
        headers: { authorization: `Bearer ${await token()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
    /** Uploads a file with `ginflix import` as the automation client; returns the video id. */
    const importFile = (file, title) => {
      const out = execFileSync(bin, ['import', '--server', baseURL, '--title', title, file], {
        env: { ...process.env, GINFLIX_AUTOMATION_CLIENT_ID: automation.id, GINFLIX_AUTOMATION_CLIENT_SECRET: automation.secret },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const id = /→\s*([0-9a-f]{24})/.exec(out)?.[1];
      if (!id) throw new Error(`ginflix import printed no video id:\n${out}`);
      return id;
    };
    return { baseURL, email, password, browser, api, importFile, dataDir, logFile, stop, output: () => output };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Signs in through the built-in provider's login page; page must be on the app's sign-in screen. */
export async function signIn(page, { email, password, buttonName = /Se connecter|Sign in/ }) {
  await page.getByRole('button', { name: buttonName }).click();
  await page.waitForURL(/\/oidc\//);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/oidc') && !u.pathname.includes('/auth/callback')), page.click('button[type=submit]')]);
}

/** A small H.264/AAC clip made with FFmpeg (which ginflix needs anyway). */
export function makeClip(dir, name = 'clip-e2e.mp4', seconds = 2) {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=320x180:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file,
  ]);
  return file;
}

const shotsDir = path.join(web, 'test-output', 'screenshots');
let shotCount = 0;

/** Saves a full-page screenshot of a test step under web/test-output/screenshots/. */
export async function shot(page, name) {
  if (shotCount === 0) {
    fs.rmSync(shotsDir, { recursive: true, force: true });
    fs.mkdirSync(shotsDir, { recursive: true });
  }
  shotCount++;
  await page.screenshot({ path: path.join(shotsDir, `${String(shotCount).padStart(2, '0')}-${name}.png`), fullPage: true });
}

export { waitFor };
