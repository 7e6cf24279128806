import { describe, expect, it } from 'vitest';
import {
  buildFilters, buildFunnelSpec, buildLifecycleSpec, buildOverviewSpec, buildRetentionSpec,
  buildStickinessSpec, buildTrendsSpec, defaultFunnel, defaultLifecycle, defaultRetention,
  defaultStickiness, defaultTrends, draftFunnel, draftRetention, draftTrends, withDateRange,
} from './builders';
import type { FilterDraft, FunnelDraft, TrendsDraft } from './builders';

describe('filters', () => {
  it('give each operator the JSON value type the server reads', () => {
    const drafts: FilterDraft[] = [
      { key: 'plan', type: 'person', operator: 'in', value: ['pro', ' team ', ''] },
      { key: 'price', type: 'event', operator: 'gt', value: '9.5' },
      { key: 'price', type: 'event', operator: 'between', value: ['1', '20'] },
      { key: '$os', type: 'event', operator: 'eq', value: 'iOS' },
      { key: 'coupon', type: 'event', operator: 'is_set', value: 'ignored' },
      { key: 'name', type: 'event', operator: 'regex', value: '^a.*' },
    ];
    expect(buildFilters(drafts)).toEqual([
      { key: 'plan', type: 'person', operator: 'in', value: ['pro', 'team'] },
      { key: 'price', type: 'event', operator: 'gt', value: 9.5 },
      { key: 'price', type: 'event', operator: 'between', value: [1, 20] },
      { key: '$os', type: 'event', operator: 'eq', value: 'iOS' },
      { key: 'coupon', type: 'event', operator: 'is_set' },
      { key: 'name', type: 'event', operator: 'regex', value: '^a.*' },
    ]);
  });

  it('leave out filters that are not complete yet', () => {
    expect(buildFilters([
      { key: '', type: 'event', operator: 'eq', value: 'x' },
      { key: 'a', type: 'event', operator: 'eq', value: '' },
      { key: 'b', type: 'event', operator: 'gt', value: 'abc' },
      { key: 'c', type: 'event', operator: 'between', value: ['1', ''] },
      { key: 'd', type: 'event', operator: 'in', value: [] },
    ])).toEqual([]);
  });
});

describe('trends', () => {
  it('builds the README example spec exactly', () => {
    const draft: TrendsDraft = {
      ...defaultTrends(),
      series: [
        { event: null, math: 'dau', property: '', label: '', filters: [] },
        { event: '$order', math: 'unique_persons', property: 'ignored', label: '', filters: [] },
        { event: '$order', math: 'sum', property: '', label: '', filters: [] },
      ],
      formulas: [{ expression: 'B / A', label: 'paying rate' }, { expression: ' ', label: '' }],
      filters: [{ key: 'plan', type: 'person', operator: 'in', value: ['pro', 'team'] }],
    };
    expect(buildTrendsSpec(draft)).toEqual({
      kind: 'trends', date_range: { last_days: 30 }, interval: 'day',
      series: [{ event: null, math: 'dau' }, { event: '$order', math: 'unique_persons' },
        { event: '$order', math: 'sum' }],
      formulas: [{ expression: 'B / A', label: 'paying rate' }],
      filters: [{ key: 'plan', type: 'person', operator: 'in', value: ['pro', 'team'] }],
    });
  });

  it('keeps a property for property maths, a breakdown and compare', () => {
    const draft: TrendsDraft = {
      ...defaultTrends(),
      series: [{ event: 'order_completed', math: 'p90', property: 'revenue', label: 'P90',
        filters: [{ key: 'x', type: 'event', operator: 'lt', value: '3' }] }],
      breakdown: { key: '$utm_source', type: 'event', limit: 5 },
      interval: 'week',
      date_range: { start: '2026-11-01', end: '2026-11-30' },
      compare: true,
    };
    expect(buildTrendsSpec(draft)).toEqual({
      kind: 'trends', interval: 'week', date_range: { start: '2026-11-01', end: '2026-11-30' },
      series: [{ event: 'order_completed', math: 'p90', property: 'revenue', label: 'P90',
        filters: [{ key: 'x', type: 'event', operator: 'lt', value: 3 }] }],
      breakdown: { key: '$utm_source', type: 'event', limit: 5 },
      compare: true,
    });
  });

  it('round-trips through a draft', () => {
    const spec = buildTrendsSpec({
      ...defaultTrends(),
      series: [{ event: 'a', math: 'sum', property: 'revenue', label: '', filters: [] }],
      breakdown: { key: 'plan', type: 'person', limit: 3 },
    });
    expect(buildTrendsSpec(draftTrends(spec))).toEqual(spec);
  });
});

describe('funnel', () => {
  const draft: FunnelDraft = {
    ...defaultFunnel(),
    steps: [
      { event: 'view_item', label: '', filters: [] },
      { event: '', label: '', filters: [] },
      { event: 'add_to_cart', label: 'Cart', filters: [] },
      { event: 'order_completed', label: '',
        filters: [{ key: 'revenue', type: 'event', operator: 'gt', value: '0' }] },
    ],
    exclusions: [{ event: 'refund', from_step: 1, to_step: 2 }, { event: '', from_step: 0,
      to_step: 1 }],
    breakdown: { key: '$utm_source', type: 'event', limit: 10 },
  };

  it('builds the spec, skipping steps without an event', () => {
    expect(buildFunnelSpec(draft)).toEqual({
      kind: 'funnel', date_range: { last_days: 30 }, window: { value: 7, unit: 'day' },
      mode: 'ordered',
      steps: [{ event: 'view_item' }, { event: 'add_to_cart', label: 'Cart' },
        { event: 'order_completed',
          filters: [{ key: 'revenue', type: 'event', operator: 'gt', value: 0 }] }],
      exclusions: [{ event: 'refund', from_step: 1, to_step: 2 }],
      breakdown: { key: '$utm_source', type: 'event', limit: 10 },
    });
  });

  it('asks for the persons of a step', () => {
    const spec = buildFunnelSpec(draft, { step: 2, status: 'dropped', limit: 50, offset: 100 });
    expect(spec.persons).toEqual({ step: 2, status: 'dropped', limit: 50, offset: 100 });
    expect(buildFunnelSpec(draft, { step: 1, status: 'converted' }).persons)
      .toEqual({ step: 1, status: 'converted', limit: 100, offset: 0 });
  });

  it('round-trips through a draft', () => {
    const spec = buildFunnelSpec(draft);
    expect(buildFunnelSpec(draftFunnel(spec))).toEqual(spec);
  });
});

describe('retention, lifecycle, stickiness, overview', () => {
  it('builds retention with start and return events', () => {
    const spec = buildRetentionSpec({
      ...defaultRetention(),
      start: { event: 'signup', filters: [] },
      breakdown: { key: '$utm_source', type: 'event', limit: 5 },
    });
    expect(spec).toEqual({
      kind: 'retention', date_range: { last_days: 30 }, period: 'day', periods: 14,
      start: { event: 'signup' }, start_mode: 'first_time', return_event: { event: null },
      mode: 'bounded', breakdown: { key: '$utm_source', type: 'event', limit: 5 },
    });
    expect(buildRetentionSpec(draftRetention(spec))).toEqual(spec);
  });

  it('builds lifecycle and stickiness', () => {
    expect(buildLifecycleSpec(defaultLifecycle())).toEqual(
      { kind: 'lifecycle', event: null, date_range: { last_days: 90 }, interval: 'week' });
    expect(buildStickinessSpec({ ...defaultStickiness(), event: 'app_open', compare: true }))
      .toEqual({ kind: 'stickiness', event: 'app_open', date_range: { last_days: 30 },
        interval: 'day', compare: true });
  });

  it('builds the overview and replaces a date range for a dashboard', () => {
    const overview = buildOverviewSpec({ last_days: 7 });
    expect(overview).toEqual({ kind: 'overview', date_range: { last_days: 7 } });
    expect(withDateRange(overview, { start: '2026-11-01', end: '2026-11-07' })).toEqual(
      { kind: 'overview', date_range: { start: '2026-11-01', end: '2026-11-07' } });
    expect(withDateRange(overview, null)).toBe(overview);
  });
});
