// The segment builder's draft (what the tree editor holds) and the definition JSON it becomes
// (src/userops/segments/spec.py). Conditions keep their values as typed; the server validates
// the definition and names a bad field by its path, which the builder shows as it is.

import type {
  Compare, ConditionKind, SegmentCondition, SegmentDefinition, SegmentMath,
} from '../api/segments';
import type {
  DateRange, FunnelMode, FunnelStep, FunnelSpec, PropertyFilter, WindowUnit,
} from '../api/types';
import { buildFilters, draftFilters } from '../spec/builders';
import type { FilterDraft } from '../spec/builders';

export const COMPARES: Compare[] = ['gte', 'gt', 'eq', 'neq', 'lte', 'lt'];
export const SEGMENT_MATHS: SegmentMath[] = ['sum', 'count', 'avg', 'min', 'max'];
export const CONDITION_KINDS: ConditionKind[] = [
  'performed', 'not_performed', 'first_performed', 'aggregate', 'person', 'funnel', 'segment',
  'distinct_ids', 'persons',
];

export interface FunnelConditionDraft {
  steps: string[];
  window: { value: number; unit: WindowUnit };
  mode: FunnelMode;
  date_range: DateRange;
  step: number;
  status: 'converted' | 'dropped';
  /** What each step carries beside its event (filters, label), as loaded; kept in step with
   * `steps` when one is added or removed, and merged back on build. */
  stepExtras?: Omit<FunnelStep, 'event'>[];
  /** The funnel as loaded (exclusions, shared filters, ...): what the form does not edit goes
   * back as it came. */
  original?: Omit<FunnelSpec, 'breakdown' | 'persons'>;
}

/** One condition's fields as the form holds them (every kind's, so switching kinds keeps what
 * fits the new one). */
export interface ConditionDraft {
  type: 'condition';
  negate: boolean;
  kind: ConditionKind;
  event: string;
  filters: FilterDraft[];
  operator: Compare;
  count: number | null;
  window: DateRange | null;
  property: string;
  math: SegmentMath;
  value: number | null;
  person: FilterDraft;
  funnel: FunnelConditionDraft;
  segment: number | null;
  ids: string;
  /** The condition as loaded, and what the draft built then: while the draft still builds
   * the same, the loaded condition goes back exactly as it came. */
  origin?: { condition: SegmentCondition; built: SegmentCondition };
}

export interface GroupDraft {
  type: 'group';
  negate: boolean;
  op: 'and' | 'or';
  children: NodeDraft[];
}

export type NodeDraft = ConditionDraft | GroupDraft;

export const emptyCondition = (kind: ConditionKind = 'performed'): ConditionDraft => ({
  type: 'condition', negate: false, kind, event: '', filters: [], operator: 'gte', count: 1,
  window: kind === 'first_performed' ? { last_days: 30 } : { last_days: 30 },
  property: '', math: 'sum', value: null,
  person: { key: '', type: 'person', operator: 'eq', value: '' },
  funnel: { steps: ['', ''], window: { value: 7, unit: 'day' }, mode: 'ordered',
    date_range: { last_days: 30 }, step: 1, status: 'converted' },
  segment: null, ids: '',
});

export const emptyGroup = (op: 'and' | 'or' = 'and'): GroupDraft =>
  ({ type: 'group', negate: false, op, children: [] });

/** A new segment's tree: "and" of one "performed" condition. */
export const defaultTree = (): GroupDraft => ({ ...emptyGroup('and'), children: [emptyCondition()] });

/** Person numbers typed or pasted: split by commas, spaces or lines. */
export function parseIds(text: string): number[] {
  return text.split(/[\s,;]+/).filter(Boolean).map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** User or anonymous ids typed or pasted: one a line (an id may hold spaces or commas). */
export function parseDistinctIds(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter(Boolean);
}

function eventPart(draft: ConditionDraft): { event?: string; filters?: PropertyFilter[] } {
  const out: { event?: string; filters?: PropertyFilter[] } = {};
  // Left out when empty: the server's answer then names the missing field.
  if (draft.event.trim()) out.event = draft.event.trim();
  const filters = buildFilters(draft.filters);
  if (filters.length) out.filters = filters;
  return out;
}

function windowPart(window: DateRange | null): { window?: DateRange } {
  return window ? { window } : {};
}

/** Whether two JSON values are the same (objects compared key by key, in any order). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((k) => left[k] !== undefined);
  if (keys.length !== Object.keys(right).filter((k) => right[k] !== undefined).length) {
    return false;
  }
  return keys.every((k) => Object.prototype.hasOwnProperty.call(right, k)
    && sameJson(left[k], right[k]));
}

/** Whether two definitions are the same: as sameJson, an "and" or "or" of one node read as
 * that node (the editor puts a saved bare condition under an "and" group). */
export function sameDefinition(a: SegmentDefinition | null | undefined,
                               b: SegmentDefinition | null | undefined): boolean {
  const bare = (d: SegmentDefinition | null | undefined): SegmentDefinition | null | undefined => {
    if (d && 'and' in d && d.and.length === 1) return bare(d.and[0]);
    if (d && 'or' in d && d.or.length === 1) return bare(d.or[0]);
    return d;
  };
  return sameJson(bare(a), bare(b));
}

export function buildCondition(draft: ConditionDraft): SegmentCondition {
  const built = buildFresh(draft);
  const origin = draft.origin;
  return origin && sameJson(built, origin.built) ? origin.condition : built;
}

function buildFresh(draft: ConditionDraft): SegmentCondition {
  switch (draft.kind) {
    case 'person': {
      const [built] = buildFilters([{ ...draft.person, type: 'person' }]);
      // An incomplete one still goes out, so that the server names what is missing.
      const filter: PropertyFilter = built
        ?? { key: draft.person.key.trim(), operator: draft.person.operator };
      const { type: _type, ...rest } = filter;
      return { kind: 'person', ...rest };
    }
    case 'performed':
      return { kind: 'performed', ...eventPart(draft), operator: draft.operator,
        count: draft.count ?? 1, ...windowPart(draft.window) };
    case 'not_performed':
      return { kind: 'not_performed', ...eventPart(draft), ...windowPart(draft.window) };
    case 'first_performed':
      return { kind: 'first_performed', ...eventPart(draft), ...windowPart(draft.window) };
    case 'aggregate': {
      const out: SegmentCondition = { kind: 'aggregate', ...eventPart(draft), math: draft.math,
        operator: draft.operator, ...windowPart(draft.window) };
      if (draft.property.trim()) out.property = draft.property.trim();
      if (draft.value !== null) out.value = draft.value;
      return out;
    }
    case 'funnel': {
      const f = draft.funnel;
      return {
        kind: 'funnel',
        funnel: { ...f.original, kind: 'funnel',
          steps: f.steps.map((event, i) => ({ ...f.stepExtras?.[i], event: event.trim() })),
          date_range: f.date_range, window: f.window, mode: f.mode },
        step: f.step, status: f.status,
      };
    }
    case 'segment':
      return { kind: 'segment', id: draft.segment };
    case 'persons':
      return { kind: 'persons', ids: parseIds(draft.ids) };
    case 'distinct_ids':
      return { kind: 'distinct_ids', ids: parseDistinctIds(draft.ids) };
  }
}

/** The definition JSON of a tree; null when it has no condition yet. */
export function buildDefinition(node: NodeDraft): SegmentDefinition | null {
  let built: SegmentDefinition | null;
  if (node.type === 'group') {
    const children = node.children.map(buildDefinition)
      .filter((c): c is SegmentDefinition => c !== null);
    if (!children.length) return null;
    built = node.op === 'and' ? { and: children } : { or: children };
  } else {
    built = buildCondition(node);
  }
  return node.negate ? { not: built } : built;
}

function conditionDraft(c: SegmentCondition, negate: boolean): ConditionDraft {
  const draft = freshDraft(c, negate);
  return { ...draft, origin: { condition: c, built: buildFresh(draft) } };
}

function freshDraft(c: SegmentCondition, negate: boolean): ConditionDraft {
  const base = { ...emptyCondition(c.kind), negate };
  switch (c.kind) {
    case 'person': {
      const { kind: _kind, ...filter } = c;
      const [person] = draftFilters([{ ...filter, type: 'person' }]);
      return { ...base, person: person ?? base.person };
    }
    case 'performed':
      return { ...base, event: c.event ?? '', filters: draftFilters(c.filters),
        operator: c.operator ?? 'gte', count: c.count ?? 1, window: c.window ?? null };
    case 'not_performed':
    case 'first_performed':
      return { ...base, event: c.event ?? '', filters: draftFilters(c.filters),
        window: c.window ?? null };
    case 'aggregate':
      return { ...base, event: c.event ?? '', filters: draftFilters(c.filters),
        property: c.property ?? '', math: c.math ?? 'sum', operator: c.operator ?? 'gte',
        value: c.value ?? null, window: c.window ?? null };
    case 'funnel':
      return { ...base, funnel: {
        steps: c.funnel.steps.map((s) => s.event),
        stepExtras: c.funnel.steps.map(({ event: _event, ...extra }) => extra),
        original: c.funnel,
        window: { value: c.funnel.window?.value ?? 14, unit: c.funnel.window?.unit ?? 'day' },
        mode: c.funnel.mode ?? 'ordered', date_range: c.funnel.date_range,
        step: c.step, status: c.status ?? 'converted' } };
    case 'segment':
      return { ...base, segment: c.id };
    case 'persons':
      return { ...base, ids: c.ids.join(', ') };
    case 'distinct_ids':
      return { ...base, ids: c.ids.join('\n') };
  }
}

function nodeDraft(node: SegmentDefinition, negate = false): NodeDraft {
  if ('not' in node) return nodeDraft(node.not, !negate);
  if ('and' in node) return { type: 'group', negate, op: 'and', children: node.and.map((n) => nodeDraft(n)) };
  if ('or' in node) return { type: 'group', negate, op: 'or', children: node.or.map((n) => nodeDraft(n)) };
  return conditionDraft(node, negate);
}

/** A saved definition as the editor's tree: always a group at the root. */
export function draftDefinition(definition: SegmentDefinition | null | undefined): GroupDraft {
  if (!definition) return defaultTree();
  const node = nodeDraft(definition);
  if (node.type === 'group' && !node.negate) return node;
  return { ...emptyGroup('and'), children: [node] };
}
