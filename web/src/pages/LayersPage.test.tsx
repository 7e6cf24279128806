import { configure, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Route, Routes } from 'react-router-dom';
import type { Role } from '../api/types';
import type { Lang } from '../i18n';
import { LayersPage } from './LayersPage';
import { TagsPage } from './TagsPage';
import { renderInProject, testProject } from '../test-utils';

configure({ asyncUtilTimeout: 8000 });

// The numbers are in the tables; ECharts in jsdom only slows the test down.
vi.mock('../charts/Chart', () => ({ Chart: ({ testId }: { testId?: string }) =>
  <div data-testid={testId} /> }));

const rfm = [
  { group: 'important_value', label: { 'zh-CN': '重要价值客户', en: 'Champions' },
    persons: 1234, revenue: 5000, revenue_share: 0.625 },
  { group: 'general_win_back', label: { 'zh-CN': '一般挽留客户', en: 'Hibernating' },
    persons: 7, revenue: 3000, revenue_share: 0.375 },
];
const transitions = [
  { from: 'active', to: 'silent', persons: 12 },
  { from: 'churned', to: 'resurrected', persons: 3 },
  { from: '', to: 'new', persons: 40 },
];

let calls: { method: string; url: string; body: unknown }[];
let tiers: unknown;

beforeEach(() => {
  calls = [];
  tiers = null;
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const body = init.body ? JSON.parse(String(init.body)) as unknown : null;
    calls.push({ method, url, body });
    const json = (value: unknown, status = 200) =>
      new Response(JSON.stringify(value), { status });
    const path = url.split('?')[0];
    if (path === '/api/projects/shop/rfm') return json(rfm);
    if (path === '/api/projects/shop/value-tiers' && tiers) return json(tiers);
    if (path === '/api/projects/shop/segments' && method === 'POST') {
      return json({ id: 12, ...(body as object) }, 201);
    }
    if (path === '/api/projects/shop/lifecycle-stages') {
      return json({ day: '2026-11-20', counts: { new: 40, active: 100, resurrected: 3,
        silent: 20, churned: 50 } });
    }
    if (path === '/api/projects/shop/lifecycle-stages/transitions') return json(transitions);
    if (path === '/api/projects/shop/computed-properties/refresh') {
      return json({ persons: 300, rfm_scored: 90, stage_rows: 10,
        refreshed_at: '2026-11-20T08:00:00Z', seconds: 1.5 });
    }
    if (path === '/api/projects/shop/tags' && method === 'POST') {
      return json({ id: 9, ...(body as object), kind: 'manual', persons: 0 }, 201);
    }
    if (path === '/api/projects/shop/tags') {
      return json([{ id: 1, name: 'VIP', description: null, color: 'gold', kind: 'manual',
        segment_id: null, persons: 5, created_at: '2026-11-01T00:00:00Z',
        updated_at: '2026-11-01T00:00:00Z' }]);
    }
    return json({ error: 'not_found', message: 'Not Found' }, 404);
  }));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function open(screenElement: React.ReactElement, path: string, role: Role = 'analyst',
              lang: Lang = 'en') {
  renderInProject(<Routes><Route path="/p/:project/*" element={screenElement} /></Routes>,
    { path, project: testProject({ role }), lang });
}

describe('the layers screen', { timeout: 20_000 }, () => {
  it('shows the RFM groups, the stages and the week of transitions before the day', async () => {
    open(<LayersPage />, '/p/shop/layers');
    expect(await screen.findByTestId('rfm-persons-important_value')).toHaveTextContent('1,234');
    expect(screen.getByTestId('rfm-share-important_value')).toHaveTextContent('62.5%');
    expect(screen.getByTestId('rfm-group-important_value')).toHaveTextContent('重要价值客户');
    expect(await screen.findByTestId('stage-count-churned')).toHaveTextContent('50');
    expect(await screen.findByTestId('transition-active-silent')).toHaveTextContent('12');
    expect(screen.getByTestId('transition-first-new')).toHaveTextContent('40');
    expect(screen.getByTestId('transition-silent-churned')).toHaveTextContent('0');
    expect(screen.getByTestId('highlight-active-silent')).toHaveTextContent('12');
    expect(screen.getByTestId('highlight-churned-resurrected')).toHaveTextContent('3');
    const asked = calls.find((c) => c.url.includes('/transitions'))!.url;
    expect(asked).toContain('start=2026-11-14');
    expect(asked).toContain('end=2026-11-20');
    // Value tiers and people settings not served (404): said so, no error.
    expect(await screen.findByText(/Value tiers are not available/)).toBeInTheDocument();
    expect(await screen.findByText(/People settings are not available/)).toBeInTheDocument();
    expect(screen.queryByTestId('api-error')).toBeNull();
  });

  it('refreshes on demand and reads the groups again', async () => {
    open(<LayersPage />, '/p/shop/layers');
    await screen.findByTestId('rfm-persons-important_value');
    fireEvent.click(screen.getByTestId('people-refresh'));
    await waitFor(() => expect(screen.getByTestId('last-refresh'))
      .toHaveTextContent('300 persons'));
    await waitFor(() => expect(calls.filter((c) => c.url === '/api/projects/shop/rfm'))
      .toHaveLength(2));
  });

  it('names a saved RFM segment with the time to the second in the project\'s zone', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-20T16:30:45Z'));
    open(<LayersPage />, '/p/shop/layers');
    fireEvent.click(await screen.findByTestId('rfm-segment-important_value'));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    const sent = calls.find((c) => c.method === 'POST')!;
    expect(sent.url).toBe('/api/projects/shop/segments');
    // 16:30:45 UTC is 00:30:45 the next day in Asia/Shanghai.
    expect((sent.body as { name: string }).name).toMatch(/^RFM Champions .*11\/21\/2026.*00:30:45/);
  });

  it('shows a money tier metric in the project\'s currency', async () => {
    tiers = { metric: '$revenue', core_percentile: 80, threshold: 1234.5,
      refreshed_at: '2026-11-20T08:00:00Z',
      tiers: [{ tier: 'core', persons: 2, value: 5000, share: 0.8 },
        { tier: 'mass', persons: 8, value: 1250, share: 0.2 }] };
    open(<LayersPage />, '/p/shop/layers');
    expect(await screen.findByTestId('tier-rule')).toHaveTextContent('CN¥1,234.50');
    expect(screen.getByTestId('tier-table')).toHaveTextContent('CN¥5,000.00');
  });

  it('speaks Chinese', async () => {
    open(<LayersPage />, '/p/shop/layers', 'viewer', 'zh-CN');
    expect(await screen.findByText('阶段流转')).toBeInTheDocument();
    expect(await screen.findByText('活跃 → 沉默')).toBeInTheDocument();
    expect(screen.queryByTestId('people-refresh')).toBeNull(); // viewers do not refresh
  });
});

describe('the tags screen', { timeout: 20_000 }, () => {
  it('lists tags and creates a manual one', async () => {
    open(<TagsPage />, '/p/shop/tags');
    expect(await screen.findByTestId('tag-persons-1')).toHaveTextContent('5');
    fireEvent.click(screen.getByTestId('new-tag'));
    fireEvent.change(await screen.findByTestId('tag-name'), { target: { value: ' Whales ' } });
    fireEvent.click(screen.getByTestId('tag-save'));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({
      name: 'Whales', description: null, color: 'blue' });
  });
});
