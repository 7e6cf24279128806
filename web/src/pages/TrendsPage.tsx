import { Button, Card, Checkbox, Divider, Input, Segmented, Select, Space, Tag } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMemo, useState } from 'react';
import type { Interval, TrendsMath, TrendsResult, TrendsSpec } from '../api/types';
import { useProject } from '../auth/project';
import { AnalysisFrame, Field } from '../components/AnalysisFrame';
import { BreakdownEditor } from '../components/BreakdownEditor';
import { DateRangeSelect } from '../components/DateRangeSelect';
import { EventSelect } from '../components/EventSelect';
import { FiltersEditor, PropertyKeyInput } from '../components/FiltersEditor';
import { useInsightParam } from '../hooks/useInsightParam';
import { useAnalysis } from '../hooks/useQuery';
import { useI18n } from '../i18n';
import { TrendsView } from '../results/TrendsView';
import {
  buildTrendsSpec, defaultTrends, draftTrends, MATHS, PROPERTY_MATHS, ROLLING_MATHS,
} from '../spec/builders';
import type { SeriesDraft, TrendsDraft } from '../spec/builders';

const LETTERS = 'ABCDEFGHIJKLMNOPQRST';

export function TrendsPage() {
  const { t } = useI18n();
  const { project } = useProject();
  const [draft, setDraft] = useState<TrendsDraft>(defaultTrends);
  const [chartType, setChartType] = useState<'line' | 'bar'>('line');
  const { insight, setInsight, error: insightError, loading: insightLoading } =
    useInsightParam<TrendsSpec>(
      project.name, 'trends', (spec) => setDraft(draftTrends(spec)));
  const spec = useMemo(() => buildTrendsSpec(draft), [draft]);
  const query = useAnalysis<TrendsResult>(project.name, spec, { hold: insightLoading });
  const set = (patch: Partial<TrendsDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setSeries = (i: number, patch: Partial<SeriesDraft>) =>
    set({ series: draft.series.map((s, n) => (n === i ? { ...s, ...patch } : s)) });
  const rolling = draft.series.some((s) => ROLLING_MATHS.has(s.math));

  const controls = (
    <>
      <Field label={t('trends.series')}>
        {draft.series.map((s, i) => (
          <Card key={i} size="small" style={{ marginBottom: 8 }} data-testid={`series-${i}`}>
            <Space wrap>
              <Tag color="blue">{LETTERS[i]}</Tag>
              <EventSelect allowAny allowOrder value={s.event} testId={`series-event-${i}`}
                onChange={(event) => setSeries(i, { event })} />
              <Select<TrendsMath> style={{ width: 210 }} value={s.math}
                data-testid={`series-math-${i}`}
                onChange={(math) => setDraft((d) => ({
                  ...d,
                  series: d.series.map((x, n) => (n === i ? { ...x, math } : x)),
                  // rolling weekly/monthly actives are per day: the server refuses other intervals
                  interval: ROLLING_MATHS.has(math) ? 'day' : d.interval,
                }))}
                options={MATHS.map((m) => ({ value: m, label: t(`math.${m}`) }))} />
              {PROPERTY_MATHS.has(s.math) ? (
                <PropertyKeyInput type="event" event={s.event} value={s.property}
                  onChange={(property) => setSeries(i, { property })} />
              ) : null}
              <Input style={{ width: 160 }} placeholder={t('trends.label')} value={s.label}
                onChange={(e) => setSeries(i, { label: e.target.value })} />
              {draft.series.length > 1 ? (
                <Button type="text" icon={<DeleteOutlined />} aria-label={t('trends.remove')}
                  onClick={() => set({ series: draft.series.filter((_, n) => n !== i) })} />
              ) : null}
            </Space>
            <div style={{ marginTop: 8 }}>
              <FiltersEditor compact value={s.filters} event={s.event}
                testId={`series-filters-${i}`} onChange={(filters) => setSeries(i, { filters })} />
            </div>
          </Card>
        ))}
        <Space wrap>
          <Button icon={<PlusOutlined />} disabled={draft.series.length >= 20}
            data-testid="add-series"
            onClick={() => set({ series: [...draft.series,
              { event: null, math: 'total', property: '', label: '', filters: [] }] })}>
            {t('trends.addSeries')}
          </Button>
          <Button icon={<PlusOutlined />} data-testid="add-formula"
            onClick={() => set({ formulas: [...draft.formulas, { expression: '', label: '' }] })}>
            {t('trends.addFormula')}
          </Button>
        </Space>
        {draft.formulas.map((f, i) => (
          <Space key={i} style={{ marginTop: 8, display: 'flex' }} wrap>
            <Tag color="purple">ƒ</Tag>
            <Input style={{ width: 200 }} placeholder={t('trends.formulaHint')}
              data-testid={`formula-${i}`} value={f.expression}
              onChange={(e) => set({ formulas: draft.formulas.map((g, n) =>
                (n === i ? { ...g, expression: e.target.value } : g)) })} />
            <Input style={{ width: 160 }} placeholder={t('trends.label')} value={f.label}
              onChange={(e) => set({ formulas: draft.formulas.map((g, n) =>
                (n === i ? { ...g, label: e.target.value } : g)) })} />
            <Button type="text" icon={<DeleteOutlined />} aria-label={t('trends.remove')}
              onClick={() => set({ formulas: draft.formulas.filter((_, n) => n !== i) })} />
          </Space>
        ))}
      </Field>
      <Divider style={{ margin: '8px 0' }} />
      <Space wrap align="start">
        <Field label={t('range.label')}>
          <DateRangeSelect value={draft.date_range} onChange={(date_range) => set({ date_range })} />
        </Field>
        <Field label={t('interval.label')}>
          <Select<Interval> style={{ width: 110 }} value={draft.interval} data-testid="interval"
            onChange={(interval) => set({ interval })}
            options={(['hour', 'day', 'week', 'month'] as Interval[]).map((i) => ({
              value: i, label: t(`interval.${i}`), disabled: rolling && i !== 'day',
            }))} />
        </Field>
        <Field label={t('breakdown.label')}>
          <BreakdownEditor value={draft.breakdown} onChange={(breakdown) => set({ breakdown })} />
        </Field>
        <Field label=" ">
          <Checkbox checked={draft.compare} onChange={(e) => set({ compare: e.target.checked })}
            data-testid="compare">{t('query.compare')}</Checkbox>
        </Field>
      </Space>
      <Field label={t('filter.title')}>
        <FiltersEditor value={draft.filters} onChange={(filters) => set({ filters })} />
      </Field>
    </>
  );

  return (
    <AnalysisFrame
      testId="page-trends"
      title={t('trends.title')}
      controls={controls}
      spec={spec}
      loading={query.loading}
      error={query.error ?? insightError}
      hasResult={Boolean(query.data)}
      result={query.data}
      onRun={() => void query.rerun()}
      insight={insight}
      onSaved={setInsight}
      toolbar={
        <Segmented<'line' | 'bar'> value={chartType} onChange={setChartType}
          data-testid="chart-type"
          options={[{ value: 'line', label: t('chart.line') },
            { value: 'bar', label: t('chart.bar') }]} />
      }
    >
      {query.data ? <TrendsView result={query.data} chartType={chartType} /> : null}
    </AnalysisFrame>
  );
}
