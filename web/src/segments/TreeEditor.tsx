import {
  Button, Card, Checkbox, Input, InputNumber, Select, Space, Tag, Typography,
} from 'antd';
import { DeleteOutlined, PlusOutlined, UploadOutlined } from '@ant-design/icons';
import { useMemo, useState } from 'react';
import type { Compare, ConditionKind, SegmentMath } from '../api/segments';
import { useSegmentChoices } from '../api/segments';
import type { DateRange, FunnelMode, WindowUnit } from '../api/types';
import { useProject } from '../auth/project';
import { DateRangeSelect } from '../components/DateRangeSelect';
import { EventSelect } from '../components/EventSelect';
import { FiltersEditor, PropertyKeyInput, ValueInput } from '../components/FiltersEditor';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import { LIST_VALUE, OPERATORS } from '../spec/builders';
import type { Operator } from '../api/types';
import {
  COMPARES, CONDITION_KINDS, SEGMENT_MATHS, emptyCondition, emptyGroup, parseDistinctIds,
  parseIds,
} from './tree';
import type { ConditionDraft, FunnelConditionDraft, GroupDraft, NodeDraft } from './tree';

const EVENT_KINDS: ReadonlySet<ConditionKind> =
  new Set(['performed', 'not_performed', 'first_performed', 'aggregate']);
const MAX_WIDTH = 50;
/** A static list longer than this shows as a count, not a text box. */
export const LARGE_LIST = 1000;

/** All time, or a date range (the analyses' presets and custom dates). */
function WindowSelect({ value, onChange, required, testId }: {
  value: DateRange | null; onChange: (window: DateRange | null) => void; required: boolean;
  testId: string;
}) {
  const { t } = useI18n();
  return (
    <Space wrap data-testid={testId}>
      {required ? null : (
        <Select style={{ width: 130 }} value={value ? 'range' : 'all'}
          data-testid={`${testId}-mode`}
          onChange={(mode: string) => onChange(mode === 'all' ? null : { last_days: 30 })}
          options={[{ value: 'all', label: t('segments.allTime') },
            { value: 'range', label: t('segments.inRange') }]} />
      )}
      {value ? <DateRangeSelect value={value} onChange={onChange} testId={`${testId}-range`} />
        : null}
    </Space>
  );
}

function FunnelFields({ value, onChange, testId }: {
  value: FunnelConditionDraft; onChange: (f: FunnelConditionDraft) => void; testId: string;
}) {
  const { t } = useI18n();
  const set = (patch: Partial<FunnelConditionDraft>) => onChange({ ...value, ...patch });
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {value.steps.map((event, i) => (
        <Space key={i} wrap>
          <Tag color="blue">{t('funnel.step', { n: i + 1 })}</Tag>
          <EventSelect value={event || null} testId={`${testId}-step-${i}`}
            onChange={(next) => set({ steps: value.steps.map((s, n) => (n === i ? next ?? '' : s)) })} />
          {value.steps.length > 2 ? (
            <Button type="text" icon={<DeleteOutlined />} aria-label={t('trends.remove')}
              onClick={() => {
                const steps = value.steps.filter((_, n) => n !== i);
                set({ steps, step: Math.min(value.step, steps.length - 1),
                  ...(value.stepExtras
                    ? { stepExtras: value.stepExtras.filter((_, n) => n !== i) } : {}) });
              }} />
          ) : null}
        </Space>
      ))}
      <Space wrap>
        <Button size="small" type="dashed" icon={<PlusOutlined />}
          data-testid={`${testId}-add-step`} disabled={value.steps.length >= 20}
          onClick={() => set({ steps: [...value.steps, ''],
            ...(value.stepExtras ? { stepExtras: [...value.stepExtras, {}] } : {}) })}>{t('funnel.addStep')}</Button>
        <DateRangeSelect value={value.date_range} testId={`${testId}-range`}
          onChange={(date_range) => set({ date_range })} />
        <Space.Compact>
          <InputNumber min={1} style={{ width: 80 }} value={value.window.value}
            aria-label={t('funnel.window')}
            onChange={(v) => set({ window: { ...value.window, value: v ?? 1 } })} />
          <Select<WindowUnit> style={{ width: 100 }} value={value.window.unit}
            onChange={(unit) => set({ window: { ...value.window, unit } })}
            options={(['second', 'minute', 'hour', 'day'] as WindowUnit[]).map((u) => ({
              value: u, label: t(`unit.${u}`) }))} />
        </Space.Compact>
        <Select<FunnelMode> style={{ width: 220 }} value={value.mode}
          onChange={(mode) => set({ mode })}
          options={(['ordered', 'strict', 'unordered'] as FunnelMode[]).map((m) => ({
            value: m, label: t(`mode.${m}`) }))} />
      </Space>
      <Space wrap>
        <Select<'converted' | 'dropped'> style={{ width: 200 }} value={value.status}
          data-testid={`${testId}-status`} onChange={(status) => set({ status })}
          options={[{ value: 'converted', label: t('segments.converted') },
            { value: 'dropped', label: t('segments.dropped') }]} />
        <Select<number> style={{ width: 140 }} value={value.step} data-testid={`${testId}-at`}
          onChange={(step) => set({ step })}
          options={value.steps.map((_, n) => ({ value: n, label: t('funnel.step', { n: n + 1 }) }))} />
      </Space>
    </Space>
  );
}

function ConditionFields({ draft, set, testId, selfId, onUpload }: {
  draft: ConditionDraft; set: (patch: Partial<ConditionDraft>) => void; testId: string;
  selfId?: number | null; onUpload?: () => void;
}) {
  const { t } = useI18n();
  const { project } = useProject();
  const segments = useSegmentChoices(project.name, draft.kind === 'segment')
    .filter((s) => s.id !== selfId);
  const compare = (
    <Select<Compare> style={{ width: 90 }} value={draft.operator} data-testid={`${testId}-operator`}
      onChange={(operator) => set({ operator })}
      options={COMPARES.map((c) => ({ value: c, label: t(`op.${c}`) }))} />
  );
  const event = (
    <EventSelect value={draft.event || null} testId={`${testId}-event`}
      onChange={(e) => set({ event: e ?? '' })} />
  );
  const window = (
    <WindowSelect value={draft.window} required={draft.kind === 'first_performed'}
      testId={`${testId}-window`}
      onChange={(w) => set({ window: w })} />
  );
  const filters = EVENT_KINDS.has(draft.kind) ? (
    <div style={{ marginTop: 8 }}>
      <FiltersEditor compact value={draft.filters} event={draft.event || null} noSets
        testId={`${testId}-filters`} onChange={(f) => set({ filters: f })} />
    </div>
  ) : null;
  switch (draft.kind) {
    case 'performed':
      return (
        <>
          <Space wrap>
            {event}
            {compare}
            <InputNumber min={0} style={{ width: 90 }} value={draft.count}
              data-testid={`${testId}-count`} onChange={(count) => set({ count })} />
            <span>{t('segments.times')}</span>
            {window}
          </Space>
          {filters}
        </>
      );
    case 'not_performed':
    case 'first_performed':
      return <><Space wrap>{event}{window}</Space>{filters}</>;
    case 'aggregate':
      return (
        <>
          <Space wrap>
            {event}
            <Select<SegmentMath> style={{ width: 110 }} value={draft.math}
              data-testid={`${testId}-math`} onChange={(math) => set({ math })}
              options={SEGMENT_MATHS.map((m) => ({ value: m, label: t(`segments.math.${m}`) }))} />
            <PropertyKeyInput type="event" event={draft.event || null} value={draft.property}
              testId={`${testId}-property`} onChange={(property) => set({ property })} />
            {compare}
            <InputNumber style={{ width: 120 }} value={draft.value}
              data-testid={`${testId}-value`} onChange={(value) => set({ value })} />
            {window}
          </Space>
          {filters}
        </>
      );
    case 'person': {
      const person = draft.person;
      const setPerson = (patch: Partial<typeof person>) => set({ person: { ...person, ...patch } });
      return (
        <Space wrap>
          <PropertyKeyInput type="person" value={person.key} testId={`${testId}-key`}
            onChange={(key) => setPerson({ key })} />
          <Select<Operator> style={{ width: 140 }} value={person.operator}
            data-testid={`${testId}-person-op`}
            onChange={(operator) => setPerson({ operator,
              value: LIST_VALUE.has(operator) || operator === 'between' ? [] : '' })}
            options={OPERATORS.map((op) => ({ value: op, label: t(`op.${op}`) }))} />
          <ValueInput draft={person} testId={`${testId}-person-value`}
            onChange={(value) => setPerson({ value })} />
        </Space>
      );
    }
    case 'funnel':
      return <FunnelFields value={draft.funnel} testId={`${testId}-funnel`}
        onChange={(funnel) => set({ funnel })} />;
    case 'segment':
      return (
        <Select<number> showSearch style={{ minWidth: 240 }} value={draft.segment ?? undefined}
          data-testid={`${testId}-segment`} placeholder={t('segments.pickSegment')}
          optionFilterProp="label" onChange={(segment) => set({ segment })}
          options={segments.map((s) => ({ value: s.id, label: s.name }))} />
      );
    case 'persons':
    case 'distinct_ids':
      return <IdsField draft={draft} set={set} testId={testId} onUpload={onUpload} />;
  }
}

/** A static list: a text box while it is short; past LARGE_LIST ids, how many there are (the
 * box would be slow and the list is replaced by uploading a CSV), with the box on request. */
function IdsField({ draft, set, testId, onUpload }: {
  draft: ConditionDraft; set: (patch: Partial<ConditionDraft>) => void; testId: string;
  onUpload?: () => void;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const [asText, setAsText] = useState(false);
  const count = useMemo(() => (draft.kind === 'persons' ? parseIds(draft.ids)
    : parseDistinctIds(draft.ids)).length, [draft.kind, draft.ids]);
  if (count > LARGE_LIST && !asText) {
    return (
      <Space wrap data-testid={`${testId}-ids-summary`}>
        <Typography.Text>{t('segments.largeList', { n: fmt.number(count, 0) })}</Typography.Text>
        {onUpload ? (
          <Button size="small" icon={<UploadOutlined />} data-testid={`${testId}-ids-upload`}
            onClick={onUpload}>{t('segments.replaceByUpload')}</Button>
        ) : null}
        <Button size="small" type="link" data-testid={`${testId}-ids-edit`}
          onClick={() => setAsText(true)}>{t('segments.editAsText')}</Button>
      </Space>
    );
  }
  return (
    <Input.TextArea rows={draft.kind === 'persons' ? 2 : 4} style={{ maxWidth: 520 }}
      value={draft.ids} data-testid={`${testId}-ids`}
      placeholder={t(draft.kind === 'persons' ? 'segments.idsHint' : 'segments.distinctIdsHint')}
      onChange={(e) => set({ ids: e.target.value })} />
  );
}

function NodeEditor({ node, onChange, onRemove, testId, depth, selfId, onUpload }: {
  node: NodeDraft; onChange: (node: NodeDraft) => void; onRemove?: () => void; testId: string;
  depth: number; selfId?: number | null; onUpload?: () => void;
}) {
  const { t } = useI18n();
  const negate = (
    <Checkbox checked={node.negate} data-testid={`${testId}-not`}
      onChange={(e) => onChange({ ...node, negate: e.target.checked })}>
      {t('segments.not')}
    </Checkbox>
  );
  const remove = onRemove ? (
    <Button type="text" icon={<DeleteOutlined />} aria-label={t('segments.removeNode')}
      data-testid={`${testId}-remove`} onClick={onRemove} />
  ) : null;
  if (node.type === 'condition') {
    const set = (patch: Partial<ConditionDraft>) => onChange({ ...node, ...patch });
    return (
      <Card size="small" data-testid={testId} style={{ marginBottom: 8 }}>
        <Space wrap style={{ marginBottom: 8 }}>
          <Select<ConditionKind> style={{ width: 220 }} value={node.kind}
            data-testid={`${testId}-kind`}
            onChange={(kind) => set({ kind,
              window: kind === 'first_performed' && !node.window ? { last_days: 30 } : node.window })}
            options={CONDITION_KINDS.map((k) => ({ value: k, label: t(`segments.kind.${k}`) }))} />
          {negate}
          {remove}
        </Space>
        <div><ConditionFields draft={node} set={set} testId={testId} selfId={selfId}
          onUpload={onUpload} /></div>
      </Card>
    );
  }
  const group: GroupDraft = node;
  const setChild = (i: number, child: NodeDraft) =>
    onChange({ ...group, children: group.children.map((c, n) => (n === i ? child : c)) });
  const add = (child: NodeDraft) => onChange({ ...group, children: [...group.children, child] });
  return (
    <div data-testid={testId} style={{ borderLeft: `3px solid ${group.op === 'and' ? '#1677ff' : '#fa8c16'}`,
      paddingLeft: 12, marginBottom: 8 }}>
      <Space wrap style={{ marginBottom: 8 }}>
        <Select<'and' | 'or'> style={{ width: 200 }} value={group.op} data-testid={`${testId}-op`}
          onChange={(op) => onChange({ ...group, op })}
          options={[{ value: 'and', label: t('segments.and') }, { value: 'or', label: t('segments.or') }]} />
        {negate}
        {remove}
      </Space>
      {group.children.map((child, i) => (
        <NodeEditor key={i} node={child} testId={`${testId}-${i}`} depth={depth + 1}
          selfId={selfId} onUpload={onUpload}
          onChange={(next) => setChild(i, next)}
          onRemove={() => onChange({ ...group, children: group.children.filter((_, n) => n !== i) })} />
      ))}
      <Space wrap>
        <Button size="small" type="dashed" icon={<PlusOutlined />}
          data-testid={`${testId}-add-condition`} disabled={group.children.length >= MAX_WIDTH}
          onClick={() => add(emptyCondition())}>{t('segments.addCondition')}</Button>
        {depth < 9 ? (
          <Button size="small" type="dashed" icon={<PlusOutlined />}
            data-testid={`${testId}-add-group`} disabled={group.children.length >= MAX_WIDTH}
            onClick={() => add({ ...emptyGroup(group.op === 'and' ? 'or' : 'and'),
              children: [emptyCondition()] })}>{t('segments.addGroup')}</Button>
        ) : null}
      </Space>
    </div>
  );
}

/** The boolean tree of a segment's definition: and / or groups, each node negatable.
 * `onUpload`: replace a long static list by uploading a CSV (a saved segment's). */
export function TreeEditor({ value, onChange, testId = 'tree', selfId, onUpload }: {
  value: GroupDraft; onChange: (tree: GroupDraft) => void; testId?: string;
  selfId?: number | null; onUpload?: () => void;
}) {
  return <NodeEditor node={value} testId={testId} depth={0} selfId={selfId} onUpload={onUpload}
    onChange={(node) => onChange(node as GroupDraft)} />;
}
