import { Button, Card, Space, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import type { ReactNode } from 'react';
import type { AnalysisSpec, Computed, Insight } from '../api/types';
import { ComputedAt } from './ComputedAt';
import { useI18n } from '../i18n';
import { ErrorAlert } from './ErrorAlert';
import { SaveInsight } from './SaveInsight';
import { Loading, NoData } from './States';
import { BreakdownNames } from '../segments/BreakdownNames';

/** A builder screen: its controls, then the result with its loading, error and empty states,
 * and saving the analysis as an insight. */
export function AnalysisFrame({ title, controls, spec, loading, error, hasResult, onRun,
  insight, onSaved, toolbar, children, testId, result }: {
  title: string; controls: ReactNode; spec: AnalysisSpec | null; loading: boolean;
  /** The answer on screen, for when it was computed. */
  result?: Computed | null;
  error: unknown; hasResult: boolean; onRun: () => void; insight: Insight | null;
  onSaved: (insight: Insight) => void; toolbar?: ReactNode; children: ReactNode; testId: string;
}) {
  const { t } = useI18n();
  return (
    <div data-testid={testId}>
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>
          {insight ? `${title} · ${insight.name}` : title}
        </Typography.Title>
        <SaveInsight spec={spec} insight={insight} onSaved={onSaved} />
      </Space>
      <Card size="small" style={{ marginBottom: 16 }} data-testid="builder-controls">{controls}</Card>
      <Card
        size="small"
        title={t('query.result')}
        extra={
          <Space wrap>
            {hasResult ? <ComputedAt result={result} /> : null}
            {toolbar}
            <Button icon={<ReloadOutlined />} onClick={onRun} loading={loading}
              disabled={!spec} data-testid="run-query">
              {loading ? t('query.running') : t('query.run')}
            </Button>
          </Space>
        }
      >
        <ErrorAlert error={error} onRetry={onRun} />
        {loading && !hasResult ? <Loading tip={t('query.running')} /> : null}
        {!loading && !hasResult && !error ? <NoData /> : null}
        {hasResult ? (
          <div style={{ opacity: loading ? 0.5 : 1, transition: 'opacity 0.2s' }}
            data-testid="result" data-loading={loading ? 'true' : 'false'}>
            <BreakdownNames spec={spec}>{children}</BreakdownNames>
          </div>
        ) : null}
      </Card>
    </div>
  );
}

/** A labelled control in a builder's row. */
export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Space direction="vertical" size={2} style={{ marginRight: 16, marginBottom: 8 }}>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{label}</Typography.Text>
      {children}
    </Space>
  );
}
