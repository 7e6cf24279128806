import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter } from 'react-router-dom';
import { I18nProvider } from './i18n';
import type { Lang } from './i18n';

/** Render inside the providers a screen expects, in a fixed language. */
export function renderWith(ui: ReactElement, lang: Lang = 'en') {
  return render(
    <I18nProvider lang={lang}>
      <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>{ui}</MemoryRouter>
    </I18nProvider>,
  );
}
