import { describe, expect, it } from 'vitest';
import { funnelOption, rfmOption, sankeyOption, xyOption } from './options';

/** Keys present with the value undefined: ECharts would take them over its defaults. */
function undefinedKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => undefinedKeys(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => (v === undefined ? [`${path}.${k}`]
      : undefinedKeys(v, `${path}.${k}`)));
  }
  return [];
}

describe('chart options', () => {
  it('never set a key to undefined', () => {
    for (const type of ['line', 'bar'] as const) {
      const option = xyOption(['a', 'b'], [{ name: 'x', data: [1, null] }], type, 'en');
      expect(undefinedKeys(option)).toEqual([]);
    }
    expect(undefinedKeys(funnelOption([{ label: 'a', count: 3, conversion_from_first: 1,
      conversion_from_previous: 1 }], 'en', { persons: 'p', dropped: 'd' }))).toEqual([]);
  });

  it('labels every bar of a short category axis and stacks what asks for it', () => {
    const option = xyOption(['douyin', 'wechat'], [{ name: 'new', data: [3, 4], stack: 's' }],
      'bar', 'en') as { xAxis: { axisLabel?: { interval: number } }; series: { stack?: string }[] };
    expect(option.xAxis.axisLabel?.interval).toBe(0);
    expect(option.series[0]?.stack).toBe('s');
  });

  it('shows the persons lost between funnel steps', () => {
    const option = funnelOption([
      { label: 'a', count: 100, conversion_from_first: 1, conversion_from_previous: 1 },
      { label: 'b', count: 40, conversion_from_first: 0.4, conversion_from_previous: 0.4 },
    ], 'en', { persons: 'p', dropped: 'd' }) as { series: { data: number[] }[] };
    expect(option.series[0]?.data).toEqual([100, 40]);
    expect(option.series[1]?.data).toEqual([0, 60]);
  });
});

describe('people layer charts', () => {
  it('draw transitions as a sankey with each stage twice, so a flow back is no cycle', () => {
    const flows = [
      { from: 'active', to: 'silent', persons: 5 },
      { from: 'silent', to: 'active', persons: 2 },
      { from: '', to: 'new', persons: 7 },
      { from: 'churned', to: 'resurrected', persons: 0 },
    ];
    const option = sankeyOption(flows, 'en', (s) => s || 'first',
      (f, t) => f === 'active' && t === 'silent') as {
      series: { data: { name: string; label: { formatter: string } }[];
        links: { source: string; target: string; value: number; lineStyle: { color: string } }[] }[];
    };
    expect(undefinedKeys(option)).toEqual([]);
    const [series] = option.series;
    expect(series!.data.map((n) => n.name).sort()).toEqual(
      ['from:', 'from:active', 'from:silent', 'to:active', 'to:new', 'to:silent'].sort());
    expect(series!.data.find((n) => n.name === 'from:')!.label.formatter).toBe('first');
    // Zero flows are left out; every link goes from the left column to the right one.
    expect(series!.links.map((l) => [l.source, l.target, l.value])).toEqual([
      ['from:active', 'to:silent', 5], ['from:silent', 'to:active', 2], ['from:', 'to:new', 7]]);
    expect(series!.links[0]!.lineStyle.color).toBe('#f5222d');
    expect(series!.links[1]!.lineStyle.color).toBe('gradient');
  });

  it('chart RFM groups as persons and revenue shares in the given order', () => {
    const option = rfmOption([
      { label: 'Champions', persons: 10, revenue_share: 0.6 },
      { label: 'Hibernating', persons: 30, revenue_share: 0.1 },
    ], 'en', { persons: 'Persons', share: 'Share' }) as {
      xAxis: { data: string[] }; series: { name: string; data: number[]; yAxisIndex?: number }[];
    };
    expect(undefinedKeys(option)).toEqual([]);
    expect(option.xAxis.data).toEqual(['Champions', 'Hibernating']);
    expect(option.series[0]!.data).toEqual([10, 30]);
    expect(option.series[1]!.data).toEqual([0.6, 0.1]);
    expect(option.series[1]!.yAxisIndex).toBe(1);
  });
});
