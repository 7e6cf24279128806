import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { FunnelResult } from '../api/types';
import { renderWith } from '../test-utils';
import { FunnelView } from './FunnelView';

const result: FunnelResult = {
  kind: 'funnel',
  mode: 'ordered',
  total: {
    breakdown: null,
    steps: [
      { label: 'view_item', event: 'view_item', count: 991, conversion_from_previous: 1,
        conversion_from_first: 1 },
      { label: 'Cart', event: 'add_to_cart', count: 412, conversion_from_previous: 0.41574,
        conversion_from_first: 0.41574 },
      { label: 'order_completed', event: 'order_completed', count: 178,
        conversion_from_previous: 0.43204, conversion_from_first: 0.17962 },
    ],
    overall_conversion: 0.17962,
    time_to_convert: { median: 153.5, mean: 6122, histogram: [
      { start: 0, end: 600, count: 120 }, { start: 600, end: 1200, count: 58 },
    ] },
  },
  breakdown: [
    { breakdown: 'douyin', overall_conversion: 0.2, time_to_convert: { median: null,
      mean: null, histogram: [] }, steps: [
      { label: 'view_item', event: 'view_item', count: 500, conversion_from_previous: 1,
        conversion_from_first: 1 },
      { label: 'Cart', event: 'add_to_cart', count: 200, conversion_from_previous: 0.4,
        conversion_from_first: 0.4 },
      { label: 'order_completed', event: 'order_completed', count: 100,
        conversion_from_previous: 0.5, conversion_from_first: 0.2 },
    ] },
    { breakdown: '$none', overall_conversion: 0, time_to_convert: { median: null,
      mean: null, histogram: [] }, steps: [] },
  ],
  persons: null,
  persons_total: null,
};

describe('FunnelView', () => {
  it('shows each step count and its conversion rates', () => {
    renderWith(<FunnelView result={result} />);
    expect(screen.getByTestId('funnel-step-count-0')).toHaveTextContent('991');
    expect(screen.getByTestId('funnel-step-count-1')).toHaveTextContent('412');
    expect(screen.getByTestId('funnel-step-count-2')).toHaveTextContent('178');
    expect(screen.getByTestId('funnel-step-conversion-1')).toHaveTextContent('41.6%');
    expect(screen.getByTestId('funnel-step-conversion-2')).toHaveTextContent('43.2%');
    expect(screen.getByTestId('funnel-step-conversion-first-2')).toHaveTextContent('18.0%');
    expect(screen.getByTestId('funnel-step-dropped-1')).toHaveTextContent('579');
    expect(screen.getByTestId('funnel-step-dropped-2')).toHaveTextContent('234');
    expect(screen.getByTestId('funnel-overall')).toHaveTextContent('18.0%');
    expect(screen.getByTestId('funnel-step-label-1')).toHaveTextContent('Cart (add_to_cart)');
  });

  it('shows the breakdown and the time to convert', () => {
    renderWith(<FunnelView result={result} />);
    const breakdown = screen.getByTestId('funnel-breakdown');
    expect(breakdown).toHaveTextContent('douyin');
    expect(breakdown).toHaveTextContent('100 (20.0%)');
    expect(breakdown).toHaveTextContent('(none)');
    expect(screen.getByTestId('funnel-time-to-convert')).toHaveTextContent('Median 2m 34s');
  });

  it('formats for Chinese readers', () => {
    renderWith(<FunnelView result={result} />, 'zh-CN');
    expect(screen.getAllByText('整体转化率').length).toBeGreaterThan(0);
    expect(screen.getByTestId('funnel-step-conversion-1')).toHaveTextContent('41.6%');
    expect(screen.getByTestId('funnel-time-to-convert')).toHaveTextContent('中位数 2分钟34秒');
  });

  it('asks for the persons of a clicked step', () => {
    const onStepClick = vi.fn();
    renderWith(<FunnelView result={result} onStepClick={onStepClick} />);
    fireEvent.click(screen.getByTestId('funnel-step-count-2'));
    fireEvent.click(screen.getByTestId('funnel-step-dropped-1'));
    expect(onStepClick.mock.calls).toEqual([[2, 'converted'], [1, 'dropped']]);
  });

  it('disables step buttons without a handler', () => {
    renderWith(<FunnelView result={result} />);
    expect(screen.getByTestId('funnel-step-count-0')).toBeDisabled();
  });
});
