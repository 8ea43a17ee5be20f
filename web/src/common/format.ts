// Pure formatting helpers (unit-tested in tests/unit/format.test.ts).

/** 754 → "12:34", 3723 → "1:02:03", 5 → "0:05". Bad input → "0:00". */
export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${ss}`;
  return `${m}:${ss}`;
}

const byteUnits = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 → "1.5 KB" (decimal separator by locale). */
export function formatBytes(bytes: number, locale = 'en'): string {
  if (!Number.isFinite(bytes) || bytes < 0) bytes = 0;
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < byteUnits.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 || v >= 100 ? 0 : 1;
  const unit = locale.startsWith('fr') ? byteUnits[i].replace('B', 'o') : byteUnits[i];
  return `${v.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

/** Bytes per second → "2.4 MB/s". */
export function formatSpeed(bytesPerSecond: number, locale = 'en'): string {
  return `${formatBytes(bytesPerSecond, locale)}/s`;
}

/** An ETA in seconds → "12:34" or "1:02:03"; unknown → "–". */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '–';
  return formatTime(Math.ceil(seconds));
}

/** Percent with no decimals, clamped to 0–100. */
export function percent(done: number, total: number): number {
  if (!total || !Number.isFinite(done) || !Number.isFinite(total)) return 0;
  return Math.max(0, Math.min(100, Math.round((done / total) * 100)));
}

/**
 * Measures a transfer rate over a sliding window of samples, for upload
 * speed and ETA. Pure: the caller passes the clock.
 */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  constructor(private windowMs = 5000) {}

  add(bytes: number, nowMs: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && bytes < last.bytes) this.samples = []; // restarted
    this.samples.push({ t: nowMs, bytes });
    while (this.samples.length > 2 && nowMs - this.samples[0].t > this.windowMs) this.samples.shift();
  }

  reset(): void {
    this.samples = [];
  }

  /** Bytes per second, or 0 with fewer than two samples. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const dt = (b.t - a.t) / 1000;
    return dt > 0 ? (b.bytes - a.bytes) / dt : 0;
  }

  /** Seconds left to reach total, or null when the rate is unknown. */
  eta(total: number): number | null {
    const r = this.rate();
    const last = this.samples[this.samples.length - 1];
    if (!last || r <= 0) return null;
    return Math.max(0, (total - last.bytes) / r);
  }
}

/** Date-time for tables, in the UI language. */
export function formatDateTime(iso: string | undefined, locale: string): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  return d.toLocaleString(locale, { dateStyle: 'short', timeStyle: 'short' });
}

/** 45 → "45 %" in French, "45%" in English. */
export function formatPercent(value: number, locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format((Number.isFinite(value) ? value : 0) / 100);
}
