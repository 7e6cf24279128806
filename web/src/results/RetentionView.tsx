import { Card, Segmented, Table } from 'antd';
import { useMemo, useState } from 'react';
import type { RetentionCohort, RetentionResult } from '../api/types';
import { Chart } from '../charts/Chart';
import { xyOption } from '../charts/options';
import type { XYSeries } from '../charts/options';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import { NoData } from '../components/States';
import { breakdownLabel, useBreakdownBy } from './labels';

/** A heat cell's background: deeper blue for a larger share. */
export function heat(share: number | null): string | undefined {
  if (share === null) return undefined;
  const alpha = 0.08 + 0.72 * Math.max(0, Math.min(1, share));
  return `rgba(22, 119, 255, ${alpha.toFixed(3)})`;
}

function HeatTable({ cohorts, average, periods, period }: {
  cohorts: RetentionCohort[]; average: (number | null)[]; periods: number;
  period: RetentionResult['period'];
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const cell = (share: number | null, text: string, testId?: string) => (
    <div data-testid={testId} style={{
      background: heat(share), color: share !== null && share > 0.55 ? '#fff' : undefined,
      padding: '4px 6px', textAlign: 'right', borderRadius: 2,
    }}>{text}</div>
  );
  const ks = Array.from({ length: periods + 1 }, (_, k) => k);
  const rows = [
    { key: 'average', label: t('retention.average'), size: null as number | null,
      shares: average, counts: null as (number | null)[] | null },
    ...cohorts.map((c) => ({
      key: c.period, label: fmt.day(c.period), size: c.size,
      shares: c.retained.map((n) => (n === null || c.size === 0 ? null : n / c.size)),
      counts: c.retained,
    })),
  ];
  return (
    <Table
      data-testid="retention-table"
      size="small"
      pagination={false}
      scroll={{ x: 'max-content' }}
      dataSource={rows}
      columns={[
        { title: t('retention.cohort'), dataIndex: 'label', fixed: 'left', width: 130,
          render: (label: string, row) => (row.key === 'average' ? <b>{label}</b> : label) },
        { title: t('retention.size'), dataIndex: 'size', align: 'right', width: 80,
          render: (size: number | null) => (size === null ? '' : fmt.number(size)) },
        ...ks.map((k) => ({
          title: t(`retention.k.${period}`, { k }), key: `k${k}`, width: 72,
          render: (_: unknown, row: (typeof rows)[number], index: number) => {
            const share = row.shares[k] ?? null;
            if (share === null && row.counts && row.counts[k] === null) return '';
            const count = row.counts?.[k];
            return (
              <div title={count === undefined || count === null ? undefined : fmt.number(count)}>
                {cell(share, fmt.percent(share), index === 0 ? `retention-average-${k}` : undefined)}
              </div>
            );
          },
        })),
      ]}
    />
  );
}

export function RetentionView({ result, compact = false }: {
  result: RetentionResult; compact?: boolean;
}) {
  const { t } = useI18n();
  const by = useBreakdownBy();
  const fmt = useFormat();
  const [selected, setSelected] = useState<string>('$all');
  const matrix = selected === '$all' ? { cohorts: result.cohorts, average: result.average }
    : result.breakdown.find((b) => b.value === selected) ?? result;
  const option = useMemo(() => {
    const categories = result.average.map((_, k) => t(`retention.k.${result.period}`, { k }));
    const lines: XYSeries[] = [{ name: t('retention.average'), data: result.average }];
    for (const b of result.breakdown.slice(0, 10)) {
      lines.push({ name: breakdownLabel(b.value, t, by), data: b.average });
    }
    return xyOption(categories, lines, 'line', fmt.lang, 'percent');
  }, [result, t, fmt.lang, by]);
  if (result.cohorts.length === 0) return <NoData />;
  return (
    <div data-testid="retention-result">
      <Chart option={option} height={compact ? 220 : 280} testId="retention-curve" />
      {compact ? null : (
        <Card size="small" style={{ marginTop: 16 }}
          title={result.breakdown.length ? (
            <Segmented size="small" value={selected} onChange={(v) => setSelected(String(v))}
              options={[{ value: '$all', label: t('breakdown.all') },
                ...result.breakdown.map((b) => ({ value: b.value, label: breakdownLabel(b.value, t, by) }))]} />
          ) : t('retention.title')}>
          <HeatTable cohorts={matrix.cohorts} average={matrix.average} periods={result.periods}
            period={result.period} />
        </Card>
      )}
    </div>
  );
}
