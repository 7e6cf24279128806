import {
  Button, Card, Divider, Drawer, Input, InputNumber, List, Pagination, Select, Space, Tag,
  Typography,
} from 'antd';
import { ArrowDownOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, projectPath, qs } from '../api/client';
import type {
  FunnelMode, FunnelResult, FunnelSpec, PersonPage, PersonRow, WindowUnit,
} from '../api/types';
import { useProject } from '../auth/project';
import { AnalysisFrame, Field } from '../components/AnalysisFrame';
import { BreakdownEditor } from '../components/BreakdownEditor';
import { DateRangeSelect } from '../components/DateRangeSelect';
import { ErrorAlert } from '../components/ErrorAlert';
import { EventSelect } from '../components/EventSelect';
import { FiltersEditor } from '../components/FiltersEditor';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useInsightParam } from '../hooks/useInsightParam';
import { useAnalysis } from '../hooks/useQuery';
import { useI18n } from '../i18n';
import { FunnelView } from '../results/FunnelView';
import {
  buildFunnelSpec, defaultFunnel, draftFunnel, runnableFunnelSpec,
} from '../spec/builders';
import type { FunnelDraft, StepDraft } from '../spec/builders';

const PAGE = 50;

interface PersonsQuery { step: number; status: 'converted' | 'dropped'; offset: number }

interface DrawerState {
  key: string;
  result?: FunnelResult;
  error?: unknown;
  summaries?: PersonRow[];
  summaryError?: unknown;
}

/** The persons list's summaries of these numbers; without them (an error) the numbers show. */
async function summariesOf(project: string, ids: number[]): Promise<
  { summaries?: PersonRow[]; summaryError?: unknown }> {
  if (ids.length === 0) return {};
  try {
    const page = await api.get<PersonPage>(
      projectPath(project, '/persons' + qs({ ids: ids.join(',') })));
    return { summaries: page.persons };
  } catch (summaryError) {
    return { summaryError };
  }
}

/** One listed person: the name the persons list shows (else the number), its first id. */
function FunnelPerson({ id, person }: { id: number; person: PersonRow | undefined }) {
  const { project } = useProject();
  const name = person?.display || `#${id}`;
  const first = person?.distinct_ids[0];
  return (
    <List.Item data-testid="funnel-person">
      <Space direction="vertical" size={0} style={{ minWidth: 0 }}>
        <Link to={`/p/${encodeURIComponent(project.name)}/persons/${id}`}>{name}</Link>
        {first && first !== name ? (
          <Typography.Text type="secondary" ellipsis style={{ maxWidth: 340 }}>
            {first}
          </Typography.Text>
        ) : null}
      </Space>
    </List.Item>
  );
}

/** The persons who reached a step or dropped before it: the same funnel, with `persons`, then
 * their summaries (names, ids) by number. */
export function FunnelPersonsDrawer({ draft, query, labels, onClose, onPage }: {
  draft: FunnelDraft; query: PersonsQuery | null; labels: string[]; onClose: () => void;
  onPage: (offset: number) => void;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [state, setState] = useState<DrawerState>({ key: '' });
  const key = query ? JSON.stringify(query) : '';
  useEffect(() => {
    if (!query) return;
    let live = true;
    setState({ key });
    const spec = buildFunnelSpec(draft, { ...query, limit: PAGE });
    // The page shows once its names are in, so numbers never flash in their place.
    api.post<FunnelResult>(projectPath(project.name, '/query'), spec).then(
      async (result) => {
        const found = await summariesOf(project.name, result.persons ?? []);
        if (live) setState({ key, result, ...found });
      },
      (error: unknown) => { if (live) setState({ key, error }); },
    );
    return () => { live = false; };
    // the drawer lists the funnel as it was when the step was clicked: only a new click or
    // page asks again
  }, [key, project.name]);
  const persons = state.result?.persons ?? [];
  const total = state.result?.persons_total ?? 0;
  const byId = useMemo(() => new Map((state.summaries ?? []).map(
    (person) => [String(person.person_id), person])), [state.summaries]);
  return (
    <Drawer open={query !== null} onClose={onClose} width={420} data-testid="funnel-persons"
      title={query ? t('funnel.personsTitle', {
        n: query.step + 1, label: labels[query.step] ?? '',
        status: t(query.status === 'converted' ? 'funnel.converted' : 'funnel.dropped'),
      }) : ''}>
      <ErrorAlert error={state.error} />
      {!state.result && !state.error ? <Loading /> : null}
      {state.result ? (
        <>
          <Typography.Paragraph data-testid="funnel-persons-total">
            {t('funnel.personsTotal', { n: fmt.number(total) })}
          </Typography.Paragraph>
          <ErrorAlert error={state.summaryError} />
          {persons.length === 0 ? <NoData /> : (
            <List size="small" bordered dataSource={persons}
              renderItem={(id) => <FunnelPerson id={id} person={byId.get(String(id))} />} />
          )}
          {total > PAGE && query ? (
            <Pagination style={{ marginTop: 12 }} size="small" pageSize={PAGE} total={total}
              current={Math.floor(query.offset / PAGE) + 1} showSizeChanger={false}
              onChange={(page) => onPage((page - 1) * PAGE)} />
          ) : null}
        </>
      ) : null}
    </Drawer>
  );
}

export function FunnelPage() {
  const { t } = useI18n();
  const { project } = useProject();
  const [draft, setDraft] = useState<FunnelDraft>(defaultFunnel);
  const [persons, setPersons] = useState<PersonsQuery | null>(null);
  const { insight, setInsight, error: insightError, loading: insightLoading } =
    useInsightParam<FunnelSpec>(
      project.name, 'funnel', (spec) => setDraft(draftFunnel(spec)));
  const spec = useMemo(() => runnableFunnelSpec(draft), [draft]);
  const query = useAnalysis<FunnelResult>(project.name, spec, { hold: insightLoading });
  const set = (patch: Partial<FunnelDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setStep = (i: number, patch: Partial<StepDraft>) =>
    set({ steps: draft.steps.map((s, n) => (n === i ? { ...s, ...patch } : s)) });
  const complete = draft.steps.filter((s) => s.event.trim()).length;
  const labels = query.data?.total.steps.map((s) => s.label) ?? [];

  const controls = (
    <>
      <Field label={t('funnel.steps')}>
        {draft.steps.map((step, i) => (
          <div key={i}>
            {i > 0 ? <ArrowDownOutlined style={{ color: '#bfbfbf', margin: '2px 0 2px 12px' }} />
              : null}
            <Card size="small" data-testid={`step-${i}`}>
              <Space wrap>
                <Tag color="blue">{t('funnel.step', { n: i + 1 })}</Tag>
                <EventSelect value={step.event || null} testId={`step-event-${i}`}
                  onChange={(event) => setStep(i, { event: event ?? '' })} />
                <Input style={{ width: 160 }} placeholder={t('trends.label')} value={step.label}
                  onChange={(e) => setStep(i, { label: e.target.value })} />
                {draft.steps.length > 2 ? (
                  <Button type="text" icon={<DeleteOutlined />} aria-label={t('trends.remove')}
                    data-testid={`step-remove-${i}`}
                    onClick={() => set({ steps: draft.steps.filter((_, n) => n !== i) })} />
                ) : null}
              </Space>
              <div style={{ marginTop: 8 }}>
                <FiltersEditor compact value={step.filters} event={step.event || null}
                  testId={`step-filters-${i}`} onChange={(filters) => setStep(i, { filters })} />
              </div>
            </Card>
          </div>
        ))}
        <Button style={{ marginTop: 8 }} icon={<PlusOutlined />} data-testid="add-step"
          disabled={draft.steps.length >= 20}
          onClick={() => set({ steps: [...draft.steps, { event: '', label: '', filters: [] }] })}>
          {t('funnel.addStep')}
        </Button>
      </Field>
      <Divider style={{ margin: '8px 0' }} />
      <Space wrap align="start">
        <Field label={t('range.label')}>
          <DateRangeSelect value={draft.date_range} onChange={(date_range) => set({ date_range })} />
        </Field>
        <Field label={t('funnel.window')}>
          <Space.Compact>
            <InputNumber min={1} style={{ width: 80 }} value={draft.window.value}
              data-testid="window-value"
              onChange={(value) => set({ window: { ...draft.window, value: value ?? 1 } })} />
            <Select<WindowUnit> style={{ width: 100 }} value={draft.window.unit}
              data-testid="window-unit"
              onChange={(unit) => set({ window: { ...draft.window, unit } })}
              options={(['second', 'minute', 'hour', 'day'] as WindowUnit[]).map((u) => ({
                value: u, label: t(`unit.${u}`) }))} />
          </Space.Compact>
        </Field>
        <Field label={t('funnel.mode')}>
          <Select<FunnelMode> style={{ width: 250 }} value={draft.mode} data-testid="funnel-mode"
            onChange={(mode) => set({ mode })}
            options={(['ordered', 'strict', 'unordered'] as FunnelMode[]).map((m) => ({
              value: m, label: t(`mode.${m}`) }))} />
        </Field>
        <Field label={t('breakdown.label')}>
          <BreakdownEditor value={draft.breakdown} event={draft.steps[0]?.event || null}
            onChange={(breakdown) => set({ breakdown })} />
        </Field>
      </Space>
      <Field label={t('funnel.exclusions')}>
        {draft.exclusions.map((ex, i) => (
          <Space key={i} wrap style={{ marginBottom: 8, display: 'flex' }}>
            <EventSelect value={ex.event || null}
              onChange={(event) => set({ exclusions: draft.exclusions.map((e, n) =>
                (n === i ? { ...e, event: event ?? '' } : e)) })} />
            <Select style={{ width: 220 }} value={`${ex.from_step}-${ex.to_step}`}
              onChange={(v: string) => {
                const [from_step, to_step] = v.split('-').map(Number) as [number, number];
                set({ exclusions: draft.exclusions.map((e, n) =>
                  (n === i ? { ...e, from_step, to_step } : e)) });
              }}
              options={draft.steps.slice(1).map((_, n) => ({
                value: `${n}-${n + 1}`, label: t('funnel.between', { from: n + 1, to: n + 2 }),
              }))} />
            <Button type="text" icon={<DeleteOutlined />} aria-label={t('trends.remove')}
              onClick={() => set({ exclusions: draft.exclusions.filter((_, n) => n !== i) })} />
          </Space>
        ))}
        <Button size="small" type="dashed" icon={<PlusOutlined />}
          onClick={() => set({ exclusions: [...draft.exclusions,
            { event: '', from_step: 0, to_step: 1 }] })}>
          {t('funnel.addExclusion')}
        </Button>
      </Field>
      <Field label={t('filter.title')}>
        <FiltersEditor value={draft.filters} onChange={(filters) => set({ filters })} />
      </Field>
    </>
  );

  return (
    <>
      <AnalysisFrame
        testId="page-funnel"
        title={t('funnel.title')}
        controls={controls}
        spec={spec}
        loading={query.loading}
        error={query.error ?? insightError}
        hasResult={Boolean(query.data) && complete >= 2}
        result={query.data}
        onRun={() => void query.rerun()}
        insight={insight}
        onSaved={setInsight}
      >
        {query.data ? (
          <FunnelView result={query.data}
            onStepClick={(step, status) => {
              if (status === 'dropped' && step === 0) return;
              setPersons({ step, status, offset: 0 });
            }} />
        ) : null}
      </AnalysisFrame>
      <FunnelPersonsDrawer draft={draft} query={persons} labels={labels}
        onClose={() => setPersons(null)}
        onPage={(offset) => setPersons((p) => (p ? { ...p, offset } : p))} />
    </>
  );
}
