// 用户分层 and 用户标签: the shapes of the people endpoints (RFM, lifecycle stages, value tiers,
// people settings, tags, a person's tags and segments) and the pure helpers the layers and tags
// screens build on. Kept apart from types.ts, which the analyses own.
import { ApiError } from './client';
import type { PersonRow } from './types';

export type Stage = 'new' | 'active' | 'resurrected' | 'silent' | 'churned';
/** The server's order of the stages (userops.analysis.stages.STAGES). */
export const STAGES: Stage[] = ['new', 'active', 'resurrected', 'silent', 'churned'];
/** A transition's `from` for persons first seen in the range. */
export const FIRST_SEEN = '';

/** `GET rfm`: one of the eight classic groups, in the server's (classic) order. */
export interface RfmGroup {
  group: string;
  label: { 'zh-CN': string; en: string };
  persons: number;
  revenue: number;
  revenue_share: number;
}

/** `GET lifecycle-stages?day=` */
export interface StageCounts {
  day: string;
  counts: Record<Stage, number>;
}

/** `GET lifecycle-stages/transitions?start=&end=`: one row per (from, to) with persons. */
export interface Transition {
  from: string;
  to: string;
  persons: number;
}

/** `POST computed-properties/refresh` */
export interface RefreshAnswer {
  persons: number;
  rfm_scored: number;
  stage_rows: number;
  refreshed_at: string;
  seconds: number;
}

/** `GET value-tiers`: core vs mass users (核心用户 / 大众用户). */
export interface ValueTiers {
  metric: string;
  core_percentile: number;
  threshold: number | null;
  /** When the refresh that computed them ran; null before any. */
  refreshed_at?: string | null;
  tiers: { tier: string; label?: { 'zh-CN': string; en: string }; persons: number;
    value: number; share: number }[];
}

/** `GET|PUT people-settings` */
export interface PeopleSettings {
  stages: { new_days: number; active_days: number; churn_days: number };
  rfm: { window_days: number; value_event: string | null; value_property?: string | null };
  tier: { metric: string; core_percentile: number };
}

export const DEFAULT_PEOPLE_SETTINGS: PeopleSettings = {
  stages: { new_days: 7, active_days: 7, churn_days: 30 },
  rfm: { window_days: 365, value_event: null },
  tier: { metric: '$revenue', core_percentile: 80 },
};

export type TagKind = 'manual' | 'rule';

/** `GET tags` */
export interface UserTag {
  id: number;
  name: string;
  description: string | null;
  color: string | null;
  kind: TagKind;
  segment_id: number | null;
  persons: number;
  created_at: string;
  updated_at: string;
}

export interface TagBody {
  name: string;
  description?: string | null;
  color?: string | null;
  segment_id?: number | null;
}

/** `GET persons/{id}/tags` */
export interface PersonTag {
  id: number;
  name: string;
  color: string | null;
  kind: TagKind;
  since: string | null;
}

/** `GET persons/{id}/segments` */
export interface PersonSegment {
  id: number;
  name: string;
  since: string | null;
}

/** `GET tags/{id}/persons` */
export interface TagPersons {
  persons: PersonRow[];
  has_more: boolean;
}

/** `GET segments`, the fields these screens use. */
export interface SegmentRef {
  id: number;
  name: string;
  size?: number | null;
}

/** The RFM groups' names by code (userops.analysis.rfm.LABELS), for where a group comes
 * without its label (a person's `$rfm_group`). */
export const RFM_LABELS: Record<string, { 'zh-CN': string; en: string }> = {
  important_value: { 'zh-CN': '重要价值客户', en: 'Champions' },
  important_develop: { 'zh-CN': '重要发展客户', en: 'Potential loyalists' },
  important_retain: { 'zh-CN': '重要保持客户', en: 'At risk' },
  important_win_back: { 'zh-CN': '重要挽留客户', en: "Can't lose them" },
  general_value: { 'zh-CN': '一般价值客户', en: 'Loyal customers' },
  general_develop: { 'zh-CN': '一般发展客户', en: 'New customers' },
  general_retain: { 'zh-CN': '一般保持客户', en: 'Need attention' },
  general_win_back: { 'zh-CN': '一般挽留客户', en: 'Hibernating' },
};

/** Computed properties that are instants (shown in the project's time zone) and amounts of
 * money (shown in the project's currency). */
export const COMPUTED_DATES = ['$first_seen', '$last_seen', '$last_order_at'];
export const COMPUTED_MONEY = ['$revenue', '$revenue_30d', '$rfm_monetary'];

/** The computed person properties a profile may carry, in the order the profile lists them. */
export const COMPUTED_KEYS = [
  '$first_seen', '$last_seen', '$orders', '$revenue', '$rfm_group', '$rfm_score',
  '$lifecycle_stage', '$value_tier',
];

/** An endpoint that is not there (yet): the screens show "not available" instead of an error. */
export function isMissing(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405);
}

export interface TransitionMatrix {
  /** Row keys: '' (first seen) then the stages that occur as a `from`, in stage order. */
  from: string[];
  /** Column keys: the stages in stage order. */
  to: Stage[];
  cells: Record<string, Record<string, number>>;
  rowTotals: Record<string, number>;
  colTotals: Record<string, number>;
  total: number;
}

/** Transitions as a from-stage x to-stage table (every stage a column; rows for first seen
 * and every stage, zeros included, so the table keeps its shape from one range to the next). */
export function transitionMatrix(transitions: Transition[]): TransitionMatrix {
  const from = [FIRST_SEEN, ...STAGES];
  const cells: Record<string, Record<string, number>> = {};
  const rowTotals: Record<string, number> = {};
  const colTotals: Record<string, number> = {};
  for (const f of from) {
    cells[f] = Object.fromEntries(STAGES.map((s) => [s, 0]));
    rowTotals[f] = 0;
  }
  for (const s of STAGES) colTotals[s] = 0;
  let total = 0;
  for (const { from: f, to, persons } of transitions) {
    const row = (cells[f] ??= Object.fromEntries(STAGES.map((s) => [s, 0])));
    row[to] = (row[to] ?? 0) + persons;
    rowTotals[f] = (rowTotals[f] ?? 0) + persons;
    colTotals[to] = (colTotals[to] ?? 0) + persons;
    total += persons;
  }
  const extra = Object.keys(cells).filter((k) => !from.includes(k));
  return { from: [...from, ...extra], to: STAGES, cells, rowTotals, colTotals, total };
}

/** Persons of one transition (0 when absent). */
export function transitionCount(transitions: Transition[], from: string, to: string): number {
  return transitions.filter((t) => t.from === from && t.to === to)
    .reduce((sum, t) => sum + t.persons, 0);
}

/** A local date `days` before or after `day` (YYYY-MM-DD), computed on the calendar. */
export function shiftDay(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  const date = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1));
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
