import { useContext, useMemo } from 'react';
import { ProjectContext } from '../auth/project';
import { useI18n } from '../i18n';
import {
  formatAgo, formatBucket, formatChange, formatDateTime, formatDay, formatDuration, formatMoney,
  formatNumber, formatPercent,
} from '../format';

/** Formatters for the reader's language, instants shown in the current project's time zone. */
export function useFormat() {
  const { lang } = useI18n();
  const projectState = useContext(ProjectContext);
  const timeZone = projectState?.project.timezone ?? 'UTC';
  const currency = projectState?.project.currency ?? 'CNY';
  return useMemo(() => ({
    lang,
    timeZone,
    number: (v: number | null | undefined, digits = 2) => formatNumber(v, lang, digits),
    percent: (v: number | null | undefined, digits = 1) => formatPercent(v, lang, digits),
    change: (v: number | null | undefined) => formatChange(v, lang),
    money: (v: number | null | undefined, cur = currency) => formatMoney(v, cur, lang),
    dateTime: (v: string | number | null | undefined) => formatDateTime(v, lang, timeZone),
    ago: (v: string | number | null | undefined) => formatAgo(v, lang),
    bucket: (label: string, interval?: 'hour' | 'day' | 'week' | 'month') =>
      formatBucket(label, lang, interval),
    day: (label: string) => formatDay(label, lang),
    duration: (seconds: number | null | undefined) => formatDuration(seconds, lang),
  }), [lang, timeZone, currency]);
}
