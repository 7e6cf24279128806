import { App, Button, Card, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, EditOutlined } from '@ant-design/icons';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, projectPath } from '../api/client';
import { useGet } from '../api/hooks';
import type { AnalysisResult, Insight } from '../api/types';
import { can, useProject } from '../auth/project';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useAnalysis } from '../hooks/useQuery';
import { useI18n } from '../i18n';
import type { MessageKey } from '../i18n';
import { ResultView } from '../results/ResultView';
import { BreakdownNames } from '../segments/BreakdownNames';
import { BUILDER_ROUTE } from '../spec/builders';

export const KIND_LABEL: Record<Insight['kind'], MessageKey> = {
  overview: 'nav.overview', trends: 'nav.trends', funnel: 'nav.funnel',
  retention: 'nav.retention', lifecycle: 'nav.lifecycle', stickiness: 'nav.stickiness',
};

export function builderLink(project: string, insight: Insight): string {
  const route = BUILDER_ROUTE[insight.kind];
  return `/p/${encodeURIComponent(project)}/${route}?insight=${insight.id}`;
}

export function InsightsPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const insights = useGet<Insight[]>(projectPath(project.name, '/insights'));
  const writable = can.writeInsights(project.role);
  const base = `/p/${encodeURIComponent(project.name)}`;
  const remove = async (insight: Insight) => {
    try {
      await api.del(projectPath(project.name, `/insights/${insight.id}`));
      message.success(t('insights.deleted'));
      insights.reload();
    } catch (exc) {
      message.error(exc instanceof Error ? exc.message : String(exc));
    }
  };
  return (
    <div data-testid="page-insights">
      <Typography.Title level={3}>{t('insights.title')}</Typography.Title>
      <ErrorAlert error={insights.error} onRetry={insights.reload} />
      {insights.loading && !insights.data ? <Loading /> : null}
      {insights.data ? (
        <Table
          data-testid="insights-table"
          rowKey="id"
          dataSource={insights.data}
          locale={{ emptyText: <NoData text={t('insights.empty')} /> }}
          columns={[
            { title: t('insights.name'), dataIndex: 'name',
              render: (name: string, row: Insight) => (
                <Space direction="vertical" size={0}>
                  <Link to={`${base}/insights/${row.id}`} data-testid={`insight-link-${row.id}`}>
                    {name}
                  </Link>
                  {row.description ? <Typography.Text type="secondary">{row.description}</Typography.Text>
                    : null}
                </Space>
              ) },
            { title: t('insights.kind'), dataIndex: 'kind',
              render: (kind: Insight['kind']) => <Tag>{t(KIND_LABEL[kind])}</Tag> },
            { title: t('insights.createdBy'), dataIndex: 'created_by',
              render: (v: string | null) => v ?? '—' },
            { title: t('insights.updated'), dataIndex: 'updated_at',
              render: (v: string) => fmt.dateTime(v) },
            { title: t('common.actions'), key: 'actions',
              render: (_: unknown, row: Insight) => (
                <Space>
                  <Link to={builderLink(project.name, row)}>
                    <EditOutlined /> {t('insights.edit')}
                  </Link>
                  {writable ? (
                    <Popconfirm title={t('insights.confirmDelete')} okText={t('common.delete')}
                      cancelText={t('common.cancel')} onConfirm={() => void remove(row)}>
                      <Button type="link" danger icon={<DeleteOutlined />}
                        data-testid={`insight-delete-${row.id}`}>{t('insights.delete')}</Button>
                    </Popconfirm>
                  ) : null}
                </Space>
              ) },
          ]}
        />
      ) : null}
    </div>
  );
}

/** One saved insight, run now. */
export function InsightPage() {
  const { t } = useI18n();
  const { project } = useProject();
  const navigate = useNavigate();
  const { id = '' } = useParams();
  const insight = useGet<Insight>(projectPath(project.name, `/insights/${encodeURIComponent(id)}`));
  const query = useAnalysis<AnalysisResult>(project.name, insight.data?.spec ?? null,
    { delayMs: 0, hold: insight.loading });
  if (insight.loading) return <Loading />;
  if (insight.error || !insight.data) {
    return <ErrorAlert error={insight.error} onRetry={insight.reload} />;
  }
  const data = insight.data;
  return (
    <div data-testid="page-insight">
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{data.name}</Typography.Title>
        <Button icon={<EditOutlined />} onClick={() => navigate(builderLink(project.name, data))}>
          {t('insights.edit')}
        </Button>
      </Space>
      {data.description ? <Typography.Paragraph type="secondary">{data.description}</Typography.Paragraph>
        : null}
      <Card size="small" style={{ marginTop: 12 }}>
        <ErrorAlert error={query.error} onRetry={() => void query.rerun()} />
        {query.loading && !query.data ? <Loading /> : null}
        {query.data ? (
          <BreakdownNames spec={data.spec}><ResultView result={query.data} /></BreakdownNames>
        ) : null}
      </Card>
    </div>
  );
}
