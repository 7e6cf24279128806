import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from './client';
import { takePrefetched } from './prefetch';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
  setData: (data: T) => void;
}

function asApiError(exc: unknown): ApiError {
  return exc instanceof ApiError ? exc : new ApiError(0, 'error', String(exc));
}

/** GET `path` (null: nothing yet), again whenever it changes or on reload(); the first time
 * it takes the answer to a boot prefetch of the same path, if one is on its way. */
export function useGet<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    (takePrefetched<T>(path) ?? api.get<T>(path, controller.signal)).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setLoading(false);
      },
      (exc: unknown) => {
        if (controller.signal.aborted) return;
        setError(asApiError(exc));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload, setData };
}

/** POST a query body on demand (run()), keeping the latest answer; an older answer that
 * arrives after a newer run is dropped. `answer`: the same POST already sent (a prefetch);
 * `headers`: sent with this one. */
export function usePost<B, T>(path: string | null): {
  data: T | undefined; error: ApiError | null; loading: boolean;
  run: (body: B, answer?: Promise<T>, headers?: Record<string, string>) =>
    Promise<T | undefined>;
  reset: () => void;
} {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  const serial = useRef(0);
  const run = useCallback(async (body: B, answer?: Promise<T>,
                               headers?: Record<string, string>) => {
    if (path === null) return undefined;
    const mine = ++serial.current;
    setLoading(true);
    setError(null);
    try {
      const value = await (answer ?? api.post<T>(path, body, undefined, headers));
      if (mine === serial.current) { setData(value); setLoading(false); }
      return value;
    } catch (exc) {
      if (mine === serial.current) { setError(asApiError(exc)); setLoading(false); }
      return undefined;
    }
  }, [path]);
  const reset = useCallback(() => { setData(undefined); setError(null); }, []);
  return { data, error, loading, run, reset };
}
