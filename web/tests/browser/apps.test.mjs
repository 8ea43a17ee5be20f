// Browser tests of both apps against a real `ginflix serve --demo`
// (see harness.mjs). They run in order and share one server and one
// signed-in browser context, as a person would use them.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeClip, shot, signIn, startStack, waitFor } from './harness.mjs';

let stack;
let ctx;
let page;
let firstVideo;
// A 24 s clip, long enough to stall mid-playback and to be offered a resume.
let longVideoId;
const longTitle = 'Long métrage de test';

const pageErrors = [];

before(async () => {
  stack = await startStack();
  ctx = await stack.browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 800 } });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  longVideoId = stack.importFile(makeClip(stack.dataDir, 'long.mp4', 24), longTitle);
});

/** Waits for a video to be transcoded, then publishes it through the API. */
async function publishWhenReady(id) {
  await waitFor(async () => (await stack.api('GET', `/api/admin/videos/${id}`)).status === 'ready', `video ${id} ready`, 180_000);
  await stack.api('PATCH', `/api/admin/videos/${id}`, { published: true });
}

after(async () => {
  await ctx?.close().catch(() => {});
  await stack?.stop();
});

describe('viewer app', () => {
  test('shows a sign-in screen, then signs in through the built-in login page', async () => {
    await page.goto(stack.baseURL + '/');
    await page.getByRole('button', { name: 'Se connecter' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    await shot(page, 'viewer-sign-in');
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(/\/oidc\//);
    await shot(page, 'provider-login-page');
    await page.goBack();
    await signIn(page, stack);
    assert.equal(new URL(page.url()).pathname, '/');
    await page.getByRole('button', { name: 'Se déconnecter' }).waitFor();
  });

  test('the home page lists the demo videos with titles and durations', async () => {
    // The demo clips are published once transcoded: reload until they show.
    await waitFor(async () => {
      await page.reload();
      await page.locator('.card, .state-empty').first().waitFor({ timeout: 10_000 });
      return (await page.locator('[data-row=recent] .card').count()) > 0;
    }, 'demo videos on the home page', 120_000);
    const titles = await page.locator('[data-row=recent] .card-title').allTextContents();
    assert.ok(titles.length >= 1, 'at least one video');
    const { items } = await stack.api('GET', '/api/videos?limit=100');
    for (const t of titles) assert.ok(items.some((v) => v.title === t), `${t} is a published video`);
    const badge = await page.locator('[data-row=recent] .card .badge').first().textContent();
    assert.match(badge ?? '', /^\d+:\d\d$/);
    firstVideo = items.find((v) => v.title === titles[0]);
    await shot(page, 'viewer-home');
  });

  test('an expired access token is renewed with the refresh token', async () => {
    const before = await page.evaluate(() => {
      const key = Object.keys(localStorage).find((k) => k.startsWith('oidc.user:'));
      const user = JSON.parse(localStorage.getItem(key));
      const token = user.access_token;
      user.expires_at = Math.floor(Date.now() / 1000) - 30; // as if the tab had slept
      localStorage.setItem(key, JSON.stringify(user));
      return { key, token, hasRefresh: !!user.refresh_token };
    });
    assert.ok(before.hasRefresh, 'the session has a refresh token (offline_access)');
    await page.reload();
    await page.getByRole('button', { name: 'Se déconnecter' }).waitFor();
    await page.locator('[data-row=recent] .card').first().waitFor({ timeout: 10_000 });
    const after = await page.evaluate((key) => JSON.parse(localStorage.getItem(key)), before.key);
    assert.notEqual(after.access_token, before.token);
    assert.ok(after.expires_at > Date.now() / 1000 + 60);
  });

  test('search as you type finds a video by a word prefix', async () => {
    const word = firstVideo.title.split(/\s+/)[0];
    await page.fill('#q', word.slice(0, Math.max(3, word.length - 1)));
    await page.waitForURL(/\/search\?q=/);
    await page.locator(`.grid [data-video-id="${firstVideo.id}"]`).waitFor({ timeout: 10_000 });
    await shot(page, 'viewer-search');
    await page.fill('#q', 'zzzzqqqq');
    await page.getByText('Aucune vidéo ne correspond à votre recherche.').waitFor();
    await page.fill('#q', '');
  });

  test('playing a video starts, with the quality rungs and storyboard previews', async () => {
    const playbackPosts = [];
    page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/playback') && playbackPosts.push(r.url()));
    await page.goto(`${stack.baseURL}/watch/${firstVideo.id}`);
    const quality = page.locator('[data-testid=quality]');
    await quality.waitFor({ timeout: 20_000 });
    const playBtn = page.locator('[data-testid=play], [data-testid=resume]');
    if (await playBtn.isVisible()) await playBtn.click();
    await waitFor(() => page.evaluate(() => document.querySelector('video').currentTime > 1), 'currentTime to advance', 20_000);

    const video = await stack.api('GET', `/api/videos/${firstVideo.id}`);
    const rungs = video.renditions.map((r) => `${r.height}p`);
    const options = await quality.locator('option').allTextContents();
    assert.match(options[0], /^Auto/);
    for (const r of rungs) assert.ok(options.includes(r), `quality selector lists ${r} (got ${options})`);

    // Choosing a rung by hand keeps playing.
    await quality.selectOption({ label: rungs[rungs.length - 1] });
    const t0 = await page.evaluate(() => document.querySelector('video').currentTime);
    await page.evaluate(() => document.querySelector('video').play());
    await waitFor(() => page.evaluate((t) => { const v = document.querySelector('video'); return v.currentTime > t + 0.3 || v.ended; }, t0), 'playback after a manual quality change', 15_000);

    // Hovering the seek bar shows a storyboard thumbnail.
    const seek = page.locator('.seek');
    const box = await seek.boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    const thumb = page.locator('[data-testid=seek-preview] .thumb');
    await thumb.waitFor({ timeout: 5000 });
    assert.match(await thumb.getAttribute('style'), /sprite_\d+\.jpg\?vt=/);
    await shot(page, 'viewer-player-storyboard');
    assert.equal(playbackPosts.length, 1);
  });

  test('keyboard shortcuts: space pauses, m mutes', async () => {
    await page.evaluate(() => document.activeElement?.blur());
    await page.evaluate(() => { const v = document.querySelector('video'); v.currentTime = 0; return v.play(); });
    await page.keyboard.press('m');
    assert.equal(await page.evaluate(() => document.querySelector('video').muted), true);
    await page.keyboard.press(' ');
    assert.equal(await page.evaluate(() => document.querySelector('video').paused), true);
  });

  test('a 401 from the streamer gets a new playback URL and playback goes on', async () => {
    let refused = 0;
    await page.route('**/stream/videos/**/*.m4s*', async (route) => {
      if (refused === 0) {
        refused++;
        return route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":{"code":"unauthorized","message":"expired"}}' });
      }
      return route.continue();
    });
    const posts = [];
    const onReq = (r) => r.method() === 'POST' && r.url().endsWith('/playback') && posts.push(r.url());
    page.on('request', onReq);
    await page.goto(`${stack.baseURL}/watch/${firstVideo.id}`);
    await page.locator('[data-testid=quality]').waitFor({ timeout: 20_000 });
    const playBtn = page.locator('[data-testid=play], [data-testid=resume]');
    if (await playBtn.isVisible()) await playBtn.click();
    await waitFor(() => page.evaluate(() => document.querySelector('video').currentTime > 1), 'playback after the 401', 25_000);
    assert.equal(refused, 1);
    assert.ok(posts.length >= 2, `a second playback URL was requested (${posts.length})`);
    page.off('request', onReq);
    await page.unroute('**/stream/videos/**/*.m4s*');
  });

  test('progress is saved on pause, shows in continue watching, and my list toggles', async () => {
    const saved = page.waitForResponse(
      (r) => r.url().includes(`/api/me/progress/${firstVideo.id}`) && r.request().method() === 'PUT',
      { timeout: 10_000 },
    );
    await page.evaluate(() => document.querySelector('video').pause());
    const res = await saved;
    assert.equal(res.status(), 200);
    const body = await res.json();
    assert.ok(body.position > 0, `position ${body.position}`);

    const btn = page.locator('[data-testid=mylist]');
    await btn.waitFor();
    await btn.click();
    await page.getByRole('button', { name: '✓ Dans ma liste' }).waitFor();

    await page.goto(stack.baseURL + '/');
    await page.locator(`[data-row=continue] [data-video-id="${firstVideo.id}"]`).waitFor({ timeout: 10_000 });
    await page.locator(`[data-row=mylist] [data-video-id="${firstVideo.id}"]`).waitFor({ timeout: 10_000 });
    await page.goto(stack.baseURL + '/list');
    await page.locator(`.grid [data-video-id="${firstVideo.id}"]`).waitFor({ timeout: 10_000 });
  });

  test('a network stall mid-playback shows buffering, and a reload offers to resume', async () => {
    await publishWhenReady(longVideoId);
    // Segment 2 (8–12 s) of every rung is held back until the player has
    // run out of buffer at 8 s and shown it for 2 s (at most 25 s).
    const stalled = () => page.evaluate(() => !!document.querySelector('.player-center-msg')).catch(() => false);
    await page.route('**/stream/videos/**/seg_00002.m4s*', async (route) => {
      await waitFor(stalled, 'the player to stall', 25_000).catch(() => {});
      await new Promise((r) => setTimeout(r, 2000));
      await route.continue().catch(() => {});
    });
    const events = [];
    const onReq = (r) => r.method() === 'POST' && r.url().endsWith('/api/playback/events') && events.push(r.postDataJSON());
    page.on('request', onReq);
    try {
      await page.goto(`${stack.baseURL}/watch/${longVideoId}`);
      await page.locator('[data-testid=quality]').waitFor({ timeout: 20_000 });
      const playBtn = page.locator('[data-testid=play], [data-testid=resume]');
      if (await playBtn.isVisible()) await playBtn.click();
      await page.locator('.player-center-msg', { hasText: 'Mise en mémoire tampon' }).waitFor({ timeout: 20_000 });
      await shot(page, 'viewer-rebuffering');
      await waitFor(() => page.evaluate(() => document.querySelector('video').currentTime > 13), 'playback past the stall', 30_000);
    } finally {
      await page.unroute('**/stream/videos/**/seg_00002.m4s*');
    }
    const saved = page.waitForResponse((r) => r.url().includes(`/api/me/progress/${longVideoId}`) && r.request().method() === 'PUT', { timeout: 10_000 });
    await page.evaluate(() => document.querySelector('video').pause());
    await saved;
    await page.reload();
    const resume = page.locator('[data-testid=resume]');
    await resume.waitFor({ timeout: 20_000 });
    assert.match(await resume.textContent(), /Reprendre à 0:1\d/);
    await shot(page, 'viewer-resume-offer');
    page.off('request', onReq);
    // The rest went with the page (keepalive requests on pagehide, which
    // Playwright does not always report): the analytics test checks them
    // on the server.
    const sent = events.flatMap((b) => b.events.map((e) => e.type));
    assert.ok(sent.includes('start'), `the player reported its start (sent: ${sent})`);
  });

  test('phone and TV widths: the pages fit without horizontal scrolling', async () => {
    const state = await ctx.storageState();
    for (const [name, viewport] of [['phone', { width: 375, height: 740 }], ['tv', { width: 1920, height: 1080 }]]) {
      const c = await stack.browser.newContext({ locale: 'fr-FR', viewport, storageState: state });
      try {
        const p = await c.newPage();
        for (const path of ['/', `/watch/${longVideoId}`, '/search?q=test']) {
          await p.goto(stack.baseURL + path);
          await p.locator('.card, [data-testid=quality], .state-empty').first().waitFor({ timeout: 20_000 });
          const [scroll, inner] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
          assert.ok(scroll <= inner, `${path} at ${viewport.width} px is ${scroll} px wide`);
        }
        await p.goto(stack.baseURL + '/');
        await p.locator('.card').first().waitFor({ timeout: 20_000 });
        await shot(p, `viewer-home-${name}`);
      } finally {
        await c.close();
      }
    }
  });

  test('switches to English', async () => {
    await page.getByRole('combobox', { name: 'Langue' }).selectOption('en');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await page.getByRole('combobox', { name: 'Language' }).selectOption('fr');
  });
});

describe('admin app', () => {
  test('uploads a generated clip with tus, which reaches "ready" in the jobs list', async () => {
    const clip = makeClip(stack.dataDir, 'clip-e2e.mp4', 2);
    await page.goto(stack.baseURL + '/admin/');
    // Same origin, same client: the viewer app's session is reused.
    await page.waitForURL(/\/admin\/upload$/);
    await page.getByRole('heading', { name: 'Envoyer des vidéos' }).waitFor();
    await page.setInputFiles('[data-testid=file-input]', clip);
    const row = page.locator('[data-name="clip-e2e.mp4"]');
    await row.locator('[role=progressbar]').waitFor();
    await shot(page, 'admin-upload');
    await page.locator('[data-name="clip-e2e.mp4"][data-upload-state=done]').waitFor({ timeout: 30_000 });
    await row.getByRole('link', { name: 'Voir le traitement' }).click();
    await page.waitForURL(/\/admin\/jobs\?video=/);
    const videoId = new URL(page.url()).searchParams.get('video');
    assert.match(videoId, /^[0-9a-f]{24}$/);
    await page.locator(`tr[data-video-id="${videoId}"]`).waitFor({ timeout: 10_000 });
    await page.locator(`tr[data-video-id="${videoId}"][data-video-status=ready]`).waitFor({ timeout: 120_000 });
    await shot(page, 'admin-jobs-ready');
    assert.equal(await page.locator(`tr[data-video-id="${videoId}"]`).getAttribute('data-job-state'), 'succeeded');
    const v = await stack.api('GET', `/api/admin/videos/${videoId}`);
    assert.equal(v.title, 'clip-e2e');
    assert.equal(v.status, 'ready');
  });

  test('an interrupted upload resumes after a page reload, on the same tus upload', async () => {
    const clip = makeClip(stack.dataDir, 'clip-resume.mp4', 1);
    const creates = [];
    const onReq = (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/uploads/' && creates.push(r.url());
    page.on('request', onReq);
    const accept = (d) => void d.accept();
    page.on('dialog', accept); // "uploads are in progress" on reload
    try {
      await page.goto(stack.baseURL + '/admin/upload');
      // The network drops every PATCH: the upload is created but gets no bytes through.
      await page.route('**/api/uploads/*', (route) => (route.request().method() === 'PATCH' ? route.abort('connectionreset') : route.continue()));
      const created = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/uploads/');
      await page.setInputFiles('[data-testid=file-input]', clip);
      assert.equal((await created).status(), 201);
      // tus-js-client has stored the upload's URL by the file's fingerprint.
      await waitFor(() => page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('tus::'))), 'the stored upload URL', 10_000);
      await page.reload(); // PATCHes still fail until the page is gone
      await page.unroute('**/api/uploads/*');
      await page.getByRole('heading', { name: 'Envois interrompus' }).waitFor();
      await page.locator('.upload', { hasText: 'clip-resume.mp4' }).waitFor();
      await page.setInputFiles('[data-testid=file-input]', clip);
      await page.locator('[data-name="clip-resume.mp4"][data-upload-state=done]').waitFor({ timeout: 30_000 });
      assert.equal(creates.length, 1, 'the second attempt resumed the first upload instead of creating one');
      await page.getByRole('heading', { name: 'Envois interrompus' }).waitFor({ state: 'detached' });
    } finally {
      page.off('request', onReq);
      page.off('dialog', accept);
    }
  });

  test('content: publish the uploaded clip and edit its title', async () => {
    await page.goto(stack.baseURL + '/admin/content?q=clip');
    const row = page.locator('tr', { hasText: 'clip-e2e' });
    await row.waitFor({ timeout: 10_000 });
    await row.getByRole('button', { name: 'Publier' }).click();
    await row.getByRole('button', { name: 'Dépublier' }).waitFor();
    await row.getByRole('button', { name: 'Modifier' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Titre').fill('Clip de test');
    await dialog.getByLabel('Tags (séparés par des virgules)').fill('e2e, test');
    await dialog.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByText('Modifications enregistrées.').waitFor();
    const id = await page.locator('tr', { hasText: 'Clip de test' }).getAttribute('data-video-id');
    const v = await stack.api('GET', `/api/admin/videos/${id}`);
    assert.deepEqual([v.title, v.published, v.tags], ['Clip de test', true, ['e2e', 'test']]);
    await shot(page, 'admin-content');

    // Published: a viewer finds it.
    await page.goto(stack.baseURL + '/search?q=clip%20de%20test');
    await page.locator(`.grid [data-video-id="${id}"]`).waitFor({ timeout: 10_000 });
  });

  test('users: create a viewer account, who is refused by the admin app', async () => {
    await page.goto(stack.baseURL + '/admin/users');
    await page.getByRole('heading', { name: 'Créer un compte' }).waitFor();
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Créer un compte' }) });
    await form.getByLabel('Adresse e-mail').fill('viewer@example.test');
    await form.getByLabel('Mot de passe (10 caractères au moins)').fill('viewer-password-123');
    await form.getByRole('button', { name: 'Créer un compte' }).click();
    await page.getByText('Compte viewer@example.test créé.').waitFor();
    await page.locator('tr[data-user-email="viewer@example.test"]').waitFor();

    const other = await stack.browser.newContext({ locale: 'fr-FR' });
    try {
      const p = await other.newPage();
      await p.goto(stack.baseURL + '/admin/');
      await signIn(p, { email: 'viewer@example.test', password: 'viewer-password-123' });
      await p.locator('[data-testid=forbidden]').waitFor({ timeout: 10_000 });
      await p.getByRole('heading', { name: 'Accès réservé aux administrateurs' }).waitFor();
      await shot(p, 'admin-refused-for-viewer');
    } finally {
      await other.close();
    }
  });

  test('analytics: the view, the rebuffer and the startup time reach the API and the page', async () => {
    // The player sent its last batch when the page was left (pagehide).
    await page.goto(stack.baseURL + '/admin/analytics');
    let a;
    await waitFor(async () => {
      a = await stack.api('GET', `/api/admin/analytics/videos/${longVideoId}`);
      return a.views >= 1 && a.rebufferCount >= 1 && a.startup.count >= 1;
    }, 'the long video’s view, rebuffer and startup in the analytics API', 30_000).catch((e) => {
      const { series, ...totals } = a ?? {};
      throw new Error(`${e.message}; last answer: ${JSON.stringify(totals)}`);
    });
    assert.ok(a.rebufferSeconds >= 1, `stalled ${a.rebufferSeconds} s`);
    assert.ok(a.startup.p50Ms > 0, `startup p50 ${a.startup.p50Ms} ms`);
    await page.reload();
    await page.locator('[data-testid=popular]').getByText(longTitle).waitFor({ timeout: 15_000 });
    await shot(page, 'admin-analytics-overview');
    await page.locator('[data-testid=popular]').getByText(longTitle).click();
    await page.waitForURL(new RegExp(`/admin/analytics/videos/${longVideoId}`));
    await page.locator('[data-testid=video-views]').getByText(/^[1-9]/).waitFor({ timeout: 15_000 });
    assert.doesNotMatch(await page.locator('[data-testid=startup]').textContent(), /–.*–/);
    await shot(page, 'admin-analytics-video');
  });

  test('system: a new site name applies without restart and is in the audit log', async () => {
    await page.goto(stack.baseURL + '/admin/system');
    const form = page.locator('[data-testid=settings-form]');
    await form.waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=system-config]').waitFor();
    await form.getByLabel('Nom du site').fill('Ginflix Test');
    await form.getByRole('button', { name: 'Enregistrer les réglages' }).click();
    await page.getByText(/Réglages enregistrés \(version \d+\)/).waitFor();
    await shot(page, 'admin-system');
    const cfg = await (await fetch(stack.baseURL + '/api/config')).json();
    assert.equal(cfg.productName, 'Ginflix Test');
    await page.goto(stack.baseURL + '/admin/audit');
    const table = page.locator('[data-testid=audit-table]');
    await table.getByText('Réglages modifiés').first().waitFor({ timeout: 10_000 });
    await table.getByText('Vidéo publiée').first().waitFor();
    await shot(page, 'admin-audit');
  });

  test('signs out through the provider and comes back to the sign-in screen', async () => {
    await page.goto(stack.baseURL + '/');
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('button', { name: 'Se connecter' }).waitFor({ timeout: 15_000 });
    assert.equal(new URL(page.url()).pathname, '/');
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('oidc.user:')));
    assert.deepEqual(stored, []);
  });

  test('no uncaught page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
