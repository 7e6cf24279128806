import {
  Alert, App, Button, Card, Col, DatePicker, Form, Input, InputNumber, Row, Space, Statistic,
  Table, Tag, Typography,
} from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { useEffect, useMemo, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, projectPath, qs } from '../api/client';
import { useGet } from '../api/hooks';
import type { Loaded } from '../api/hooks';
import {
  DEFAULT_PEOPLE_SETTINGS, FIRST_SEEN, isMissing, shiftDay, STAGES, transitionCount,
  transitionMatrix,
} from '../api/people';
import type {
  PeopleSettings, RefreshAnswer, RfmGroup, Stage, StageCounts, Transition, ValueTiers,
} from '../api/people';
import { can, useProject } from '../auth/project';
import { Chart } from '../charts/Chart';
import { rfmOption, sankeyOption, STAGE_COLORS } from '../charts/options';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import type { MessageKey } from '../i18n';

export const STAGE_LABEL: Record<string, MessageKey> = {
  [FIRST_SEEN]: 'layers.stage.first',
  new: 'layers.stage.new',
  active: 'layers.stage.active',
  resurrected: 'layers.stage.resurrected',
  silent: 'layers.stage.silent',
  churned: 'layers.stage.churned',
};

/** The flows an operator watches: active users going quiet, churned ones coming back. */
export const WATCHED: [string, Stage][] = [['active', 'silent'], ['churned', 'resurrected']];
const watched = (from: string, to: string) => WATCHED.some(([f, t]) => f === from && t === to);
const cellId = (from: string, to: string) => `transition-${from || 'first'}-${to}`;

/** Read again after each refresh (tick counts them; 0: none yet). */
function useReloadOn(tick: number, reload: () => void) {
  useEffect(() => {
    if (tick) reload();
  }, [tick, reload]);
}

function RfmCard({ tick }: { tick: number }) {
  const { t, lang } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const { project } = useProject();
  const rfm = useGet<RfmGroup[]>(projectPath(project.name, '/rfm'));
  useReloadOn(tick, rfm.reload);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const groups = useMemo(() => rfm.data ?? [], [rfm.data]);
  const label = (g: RfmGroup) => g.label[lang] ?? g.label.en;
  const other = (g: RfmGroup) => (lang === 'zh-CN' ? g.label.en : g.label['zh-CN']);
  const option = useMemo(() => rfmOption(
    groups.map((g) => ({ label: g.label[lang] ?? g.label.en, persons: g.persons,
      revenue_share: g.revenue_share })),
    lang, { persons: t('layers.rfm.persons'), share: t('layers.rfm.share') },
  ), [groups, lang, t]);
  const base = `/p/${encodeURIComponent(project.name)}`;
  // A group's persons as a saved segment (a person-property rule on $rfm_group), which lists
  // its members, exports them and can be targeted or tagged.
  const toSegment = async (g: RfmGroup) => {
    setError(null);
    try {
      const created = await api.post<{ id: number }>(projectPath(project.name, '/segments'), {
        // The time to the second, in the project's time zone: two saves a minute apart differ.
        name: t('layers.rfm.segmentName', { group: label(g), at: fmt.dateTime(Date.now()) }),
        description: t('layers.rfm.segmentDescription', { group: label(g) }),
        definition: { kind: 'person', key: '$rfm_group', operator: 'eq', value: g.group },
      });
      message.success(t('layers.rfm.segmentCreated'));
      navigate(`${base}/segments/${created.id}`);
    } catch (exc) {
      setError(exc);
    }
  };
  const empty = groups.every((g) => g.persons === 0);
  return (
    <Card title={t('layers.rfm.title')} data-testid="rfm-card"
      extra={<Typography.Text type="secondary">{t('layers.rfm.hint')}</Typography.Text>}>
      <ErrorAlert error={rfm.error ?? error} onRetry={rfm.error ? rfm.reload : undefined} />
      {rfm.loading && !rfm.data ? <Loading /> : null}
      {rfm.data && empty ? <NoData text={t('layers.rfm.empty')} /> : null}
      {rfm.data && !empty ? (
        <Row gutter={[16, 16]}>
          <Col xs={24} xl={12}>
            <Chart option={option} height={340} testId="rfm-chart"
              onClick={(e) => setSelected(groups[e.dataIndex]?.group ?? null)} />
          </Col>
          <Col xs={24} xl={12}>
            <Table
              size="small"
              rowKey="group"
              data-testid="rfm-table"
              pagination={false}
              dataSource={groups}
              onRow={(g) => ({
                onClick: () => setSelected(g.group),
                style: g.group === selected ? { background: '#e6f4ff' } : undefined,
              })}
              columns={[
                { title: t('layers.rfm.group'), key: 'group', render: (_: unknown, g) => (
                  <span data-testid={`rfm-group-${g.group}`}>
                    {label(g)} <Typography.Text type="secondary">{other(g)}</Typography.Text>
                  </span>
                ) },
                { title: t('layers.rfm.persons'), dataIndex: 'persons', align: 'right',
                  render: (v: number, g) => (
                    <span data-testid={`rfm-persons-${g.group}`}>{fmt.number(v)}</span>) },
                { title: t('layers.rfm.revenue'), dataIndex: 'revenue', align: 'right',
                  render: (v: number) => fmt.money(v) },
                { title: t('layers.rfm.share'), dataIndex: 'revenue_share', align: 'right',
                  render: (v: number, g) => (
                    <span data-testid={`rfm-share-${g.group}`}>{fmt.percent(v)}</span>) },
                ...(can.writeInsights(project.role) ? [{
                  title: '', key: 'segment', render: (_: unknown, g: RfmGroup) => (
                    <Button size="small" type="link" disabled={g.persons === 0}
                      data-testid={`rfm-segment-${g.group}`}
                      onClick={(e) => { e.stopPropagation(); void toSegment(g); }}>
                      {t('layers.rfm.toSegment')}
                    </Button>
                  ),
                }] : []),
              ]}
            />
          </Col>
        </Row>
      ) : null}
    </Card>
  );
}

function LifecycleCard({ tick }: { tick: number }) {
  const { t, lang } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [day, setDay] = useState<string | null>(null);
  const [range, setRange] = useState<[string, string] | null>(null);
  const counts = useGet<StageCounts>(projectPath(project.name,
    '/lifecycle-stages' + qs({ day: day ?? undefined })));
  useReloadOn(tick, counts.reload);
  const shownDay = counts.data?.day ?? null;
  // The transitions of the week up to the day shown, until the reader picks a range.
  useEffect(() => {
    if (shownDay && range === null) setRange([shiftDay(shownDay, -6), shownDay]);
  }, [shownDay, range]);
  const flows = useGet<Transition[]>(range ? projectPath(project.name,
    '/lifecycle-stages/transitions' + qs({ start: range[0], end: range[1] })) : null);
  useReloadOn(tick, flows.reload);
  const list = useMemo(() => flows.data ?? [], [flows.data]);
  const matrix = useMemo(() => transitionMatrix(list), [list]);
  const name = (stage: string) => t(STAGE_LABEL[stage] ?? 'layers.stage.first');
  const sankey = useMemo(() => sankeyOption(list, lang,
    (stage) => t(STAGE_LABEL[stage] ?? 'layers.stage.first'), watched), [list, lang, t]);
  return (
    <Card title={t('layers.stages.title')} data-testid="stages-card">
      <Space wrap style={{ marginBottom: 12 }}>
        <Typography.Text>{t('layers.stages.day')}</Typography.Text>
        <DatePicker allowClear data-testid="stages-day"
          value={shownDay ? dayjs(shownDay) : null}
          onChange={(d) => setDay(d ? d.format('YYYY-MM-DD') : null)} />
      </Space>
      <ErrorAlert error={counts.error} onRetry={counts.reload} />
      {counts.loading && !counts.data ? <Loading /> : null}
      {counts.data ? (
        <Row gutter={[12, 12]} data-testid="stage-counts">
          {STAGES.map((stage) => (
            <Col key={stage} xs={12} md={8} xl={4}>
              <Card size="small" style={{ borderTop: `3px solid ${STAGE_COLORS[stage]}` }}>
                <Statistic title={name(stage)}
                  valueRender={() => (
                    <span data-testid={`stage-count-${stage}`}>
                      {fmt.number(counts.data?.counts[stage] ?? 0)}
                    </span>
                  )} />
              </Card>
            </Col>
          ))}
        </Row>
      ) : null}

      <Typography.Title level={5} style={{ marginTop: 24 }}>
        {t('layers.transitions.title')}
      </Typography.Title>
      <Space wrap style={{ marginBottom: 12 }}>
        <DatePicker.RangePicker allowClear={false} data-testid="transitions-range"
          value={range ? [dayjs(range[0]), dayjs(range[1])] : null}
          onChange={(dates) => {
            const [start, end] = dates ?? [];
            if (start && end) setRange([start.format('YYYY-MM-DD'), end.format('YYYY-MM-DD')]);
          }} />
      </Space>
      <ErrorAlert error={flows.error} onRetry={flows.reload} />
      {flows.loading && !flows.data ? <Loading /> : null}
      {flows.data ? (
        <>
          <Row gutter={[12, 12]} style={{ marginBottom: 12 }}>
            {WATCHED.map(([from, to]) => (
              <Col key={`${from}-${to}`} xs={24} md={12}>
                <Card size="small" style={{ borderLeft: '3px solid #f5222d' }}>
                  <Statistic
                    title={t(from === 'active' ? 'layers.transitions.activeSilent'
                      : 'layers.transitions.churnedBack')}
                    valueRender={() => (
                      <span data-testid={`highlight-${from}-${to}`}>
                        {fmt.number(transitionCount(list, from, to))}
                      </span>
                    )} />
                </Card>
              </Col>
            ))}
          </Row>
          {matrix.total === 0 ? <NoData text={t('layers.transitions.empty')} /> : (
            <Row gutter={[16, 16]}>
              <Col xs={24} xl={12}>
                <Table
                  size="small"
                  data-testid="transitions-matrix"
                  rowKey={(row) => row.from || 'first'}
                  pagination={false}
                  scroll={{ x: 'max-content' }}
                  dataSource={matrix.from.map((from) => ({ from }))}
                  columns={[
                    { title: t('layers.transitions.fromTo'), dataIndex: 'from',
                      render: (from: string) => <strong>{name(from)}</strong> },
                    ...matrix.to.map((to) => ({
                      title: name(to), key: to, align: 'right' as const,
                      onCell: ({ from }: { from: string }) => ({
                        style: watched(from, to) ? { background: '#fff1f0' } : undefined,
                      }),
                      render: (_: unknown, { from }: { from: string }) => {
                        const n = matrix.cells[from]?.[to] ?? 0;
                        return (
                          <span data-testid={cellId(from, to)}
                            style={{ color: n ? undefined : '#bfbfbf' }}>{fmt.number(n)}</span>
                        );
                      },
                    })),
                    { title: t('layers.transitions.total'), key: 'total', align: 'right' as const,
                      render: (_: unknown, { from }: { from: string }) =>
                        fmt.number(matrix.rowTotals[from] ?? 0) },
                  ]}
                />
                <Typography.Text type="secondary">{t('layers.transitions.note')}</Typography.Text>
              </Col>
              <Col xs={24} xl={12}>
                <Chart option={sankey} height={360} testId="transitions-sankey" />
              </Col>
            </Row>
          )}
        </>
      ) : null}
    </Card>
  );
}

/** Tier metrics that are money (the project's currency). */
const MONEY_METRICS = ['$revenue', '$revenue_30d', '$rfm_monetary'];

function TierCard({ tiers }: { tiers: Loaded<ValueTiers> }) {
  const { t, lang } = useI18n();
  const fmt = useFormat();
  const money = MONEY_METRICS.includes(tiers.data?.metric ?? '');
  const amount = (v: number | null | undefined) => (money ? fmt.money(v) : fmt.number(v));
  const tierName = (row: ValueTiers['tiers'][number]) => row.label?.[lang]
    ?? (row.tier === 'core' ? t('layers.tier.core')
      : row.tier === 'mass' ? t('layers.tier.mass') : row.tier);
  const missing = isMissing(tiers.error);
  return (
    <Card title={t('layers.tier.title')} data-testid="tier-card">
      {missing ? <NoData text={t('layers.tier.unavailable')} /> : (
        <ErrorAlert error={tiers.error} onRetry={tiers.reload} />
      )}
      {tiers.loading && !tiers.data ? <Loading /> : null}
      {tiers.data ? (
        <>
          <Typography.Paragraph type="secondary" data-testid="tier-rule">
            {t('layers.tier.rule', { metric: tiers.data.metric,
              percentile: tiers.data.core_percentile,
              threshold: tiers.data.threshold === null ? '—' : amount(tiers.data.threshold) })}
          </Typography.Paragraph>
          {tiers.data.tiers.every((tier) => tier.persons === 0)
            ? <NoData text={t('layers.tier.empty')} /> : (
              <Table
                size="small" rowKey="tier" pagination={false} data-testid="tier-table"
                dataSource={tiers.data.tiers}
                columns={[
                  { title: t('layers.tier.tier'), dataIndex: 'tier',
                    render: (tier: string, row) => (
                      <Tag color={tier === 'core' ? 'gold' : 'default'}>{tierName(row)}</Tag>) },
                  { title: t('layers.rfm.persons'), dataIndex: 'persons', align: 'right',
                    render: (v: number, row) => (
                      <span data-testid={`tier-persons-${row.tier}`}>{fmt.number(v)}</span>) },
                  { title: t('layers.tier.value'), dataIndex: 'value', align: 'right',
                    render: (v: number) => amount(v) },
                  { title: t('layers.tier.share'), dataIndex: 'share', align: 'right',
                    render: (v: number) => fmt.percent(v) },
                ]}
              />
            )}
        </>
      ) : null}
    </Card>
  );
}

interface SettingsForm {
  new_days: number; active_days: number; churn_days: number;
  window_days: number; value_event: string; metric: string; core_percentile: number;
}

const toForm = (s: PeopleSettings): SettingsForm => ({
  new_days: s.stages.new_days, active_days: s.stages.active_days,
  churn_days: s.stages.churn_days, window_days: s.rfm.window_days,
  value_event: s.rfm.value_event ?? '', metric: s.tier.metric,
  core_percentile: s.tier.core_percentile,
});

/** The form's values as the settings body: the stored settings with the edited fields. */
export function fromForm(v: SettingsForm, stored: PeopleSettings): PeopleSettings {
  return {
    ...stored,
    stages: { ...stored.stages, new_days: v.new_days, active_days: v.active_days,
      churn_days: v.churn_days },
    rfm: { ...stored.rfm, window_days: v.window_days, value_event: v.value_event.trim() || null },
    tier: { ...stored.tier, metric: v.metric.trim() || '$revenue',
      core_percentile: v.core_percentile },
  };
}

function SettingsCard() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { project } = useProject();
  const path = projectPath(project.name, '/people-settings');
  const settings = useGet<PeopleSettings>(path);
  const [form] = Form.useForm<SettingsForm>();
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const writer = can.writeInsights(project.role);
  const stored = settings.data ?? DEFAULT_PEOPLE_SETTINGS;
  useEffect(() => {
    if (settings.data) form.setFieldsValue(toForm(settings.data));
  }, [settings.data, form]);
  const save = async (values: SettingsForm) => {
    setError(null);
    setSaving(true);
    try {
      const saved = await api.put<PeopleSettings>(path, fromForm(values, stored));
      if (saved && typeof saved === 'object' && 'stages' in saved) settings.setData(saved);
      message.success(t('layers.settings.saved'));
    } catch (exc) {
      setError(exc);
    } finally {
      setSaving(false);
    }
  };
  const days = (name: keyof SettingsForm, label: MessageKey, min: number, max: number) => (
    <Form.Item name={name} label={t(label)} rules={[{ required: true, message: t('auth.required') }]}>
      <InputNumber min={min} max={max} precision={0} disabled={!writer}
        data-testid={`settings-${name}`} addonAfter={t('layers.settings.days')} />
    </Form.Item>
  );
  return (
    <Card title={t('layers.settings.title')} data-testid="people-settings">
      {isMissing(settings.error) ? (
        <Alert type="info" showIcon message={t('layers.settings.unavailable')} />
      ) : <ErrorAlert error={settings.error ?? error} onRetry={settings.error ? settings.reload
        : undefined} />}
      {settings.loading && !settings.data ? <Loading /> : null}
      {settings.data ? (
        <Form form={form} layout="vertical" initialValues={toForm(stored)}
          onFinish={(v) => void save(v)}>
          <Row gutter={16}>
            <Col xs={24} md={8}>{days('new_days', 'layers.settings.newDays', 1, 365)}</Col>
            <Col xs={24} md={8}>{days('active_days', 'layers.settings.activeDays', 1, 365)}</Col>
            <Col xs={24} md={8}>{days('churn_days', 'layers.settings.churnDays', 2, 3650)}</Col>
            <Col xs={24} md={8}>{days('window_days', 'layers.settings.windowDays', 1, 3650)}</Col>
            <Col xs={24} md={8}>
              <Form.Item name="value_event" label={t('layers.settings.valueEvent')}
                tooltip={t('layers.settings.valueEventHint', { event: project.order_event })}>
                <Input allowClear disabled={!writer} placeholder={project.order_event}
                  data-testid="settings-value_event" />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="metric" label={t('layers.settings.metric')}>
                <Input disabled={!writer} data-testid="settings-metric" />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="core_percentile" label={t('layers.settings.percentile')}
                rules={[{ required: true, message: t('auth.required') }]}>
                <InputNumber min={1} max={99} precision={0} disabled={!writer}
                  data-testid="settings-core_percentile" />
              </Form.Item>
            </Col>
          </Row>
          {writer ? (
            <Button type="primary" htmlType="submit" loading={saving}
              data-testid="settings-save">{t('common.save')}</Button>
          ) : null}
        </Form>
      ) : null}
    </Card>
  );
}

/** 用户分层: RFM groups, lifecycle stages and their transitions, core vs mass users, and the
 * settings of the daily refresh that computes them. */
export function LayersPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [tick, setTick] = useState(0);
  const [refreshing, setRefreshing] = useState(false);
  const [last, setLast] = useState<RefreshAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Value tiers are computed by the same refresh: their answer dates the last one.
  const tiers = useGet<ValueTiers>(projectPath(project.name, '/value-tiers'));
  useReloadOn(tick, tiers.reload);
  const lastAt = tiers.data?.refreshed_at ?? null;
  const refresh = async () => {
    setError(null);
    setRefreshing(true);
    try {
      // No body: the server uses the project's stored people settings.
      const answer = await api.post<RefreshAnswer>(
        projectPath(project.name, '/computed-properties/refresh'), {});
      setLast(answer);
      setTick((n) => n + 1);
    } catch (exc) {
      setError(exc);
    } finally {
      setRefreshing(false);
    }
  };
  return (
    <div data-testid="page-layers">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
        <Space direction="vertical" size={0}>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('layers.title')}</Typography.Title>
          <Typography.Text type="secondary">{t('layers.subtitle')}</Typography.Text>
        </Space>
        <Space wrap>
          {last ? (
            <Typography.Text type="secondary" data-testid="last-refresh">
              {t('layers.refreshed', { at: fmt.dateTime(last.refreshed_at),
                persons: fmt.number(last.persons), seconds: fmt.number(last.seconds) })}
            </Typography.Text>
          ) : (
            <Typography.Text type="secondary" data-testid="last-refresh">
              {lastAt ? t('layers.lastRefresh', { at: fmt.dateTime(lastAt) }) : t('layers.daily')}
            </Typography.Text>
          )}
          {can.writeInsights(project.role) ? (
            <Button icon={<ReloadOutlined />} loading={refreshing} data-testid="people-refresh"
              onClick={() => void refresh()}>{t('layers.refresh')}</Button>
          ) : null}
        </Space>
      </Space>
      <ErrorAlert error={error} />
      <Space direction="vertical" size={16} style={{ width: '100%' }}>
        <RfmCard tick={tick} />
        <LifecycleCard tick={tick} />
        <TierCard tiers={tiers} />
        <SettingsCard />
      </Space>
    </div>
  );
}
