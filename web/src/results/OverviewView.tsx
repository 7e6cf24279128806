import { Card, Col, Row, Tooltip, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined } from '@ant-design/icons';
import { useMemo } from 'react';
import type { Metric, OverviewResult } from '../api/types';
import { Chart } from '../charts/Chart';
import { sparklineOption, xyOption } from '../charts/options';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import type { MessageKey } from '../i18n';
import { breakdownLabel } from './labels';

export const KPIS = [
  'dau', 'wau', 'mau', 'stickiness', 'new_persons', 'd1_retention', 'd7_retention', 'revenue',
  'paying_rate', 'arpu', 'arppu',
] as const;
type Kpi = (typeof KPIS)[number];
const PERCENT: ReadonlySet<string> = new Set(['stickiness', 'd1_retention', 'd7_retention',
  'd30_retention', 'paying_rate']);
const MONEY: ReadonlySet<string> = new Set(['revenue', 'arpu', 'arppu']);

function KpiCard({ name, metric, spark, currency }: {
  name: Kpi; metric: Metric | undefined; spark: (number | null)[]; currency: string;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const show = (v: number | null | undefined) => (PERCENT.has(name) ? fmt.percent(v)
    : MONEY.has(name) ? fmt.money(v, currency) : fmt.number(v, name === 'dau' ? 1 : 2));
  const change = metric?.change ?? null;
  const color = change === null || change === 0 ? '#8c8c8c' : change > 0 ? '#389e0d' : '#cf1322';
  const option = useMemo(() => sparklineOption(spark, color === '#8c8c8c' ? '#1677ff' : color),
    [spark, color]);
  return (
    <Card size="small" data-testid={`kpi-${name}`} styles={{ body: { padding: 12 } }}>
      <Typography.Text type="secondary">{t(`kpi.${name}` as MessageKey)}</Typography.Text>
      <div style={{ fontSize: 24, fontWeight: 600, lineHeight: '32px' }}
        data-testid={`kpi-${name}-value`}>{show(metric?.value)}</div>
      <Tooltip title={`${t('overview.vsPrevious')}: ${show(metric?.previous)}`}>
        <span style={{ color, fontSize: 13 }} data-testid={`kpi-${name}-change`}>
          {change !== null && change > 0 ? <ArrowUpOutlined /> : null}
          {change !== null && change < 0 ? <ArrowDownOutlined /> : null}
          {' '}{fmt.change(change)}
        </span>
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {' '}{t('overview.vsPrevious')}
        </Typography.Text>
      </Tooltip>
      <Chart option={option} height={36} />
    </Card>
  );
}

export function OverviewView({ result, compact = false }: {
  result: OverviewResult; compact?: boolean;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const metrics = new Map(result.metrics.map((m) => [m.name, m]));
  const sparks = (name: Kpi): (number | null)[] => {
    if (['dau', 'wau', 'mau', 'stickiness'].includes(name)) return result.active_persons;
    if (name === 'new_persons') return result.new_persons;
    if (name === 'd1_retention' || name === 'd7_retention') return result.retention_curve;
    const m = metrics.get(name);
    return [m?.previous ?? null, m?.value ?? null];
  };
  const days = useMemo(() => result.days.map((d) => fmt.bucket(d)), [result, fmt]);
  const activeOption = useMemo(() => xyOption(days, [
    { name: t('overview.active'), data: result.active_persons },
    { name: t('overview.new'), data: result.new_persons },
  ], 'line', fmt.lang), [days, result, t, fmt.lang]);
  const channelOption = useMemo(() => xyOption(
    result.new_persons_by_channel.map((c) => breakdownLabel(c.channel, t)),
    [{ name: t('overview.new'), data: result.new_persons_by_channel.map((c) => c.persons) }],
    'bar', fmt.lang), [result, t, fmt.lang]);
  const curveOption = useMemo(() => xyOption(
    result.retention_curve.map((_, k) => t('overview.day', { k })),
    [{ name: t('retention.average'), data: result.retention_curve }], 'line', fmt.lang,
    'percent'), [result, t, fmt.lang]);
  return (
    <div data-testid="overview-result">
      <Row gutter={[12, 12]}>
        {KPIS.map((name) => (
          <Col key={name} xs={12} sm={8} md={6} xl={compact ? 6 : 4}>
            <KpiCard name={name} metric={metrics.get(name)} spark={sparks(name)}
              currency={result.currency} />
          </Col>
        ))}
      </Row>
      {compact ? null : (
        <Row gutter={[12, 12]} style={{ marginTop: 12 }}>
          <Col xs={24} xl={12}>
            <Card size="small" title={t('overview.activeOverTime')}>
              <Chart option={activeOption} height={280} testId="overview-active-chart" />
            </Card>
          </Col>
          <Col xs={24} xl={12}>
            <Card size="small" title={t('overview.newByChannel')}>
              <Chart option={channelOption} height={280} testId="overview-channel-chart" />
            </Card>
          </Col>
          <Col xs={24}>
            <Card size="small" title={t('overview.retentionCurve')}>
              <Chart option={curveOption} height={260} testId="overview-retention-chart" />
            </Card>
          </Col>
        </Row>
      )}
    </div>
  );
}
