import { AutoComplete, Button, Input, InputNumber, Select, Space } from 'antd';
import { useState } from 'react';
import { CloseOutlined, FilterOutlined, PlusOutlined } from '@ant-design/icons';
import type { Operator, PropertyType } from '../api/types';
import { useSegmentChoices, useTagChoices } from '../api/segments';
import { useProject } from '../auth/project';
import { usePropertyDefinitions } from '../hooks/useDefinitions';
import { useI18n } from '../i18n';
import {
  emptyFilter, LIST_VALUE, NO_VALUE, NUMERIC, OPERATORS,
} from '../spec/builders';
import type { FilterDraft } from '../spec/builders';

// Context columns promoted from the SDKs' context, readable as event properties.
const PROMOTED = ['$utm_source', '$utm_medium', '$utm_campaign', '$os', '$browser',
  '$device_type', '$app_version', '$country'];

/** Filter and breakdown types that name a saved segment or tag by id, not a property. */
export const SET_TYPES: ReadonlySet<PropertyType> = new Set(['segment', 'tag']);

/** Membership of a segment / a tag: "in" and "not in" are the spec's is_set and is_not_set. */
const SET_OPERATORS: Operator[] = ['is_set', 'is_not_set'];

/** The property types a filter or a breakdown offers. */
export function typeOptions(t: ReturnType<typeof useI18n>['t'], sets = true) {
  const options: { value: PropertyType; label: string }[] = [
    { value: 'event', label: t('filter.event') }, { value: 'person', label: t('filter.person') }];
  if (sets) {
    options.push({ value: 'segment', label: t('filter.segment') },
      { value: 'tag', label: t('filter.tag') });
  }
  return options;
}

/** A filter switched to `type`: a segment or tag starts with no id and "in"; back to a
 * property, with no key and "equals". */
export function switchType(draft: FilterDraft, type: PropertyType): FilterDraft {
  if (SET_TYPES.has(type)) {
    return { ...draft, type, key: draft.type === type ? draft.key : '', operator: 'is_set',
      value: '' };
  }
  if (SET_TYPES.has(draft.type)) return { ...draft, type, key: '', operator: 'eq', value: '' };
  return { ...draft, type };
}

/** A saved segment or tag of the project, by id (the spec's key). */
export function SetPicker({ type, value, onChange, testId }: {
  type: 'segment' | 'tag'; value: string; onChange: (key: string) => void; testId?: string;
}) {
  const { t } = useI18n();
  const { project } = useProject();
  const segments = useSegmentChoices(project.name, type === 'segment');
  const tags = useTagChoices(project.name, type === 'tag');
  const choices = type === 'segment' ? segments : tags;
  const options = choices.map((c) => ({ value: String(c.id), label: c.name }));
  if (value && !options.some((o) => o.value === value)) options.push({ value, label: `#${value}` });
  return (
    <Select showSearch data-testid={testId} style={{ width: 180 }} value={value || undefined}
      placeholder={type === 'segment' ? t('segments.pickSegment') : t('filter.pickTag')}
      optionFilterProp="label" options={options}
      notFoundContent={type === 'tag' ? t('filter.noTags') : t('segments.noSegments')}
      onChange={(next: string) => onChange(next)} />
  );
}

export function PropertyKeyInput({ type, event, value, onChange, testId }: {
  type: 'event' | 'person'; event?: string | null; value: string; onChange: (key: string) => void;
  testId?: string;
}) {
  const { t } = useI18n();
  const { project } = useProject();
  // The names are a scan of the event store: asked for when the picker is first opened, never
  // for a form merely shown (a saved insight's filters would otherwise delay its query).
  const [opened, setOpened] = useState(false);
  const definitions = usePropertyDefinitions(project.name, type, event, opened);
  const names = definitions.map((d) => d.name);
  if (type === 'event') names.push(...PROMOTED.filter((p) => !names.includes(p)));
  const options = names
    .filter((n) => !value || n.toLowerCase().includes(value.toLowerCase()))
    .slice(0, 200).map((n) => ({ value: n }));
  return (
    <AutoComplete
      data-testid={testId}
      style={{ width: 180 }}
      value={value}
      options={options}
      placeholder={t('filter.key')}
      onFocus={() => setOpened(true)}
      onOpenChange={(open) => { if (open) setOpened(true); }}
      onChange={(next: string) => onChange(next)}
    />
  );
}

export function ValueInput({ draft, onChange, testId }: {
  draft: FilterDraft; onChange: (value: string | string[]) => void; testId: string;
}) {
  const { t } = useI18n();
  const { operator, value } = draft;
  if (NO_VALUE.has(operator)) return null;
  const list = Array.isArray(value) ? value : value ? [value] : [];
  if (LIST_VALUE.has(operator)) {
    return (
      <Select mode="tags" style={{ minWidth: 180 }} placeholder={t('filter.values')}
        data-testid={testId} value={list} onChange={(next: string[]) => onChange(next)}
        tokenSeparators={[',']} open={false} />
    );
  }
  if (operator === 'between') {
    const [low = '', high = ''] = list;
    const set = (i: 0 | 1, v: number | null) => {
      const next = [low, high];
      next[i] = v === null ? '' : String(v);
      onChange(next);
    };
    return (
      <Space.Compact data-testid={testId}>
        <InputNumber placeholder={t('filter.low')} value={low === '' ? null : Number(low)}
          onChange={(v) => set(0, v)} />
        <InputNumber placeholder={t('filter.high')} value={high === '' ? null : Number(high)}
          onChange={(v) => set(1, v)} />
      </Space.Compact>
    );
  }
  if (NUMERIC.has(operator)) {
    const text = list[0] ?? '';
    return (
      <InputNumber data-testid={testId} style={{ width: 140 }} placeholder={t('filter.value')}
        value={text === '' ? null : Number(text)}
        onChange={(v) => onChange(v === null ? '' : String(v))} />
    );
  }
  return (
    <Input data-testid={testId} style={{ width: 180 }} placeholder={t('filter.value')}
      value={list[0] ?? ''} onChange={(e) => onChange(e.target.value)} />
  );
}

/** Property filters: type, key, operator and a value input that fits the operator. */
export function FiltersEditor({ value, onChange, event, testId = 'filters', compact = false,
  noSets = false }: {
  value: FilterDraft[]; onChange: (filters: FilterDraft[]) => void; event?: string | null;
  testId?: string; compact?: boolean;
  /** Offer only event and person properties (not segments and tags). */
  noSets?: boolean;
}) {
  const { t } = useI18n();
  const update = (i: number, patch: Partial<FilterDraft>) =>
    onChange(value.map((f, n) => (n === i ? { ...f, ...patch } : f)));
  return (
    <div data-testid={testId}>
      {value.map((filter, i) => (
        <Space key={i} wrap style={{ marginBottom: 8 }} data-testid={`${testId}-row-${i}`}>
          <FilterOutlined style={{ color: '#8c8c8c' }} />
          <Select<PropertyType> style={{ width: 140 }} value={filter.type}
            data-testid={`${testId}-type-${i}`}
            onChange={(type) => onChange(value.map((f, n) => (n === i ? switchType(f, type) : f)))}
            options={typeOptions(t, !noSets)} />
          {filter.type === 'segment' || filter.type === 'tag' ? (
            <>
              <SetPicker type={filter.type} value={filter.key} testId={`${testId}-key-${i}`}
                onChange={(key) => update(i, { key })} />
              <Select<Operator> style={{ width: 110 }}
                value={filter.operator === 'is_not_set' ? 'is_not_set' : 'is_set'}
                data-testid={`${testId}-op-${i}`}
                onChange={(operator) => update(i, { operator, value: '' })}
                options={SET_OPERATORS.map((op) => ({
                  value: op, label: t(op === 'is_set' ? 'filter.in' : 'filter.notIn') }))} />
            </>
          ) : (
            <>
              <PropertyKeyInput type={filter.type} event={event} value={filter.key}
                testId={`${testId}-key-${i}`} onChange={(key) => update(i, { key })} />
              <Select<Operator> style={{ width: 140 }} value={filter.operator}
                data-testid={`${testId}-op-${i}`}
                onChange={(operator) => update(i, {
                  operator,
                  value: LIST_VALUE.has(operator) || operator === 'between' ? [] : '',
                })}
                options={OPERATORS.map((op) => ({ value: op, label: t(`op.${op}`) }))} />
              <ValueInput draft={filter} testId={`${testId}-value-${i}`}
                onChange={(v) => update(i, { value: v })} />
            </>
          )}
          <Button type="text" icon={<CloseOutlined />} aria-label={t('filter.remove')}
            onClick={() => onChange(value.filter((_, n) => n !== i))} />
        </Space>
      ))}
      <Button size={compact ? 'small' : 'middle'} type="dashed" icon={<PlusOutlined />}
        data-testid={`${testId}-add`} onClick={() => onChange([...value, emptyFilter()])}>
        {t('filter.add')}
      </Button>
    </div>
  );
}
