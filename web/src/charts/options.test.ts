import { describe, expect, it } from 'vitest';
import { funnelOption, xyOption } from './options';

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
