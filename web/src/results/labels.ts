import { createContext, useContext } from 'react';
import type { T } from '../i18n';

/** What a breakdown splits by when it is a saved segment or a tag: its values "true" and
 * "false" then read as "In <name>" and "Not in <name>". */
export interface BreakdownBy {
  type: 'segment' | 'tag';
  name: string;
}

/** The breakdown of the analysis on screen (null: a property, or not known). */
export const BreakdownByContext = createContext<BreakdownBy | null>(null);

export function useBreakdownBy(): BreakdownBy | null {
  return useContext(BreakdownByContext);
}

/** A breakdown value as shown: the server's "$other" and "$none" in the reader's words, and a
 * segment's or tag's "true" / "false" as membership. */
export function breakdownLabel(value: string | null, t: T, by: BreakdownBy | null = null): string {
  if (value === null) return t('breakdown.all');
  if (value === '$other') return t('breakdown.other');
  if (value === '$none') return t('breakdown.missing');
  if (by && value === 'true') return t('breakdown.in', { name: by.name });
  if (by && value === 'false') return t('breakdown.notIn', { name: by.name });
  return value;
}
