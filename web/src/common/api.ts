import { ApiError, fromFetchFailure, toApiError } from './errors';
import type {
  Category,
  Job,
  JobState,
  ListEntry,
  Me,
  Page,
  Playback,
  Progress,
  PublicConfig,
  User,
  Video,
  VideoPatch,
  VideoStatus,
} from './types';
import type { AnalyticsOverview, CountryViews, PopularVideo, VideoAnalytics } from './types';

export type Query = Record<string, string | number | boolean | undefined | null>;

/** Builds "path?a=1&b=2", leaving out empty values. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** GET /api/config: needs no token. */
export async function fetchConfig(signal?: AbortSignal): Promise<PublicConfig> {
  let res: Response;
  try {
    res = await fetch('/api/config', { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    throw fromFetchFailure(e);
  }
  const body = await readBody(res);
  if (!res.ok) throw toApiError(res.status, body);
  return body as PublicConfig;
}

export interface TokenProvider {
  /** A valid access token, or null when signed out. */
  getAccessToken(): Promise<string | null>;
  /** Called after a 401: renew once; false when that is not possible. */
  renewAfterUnauthorized(): Promise<boolean>;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  keepalive?: boolean;
}

/** The API client: bearer token, JSON, one renewal on 401, ApiError on failure. */
export class Api {
  constructor(private tokens: TokenProvider) {}

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = withQuery(path, opts.query);
    const send = async () => {
      const headers: Record<string, string> = { Accept: 'application/json' };
      const token = await this.tokens.getAccessToken();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
      try {
        return await fetch(url, {
          method,
          headers,
          body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
          signal: opts.signal,
          keepalive: opts.keepalive,
        });
      } catch (e) {
        throw fromFetchFailure(e);
      }
    };
    let res = await send();
    if (res.status === 401 && (await this.tokens.renewAfterUnauthorized())) res = await send();
    if (res.status === 204) return undefined as T;
    const body = await readBody(res);
    if (!res.ok) throw toApiError(res.status, body);
    return body as T;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal) {
    return this.request<T>('GET', path, { query, signal });
  }

  // --- catalogue ---
  videos(q: { q?: string; tag?: string; category?: string; sort?: 'newest' | 'most_viewed' | 'title'; limit?: number; cursor?: string }, signal?: AbortSignal) {
    return this.get<Page<Video>>('/api/videos', q, signal);
  }
  video(id: string, signal?: AbortSignal) {
    return this.get<Video>(`/api/videos/${encodeURIComponent(id)}`, undefined, signal);
  }
  categories(signal?: AbortSignal) {
    return this.get<Page<Category>>('/api/categories', undefined, signal);
  }
  playback(id: string, signal?: AbortSignal) {
    return this.request<Playback>('POST', `/api/videos/${encodeURIComponent(id)}/playback`, { signal });
  }

  // --- me ---
  me(signal?: AbortSignal) {
    return this.get<Me>('/api/me', undefined, signal);
  }
  /** The saved position, or null when there is none (404). */
  async progress(videoId: string, signal?: AbortSignal): Promise<Progress | null> {
    try {
      return await this.get<Progress>(`/api/me/progress/${encodeURIComponent(videoId)}`, undefined, signal);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'not_found') return null;
      throw e;
    }
  }
  saveProgress(videoId: string, p: { position: number; duration?: number; completed?: boolean }, keepalive = false) {
    return this.request<Progress>('PUT', `/api/me/progress/${encodeURIComponent(videoId)}`, { body: p, keepalive });
  }
  continueWatching(signal?: AbortSignal) {
    return this.get<Page<Progress>>('/api/me/continue', undefined, signal);
  }
  myList(signal?: AbortSignal) {
    return this.get<Page<ListEntry>>('/api/me/list', undefined, signal);
  }
  async inMyList(videoId: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.get<ListEntry>(`/api/me/list/${encodeURIComponent(videoId)}`, undefined, signal);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'not_found') return false;
      throw e;
    }
  }
  addToList(videoId: string) {
    return this.request<ListEntry>('PUT', `/api/me/list/${encodeURIComponent(videoId)}`);
  }
  removeFromList(videoId: string) {
    return this.request<void>('DELETE', `/api/me/list/${encodeURIComponent(videoId)}`);
  }

  // --- admin ---
  adminVideos(q: { q?: string; status?: VideoStatus | ''; published?: boolean; sort?: string; limit?: number; cursor?: string }, signal?: AbortSignal) {
    return this.get<Page<Video>>('/api/admin/videos', q, signal);
  }
  adminVideo(id: string, signal?: AbortSignal) {
    return this.get<Video>(`/api/admin/videos/${encodeURIComponent(id)}`, undefined, signal);
  }
  patchVideo(id: string, patch: VideoPatch) {
    return this.request<Video>('PATCH', `/api/admin/videos/${encodeURIComponent(id)}`, { body: patch });
  }
  deleteVideo(id: string) {
    return this.request<void>('DELETE', `/api/admin/videos/${encodeURIComponent(id)}`);
  }
  retryVideo(id: string) {
    return this.request<Job>('POST', `/api/admin/videos/${encodeURIComponent(id)}/retry`);
  }
  jobs(q: { state?: JobState | ''; videoId?: string; limit?: number }, signal?: AbortSignal) {
    return this.get<Page<Job>>('/api/admin/jobs', q, signal);
  }
  users(signal?: AbortSignal) {
    return this.get<Page<User>>('/api/admin/users', undefined, signal);
  }
  createUser(u: { email: string; name?: string; password: string; roles?: string[] }) {
    return this.request<User>('POST', '/api/admin/users', { body: u });
  }
  patchUser(id: string, p: { name?: string; roles?: string[]; disabled?: boolean; password?: string }) {
    return this.request<User>('PATCH', `/api/admin/users/${encodeURIComponent(id)}`, { body: p });
  }

  // --- admin analytics (from, to: RFC 3339) ---
  analyticsOverview(signal?: AbortSignal) {
    return this.get<AnalyticsOverview>('/api/admin/analytics/overview', undefined, signal);
  }
  analyticsPopular(q: { from: string; to: string; limit?: number }, signal?: AbortSignal) {
    return this.get<{ items: PopularVideo[] }>('/api/admin/analytics/popular', q, signal);
  }
  analyticsGeography(q: { from: string; to: string }, signal?: AbortSignal) {
    return this.get<{ items: CountryViews[]; unknown?: { views: number; watchSeconds: number } }>('/api/admin/analytics/geography', q, signal);
  }
  analyticsVideo(id: string, q: { from: string; to: string }, signal?: AbortSignal) {
    return this.get<VideoAnalytics>(`/api/admin/analytics/videos/${encodeURIComponent(id)}`, q, signal);
  }
}
