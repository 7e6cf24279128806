import { useEffect, useMemo, useState } from 'react';
import { usePost } from '../api/hooks';
import { segmentsPath } from '../api/segments';
import type { SegmentDefinition, SegmentPreview } from '../api/segments';

export const PREVIEW_DELAY_MS = 400;

/** The members a definition would have now (POST segments/preview), asked again once the
 * edits pause for PREVIEW_DELAY_MS; an answer to an older definition is dropped. `loading`
 * holds from the edit on, so a count on screen is never taken for the new definition's. */
export function useLivePreview(project: string, definition: SegmentDefinition | null) {
  const preview = usePost<{ definition: SegmentDefinition }, SegmentPreview>(
    segmentsPath(project, '/preview'));
  const key = useMemo(() => (definition ? JSON.stringify(definition) : null), [definition]);
  const [answered, setAnswered] = useState<string | null>(null);
  const { run, reset } = preview;
  useEffect(() => {
    if (key === null) {
      reset();
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      void run({ definition: JSON.parse(key) as SegmentDefinition }).then(() => {
        if (current) setAnswered(key);
      });
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [key, run, reset]);
  const loading = key !== null && (key !== answered || preview.loading);
  return { count: loading ? undefined : preview.data?.count,
    seconds: preview.data?.seconds, error: loading ? null : preview.error, loading,
    empty: key === null };
}
