// i18n core (pure; unit-tested). French is the default and the reference:
// every key exists in French; English may lack some, which then fall back
// to French, and a key missing everywhere shows as itself.

export type Lang = 'fr' | 'en';
export const LANGS: readonly Lang[] = ['fr', 'en'];
export const DEFAULT_LANG: Lang = 'fr';
export const LANG_STORAGE_KEY = 'ginflix.lang';

export type Dict = Record<string, string>;
export type Vars = Record<string, string | number>;

/**
 * The UI language: the one the user chose (stored), else the first of the
 * browser's languages we have, else French.
 */
export function pickLanguage(stored: string | null | undefined, navigatorLanguages: readonly string[]): Lang {
  if (stored && (LANGS as readonly string[]).includes(stored)) return stored as Lang;
  for (const l of navigatorLanguages) {
    const base = l.toLowerCase().split(/[-_]/)[0];
    if ((LANGS as readonly string[]).includes(base)) return base as Lang;
  }
  return DEFAULT_LANG;
}

/** Replaces {name} placeholders; unknown ones are left as they are. */
export function interpolate(s: string, vars?: Vars): string {
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

/**
 * Looks key up in lang, then in the default language, then returns the key.
 * Plural forms: with a numeric vars.count, "key_one"/"key_other" (by
 * Intl.PluralRules) are tried before "key".
 */
export function translate(dicts: Record<Lang, Dict>, lang: Lang, key: string, vars?: Vars): string {
  const candidates: string[] = [];
  if (vars && typeof vars.count === 'number') {
    const form = new Intl.PluralRules(lang).select(vars.count);
    candidates.push(`${key}_${form}`, `${key}_other`);
  }
  candidates.push(key);
  for (const l of lang === DEFAULT_LANG ? [lang] : [lang, DEFAULT_LANG]) {
    const d = dicts[l];
    for (const k of candidates) {
      const s = d?.[k];
      if (s !== undefined) return interpolate(s, vars);
    }
  }
  return key;
}
