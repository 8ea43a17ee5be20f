// The System and Audit pages' API calls, types and form logic. The logic is
// pure (unit-tested in tests/unit/system.test.ts); the server validates
// again and has the last word.
import type { Api } from '../common/api';
import type { MessageKey } from '../common/messages';
import type { Vars } from '../common/i18n';
import type { Page } from '../common/types';

export interface Settings {
  siteName: string;
  autoPublish: boolean;
  /** Short sides in pixels, highest first. */
  ladder: number[];
  preset: string;
  /** Bytes. */
  maxUploadSize: number;
  publicCatalog: boolean;
  /** 0 while nothing is stored: the configuration's values apply. */
  version: number;
  updatedAt?: string;
  updatedBy?: string;
}

export interface SettingsLimits {
  maxSiteNameLength: number;
  minRungHeight: number;
  maxRungHeight: number;
  maxLadderRungs: number;
  minUploadSize: number;
  maxUploadSize: number;
  presets: string[];
}

export interface SettingsPage {
  settings: Settings;
  defaults: Settings;
  limits: SettingsLimits;
  refreshSeconds: number;
}

export interface ConfigEntry {
  name: string;
  env: string;
  value: string;
  source: 'default' | 'env' | 'file' | 'flag' | 'settings';
  secret: boolean;
  setting?: string;
}

export interface ComponentHealth {
  status: 'ok' | 'unreachable';
  latencyMs: number;
}

export interface SystemStatus {
  config: ConfigEntry[];
  versions: { ginflix: string; go: string; ffmpeg: string };
  health: {
    database: ComponentHealth;
    objects: ComponentHealth;
    queue: ComponentHealth & { counts: Partial<Record<'queued' | 'running' | 'succeeded' | 'failed', number>> };
  };
  settingsRefreshSeconds: number;
}

/** The actions the audit log records (the server's fixed set). */
export const AUDIT_ACTIONS = [
  'upload.created',
  'upload.finished',
  'video.updated',
  'video.published',
  'video.unpublished',
  'video.deleted',
  'video.retried',
  'user.created',
  'user.disabled',
  'user.enabled',
  'user.role_changed',
  'settings.updated',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  id: string;
  at: string;
  actorId: string;
  actorName: string;
  actorEmail: string;
  action: AuditAction;
  targetType: 'upload' | 'video' | 'user' | 'settings';
  targetId: string;
  detail: string;
}

export function fetchSystem(api: Api, signal?: AbortSignal) {
  return api.get<SystemStatus>('/api/admin/system', undefined, signal);
}
export function fetchSettings(api: Api, signal?: AbortSignal) {
  return api.get<SettingsPage>('/api/admin/settings', undefined, signal);
}
export function saveSettings(api: Api, s: Omit<Settings, 'updatedAt' | 'updatedBy'>) {
  return api.request<SettingsPage>('PUT', '/api/admin/settings', { body: s });
}
export function fetchAudit(api: Api, q: { action?: string; target?: string; cursor?: string; limit?: number }, signal?: AbortSignal) {
  return api.get<Page<AuditEntry>>('/api/admin/audit', q, signal);
}

/** A message to show, as an i18n key with its values. */
export interface Problem {
  key: MessageKey;
  vars?: Vars;
}

/**
 * Reads a ladder typed as "1080, 720 480p": numbers separated by commas or
 * spaces, each optionally followed by "p". null when something is not a
 * whole number.
 */
export function parseLadder(text: string): number[] | null {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    const m = /^(\d{1,5})p?$/i.exec(p);
    if (!m) return null;
    out.push(Number(m[1]));
  }
  return out;
}

/** What is wrong with a ladder, as the server would say it; null when nothing. */
export function ladderProblem(ladder: number[], limits: SettingsLimits): Problem | null {
  if (ladder.length === 0) return { key: 'system.err.ladderEmpty' };
  if (ladder.length > limits.maxLadderRungs) return { key: 'system.err.ladderTooMany', vars: { max: limits.maxLadderRungs } };
  for (let i = 0; i < ladder.length; i++) {
    const h = ladder[i];
    if (h < limits.minRungHeight || h > limits.maxRungHeight)
      return { key: 'system.err.ladderRange', vars: { rung: h, min: limits.minRungHeight, max: limits.maxRungHeight } };
    if (h % 2 !== 0) return { key: 'system.err.ladderOdd', vars: { rung: h } };
    if (ladder.indexOf(h) < i) return { key: 'system.err.ladderDuplicate', vars: { rung: h } };
    if (i > 0 && h > ladder[i - 1]) return { key: 'system.err.ladderOrder', vars: { rung: h, prev: ladder[i - 1] } };
  }
  return null;
}

const UNITS: [string, number][] = [
  ['tib', 2 ** 40],
  ['gib', 2 ** 30],
  ['mib', 2 ** 20],
  ['kib', 2 ** 10],
  ['tb', 1e12],
  ['gb', 1e9],
  ['mb', 1e6],
  ['kb', 1e3],
  ['to', 1e12],
  ['go', 1e9],
  ['mo', 1e6],
  ['ko', 1e3],
  ['b', 1],
  ['o', 1],
];

/** Reads a size as the configuration writes them: "20GiB", "500 MB", "1,5 Go", "1048576". */
export function parseSize(text: string): number | null {
  const t = text.trim().toLowerCase().replace(/\s+/g, '');
  const m = /^(\d+(?:[.,]\d+)?)([a-z]*)$/.exec(t);
  if (!m) return null;
  const n = Number(m[1].replace(',', '.'));
  if (m[2] === '') return Number.isInteger(n) ? n : null;
  const unit = UNITS.find(([u]) => u === m[2]);
  if (!unit) return null;
  return Math.round(n * unit[1]);
}

/** Writes bytes as the largest binary unit that divides them: 21474836480 → "20GiB". */
export function formatSizeInput(bytes: number): string {
  for (const [u, mult] of UNITS.slice(0, 4)) {
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${u.slice(0, 1).toUpperCase()}iB`;
  }
  return String(bytes);
}

/** The settings form: what the inputs hold, as typed. */
export interface SettingsForm {
  siteName: string;
  autoPublish: boolean;
  ladder: string;
  preset: string;
  maxUploadSize: string;
  publicCatalog: boolean;
}

export type FormErrors = Partial<Record<keyof SettingsForm, Problem>>;

export function toForm(s: Settings): SettingsForm {
  return {
    siteName: s.siteName,
    autoPublish: s.autoPublish,
    ladder: s.ladder.join(', '),
    preset: s.preset,
    maxUploadSize: formatSizeInput(s.maxUploadSize),
    publicCatalog: s.publicCatalog,
  };
}

/**
 * Checks the form against the limits and builds the PUT body from the
 * version it was loaded at. Every field's problem is reported at once.
 */
export function validateForm(
  form: SettingsForm,
  limits: SettingsLimits,
  version: number,
): { errors: FormErrors; value?: Omit<Settings, 'updatedAt' | 'updatedBy'> } {
  const errors: FormErrors = {};
  const siteName = form.siteName.trim();
  if (!siteName) errors.siteName = { key: 'system.err.siteNameEmpty' };
  else if ([...siteName].length > limits.maxSiteNameLength) errors.siteName = { key: 'system.err.siteNameLong', vars: { max: limits.maxSiteNameLength } };

  const ladder = parseLadder(form.ladder);
  if (!ladder) errors.ladder = { key: 'system.err.ladderSyntax' };
  else {
    const p = ladderProblem(ladder, limits);
    if (p) errors.ladder = p;
  }

  if (!limits.presets.includes(form.preset)) errors.preset = { key: 'system.err.preset' };

  const size = parseSize(form.maxUploadSize);
  if (size === null) errors.maxUploadSize = { key: 'system.err.sizeSyntax' };
  else if (size < limits.minUploadSize) errors.maxUploadSize = { key: 'system.err.sizeSmall', vars: { min: formatSizeInput(limits.minUploadSize) } };
  else if (size > limits.maxUploadSize) errors.maxUploadSize = { key: 'system.err.sizeLarge', vars: { max: formatSizeInput(limits.maxUploadSize) } };

  if (Object.keys(errors).length > 0 || !ladder || size === null) return { errors };
  return {
    errors,
    value: { siteName, autoPublish: form.autoPublish, ladder, preset: form.preset, maxUploadSize: size, publicCatalog: form.publicCatalog, version },
  };
}

/** Whether the form differs from the settings it was loaded from. */
export function formChanged(form: SettingsForm, s: Settings): boolean {
  const a = toForm(s);
  return (Object.keys(a) as (keyof SettingsForm)[]).some((k) => {
    if (k === 'ladder') return (parseLadder(form.ladder) ?? []).join(',') !== s.ladder.join(',');
    if (k === 'maxUploadSize') return parseSize(form.maxUploadSize) !== s.maxUploadSize;
    if (k === 'siteName') return form.siteName.trim() !== s.siteName;
    return form[k] !== a[k];
  });
}

/** The form fields the server's error params name. */
export function fieldOfParam(param: string | undefined): keyof SettingsForm | null {
  switch (param) {
    case 'siteName':
    case 'autoPublish':
    case 'ladder':
    case 'preset':
    case 'maxUploadSize':
    case 'publicCatalog':
      return param;
    default:
      return null;
  }
}
