import type { AnalysisSpec, Insight, Me } from './types';
import { buildOverviewSpec, builderSpec, defaultOverviewRange } from '../spec/builders';
import { api, projectPath, queryHeaders, setCsrfToken } from './client';

// Boot reads sent at once, side by side, before React renders anything: the session, the
// project list and a builder's saved insight each used to wait for the one before it, and the
// screen's query for all of them and for the screen's first render (about half a second of
// Ant Design building its styles). Whoever needs one takes the answer already on its way
// instead of asking again. An answer is taken once, and only while fresh.

const FRESH_MS = 10_000;
const pending = new Map<string, { at: number; promise: Promise<unknown> }>();
// Queries a screen asked for itself while the boot's query was still waiting for its spec:
// that one is then not sent twice.
const claimed = new Set<string>();
let bootQueryComing = false;
let bootQuerySent: Promise<void> = Promise.resolve();

function remember<T>(key: string, promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined); // whoever takes it sees the error; nobody else must
  pending.set(key, { at: Date.now(), promise });
  return promise;
}

function take<T>(key: string): Promise<T> | undefined {
  const hit = pending.get(key);
  pending.delete(key);
  if (!hit || Date.now() - hit.at > FRESH_MS) return undefined;
  return hit.promise as Promise<T>;
}

/** Start GET `path` now for a later takePrefetched(path). */
export function prefetch<T = unknown>(path: string): Promise<T> {
  return remember(path, api.get<T>(path));
}

/** The answer to an earlier prefetch(path), at most once; undefined when there is none. */
export function takePrefetched<T>(path: string): Promise<T> | undefined {
  return take<T>(path);
}

const queryKey = (project: string, spec: AnalysisSpec) =>
  `POST ${projectPath(project, '/query')} ${JSON.stringify(spec)}`;

/** Send the query a screen is about to run (once the CSRF token is known). */
export function prefetchQuery(project: string, spec: AnalysisSpec): void {
  const key = queryKey(project, spec);
  const taken = claimed.has(key);
  claimed.clear();
  if (taken) return;
  remember(key, api.post<unknown>(projectPath(project, '/query'), spec, undefined,
                                  queryHeaders()));
}

/** The answer to a prefetched query with exactly this spec; undefined (and no prefetch of it
 * from now on) when there is none. */
export function takePrefetchedQuery<T>(project: string, spec: AnalysisSpec):
  Promise<T> | undefined {
  const key = queryKey(project, spec);
  const hit = take<T>(key);
  if (!hit && bootQueryComing) claimed.add(key);
  return hit;
}

/** Forget every prefetch (signed out: they were refused, the next ones must ask again). */
export function dropPrefetches(): void {
  pending.clear();
}

/** Resolves once the boot's query went out (or will not): the session waits for it before the
 * screens render, since rendering them holds the page's only thread for a while and the query
 * would otherwise leave only after that. */
export function bootQueryReady(): Promise<void> {
  return bootQuerySent;
}

/** What the page at `location` asks for first: the session, the projects, and on a builder
 * opened as `?insight=ID` (or the overview) its query too. */
export function prefetchBoot(location: { pathname: string; search: string }): void {
  const me = prefetch<Me>('/api/auth/me');
  prefetch('/api/projects');
  const match = /^\/p\/([^/]+)\/([^/]+)\/?$/.exec(location.pathname);
  if (!match?.[1] || !match[2]) return;
  let project: string;
  try {
    project = decodeURIComponent(match[1]);
  } catch {
    return; // a malformed address: the screen will say so itself
  }
  const screen = match[2];
  const id = new URLSearchParams(location.search).get('insight');
  let spec: Promise<AnalysisSpec | null>;
  if (id) {
    // the same path useInsightParam asks for
    spec = prefetch<Insight>(projectPath(project, `/insights/${encodeURIComponent(id)}`))
      .then((insight) => builderSpec(screen, insight.spec));
  } else if (screen === 'overview') {
    spec = Promise.resolve(buildOverviewSpec(defaultOverviewRange()));
  } else {
    return;
  }
  bootQueryComing = true;
  bootQuerySent = Promise.all([me, spec]).then(([session, body]) => {
    bootQueryComing = false;
    if (!body) return;
    setCsrfToken(session.csrf_token);
    prefetchQuery(project, body);
  }, () => { bootQueryComing = false; claimed.clear(); });
}
