import { useEffect, useRef } from 'react';
import { echarts } from './echarts';
import type { ChartOption } from './echarts';

export interface ChartClick {
  dataIndex: number;
  seriesIndex: number;
  name: string;
}

interface Props {
  option: ChartOption;
  height?: number | string;
  onClick?: (event: ChartClick) => void;
  testId?: string;
}

/** A thin ECharts wrapper: one instance per element, options replaced on change, resized with
 * its box, disposed on unmount. */
export function Chart({ option, height = 320, onClick, testId }: Props) {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<typeof echarts.init> | null>(null);
  const clickRef = useRef(onClick);
  clickRef.current = onClick;

  useEffect(() => {
    const node = element.current;
    if (!node) return;
    let instance: ReturnType<typeof echarts.init>;
    try {
      instance = echarts.init(node, undefined, { renderer: 'svg' });
    } catch {
      return; // no layout (a test's DOM): the tables beside each chart still show the numbers
    }
    chart.current = instance;
    instance.on('click', (params) => {
      const p = params as { dataIndex?: number; seriesIndex?: number; name?: string };
      clickRef.current?.({
        dataIndex: p.dataIndex ?? 0, seriesIndex: p.seriesIndex ?? 0, name: p.name ?? '',
      });
    });
    let observer: ResizeObserver | null = null;
    if (typeof ResizeObserver !== 'undefined') {
      observer = new ResizeObserver(() => instance.resize());
      observer.observe(node);
    }
    return () => {
      observer?.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    try {
      chart.current?.setOption(option, { notMerge: true });
    } catch {
      // an option ECharts cannot draw must not take the screen down
    }
  }, [option]);

  return <div ref={element} style={{ width: '100%', height }} data-testid={testId} />;
}
