import { configure, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter } from 'react-router-dom';
import type { PersonRow, ProjectSummary } from '../api/types';
import { ProjectContext } from '../auth/project';
import { I18nProvider } from '../i18n';
import { defaultFunnel } from '../spec/builders';
import type { FunnelDraft } from '../spec/builders';
import { FunnelPersonsDrawer } from './FunnelPage';

configure({ asyncUtilTimeout: 8000 }); // a busy machine renders Ant Design's drawer slowly

const project: ProjectSummary = {
  name: 'shop', timezone: 'Asia/Shanghai', role: 'viewer', currency: 'CNY',
  order_event: 'order_paid', revenue_property: 'amount',
};

const draft: FunnelDraft = {
  ...defaultFunnel(),
  steps: [{ event: 'view', label: '', filters: [] }, { event: 'pay', label: '', filters: [] }],
};

const summary = (person_id: number, display: string, distinct_ids: string[]): PersonRow => ({
  person_id, display, distinct_ids, first_seen: null, last_seen: null, event_count: 1,
});

let asked: string[];

beforeEach(() => {
  asked = [];
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    asked.push(url);
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
    if (url === '/api/projects/shop/query') {
      return json({ kind: 'funnel', persons: [12, 7, 99], persons_total: 3 });
    }
    if (url.startsWith('/api/projects/shop/persons?')) {
      // 99 is nobody's number now: the server leaves it out.
      return json({ has_more: false, persons: [
        summary(7, 'device-7', ['device-7']),
        summary(12, 'ann@example.com', ['anon-1', 'user-0']),
      ] });
    }
    return new Response('{}', { status: 404 });
  }));
});

afterEach(() => vi.unstubAllGlobals());

describe('the funnel persons drawer', () => {
  it('shows each person by name with the first id, linking to the profile', async () => {
    render(
      <I18nProvider lang="en">
        <ProjectContext.Provider value={{ project, projects: [project], reloadProjects: () => {} }}>
          <MemoryRouter>
            <FunnelPersonsDrawer draft={draft} query={{ step: 1, status: 'converted', offset: 0 }}
              labels={['view', 'pay']} onClose={() => {}} onPage={() => {}} />
          </MemoryRouter>
        </ProjectContext.Provider>
      </I18nProvider>,
    );
    await waitFor(() => expect(screen.getAllByTestId('funnel-person')).toHaveLength(3));
    const ids = new URL(asked.find((u) => u.includes('/persons?'))!, 'http://x')
      .searchParams.get('ids');
    expect(ids).toBe('12,7,99'); // the page of numbers the funnel answered, in its order

    const [ann, seven, unknown] = screen.getAllByTestId('funnel-person') as [
      HTMLElement, HTMLElement, HTMLElement];
    const annLink = within(ann).getByRole('link');
    expect(annLink).toHaveTextContent('ann@example.com');
    expect(annLink).toHaveAttribute('href', '/p/shop/persons/12');
    expect(ann).toHaveTextContent('anon-1');
    expect(ann).not.toHaveTextContent('#12');
    // A person named by its id shows it once.
    expect(within(seven).getByRole('link')).toHaveTextContent('device-7');
    expect(seven.textContent?.match(/device-7/g)).toHaveLength(1);
    // Without a summary the number stands in, still linking to the profile.
    expect(within(unknown).getByRole('link')).toHaveTextContent('#99');
    expect(within(unknown).getByRole('link')).toHaveAttribute('href', '/p/shop/persons/99');
  });
});
