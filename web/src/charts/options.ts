// ECharts options built from results: pure functions of the data and the reader's language.
import type { ChartOption } from './echarts';
import type { Lang } from '../i18n/dict';
import { formatCompact, formatNumber, formatPercent } from '../format';

export const PALETTE = [
  '#1677ff', '#52c41a', '#fa8c16', '#eb2f96', '#722ed1', '#13c2c2', '#fadb14', '#f5222d',
  '#2f54eb', '#a0d911', '#faad14', '#8c8c8c',
];

export interface XYSeries {
  name: string;
  data: (number | null)[];
  dashed?: boolean;
  stack?: string;
  color?: string;
}

export type ValueKind = 'number' | 'percent';

function valueLabel(kind: ValueKind, lang: Lang) {
  return (value: number | null) =>
    kind === 'percent' ? formatPercent(value, lang) : formatNumber(value, lang);
}

/** Lines or bars over categories (buckets), one series each. */
export function xyOption(categories: string[], series: XYSeries[], type: 'line' | 'bar',
                         lang: Lang, kind: ValueKind = 'number'): ChartOption {
  const label = valueLabel(kind, lang);
  return {
    color: PALETTE,
    grid: { left: 8, right: 16, top: series.length > 1 ? 36 : 16, bottom: 8, containLabel: true },
    tooltip: {
      trigger: 'axis',
      valueFormatter: (value: unknown) => label(typeof value === 'number' ? value : null),
    },
    legend: { show: series.length > 1, type: 'scroll', top: 0 },
    xAxis: {
      type: 'category', data: categories, boundaryGap: type === 'bar',
      // A few named bars (channels, breakdown values) each keep their label. (A key set to
      // undefined would replace ECharts' defaults and hide the labels: leave it out instead.)
      ...(type === 'bar' && categories.length <= 12 ? {
        axisLabel: { interval: 0, rotate: categories.length > 6 ? 30 : 0, overflow: 'truncate',
          width: 90 },
      } : {}),
    },
    yAxis: {
      type: 'value',
      axisLabel: {
        formatter: (value: number) =>
          kind === 'percent' ? formatPercent(value, lang, 0) : formatCompact(value, lang),
      },
    },
    series: series.map((s) => ({
      name: s.name,
      type,
      data: s.data,
      ...(s.stack ? { stack: s.stack } : {}),
      connectNulls: false,
      showSymbol: categories.length <= 31,
      smooth: false,
      ...(s.color ? { itemStyle: { color: s.color } } : {}),
      lineStyle: s.dashed ? { type: 'dashed', width: 1.5 } : { width: 2 },
      emphasis: { focus: 'series' },
    })),
  };
}

/** A tiny line without axes, for a KPI card. */
export function sparklineOption(values: (number | null)[], color = '#1677ff'): ChartOption {
  return {
    grid: { left: 0, right: 0, top: 2, bottom: 2 },
    xAxis: { type: 'category', show: false, data: values.map((_, i) => i), boundaryGap: false },
    yAxis: { type: 'value', show: false, scale: true },
    tooltip: { show: false },
    series: [{
      type: 'line', data: values, showSymbol: false, smooth: true,
      lineStyle: { width: 1.5, color }, areaStyle: { color, opacity: 0.12 },
    }],
  };
}

export interface FunnelBar {
  label: string;
  count: number;
  conversion_from_first: number;
  conversion_from_previous: number;
}

/** A funnel as bars: each step's persons, the conversion from the first step above the bar,
 * and the persons lost since the step before stacked in grey. */
export function funnelOption(steps: FunnelBar[], lang: Lang,
                             names: { persons: string; dropped: string }): ChartOption {
  const dropped = steps.map((s, i) => (i === 0 ? 0 : Math.max(0, (steps[i - 1]?.count ?? 0)
    - s.count)));
  return {
    color: ['#1677ff', '#d9d9d9'],
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0 },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      valueFormatter: (value: unknown) => formatNumber(typeof value === 'number' ? value : null,
        lang),
    },
    xAxis: {
      type: 'category',
      data: steps.map((s, i) => `${i + 1}. ${s.label}`),
      axisLabel: { interval: 0, overflow: 'truncate', width: 120 },
    },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatCompact(v, lang) } },
    series: [
      {
        name: names.persons, type: 'bar', stack: 'funnel', data: steps.map((s) => s.count),
        cursor: 'pointer', barMaxWidth: 80,
        label: {
          show: true, position: 'top',
          formatter: (p: { dataIndex: number }) =>
            formatPercent(steps[p.dataIndex]?.conversion_from_first ?? null, lang),
        },
      },
      {
        name: names.dropped, type: 'bar', stack: 'funnel', data: dropped, cursor: 'pointer',
        barMaxWidth: 80,
      },
    ],
  };
}

/** Bars of a histogram with labelled bins. */
export function histogramOption(labels: string[], counts: number[], lang: Lang,
                                name: string): ChartOption {
  return {
    color: ['#13c2c2'],
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v: unknown) => formatNumber(typeof v === 'number' ? v : null, lang),
    },
    xAxis: { type: 'category', data: labels, axisLabel: { interval: 'auto' } },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatCompact(v, lang) } },
    series: [{ name, type: 'bar', data: counts, barCategoryGap: '10%' }],
  };
}

export interface RfmBar {
  label: string;
  persons: number;
  revenue_share: number;
}

/** 用户分层 by RFM: each group's persons as bars (left axis) and its share of the revenue as a
 * line on a percent axis (right), the groups in the classic order. */
export function rfmOption(groups: RfmBar[], lang: Lang,
                          names: { persons: string; share: string }): ChartOption {
  return {
    color: ['#1677ff', '#fa8c16'],
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0 },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: {
      type: 'category', data: groups.map((g) => g.label),
      axisLabel: { interval: 0, rotate: 30, overflow: 'truncate', width: 110 },
    },
    yAxis: [
      { type: 'value', axisLabel: { formatter: (v: number) => formatCompact(v, lang) } },
      { type: 'value', min: 0, max: 1, splitLine: { show: false },
        axisLabel: { formatter: (v: number) => formatPercent(v, lang, 0) } },
    ],
    series: [
      {
        name: names.persons, type: 'bar', data: groups.map((g) => g.persons), cursor: 'pointer',
        barMaxWidth: 48,
        tooltip: { valueFormatter: (v: unknown) => formatNumber(typeof v === 'number' ? v : null,
          lang) },
      },
      {
        name: names.share, type: 'line', yAxisIndex: 1, data: groups.map((g) => g.revenue_share),
        tooltip: { valueFormatter: (v: unknown) => formatPercent(typeof v === 'number' ? v : null,
          lang) },
      },
    ],
  };
}

export interface Flow {
  from: string;
  to: string;
  persons: number;
}

/** Stage transitions as a sankey, the stages before on the left and after on the right: the
 * same stage is two nodes (ECharts draws no cycles, and active -> silent beside silent -> active
 * would be one). `label` names a stage key ('' for first seen); `highlight` colours the flows
 * an operator watches. */
export function sankeyOption(flows: Flow[], lang: Lang, label: (stage: string) => string,
                             highlight: (from: string, to: string) => boolean = () => false,
): ChartOption {
  const shown = flows.filter((f) => f.persons > 0);
  const left = [...new Set(shown.map((f) => f.from))];
  const right = [...new Set(shown.map((f) => f.to))];
  const colour = (stage: string) => STAGE_COLORS[stage] ?? '#8c8c8c';
  return {
    tooltip: {
      trigger: 'item',
      formatter: (p: { dataType?: string; name?: string; value?: unknown;
                       data?: { source?: string; target?: string } }) => {
        const n = formatNumber(typeof p.value === 'number' ? p.value : null, lang);
        const stage = (node = '') => label(node.slice(node.indexOf(':') + 1));
        return p.dataType === 'edge'
          ? `${stage(p.data?.source)} → ${stage(p.data?.target)}: ${n}`
          : `${stage(p.name)}: ${n}`;
      },
    },
    series: [{
      type: 'sankey',
      left: 8, right: 120, top: 8, bottom: 8,
      nodeAlign: 'justify',
      emphasis: { focus: 'adjacency' },
      data: [
        ...left.map((s) => ({ name: `from:${s}`, itemStyle: { color: colour(s) },
          label: { formatter: label(s) } })),
        ...right.map((s) => ({ name: `to:${s}`, itemStyle: { color: colour(s) },
          label: { formatter: label(s) } })),
      ],
      links: shown.map((f) => ({
        source: `from:${f.from}`, target: `to:${f.to}`, value: f.persons,
        lineStyle: highlight(f.from, f.to)
          ? { color: '#f5222d', opacity: 0.55 } : { color: 'gradient', opacity: 0.3 },
      })),
    }],
  };
}

/** One colour per lifecycle stage ('' for first seen), the same on every chart. */
export const STAGE_COLORS: Record<string, string> = {
  '': '#bfbfbf',
  new: '#52c41a',
  active: '#1677ff',
  resurrected: '#722ed1',
  silent: '#faad14',
  churned: '#f5222d',
};
