import { describe, expect, it } from 'vitest';
import { formatBytes, formatEta, formatPercent, formatTime, percent, RateMeter } from '../../src/common/format';

describe('formatTime', () => {
  it('formats minutes and seconds as « 12:34 »', () => {
    expect(formatTime(754)).toBe('12:34');
    expect(formatTime(5)).toBe('0:05');
    expect(formatTime(60)).toBe('1:00');
    expect(formatTime(599.9)).toBe('9:59');
  });
  it('adds hours past an hour', () => {
    expect(formatTime(3600)).toBe('1:00:00');
    expect(formatTime(3723)).toBe('1:02:03');
    expect(formatTime(36000 + 61)).toBe('10:01:01');
  });
  it('treats bad input as zero', () => {
    expect(formatTime(NaN)).toBe('0:00');
    expect(formatTime(-3)).toBe('0:00');
    expect(formatTime(Infinity)).toBe('0:00');
  });
});

describe('formatEta and percent', () => {
  it('rounds an ETA up and shows unknown as a dash', () => {
    expect(formatEta(61.2)).toBe('1:02');
    expect(formatEta(null)).toBe('–');
    expect(formatEta(undefined)).toBe('–');
    expect(formatEta(-1)).toBe('–');
  });
  it('formats percentages by locale', () => {
    expect(formatPercent(45, 'fr-FR')).toMatch(/^45\s%$/); // narrow or plain no-break space, by ICU version
    expect(formatPercent(45, 'en-GB')).toBe('45%');
  });
  it('clamps percentages', () => {
    expect(percent(1, 4)).toBe(25);
    expect(percent(5, 4)).toBe(100);
    expect(percent(1, 0)).toBe(0);
  });
});

describe('formatBytes', () => {
  it('uses binary multiples with the locale’s unit and separator', () => {
    expect(formatBytes(512, 'en')).toBe('512 B');
    expect(formatBytes(1536, 'en')).toBe('1.5 KB');
    expect(formatBytes(1536, 'fr-FR')).toBe('1,5 Ko');
    expect(formatBytes(5 * 1024 ** 3, 'en')).toBe('5.0 GB');
  });
});

describe('RateMeter', () => {
  it('measures speed over its window and derives the ETA', () => {
    const m = new RateMeter(5000);
    expect(m.rate()).toBe(0);
    expect(m.eta(100)).toBeNull();
    m.add(0, 0);
    m.add(1000, 1000);
    m.add(2000, 2000);
    expect(m.rate()).toBe(1000);
    expect(m.eta(10_000)).toBe(8);
  });
  it('forgets samples older than the window', () => {
    const m = new RateMeter(2000);
    m.add(0, 0);
    m.add(100, 1000); // slow start
    m.add(10_100, 3000);
    m.add(20_100, 4000);
    expect(m.rate()).toBe(10_000);
  });
  it('starts over when the byte count goes back (a restarted upload)', () => {
    const m = new RateMeter();
    m.add(5000, 0);
    m.add(6000, 1000);
    m.add(0, 2000);
    expect(m.rate()).toBe(0);
  });
});
