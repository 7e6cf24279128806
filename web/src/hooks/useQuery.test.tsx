import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnalysisSpec } from '../api/types';
import { useAnalysis } from './useQuery';

const dau = (days: number): AnalysisSpec => ({
  kind: 'trends', date_range: { last_days: days }, interval: 'day',
  series: [{ event: null, math: 'dau' }],
});

let bodies: unknown[];
let cacheControls: (string | undefined)[];

beforeEach(() => {
  vi.useFakeTimers();
  bodies = [];
  cacheControls = [];
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit) => {
    if (url === '/api/projects/shop/query') {
      bodies.push(JSON.parse(String(init.body)));
      cacheControls.push((init.headers as Record<string, string>)['Cache-Control']);
    }
    return new Response(JSON.stringify({ kind: 'trends', series: [] }), { status: 200 });
  }));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

type Props = { spec: AnalysisSpec | null; hold?: boolean };

function mount(initial: Props) {
  return renderHook(({ spec, hold }: Props) => useAnalysis('shop', spec, { hold }),
    { initialProps: initial });
}

describe('useAnalysis', () => {
  it('accepts a recent kept answer, but Run asks for a new computation', async () => {
    const view = mount({ spec: dau(30) });
    view.rerender({ spec: dau(7) });
    await act(() => vi.advanceTimersByTimeAsync(350));
    await act(async () => { await view.result.current.rerun(); });
    expect(bodies).toEqual([dau(30), dau(7), dau(7)]);
    expect(cacheControls).toEqual(['max-age=300', 'max-age=300', 'no-cache']);
  });

  it('sends the first spec at once and debounces later edits', async () => {
    const view = mount({ spec: dau(30) });
    expect(bodies).toEqual([dau(30)]); // no timer has run: the first run did not wait

    view.rerender({ spec: dau(7) });
    view.rerender({ spec: dau(14) });
    await act(() => vi.advanceTimersByTimeAsync(349));
    expect(bodies).toHaveLength(1); // an edit waits for the typing to stop
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(bodies).toEqual([dau(30), dau(14)]); // and only the last of quick edits goes
  });

  it('holds while a saved insight loads, then sends its spec at once', async () => {
    const view = mount({ spec: dau(30), hold: true });
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(bodies).toEqual([]); // the default form is never run while the insight loads

    view.rerender({ spec: dau(90), hold: false });
    expect(bodies).toEqual([dau(90)]);

    view.rerender({ spec: dau(7), hold: false });
    expect(bodies).toHaveLength(1);
    await act(() => vi.advanceTimersByTimeAsync(350));
    expect(bodies).toEqual([dau(90), dau(7)]);
  });

  it('debounces the first complete spec of a form that started incomplete', async () => {
    const view = mount({ spec: null });
    expect(bodies).toEqual([]);
    view.rerender({ spec: dau(30) });
    expect(bodies).toEqual([]);
    await act(() => vi.advanceTimersByTimeAsync(350));
    expect(bodies).toEqual([dau(30)]);
  });

  it('does not send a spec again when the form comes back to it', async () => {
    const view = mount({ spec: dau(30) });
    view.rerender({ spec: dau(7) });
    view.rerender({ spec: dau(30) });
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(bodies).toEqual([dau(30)]);
  });
});
