import { configure, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Route, Routes, useNavigate } from 'react-router-dom';
import type { Segment, SegmentDefinition } from '../api/segments';
import { SegmentPage, SegmentsPage } from './SegmentsPage';
import { renderInProject, testProject } from '../test-utils';

configure({ asyncUtilTimeout: 8000 });

vi.mock('../charts/Chart', () => ({ Chart: ({ testId }: { testId?: string }) =>
  <div data-testid={testId} /> }));

const bigList: SegmentDefinition = { kind: 'distinct_ids',
  ids: Array.from({ length: 1500 }, (_, i) => `user-${i}`) };

const segment = (id: number, definition: SegmentDefinition, size: number | null): Segment => ({
  id, name: `Segment ${id}`, description: null, definition, refresh_minutes: 60, size,
  status: 'ok', last_refresh: { at: '2026-11-20T00:00:00Z', status: 'ok', error: null },
  created_by: null, created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z',
});

let calls: { method: string; path: string; body: unknown }[];
let history: number;

beforeEach(() => {
  calls = [];
  history = 100;
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const path = url.split('?')[0]!;
    const body = init.body ? JSON.parse(String(init.body)) as unknown : null;
    calls.push({ method, path, body });
    const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status });
    const saved: Record<string, Segment> = {
      '/api/projects/shop/segments/5': segment(5, bigList, 1500),
      '/api/projects/shop/segments/6': segment(6,
        { kind: 'performed', event: 'order_completed', operator: 'gte', count: 1 }, 42),
    };
    if (method === 'PUT' && saved[path]) {
      return json({ ...saved[path], ...(body as object) });
    }
    if (method === 'POST' && path === '/api/projects/shop/segments/preview') {
      return json({ count: 7, seconds: 0.1 });
    }
    if (method === 'POST' && path === '/api/projects/shop/segments/6/refresh') {
      return json({ id: 1, segment_id: 6, status: 'ok', size: 43, at: null, started_at: null,
        finished_at: null, entered: 1, exited: 0, error: null });
    }
    if (saved[path]) return json(saved[path]);
    if (path === '/api/projects/shop/segments') {
      return json([segment(6, { kind: 'segment', id: 5 }, 42)]);
    }
    if (path.endsWith('/history')) {
      // Longer than a spread into Math.min could take.
      return json(Array.from({ length: history }, (_, i) => ({ refresh_id: i,
        at: '2026-11-20T00:00:00Z', size: i, entered: 0, exited: 0 })));
    }
    if (path.endsWith('/members')) return json({ persons: [], size: 0, has_more: false });
    return json([]);
  }));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function GoNew() {
  const navigate = useNavigate();
  return <button type="button" data-testid="go-new"
    onClick={() => navigate('/p/shop/segments/new')}>new</button>;
}

function open(path: string) {
  renderInProject(
    <>
      <GoNew />
      <Routes>
        <Route path="/p/:project/segments" element={<SegmentsPage />} />
        <Route path="/p/:project/segments/new" element={<SegmentPage />} />
        <Route path="/p/:project/segments/:segmentId" element={<SegmentPage />} />
      </Routes>
    </>,
    { path, project: testProject({ order_event: 'order_completed' }) },
  );
}

const previews = () => calls.filter((c) => c.path.endsWith('/segments/preview'));

describe('a saved segment with a long static list', { timeout: 20_000 }, () => {
  it('shows the list as a count, previews nothing and saves without the definition',
    async () => {
      open('/p/shop/segments/5');
      expect(await screen.findByTestId('tree-0-ids-summary'))
        .toHaveTextContent('1,500 ids in this list');
      expect(screen.queryByTestId('tree-0-ids')).toBeNull();
      expect(screen.getByTestId('segment-live-count')).toHaveTextContent('1,500');
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(previews()).toEqual([]);
      fireEvent.change(screen.getByTestId('segment-name'), { target: { value: 'Imported' } });
      fireEvent.click(screen.getByTestId('segment-save'));
      await waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
      const put = calls.find((c) => c.method === 'PUT')!;
      expect(put.body).toEqual({ name: 'Imported', description: '', refresh_minutes: 60 });
      // The text box on request.
      fireEvent.click(screen.getByTestId('tree-0-ids-edit'));
      expect(await screen.findByTestId('tree-0-ids')).toBeInTheDocument();
    });
});

describe('the segment builder', { timeout: 20_000 }, () => {
  it('refuses to save an emptied condition tree', async () => {
    open('/p/shop/segments/6');
    await screen.findByTestId('tree-0-remove');
    fireEvent.click(screen.getByTestId('tree-0-remove'));
    fireEvent.click(screen.getByTestId('segment-save'));
    expect(await screen.findByText(/Add a condition before saving/)).toBeInTheDocument();
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
  });

  it('sends a changed definition and previews it', async () => {
    open('/p/shop/segments/6');
    const count = await screen.findByTestId('tree-0-count');
    fireEvent.change(count, { target: { value: '3' } });
    fireEvent.blur(count);
    await waitFor(() => expect(previews()).toHaveLength(1));
    await waitFor(() => expect(screen.getByTestId('segment-live-count')).toHaveTextContent('7'));
    fireEvent.click(screen.getByTestId('segment-save'));
    await waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
    expect((calls.find((c) => c.method === 'PUT')!.body as { definition: unknown }).definition)
      .toEqual({ and: [{ kind: 'performed', event: 'order_completed', operator: 'gte',
        count: 3 }] });
  });

  it('starts afresh when going from a saved segment to a new one', async () => {
    open('/p/shop/segments/6');
    await waitFor(() => expect(screen.getByTestId('segment-name')).toHaveValue('Segment 6'));
    fireEvent.click(screen.getByTestId('go-new'));
    await waitFor(() => expect(screen.getByTestId('segment-name')).toHaveValue(''));
    expect(screen.queryByTestId('segment-size')).toBeNull();
  });

  it('says not found for an id that is not a number', async () => {
    open('/p/shop/segments/abc');
    expect(await screen.findByTestId('segment-not-found')).toHaveTextContent('This page does not exist.');
    expect(screen.queryByTestId('segment-save')).toBeNull();
  });
});

describe('the segments list', { timeout: 20_000 }, () => {
  it('draws a long history and reads it again after "Refresh now"', async () => {
    history = 200_000;
    open('/p/shop/segments');
    const spark = await screen.findByTestId('segment-spark-6');
    expect(spark.querySelector('polyline')!.getAttribute('points')!.split(' ')).toHaveLength(60);
    const reads = () => calls.filter((c) => c.path.endsWith('/segments/6/history')).length;
    expect(reads()).toBe(1);
    fireEvent.click(screen.getByTestId('segment-refresh-6'));
    await waitFor(() => expect(reads()).toBe(2));
    expect(await screen.findByText('Refreshed: 43 members')).toBeInTheDocument();
  });
});
