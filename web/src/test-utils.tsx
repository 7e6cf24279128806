import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App as AntApp } from 'antd';
import type { ReactElement } from 'react';
import { expect } from 'vitest';
import { MemoryRouter } from 'react-router-dom';
import type { ProjectSummary } from './api/types';
import { ProjectContext } from './auth/project';
import { I18nProvider } from './i18n';
import type { Lang } from './i18n';

const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

/** Render inside the providers a screen expects, in a fixed language. */
export function renderWith(ui: ReactElement, lang: Lang = 'en') {
  return render(
    <I18nProvider lang={lang}>
      <MemoryRouter future={ROUTER_FUTURE}>{ui}</MemoryRouter>
    </I18nProvider>,
  );
}

/** The project the component tests open: shop, in Shanghai, in CNY. */
export function testProject(changes: Partial<ProjectSummary> = {}): ProjectSummary {
  return {
    name: 'shop', timezone: 'Asia/Shanghai', role: 'analyst', currency: 'CNY',
    order_event: 'order_paid', revenue_property: 'amount', ...changes,
  };
}

/** Render ``ui`` (often ``<Routes>``) as a screen of ``project`` at ``path``: the language, Ant
 * Design's app context, the project and the router a page of the console runs in. */
export function renderInProject(ui: ReactElement, { path = '/p/shop', project = testProject(),
  lang = 'en' }: { path?: string; project?: ProjectSummary; lang?: Lang } = {}) {
  return render(
    <I18nProvider lang={lang}>
      <AntApp>
        <ProjectContext.Provider value={{ project, projects: [project], reloadProjects: () => {} }}>
          <MemoryRouter initialEntries={[path]} future={ROUTER_FUTURE}>{ui}</MemoryRouter>
        </ProjectContext.Provider>
      </AntApp>
    </I18nProvider>,
  );
}

/** Open the Ant Design select ``testId`` and click its option labelled ``label``. */
export async function chooseOption(testId: string, label: string) {
  const select = screen.getByTestId(testId);
  fireEvent.mouseDown(select.querySelector('.ant-select-selector') ?? select);
  const options = await waitFor(() => {
    const found = document.querySelectorAll(
      `.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option[title="${label}"]`);
    expect(found.length).toBeGreaterThan(0);
    return found;
  });
  fireEvent.click(options[options.length - 1]!);
}
