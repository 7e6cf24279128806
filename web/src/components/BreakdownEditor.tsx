import { Button, InputNumber, Select, Space } from 'antd';
import { CloseOutlined } from '@ant-design/icons';
import type { PropertyType } from '../api/types';
import { useI18n } from '../i18n';
import type { BreakdownDraft } from '../spec/builders';
import { PropertyKeyInput, SET_TYPES, SetPicker, typeOptions } from './FiltersEditor';

export function BreakdownEditor({ value, onChange, event }: {
  value: BreakdownDraft | null; onChange: (value: BreakdownDraft | null) => void;
  event?: string | null;
}) {
  const { t } = useI18n();
  const draft = value ?? { key: '', type: 'event' as PropertyType, limit: 10 };
  const set = (patch: Partial<BreakdownDraft>) => {
    const next = { ...draft, ...patch };
    onChange(next.key ? next : { ...next, key: '' });
  };
  return (
    <Space wrap data-testid="breakdown">
      <Select<PropertyType> style={{ width: 140 }} value={draft.type}
        data-testid="breakdown-type"
        // A segment or tag is named by its id: a property name does not carry over, nor back.
        onChange={(type) => set(SET_TYPES.has(type) || SET_TYPES.has(draft.type)
          ? { type, key: '' } : { type })}
        options={typeOptions(t)} />
      {draft.type === 'segment' || draft.type === 'tag' ? (
        // In or not in: two values, no top values to choose.
        <SetPicker type={draft.type} value={draft.key} testId="breakdown-key"
          onChange={(key) => set({ key })} />
      ) : (
        <>
          <PropertyKeyInput type={draft.type} event={event} value={draft.key}
            testId="breakdown-key" onChange={(key) => set({ key })} />
          <span>{t('breakdown.limit')}</span>
          <InputNumber min={1} max={100} value={draft.limit} style={{ width: 72 }}
            onChange={(limit) => set({ limit: limit ?? 10 })} />
        </>
      )}
      {value?.key ? (
        <Button type="text" icon={<CloseOutlined />} aria-label={t('breakdown.none')}
          onClick={() => onChange(null)} />
      ) : null}
    </Space>
  );
}
