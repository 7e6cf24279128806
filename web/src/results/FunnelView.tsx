import { Button, Card, Col, Row, Statistic, Table, Typography } from 'antd';
import { useMemo } from 'react';
import type { FunnelBlock, FunnelResult } from '../api/types';
import { Chart } from '../charts/Chart';
import { funnelOption, histogramOption } from '../charts/options';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import { NoData } from '../components/States';
import { breakdownLabel, useBreakdownBy } from './labels';

export type StepClick = (step: number, status: 'converted' | 'dropped') => void;

/** The steps of one block: persons, conversion from the step before and from the first, and
 * the persons lost; counts are buttons that list those persons when `onStepClick` is given. */
export function FunnelStepsTable({ block, onStepClick }: {
  block: FunnelBlock; onStepClick?: StepClick;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const rows = block.steps.map((s, i) => ({
    key: i, index: i, ...s,
    dropped: i === 0 ? null : (block.steps[i - 1]?.count ?? 0) - s.count,
  }));
  return (
    <Table
      data-testid="funnel-steps"
      size="small"
      pagination={false}
      dataSource={rows}
      columns={[
        { title: '#', dataIndex: 'index', width: 48, render: (i: number) => i + 1 },
        { title: t('funnel.steps'), dataIndex: 'label',
          render: (label: string, row) => (
            <span data-testid={`funnel-step-label-${row.index}`}>
              {label}
              {label !== row.event ? <Typography.Text type="secondary"> ({row.event})</Typography.Text>
                : null}
            </span>
          ) },
        { title: t('funnel.persons'), dataIndex: 'count', align: 'right',
          render: (count: number, row) => (
            <Button type="link" size="small" disabled={!onStepClick}
              data-testid={`funnel-step-count-${row.index}`}
              onClick={() => onStepClick?.(row.index, 'converted')}>
              {fmt.number(count)}
            </Button>
          ) },
        { title: t('funnel.fromPrevious'), dataIndex: 'conversion_from_previous', align: 'right',
          render: (v: number, row) => (
            <span data-testid={`funnel-step-conversion-${row.index}`}>{fmt.percent(v)}</span>
          ) },
        { title: t('funnel.fromFirst'), dataIndex: 'conversion_from_first', align: 'right',
          render: (v: number, row) => (
            <span data-testid={`funnel-step-conversion-first-${row.index}`}>{fmt.percent(v)}</span>
          ) },
        { title: t('funnel.dropped'), dataIndex: 'dropped', align: 'right',
          render: (dropped: number | null, row) => (dropped === null ? '' : (
            <Button type="link" size="small" danger disabled={!onStepClick}
              data-testid={`funnel-step-dropped-${row.index}`}
              onClick={() => onStepClick?.(row.index, 'dropped')}>
              {fmt.number(dropped)}
            </Button>
          )) },
      ]}
    />
  );
}

function TimeToConvertChart({ block }: { block: FunnelBlock }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const ttc = block.time_to_convert;
  const option = useMemo(() => histogramOption(
    ttc.histogram.map((b) => `${fmt.duration(b.start)}–${fmt.duration(b.end)}`),
    ttc.histogram.map((b) => b.count), fmt.lang, t('funnel.persons'),
  ), [ttc, fmt, t]);
  return (
    <Card size="small" title={t('funnel.timeToConvert')} data-testid="funnel-time-to-convert"
      extra={
        <Typography.Text type="secondary">
          {t('funnel.median', { value: fmt.duration(ttc.median) })}
          {' · '}
          {t('funnel.mean', { value: fmt.duration(ttc.mean) })}
        </Typography.Text>
      }>
      {ttc.histogram.length ? <Chart option={option} height={220} testId="funnel-histogram" />
        : <NoData text={t('funnel.noConversions')} />}
    </Card>
  );
}

export function FunnelView({ result, onStepClick, compact = false }: {
  result: FunnelResult; onStepClick?: StepClick; compact?: boolean;
}) {
  const { t } = useI18n();
  const by = useBreakdownBy();
  const fmt = useFormat();
  const block = result.total;
  const option = useMemo(() => funnelOption(block.steps, fmt.lang,
    { persons: t('funnel.converted'), dropped: t('funnel.dropped') }), [block, fmt.lang, t]);
  if (block.steps.length === 0) return <NoData />;
  const chart = (
    <Chart option={option} height={compact ? 220 : 320} testId="funnel-chart"
      onClick={onStepClick ? (e) => onStepClick(e.dataIndex,
        e.seriesIndex === 1 && e.dataIndex > 0 ? 'dropped' : 'converted') : undefined} />
  );
  if (compact) {
    return (
      <div data-testid="funnel-result">
        <Statistic title={t('funnel.overall')} value={fmt.percent(block.overall_conversion)} />
        {chart}
      </div>
    );
  }
  return (
    <div data-testid="funnel-result">
      <Row gutter={16} align="middle" style={{ marginBottom: 8 }}>
        <Col>
          <Statistic title={t('funnel.overall')}
            valueRender={() => (
              <span data-testid="funnel-overall">{fmt.percent(block.overall_conversion)}</span>
            )} />
        </Col>
        <Col flex="auto">
          {onStepClick ? <Typography.Text type="secondary">{t('funnel.clickHint')}</Typography.Text>
            : null}
        </Col>
      </Row>
      {chart}
      <FunnelStepsTable block={block} onStepClick={onStepClick} />
      {result.breakdown.length ? (
        <Table
          data-testid="funnel-breakdown"
          size="small"
          style={{ marginTop: 16 }}
          pagination={false}
          scroll={{ x: 'max-content' }}
          dataSource={result.breakdown.map((b, i) => ({ key: i, block: b }))}
          columns={[
            { title: t('breakdown.label'), key: 'value',
              render: (_: unknown, row) => breakdownLabel(row.block.breakdown, t, by) },
            ...block.steps.map((s, i) => ({
              title: `${i + 1}. ${s.label}`, key: `s${i}`, align: 'right' as const,
              render: (_: unknown, row: { block: FunnelBlock }) => {
                const step = row.block.steps[i];
                return step ? `${fmt.number(step.count)} (${fmt.percent(step.conversion_from_first)})`
                  : '';
              },
            })),
            { title: t('funnel.overall'), key: 'overall', align: 'right' as const,
              render: (_: unknown, row) => fmt.percent(row.block.overall_conversion) },
          ]}
        />
      ) : null}
      <div style={{ marginTop: 16 }}><TimeToConvertChart block={block} /></div>
    </div>
  );
}
