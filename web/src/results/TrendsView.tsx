import { Table } from 'antd';
import { useMemo } from 'react';
import type { TrendsResult } from '../api/types';
import { Chart } from '../charts/Chart';
import { xyOption } from '../charts/options';
import type { XYSeries } from '../charts/options';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import { NoData } from '../components/States';
import { breakdownLabel, useBreakdownBy } from './labels';
import type { BreakdownBy } from './labels';

function seriesName(s: TrendsResult['series'][number], t: ReturnType<typeof useI18n>['t'],
                    by: BreakdownBy | null = null) {
  return s.breakdown_value === null ? s.label
    : `${s.label} · ${breakdownLabel(s.breakdown_value, t, by)}`;
}

export function TrendsView({ result, chartType = 'line', compact = false }: {
  result: TrendsResult; chartType?: 'line' | 'bar'; compact?: boolean;
}) {
  const { t } = useI18n();
  const by = useBreakdownBy();
  const fmt = useFormat();
  const categories = useMemo(() => result.buckets.map((b) => fmt.bucket(b, result.interval)),
    [result, fmt]);
  const option = useMemo(() => {
    const lines: XYSeries[] = result.series.map((s) => ({ name: seriesName(s, t, by), data: s.values }));
    if (result.previous) {
      result.previous.series.forEach((s) => lines.push({
        name: t('chart.previous', { label: seriesName(s, t, by) }),
        data: result.buckets.map((_, i) => s.values[i] ?? null), dashed: true,
      }));
    }
    return xyOption(categories, lines, chartType, fmt.lang);
  }, [result, categories, chartType, fmt.lang, t, by]);
  if (result.series.length === 0 || result.buckets.length === 0) return <NoData />;
  const value = (v: number | null) => fmt.number(v, v !== null && Math.abs(v) < 10 ? 4 : 2);
  const columns = [
    { title: t('chart.bucket'), dataIndex: 'bucket', key: 'bucket', fixed: 'left' as const,
      width: 120 },
    ...result.series.map((s, i) => ({
      title: seriesName(s, t, by), key: `s${i}`, align: 'right' as const,
      render: (_: unknown, row: { index: number }) => value(s.values[row.index] ?? null),
    })),
  ];
  const rows = result.buckets.map((b, index) => ({ key: b, bucket: categories[index], index }));
  return (
    <div data-testid="trends-result">
      <Chart option={option} height={compact ? 220 : 340} testId="trends-chart" />
      {compact ? null : (
        <Table
          data-testid="trends-table"
          size="small"
          style={{ marginTop: 16 }}
          columns={columns}
          dataSource={rows}
          pagination={rows.length > 31 ? { pageSize: 31 } : false}
          scroll={{ x: 'max-content' }}
          summary={() => (
            <Table.Summary.Row>
              <Table.Summary.Cell index={0}><b>{t('chart.total')}</b></Table.Summary.Cell>
              {result.series.map((s, i) => (
                <Table.Summary.Cell key={i} index={i + 1} align="right">
                  <b data-testid={`trends-total-${i}`}>{value(s.total)}</b>
                </Table.Summary.Cell>
              ))}
            </Table.Summary.Row>
          )}
        />
      )}
    </div>
  );
}
