// What the builders edit (drafts: values as typed in the form) and the exact spec JSON each
// draft becomes. The server validates every spec; these functions only leave out what is
// unset and give each filter value the JSON type its operator takes, so that a spec saved from
// the console reads the same as one written by hand.

import type {
  AnalysisSpec, Breakdown, DateRange, EventSeries, FunnelMode, FunnelSpec, Interval,
  LifecycleSpec, Operator, OverviewSpec, Period, PropertyFilter, PropertyType, RetentionSpec,
  Scalar, StickinessSpec, TrendsMath, TrendsSpec, WindowUnit,
} from '../api/types';

export const OPERATORS: Operator[] = [
  'eq', 'neq', 'in', 'not_in', 'contains', 'regex', 'gt', 'gte', 'lt', 'lte', 'between',
  'is_set', 'is_not_set',
];
export const NO_VALUE: ReadonlySet<Operator> = new Set(['is_set', 'is_not_set']);
export const LIST_VALUE: ReadonlySet<Operator> = new Set(['in', 'not_in']);
export const NUMERIC: ReadonlySet<Operator> = new Set(['gt', 'gte', 'lt', 'lte', 'between']);
export const PROPERTY_MATHS: ReadonlySet<TrendsMath> =
  new Set(['sum', 'avg', 'median', 'p90', 'min', 'max']);
export const ROLLING_MATHS: ReadonlySet<TrendsMath> = new Set(['wau', 'mau']);
export const MATHS: TrendsMath[] = [
  'total', 'unique_persons', 'dau', 'wau', 'mau', 'per_person_avg', 'first_time',
  'sum', 'avg', 'median', 'p90', 'min', 'max',
];

/** A filter as the form holds it: text as typed; a list for in/not_in and [low, high]. */
export interface FilterDraft {
  key: string;
  type: PropertyType;
  operator: Operator;
  value: string | string[];
}

export interface BreakdownDraft {
  key: string;
  type: PropertyType;
  limit: number;
}

export const emptyFilter = (): FilterDraft =>
  ({ key: '', type: 'event', operator: 'eq', value: '' });

/** The value's JSON as the server reads it for this operator; undefined: the filter is not
 * complete yet and is left out. */
function filterValue(draft: FilterDraft): Scalar | Scalar[] | null | undefined {
  const { operator, value } = draft;
  if (NO_VALUE.has(operator)) return null;
  const list = (Array.isArray(value) ? value : [value]).map((v) => v.trim());
  if (operator === 'between') {
    const [low, high] = list.map(Number);
    if (list.length !== 2 || list.some((v) => v === '') || !Number.isFinite(low)
        || !Number.isFinite(high)) return undefined;
    return [low as number, high as number];
  }
  if (NUMERIC.has(operator)) {
    const number = Number(list[0]);
    return list[0] !== '' && list[0] !== undefined && Number.isFinite(number) ? number : undefined;
  }
  if (LIST_VALUE.has(operator)) {
    const values = list.filter((v) => v !== '');
    return values.length ? values : undefined;
  }
  const text = list[0] ?? '';
  return text === '' ? undefined : text;
}

/** The complete filters, as spec JSON: `{key, type, operator}` plus `value` when it takes one. */
export function buildFilters(drafts: FilterDraft[]): PropertyFilter[] {
  const filters: PropertyFilter[] = [];
  for (const draft of drafts) {
    const key = draft.key.trim();
    if (!key) continue;
    const value = filterValue(draft);
    if (value === undefined) continue;
    const filter: PropertyFilter = { key, type: draft.type, operator: draft.operator };
    if (value !== null) filter.value = value;
    filters.push(filter);
  }
  return filters;
}

export function draftFilters(filters: PropertyFilter[] | undefined): FilterDraft[] {
  return (filters ?? []).map((f) => {
    const operator = f.operator ?? 'eq';
    const value = f.value;
    return {
      key: f.key,
      type: f.type ?? 'event',
      operator,
      value: Array.isArray(value) ? value.map(String)
        : value === null || value === undefined ? '' : String(value),
    };
  });
}

export function buildBreakdown(draft: BreakdownDraft | null): Breakdown | null {
  if (!draft || !draft.key.trim()) return null;
  return { key: draft.key.trim(), type: draft.type, limit: draft.limit };
}

export function draftBreakdown(breakdown: Breakdown | null | undefined): BreakdownDraft | null {
  if (!breakdown) return null;
  return { key: breakdown.key, type: breakdown.type ?? 'event', limit: breakdown.limit ?? 10 };
}

// ---- trends --------------------------------------------------------------------------------

export interface SeriesDraft {
  event: string | null;
  math: TrendsMath;
  property: string;
  label: string;
  filters: FilterDraft[];
}

export interface TrendsDraft {
  series: SeriesDraft[];
  formulas: { expression: string; label: string }[];
  filters: FilterDraft[];
  breakdown: BreakdownDraft | null;
  interval: Interval;
  date_range: DateRange;
  compare: boolean;
}

export const defaultTrends = (): TrendsDraft => ({
  series: [{ event: null, math: 'dau', property: '', label: '', filters: [] }],
  formulas: [],
  filters: [],
  breakdown: null,
  interval: 'day',
  date_range: { last_days: 30 },
  compare: false,
});

export function buildTrendsSpec(draft: TrendsDraft): TrendsSpec {
  const series = draft.series.map((s): EventSeries => {
    const one: EventSeries = { event: s.event, math: s.math };
    if (PROPERTY_MATHS.has(s.math) && s.property.trim()) one.property = s.property.trim();
    const filters = buildFilters(s.filters);
    if (filters.length) one.filters = filters;
    if (s.label.trim()) one.label = s.label.trim();
    return one;
  });
  const spec: TrendsSpec = {
    kind: 'trends', series, date_range: draft.date_range, interval: draft.interval,
  };
  const filters = buildFilters(draft.filters);
  if (filters.length) spec.filters = filters;
  const formulas = draft.formulas.filter((f) => f.expression.trim())
    .map((f) => (f.label.trim() ? { expression: f.expression.trim(), label: f.label.trim() }
      : { expression: f.expression.trim() }));
  if (formulas.length) spec.formulas = formulas;
  const breakdown = buildBreakdown(draft.breakdown);
  if (breakdown) spec.breakdown = breakdown;
  if (draft.compare) spec.compare = true;
  return spec;
}

export function draftTrends(spec: TrendsSpec): TrendsDraft {
  return {
    series: spec.series.map((s) => ({
      event: s.event ?? null, math: s.math ?? 'total', property: s.property ?? '',
      label: s.label ?? '', filters: draftFilters(s.filters),
    })),
    formulas: (spec.formulas ?? []).map((f) => ({ expression: f.expression, label: f.label ?? '' })),
    filters: draftFilters(spec.filters),
    breakdown: draftBreakdown(spec.breakdown),
    interval: spec.interval ?? 'day',
    date_range: spec.date_range,
    compare: spec.compare ?? false,
  };
}

// ---- funnel --------------------------------------------------------------------------------

export interface StepDraft {
  event: string;
  label: string;
  filters: FilterDraft[];
}

export interface ExclusionDraft {
  event: string;
  from_step: number;
  to_step: number;
}

export interface FunnelDraft {
  steps: StepDraft[];
  window: { value: number; unit: WindowUnit };
  mode: FunnelMode;
  exclusions: ExclusionDraft[];
  filters: FilterDraft[];
  breakdown: BreakdownDraft | null;
  date_range: DateRange;
}

export const defaultFunnel = (): FunnelDraft => ({
  steps: [{ event: '', label: '', filters: [] }, { event: '', label: '', filters: [] }],
  window: { value: 7, unit: 'day' },
  mode: 'ordered',
  exclusions: [],
  filters: [],
  breakdown: null,
  date_range: { last_days: 30 },
});

/** The funnel spec; with `persons`, the same funnel asking for the persons who converted at
 * (or dropped before) a step, a page at a time. Steps without an event are left out. */
export function buildFunnelSpec(
  draft: FunnelDraft,
  persons?: { step: number; status: 'converted' | 'dropped'; limit?: number; offset?: number },
): FunnelSpec {
  const steps = draft.steps.filter((s) => s.event.trim()).map((s) => {
    const step: FunnelSpec['steps'][number] = { event: s.event.trim() };
    const filters = buildFilters(s.filters);
    if (filters.length) step.filters = filters;
    if (s.label.trim()) step.label = s.label.trim();
    return step;
  });
  const spec: FunnelSpec = {
    kind: 'funnel', steps, date_range: draft.date_range,
    window: { value: draft.window.value, unit: draft.window.unit }, mode: draft.mode,
  };
  const exclusions = draft.exclusions.filter((e) => e.event.trim())
    .map((e) => ({ event: e.event.trim(), from_step: e.from_step, to_step: e.to_step }));
  if (exclusions.length) spec.exclusions = exclusions;
  const filters = buildFilters(draft.filters);
  if (filters.length) spec.filters = filters;
  const breakdown = buildBreakdown(draft.breakdown);
  if (breakdown) spec.breakdown = breakdown;
  if (persons) {
    spec.persons = {
      step: persons.step, status: persons.status, limit: persons.limit ?? 100,
      offset: persons.offset ?? 0,
    };
  }
  return spec;
}

/** The funnel a builder runs: none until two steps have an event. */
export function runnableFunnelSpec(draft: FunnelDraft): FunnelSpec | null {
  const built = buildFunnelSpec(draft);
  return built.steps.length >= 2 ? built : null;
}

export function draftFunnel(spec: FunnelSpec): FunnelDraft {
  return {
    steps: spec.steps.map((s) => ({
      event: s.event, label: s.label ?? '', filters: draftFilters(s.filters),
    })),
    window: { value: spec.window?.value ?? 14, unit: spec.window?.unit ?? 'day' },
    mode: spec.mode ?? 'ordered',
    exclusions: (spec.exclusions ?? []).map((e) => ({
      event: e.event, from_step: e.from_step, to_step: e.to_step,
    })),
    filters: draftFilters(spec.filters),
    breakdown: draftBreakdown(spec.breakdown),
    date_range: spec.date_range,
  };
}

// ---- retention -----------------------------------------------------------------------------

export interface RetentionDraft {
  start: { event: string | null; filters: FilterDraft[] };
  start_mode: 'first_time' | 'any_time';
  return_event: { event: string | null; filters: FilterDraft[] };
  period: Period;
  periods: number;
  mode: 'bounded' | 'unbounded';
  filters: FilterDraft[];
  breakdown: BreakdownDraft | null;
  date_range: DateRange;
}

export const defaultRetention = (): RetentionDraft => ({
  start: { event: null, filters: [] },
  start_mode: 'first_time',
  return_event: { event: null, filters: [] },
  period: 'day',
  periods: 14,
  mode: 'bounded',
  filters: [],
  breakdown: null,
  date_range: { last_days: 30 },
});

export function buildRetentionSpec(draft: RetentionDraft): RetentionSpec {
  const event = (e: RetentionDraft['start']) => {
    const filters = buildFilters(e.filters);
    return filters.length ? { event: e.event, filters } : { event: e.event };
  };
  const spec: RetentionSpec = {
    kind: 'retention', date_range: draft.date_range, period: draft.period,
    periods: draft.periods, start: event(draft.start), start_mode: draft.start_mode,
    return_event: event(draft.return_event), mode: draft.mode,
  };
  const filters = buildFilters(draft.filters);
  if (filters.length) spec.filters = filters;
  const breakdown = buildBreakdown(draft.breakdown);
  if (breakdown) spec.breakdown = breakdown;
  return spec;
}

export function draftRetention(spec: RetentionSpec): RetentionDraft {
  return {
    start: { event: spec.start?.event ?? null, filters: draftFilters(spec.start?.filters) },
    start_mode: spec.start_mode ?? 'first_time',
    return_event: {
      event: spec.return_event?.event ?? null, filters: draftFilters(spec.return_event?.filters),
    },
    period: spec.period ?? 'day',
    periods: spec.periods ?? 7,
    mode: spec.mode ?? 'bounded',
    filters: draftFilters(spec.filters),
    breakdown: draftBreakdown(spec.breakdown),
    date_range: spec.date_range,
  };
}

// ---- lifecycle, stickiness, overview -------------------------------------------------------

export interface ActivityDraft<I extends string> {
  event: string | null;
  filters: FilterDraft[];
  interval: I;
  date_range: DateRange;
  compare: boolean;
}

export const defaultLifecycle = (): ActivityDraft<Period> =>
  ({ event: null, filters: [], interval: 'week', date_range: { last_days: 90 }, compare: false });
export const defaultStickiness = (): ActivityDraft<'day' | 'week'> =>
  ({ event: null, filters: [], interval: 'day', date_range: { last_days: 30 }, compare: false });

export function buildLifecycleSpec(draft: ActivityDraft<Period>): LifecycleSpec {
  const spec: LifecycleSpec = {
    kind: 'lifecycle', event: draft.event, date_range: draft.date_range, interval: draft.interval,
  };
  const filters = buildFilters(draft.filters);
  if (filters.length) spec.filters = filters;
  if (draft.compare) spec.compare = true;
  return spec;
}

export function buildStickinessSpec(draft: ActivityDraft<'day' | 'week'>): StickinessSpec {
  const spec: StickinessSpec = {
    kind: 'stickiness', event: draft.event, date_range: draft.date_range,
    interval: draft.interval,
  };
  const filters = buildFilters(draft.filters);
  if (filters.length) spec.filters = filters;
  if (draft.compare) spec.compare = true;
  return spec;
}

export function draftActivity<I extends string>(
  spec: LifecycleSpec | StickinessSpec, fallback: I,
): ActivityDraft<I> {
  return {
    event: spec.event ?? null,
    filters: draftFilters(spec.filters),
    interval: (spec.interval as I | undefined) ?? fallback,
    date_range: spec.date_range,
    compare: spec.compare ?? false,
  };
}

/** The overview's period when it opens. */
export const defaultOverviewRange = (): DateRange => ({ last_days: 7 });

export function buildOverviewSpec(dateRange: DateRange, filters: FilterDraft[] = []): OverviewSpec {
  const spec: OverviewSpec = { kind: 'overview', date_range: dateRange };
  const built = buildFilters(filters);
  if (built.length) spec.filters = built;
  return spec;
}

/** A saved spec with the dashboard's date range in place of its own. */
export function withDateRange<S extends AnalysisSpec>(spec: S, dateRange: DateRange | null): S {
  return dateRange ? { ...spec, date_range: dateRange } : spec;
}

/** The route of the builder that edits a kind. */
export const BUILDER_ROUTE: Record<AnalysisSpec['kind'], string> = {
  overview: 'overview', trends: 'trends', funnel: 'funnel', retention: 'retention',
  lifecycle: 'lifecycle', stickiness: 'stickiness',
};

/** The spec a builder screen runs for a saved one it opens (`?insight=ID`): the saved spec
 * through the screen's form and back, exactly as the screen computes it (the boot prefetch
 * sends this before the screen has rendered; the screen then takes that answer). Null when the
 * screen would not run it. */
export function builderSpec(screen: string, saved: AnalysisSpec): AnalysisSpec | null {
  if (BUILDER_ROUTE[saved.kind] !== screen) return null;
  switch (saved.kind) {
    case 'trends': return buildTrendsSpec(draftTrends(saved));
    case 'funnel': return runnableFunnelSpec(draftFunnel(saved));
    case 'retention': return buildRetentionSpec(draftRetention(saved));
    case 'lifecycle': return buildLifecycleSpec(draftActivity<Period>(saved, 'week'));
    case 'stickiness':
      return buildStickinessSpec(draftActivity<'day' | 'week'>(saved, 'day'));
    default: return null;
  }
}
