import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SegmentDefinition } from '../api/segments';
import { PREVIEW_DELAY_MS, useLivePreview } from './useLivePreview';

const A: SegmentDefinition = { kind: 'segment', id: 1 };
const B: SegmentDefinition = { kind: 'segment', id: 2 };

/** Each preview POST waits here until the test answers it. */
let pending: { id: number; answer: (count: number) => void; fail: (status: number) => void }[];

beforeEach(() => {
  vi.useFakeTimers();
  pending = [];
  vi.stubGlobal('fetch', vi.fn((_url: string, init: RequestInit = {}) => {
    const { definition } = JSON.parse(String(init.body)) as { definition: { id: number } };
    return new Promise<Response>((resolve) => {
      pending.push({
        id: definition.id,
        answer: (count) => resolve(new Response(JSON.stringify({ count, seconds: 0.1 }),
          { status: 200, headers: { 'Content-Type': 'application/json' } })),
        fail: (status) => resolve(new Response(JSON.stringify(
          { error: 'bad_request', message: `bad ${definition.id}` }),
        { status, headers: { 'Content-Type': 'application/json' } })),
      });
    });
  }));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function settle(ms = PREVIEW_DELAY_MS) {
  await act(async () => { await vi.advanceTimersByTimeAsync(ms); });
}

describe('useLivePreview', () => {
  it('never shows an answer to B as the count of A (edit A -> B -> A)', async () => {
    const { result, rerender } = renderHook(
      ({ definition }) => useLivePreview('shop', definition),
      { initialProps: { definition: A as SegmentDefinition | null } });
    await settle();
    expect(pending.map((p) => p.id)).toEqual([1]);
    await act(async () => { pending[0]!.answer(10); });
    await settle(0);
    expect(result.current).toMatchObject({ count: 10, loading: false, error: null });

    // A -> B: B is asked; then back to A before B's answer comes.
    rerender({ definition: { ...B } });
    expect(result.current.count).toBeUndefined();
    expect(result.current.loading).toBe(true);
    await settle();
    expect(pending.map((p) => p.id)).toEqual([1, 2]);
    rerender({ definition: { ...A } });
    // B's answer arrives while A is on screen: it is not A's count.
    await act(async () => { pending[1]!.answer(99); });
    await settle(0);
    expect(result.current.count).toBeUndefined();
    expect(result.current.loading).toBe(true);
    // A is asked again and its own answer shows.
    await settle();
    expect(pending.map((p) => p.id)).toEqual([1, 2, 1]);
    await act(async () => { pending[2]!.answer(11); });
    await settle(0);
    expect(result.current).toMatchObject({ count: 11, loading: false, error: null });
  });

  it('shows no count and no error once the definition is gone', async () => {
    const { result, rerender } = renderHook(
      ({ definition }) => useLivePreview('shop', definition),
      { initialProps: { definition: B as SegmentDefinition | null } });
    await settle();
    await act(async () => { pending[0]!.fail(400); });
    await settle(0);
    expect(result.current.error?.message).toBe('bad 2');
    rerender({ definition: null });
    expect(result.current).toMatchObject({ count: undefined, error: null, loading: false,
      empty: true });
    // An answer to a definition edited away is dropped too.
    rerender({ definition: { ...A } });
    await settle();
    rerender({ definition: null });
    await act(async () => { pending[1]!.answer(5); });
    await settle(0);
    expect(result.current).toMatchObject({ count: undefined, error: null, loading: false });
  });
});
