import { act, render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { I18nProvider, initialLang, useI18n } from '.';

function Probe() {
  const { t, setLang, lang } = useI18n();
  return (
    <div>
      <span data-testid="text">{t('nav.overview')}</span>
      <button type="button" onClick={() => setLang(lang === 'en' ? 'zh-CN' : 'en')}>switch</button>
    </div>
  );
}

describe('language choice', () => {
  beforeEach(() => window.localStorage.clear());

  it('follows the browser until chosen, then keeps the choice', () => {
    Object.defineProperty(navigator, 'languages', { value: ['zh-CN', 'en'], configurable: true });
    expect(initialLang()).toBe('zh-CN');
    render(<I18nProvider><Probe /></I18nProvider>);
    expect(screen.getByTestId('text')).toHaveTextContent('增长看板');
    act(() => screen.getByRole('button').click());
    expect(screen.getByTestId('text')).toHaveTextContent('Overview');
    expect(window.localStorage.getItem('userops.lang')).toBe('en');
    expect(initialLang()).toBe('en');
    expect(document.documentElement.lang).toBe('en');
  });

  it('ignores a stored value that is no language of ours', () => {
    window.localStorage.setItem('userops.lang', 'fr');
    Object.defineProperty(navigator, 'languages', { value: ['en-GB'], configurable: true });
    expect(initialLang()).toBe('en');
  });
});
