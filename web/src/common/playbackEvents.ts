// Playback event reporting (framework-free; unit-tested in
// tests/unit/playbackEvents.test.ts).
//
// PlaybackReporter queues the events of one playback session and posts them
// in batches to POST /api/playback/events: every ~10 s, at once for the
// events that matter (start, error, end), and on leaving the page. Every
// request is a keepalive fetch (sendBeacon cannot carry the Authorization
// header), so a batch in flight survives the page going away. The queue is
// capped (the oldest heartbeat goes first, then the oldest event); 429 and
// 5xx back off (Retry-After when given), other 4xx drop the batch. Nothing
// here ever throws into the player.
//
// PlaybackTracker derives the events from a media element: start (startup
// time, from the play request to the first frame), heartbeats every 10 s
// while playing, rebuffering (waiting after the first frame, not while
// seeking), quality switches, errors and end.

import type { TokenProvider } from './api';

export type PlaybackEventType = 'start' | 'heartbeat' | 'rebuffer_start' | 'rebuffer_end' | 'quality' | 'error' | 'end';

export interface PlaybackEvent {
  type: PlaybackEventType;
  /** ISO time with milliseconds. */
  at: string;
  /** Position in the video, seconds. */
  position: number;
  /** The rendition playing ("720p"). */
  rung?: string;
  /** start: startup ms; rebuffer_end: stall ms. */
  value?: number;
  /** error: what failed, at most MAX_DETAIL characters. */
  detail?: string;
}

export const EVENTS_ENDPOINT = '/api/playback/events';
export const MAX_BATCH = 50;
export const MAX_DETAIL = 200;

/** What the reporter sends, minus the clock. */
export interface EventFields {
  position: number;
  rung?: string;
  value?: number;
  detail?: string;
}

type FetchLike = (url: string, init: RequestInit) => Promise<Pick<Response, 'ok' | 'status' | 'headers'>>;

export interface ReporterOptions {
  /** The `session` of POST /api/videos/{id}/playback. */
  session: string;
  /** Bearer tokens; renewAfterUnauthorized is tried once after a 401. */
  tokens: Pick<TokenProvider, 'getAccessToken'> & Partial<Pick<TokenProvider, 'renewAfterUnauthorized'>>;
  endpoint?: string;
  fetch?: FetchLike;
  now?: () => number;
  /** Regular flush period, ms (10 s). */
  flushEveryMs?: number;
  /** Events kept at most while the API cannot take them (300). */
  maxQueue?: number;
  /** Events per request (50, the API's limit). */
  maxBatch?: number;
  /** First back-off delay without Retry-After, doubled on each failure (5 s). */
  minBackoffMs?: number;
  /** Longest back-off (5 min). */
  maxBackoffMs?: number;
  /** Batches refused (4xx) in a row after which the reporter gives up (3). */
  maxRejections?: number;
}

export interface ReporterStats {
  queued: number;
  accepted: number;
  dropped: number;
  disabled: boolean;
}

/** The reporter's face the tracker needs (a fake in tests). */
export interface EventSink {
  push(type: PlaybackEventType, fields: EventFields): void;
  flush(urgent?: boolean): Promise<void>;
  close(): void;
}

const IMPORTANT: ReadonlySet<PlaybackEventType> = new Set(['start', 'error', 'end']);

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Builds an event in the API's shape: finite numbers, short detail, no empty fields. */
export function makeEvent(type: PlaybackEventType, fields: EventFields, nowMs: number): PlaybackEvent {
  const position = Number.isFinite(fields.position) && fields.position > 0 ? round(fields.position, 3) : 0;
  const e: PlaybackEvent = { type, at: new Date(nowMs).toISOString(), position };
  if (fields.rung) e.rung = fields.rung.slice(0, 32);
  if (fields.value !== undefined && Number.isFinite(fields.value)) e.value = Math.max(0, Math.round(fields.value));
  if (fields.detail) e.detail = fields.detail.slice(0, MAX_DETAIL);
  return e;
}

/**
 * Retry-After as milliseconds from now: delta-seconds or an HTTP date;
 * undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  const s = header.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

export class PlaybackReporter implements EventSink {
  private readonly o: Required<Omit<ReporterOptions, 'tokens' | 'fetch' | 'now'>> & Pick<ReporterOptions, 'tokens'>;
  private readonly doFetch: FetchLike;
  private readonly now: () => number;
  private queue: PlaybackEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDue = 0;
  private sending: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private retryAt = 0;
  private rateLimited = false;
  private rejections = 0;
  private closed = false;
  private disabled = false;
  private accepted = 0;
  private dropped = 0;

  constructor(opts: ReporterOptions) {
    this.o = {
      session: opts.session,
      tokens: opts.tokens,
      endpoint: opts.endpoint ?? EVENTS_ENDPOINT,
      flushEveryMs: opts.flushEveryMs ?? 10_000,
      maxQueue: opts.maxQueue ?? 300,
      maxBatch: Math.min(opts.maxBatch ?? MAX_BATCH, MAX_BATCH),
      minBackoffMs: opts.minBackoffMs ?? 5_000,
      maxBackoffMs: opts.maxBackoffMs ?? 300_000,
      maxRejections: opts.maxRejections ?? 3,
    };
    this.doFetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.now = opts.now ?? Date.now;
  }

  stats(): ReporterStats {
    return { queued: this.queue.length, accepted: this.accepted, dropped: this.dropped, disabled: this.disabled };
  }

  /** Queues an event; start, error and end are sent at once (end urgently). */
  push(type: PlaybackEventType, fields: EventFields): void {
    try {
      if (this.closed || this.disabled) return;
      this.queue.push(makeEvent(type, fields, this.now()));
      this.trim();
      if (type === 'end') void this.flush(true);
      else if (IMPORTANT.has(type)) void this.flush();
      else this.schedule(this.o.flushEveryMs);
    } catch {
      /* never into the player */
    }
  }

  /**
   * Sends what is queued. Normal flushes go one batch at a time and respect
   * the back-off. Urgent ones (leaving the page) send every batch at once,
   * past a back-off from server errors but not past a 429's.
   */
  flush(urgent = false): Promise<void> {
    if (this.disabled || this.queue.length === 0) return this.sending ?? Promise.resolve();
    if (urgent) {
      if (this.rateLimited && this.now() < this.retryAt) return Promise.resolve();
      const all: Promise<void>[] = [];
      while (this.queue.length) all.push(this.post(this.queue.splice(0, this.o.maxBatch)));
      return Promise.all(all).then(() => undefined);
    }
    if (this.sending) {
      this.again = true;
      return this.sending;
    }
    this.sending = this.drain().finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  /** Stops the timers and sends what is left (keepalive). Later events are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    void this.flush(true);
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      while (this.queue.length && !this.disabled) {
        const wait = this.retryAt - this.now();
        if (wait > 0) {
          this.schedule(wait);
          return;
        }
        await this.post(this.queue.splice(0, this.o.maxBatch));
      }
    } while (this.again && this.queue.length && !this.disabled);
  }

  private async request(batch: PlaybackEvent[]) {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const token = await this.o.tokens.getAccessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    return this.doFetch(this.o.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ session: this.o.session, events: batch }),
      keepalive: true,
    });
  }

  /** One batch: accepted, kept for later (429, 5xx, no answer) or dropped (other 4xx). */
  private async post(batch: PlaybackEvent[]): Promise<void> {
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.request(batch);
      if (res.status === 401 && this.o.tokens.renewAfterUnauthorized && (await this.o.tokens.renewAfterUnauthorized())) {
        res = await this.request(batch);
      }
    } catch {
      this.keep(batch, undefined, false);
      return;
    }
    if (res.ok) {
      this.failures = 0;
      this.rejections = 0;
      this.rateLimited = false;
      this.retryAt = 0;
      this.accepted += batch.length;
      return;
    }
    if (res.status === 429 || res.status === 408 || res.status >= 500) {
      let ra: string | null = null;
      try {
        ra = res.headers?.get('Retry-After') ?? null;
      } catch {
        ra = null;
      }
      this.keep(batch, retryAfterMs(ra, this.now()), res.status === 429);
      return;
    }
    this.dropped += batch.length;
    this.rejections++;
    if (this.rejections >= this.o.maxRejections) {
      // The API will not take this session's events: stop asking.
      this.disabled = true;
      this.dropped += this.queue.length;
      this.queue = [];
      this.clearTimer();
    }
  }

  /** Puts a batch back in front and backs off. */
  private keep(batch: PlaybackEvent[], retryAfter: number | undefined, rateLimited: boolean) {
    this.queue.unshift(...batch);
    this.trim();
    this.failures++;
    const delay = Math.min(
      this.o.maxBackoffMs,
      retryAfter ?? this.o.minBackoffMs * 2 ** Math.min(this.failures - 1, 16),
    );
    this.retryAt = this.now() + delay;
    this.rateLimited = rateLimited;
    if (!this.closed) this.schedule(delay);
  }

  /** Caps the queue: the oldest heartbeat goes first, then the oldest event. */
  private trim() {
    while (this.queue.length > this.o.maxQueue) {
      const hb = this.queue.findIndex((e) => e.type === 'heartbeat');
      this.queue.splice(hb >= 0 ? hb : 0, 1);
      this.dropped++;
    }
  }

  private schedule(ms: number) {
    if (this.closed || this.disabled) return;
    const due = this.now() + ms;
    if (this.timer !== undefined && this.timerDue <= due) return;
    this.clearTimer();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
  }

  private clearTimer() {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The parts of HTMLMediaElement the tracker reads. */
export interface MediaLike extends EventTarget {
  currentTime: number;
  seeking: boolean;
  paused: boolean;
  ended: boolean;
}

export interface PageLike {
  window?: EventTarget;
  document?: EventTarget & { visibilityState: string };
}

export interface TrackerOptions {
  sink: EventSink;
  media: MediaLike;
  /** The rung playing now ("720p"), if known. */
  rung: () => string | undefined;
  /** When playback was asked for (autoplay); undefined until the user presses play. */
  requestedAt?: number;
  now?: () => number;
  heartbeatMs?: number;
  /** Where pagehide and visibilitychange come from; the browser's by default, null for none. */
  page?: PageLike | null;
}

const MEDIA_EVENTS = ['playing', 'waiting', 'seeking', 'pause', 'ended'] as const;

export class PlaybackTracker {
  private readonly sink: EventSink;
  private readonly media: MediaLike;
  private readonly rung: () => string | undefined;
  private readonly now: () => number;
  private readonly heartbeatMs: number;
  private readonly page: PageLike;
  private requestedAt: number | undefined;
  private started = false;
  private ended = false;
  private closed = false;
  private stallAt: number | null = null;
  private lastRung: string | undefined;
  private beat: ReturnType<typeof setInterval> | undefined;

  constructor(o: TrackerOptions) {
    this.sink = o.sink;
    this.media = o.media;
    this.rung = o.rung;
    this.now = o.now ?? Date.now;
    this.heartbeatMs = o.heartbeatMs ?? 10_000;
    this.requestedAt = o.requestedAt;
    this.page =
      o.page === null
        ? {}
        : (o.page ?? {
            window: typeof window !== 'undefined' ? window : undefined,
            document: typeof document !== 'undefined' ? document : undefined,
          });
    for (const t of MEDIA_EVENTS) this.media.addEventListener(t, this.onMedia);
    this.page.window?.addEventListener('pagehide', this.onPageHide);
    this.page.document?.addEventListener('visibilitychange', this.onVisibility);
  }

  /** The user (or autoplay) asked to play: startup is measured from the last ask before the first frame. */
  requestPlay(): void {
    if (!this.started && !this.ended) this.requestedAt = this.now();
  }

  /** hls.js switched level. Before the first frame this only notes the rung (start carries it). */
  quality(rung: string | undefined): void {
    if (!rung || rung === this.lastRung) return;
    this.lastRung = rung;
    if (!this.started || this.ended) return;
    this.emit('quality', { rung });
  }

  /** A playback error ("networkError: fragLoadError"). */
  error(detail: string): void {
    if (this.ended) return;
    this.emit('error', { detail });
  }

  /** Ended, or leaving: closes a stall, then end. Once. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopBeat();
    if (this.stallAt !== null) this.endStall();
    this.emit('end', {});
  }

  /** Leaving the player: end (if playback was asked for), detach, send what is left. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.started || this.requestedAt !== undefined) this.end();
      this.stopBeat();
      for (const t of MEDIA_EVENTS) this.media.removeEventListener(t, this.onMedia);
      this.page.window?.removeEventListener('pagehide', this.onPageHide);
      this.page.document?.removeEventListener('visibilitychange', this.onVisibility);
    } finally {
      this.sink.close();
    }
  }

  private emit(type: PlaybackEventType, fields: Omit<EventFields, 'position'>) {
    try {
      this.sink.push(type, { position: this.media.currentTime, ...fields });
    } catch {
      /* never into the player */
    }
  }

  private onMedia = (e: Event) => {
    if (this.ended) return;
    const m = this.media;
    switch (e.type) {
      case 'playing':
        if (!this.started) {
          this.started = true;
          const rung = this.rung();
          this.lastRung = rung ?? this.lastRung;
          const value = this.requestedAt !== undefined ? this.now() - this.requestedAt : undefined;
          this.emit('start', { rung: this.lastRung, value });
        } else if (this.stallAt !== null) {
          this.endStall();
        }
        this.startBeat();
        break;
      case 'waiting':
        if (this.started && this.stallAt === null && !m.seeking && !m.paused && !m.ended) {
          this.stallAt = this.now();
          this.emit('rebuffer_start', { rung: this.rung() });
        }
        break;
      case 'seeking':
        // A seek is not a stall: a stall in progress ends here.
        if (this.stallAt !== null) this.endStall();
        break;
      case 'pause':
        this.stopBeat();
        if (this.stallAt !== null) this.endStall();
        break;
      case 'ended':
        this.end();
        break;
    }
  };

  private endStall() {
    const ms = this.now() - (this.stallAt ?? this.now());
    this.stallAt = null;
    this.emit('rebuffer_end', { rung: this.rung(), value: ms });
  }

  private startBeat() {
    if (this.beat !== undefined) return;
    this.beat = setInterval(() => {
      if (this.media.paused || this.ended) return;
      this.emit('heartbeat', { rung: this.rung() });
    }, this.heartbeatMs);
  }

  private stopBeat() {
    if (this.beat !== undefined) clearInterval(this.beat);
    this.beat = undefined;
  }

  // Leaving: end, which the reporter sends at once with keepalive. (A page
  // restored from the back/forward cache is not reported further.)
  private onPageHide = () => {
    if (this.started || this.requestedAt !== undefined) this.end();
    void this.sink.flush(true);
  };

  private onVisibility = () => {
    if (this.page.document?.visibilityState === 'hidden') void this.sink.flush(true);
  };
}
