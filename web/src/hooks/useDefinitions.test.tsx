import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import type { ReactElement } from 'react';
import type { Insight, ProjectSummary, TrendsSpec } from '../api/types';
import { ProjectContext } from '../auth/project';
import { FiltersEditor } from '../components/FiltersEditor';
import { I18nProvider } from '../i18n';
import { TrendsPage } from '../pages/TrendsPage';
import { emptyFilter } from '../spec/builders';
import { clearDefinitionCache } from './useDefinitions';

const project: ProjectSummary = {
  name: 'shop', timezone: 'Asia/Shanghai', role: 'analyst', currency: 'CNY',
  order_event: 'order_paid', revenue_property: 'amount',
};

const saved: TrendsSpec = {
  kind: 'trends', date_range: { last_days: 30 }, interval: 'day',
  series: [{ event: 'app_open', math: 'total' }],
  breakdown: { key: '$os', type: 'event', limit: 10 },
  filters: [{ key: 'plan', type: 'person', operator: 'eq', value: 'pro' }],
};

const insight: Insight = {
  id: 7, name: 'Opens by OS', description: null, kind: 'trends', spec: saved,
  created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z', created_by: null,
};

const trendsResult = {
  kind: 'trends', interval: 'day', timezone: 'Asia/Shanghai', buckets: ['2026-11-22'],
  series: [{ label: 'app_open', event: 'app_open', math: 'total', breakdown_value: null,
    values: [3], total: 3, previous_values: null, previous_total: null }],
  formulas: [],
};

/** Which paths were asked for, in order; the query's answer waits until `answerQuery()`. */
let asked: string[];
let answerQuery: () => void;

beforeEach(() => {
  clearDefinitionCache();
  asked = [];
  let release: () => void = () => undefined;
  const queryAnswered = new Promise<void>((resolve) => { release = resolve; });
  answerQuery = release;
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    const path = url.split('?')[0] ?? url;
    asked.push(path);
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
    if (path.endsWith('/insights/7')) return json(insight);
    if (path.endsWith('/query')) {
      await queryAnswered;
      return json(trendsResult);
    }
    return json([]);
  }));
});

afterEach(() => vi.unstubAllGlobals());

function inProject(ui: ReactElement, at = '/p/shop/trends') {
  return render(
    <I18nProvider lang="en">
      <MemoryRouter initialEntries={[at]}
        future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <ProjectContext.Provider value={{ project, projects: [project],
          reloadProjects: () => undefined }}>
          <Routes><Route path="/p/shop/trends" element={ui} /></Routes>
        </ProjectContext.Provider>
      </MemoryRouter>
    </I18nProvider>,
  );
}

const settle = () => act(() => new Promise((resolve) => setTimeout(resolve, 50)));

describe('definitions for the pickers', { timeout: 30_000 }, () => {
  it('asks for property names only when a property picker is opened', async () => {
    inProject(<FiltersEditor value={[{ ...emptyFilter(), key: 'plan' }]}
      onChange={() => undefined} />);
    await settle();
    expect(asked).toEqual([]);

    const picker = screen.getByTestId('filters-key-0').querySelector('input');
    expect(picker).not.toBeNull();
    fireEvent.focus(picker!);
    await waitFor(() => expect(asked).toEqual(['/api/projects/shop/property-definitions']));
  });

  it('sends a saved insight\'s query before any definitions', async () => {
    inProject(<TrendsPage />, '/p/shop/trends?insight=7');
    await waitFor(() => expect(asked).toContain('/api/projects/shop/query'));
    await settle();
    // the insight, then its query; the event names wait until the query has its answer
    expect(asked).toEqual(['/api/projects/shop/insights/7', '/api/projects/shop/query']);

    answerQuery();
    await waitFor(() => expect(screen.getByTestId('result')).toHaveAttribute('data-loading',
      'false'));
    await waitFor(() => expect(asked).toContain('/api/projects/shop/event-definitions'));
    await settle();
    // the breakdown and filter pickers are on screen but nobody opened them
    expect(asked.filter((p) => p.includes('property') || p.includes('person-properties')))
      .toEqual([]);
    expect(screen.getByTestId('breakdown-key').querySelector('input')).toHaveValue('$os');
  });

  it('asks for event names at once when an event picker is opened during a query', async () => {
    inProject(<TrendsPage />);
    await waitFor(() => expect(asked).toContain('/api/projects/shop/query'));
    await settle();
    expect(asked).not.toContain('/api/projects/shop/event-definitions');
    fireEvent.focus(screen.getByTestId('series-event-0').querySelector('input')!);
    await waitFor(() => expect(asked).toContain('/api/projects/shop/event-definitions'));
    answerQuery();
  });
});
