import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWith } from '../test-utils';
import { ComputedAt } from './ComputedAt';

afterEach(() => {
  vi.useRealTimers();
});

describe('ComputedAt', () => {
  it('dates the answer on screen and says whether the server kept it', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 23, 12, 0, 0), toFake: ['Date'] });
    const computed = new Date(Date.UTC(2026, 10, 23, 11, 57, 0)).toISOString();
    const { unmount } = renderWith(<ComputedAt result={{ computed_at: computed, cached: true }} />);
    const label = screen.getByTestId('computed-at');
    expect(label.textContent).toBe('Computed 3 minutes ago');
    expect(label.dataset.cached).toBe('true');
    unmount();
    renderWith(<ComputedAt result={{ computed_at: computed, cached: false }} />, 'zh-CN');
    expect(screen.getByTestId('computed-at').textContent).toBe('更新于3分钟前');
  });

  it('shows nothing for an answer without a time', () => {
    renderWith(<ComputedAt result={{ kind: 'trends' } as never} />);
    expect(screen.queryByTestId('computed-at')).toBeNull();
  });
});
