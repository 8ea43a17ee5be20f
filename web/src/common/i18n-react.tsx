import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { LANG_STORAGE_KEY, pickLanguage, translate, type Dict, type Lang, type Vars } from './i18n';
import { en, fr, type MessageKey } from './messages';

const dicts: Record<Lang, Dict> = { fr, en: en as Dict };

export type T = (key: MessageKey, vars?: Vars) => string;

interface I18n {
  lang: Lang;
  /** BCP 47 locale for Intl: fr-FR / en-GB style. */
  locale: string;
  setLang: (l: Lang) => void;
  t: T;
}

const Ctx = createContext<I18n | null>(null);

function storedLang(): string | null {
  try {
    return window.localStorage.getItem(LANG_STORAGE_KEY);
  } catch {
    return null;
  }
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => pickLanguage(storedLang(), navigator.languages ?? [navigator.language]));
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === LANG_STORAGE_KEY) setLangState(pickLanguage(e.newValue, navigator.languages ?? []));
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);
  const setLang = useCallback((l: Lang) => {
    try {
      window.localStorage.setItem(LANG_STORAGE_KEY, l);
    } catch {
      /* private mode: the choice lasts for this page */
    }
    setLangState(l);
  }, []);
  const value = useMemo<I18n>(
    () => ({
      lang,
      locale: lang === 'fr' ? 'fr-FR' : 'en-GB',
      setLang,
      t: (key, vars) => translate(dicts, lang, key, vars),
    }),
    [lang, setLang],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}
