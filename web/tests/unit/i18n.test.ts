import { describe, expect, it } from 'vitest';
import { interpolate, pickLanguage, translate, type Dict, type Lang } from '../../src/common/i18n';
import { en, fr } from '../../src/common/messages';

const dicts: Record<Lang, Dict> = {
  fr: { hello: 'Bonjour {name}', onlyFr: 'Seulement en français', 'views_one': '{count} vue', 'views_other': '{count} vues' },
  en: { hello: 'Hello {name}', 'views_one': '{count} view', 'views_other': '{count} views' },
};

describe('pickLanguage', () => {
  it('follows the stored choice first', () => {
    expect(pickLanguage('en', ['fr-FR'])).toBe('en');
    expect(pickLanguage('fr', ['en-US'])).toBe('fr');
  });
  it('then the browser’s languages, by their base', () => {
    expect(pickLanguage(null, ['en-US', 'fr'])).toBe('en');
    expect(pickLanguage(null, ['de-DE', 'fr-CA'])).toBe('fr');
    expect(pickLanguage('xx', ['en_GB'])).toBe('en');
  });
  it('defaults to French', () => {
    expect(pickLanguage(null, [])).toBe('fr');
    expect(pickLanguage(undefined, ['de', 'es'])).toBe('fr');
  });
});

describe('translate', () => {
  it('uses the language asked for, with placeholders', () => {
    expect(translate(dicts, 'en', 'hello', { name: 'Ada' })).toBe('Hello Ada');
    expect(translate(dicts, 'fr', 'hello', { name: 'Ada' })).toBe('Bonjour Ada');
  });
  it('falls back to French, then to the key', () => {
    expect(translate(dicts, 'en', 'onlyFr')).toBe('Seulement en français');
    expect(translate(dicts, 'en', 'missing.key')).toBe('missing.key');
    expect(translate(dicts, 'fr', 'missing.key')).toBe('missing.key');
  });
  it('picks plural forms by the language’s rules', () => {
    expect(translate(dicts, 'en', 'views', { count: 1 })).toBe('1 view');
    expect(translate(dicts, 'en', 'views', { count: 0 })).toBe('0 views');
    expect(translate(dicts, 'fr', 'views', { count: 0 })).toBe('0 vue'); // French: 0 is singular
    expect(translate(dicts, 'fr', 'views', { count: 2 })).toBe('2 vues');
  });
  it('leaves unknown placeholders alone', () => {
    expect(interpolate('{a} {b}', { a: 1 })).toBe('1 {b}');
  });
});

describe('the app dictionaries', () => {
  it('has every English string also in French (French is the reference)', () => {
    const missing = Object.keys(en).filter((k) => !(k in fr));
    expect(missing).toEqual([]);
  });
  it('uses the same placeholders in both languages', () => {
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
    const differ = Object.entries(en).filter(([k, v]) => ph(v!) !== ph((fr as Record<string, string>)[k]));
    expect(differ).toEqual([]);
  });
  it('falls back to French for a string English lacks', () => {
    const d: Record<Lang, Dict> = { fr, en: en as Dict };
    for (const k of Object.keys(fr).filter((k) => !(k in en))) {
      expect(translate(d, 'en', k)).toBe((fr as Record<string, string>)[k]);
    }
    expect(translate(d, 'en', 'watch.resumeAt', { time: '12:34' })).toBe('Resume at 12:34');
    expect(translate(d, 'fr', 'watch.resumeAt', { time: '12:34' })).toBe('Reprendre à 12:34');
  });
});
