import { Select } from 'antd';
import { useMemo, useState } from 'react';
import { useProject } from '../auth/project';
import { useEventDefinitions } from '../hooks/useDefinitions';
import { useI18n } from '../i18n';

const ANY = '\u0000any';

/** An event name from the project's definitions (or typed freely); optionally "any event"
 * (null) and "$order" (the project's order event). */
export function EventSelect({ value, onChange, allowAny = false, allowOrder = false, testId,
  style }: {
  value: string | null; onChange: (event: string | null) => void; allowAny?: boolean;
  allowOrder?: boolean; testId?: string; style?: React.CSSProperties;
}) {
  const { t } = useI18n();
  const { project } = useProject();
  // Fetched after the screen's first query (see useDefinitions), at once if the picker is opened.
  const [opened, setOpened] = useState(false);
  const definitions = useEventDefinitions(project.name, opened);
  const [search, setSearch] = useState('');
  const options = useMemo(() => {
    const list: { value: string; label: string }[] = [];
    if (allowAny) list.push({ value: ANY, label: t('event.any') });
    if (allowOrder) list.push({ value: '$order', label: t('event.order') });
    for (const d of definitions) list.push({ value: d.name, label: d.name });
    const typed = search.trim();
    if (typed && !list.some((o) => o.value === typed)) list.push({ value: typed, label: typed });
    if (value && !list.some((o) => o.value === value)) list.push({ value, label: value });
    return list;
  }, [definitions, allowAny, allowOrder, t, search, value]);
  return (
    <Select
      showSearch
      data-testid={testId}
      style={{ minWidth: 200, ...style }}
      placeholder={t('event.pick')}
      value={value === null ? (allowAny ? ANY : undefined) : value || undefined}
      options={options}
      onSearch={setSearch}
      onFocus={() => setOpened(true)}
      onOpenChange={(open) => { if (open) setOpened(true); }}
      onChange={(next: string) => { setSearch(''); onChange(next === ANY ? null : next); }}
      filterOption={(input, option) =>
        String(option?.label ?? '').toLowerCase().includes(input.toLowerCase())}
    />
  );
}
