// Data shaping for the analytics pages (pure; unit-tested in
// tests/unit/analytics.test.ts): time ranges, series buckets, display of
// durations, percentiles and ratios, country names, shares.

import type { CountryViews } from '../common/types';

export type RangePreset = '24h' | '7d' | '30d' | 'custom';
export const RANGE_PRESETS: readonly Exclude<RangePreset, 'custom'>[] = ['24h', '7d', '30d'];
const PRESET_HOURS: Record<Exclude<RangePreset, 'custom'>, number> = { '24h': 24, '7d': 24 * 7, '30d': 24 * 30 };
export const DEFAULT_PRESET: Exclude<RangePreset, 'custom'> = '7d';
/** The longest custom range, days. */
export const MAX_RANGE_DAYS = 366;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface TimeRange {
  from: Date;
  to: Date;
}

export type RangeError = 'invalid' | 'order' | 'future' | 'tooLong';

/** What the URL says: ?range=24h|7d|30d, or ?range=custom&from=YYYY-MM-DD&to=YYYY-MM-DD. */
export interface RangeChoice {
  preset: RangePreset;
  /** Custom range days, local time, inclusive. */
  fromDay?: string;
  toDay?: string;
}

/** The last 24 h / 7 d / 30 d, up to now. */
export function presetRange(preset: Exclude<RangePreset, 'custom'>, now: Date): TimeRange {
  return { from: new Date(now.getTime() - PRESET_HOURS[preset] * HOUR), to: new Date(now.getTime()) };
}

/** "2026-03-01" → local midnight of that day; null unless it is a real date. */
export function parseDay(s: string | null | undefined): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s ?? '');
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  const date = new Date(y, mo, d);
  return date.getFullYear() === y && date.getMonth() === mo && date.getDate() === d ? date : null;
}

/** Local day of a date, "YYYY-MM-DD" (for date inputs). */
export function dayString(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * From the start of fromDay to the end of toDay (local time), capped at
 * now; or why not.
 */
export function customRange(fromDay: string | null | undefined, toDay: string | null | undefined, now: Date): TimeRange | RangeError {
  const from = parseDay(fromDay);
  const toStart = parseDay(toDay);
  if (!from || !toStart) return 'invalid';
  if (from > toStart) return 'order';
  if (from >= now) return 'future';
  const end = new Date(toStart.getFullYear(), toStart.getMonth(), toStart.getDate() + 1);
  const to = end > now ? new Date(now.getTime()) : end;
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY + HOUR) return 'tooLong';
  return { from, to };
}

export function isRangeError(r: TimeRange | RangeError): r is RangeError {
  return typeof r === 'string';
}

/** Reads the range from the page's query; unknown presets fall back to 7 days. */
export function choiceFromParams(params: URLSearchParams): RangeChoice {
  const r = params.get('range');
  if (r === 'custom') return { preset: 'custom', fromDay: params.get('from') ?? '', toDay: params.get('to') ?? '' };
  return { preset: (RANGE_PRESETS as readonly string[]).includes(r ?? '') ? (r as RangePreset) : DEFAULT_PRESET };
}

/** The query that stands for a choice (the default one has none). */
export function choiceToParams(c: RangeChoice): Record<string, string> {
  if (c.preset === 'custom') return { range: 'custom', from: c.fromDay ?? '', to: c.toDay ?? '' };
  return c.preset === DEFAULT_PRESET ? {} : { range: c.preset };
}

export function resolveRange(c: RangeChoice, now: Date): TimeRange | RangeError {
  return c.preset === 'custom' ? customRange(c.fromDay, c.toDay, now) : presetRange(c.preset, now);
}

/** RFC 3339 in UTC, whole seconds: "2026-03-01T12:00:00Z". */
export function toRfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function rangeQuery(r: TimeRange): { from: string; to: string } {
  return { from: toRfc3339(r.from), to: toRfc3339(r.to) };
}

export type BucketUnit = 'hour' | 'day';

/** Hours up to 3 days, days beyond. */
export function bucketUnit(r: TimeRange): BucketUnit {
  return r.to.getTime() - r.from.getTime() <= 3 * DAY ? 'hour' : 'day';
}

/** Start of the bucket t falls in: the UTC hour (the API's buckets), or the local day. */
export function bucketStart(t: number, unit: BucketUnit): number {
  if (unit === 'hour') return Math.floor(t / HOUR) * HOUR;
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function nextBucket(t: number, unit: BucketUnit): number {
  if (unit === 'hour') return t + HOUR;
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}

export type Bucketed<K extends string> = { t: number } & Record<K, number>;

/**
 * Sums hourly rows into hour or day buckets over the range, with zeros
 * where there is no row, so a chart's time axis is continuous. Without a
 * range, the rows' own span is used. Rows outside the range are left out.
 */
export function bucketSeries<K extends string>(
  rows: readonly ({ hour: string } & Partial<Record<K, number>>)[],
  keys: readonly K[],
  unit: BucketUnit,
  range?: TimeRange,
): Bucketed<K>[] {
  const times = rows.map((r) => Date.parse(r.hour)).filter((t) => Number.isFinite(t));
  if (!range && times.length === 0) return [];
  const fromMs = range ? range.from.getTime() : Math.min(...times);
  const toMs = range ? range.to.getTime() : Math.max(...times) + 1;
  const buckets = new Map<number, Bucketed<K>>();
  const out: Bucketed<K>[] = [];
  // At most ~1 year of days or ~2 months of hours: never unbounded.
  for (let t = bucketStart(fromMs, unit); t < toMs && out.length < 2000; t = nextBucket(t, unit)) {
    const b = { t } as Bucketed<K>;
    for (const k of keys) (b as Record<string, number>)[k] = 0;
    buckets.set(t, b);
    out.push(b);
  }
  for (const r of rows) {
    const t = Date.parse(r.hour);
    if (!Number.isFinite(t) || t < bucketStart(fromMs, unit) || t >= toMs) continue;
    const b = buckets.get(bucketStart(t, unit));
    if (!b) continue;
    for (const k of keys) {
      const v = r[k];
      if (typeof v === 'number' && Number.isFinite(v)) (b as Record<string, number>)[k] += v;
    }
  }
  return out;
}

/** Total and peak of one key of a series (for the charts' text summaries). */
export function seriesSummary<K extends string>(points: readonly Bucketed<K>[], key: K): { total: number; peak: { t: number; value: number } | null } {
  let total = 0;
  let peak: { t: number; value: number } | null = null;
  for (const p of points) {
    const v = p[key];
    total += v;
    if (v > 0 && (!peak || v > peak.value)) peak = { t: p.t, value: v };
  }
  return { total, peak };
}

// --- display ---

/** Milliseconds: "850 ms", "1,2 s", "14 s"; none → "–". */
export function formatMs(ms: number | null | undefined, locale: string): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms).toLocaleString(locale)} ms`;
  const s = ms / 1000;
  return `${s.toLocaleString(locale, { maximumFractionDigits: s < 10 ? 1 : 0 })} s`;
}

/** Seconds of processing: "45 s", "2 min 5 s", "1 h 3 min"; none → "–". */
export function formatSeconds(seconds: number | null | undefined, locale: string): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${seconds.toLocaleString(locale, { maximumFractionDigits: seconds < 10 ? 1 : 0 })} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m ? `${h} h ${m} min` : `${h} h`;
  return s ? `${m} min ${s} s` : `${m} min`;
}

/** Watch time: "45 s", "12 min", "3,5 h", "1 234 h". */
export function formatWatchTime(seconds: number | null | undefined, locale: string): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds <= 0) return `0 h`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const h = seconds / 3600;
  return `${h.toLocaleString(locale, { maximumFractionDigits: h < 100 ? 1 : 0 })} h`;
}

export function formatNumber(n: number | null | undefined, locale: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(n != null && Number.isFinite(n) ? n : 0);
}

/** A 0–1 ratio as a percent with up to 2 decimals: 0.0123 → "1,23 %". */
export function formatRatio(ratio: number | null | undefined, locale: string, maxDigits = 2): string {
  if (ratio == null || !Number.isFinite(ratio)) return '–';
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: maxDigits }).format(Math.max(0, ratio));
}

/** A service's error rate, 0–1: from the counts when there are requests, else the API's rate (a fraction, or a percent above 1). */
export function errorRate(row: { requests: number; errors: number; rate?: number }): number {
  if (row.requests > 0) return Math.max(0, Math.min(1, row.errors / row.requests));
  const r = row.rate ?? 0;
  if (!Number.isFinite(r) || r <= 0) return 0;
  return r > 1 ? Math.min(1, r / 100) : r;
}

/** Error rate severity, after the alerting thresholds (stream errors: 2 % warning, 5 % critical). */
export function errorLevel(rate: number): 'ok' | 'warning' | 'critical' {
  return rate >= 0.05 ? 'critical' : rate >= 0.02 ? 'warning' : 'ok';
}

// --- countries ---

const displayNames = new Map<string, Intl.DisplayNames | null>();

function regionNames(locale: string): Intl.DisplayNames | null {
  if (!displayNames.has(locale)) {
    try {
      displayNames.set(locale, new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' }));
    } catch {
      displayNames.set(locale, null);
    }
  }
  return displayNames.get(locale) ?? null;
}

/** Codes that stand for no known country (ZZ is "unknown region", XX a common placeholder). */
const UNKNOWN_CODES = new Set(['', 'ZZ', 'XX', 'XZ', 'T1', 'A1', 'A2', 'O1', '--']);

/** Whether a code names a country Intl knows. */
export function isKnownCountry(code: string, locale = 'en'): boolean {
  const c = (code ?? '').trim().toUpperCase();
  if (UNKNOWN_CODES.has(c) || !/^[A-Z]{2}$/.test(c)) return false;
  try {
    return !!regionNames(locale)?.of(c);
  } catch {
    return false;
  }
}

/** "FR" → "France" (fr) / "France" (en), "DE" → "Allemagne" / "Germany"; unknown → unknownLabel. */
export function countryName(code: string, locale: string, unknownLabel: string): string {
  const c = (code ?? '').trim().toUpperCase();
  if (!isKnownCountry(c, locale)) return unknownLabel;
  try {
    return regionNames(locale)?.of(c) ?? unknownLabel;
  } catch {
    return unknownLabel;
  }
}

export interface RankedCountry {
  /** ISO code, or "" for the unknown ones together. */
  code: string;
  name: string;
  views: number;
  watchSeconds: number;
  /** Of all views, 0–1. */
  share: number;
  /** Relative to the first, 0–1 (bar length). */
  bar: number;
}

/** Countries by views (then name), unknown codes merged into one row, last among equals. */
export function rankCountries(items: readonly CountryViews[], locale: string, unknownLabel: string): RankedCountry[] {
  const byCode = new Map<string, { views: number; watchSeconds: number }>();
  for (const it of items) {
    const raw = (it.country ?? '').trim().toUpperCase();
    const code = isKnownCountry(raw, locale) ? raw : '';
    const cur = byCode.get(code) ?? { views: 0, watchSeconds: 0 };
    cur.views += Number.isFinite(it.views) ? it.views : 0;
    cur.watchSeconds += Number.isFinite(it.watchSeconds) ? it.watchSeconds : 0;
    byCode.set(code, cur);
  }
  const total = [...byCode.values()].reduce((s, v) => s + v.views, 0);
  const rows = [...byCode.entries()]
    .filter(([, v]) => v.views > 0 || v.watchSeconds > 0)
    .map(([code, v]) => ({ code, name: code ? countryName(code, locale, unknownLabel) : unknownLabel, ...v }));
  const collator = new Intl.Collator(locale);
  rows.sort((a, b) => b.views - a.views || (a.code === '' ? 1 : 0) - (b.code === '' ? 1 : 0) || collator.compare(a.name, b.name));
  const max = rows[0]?.views ?? 0;
  return rows.map((r) => ({ ...r, share: total ? r.views / total : 0, bar: max ? r.views / max : 0 }));
}

// --- per-video shapes ---

export interface RetentionPoint {
  percent: number;
  viewers: number;
  /** Of the viewers at the start, 0–100. */
  remaining: number;
}

/** The retention curve: by position, as a share of the viewers at the first point. */
export function retentionCurve(points: readonly { percent: number; viewers: number }[]): RetentionPoint[] {
  const sorted = points
    .filter((p) => Number.isFinite(p.percent) && Number.isFinite(p.viewers))
    .map((p) => ({ percent: Math.max(0, Math.min(100, p.percent)), viewers: Math.max(0, p.viewers) }))
    .sort((a, b) => a.percent - b.percent);
  const base = Math.max(sorted[0]?.viewers ?? 0, ...sorted.map((p) => p.viewers));
  return sorted.map((p) => ({ ...p, remaining: base ? Math.round((p.viewers / base) * 1000) / 10 : 0 }));
}

/** The remaining share at a position (linear between points); null without data. */
export function retentionAt(curve: readonly RetentionPoint[], percent: number): number | null {
  if (curve.length === 0) return null;
  if (percent <= curve[0].percent) return curve[0].remaining;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1];
    const b = curve[i];
    if (percent <= b.percent) {
      const f = b.percent === a.percent ? 1 : (percent - a.percent) / (b.percent - a.percent);
      return Math.round((a.remaining + f * (b.remaining - a.remaining)) * 10) / 10;
    }
  }
  return curve[curve.length - 1].remaining;
}

export interface RungShare {
  rung: string;
  seconds: number;
  /** Of all the time, 0–1. */
  share: number;
}

function rungHeight(r: string): number {
  const m = /^(\d+)p/.exec(r);
  return m ? Number(m[1]) : -1;
}

/** Time per rung, highest rung first ("1080p", "720p"…, then the unnamed ones). */
export function rungShares(rungs: readonly { rung: string; seconds: number }[]): RungShare[] {
  const merged = new Map<string, number>();
  for (const r of rungs) {
    if (!Number.isFinite(r.seconds) || r.seconds <= 0) continue;
    merged.set(r.rung, (merged.get(r.rung) ?? 0) + r.seconds);
  }
  const total = [...merged.values()].reduce((s, v) => s + v, 0);
  return [...merged.entries()]
    .map(([rung, seconds]) => ({ rung, seconds, share: total ? seconds / total : 0 }))
    .sort((a, b) => rungHeight(b.rung) - rungHeight(a.rung) || b.seconds - a.seconds);
}

/** Items with their share of a total (storage per prefix), largest first. */
export function withShares<T>(items: readonly T[], value: (t: T) => number): (T & { share: number })[] {
  const total = items.reduce((s, it) => s + Math.max(0, value(it) || 0), 0);
  return [...items]
    .sort((a, b) => (value(b) || 0) - (value(a) || 0))
    .map((it) => ({ ...it, share: total ? Math.max(0, value(it) || 0) / total : 0 }));
}

/** A bucket's label: "14:00" (hours, short), "3 mars 14:00" (hours, long), "3 mars" (days). */
export function formatBucket(t: number, unit: BucketUnit, locale: string, long = false): string {
  const d = new Date(t);
  if (unit === 'day') return d.toLocaleDateString(locale, { day: 'numeric', month: 'short', ...(long ? { weekday: 'short' } : {}) });
  return long
    ? d.toLocaleString(locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
}
