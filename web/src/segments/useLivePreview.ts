import { useEffect, useMemo, useState } from 'react';
import { api, ApiError } from '../api/client';
import { segmentsPath } from '../api/segments';
import type { SegmentDefinition, SegmentPreview } from '../api/segments';

export const PREVIEW_DELAY_MS = 400;

interface Answer {
  /** The definition (as JSON text) this answer is for. */
  key: string;
  data?: SegmentPreview;
  error?: ApiError;
}

/** The members a definition would have now (POST segments/preview), asked again once the
 * edits pause for PREVIEW_DELAY_MS. An answer is kept with the definition it answered and
 * shown only while that is the definition on screen; an answer to a definition edited away
 * since is dropped, so a count or error is never taken for the current definition's. No
 * definition (null): no count and no error. */
export function useLivePreview(project: string, definition: SegmentDefinition | null) {
  const path = segmentsPath(project, '/preview');
  const key = useMemo(() => (definition ? JSON.stringify(definition) : null), [definition]);
  const [answer, setAnswer] = useState<Answer | null>(null);
  useEffect(() => {
    setAnswer(null); // whatever was answered before is for another definition, or older
    if (key === null) return;
    let current = true;
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      api.post<SegmentPreview>(path, { definition: JSON.parse(key) as SegmentDefinition },
        controller.signal).then(
        (data) => { if (current) setAnswer({ key, data }); },
        (exc: unknown) => {
          if (current) {
            setAnswer({ key, error: exc instanceof ApiError ? exc
              : new ApiError(0, 'error', String(exc)) });
          }
        },
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [key, path]);
  const shown = key !== null && answer?.key === key ? answer : null;
  return { count: shown?.data?.count, seconds: shown?.data?.seconds,
    error: shown?.error ?? null, loading: key !== null && shown === null, empty: key === null };
}
