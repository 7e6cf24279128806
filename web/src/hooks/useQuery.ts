import { useEffect, useMemo } from 'react';
import { projectPath } from '../api/client';
import { usePost } from '../api/hooks';
import type { AnalysisResult, AnalysisSpec } from '../api/types';

/** Runs `spec` on the project's query endpoint whenever it changes (debounced while the form
 * is being edited); null (an incomplete form) runs nothing. */
export function useAnalysis<R extends AnalysisResult>(project: string, spec: AnalysisSpec | null,
                                                      delayMs = 350) {
  const query = usePost<AnalysisSpec, R>(projectPath(project, '/query'));
  const key = useMemo(() => (spec ? JSON.stringify(spec) : null), [spec]);
  const { run } = query;
  useEffect(() => {
    if (key === null) return;
    const timer = window.setTimeout(() => void run(JSON.parse(key) as AnalysisSpec), delayMs);
    return () => window.clearTimeout(timer);
  }, [key, run, delayMs]);
  return { ...query, rerun: () => (spec ? run(spec) : Promise.resolve(undefined)) };
}
