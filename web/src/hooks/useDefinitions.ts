import { useEffect, useState } from 'react';
import { api, projectPath, qs } from '../api/client';
import type { EventDefinition, PropertyDefinition } from '../api/types';

// Event and property names feed every picker on a screen: fetched once a minute per project,
// shared by all pickers, and a picker still works (free text) when the fetch fails.
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

function useCached<T>(path: string | null, fallback: T): T {
  const [value, setValue] = useState<T>(fallback);
  useEffect(() => {
    if (!path) return;
    let live = true;
    cached<T>(path).then((v) => { if (live) setValue(v); }, () => undefined);
    return () => { live = false; };
  }, [path]);
  return value;
}

const NO_EVENTS: EventDefinition[] = [];
const NO_PROPERTIES: PropertyDefinition[] = [];

export function useEventDefinitions(project: string): EventDefinition[] {
  return useCached(projectPath(project, '/event-definitions'), NO_EVENTS);
}

export function usePropertyDefinitions(project: string, type: 'event' | 'person',
                                       event?: string | null): PropertyDefinition[] {
  const path = type === 'person' ? projectPath(project, '/person-properties')
    : projectPath(project, '/property-definitions' + qs({ event: event ?? undefined }));
  return useCached(path, NO_PROPERTIES);
}
