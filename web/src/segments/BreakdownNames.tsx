import { useContext, useMemo } from 'react';
import type { ReactNode } from 'react';
import { useSegmentChoices, useTagChoices } from '../api/segments';
import type { AnalysisSpec } from '../api/types';
import { ProjectContext } from '../auth/project';
import { BreakdownByContext } from '../results/labels';

/** Tells the result views below the name of the segment or tag the spec breaks down by, so
 * that its values read "In <name>" / "Not in <name>" (results/labels.ts). */
export function BreakdownNames({ spec, children }: { spec: AnalysisSpec | null; children: ReactNode }) {
  const project = useContext(ProjectContext)?.project.name ?? '';
  const breakdown = spec && 'breakdown' in spec ? spec.breakdown ?? null : null;
  const type = breakdown?.type === 'segment' || breakdown?.type === 'tag' ? breakdown.type : null;
  const segments = useSegmentChoices(project, Boolean(project) && type === 'segment');
  const tags = useTagChoices(project, Boolean(project) && type === 'tag');
  const key = breakdown?.key ?? '';
  const value = useMemo(() => {
    if (!type) return null;
    const found = (type === 'segment' ? segments : tags).find((c) => String(c.id) === key);
    return { type, name: found?.name ?? `#${key}` };
  }, [type, key, segments, tags]);
  return <BreakdownByContext.Provider value={value}>{children}</BreakdownByContext.Provider>;
}
