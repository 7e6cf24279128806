import type { T } from '../i18n';

/** A breakdown value as shown: the server's "$other" and "$none" in the reader's words. */
export function breakdownLabel(value: string | null, t: T): string {
  if (value === null) return t('breakdown.all');
  if (value === '$other') return t('breakdown.other');
  if (value === '$none') return t('breakdown.missing');
  return value;
}
