// Types of the REST API: the analysis specs and results mirror src/userops/analysis/*.py (pydantic
// models; field names and optionality as the server reads and writes them), the other resources
// follow the console's REST contract.

// ---- shared spec parts (analysis/spec.py) ----------------------------------------------------

export type Interval = 'hour' | 'day' | 'week' | 'month';
export type Operator =
  | 'eq' | 'neq' | 'in' | 'not_in' | 'contains' | 'regex'
  | 'gt' | 'gte' | 'lt' | 'lte' | 'between'
  | 'is_set' | 'is_not_set';
export type Scalar = string | number | boolean;
export type PropertyType = 'event' | 'person' | 'segment' | 'tag';

export type DateRange =
  | { last_days: number; start?: undefined; end?: undefined }
  | { start: string; end: string; last_days?: undefined };

export interface PropertyFilter {
  key: string;
  type?: PropertyType;
  operator?: Operator;
  value?: Scalar | Scalar[] | null;
}

export interface Breakdown {
  key: string;
  type?: PropertyType;
  limit?: number;
}

// ---- trends (analysis/trends.py) -----------------------------------------------------------

export type TrendsMath =
  | 'total' | 'unique_persons' | 'dau' | 'wau' | 'mau'
  | 'sum' | 'avg' | 'median' | 'p90' | 'min' | 'max'
  | 'per_person_avg' | 'first_time';

export interface EventSeries {
  event: string | null;
  math?: TrendsMath;
  property?: string | null;
  filters?: PropertyFilter[];
  label?: string | null;
}

export interface Formula {
  expression: string;
  label?: string | null;
}

export interface TrendsSpec {
  kind: 'trends';
  series: EventSeries[];
  date_range: DateRange;
  interval?: Interval;
  filters?: PropertyFilter[];
  formulas?: Formula[];
  breakdown?: Breakdown | null;
  compare?: boolean;
}

export interface SeriesResult {
  label: string;
  values: (number | null)[];
  total: number | null;
  breakdown_value: string | null;
  formula: string | null;
}

/** When the server computed an answer (UTC ISO) and whether it was kept from an earlier
 * asking (the query API's cache). */
export interface Computed {
  computed_at?: string | null;
  cached?: boolean;
}

export interface TrendsResult extends Computed {
  kind: 'trends';
  interval: Interval;
  buckets: string[];
  series: SeriesResult[];
  previous: TrendsResult | null;
}

// ---- overview (analysis/overview.py) -------------------------------------------------------

export interface OverviewSpec {
  kind: 'overview';
  date_range: DateRange;
  filters?: PropertyFilter[];
}

export interface Metric {
  name: string;
  value: number | null;
  previous: number | null;
  change: number | null;
}

export interface ChannelCount {
  channel: string;
  persons: number;
}

export interface OverviewResult extends Computed {
  kind: 'overview';
  first: string;
  last: string;
  previous_first: string;
  previous_last: string;
  currency: string;
  metrics: Metric[];
  days: string[];
  active_persons: number[];
  new_persons: number[];
  new_persons_by_channel: ChannelCount[];
  retention_curve: (number | null)[];
}

// ---- funnel (analysis/funnel.py) -----------------------------------------------------------

export type FunnelMode = 'ordered' | 'strict' | 'unordered';
export type WindowUnit = 'second' | 'minute' | 'hour' | 'day';

export interface FunnelStep {
  event: string;
  filters?: PropertyFilter[];
  label?: string | null;
}

export interface ConversionWindow {
  value: number;
  unit?: WindowUnit;
}

export interface FunnelExclusion {
  event: string;
  filters?: PropertyFilter[];
  from_step: number;
  to_step: number;
}

export interface FunnelPersons {
  step: number;
  status?: 'converted' | 'dropped';
  limit?: number;
  offset?: number;
}

export interface FunnelSpec {
  kind: 'funnel';
  steps: FunnelStep[];
  date_range: DateRange;
  window?: ConversionWindow;
  mode?: FunnelMode;
  exclusions?: FunnelExclusion[];
  filters?: PropertyFilter[];
  breakdown?: Breakdown | null;
  persons?: FunnelPersons | null;
}

export interface FunnelStepResult {
  label: string;
  event: string;
  count: number;
  conversion_from_previous: number;
  conversion_from_first: number;
}

export interface HistogramBin {
  start: number;
  end: number;
  count: number;
}

export interface TimeToConvert {
  median: number | null;
  mean: number | null;
  histogram: HistogramBin[];
}

export interface FunnelBlock {
  breakdown: string | null;
  steps: FunnelStepResult[];
  overall_conversion: number;
  time_to_convert: TimeToConvert;
}

export interface FunnelResult extends Computed {
  kind: 'funnel';
  mode: FunnelMode;
  total: FunnelBlock;
  breakdown: FunnelBlock[];
  persons: number[] | null;
  persons_total: number | null;
}

// ---- retention (analysis/retention.py) -----------------------------------------------------

export type Period = 'day' | 'week' | 'month';

export interface RetentionEvent {
  event: string | null;
  filters?: PropertyFilter[];
}

export interface RetentionSpec {
  kind: 'retention';
  start?: RetentionEvent;
  start_mode?: 'first_time' | 'any_time';
  return_event?: RetentionEvent;
  period?: Period;
  periods?: number;
  date_range: DateRange;
  mode?: 'bounded' | 'unbounded';
  filters?: PropertyFilter[];
  breakdown?: Breakdown | null;
}

export interface RetentionCohort {
  period: string;
  size: number;
  retained: (number | null)[];
}

export interface RetentionBreakdown {
  value: string;
  cohorts: RetentionCohort[];
  average: (number | null)[];
}

export interface RetentionResult extends Computed {
  kind: 'retention';
  period: Period;
  periods: number;
  cohorts: RetentionCohort[];
  average: (number | null)[];
  breakdown: RetentionBreakdown[];
}

// ---- lifecycle and stickiness --------------------------------------------------------------

export interface LifecycleSpec {
  kind: 'lifecycle';
  event: string | null;
  filters?: PropertyFilter[];
  date_range: DateRange;
  interval?: Period;
  compare?: boolean;
}

export interface LifecycleResult extends Computed {
  kind: 'lifecycle';
  interval: Period;
  buckets: string[];
  new: number[];
  returning: number[];
  resurrecting: number[];
  dormant: number[];
  previous: LifecycleResult | null;
}

export interface StickinessSpec {
  kind: 'stickiness';
  event: string | null;
  filters?: PropertyFilter[];
  date_range: DateRange;
  interval?: 'day' | 'week';
  compare?: boolean;
}

export interface StickinessRow {
  n: number;
  label: string;
  persons: number;
  share: number;
}

export interface StickinessResult extends Computed {
  kind: 'stickiness';
  interval: 'day' | 'week';
  rows: StickinessRow[];
  total: number;
  previous: StickinessResult | null;
}

export type AnalysisSpec =
  | TrendsSpec | OverviewSpec | FunnelSpec | RetentionSpec | LifecycleSpec | StickinessSpec;
export type AnalysisResult =
  | TrendsResult | OverviewResult | FunnelResult | RetentionResult | LifecycleResult
  | StickinessResult;
export type AnalysisKind = AnalysisSpec['kind'];

// ---- accounts, projects, team, keys --------------------------------------------------------

export type Role = 'admin' | 'analyst' | 'viewer';

export interface User {
  id: number;
  email: string;
  name: string;
  is_owner: boolean;
  created_at: string;
  last_login_at: string | null;
}

export interface Me {
  user: User;
  csrf_token: string;
  projects: { name: string; timezone: string; role: Role }[];
}

export interface ProjectSummary {
  name: string;
  timezone: string;
  role: Role;
  currency: string;
  order_event: string;
  revenue_property: string;
}

export interface ProjectSettings {
  name: string;
  timezone: string;
  currency: string;
  order_event: string;
  revenue_property: string;
  store_client_ip: boolean;
  write_key: string | null;
  role: Role;
}

export interface Member {
  user: User;
  role: Role;
}

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  user_email: string | null;
}

export interface NewApiKey {
  id: number;
  name: string;
  prefix: string;
  secret: string;
}

// ---- insights and dashboards ---------------------------------------------------------------

export interface Insight {
  id: number;
  name: string;
  description: string | null;
  kind: AnalysisKind;
  spec: AnalysisSpec;
  created_at: string;
  updated_at: string;
  created_by: string | null;
}

export interface DashboardSummary {
  id: number;
  name: string;
  description: string | null;
  tile_count: number;
  updated_at: string;
}

export interface Tile {
  insight_id: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Dashboard {
  id: number;
  name: string;
  description: string | null;
  tiles: (Tile & { insight: Insight })[];
  /** Shown on every tile in place of its own range; null: each tile's own. */
  date_range: DateRange | null;
  created_at: string;
  updated_at: string;
}

// ---- persons -------------------------------------------------------------------------------

/** A person as lists show it: from `GET persons?search=` or `?ids=` (summaries by number). */
export interface PersonRow {
  person_id: number | string;
  display: string;
  distinct_ids: string[];
  first_seen: string | null;
  last_seen: string | null;
  event_count: number;
}

export interface PersonPage {
  persons: PersonRow[];
  has_more: boolean;
}

export interface Merge {
  id: number;
  kept_id: string;
  merged_id: string;
  at: string;
  undone_at: string | null;
}

export interface PersonProfile {
  person_id: number | string;
  distinct_ids: string[];
  traits: Record<string, unknown>;
  first_seen: string | null;
  last_seen: string | null;
  first_touch: Record<string, unknown> | null;
  merges: Merge[];
}

export interface PersonEvent {
  uuid: string;
  event: string;
  timestamp: string;
  distinct_id: string;
  properties: Record<string, unknown>;
}

export interface PersonEvents {
  events: PersonEvent[];
  next_before: string | null;
}

// ---- data management -----------------------------------------------------------------------

export interface EventDefinition {
  name: string;
  count: number;
  persons: number;
  last_seen: string | null;
  first_seen: string | null;
}

export interface PropertyDefinition {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'datetime';
  count: number;
  last_seen: string | null;
  examples: unknown[];
}

export interface Snippets {
  host: string;
  write_key: string;
  segment: string;
  posthog: string;
}
