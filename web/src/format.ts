// Numbers, shares and times for the reader's language, and instants in the project's time zone.
// Bucket labels from the server ("2026-11-23", "2026-11-23 14:00") are already local dates of
// the project, so they are formatted as they are, never shifted by a time zone again.

import type { Lang } from './i18n/dict';

export const DASH = '—';

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = 'n' + locale + JSON.stringify(options);
  let format = cache.get(key);
  if (!format) { format = new Intl.NumberFormat(locale, options); cache.set(key, format); }
  return format as Intl.NumberFormat;
}
function dateFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = 'd' + locale + JSON.stringify(options);
  let format = cache.get(key);
  if (!format) { format = new Intl.DateTimeFormat(locale, options); cache.set(key, format); }
  return format as Intl.DateTimeFormat;
}

function missing(value: number | null | undefined): value is null | undefined {
  return value === null || value === undefined || Number.isNaN(value);
}

/** 12345.678 -> "12,345.68" (en) / "12,345.68" (zh-CN); integers without decimals. */
export function formatNumber(value: number | null | undefined, lang: Lang,
                             maxFraction = 2): string {
  if (missing(value)) return DASH;
  return numberFormat(lang, { maximumFractionDigits: maxFraction }).format(value);
}

/** A share: 0.1834 -> "18.3%". */
export function formatPercent(value: number | null | undefined, lang: Lang, digits = 1): string {
  if (missing(value)) return DASH;
  return numberFormat(lang, {
    style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(value);
}

/** A relative change with its sign: 0.12 -> "+12.0%", -0.218 -> "-21.8%". */
export function formatChange(value: number | null | undefined, lang: Lang): string {
  if (missing(value)) return DASH;
  return numberFormat(lang, {
    style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1,
    signDisplay: 'exceptZero',
  }).format(value);
}

/** Money in the project's currency: 1234.5 CNY -> "CN¥1,234.50" (en) / "¥1,234.50" (zh-CN). */
export function formatMoney(value: number | null | undefined, currency: string,
                            lang: Lang): string {
  if (missing(value)) return DASH;
  try {
    return numberFormat(lang, { style: 'currency', currency }).format(value);
  } catch {
    return `${formatNumber(value, lang)} ${currency}`;
  }
}

/** Large counts short: 12345 -> "12K" (en) / "1.2万" (zh-CN), for chart axes. */
export function formatCompact(value: number | null | undefined, lang: Lang): string {
  if (missing(value)) return DASH;
  return numberFormat(lang, { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

/** An instant (ISO text with a zone, or epoch ms) as a date and time in `timeZone`. */
export function formatDateTime(value: string | number | null | undefined, lang: Lang,
                               timeZone: string): string {
  if (value === null || value === undefined || value === '') return DASH;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return dateFormat(lang, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hourCycle: 'h23', timeZone: safeZone(timeZone),
  }).format(date);
}

/** How long ago an instant was, in the largest whole unit: "3 minutes ago" / "3分钟前". */
export function formatAgo(value: string | number | null | undefined, lang: Lang,
                          now: number = Date.now()): string {
  if (value === null || value === undefined || value === '') return DASH;
  const then = new Date(value).getTime();
  if (Number.isNaN(then)) return String(value);
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: 'always' });
  const units: [number, Intl.RelativeTimeFormatUnit][] = [
    [86400, 'day'], [3600, 'hour'], [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size) return relative.format(-Math.floor(seconds / size), unit);
  }
  return relative.format(-seconds, 'second');
}

/** The local calendar day of an instant in `timeZone`, as YYYY-MM-DD. */
export function localDay(value: Date, timeZone: string): string {
  const parts = dateFormat('en-CA', {
    year: 'numeric', month: '2-digit', day: '2-digit', timeZone: safeZone(timeZone),
  }).formatToParts(value);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** A bucket label from a result ("2026-11-23", "2026-11-23 14:00") for an axis or a column:
 * "Nov 23" / "11月23日", with the hour for hourly buckets, month and year for months. */
export function formatBucket(label: string, lang: Lang,
                             interval: 'hour' | 'day' | 'week' | 'month' = 'day'): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?/.exec(label);
  if (!match) return label;
  const [, y, m, d, hh, mm] = match;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d), Number(hh ?? 0),
    Number(mm ?? 0)));
  const options: Intl.DateTimeFormatOptions = interval === 'month'
    ? { year: 'numeric', month: 'short', timeZone: 'UTC' }
    : interval === 'hour'
      ? { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
          timeZone: 'UTC' }
      : { month: 'short', day: 'numeric', timeZone: 'UTC' };
  return dateFormat(lang, options).format(date);
}

/** A full local date label: "2026-11-23" -> "Nov 23, 2026" / "2026年11月23日". */
export function formatDay(label: string, lang: Lang): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(label);
  if (!match) return label;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return dateFormat(lang, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })
    .format(date);
}

/** Seconds as the two largest units: 5400 -> "1h 30m" / "1小时30分钟". */
export function formatDuration(seconds: number | null | undefined, lang: Lang): string {
  if (missing(seconds)) return DASH;
  const units: [number, string, string][] = [
    [86400, 'd', '天'], [3600, 'h', '小时'], [60, 'm', '分钟'], [1, 's', '秒'],
  ];
  const zh = lang === 'zh-CN';
  let rest = Math.round(seconds);
  if (rest === 0) {
    return seconds > 0 ? (zh ? '<1秒' : '<1s') : (zh ? '0秒' : '0s');
  }
  const parts: string[] = [];
  for (const [size, en, cn] of units) {
    if (rest >= size && parts.length < 2) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      parts.push(zh ? `${n}${cn}` : `${n}${en}`);
    } else if (parts.length > 0) {
      break; // only adjacent units: "1d 3h", never "1d 20s"
    }
  }
  return parts.join(zh ? '' : ' ');
}

function safeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}
