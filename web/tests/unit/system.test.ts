import { describe, expect, it } from 'vitest';
import {
  fieldOfParam,
  formChanged,
  formatSizeInput,
  ladderProblem,
  parseLadder,
  parseSize,
  toForm,
  validateForm,
  type Settings,
  type SettingsLimits,
} from '../../src/admin/system';
import { en, fr } from '../../src/common/messages';

const limits: SettingsLimits = {
  maxSiteNameLength: 60,
  minRungHeight: 144,
  maxRungHeight: 2160,
  maxLadderRungs: 8,
  minUploadSize: 2 ** 20,
  maxUploadSize: 2 ** 40,
  presets: ['ultrafast', 'veryfast', 'slow'],
};

const stored: Settings = {
  siteName: 'Ginflix',
  autoPublish: false,
  ladder: [1080, 720, 480, 360, 240],
  preset: 'veryfast',
  maxUploadSize: 20 * 2 ** 30,
  publicCatalog: false,
  version: 3,
};

describe('parseLadder', () => {
  it('reads commas, spaces and p suffixes', () => {
    expect(parseLadder('1080, 720 480p,360P;240')).toEqual([1080, 720, 480, 360, 240]);
    expect(parseLadder('  ')).toEqual([]);
  });
  it('refuses what is not a whole number', () => {
    expect(parseLadder('1080, 7x0')).toBeNull();
    expect(parseLadder('720.5')).toBeNull();
    expect(parseLadder('-240')).toBeNull();
  });
});

describe('ladderProblem', () => {
  it('accepts a sorted ladder within the limits', () => {
    expect(ladderProblem([2160, 144], limits)).toBeNull();
  });
  it('says what is wrong, as the server does', () => {
    expect(ladderProblem([], limits)?.key).toBe('system.err.ladderEmpty');
    expect(ladderProblem([1080, 1000, 900, 800, 720, 600, 480, 360, 240], limits)).toEqual({ key: 'system.err.ladderTooMany', vars: { max: 8 } });
    expect(ladderProblem([720, 100], limits)).toEqual({ key: 'system.err.ladderRange', vars: { rung: 100, min: 144, max: 2160 } });
    expect(ladderProblem([4320], limits)?.key).toBe('system.err.ladderRange');
    expect(ladderProblem([721], limits)?.key).toBe('system.err.ladderOdd');
    expect(ladderProblem([720, 720], limits)).toEqual({ key: 'system.err.ladderDuplicate', vars: { rung: 720 } });
    expect(ladderProblem([360, 720], limits)).toEqual({ key: 'system.err.ladderOrder', vars: { rung: 720, prev: 360 } });
  });
});

describe('sizes', () => {
  it('parses the configuration’s units, French ones too', () => {
    expect(parseSize('20GiB')).toBe(20 * 2 ** 30);
    expect(parseSize('500 MB')).toBe(500e6);
    expect(parseSize('1,5 Go')).toBe(1.5e9);
    expect(parseSize('1048576')).toBe(2 ** 20);
    expect(parseSize('2.5')).toBeNull();
    expect(parseSize('lots')).toBeNull();
    expect(parseSize('5 parsecs')).toBeNull();
  });
  it('writes the largest binary unit that divides', () => {
    expect(formatSizeInput(20 * 2 ** 30)).toBe('20GiB');
    expect(formatSizeInput(1536 * 2 ** 20)).toBe('1536MiB');
    expect(formatSizeInput(2 ** 40)).toBe('1TiB');
    expect(formatSizeInput(1000)).toBe('1000');
    expect(parseSize(formatSizeInput(3 * 2 ** 20))).toBe(3 * 2 ** 20);
  });
});

describe('validateForm', () => {
  it('builds the PUT body from a valid form, with the loaded version', () => {
    const form = { ...toForm(stored), siteName: '  Médiathèque ', ladder: '720, 360', maxUploadSize: '2 GiB' };
    const v = validateForm(form, limits, stored.version);
    expect(v.errors).toEqual({});
    expect(v.value).toEqual({
      siteName: 'Médiathèque',
      autoPublish: false,
      ladder: [720, 360],
      preset: 'veryfast',
      maxUploadSize: 2 * 2 ** 30,
      publicCatalog: false,
      version: 3,
    });
  });
  it('reports every field at fault at once', () => {
    const v = validateForm({ siteName: ' ', autoPublish: true, ladder: '360, 720', preset: 'turbo', maxUploadSize: '12 KB', publicCatalog: true }, limits, 0);
    expect(v.value).toBeUndefined();
    expect(Object.keys(v.errors).sort()).toEqual(['ladder', 'maxUploadSize', 'preset', 'siteName']);
    expect(v.errors.maxUploadSize).toEqual({ key: 'system.err.sizeSmall', vars: { min: '1MiB' } });
    expect(validateForm({ ...toForm(stored), siteName: 'x'.repeat(61) }, limits, 0).errors.siteName?.key).toBe('system.err.siteNameLong');
    expect(validateForm({ ...toForm(stored), ladder: '1080p, big' }, limits, 0).errors.ladder?.key).toBe('system.err.ladderSyntax');
    expect(validateForm({ ...toForm(stored), maxUploadSize: '2TiB' }, limits, 0).errors.maxUploadSize?.key).toBe('system.err.sizeLarge');
  });
  it('has a message for every problem in both languages', () => {
    const keys = Object.keys(fr).filter((k) => k.startsWith('system.err.') || k.startsWith('audit.action.'));
    expect(keys.length).toBeGreaterThan(20);
    for (const k of keys) expect(en[k as keyof typeof en], k).toBeTruthy();
  });
});

describe('formChanged', () => {
  it('ignores spelling that means the same', () => {
    expect(formChanged(toForm(stored), stored)).toBe(false);
    expect(formChanged({ ...toForm(stored), ladder: '1080p 720p 480 360 240', maxUploadSize: '20 GiB', siteName: ' Ginflix ' }, stored)).toBe(false);
  });
  it('sees real changes', () => {
    expect(formChanged({ ...toForm(stored), publicCatalog: true }, stored)).toBe(true);
    expect(formChanged({ ...toForm(stored), ladder: '720' }, stored)).toBe(true);
    expect(formChanged({ ...toForm(stored), maxUploadSize: '10GiB' }, stored)).toBe(true);
  });
});

describe('fieldOfParam', () => {
  it('maps the server’s params to form fields', () => {
    expect(fieldOfParam('ladder')).toBe('ladder');
    expect(fieldOfParam('version')).toBeNull();
    expect(fieldOfParam(undefined)).toBeNull();
  });
});
