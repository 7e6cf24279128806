import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, onUnauthorized, projectPath, qs, setCsrfToken } from './client';

function stubFetch(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(status === 204 ? null : JSON.stringify(body), { status });
  }));
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe('api client', () => {
  it('sends the session cookie and the CSRF token only on state-changing calls', async () => {
    const calls = stubFetch(200, { ok: true });
    setCsrfToken('tok-123');
    await api.get('/api/projects');
    await api.post('/api/projects/shop/query', { kind: 'trends' });
    await api.patch('/api/projects/shop', { timezone: 'UTC' });
    const [get, post, patch] = calls.map((c) => c.init);
    expect(get?.credentials).toBe('same-origin');
    expect((get?.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined();
    expect(post?.credentials).toBe('same-origin');
    expect((post?.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok-123');
    expect((post?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(post?.body).toBe('{"kind":"trends"}');
    expect((patch?.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok-123');
  });

  it('turns an error answer into an ApiError with the field', async () => {
    stubFetch(400, { error: 'BadRequest', message: 'spec steps.1.event: required',
      field: 'steps.1.event' });
    const error = await api.post('/api/projects/shop/query', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, field: 'steps.1.event' });
  });

  it('tells listeners when the session is gone', async () => {
    stubFetch(401, { error: 'unauthorized', message: 'sign in' });
    const listener = vi.fn();
    const stop = onUnauthorized(listener);
    await api.get('/api/projects').catch(() => undefined);
    stop();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('answers 204 with nothing', async () => {
    stubFetch(204, null);
    await expect(api.del('/api/projects/shop/keys/3')).resolves.toBeUndefined();
  });

  it('escapes project names and query strings', () => {
    expect(projectPath('my shop', '/persons')).toBe('/api/projects/my%20shop/persons');
    expect(qs({ search: 'a&b', limit: 50, offset: 0, event: undefined, x: '' }))
      .toBe('?search=a%26b&limit=50&offset=0');
    expect(qs({})).toBe('');
  });
});
