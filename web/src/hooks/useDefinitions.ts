import { useEffect, useState } from 'react';
import { api, projectPath, qs } from '../api/client';
import type { EventDefinition, PropertyDefinition } from '../api/types';
import { afterQueries } from './queryGate';

// Event and property names feed every picker on a screen: fetched once a minute per project,
// shared by all pickers, and a picker still works (free text) when the fetch fails.
// Each is a scan of the event store (about a second on 10M events) and the store answers one
// statement at a time, so none of them may go before the screen's own query: event names wait
// for the queries in flight, property names until someone opens a property picker.
const TTL_MS = 60_000;
const cache = new Map<string, { at: number; promise: Promise<unknown> }>();

function cached<T>(path: string): Promise<T> {
  const hit = cache.get(path);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.promise as Promise<T>;
  const promise = api.get<T>(path);
  cache.set(path, { at: Date.now(), promise });
  promise.catch(() => cache.delete(path));
  return promise;
}

export function clearDefinitionCache(): void {
  cache.clear();
}

/** The list at `path` (null: not wanted yet); with `wait`, only once no query is in flight. */
function useCached<T>(path: string | null, fallback: T, wait = false): T {
  const [value, setValue] = useState<T>(fallback);
  useEffect(() => {
    if (!path) return;
    let live = true;
    const load = () => {
      if (live) cached<T>(path).then((v) => { if (live) setValue(v); }, () => undefined);
    };
    if (wait) void afterQueries().then(load);
    else load();
    return () => { live = false; };
  }, [path, wait]);
  return value;
}

const NO_EVENTS: EventDefinition[] = [];
const NO_PROPERTIES: PropertyDefinition[] = [];

/** Event names, after the screen's queries; `now` (the picker is open) skips the wait. */
export function useEventDefinitions(project: string, now = false): EventDefinition[] {
  return useCached(projectPath(project, '/event-definitions'), NO_EVENTS, !now);
}

/** Property names for a picker; nothing is fetched until `wanted` (the picker was opened). */
export function usePropertyDefinitions(project: string, type: 'event' | 'person',
                                       event: string | null | undefined,
                                       wanted: boolean): PropertyDefinition[] {
  const path = type === 'person' ? projectPath(project, '/person-properties')
    : projectPath(project, '/property-definitions' + qs({ event: event ?? undefined }));
  return useCached(wanted ? path : null, NO_PROPERTIES);
}
