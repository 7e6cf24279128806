import { render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionProvider, useSession } from '../auth/session';
import type { Insight, TrendsSpec } from './types';
import { builderSpec } from '../spec/builders';
import {
  bootQueryReady, dropPrefetches, prefetchBoot, takePrefetched, takePrefetchedQuery,
} from './prefetch';
import { setCsrfToken } from './client';

const saved: TrendsSpec = {
  kind: 'trends', date_range: { last_days: 30 }, interval: 'day',
  series: [{ event: null, math: 'unique_persons' }],
};
const insight: Insight = {
  id: 7, name: 'DAU', description: null, kind: 'trends', spec: saved,
  created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z', created_by: null,
};
const me = { user: { id: 1, email: 'a@b.c', name: 'A', is_owner: true, created_at: '',
  last_login_at: null }, csrf_token: 'tok', projects: [] };

function stub(routes: Record<string, [number, unknown]>) {
  const asked: { method: string; path: string; body: unknown }[] = [];
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit) => {
    asked.push({ method: init.method ?? 'GET', path: url,
      body: init.body ? JSON.parse(String(init.body)) : null });
    const [status, body] = routes[url] ?? [404, { error: 'not_found', message: url }];
    return new Response(JSON.stringify(body), { status });
  }));
  return asked;
}

afterEach(() => {
  vi.unstubAllGlobals();
  dropPrefetches();
  setCsrfToken(null);
});

describe('boot prefetch', () => {
  it('asks for the session, projects and insight at once, then sends its query', async () => {
    const asked = stub({
      '/api/auth/me': [200, me], '/api/projects': [200, []],
      '/api/projects/shop/insights/7': [200, insight],
      '/api/projects/shop/query': [200, { kind: 'trends' }],
    });
    prefetchBoot({ pathname: '/p/shop/trends', search: '?insight=7' });
    expect(asked.map((a) => a.path)).toEqual(
      ['/api/auth/me', '/api/projects', '/api/projects/shop/insights/7']);
    await bootQueryReady();
    const spec = builderSpec('trends', saved);
    expect(asked[3]).toEqual({ method: 'POST', path: '/api/projects/shop/query', body: spec });
    // the screen takes that answer instead of asking again, once
    await expect(takePrefetchedQuery('shop', spec!)).resolves.toEqual({ kind: 'trends' });
    expect(takePrefetchedQuery('shop', spec!)).toBeUndefined();
    expect(takePrefetched('/api/projects')).toBeDefined();
    expect(takePrefetched('/api/projects')).toBeUndefined();
  });

  it('sends no query for an insight of another kind than the screen', async () => {
    const asked = stub({ '/api/auth/me': [200, me], '/api/projects': [200, []],
      '/api/projects/shop/insights/7': [200, insight] });
    prefetchBoot({ pathname: '/p/shop/funnel', search: '?insight=7' });
    await bootQueryReady();
    expect(asked.map((a) => a.method)).toEqual(['GET', 'GET', 'GET']);
  });
});

function Status() {
  const { status } = useSession();
  return <span data-testid="status">{status}</span>;
}

describe('session boot', () => {
  it('asks /api/auth/me only, when signed in', async () => {
    const asked = stub({ '/api/auth/me': [200, me] });
    render(<SessionProvider><Status /></SessionProvider>);
    await waitFor(() => expect(screen.getByTestId('status')).toHaveTextContent('signed-in'));
    expect(asked.map((a) => a.path)).toEqual(['/api/auth/me']);
  });

  it.each([[true, 'setup'], [false, 'signed-out']])(
    'asks /api/setup after a 401 (needs_setup %s: %s)', async (needs, status) => {
      const asked = stub({ '/api/auth/me': [401, { error: 'unauthorized', message: 'no' }],
        '/api/setup': [200, { needs_setup: needs }] });
      render(<SessionProvider><Status /></SessionProvider>);
      await waitFor(() => expect(screen.getByTestId('status')).toHaveTextContent(status));
      expect(asked.map((a) => a.path)).toEqual(['/api/auth/me', '/api/setup']);
    });
});
