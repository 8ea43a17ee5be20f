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
