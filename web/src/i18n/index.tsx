import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { ConfigProvider } from 'antd';
import { THEME } from '../theme';
import enUS from 'antd/locale/en_US';
import zhCNAntd from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { browserLang, LANGS, translate } from './dict';
import type { Lang, MessageKey } from './dict';

export type { Lang, MessageKey } from './dict';
export type T = (key: MessageKey, params?: Record<string, string | number>) => string;

const STORAGE_KEY = 'userops.lang';

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: T;
}

const I18nContext = createContext<I18n>({
  lang: 'en',
  setLang: () => undefined,
  t: (key, params) => translate('en', key, params),
});

/** The saved choice, else the browser's language. */
export function initialLang(): Lang {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved && (LANGS as string[]).includes(saved)) return saved as Lang;
  } catch {
    // storage may be unavailable (privacy mode): fall back to the browser's language
  }
  return browserLang(typeof navigator === 'undefined' ? undefined : navigator.languages);
}

export function I18nProvider({ children, lang: fixed }: { children: ReactNode; lang?: Lang }) {
  const [lang, setLangState] = useState<Lang>(fixed ?? initialLang);
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      window.localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // not persisted; the choice still holds for this page
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
    dayjs.locale(lang === 'zh-CN' ? 'zh-cn' : 'en');
  }, [lang]);
  const value = useMemo<I18n>(() => ({
    lang, setLang, t: (key, params) => translate(lang, key, params),
  }), [lang, setLang]);
  return (
    <I18nContext.Provider value={value}>
      <ConfigProvider locale={lang === 'zh-CN' ? zhCNAntd : enUS}
        theme={THEME}>
        {children}
      </ConfigProvider>
    </I18nContext.Provider>
  );
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}
