import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { api, ApiError, onUnauthorized, setCsrfToken } from '../api/client';
import { bootQueryReady, dropPrefetches, takePrefetched } from '../api/prefetch';
import type { Me, User } from '../api/types';

export type SessionStatus = 'loading' | 'setup' | 'signed-out' | 'signed-in' | 'error';

interface Session {
  status: SessionStatus;
  me: Me | null;
  error: ApiError | null;
  refresh: () => Promise<void>;
  login: (email: string, password: string) => Promise<void>;
  setup: (email: string, name: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionStatus>('loading');
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const failed = useCallback((exc: unknown) => {
    setError(exc instanceof ApiError ? exc : new ApiError(0, 'error', String(exc)));
    setStatus('error');
  }, []);

  const signedIn = useCallback((current: Me) => {
    setCsrfToken(current.csrf_token);
    setMe(current);
    setStatus('signed-in');
  }, []);

  const loadMe = useCallback(async () => {
    try {
      signedIn(await api.get<Me>('/api/auth/me'));
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) {
        setCsrfToken(null);
        setMe(null);
        setStatus('signed-out');
      } else {
        failed(exc);
      }
    }
  }, [signedIn, failed]);

  // The session first (one request when signed in, the usual case); only a 401 asks whether
  // the instance still needs its first owner (setup) or someone to sign in.
  const refresh = useCallback(async () => {
    setError(null);
    setStatus('loading');
    try {
      const current = await (takePrefetched<Me>('/api/auth/me') ?? api.get<Me>('/api/auth/me'));
      await bootQueryReady(); // a metadata read or two: the query first, then the screens
      signedIn(current);
      return;
    } catch (exc) {
      if (!(exc instanceof ApiError && exc.status === 401)) {
        failed(exc);
        return;
      }
    }
    dropPrefetches(); // refused without a session: ask again once signed in
    setCsrfToken(null);
    setMe(null);
    try {
      const setupState = await api.get<{ needs_setup: boolean }>('/api/setup');
      setStatus(setupState.needs_setup ? 'setup' : 'signed-out');
    } catch (exc) {
      failed(exc);
    }
  }, [signedIn, failed]);

  useEffect(() => { void refresh(); }, [refresh]);
  useEffect(() => onUnauthorized(() => {
    setCsrfToken(null);
    setMe(null);
    // while loading, refresh() decides between setup and sign-in itself
    setStatus((current) => (current === 'setup' || current === 'loading' ? current
      : 'signed-out'));
  }), []);

  const login = useCallback(async (email: string, password: string) => {
    const answer = await api.post<{ user: User; csrf_token: string }>('/api/auth/login',
      { email, password });
    setCsrfToken(answer.csrf_token);
    await loadMe();
  }, [loadMe]);

  const setup = useCallback(async (email: string, name: string, password: string) => {
    const answer = await api.post<{ user: User; csrf_token: string }>('/api/setup',
      { email, name, password });
    setCsrfToken(answer.csrf_token);
    await loadMe();
  }, [loadMe]);

  const logout = useCallback(async () => {
    try {
      await api.post<void>('/api/auth/logout');
    } finally {
      setCsrfToken(null);
      setMe(null);
      setStatus('signed-out');
    }
  }, []);

  const value = useMemo(() => ({ status, me, error, refresh, login, setup, logout }),
    [status, me, error, refresh, login, setup, logout]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
