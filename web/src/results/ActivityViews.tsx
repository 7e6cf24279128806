import { Table, Typography } from 'antd';
import { useMemo } from 'react';
import type { LifecycleResult, StickinessResult } from '../api/types';
import { Chart } from '../charts/Chart';
import { xyOption } from '../charts/options';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import { NoData } from '../components/States';

const STATUSES = ['new', 'returning', 'resurrecting', 'dormant'] as const;
const COLORS = { new: '#52c41a', returning: '#1677ff', resurrecting: '#faad14', dormant: '#ff4d4f' };

export function LifecycleView({ result, compact = false }: {
  result: LifecycleResult; compact?: boolean;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const option = useMemo(() => xyOption(
    result.buckets.map((b) => fmt.bucket(b, result.interval)),
    STATUSES.map((s) => ({ name: t(`lifecycle.${s}`), data: result[s], stack: 'lifecycle',
      color: COLORS[s] })),
    'bar', fmt.lang,
  ), [result, fmt, t]);
  if (result.buckets.length === 0) return <NoData />;
  return (
    <div data-testid="lifecycle-result">
      <Chart option={option} height={compact ? 220 : 340} testId="lifecycle-chart" />
      {compact ? null : (
        <Table
          data-testid="lifecycle-table"
          size="small"
          style={{ marginTop: 16 }}
          pagination={result.buckets.length > 31 ? { pageSize: 31 } : false}
          dataSource={result.buckets.map((b, i) => ({ key: b, i }))}
          columns={[
            { title: t('chart.bucket'), key: 'bucket',
              render: (_: unknown, row) => fmt.bucket(result.buckets[row.i] ?? '', result.interval) },
            ...STATUSES.map((s) => ({
              title: t(`lifecycle.${s}`), key: s, align: 'right' as const,
              render: (_: unknown, row: { i: number }) => fmt.number(result[s][row.i] ?? null),
            })),
          ]}
        />
      )}
    </div>
  );
}

export function StickinessView({ result, compact = false }: {
  result: StickinessResult; compact?: boolean;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const label = (n: number) => t(result.interval === 'week' ? 'stickiness.weeks' : 'stickiness.days',
    { n });
  const option = useMemo(() => {
    const lines = [{ name: t('stickiness.persons'), data: result.rows.map((r) => r.persons) }];
    if (result.previous) {
      lines.push({ name: t('chart.previous', { label: t('stickiness.persons') }),
        data: result.rows.map((_, i) => result.previous?.rows[i]?.persons ?? null) as number[] });
    }
    return xyOption(result.rows.map((r) => label(r.n)), lines, 'bar', fmt.lang);
    // label depends on t and the interval only
  }, [result, fmt.lang, t]);
  if (result.rows.length === 0) return <NoData />;
  return (
    <div data-testid="stickiness-result">
      <Typography.Text type="secondary" data-testid="stickiness-total">
        {t('stickiness.total', { n: fmt.number(result.total) })}
      </Typography.Text>
      <Chart option={option} height={compact ? 220 : 320} testId="stickiness-chart" />
      {compact ? null : (
        <Table
          data-testid="stickiness-table"
          size="small"
          style={{ marginTop: 16 }}
          pagination={false}
          dataSource={result.rows.map((r) => ({ key: r.n, ...r }))}
          columns={[
            { title: t('stickiness.active'), dataIndex: 'n', render: (n: number) => label(n) },
            { title: t('stickiness.persons'), dataIndex: 'persons', align: 'right',
              render: (v: number) => fmt.number(v) },
            { title: t('stickiness.share'), dataIndex: 'share', align: 'right',
              render: (v: number) => fmt.percent(v) },
          ]}
        />
      )}
    </div>
  );
}
