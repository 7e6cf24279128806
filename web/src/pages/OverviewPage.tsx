import { Button, Space, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import { useMemo, useState } from 'react';
import type { DateRange, OverviewResult } from '../api/types';
import { useProject } from '../auth/project';
import { ComputedAt } from '../components/ComputedAt';
import { DateRangeSelect } from '../components/DateRangeSelect';
import { ErrorAlert } from '../components/ErrorAlert';
import { FiltersEditor } from '../components/FiltersEditor';
import { SaveInsight } from '../components/SaveInsight';
import { Loading } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useAnalysis } from '../hooks/useQuery';
import { useI18n } from '../i18n';
import { OverviewView } from '../results/OverviewView';
import { buildOverviewSpec, defaultOverviewRange } from '../spec/builders';
import type { FilterDraft } from '../spec/builders';

/** 增长看板: every KPI and chart from one `overview` query. */
export function OverviewPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [range, setRange] = useState<DateRange>(defaultOverviewRange);
  const [filters, setFilters] = useState<FilterDraft[]>([]);
  const spec = useMemo(() => buildOverviewSpec(range, filters), [range, filters]);
  const query = useAnalysis<OverviewResult>(project.name, spec, { delayMs: 0 });
  const data = query.data;
  return (
    <div data-testid="page-overview">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
        <Space direction="vertical" size={0}>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('overview.title')}</Typography.Title>
          {data ? (
            <Typography.Text type="secondary" data-testid="overview-period">
              {fmt.day(data.first)} – {fmt.day(data.last)} · {project.timezone}
            </Typography.Text>
          ) : null}
        </Space>
        <Space wrap>
          {data ? <ComputedAt result={data} /> : null}
          <DateRangeSelect value={range} onChange={setRange} />
          <Button icon={<ReloadOutlined />} loading={query.loading} data-testid="run-query"
            onClick={() => void query.rerun()} />
          <SaveInsight spec={spec} />
        </Space>
      </Space>
      <div style={{ marginBottom: 12 }}>
        <FiltersEditor compact value={filters} onChange={setFilters} />
      </div>
      <ErrorAlert error={query.error} onRetry={() => void query.rerun()} />
      {!data && query.loading ? <Loading /> : null}
      {data ? (
        <div style={{ opacity: query.loading ? 0.5 : 1 }} data-testid="result"
          data-loading={query.loading ? 'true' : 'false'}>
          <OverviewView result={data} />
        </div>
      ) : null}
    </div>
  );
}
