import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  makeEvent,
  MAX_DETAIL,
  PlaybackReporter,
  PlaybackTracker,
  retryAfterMs,
  type EventFields,
  type EventSink,
  type MediaLike,
  type PlaybackEvent,
  type PlaybackEventType,
  type ReporterOptions,
} from '../../src/common/playbackEvents';

// The network boundary: a fake fetch that records requests and answers
// from a script (default 202).
interface Call {
  url: string;
  init: RequestInit;
  body: { session: string; events: PlaybackEvent[] };
  auth: string | undefined;
}

function fakeFetch() {
  const calls: Call[] = [];
  const answers: (number | { status: number; retryAfter?: string } | Error)[] = [];
  const fn = vi.fn(async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    const body = JSON.parse(String(init.body));
    calls.push({ url, init, body, auth: headers.Authorization });
    const a = answers.shift() ?? 202;
    if (a instanceof Error) throw a;
    const status = typeof a === 'number' ? a : a.status;
    const retryAfter = typeof a === 'number' ? undefined : a.retryAfter;
    return {
      ok: status >= 200 && status < 300,
      status,
      headers: new Headers(retryAfter ? { 'Retry-After': retryAfter } : {}),
    };
  });
  return { fn, calls, answers, events: () => calls.flatMap((c) => c.body.events) };
}

function reporter(over: Partial<ReporterOptions> = {}) {
  const net = fakeFetch();
  const tokens = { getAccessToken: vi.fn(async () => 'tok'), renewAfterUnauthorized: vi.fn(async () => true) };
  const r = new PlaybackReporter({ session: 's1', tokens, fetch: net.fn, ...over });
  return { r, net, tokens };
}

/** Lets the fake fetch's promises (and the awaits after them) settle. */
async function settle() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-03-01T12:00:00.000Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('makeEvent and Retry-After', () => {
  it('builds events in the API’s shape', () => {
    const at = Date.parse('2026-03-01T12:00:00.123Z');
    expect(makeEvent('heartbeat', { position: 12.34567, rung: '720p' }, at)).toEqual({
      type: 'heartbeat',
      at: '2026-03-01T12:00:00.123Z',
      position: 12.346,
      rung: '720p',
    });
    expect(makeEvent('start', { position: NaN, value: 812.6, rung: '' }, at)).toEqual({
      type: 'start',
      at: '2026-03-01T12:00:00.123Z',
      position: 0,
      value: 813,
    });
    const e = makeEvent('error', { position: -3, detail: 'x'.repeat(500), value: Infinity }, at);
    expect(e.detail).toHaveLength(MAX_DETAIL);
    expect(e.position).toBe(0);
    expect('value' in e).toBe(false);
  });
  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs('Sun, 01 Mar 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe('PlaybackReporter', () => {
  it('batches ordinary events and sends them about every 10 s, with the session and the bearer token', async () => {
    const { r, net } = reporter();
    r.push('heartbeat', { position: 10, rung: '720p' });
    r.push('quality', { position: 11, rung: '480p' });
    await vi.advanceTimersByTimeAsync(9_999);
    expect(net.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.calls).toHaveLength(1);
    const c = net.calls[0];
    expect(c.url).toBe('/api/playback/events');
    expect(c.init.method).toBe('POST');
    expect(c.init.keepalive).toBe(true);
    expect(c.auth).toBe('Bearer tok');
    expect((c.init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(c.body.session).toBe('s1');
    expect(c.body.events.map((e) => e.type)).toEqual(['heartbeat', 'quality']);
    expect(c.body.events[0]).toMatchObject({ position: 10, rung: '720p', at: '2026-03-01T12:00:00.000Z' });
    expect(r.stats()).toMatchObject({ queued: 0, accepted: 2, dropped: 0 });
  });

  it('sends start and error at once, with what was queued before', async () => {
    const { r, net } = reporter();
    r.push('heartbeat', { position: 1 });
    r.push('start', { position: 0, value: 640 });
    await settle();
    expect(net.calls).toHaveLength(1);
    expect(net.calls[0].body.events.map((e) => e.type)).toEqual(['heartbeat', 'start']);
    r.push('error', { position: 3, detail: 'networkError: fragLoadError' });
    await settle();
    expect(net.calls).toHaveLength(2);
    expect(net.calls[1].body.events[0]).toMatchObject({ type: 'error', detail: 'networkError: fragLoadError' });
  });

  it('does not send the same event twice when events come during a request', async () => {
    const { r, net } = reporter();
    r.push('start', { position: 0, value: 100 });
    r.push('error', { position: 0, detail: 'a' }); // while the first request is in flight
    await settle();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(net.events().map((e) => e.type)).toEqual(['start', 'error']);
  });

  it('sends at most 50 events per request', async () => {
    const { r, net } = reporter();
    for (let i = 0; i < 120; i++) r.push('heartbeat', { position: i });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.calls.map((c) => c.body.events.length)).toEqual([50, 50, 20]);
    expect(net.events().map((e) => e.position)).toEqual([...Array(120).keys()]);
  });

  it('caps the queue: the oldest heartbeats go first, then the oldest events', async () => {
    const { r, net } = reporter({ maxQueue: 5 });
    net.answers.push(503, 503, 503, 503);
    r.push('start', { position: 0, value: 1 }); // sent, refused (503): back in the queue
    await settle();
    for (let i = 1; i <= 6; i++) r.push('heartbeat', { position: i });
    expect(r.stats().queued).toBe(5);
    expect(r.stats().dropped).toBe(2);
    await vi.advanceTimersByTimeAsync(5_000); // first back-off: the same batch, refused again
    const last = net.calls[net.calls.length - 1].body.events;
    expect(last.map((e) => `${e.type}@${e.position}`)).toEqual([
      'start@0',
      'heartbeat@3',
      'heartbeat@4',
      'heartbeat@5',
      'heartbeat@6',
    ]);
    // Without heartbeats left, the oldest event goes.
    const { r: r2 } = reporter({ maxQueue: 2 });
    r2.push('quality', { position: 1, rung: 'a' });
    r2.push('quality', { position: 2, rung: 'b' });
    r2.push('quality', { position: 3, rung: 'c' });
    expect(r2.stats()).toMatchObject({ queued: 2, dropped: 1 });
  });

  it('backs off exponentially on 5xx and network failures, keeping the events, and resets after a success', async () => {
    const { r, net } = reporter();
    net.answers.push(500, new TypeError('Failed to fetch'), 502);
    r.push('start', { position: 0, value: 1 });
    await settle();
    expect(net.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(net.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // 5 s
    expect(net.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(net.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1); // then 10 s
    expect(net.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(20_000); // then 20 s: accepted
    expect(net.calls).toHaveLength(4);
    expect(net.calls.every((c) => c.body.events[0].type === 'start')).toBe(true);
    expect(r.stats()).toMatchObject({ queued: 0, accepted: 1 });
    // Back to the normal rhythm.
    r.push('error', { position: 1, detail: 'x' });
    await settle();
    expect(net.calls).toHaveLength(5);
  });

  it('does not send during a back-off, even for important events', async () => {
    const { r, net } = reporter();
    net.answers.push(503);
    r.push('start', { position: 0, value: 1 });
    await settle();
    r.push('error', { position: 1, detail: 'x' });
    await settle();
    expect(net.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(net.calls).toHaveLength(2);
    expect(net.calls[1].body.events.map((e) => e.type)).toEqual(['start', 'error']);
  });

  it('waits as long as Retry-After says on 429', async () => {
    const { r, net } = reporter();
    net.answers.push({ status: 429, retryAfter: '30' });
    r.push('start', { position: 0, value: 1 });
    await settle();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(net.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.calls).toHaveLength(2);
    expect(r.stats().accepted).toBe(1);
  });

  it('never waits longer than the longest back-off', async () => {
    const { r, net } = reporter({ maxBackoffMs: 60_000 });
    net.answers.push({ status: 429, retryAfter: '86400' });
    r.push('start', { position: 0, value: 1 });
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.calls).toHaveLength(2);
  });

  it('drops a batch the API refuses (4xx), and gives up after three refusals in a row', async () => {
    const { r, net } = reporter();
    net.answers.push(400);
    r.push('start', { position: 0, value: 1 });
    await settle();
    expect(r.stats()).toMatchObject({ queued: 0, dropped: 1, disabled: false });
    r.push('error', { position: 0, detail: 'a' }); // accepted: refusals are counted in a row
    await settle();
    expect(r.stats().accepted).toBe(1);
    net.answers.push(422, 404, 403);
    for (const d of ['b', 'c', 'd']) {
      r.push('error', { position: 0, detail: d });
      await settle();
    }
    expect(r.stats()).toMatchObject({ disabled: true, dropped: 4 });
    const before = net.calls.length;
    r.push('error', { position: 0, detail: 'e' });
    r.push('heartbeat', { position: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.calls).toHaveLength(before);
  });

  it('renews the token once after a 401 and sends again', async () => {
    const { r, net, tokens } = reporter();
    net.answers.push(401, 202);
    tokens.getAccessToken.mockResolvedValueOnce('old').mockResolvedValueOnce('new');
    r.push('start', { position: 0, value: 1 });
    await settle();
    expect(tokens.renewAfterUnauthorized).toHaveBeenCalledTimes(1);
    expect(net.calls.map((c) => c.auth)).toEqual(['Bearer old', 'Bearer new']);
    expect(r.stats().accepted).toBe(1);
  });

  it('drops the batch when the renewal does not help', async () => {
    const { r, net, tokens } = reporter();
    tokens.renewAfterUnauthorized.mockResolvedValue(false);
    net.answers.push(401);
    r.push('start', { position: 0, value: 1 });
    await settle();
    expect(net.calls).toHaveLength(1);
    expect(r.stats()).toMatchObject({ dropped: 1, queued: 0 });
  });

  it('keeps the events when getting a token fails, and never throws', async () => {
    const { r, net, tokens } = reporter();
    tokens.getAccessToken.mockRejectedValueOnce(new Error('lock'));
    expect(() => r.push('start', { position: 0, value: 1 })).not.toThrow();
    await settle();
    expect(net.calls).toHaveLength(0);
    expect(r.stats().queued).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(net.calls).toHaveLength(1);
  });

  it('sends end urgently, past a server-error back-off, and close sends what is left', async () => {
    const { r, net } = reporter();
    net.answers.push(503);
    r.push('start', { position: 0, value: 1 });
    await settle();
    r.push('heartbeat', { position: 10 });
    r.push('end', { position: 12 });
    await settle();
    expect(net.calls).toHaveLength(2);
    expect(net.calls[1].body.events.map((e) => e.type)).toEqual(['start', 'heartbeat', 'end']);
    expect(net.calls[1].init.keepalive).toBe(true);
    r.close();
    r.push('heartbeat', { position: 13 }); // ignored after close
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.calls).toHaveLength(2);
  });

  it('does not go past a 429 even when leaving', async () => {
    const { r, net } = reporter();
    net.answers.push({ status: 429, retryAfter: '60' });
    r.push('start', { position: 0, value: 1 });
    await settle();
    r.push('end', { position: 5 });
    await settle();
    expect(net.calls).toHaveLength(1);
  });

  it('sends everything at once when flushed urgently, one request per 50 events', async () => {
    const { r, net } = reporter();
    for (let i = 0; i < 70; i++) r.push('heartbeat', { position: i });
    void r.flush(true);
    expect(net.fn).toHaveBeenCalledTimes(0); // the token comes first (a promise)
    await settle();
    expect(net.calls.map((c) => c.body.events.length)).toEqual([50, 20]);
  });
});

// --- the tracker ---

class FakeMedia extends EventTarget implements MediaLike {
  currentTime = 0;
  seeking = false;
  paused = true;
  ended = false;
  fire(type: string) {
    this.dispatchEvent(new Event(type));
  }
  play() {
    this.paused = false;
    this.fire('play');
    this.fire('playing');
  }
}

class FakeDocument extends EventTarget {
  visibilityState = 'visible';
}

interface Pushed {
  type: PlaybackEventType;
  fields: EventFields;
  at: number;
}

function tracker(opts: { requestedAt?: number; rung?: string } = {}) {
  const pushed: Pushed[] = [];
  const sink: EventSink & { flushes: boolean[]; closed: number } = {
    flushes: [],
    closed: 0,
    push: (type, fields) => void pushed.push({ type, fields, at: Date.now() }),
    flush: async (urgent = false) => void sink.flushes.push(urgent),
    close: () => void sink.closed++,
  };
  const media = new FakeMedia();
  const win = new EventTarget();
  const doc = new FakeDocument();
  let rung = opts.rung ?? '720p';
  const t = new PlaybackTracker({
    sink,
    media,
    rung: () => rung,
    requestedAt: 'requestedAt' in opts ? opts.requestedAt : Date.now(),
    page: { window: win, document: doc },
  });
  return {
    t,
    media,
    sink,
    win,
    doc,
    pushed,
    types: () => pushed.map((p) => p.type),
    setRung: (r: string) => (rung = r),
  };
}

describe('PlaybackTracker', () => {
  it('reports start with the startup time from the play request to the first frame, and the rung', () => {
    const { media, pushed } = tracker();
    vi.advanceTimersByTime(850);
    media.play();
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({ type: 'start', fields: { position: 0, rung: '720p', value: 850 } });
    media.fire('playing'); // a later "playing" is not a second start
    expect(pushed).toHaveLength(1);
  });

  it('measures startup from the user’s press when playback waited for it (resume offer)', () => {
    const { t, media, pushed } = tracker({ requestedAt: undefined });
    vi.advanceTimersByTime(30_000); // the offer sits there
    t.requestPlay();
    vi.advanceTimersByTime(200);
    media.currentTime = 754;
    media.play();
    expect(pushed[0]).toMatchObject({ type: 'start', fields: { value: 200, position: 754 } });
  });

  it('sends heartbeats every 10 s while playing, with position and rung, and stops on pause', () => {
    const { media, types, pushed, setRung } = tracker();
    media.play();
    media.currentTime = 10;
    vi.advanceTimersByTime(10_000);
    setRung('1080p');
    media.currentTime = 20;
    vi.advanceTimersByTime(10_000);
    expect(pushed.slice(1)).toMatchObject([
      { type: 'heartbeat', fields: { position: 10, rung: '720p' } },
      { type: 'heartbeat', fields: { position: 20, rung: '1080p' } },
    ]);
    media.paused = true;
    media.fire('pause');
    vi.advanceTimersByTime(60_000);
    expect(types().filter((x) => x === 'heartbeat')).toHaveLength(2);
    media.play(); // resumes the rhythm, no second start
    vi.advanceTimersByTime(10_000);
    expect(types()).toEqual(['start', 'heartbeat', 'heartbeat', 'heartbeat']);
  });

  it('derives rebuffering from waiting and playing after the first frame', () => {
    const { media, pushed, types } = tracker();
    media.fire('waiting'); // before the first frame: startup, not a stall
    media.play();
    media.currentTime = 42;
    media.fire('waiting');
    media.fire('waiting'); // still the same stall
    vi.advanceTimersByTime(2_500);
    media.fire('playing');
    expect(types()).toEqual(['start', 'rebuffer_start', 'rebuffer_end']);
    expect(pushed[1].fields).toMatchObject({ position: 42, rung: '720p' });
    expect(pushed[2].fields).toMatchObject({ position: 42, value: 2_500 });
  });

  it('does not count seeking as rebuffering, and a seek ends a stall', () => {
    const { media, pushed, types } = tracker();
    media.play();
    media.seeking = true;
    media.fire('seeking');
    media.fire('waiting');
    media.seeking = false;
    media.fire('seeked');
    media.fire('playing');
    expect(types()).toEqual(['start']);
    media.fire('waiting');
    vi.advanceTimersByTime(700);
    media.seeking = true;
    media.fire('seeking');
    expect(types()).toEqual(['start', 'rebuffer_start', 'rebuffer_end']);
    expect(pushed[2].fields.value).toBe(700);
  });

  it('ignores waiting while paused and ends a stall on pause', () => {
    const { media, types } = tracker();
    media.play();
    media.fire('waiting');
    media.paused = true;
    media.fire('pause');
    media.fire('waiting');
    expect(types()).toEqual(['start', 'rebuffer_start', 'rebuffer_end']);
  });

  it('reports quality switches after the first frame only, once per rung', () => {
    const { t, media, pushed, types } = tracker({ rung: '480p' });
    t.quality('480p'); // hls.js picking its first level
    media.play();
    t.quality('480p');
    media.currentTime = 30;
    t.quality('1080p');
    t.quality('1080p');
    t.quality(undefined);
    expect(types()).toEqual(['start', 'quality']);
    expect(pushed[1].fields).toMatchObject({ rung: '1080p', position: 30 });
  });

  it('reports errors', () => {
    const { t, pushed } = tracker();
    t.error('networkError: fragLoadError (HTTP 503)');
    expect(pushed[0]).toMatchObject({ type: 'error', fields: { detail: 'networkError: fragLoadError (HTTP 503)' } });
  });

  it('ends once when the video ends, closing a stall first; nothing after', () => {
    const { t, media, types } = tracker();
    media.play();
    media.fire('waiting');
    media.currentTime = 60;
    media.ended = true;
    media.fire('ended');
    media.fire('playing');
    t.error('late');
    t.close();
    vi.advanceTimersByTime(30_000);
    expect(types()).toEqual(['start', 'rebuffer_start', 'rebuffer_end', 'end']);
  });

  it('on pagehide ends and flushes urgently; when hidden flushes urgently', () => {
    const { media, win, doc, sink, types } = tracker();
    media.play();
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(sink.flushes).toEqual([true]);
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(sink.flushes).toEqual([true]);
    win.dispatchEvent(new Event('pagehide'));
    expect(types()).toEqual(['start', 'end']);
    expect(sink.flushes).toEqual([true, true]);
  });

  it('close ends a requested session, detaches and closes the sink', () => {
    const { t, media, win, sink, types } = tracker();
    t.close();
    expect(types()).toEqual(['end']);
    expect(sink.closed).toBe(1);
    media.play();
    win.dispatchEvent(new Event('pagehide'));
    t.close();
    expect(types()).toEqual(['end']);
    expect(sink.closed).toBe(1);
  });

  it('sends no end for a session nobody asked to play', () => {
    const { t, types, sink } = tracker({ requestedAt: undefined });
    t.close();
    expect(types()).toEqual([]);
    expect(sink.closed).toBe(1);
  });

  it('works end to end with the reporter', async () => {
    const net = fakeFetch();
    const r = new PlaybackReporter({ session: 'abc', tokens: { getAccessToken: async () => 't' }, fetch: net.fn });
    const media = new FakeMedia();
    const t = new PlaybackTracker({ sink: r, media, rung: () => '360p', requestedAt: Date.now(), page: null });
    vi.advanceTimersByTime(400);
    media.play();
    await settle();
    expect(net.calls[0].body).toEqual({
      session: 'abc',
      events: [{ type: 'start', at: '2026-03-01T12:00:00.400Z', position: 0, rung: '360p', value: 400 }],
    });
    media.currentTime = 10;
    await vi.advanceTimersByTimeAsync(10_000); // heartbeat queued, sent by the next regular flush
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.events().map((e) => e.type)).toEqual(['start', 'heartbeat', 'heartbeat']);
    t.close();
    await settle();
    expect(net.events().map((e) => e.type)).toEqual(['start', 'heartbeat', 'heartbeat', 'end']);
  });
});
