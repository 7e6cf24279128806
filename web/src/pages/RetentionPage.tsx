import { Divider, InputNumber, Select, Space } from 'antd';
import { useMemo, useState } from 'react';
import type { Period, RetentionResult, RetentionSpec } from '../api/types';
import { useProject } from '../auth/project';
import { AnalysisFrame, Field } from '../components/AnalysisFrame';
import { BreakdownEditor } from '../components/BreakdownEditor';
import { DateRangeSelect } from '../components/DateRangeSelect';
import { EventSelect } from '../components/EventSelect';
import { FiltersEditor } from '../components/FiltersEditor';
import { useInsightParam } from '../hooks/useInsightParam';
import { useAnalysis } from '../hooks/useQuery';
import { useI18n } from '../i18n';
import { RetentionView } from '../results/RetentionView';
import { buildRetentionSpec, defaultRetention, draftRetention } from '../spec/builders';
import type { RetentionDraft } from '../spec/builders';

export function RetentionPage() {
  const { t } = useI18n();
  const { project } = useProject();
  const [draft, setDraft] = useState<RetentionDraft>(defaultRetention);
  const { insight, setInsight, error: insightError, loading: insightLoading } =
    useInsightParam<RetentionSpec>(
      project.name, 'retention', (spec) => setDraft(draftRetention(spec)));
  const spec = useMemo(() => buildRetentionSpec(draft), [draft]);
  const query = useAnalysis<RetentionResult>(project.name, spec, { hold: insightLoading });
  const set = (patch: Partial<RetentionDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const controls = (
    <>
      <Space wrap align="start">
        <Field label={t('retention.start')}>
          <EventSelect allowAny value={draft.start.event} testId="retention-start"
            onChange={(event) => set({ start: { ...draft.start, event } })} />
          <FiltersEditor compact value={draft.start.filters} event={draft.start.event}
            testId="retention-start-filters"
            onChange={(filters) => set({ start: { ...draft.start, filters } })} />
        </Field>
        <Field label={t('retention.startMode')}>
          <Select style={{ width: 150 }} value={draft.start_mode}
            onChange={(start_mode: RetentionDraft['start_mode']) => set({ start_mode })}
            options={[{ value: 'first_time', label: t('retention.first_time') },
              { value: 'any_time', label: t('retention.any_time') }]} />
        </Field>
        <Field label={t('retention.return')}>
          <EventSelect allowAny value={draft.return_event.event} testId="retention-return"
            onChange={(event) => set({ return_event: { ...draft.return_event, event } })} />
          <FiltersEditor compact value={draft.return_event.filters}
            event={draft.return_event.event} testId="retention-return-filters"
            onChange={(filters) => set({ return_event: { ...draft.return_event, filters } })} />
        </Field>
      </Space>
      <Divider style={{ margin: '8px 0' }} />
      <Space wrap align="start">
        <Field label={t('range.label')}>
          <DateRangeSelect value={draft.date_range} onChange={(date_range) => set({ date_range })} />
        </Field>
        <Field label={t('retention.period')}>
          <Select<Period> style={{ width: 100 }} value={draft.period}
            onChange={(period) => set({ period })}
            options={(['day', 'week', 'month'] as Period[]).map((p) => ({
              value: p, label: t(`interval.${p}`) }))} />
        </Field>
        <Field label={t('retention.periods')}>
          <InputNumber min={1} max={90} value={draft.periods} style={{ width: 80 }}
            onChange={(periods) => set({ periods: periods ?? 7 })} />
        </Field>
        <Field label={t('retention.mode')}>
          <Select style={{ width: 190 }} value={draft.mode}
            onChange={(mode: RetentionDraft['mode']) => set({ mode })}
            options={[{ value: 'bounded', label: t('retention.bounded') },
              { value: 'unbounded', label: t('retention.unbounded') }]} />
        </Field>
        <Field label={t('breakdown.label')}>
          <BreakdownEditor value={draft.breakdown} event={draft.start.event}
            onChange={(breakdown) => set({ breakdown })} />
        </Field>
      </Space>
      <Field label={t('filter.title')}>
        <FiltersEditor value={draft.filters} onChange={(filters) => set({ filters })} />
      </Field>
    </>
  );
  return (
    <AnalysisFrame testId="page-retention" title={t('retention.title')} controls={controls}
      spec={spec} loading={query.loading} error={query.error ?? insightError}
      hasResult={Boolean(query.data)} result={query.data} onRun={() => void query.rerun()}
      insight={insight}
      onSaved={setInsight}>
      {query.data ? <RetentionView result={query.data} /> : null}
    </AnalysisFrame>
  );
}
