import { configure, fireEvent, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { translate } from '../i18n/dict';
import type { MessageKey } from '../i18n';
import { breakdownLabel } from '../results/labels';
import { buildBreakdown, buildFilters, emptyFilter } from '../spec/builders';
import type { BreakdownDraft, FilterDraft } from '../spec/builders';
import { BreakdownEditor } from './BreakdownEditor';
import { FiltersEditor } from './FiltersEditor';
import { chooseOption, renderInProject, testProject } from '../test-utils';

configure({ asyncUtilTimeout: 8000 });

const project = testProject({ order_event: 'order_completed' });

let tags: 'some' | 'missing';

beforeEach(() => {
  tags = 'some';
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
    if (url === '/api/projects/shop/segments') return json([{ id: 12, name: 'Buyers' }]);
    if (url === '/api/projects/shop/tags') {
      return tags === 'some' ? json([{ id: 5, name: 'VIP', kind: 'manual', segment_id: null }])
        : json({ error: 'not_found', message: 'Not Found' }, 404);
    }
    return json([]);
  }));
});

afterEach(() => vi.unstubAllGlobals());

function Filters() {
  const [filters, setFilters] = useState<FilterDraft[]>([emptyFilter()]);
  const [breakdown, setBreakdown] = useState<BreakdownDraft | null>(null);
  return (
    <>
      <FiltersEditor value={filters} onChange={setFilters} />
      <BreakdownEditor value={breakdown} onChange={setBreakdown} />
      <pre data-testid="filters-json">{JSON.stringify(buildFilters(filters))}</pre>
      <pre data-testid="breakdown-json">{JSON.stringify(buildBreakdown(breakdown))}</pre>
    </>
  );
}

function renderFilters() {
  renderInProject(<Filters />, { project });
}

const json = (id: string) => JSON.parse(screen.getByTestId(id).textContent ?? 'null') as unknown;

describe('segments and tags in the filters and the breakdown', () => {
  it('map "in" / "not in" a saved segment or tag to is_set / is_not_set on its id', async () => {
    renderFilters();
    await chooseOption('filters-type-0', 'Segment');
    expect(json('filters-json')).toEqual([]); // no segment chosen yet: left out
    await chooseOption('filters-key-0', 'Buyers');
    expect(json('filters-json')).toEqual([{ key: '12', type: 'segment', operator: 'is_set' }]);
    await chooseOption('filters-op-0', 'not in');
    expect(json('filters-json')).toEqual([{ key: '12', type: 'segment', operator: 'is_not_set' }]);

    await chooseOption('filters-type-0', 'Tag');
    await chooseOption('filters-key-0', 'VIP');
    expect(json('filters-json')).toEqual([{ key: '5', type: 'tag', operator: 'is_set' }]);

    // Back to a property: no id, and an operator that takes a value again.
    await chooseOption('filters-type-0', 'Person property');
    expect(screen.getByTestId('filters-value-0')).toBeInTheDocument();

    await chooseOption('breakdown-type', 'Segment');
    await chooseOption('breakdown-key', 'Buyers');
    expect(json('breakdown-json')).toMatchObject({ key: '12', type: 'segment' });
  }, 30_000);

  it('offer no tags, without an error, while the server has no tags API', async () => {
    tags = 'missing';
    renderFilters();
    await chooseOption('filters-type-0', 'Tag');
    const select = screen.getByTestId('filters-key-0');
    fireEvent.mouseDown(select.querySelector('.ant-select-selector') ?? select);
    expect(await screen.findByText('No tags yet')).toBeInTheDocument();
    expect(screen.queryByTestId('api-error')).toBeNull();
  }, 30_000);
});

describe('breakdown labels', () => {
  const t = (key: MessageKey, params?: Record<string, string | number>) =>
    translate('en', key, params);

  it('read a segment\'s or tag\'s values as membership', () => {
    const by = { type: 'segment' as const, name: 'Buyers' };
    expect(breakdownLabel('true', t, by)).toBe('In Buyers');
    expect(breakdownLabel('false', t, by)).toBe('Not in Buyers');
    expect(breakdownLabel('true', t)).toBe('true'); // a boolean property stays as it is
    expect(breakdownLabel('$none', t, by)).toBe('(none)');
    expect(translate('zh-CN', 'breakdown.in', { name: 'VIP' })).toBe('属于 VIP');
  });
});
