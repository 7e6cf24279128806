import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type {
  LifecycleResult, OverviewResult, ProjectSummary, RetentionResult, StickinessResult,
  TrendsResult,
} from '../api/types';
import { ProjectContext } from '../auth/project';
import { SaveInsight } from '../components/SaveInsight';
import { renderWith } from '../test-utils';
import { LifecycleView, StickinessView } from './ActivityViews';
import { OverviewView } from './OverviewView';
import { heat, RetentionView } from './RetentionView';
import { TrendsView } from './TrendsView';

const overview: OverviewResult = {
  kind: 'overview', first: '2026-11-17', last: '2026-11-23', previous_first: '2026-11-10',
  previous_last: '2026-11-16', currency: 'CNY',
  metrics: [
    { name: 'dau', value: 141.14, previous: 180.4, change: -0.2176 },
    { name: 'stickiness', value: 0.0936, previous: 0.12, change: -0.22 },
    { name: 'revenue', value: 57395.7, previous: 0, change: null },
    { name: 'd7_retention', value: null, previous: null, change: null },
  ],
  days: ['2026-11-22', '2026-11-23'], active_persons: [200, 172], new_persons: [50, 47],
  new_persons_by_channel: [{ channel: 'douyin', persons: 70 }, { channel: '$none', persons: 3 }],
  retention_curve: [1, 0.25, null],
};

describe('OverviewView', () => {
  it('shows each KPI formatted for its kind with its change', () => {
    renderWith(<OverviewView result={overview} />);
    expect(screen.getByTestId('kpi-dau-value')).toHaveTextContent('141.1');
    expect(screen.getByTestId('kpi-dau-change')).toHaveTextContent('-21.8%');
    expect(screen.getByTestId('kpi-stickiness-value')).toHaveTextContent('9.4%');
    expect(screen.getByTestId('kpi-revenue-value')).toHaveTextContent('CN¥57,395.70');
    expect(screen.getByTestId('kpi-revenue-change')).toHaveTextContent('—');
    expect(screen.getByTestId('kpi-d7_retention-value')).toHaveTextContent('—');
    // a metric the server did not send still has its card
    expect(screen.getByTestId('kpi-arppu-value')).toHaveTextContent('—');
  });

  it('uses Chinese names and money formats', () => {
    renderWith(<OverviewView result={overview} />, 'zh-CN');
    expect(screen.getByTestId('kpi-dau')).toHaveTextContent('日活 DAU');
    expect(screen.getByTestId('kpi-revenue-value')).toHaveTextContent('¥57,395.70');
  });
});

describe('TrendsView', () => {
  const trends: TrendsResult = {
    kind: 'trends', interval: 'day', buckets: ['2026-11-22', '2026-11-23'],
    series: [
      { label: 'app_open', values: [10, 12], total: 20, breakdown_value: 'ios', formula: null },
      { label: 'paying rate', values: [0.14, null], total: 0.1523, breakdown_value: null,
        formula: 'B / A' },
    ],
    previous: null,
  };

  it('lists each bucket and the totals', () => {
    renderWith(<TrendsView result={trends} />);
    const table = screen.getByTestId('trends-table');
    expect(table).toHaveTextContent('Nov 22');
    expect(table).toHaveTextContent('app_open · ios');
    expect(screen.getByTestId('trends-total-0')).toHaveTextContent('20');
    expect(screen.getByTestId('trends-total-1')).toHaveTextContent('0.1523');
  });
});

describe('RetentionView', () => {
  const retention: RetentionResult = {
    kind: 'retention', period: 'day', periods: 2,
    cohorts: [{ period: '2026-11-21', size: 50, retained: [50, 20, null] }],
    average: [1, 0.4, null], breakdown: [],
  };

  it('shows the average row as shares and leaves cells that have not started empty', () => {
    renderWith(<RetentionView result={retention} />);
    expect(screen.getByTestId('retention-average-1')).toHaveTextContent('40.0%');
    expect(screen.getByTestId('retention-table')).toHaveTextContent('Day 2');
    expect(screen.getByTestId('retention-table')).toHaveTextContent('Nov 21, 2026');
  });

  it('colors cells by their share', () => {
    expect(heat(null)).toBeUndefined();
    expect(heat(0)).toBe('rgba(22, 119, 255, 0.080)');
    expect(heat(1)).toBe('rgba(22, 119, 255, 0.800)');
  });
});

describe('lifecycle and stickiness', () => {
  it('tabulate their results', () => {
    const lifecycle: LifecycleResult = {
      kind: 'lifecycle', interval: 'week', buckets: ['2026-11-16'], new: [40], returning: [30],
      resurrecting: [5], dormant: [-113], previous: null,
    };
    const stickiness: StickinessResult = {
      kind: 'stickiness', interval: 'day', total: 589, previous: null,
      rows: [{ n: 1, label: '1 day', persons: 361, share: 0.6129 }],
    };
    renderWith(<><LifecycleView result={lifecycle} /><StickinessView result={stickiness} /></>);
    expect(screen.getByTestId('lifecycle-table')).toHaveTextContent('-113');
    expect(screen.getByTestId('stickiness-table')).toHaveTextContent('61.3%');
    expect(screen.getByTestId('stickiness-total')).toHaveTextContent('589 persons');
  });
});

describe('roles', () => {
  const project = (role: ProjectSummary['role']): ProjectSummary => ({
    name: 'shop', timezone: 'Asia/Shanghai', role, currency: 'CNY',
    order_event: 'order_completed', revenue_property: 'revenue',
  });
  const spec = { kind: 'overview' as const, date_range: { last_days: 7 } };

  it('hide saving from viewers and show it to analysts', () => {
    const { unmount } = renderWith(
      <ProjectContext.Provider value={{ project: project('viewer'), projects: [],
        reloadProjects: () => undefined }}>
        <SaveInsight spec={spec} />
      </ProjectContext.Provider>);
    expect(screen.queryByTestId('save-insight')).toBeNull();
    unmount();
    renderWith(
      <ProjectContext.Provider value={{ project: project('analyst'), projects: [],
        reloadProjects: () => undefined }}>
        <SaveInsight spec={spec} />
      </ProjectContext.Provider>);
    expect(screen.getByTestId('save-insight')).toBeEnabled();
  });
});
