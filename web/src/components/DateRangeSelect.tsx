import { DatePicker, Select, Space } from 'antd';
import dayjs from 'dayjs';
import type { DateRange } from '../api/types';
import { localDay } from '../format';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import type { MessageKey } from '../i18n';

const PRESETS: [number, MessageKey][] = [
  [7, 'range.last7'], [14, 'range.last14'], [30, 'range.last30'], [90, 'range.last90'],
  [180, 'range.last180'],
];

/** Last N days (presets) or two local dates. */
export function DateRangeSelect({ value, onChange, testId = 'date-range' }: {
  value: DateRange; onChange: (range: DateRange) => void; testId?: string;
}) {
  const { t } = useI18n();
  const { timeZone } = useFormat();
  const custom = value.last_days === undefined;
  const preset = custom ? 'custom' : String(value.last_days);
  const options = PRESETS.map(([n, key]) => ({ value: String(n), label: t(key) }));
  if (!custom && !PRESETS.some(([n]) => n === value.last_days)) {
    options.push({ value: preset, label: t('range.lastN', { n: value.last_days ?? 0 }) });
  }
  options.push({ value: 'custom', label: t('range.custom') });
  return (
    <Space wrap data-testid={testId}>
      <Select
        aria-label={t('range.label')}
        style={{ minWidth: 140 }}
        value={preset}
        options={options}
        onChange={(next: string) => {
          if (next === 'custom') {
            // "Today" is the project's, like the server's last_days ranges.
            const end = dayjs(localDay(new Date(), timeZone));
            onChange({ start: end.subtract(29, 'day').format('YYYY-MM-DD'),
              end: end.format('YYYY-MM-DD') });
          } else {
            onChange({ last_days: Number(next) });
          }
        }}
      />
      {custom ? (
        <DatePicker.RangePicker
          allowClear={false}
          value={[dayjs(value.start), dayjs(value.end)]}
          onChange={(dates) => {
            const [start, end] = dates ?? [];
            if (start && end) {
              onChange({ start: start.format('YYYY-MM-DD'), end: end.format('YYYY-MM-DD') });
            }
          }}
        />
      ) : null}
    </Space>
  );
}
