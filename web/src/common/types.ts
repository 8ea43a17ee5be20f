// Shapes of the Ginflix API (api/openapi.json).

export interface PublicConfig {
  productName: string;
  issuer: string;
  clientId: string;
  scopes: string[];
  streamerUrl: string;
  publicCatalog: boolean;
  managesUsers: boolean;
}

export interface Rendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  frameRate?: number;
}

export type VideoStatus = 'uploading' | 'processing' | 'ready' | 'failed';

export interface Video {
  id: string;
  title: string;
  description: string;
  tags: string[];
  category: string;
  language?: string;
  status: VideoStatus;
  published: boolean;
  duration: number;
  width?: number;
  height?: number;
  renditions?: Rendition[];
  views?: number;
  error?: string;
  createdAt?: string;
  updatedAt?: string;
  publishedAt?: string;
  posterUrl?: string;
  posterWebpUrl?: string;
  uploaderId?: string;
}

export interface Page<T> {
  items: T[];
  next: string;
}

export interface Category {
  name: string;
  count: number;
}

export interface Me {
  subject: string;
  name?: string;
  email?: string;
  roles: string[];
  admin: boolean;
}

export interface Progress {
  videoId: string;
  position: number;
  duration: number;
  completed: boolean;
  updatedAt: string;
  video?: Video;
}

export interface ListEntry {
  videoId: string;
  addedAt: string;
  video?: Video;
}

export interface Playback {
  url: string;
  expiresAt: string;
  posterUrl?: string;
  storyboardUrl?: string;
  /** Opaque id of this playback session, for POST /api/playback/events. */
  session?: string;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Job {
  id: string;
  videoId: string;
  kind: string;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  progress: number;
  etaSeconds?: number;
  error?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  runAfter: string;
}

export interface User {
  id: string;
  email: string;
  name?: string;
  roles: string[];
  disabled: boolean;
  createdAt?: string;
  updatedAt?: string;
}

export interface VideoPatch {
  title?: string;
  description?: string;
  tags?: string[];
  category?: string;
  language?: string;
  published?: boolean;
}

// --- admin analytics (GET /api/admin/analytics/...) ---

export interface AnalyticsTotals {
  views: number;
  watchSeconds: number;
  uniqueViewers: number;
}

export type AnalyticsPeriodKey = 'today' | '7d' | '30d';

export interface AnalyticsOverview {
  viewersNow: number;
  periods: Partial<Record<AnalyticsPeriodKey, AnalyticsTotals>>;
  /** hour: RFC 3339 start of the hour. */
  uploadsPerHour: { hour: string; count: number }[];
  transcode: { count: number; meanSeconds: number; p95Seconds: number };
  uploadThroughputMBps: number;
  storage: { prefix: string; bytes: number; objects: number }[];
  errors: { service: string; requests: number; errors: number; rate: number }[];
}

export interface PopularVideo extends AnalyticsTotals {
  videoId: string;
  title: string;
}

export interface CountryViews {
  /** ISO 3166-1 alpha-2 code ("FR"); unknown countries have another code. */
  country: string;
  views: number;
  watchSeconds: number;
}

export interface VideoAnalyticsHour {
  hour: string;
  views: number;
  watchSeconds: number;
  rebufferCount: number;
  rebufferSeconds: number;
  errors: number;
}

export interface VideoAnalytics {
  videoId: string;
  title: string;
  durationSeconds: number;
  series: VideoAnalyticsHour[];
  averagePercentWatched: number;
  /** percent: position in the video (0–100); viewers: how many reached it. */
  retention: { percent: number; viewers: number }[];
  startup: { p50Ms: number | null; p95Ms: number | null };
  /** Stalled time over watched time (0–1). */
  rebufferRatio: number;
  rungs: { rung: string; seconds: number }[];
  errors: { detail: string; count: number }[];
}
