import { Checkbox, Select, Space } from 'antd';
import { useMemo, useState } from 'react';
import type {
  LifecycleResult, LifecycleSpec, Period, StickinessResult, StickinessSpec,
} from '../api/types';
import { useProject } from '../auth/project';
import { AnalysisFrame, Field } from '../components/AnalysisFrame';
import { DateRangeSelect } from '../components/DateRangeSelect';
import { EventSelect } from '../components/EventSelect';
import { FiltersEditor } from '../components/FiltersEditor';
import { useInsightParam } from '../hooks/useInsightParam';
import { useAnalysis } from '../hooks/useQuery';
import { useI18n } from '../i18n';
import { LifecycleView, StickinessView } from '../results/ActivityViews';
import {
  buildLifecycleSpec, buildStickinessSpec, defaultLifecycle, defaultStickiness, draftActivity,
} from '../spec/builders';
import type { ActivityDraft } from '../spec/builders';

function ActivityControls<I extends string>({ draft, set, intervals }: {
  draft: ActivityDraft<I>; set: (patch: Partial<ActivityDraft<I>>) => void; intervals: I[];
}) {
  const { t } = useI18n();
  return (
    <>
      <Space wrap align="start">
        <Field label={t('event.pick')}>
          <EventSelect allowAny value={draft.event} testId="activity-event"
            onChange={(event) => set({ event } as Partial<ActivityDraft<I>>)} />
        </Field>
        <Field label={t('range.label')}>
          <DateRangeSelect value={draft.date_range}
            onChange={(date_range) => set({ date_range } as Partial<ActivityDraft<I>>)} />
        </Field>
        <Field label={t('interval.label')}>
          <Select<I> style={{ width: 100 }} value={draft.interval} data-testid="interval"
            onChange={(interval) => set({ interval } as Partial<ActivityDraft<I>>)}
            options={intervals.map((i) => ({
              value: i, label: t(`interval.${i as unknown as Period}`) }))} />
        </Field>
        <Field label=" ">
          <Checkbox checked={draft.compare}
            onChange={(e) => set({ compare: e.target.checked } as Partial<ActivityDraft<I>>)}>
            {t('query.compare')}
          </Checkbox>
        </Field>
      </Space>
      <Field label={t('filter.title')}>
        <FiltersEditor value={draft.filters} event={draft.event}
          onChange={(filters) => set({ filters } as Partial<ActivityDraft<I>>)} />
      </Field>
    </>
  );
}

export function LifecyclePage() {
  const { t } = useI18n();
  const { project } = useProject();
  const [draft, setDraft] = useState<ActivityDraft<Period>>(defaultLifecycle);
  const { insight, setInsight, error: insightError, loading: insightLoading } =
    useInsightParam<LifecycleSpec>(
      project.name, 'lifecycle', (spec) => setDraft(draftActivity<Period>(spec, 'week')));
  const spec = useMemo(() => buildLifecycleSpec(draft), [draft]);
  const query = useAnalysis<LifecycleResult>(project.name, spec, { hold: insightLoading });
  return (
    <AnalysisFrame testId="page-lifecycle" title={t('lifecycle.title')}
      controls={<ActivityControls draft={draft} intervals={['day', 'week', 'month']}
        set={(patch) => setDraft((d) => ({ ...d, ...patch }))} />}
      spec={spec} loading={query.loading} error={query.error ?? insightError}
      hasResult={Boolean(query.data)} result={query.data} onRun={() => void query.rerun()}
      insight={insight}
      onSaved={setInsight}>
      {query.data ? <LifecycleView result={query.data} /> : null}
    </AnalysisFrame>
  );
}

export function StickinessPage() {
  const { t } = useI18n();
  const { project } = useProject();
  const [draft, setDraft] = useState<ActivityDraft<'day' | 'week'>>(defaultStickiness);
  const { insight, setInsight, error: insightError, loading: insightLoading } =
    useInsightParam<StickinessSpec>(
      project.name, 'stickiness', (spec) => setDraft(draftActivity<'day' | 'week'>(spec, 'day')));
  const spec = useMemo(() => buildStickinessSpec(draft), [draft]);
  const query = useAnalysis<StickinessResult>(project.name, spec, { hold: insightLoading });
  return (
    <AnalysisFrame testId="page-stickiness" title={t('stickiness.title')}
      controls={<ActivityControls draft={draft} intervals={['day', 'week']}
        set={(patch) => setDraft((d) => ({ ...d, ...patch }))} />}
      spec={spec} loading={query.loading} error={query.error ?? insightError}
      hasResult={Boolean(query.data)} result={query.data} onRun={() => void query.rerun()}
      insight={insight}
      onSaved={setInsight}>
      {query.data ? <StickinessView result={query.data} /> : null}
    </AnalysisFrame>
  );
}
