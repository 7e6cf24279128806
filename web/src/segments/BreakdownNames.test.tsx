import { configure, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Route, Routes } from 'react-router-dom';
import type { Dashboard, Insight, TrendsResult, TrendsSpec } from '../api/types';
import { DashboardPage } from '../pages/DashboardsPage';
import { InsightPage } from '../pages/InsightsPage';
import { renderInProject, testProject } from '../test-utils';

configure({ asyncUtilTimeout: 8000 });

// ECharts in jsdom is slow and draws nothing: the chart shows its series' names instead.
vi.mock('../charts/Chart', () => ({
  Chart: ({ option, testId }: { option: { series?: { name?: string }[] }; testId?: string }) => (
    <div data-testid={testId}>{(option.series ?? []).map((s) => s.name).join(' | ')}</div>
  ),
}));

const spec = (type: 'segment' | 'tag'): TrendsSpec => ({
  kind: 'trends', date_range: { last_days: 7 }, interval: 'day',
  series: [{ event: 'pay', math: 'total' }], breakdown: { key: '3', type },
});

const insight = (id: number, type: 'segment' | 'tag'): Insight => ({
  id, name: `insight ${id}`, description: null, kind: 'trends', spec: spec(type),
  created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z', created_by: null,
});

const result: TrendsResult = {
  kind: 'trends', interval: 'day', buckets: ['2026-11-22'], previous: null,
  series: ['true', 'false'].map((value, i) => ({
    label: 'pay', breakdown_value: value, values: [i + 1], total: i + 1, formula: null })),
};

const board: Dashboard = {
  id: 5, name: 'Growth', description: '', date_range: null,
  tiles: [{ insight_id: 1, x: 0, y: 0, w: 12, h: 3, insight: insight(1, 'segment') }],
  created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z',
};

beforeEach(() => {
  vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(1200);
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
    if (url === '/api/projects/shop/query') return json(result);
    if (url === '/api/projects/shop/segments') return json([{ id: 3, name: 'Buyers' }]);
    if (url === '/api/projects/shop/tags') return json([{ id: 3, name: 'VIP' }]);
    if (url === '/api/projects/shop/dashboards/5') return json(board);
    if (url === '/api/projects/shop/insights/2') return json(insight(2, 'tag'));
    if (url === '/api/projects/shop/insights') return json([]);
    return new Response('{}', { status: 404 });
  }));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function open(path: string) {
  renderInProject(
    <Routes>
      <Route path="/p/:project/dashboards/:id" element={<DashboardPage />} />
      <Route path="/p/:project/insights/:id" element={<InsightPage />} />
    </Routes>,
    { path, project: testProject({ role: 'viewer' }) },
  );
}

describe('a segment or tag breakdown', { timeout: 20_000 }, () => {
  it('reads as membership on a dashboard tile', async () => {
    open('/p/shop/dashboards/5');
    await waitFor(() => expect(screen.getByTestId('trends-chart'))
      .toHaveTextContent('pay · In Buyers | pay · Not in Buyers'));
  });

  it('reads as membership on a saved insight', async () => {
    open('/p/shop/insights/2');
    await waitFor(() => expect(screen.getByTestId('trends-chart'))
      .toHaveTextContent('pay · In VIP | pay · Not in VIP'));
    expect(screen.getByTestId('trends-table')).toHaveTextContent('pay · Not in VIP');
  });
});
