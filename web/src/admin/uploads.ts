// Upload queue: tus 1.0 through tus-js-client, with the bearer token on
// every request, pause/resume, speed and ETA, and resumption after a page
// reload (tus-js-client stores each upload's URL in localStorage by file
// fingerprint; selecting the same file again finds it).
//
// One manager per page, outside React, so uploads go on while the admin
// looks at other pages of the app.

import * as tus from 'tus-js-client';
import { RateMeter } from '../common/format';
import { codeForStatus, type ErrorCode } from '../common/errors';
import { titleFromFilename } from './text';

export type UploadState = 'queued' | 'uploading' | 'paused' | 'done' | 'failed';

export interface UploadItem {
  key: string;
  name: string;
  size: number;
  title: string;
  state: UploadState;
  sent: number;
  speed: number; // bytes/s
  eta: number | null; // seconds
  resumedAt?: number; // percent, when an earlier upload was found
  videoId?: string;
  error?: { code: ErrorCode; message: string };
}

export interface Interrupted {
  urlStorageKey: string;
  uploadUrl: string | null;
  name: string;
  title: string;
  size: number;
  creationTime: string;
}

type Listener = () => void;

const CHUNK = 32 * 1024 * 1024;
const MAX_PARALLEL = 2;

export class UploadManager {
  private items: UploadItem[] = [];
  private uploads = new Map<string, { upload: tus.Upload; meter: RateMeter }>();
  private listeners = new Set<Listener>();
  private seq = 0;

  constructor(
    private getToken: () => Promise<string | null>,
    private endpoint = new URL('/api/uploads/', window.location.origin).toString(),
  ) {}

  subscribe = (l: Listener) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  getSnapshot = () => this.items;

  get active(): boolean {
    return this.items.some((i) => i.state === 'uploading' || i.state === 'queued');
  }

  private update(key: string, patch: Partial<UploadItem>) {
    this.items = this.items.map((i) => (i.key === key ? { ...i, ...patch } : i));
    for (const l of this.listeners) l();
  }

  add(files: File[]) {
    for (const file of files) {
      const key = `u${++this.seq}`;
      const item: UploadItem = { key, name: file.name, size: file.size, title: titleFromFilename(file.name), state: 'queued', sent: 0, speed: 0, eta: null };
      this.items = [...this.items, item];
      const meter = new RateMeter(4000);
      const upload = new tus.Upload(file, {
        endpoint: this.endpoint,
        chunkSize: CHUNK,
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
        metadata: { filename: file.name, title: item.title },
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onBeforeRequest: async (req) => {
          const token = await this.getToken();
          if (token) req.setHeader('Authorization', `Bearer ${token}`);
        },
        onProgress: (sent, total) => {
          meter.add(sent, performance.now());
          this.update(key, { sent, size: total, speed: meter.rate(), eta: meter.eta(total), state: 'uploading' });
        },
        onShouldRetry: (err) => {
          const status = err.originalResponse?.getStatus() ?? 0;
          // 401: the next try carries a renewed token; 409/423: offset race; others 4xx: final.
          return status === 0 || status === 401 || status === 409 || status === 423 || status === 429 || status >= 500;
        },
        onSuccess: ({ lastResponse }) => {
          const videoId = lastResponse.getHeader('Ginflix-Video-Id') || undefined;
          this.update(key, { state: 'done', videoId, sent: file.size, speed: 0, eta: 0 });
          this.uploads.delete(key);
          this.pump();
        },
        onError: (err) => {
          const status = (err as tus.DetailedError).originalResponse?.getStatus() ?? 0;
          const body = (err as tus.DetailedError).originalResponse?.getBody?.() ?? '';
          this.update(key, {
            state: 'failed',
            speed: 0,
            eta: null,
            error: { code: status ? codeForStatus(status) : 'network', message: body.trim() || err.message },
          });
          this.pump();
        },
      });
      this.uploads.set(key, { upload, meter });
    }
    for (const l of this.listeners) l();
    this.pump();
  }

  /** Starts queued uploads, a few at a time. */
  private pump() {
    const running = this.items.filter((i) => i.state === 'uploading').length;
    const next = this.items.filter((i) => i.state === 'queued').slice(0, Math.max(0, MAX_PARALLEL - running));
    for (const it of next) void this.begin(it.key);
  }

  private async begin(key: string) {
    const u = this.uploads.get(key);
    if (!u) return;
    this.update(key, { state: 'uploading' });
    try {
      const previous = await u.upload.findPreviousUploads();
      if (previous.length > 0) {
        const latest = previous.sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
        u.upload.resumeFromPreviousUpload(latest);
        const offset = await fetchOffset(latest.uploadUrl, this.getToken);
        if (offset !== null && latest.size) this.update(key, { resumedAt: Math.round((offset / latest.size) * 100), sent: offset });
      }
    } catch {
      /* no storage: start afresh */
    }
    u.meter.reset();
    u.upload.start();
  }

  pause(key: string) {
    const u = this.uploads.get(key);
    if (!u) return;
    void u.upload.abort(false);
    this.update(key, { state: 'paused', speed: 0, eta: null });
    this.pump();
  }

  resume(key: string) {
    const u = this.uploads.get(key);
    if (!u) return;
    u.meter.reset();
    this.update(key, { state: 'queued', error: undefined });
    this.pump();
  }

  /** Stops and deletes the upload on the server, or removes a finished row. */
  remove(key: string) {
    const u = this.uploads.get(key);
    const item = this.items.find((i) => i.key === key);
    if (u && item && item.state !== 'done') void u.upload.abort(true).catch(() => {});
    this.uploads.delete(key);
    this.items = this.items.filter((i) => i.key !== key);
    for (const l of this.listeners) l();
    this.pump();
  }

  /** Uploads of earlier pages that did not finish (their files must be chosen again). */
  async interrupted(): Promise<Interrupted[]> {
    try {
      const all = await tus.defaultOptions.urlStorage.findAllUploads();
      const current = new Set(this.items.map((i) => i.name));
      return all
        .filter((p) => !current.has(p.metadata.filename ?? ''))
        .map((p) => ({
          urlStorageKey: p.urlStorageKey,
          uploadUrl: p.uploadUrl,
          name: p.metadata.filename ?? '?',
          title: p.metadata.title ?? '',
          size: p.size ?? 0,
          creationTime: p.creationTime,
        }));
    } catch {
      return [];
    }
  }

  /** Forgets an interrupted upload and deletes it on the server. */
  async forget(p: Interrupted): Promise<void> {
    await tus.defaultOptions.urlStorage.removeUpload(p.urlStorageKey);
    if (p.uploadUrl) {
      const token = await this.getToken();
      await fetch(p.uploadUrl, {
        method: 'DELETE',
        headers: { 'Tus-Resumable': '1.0.0', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      }).catch(() => {});
    }
  }
}

/** HEAD on a tus upload: its offset, or null. */
export async function fetchOffset(uploadUrl: string | null, getToken: () => Promise<string | null>): Promise<number | null> {
  if (!uploadUrl) return null;
  try {
    const token = await getToken();
    const res = await fetch(uploadUrl, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    const off = res.ok ? Number(res.headers.get('Upload-Offset')) : NaN;
    return Number.isFinite(off) ? off : null;
  } catch {
    return null;
  }
}

let manager: UploadManager | null = null;
export function uploadManager(getToken: () => Promise<string | null>): UploadManager {
  manager ??= new UploadManager(getToken);
  return manager;
}
