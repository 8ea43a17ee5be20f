import { describe, expect, it } from 'vitest';
import {
  bucketSeries,
  bucketUnit,
  choiceFromParams,
  choiceToParams,
  countryName,
  customRange,
  dayString,
  errorLevel,
  errorRate,
  formatMs,
  formatRatio,
  formatSeconds,
  formatWatchTime,
  isRangeError,
  parseDay,
  presetRange,
  rangeQuery,
  rankCountries,
  resolveRange,
  retentionAt,
  retentionCurve,
  rungShares,
  seriesSummary,
  toRfc3339,
  withShares,
  type TimeRange,
} from '../../src/admin/analytics';

const nbsp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('time ranges', () => {
  const now = new Date('2026-03-10T15:42:17.500Z');

  it('computes the presets back from now', () => {
    expect(rangeQuery(presetRange('24h', now))).toEqual({ from: '2026-03-09T15:42:17Z', to: '2026-03-10T15:42:17Z' });
    expect(rangeQuery(presetRange('7d', now))).toEqual({ from: '2026-03-03T15:42:17Z', to: '2026-03-10T15:42:17Z' });
    expect(rangeQuery(presetRange('30d', now))).toEqual({ from: '2026-02-08T15:42:17Z', to: '2026-03-10T15:42:17Z' });
  });

  it('writes RFC 3339 in UTC without milliseconds', () => {
    expect(toRfc3339(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05Z');
  });

  it('parses days strictly, in local time', () => {
    const d = parseDay('2026-02-28')!;
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()]).toEqual([2026, 1, 28, 0]);
    expect(parseDay('2026-02-30')).toBeNull();
    expect(parseDay('2026-2-3')).toBeNull();
    expect(parseDay('')).toBeNull();
    expect(parseDay(null)).toBeNull();
    expect(dayString(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
  });

  it('makes a custom range from the start of the first day to the end of the last one', () => {
    const r = customRange('2026-03-01', '2026-03-03', now) as TimeRange;
    expect(isRangeError(r)).toBe(false);
    expect(r.from.getTime()).toBe(new Date(2026, 2, 1).getTime());
    expect(r.to.getTime()).toBe(new Date(2026, 2, 4).getTime());
  });

  it('ends a custom range that reaches today at now', () => {
    const r = customRange('2026-03-01', dayString(now), now) as TimeRange;
    expect(r.to.getTime()).toBe(now.getTime());
  });

  it('says what is wrong with a custom range', () => {
    expect(customRange('2026-03-05', '2026-03-01', now)).toBe('order');
    expect(customRange('nope', '2026-03-01', now)).toBe('invalid');
    expect(customRange('2026-03-01', undefined, now)).toBe('invalid');
    expect(customRange('2026-04-01', '2026-04-02', now)).toBe('future');
    expect(customRange('2024-01-01', '2026-03-01', now)).toBe('tooLong');
    expect(isRangeError(customRange('2025-03-10', '2026-03-09', now))).toBe(false); // a year is fine
  });

  it('reads and writes the range in the URL', () => {
    expect(choiceFromParams(new URLSearchParams(''))).toEqual({ preset: '7d' });
    expect(choiceFromParams(new URLSearchParams('range=24h'))).toEqual({ preset: '24h' });
    expect(choiceFromParams(new URLSearchParams('range=1y'))).toEqual({ preset: '7d' });
    expect(choiceFromParams(new URLSearchParams('range=custom&from=2026-03-01&to=2026-03-02'))).toEqual({
      preset: 'custom',
      fromDay: '2026-03-01',
      toDay: '2026-03-02',
    });
    expect(choiceToParams({ preset: '7d' })).toEqual({});
    expect(choiceToParams({ preset: '30d' })).toEqual({ range: '30d' });
    expect(choiceToParams({ preset: 'custom', fromDay: '2026-03-01', toDay: '2026-03-02' })).toEqual({
      range: 'custom',
      from: '2026-03-01',
      to: '2026-03-02',
    });
    expect(resolveRange({ preset: 'custom', fromDay: 'x', toDay: 'y' }, now)).toBe('invalid');
  });

  it('buckets by hour up to 3 days, by day beyond', () => {
    expect(bucketUnit(presetRange('24h', now))).toBe('hour');
    expect(bucketUnit({ from: new Date(now.getTime() - 72 * 3600e3), to: now })).toBe('hour');
    expect(bucketUnit(presetRange('7d', now))).toBe('day');
  });
});

describe('series', () => {
  it('fills the missing hours with zeros over the range and sums the rows', () => {
    const range = { from: new Date('2026-03-10T10:30:00Z'), to: new Date('2026-03-10T14:10:00Z') };
    const out = bucketSeries(
      [
        { hour: '2026-03-10T10:00:00Z', views: 2, watchSeconds: 30 },
        { hour: '2026-03-10T13:00:00Z', views: 5, watchSeconds: 100 },
        { hour: '2026-03-10T13:00:00Z', views: 1 },
        { hour: '2026-03-09T00:00:00Z', views: 99 }, // outside the range
        { hour: 'garbage', views: 7 },
      ],
      ['views', 'watchSeconds'],
      'hour',
      range,
    );
    expect(out.map((p) => [new Date(p.t).toISOString().slice(11, 16), p.views, p.watchSeconds])).toEqual([
      ['10:00', 2, 30],
      ['11:00', 0, 0],
      ['12:00', 0, 0],
      ['13:00', 6, 100],
      ['14:00', 0, 0],
    ]);
    expect(seriesSummary(out, 'views')).toEqual({ total: 8, peak: { t: Date.parse('2026-03-10T13:00:00Z'), value: 6 } });
    expect(seriesSummary(out.map((p) => ({ ...p, views: 0 })), 'views')).toEqual({ total: 0, peak: null });
  });

  it('sums hours into local days', () => {
    const from = new Date(2026, 2, 1, 12);
    const to = new Date(2026, 2, 4, 9);
    const at = (d: number, h: number) => new Date(2026, 2, d, h).toISOString();
    const out = bucketSeries(
      [
        { hour: at(1, 13), count: 1 },
        { hour: at(1, 23), count: 2 },
        { hour: at(3, 0), count: 4 },
      ],
      ['count'],
      'day',
      { from, to },
    );
    expect(out.map((p) => [new Date(p.t).getDate(), p.count])).toEqual([
      [1, 3],
      [2, 0],
      [3, 4],
      [4, 0],
    ]);
  });

  it('uses the rows’ own span without a range, and nothing without rows', () => {
    const out = bucketSeries(
      [
        { hour: '2026-03-10T12:00:00Z', count: 1 },
        { hour: '2026-03-10T09:00:00Z', count: 3 },
      ],
      ['count'],
      'hour',
    );
    expect(out.map((p) => p.count)).toEqual([3, 0, 0, 1]);
    expect(bucketSeries([], ['count'], 'hour')).toEqual([]);
  });
});

describe('display', () => {
  it('shows startup percentiles in ms below a second, in seconds above', () => {
    expect(nbsp(formatMs(850.4, 'fr-FR'))).toBe('850 ms');
    expect(nbsp(formatMs(1234, 'fr-FR'))).toBe('1,2 s');
    expect(formatMs(1234, 'en-GB')).toBe('1.2 s');
    expect(formatMs(14_400, 'en-GB')).toBe('14 s');
    expect(formatMs(null, 'en-GB')).toBe('–');
    expect(formatMs(undefined, 'en-GB')).toBe('–');
    expect(formatMs(NaN, 'en-GB')).toBe('–');
  });

  it('shows processing and watch times', () => {
    expect(formatSeconds(4.25, 'en-GB')).toBe('4.3 s');
    expect(formatSeconds(125, 'en-GB')).toBe('2 min 5 s');
    expect(formatSeconds(3780, 'en-GB')).toBe('1 h 3 min');
    expect(formatSeconds(7200, 'en-GB')).toBe('2 h');
    expect(formatSeconds(undefined, 'en-GB')).toBe('–');
    expect(formatWatchTime(0, 'fr-FR')).toBe('0 h');
    expect(formatWatchTime(45, 'fr-FR')).toBe('45 s');
    expect(formatWatchTime(720, 'fr-FR')).toBe('12 min');
    expect(nbsp(formatWatchTime(12_600, 'fr-FR'))).toBe('3,5 h');
    expect(nbsp(formatWatchTime(1234 * 3600, 'fr-FR'))).toBe('1 234 h');
  });

  it('shows ratios as percents', () => {
    expect(nbsp(formatRatio(0.0123, 'fr-FR'))).toBe('1,23 %');
    expect(formatRatio(0.0123, 'en-GB')).toBe('1.23%');
    expect(formatRatio(0.5, 'en-GB', 0)).toBe('50%');
    expect(formatRatio(-1, 'en-GB')).toBe('0%');
    expect(formatRatio(null, 'en-GB')).toBe('–');
  });

  it('computes error rates from the counts, else from the API’s rate', () => {
    expect(errorRate({ requests: 200, errors: 5, rate: 0.9 })).toBe(0.025);
    expect(errorRate({ requests: 0, errors: 0, rate: 0.03 })).toBe(0.03);
    expect(errorRate({ requests: 0, errors: 0, rate: 3 })).toBe(0.03); // a percent
    expect(errorRate({ requests: 0, errors: 0 })).toBe(0);
    expect(errorLevel(0.01)).toBe('ok');
    expect(errorLevel(0.02)).toBe('warning');
    expect(errorLevel(0.05)).toBe('critical');
  });
});

describe('countries', () => {
  it('names countries in the UI language', () => {
    expect(countryName('FR', 'fr-FR', 'Inconnu')).toBe('France');
    expect(countryName('DE', 'fr-FR', 'Inconnu')).toBe('Allemagne');
    expect(countryName('DE', 'en-GB', 'Unknown')).toBe('Germany');
    expect(countryName('us', 'en-GB', 'Unknown')).toBe('United States');
  });

  it('calls unknown and malformed codes unknown', () => {
    for (const c of ['', 'ZZ', 'XX', 'A1', 'QQQ', '12', '--']) expect(countryName(c, 'fr-FR', 'Inconnu')).toBe('Inconnu');
  });

  it('ranks countries by views with shares, unknown ones merged and last among equals', () => {
    const r = rankCountries(
      [
        { country: 'DE', views: 10, watchSeconds: 100 },
        { country: 'FR', views: 30, watchSeconds: 900 },
        { country: 'ZZ', views: 5, watchSeconds: 10 },
        { country: '', views: 5, watchSeconds: 20 },
        { country: 'BE', views: 10, watchSeconds: 50 },
        { country: 'IT', views: 0, watchSeconds: 0 },
      ],
      'fr-FR',
      'Inconnu',
    );
    expect(r.map((c) => [c.code, c.name, c.views])).toEqual([
      ['FR', 'France', 30],
      ['DE', 'Allemagne', 10],
      ['BE', 'Belgique', 10],
      ['', 'Inconnu', 10],
    ]);
    expect(r[0].share).toBeCloseTo(0.5);
    expect(r[0].bar).toBe(1);
    expect(r[1].bar).toBeCloseTo(1 / 3);
    expect(r[3].watchSeconds).toBe(30);
    expect(rankCountries([], 'fr-FR', 'Inconnu')).toEqual([]);
  });
});

describe('per-video shapes', () => {
  it('turns retention into the share of the starting viewers', () => {
    const c = retentionCurve([
      { percent: 50, viewers: 40 },
      { percent: 0, viewers: 80 },
      { percent: 100, viewers: 10 },
      { percent: 25, viewers: 60 },
    ]);
    expect(c.map((p) => [p.percent, p.remaining])).toEqual([
      [0, 100],
      [25, 75],
      [50, 50],
      [100, 12.5],
    ]);
    expect(retentionAt(c, 50)).toBe(50);
    expect(retentionAt(c, 75)).toBe(31.3);
    expect(retentionAt(c, 100)).toBe(12.5);
    expect(retentionAt([], 50)).toBeNull();
    expect(retentionCurve([])).toEqual([]);
  });

  it('orders rungs from the highest and gives their share of the time', () => {
    const r = rungShares([
      { rung: '480p', seconds: 100 },
      { rung: '1080p', seconds: 300 },
      { rung: '720p', seconds: 0 },
      { rung: 'audio', seconds: 100 },
      { rung: '480p', seconds: 100 },
    ]);
    expect(r.map((x) => [x.rung, x.seconds, Math.round(x.share * 100)])).toEqual([
      ['1080p', 300, 50],
      ['480p', 200, 33],
      ['audio', 100, 17],
    ]);
  });

  it('gives storage prefixes their share, largest first', () => {
    const s = withShares(
      [
        { prefix: 'originals/', bytes: 100 },
        { prefix: 'renditions/', bytes: 300 },
      ],
      (x) => x.bytes,
    );
    expect(s.map((x) => [x.prefix, x.share])).toEqual([
      ['renditions/', 0.75],
      ['originals/', 0.25],
    ]);
  });
});
