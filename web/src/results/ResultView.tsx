import type { AnalysisResult } from '../api/types';
import { LifecycleView, StickinessView } from './ActivityViews';
import { FunnelView } from './FunnelView';
import type { StepClick } from './FunnelView';
import { OverviewView } from './OverviewView';
import { RetentionView } from './RetentionView';
import { TrendsView } from './TrendsView';

/** Any analysis result, drawn by its kind. */
export function ResultView({ result, compact = false, chartType, onStepClick }: {
  result: AnalysisResult; compact?: boolean; chartType?: 'line' | 'bar';
  onStepClick?: StepClick;
}) {
  switch (result.kind) {
    case 'trends': return <TrendsView result={result} compact={compact} chartType={chartType} />;
    case 'funnel': return <FunnelView result={result} compact={compact} onStepClick={onStepClick} />;
    case 'retention': return <RetentionView result={result} compact={compact} />;
    case 'lifecycle': return <LifecycleView result={result} compact={compact} />;
    case 'stickiness': return <StickinessView result={result} compact={compact} />;
    case 'overview': return <OverviewView result={result} compact={compact} />;
  }
}
