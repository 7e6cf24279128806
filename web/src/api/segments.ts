// Segments (用户分群) and tags as the REST API answers them (src/userops/api/segments.py,
// api/tags.py), and the hooks that read the lists the editors pick from.

import { useMemo } from 'react';
import { projectPath } from './client';
import { useGet } from './hooks';
import type { DateRange, FunnelSpec, PersonRow, PropertyFilter } from './types';

export type Compare = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';
export type SegmentMath = 'sum' | 'count' | 'avg' | 'min' | 'max';

/** A condition of a definition (segments/spec.py), by its kind. */
export type SegmentCondition =
  | ({ kind: 'person' } & PropertyFilter)
  | { kind: 'performed'; event?: string; filters?: PropertyFilter[]; operator?: Compare;
      count?: number; window?: DateRange | null }
  | { kind: 'not_performed'; event?: string; filters?: PropertyFilter[];
      window?: DateRange | null }
  | { kind: 'first_performed'; event?: string; filters?: PropertyFilter[]; window?: DateRange }
  | { kind: 'aggregate'; event?: string; filters?: PropertyFilter[]; property?: string;
      math?: SegmentMath; operator?: Compare; value?: number; window?: DateRange | null }
  | { kind: 'funnel'; funnel: Omit<FunnelSpec, 'breakdown' | 'persons'>; step: number;
      status?: 'converted' | 'dropped' }
  | { kind: 'segment'; id: number | null }
  | { kind: 'persons'; ids: number[] }
  | { kind: 'distinct_ids'; ids: string[] };

export type ConditionKind = SegmentCondition['kind'];

/** A node: `{"and": [...]}`, `{"or": [...]}`, `{"not": node}` or a condition. */
export type SegmentDefinition =
  | { and: SegmentDefinition[] }
  | { or: SegmentDefinition[] }
  | { not: SegmentDefinition }
  | SegmentCondition;

export interface SegmentRefreshState {
  at: string | null;
  status: string;
  error: string | null;
}

export interface Segment {
  id: number;
  name: string;
  description: string | null;
  definition: SegmentDefinition;
  refresh_minutes: number;
  size: number | null;
  status: string | null;
  last_refresh: SegmentRefreshState | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface SegmentInput {
  name?: string;
  description?: string;
  definition?: SegmentDefinition;
  refresh_minutes?: number;
}

export interface SegmentRefresh {
  id: number;
  segment_id: number;
  at: string | null;
  started_at: string | null;
  finished_at: string | null;
  status: string;
  size: number | null;
  entered: number | null;
  exited: number | null;
  error: string | null;
}

export interface SegmentHistoryPoint {
  refresh_id: number;
  at: string;
  size: number;
  entered: number;
  exited: number;
}

export interface SegmentMembers {
  persons: PersonRow[];
  size: number | null;
  has_more: boolean;
}

export interface SegmentPreview {
  count: number;
  seconds: number;
}

export interface StaticUpload {
  segment: Segment;
  persons: number;
  known: number;
  unknown: { line: number; id: string }[];
}

export interface TagSummary {
  id: number;
  name: string;
  description?: string | null;
  color?: string | null;
  kind: 'manual' | 'rule';
  segment_id: number | null;
  persons?: number;
}

export const segmentsPath = (project: string, rest = '') =>
  projectPath(project, `/segments${rest}`);

/** A saved segment or a tag, as the filters and breakdowns pick them. */
export interface Choice {
  id: number;
  name: string;
}

/** The project's saved segments (`null` path: not wanted yet). */
export function useSegmentChoices(project: string, wanted = true): Choice[] {
  const list = useGet<Segment[]>(wanted ? segmentsPath(project) : null);
  return useMemo(() => (list.data ?? []).map(({ id, name }) => ({ id, name })), [list.data]);
}

/** The project's tags; none while the server has no tags API (an error reads as none: the
 * picker is a convenience, the query names a bad id itself). */
export function useTagChoices(project: string, wanted = true): Choice[] {
  const list = useGet<TagSummary[]>(wanted ? projectPath(project, '/tags') : null);
  return useMemo(() => (Array.isArray(list.data) ? list.data : [])
    .map(({ id, name }) => ({ id, name })), [list.data]);
}
