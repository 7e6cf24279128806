// The one way the console talks to the server: same-origin JSON with the session cookie, and
// the session's CSRF token on every state-changing call (the server refuses them without it).

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, field: string | null = null,
              retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

let csrfToken: string | null = null;

/** Remember the session's CSRF token (from /api/auth/me, login or setup). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Listeners told when any call answers 401 (the session expired): the app shows sign-in. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Reads an error body in any of the server's shapes: ours ({error, message, field}) or
 * FastAPI's validation answer ({detail: [{loc, msg}]} or {detail: text}). */
export async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const retry = Number(response.headers.get('Retry-After'));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string' || typeof b.error === 'string') {
      return new ApiError(response.status, String(b.error ?? 'error'),
        String(b.message ?? b.error), typeof b.field === 'string' ? b.field : null, retryAfter);
    }
    if (Array.isArray(b.detail) && b.detail.length > 0) {
      const first = b.detail[0] as { loc?: unknown[]; msg?: string };
      const loc = Array.isArray(first.loc) ? first.loc.filter((p) => p !== 'body') : [];
      return new ApiError(response.status, 'bad_request', first.msg ?? 'invalid request',
        loc.length ? loc.join('.') : null, retryAfter);
    }
    if (typeof b.detail === 'string') {
      return new ApiError(response.status, 'error', b.detail, null, retryAfter);
    }
  }
  return new ApiError(response.status, 'http_' + response.status,
    response.statusText || `HTTP ${response.status}`, null, retryAfter);
}

export async function request<T>(method: Method, path: string, body?: unknown,
                                 signal?: AbortSignal,
                                 extraHeaders: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...extraHeaders };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (exc) {
    if (exc instanceof DOMException && exc.name === 'AbortError') throw exc;
    throw new ApiError(0, 'network', exc instanceof Error ? exc.message : String(exc));
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && !path.startsWith('/api/auth/login')) {
      unauthorizedListeners.forEach((listener) => listener());
    }
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal),
  post: <T>(path: string, body?: unknown, signal?: AbortSignal,
            headers?: Record<string, string>) => request<T>('POST', path, body ?? {}, signal, headers),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T = void>(path: string) => request<T>('DELETE', path),
};

/** How old an analysis' answer may be when the console opens it (the query API's
 * `Cache-Control: max-age`): opening a saved insight, a dashboard or the overview again is then
 * served from the server's last computation, which the result panel dates, as PostHog does.
 * Without it the server keeps an answer only while no event arrives; with events streaming in
 * that is never. Run (the refresh button) asks for a new computation. */
export const QUERY_MAX_AGE_S = 300;

export function queryHeaders(refresh = false): Record<string, string> {
  return { 'Cache-Control': refresh ? 'no-cache' : `max-age=${QUERY_MAX_AGE_S}` };
}

/** `/api/projects/{name}` + rest, the project name escaped. */
export function projectPath(project: string, rest = ''): string {
  return `/api/projects/${encodeURIComponent(project)}${rest}`;
}

/** A query string from the defined values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
