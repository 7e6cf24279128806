import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api, projectPath } from '../api/client';
import { takePrefetched } from '../api/prefetch';
import type { AnalysisSpec, Insight } from '../api/types';

/** The saved insight named by `?insight=ID` (a builder opened from the insights list), handed
 * to `onLoad` once so the builder fills its form from the spec. */
export function useInsightParam<S extends AnalysisSpec>(
  project: string, kind: S['kind'], onLoad: (spec: S) => void,
): { insight: Insight | null; setInsight: (i: Insight) => void; error: unknown;
     loading: boolean } {
  const [params] = useSearchParams();
  const id = params.get('insight');
  const [insight, setInsight] = useState<Insight | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(Boolean(id));
  useEffect(() => {
    if (!id) { setInsight(null); setLoading(false); return; }
    if (insight && String(insight.id) === id) return;
    let live = true;
    setLoading(true);
    const path = projectPath(project, `/insights/${encodeURIComponent(id)}`);
    (takePrefetched<Insight>(path) ?? api.get<Insight>(path)).then(
      (loaded) => {
        if (!live) return;
        setInsight(loaded);
        setLoading(false);
        if (loaded.spec.kind === kind) onLoad(loaded.spec as S);
      },
      (exc: unknown) => { if (live) { setError(exc); setLoading(false); } },
    );
    return () => { live = false; };
    // onLoad is the builder's setter; only a new id should load again
  }, [id, project, kind]);
  return { insight, setInsight, error, loading };
}
