import { describe, expect, it } from 'vitest';
import { browserLang, en, translate, zhCN } from './dict';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dictionaries', () => {
  it('have the same keys in both languages', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('have no empty strings', () => {
    for (const [key, text] of [...Object.entries(en), ...Object.entries(zhCN)]) {
      expect(text.trim(), key).not.toBe('');
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('are translated, not copied, where the English has words', () => {
    const same = (Object.keys(en) as (keyof typeof en)[])
      .filter((key) => /[a-z]{4,}/.test(en[key].replace(/\{\w+\}/g, '')) && en[key] === zhCN[key]);
    expect(same).toEqual([]);
  });
});

describe('translate', () => {
  it('fills placeholders', () => {
    expect(translate('en', 'funnel.step', { n: 2 })).toBe('Step 2');
    expect(translate('zh-CN', 'funnel.step', { n: 2 })).toBe('第 2 步');
    expect(translate('zh-CN', 'nav.overview')).toBe('增长看板');
  });
});

describe('browserLang', () => {
  it('maps any Chinese to zh-CN and falls back to English', () => {
    expect(browserLang(['zh-TW', 'en'])).toBe('zh-CN');
    expect(browserLang(['en-US', 'zh-CN'])).toBe('en');
    expect(browserLang(['fr-FR', 'zh'])).toBe('zh-CN');
    expect(browserLang(['fr-FR'])).toBe('en');
    expect(browserLang(undefined)).toBe('en');
  });
});
