import { useEffect, useMemo, useRef } from 'react';
import { projectPath, queryHeaders } from '../api/client';
import { usePost } from '../api/hooks';
import { takePrefetchedQuery } from '../api/prefetch';
import type { AnalysisResult, AnalysisSpec } from '../api/types';
import { holdQueries, trackQuery } from './queryGate';

export interface AnalysisOptions {
  /** Debounce for edits to the form; the first run never waits. */
  delayMs?: number;
  /** Run nothing yet (a saved insight is loading): the spec it brings is then the first run. */
  hold?: boolean;
}

/** Runs `spec` on the project's query endpoint whenever it changes (an answer the server
 * computed in the last QUERY_MAX_AGE_S will do); null (an incomplete form) runs nothing. The first spec (on mount, or the one a saved insight brings after `hold`) goes
 * out at once: nobody is typing yet, and on a large project every 350 ms shows. Later edits are
 * debounced so a form being typed into does not send one query per keystroke. */
export function useAnalysis<R extends AnalysisResult>(project: string, spec: AnalysisSpec | null,
                                                      options: AnalysisOptions = {}) {
  const { delayMs = 350, hold = false } = options;
  const query = usePost<AnalysisSpec, R>(projectPath(project, '/query'));
  const key = useMemo(() => (spec ? JSON.stringify(spec) : null), [spec]);
  const { run } = query;
  // Nothing has run since mount or since the last hold: the next spec is not an edit.
  const fresh = useRef(true);
  // The spec last sent on its own (not by rerun()), so an effect that runs again for the same
  // spec (StrictMode's double mount) does not send it twice.
  const sent = useRef<string | null>(null);
  useEffect(() => {
    if (hold) {
      fresh.current = true;
      sent.current = null;
      return holdQueries(); // a query is coming: background reads wait for it too
    }
    if (key === null) {
      fresh.current = false; // an incomplete form: its first complete spec is an edit
      return;
    }
    if (key === sent.current) return;
    const send = (answer?: Promise<R>) => {
      sent.current = key;
      trackQuery(run(JSON.parse(key) as AnalysisSpec, answer, queryHeaders()));
    };
    if (fresh.current) {
      fresh.current = false;
      // the boot may have sent this very query already (api/prefetch.ts)
      send(takePrefetchedQuery<R>(project, JSON.parse(key) as AnalysisSpec));
      return;
    }
    const timer = window.setTimeout(send, delayMs);
    return () => window.clearTimeout(timer);
  }, [key, run, delayMs, hold, project]);
  // Run again: a new computation, whatever the server kept.
  return { ...query,
    rerun: () => (spec ? run(spec, undefined, queryHeaders(true)) : Promise.resolve(undefined)) };
}
