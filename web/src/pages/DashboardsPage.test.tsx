import {
  act, configure, fireEvent, screen, waitFor, within,
} from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Route, Routes } from 'react-router-dom';
import type { Dashboard, DateRange, Insight, Role, TrendsSpec } from '../api/types';
import { compactTiles, DashboardPage, moveTile, resizeTile, savedTiles } from './DashboardsPage';
import type { BoardTile } from './DashboardsPage';
import { renderInProject, testProject } from '../test-utils';

// A board's first render styles all of Ant Design's components: slow on a busy machine.
configure({ asyncUtilTimeout: 8000 });

// Charts are not what is tested here, and ECharts in jsdom takes seconds per tile.
vi.mock('../results/ResultView', () => ({
  ResultView: () => <div data-testid="tile-result" />,
}));

const trends = (date_range: DateRange, event: string): TrendsSpec => ({
  kind: 'trends', date_range, interval: 'day', series: [{ event, math: 'total' }],
});

const insight = (id: number, spec: TrendsSpec): Insight => ({
  id, name: `insight ${id}`, description: null, kind: 'trends', spec,
  created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z', created_by: null,
});

const views = insight(1, trends({ last_days: 14 }, 'view'));
const pays = insight(2, trends({ start: '2026-10-01', end: '2026-10-31' }, 'pay'));

function board(date_range: DateRange | null): Dashboard {
  return {
    id: 5, name: 'Growth', description: '', date_range,
    tiles: [{ insight_id: 1, x: 0, y: 0, w: 6, h: 3, insight: views },
      { insight_id: 2, x: 6, y: 0, w: 6, h: 3, insight: pays }],
    created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z',
  };
}

const result = {
  kind: 'trends', interval: 'day', timezone: 'Asia/Shanghai', buckets: ['2026-11-22'],
  series: [{ label: 'view', event: 'view', math: 'total', breakdown_value: null, values: [3],
    total: 3, previous_values: null, previous_total: null }],
  formulas: [],
};

/** The date range of each query the tiles sent, by event, and the bodies of each PUT. */
let ranges: Record<string, DateRange[]>;
let puts: unknown[];
let served: Dashboard;

beforeEach(() => {
  ranges = {};
  puts = [];
  // jsdom lays nothing out: give the board a desktop's width, so the grid shows.
  vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(1200);
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit) => {
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
    const body = init.body ? JSON.parse(String(init.body)) as Record<string, unknown> : null;
    if (url === '/api/projects/shop/query' && body) {
      const spec = body as unknown as TrendsSpec;
      (ranges[spec.series[0]!.event!] ??= []).push(spec.date_range);
      return json(result);
    }
    if (url === '/api/projects/shop/dashboards/5' && init.method === 'PUT' && body) {
      puts.push(body);
      served = { ...served, ...body } as Dashboard;
      if (Array.isArray(body.tiles)) {
        served.tiles = (body.tiles as Dashboard['tiles']).map(
          (tile) => ({ ...tile, insight: tile.insight_id === 1 ? views : pays }));
      }
      return json(served);
    }
    if (url === '/api/projects/shop/dashboards/5') return json(served);
    if (url === '/api/projects/shop/insights') return json([views, pays]);
    return new Response('{}', { status: 404 });
  }));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function open(role: Role, saved: DateRange | null) {
  served = board(saved);
  renderInProject(
    <Routes>
      <Route path="/p/:project/dashboards/:id" element={<DashboardPage />} />
    </Routes>,
    { path: '/p/shop/dashboards/5', project: testProject({ role }) },
  );
}

// By test id: a role query walks the whole page, charts included, and takes seconds in jsdom.
const rangeBox = () => screen.getByTestId('dashboard-range-all');

describe('a dashboard', { timeout: 20_000 }, () => {
  it('shows every tile in its saved range', async () => {
    open('viewer', { last_days: 7 });
    await waitFor(() => expect(ranges.pay).toBeDefined());
    await waitFor(() => expect(ranges.view).toBeDefined());
    expect(ranges).toEqual({ view: [{ last_days: 7 }], pay: [{ last_days: 7 }] });
    expect(rangeBox()).toBeChecked();
    expect(screen.getByTestId('dashboard-range')).toHaveTextContent('Last 7 days');
    // Laid out on the grid, where they were saved.
    expect(document.querySelectorAll('.react-grid-item')).toHaveLength(2);
  });

  it('leaves each tile its own range when none is saved', async () => {
    open('viewer', null);
    await waitFor(() => expect(Object.keys(ranges)).toHaveLength(2));
    expect(ranges).toEqual({ view: [views.spec.date_range], pay: [pays.spec.date_range] });
    expect(rangeBox()).not.toBeChecked();
    expect(screen.queryByTestId('dashboard-range')).toBeNull();
  });

  it('lets a viewer change the range for the view but not save it', async () => {
    open('viewer', { last_days: 7 });
    await waitFor(() => expect(Object.keys(ranges)).toHaveLength(2));
    fireEvent.click(rangeBox());
    await waitFor(() => expect(ranges.view).toHaveLength(2));
    expect(ranges.view![1]).toEqual(views.spec.date_range);
    expect(screen.getByTestId('dashboard-range-unsaved')).toBeInTheDocument();
    expect(screen.queryByTestId('save-dashboard-range')).toBeNull();
    expect(screen.queryByTestId('edit-dashboard')).toBeNull();
    expect(puts).toEqual([]);
  });

  it('saves the range an analyst picks, and nothing else', async () => {
    open('analyst', { last_days: 7 });
    await waitFor(() => expect(Object.keys(ranges)).toHaveLength(2));
    fireEvent.click(rangeBox());
    fireEvent.click(await screen.findByTestId('save-dashboard-range'));
    await waitFor(() => expect(puts).toEqual([{ date_range: null }]));
    await waitFor(() => expect(screen.queryByTestId('save-dashboard-range')).toBeNull());
    expect(rangeBox()).not.toBeChecked();
  });

  it('saves the layout with the range', async () => {
    open('analyst', null);
    await waitFor(() => expect(Object.keys(ranges)).toHaveLength(2));
    fireEvent.click(rangeBox()); // one range for all: the last 30 days to start with
    await waitFor(() => expect(ranges.pay).toHaveLength(2));
    expect(ranges.pay![1]).toEqual({ last_days: 30 });
    fireEvent.click(screen.getByTestId('edit-dashboard'));
    // From the keyboard: the first tile moves after the second, then takes the whole width.
    const first = screen.getByTestId('tile-1');
    fireEvent.click(within(first).getByLabelText('Move later'));
    const width = within(screen.getByTestId('tile-1')).getByLabelText('Width');
    await act(async () => {
      fireEvent.change(width, { target: { value: '12' } });
    });
    fireEvent.click(screen.getByTestId('save-dashboard'));
    await waitFor(() => expect(puts).toHaveLength(1));
    expect(puts[0]).toEqual({
      name: 'Growth', description: '', date_range: { last_days: 30 },
      tiles: [{ insight_id: 2, x: 0, y: 0, w: 6, h: 3 },
        { insight_id: 1, x: 0, y: 3, w: 12, h: 3 }],
    });
    await waitFor(() => expect(screen.queryByTestId('save-dashboard')).toBeNull());
    expect(screen.getByTestId('dashboard-range')).toHaveTextContent('Last 30 days');
  });
});

describe('laying tiles out from the keyboard', () => {
  const tile = (key: string, x: number, y: number, w: number, h = 3): BoardTile => ({
    key, insight_id: Number(key), insight: views, x, y, w, h });
  const places = (tiles: BoardTile[]) => savedTiles(tiles).map(
    ({ insight_id, x, y, w, h }) => [insight_id, x, y, w, h]);

  it('packs tiles upwards and into the 12 columns', () => {
    expect(places(compactTiles([tile('1', 10, 4, 6), tile('2', 0, 9, 20, 1)]))).toEqual(
      [[1, 6, 0, 6, 3], [2, 0, 3, 12, 2]]);
  });

  it('swaps a tile with its neighbour in reading order', () => {
    const board = [tile('1', 0, 0, 12), tile('2', 0, 3, 6), tile('3', 6, 3, 6)];
    expect(places(moveTile(board, '3', -1))).toEqual(
      [[1, 0, 0, 12, 3], [3, 0, 3, 6, 3], [2, 6, 3, 6, 3]]);
    expect(places(moveTile(board, '1', -1))).toEqual(places(board)); // first already
    expect(places(moveTile(board, '3', 1))).toEqual(places(board)); // last already
  });

  it('keeps a resized tile in its place, the later tiles making room', () => {
    const board = [tile('1', 0, 0, 4), tile('2', 4, 0, 4), tile('3', 8, 0, 4)];
    expect(places(resizeTile(board, '2', 8, 4))).toEqual(
      [[1, 0, 0, 4, 3], [2, 4, 0, 8, 4], [3, 8, 4, 4, 3]]);
    expect(places(resizeTile(board, '3', 12, 2))).toEqual(
      [[1, 0, 0, 4, 3], [2, 4, 0, 4, 3], [3, 0, 3, 12, 2]]);
  });
});
