import {
  App, Button, Card, Col, Form, Input, InputNumber, Modal, Popconfirm, Row, Select, Space, Table,
  Typography,
} from 'antd';
import {
  ArrowLeftOutlined, ArrowRightOutlined, DeleteOutlined, EditOutlined, PlusOutlined,
} from '@ant-design/icons';
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, projectPath } from '../api/client';
import { useGet } from '../api/hooks';
import type {
  AnalysisResult, Dashboard, DashboardSummary, DateRange, Insight, Tile,
} from '../api/types';
import { can, useProject } from '../auth/project';
import { DateRangeSelect } from '../components/DateRangeSelect';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useAnalysis } from '../hooks/useQuery';
import { useI18n } from '../i18n';
import { ResultView } from '../results/ResultView';
import { withDateRange } from '../spec/builders';

const COLUMNS = 12;
const ROW_PX = 110;

type LaidTile = Tile & { insight: Insight };

/** Tiles flowed left to right in their order, wrapping at 12 columns: the x and y saved. */
export function flowTiles<T extends { w: number; h: number }>(tiles: T[]): (T & { x: number; y: number })[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return tiles.map((tile) => {
    const w = Math.max(1, Math.min(COLUMNS, tile.w));
    if (x + w > COLUMNS) { y += rowHeight; x = 0; rowHeight = 0; }
    const placed = { ...tile, w, x, y };
    x += w;
    rowHeight = Math.max(rowHeight, tile.h);
    return placed;
  });
}

function byPosition(a: Tile, b: Tile): number {
  return a.y - b.y || a.x - b.x;
}

export function DashboardsPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const navigate = useNavigate();
  const dashboards = useGet<DashboardSummary[]>(projectPath(project.name, '/dashboards'));
  const writable = can.writeInsights(project.role);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [form] = Form.useForm<{ name: string; description: string }>();
  const base = `/p/${encodeURIComponent(project.name)}`;
  const create = async (values: { name: string; description: string }) => {
    setError(null);
    try {
      const created = await api.post<Dashboard>(projectPath(project.name, '/dashboards'), {
        name: values.name, description: values.description || null, tiles: [],
      });
      setOpen(false);
      navigate(`${base}/dashboards/${created.id}?edit=1`);
    } catch (exc) {
      setError(exc);
    }
  };
  return (
    <div data-testid="page-dashboards">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }}>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('dashboards.title')}</Typography.Title>
        {writable ? (
          <Button type="primary" icon={<PlusOutlined />} data-testid="new-dashboard"
            onClick={() => { form.resetFields(); setError(null); setOpen(true); }}>
            {t('dashboards.new')}
          </Button>
        ) : null}
      </Space>
      <ErrorAlert error={dashboards.error} onRetry={dashboards.reload} />
      {dashboards.loading && !dashboards.data ? <Loading /> : null}
      {dashboards.data ? (
        <Table
          rowKey="id"
          data-testid="dashboards-table"
          dataSource={dashboards.data}
          locale={{ emptyText: <NoData text={t('dashboards.empty')} /> }}
          columns={[
            { title: t('insights.name'), dataIndex: 'name',
              render: (name: string, row: DashboardSummary) => (
                <Link to={`${base}/dashboards/${row.id}`} data-testid={`dashboard-link-${row.id}`}>
                  {name}
                </Link>
              ) },
            { title: t('common.description'), dataIndex: 'description',
              render: (v: string | null) => v ?? '' },
            { title: t('dashboards.tiles'), dataIndex: 'tile_count', align: 'right' },
            { title: t('insights.updated'), dataIndex: 'updated_at',
              render: (v: string) => fmt.dateTime(v) },
          ]}
        />
      ) : null}
      <Modal open={open} title={t('dashboards.new')} onCancel={() => setOpen(false)}
        onOk={() => form.submit()} okText={t('common.create')} cancelText={t('common.cancel')}
        okButtonProps={{ 'data-testid': 'new-dashboard-ok' } as Record<string, string>}>
        <ErrorAlert error={error} />
        <Form form={form} layout="vertical" onFinish={(v) => void create(v)}>
          <Form.Item name="name" label={t('insights.name')}
            rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
            <Input data-testid="new-dashboard-name" />
          </Form.Item>
          <Form.Item name="description" label={t('common.description')}>
            <Input.TextArea rows={2} />
          </Form.Item>
        </Form>
      </Modal>
    </div>
  );
}

function TileCard({ tile, range, editing, onChange, onRemove, onMove }: {
  tile: LaidTile; range: DateRange; editing: boolean; onChange: (tile: LaidTile) => void;
  onRemove: () => void; onMove: (step: -1 | 1) => void;
}) {
  const { t } = useI18n();
  const { project } = useProject();
  const spec = useMemo(() => withDateRange(tile.insight.spec, range), [tile.insight.spec, range]);
  const query = useAnalysis<AnalysisResult>(project.name, spec, { delayMs: 0 });
  const base = `/p/${encodeURIComponent(project.name)}`;
  return (
    <Card
      size="small"
      data-testid={`tile-${tile.insight_id}`}
      title={<Link to={`${base}/insights/${tile.insight_id}`}>{tile.insight.name}</Link>}
      extra={editing ? (
        <Space size={4}>
          <Button size="small" icon={<ArrowLeftOutlined />} aria-label={t('dashboards.moveUp')}
            onClick={() => onMove(-1)} />
          <Button size="small" icon={<ArrowRightOutlined />} aria-label={t('dashboards.moveDown')}
            onClick={() => onMove(1)} />
          <InputNumber size="small" min={2} max={12} value={tile.w} style={{ width: 56 }}
            aria-label={t('dashboards.width')} title={t('dashboards.width')}
            onChange={(w) => onChange({ ...tile, w: w ?? 6 })} />
          <InputNumber size="small" min={2} max={10} value={tile.h} style={{ width: 56 }}
            aria-label={t('dashboards.height')} title={t('dashboards.height')}
            onChange={(h) => onChange({ ...tile, h: h ?? 3 })} />
          <Button size="small" danger icon={<DeleteOutlined />} aria-label={t('dashboards.remove')}
            onClick={onRemove} />
        </Space>
      ) : null}
      styles={{ body: { height: tile.h * ROW_PX, overflow: 'auto' } }}
    >
      <ErrorAlert error={query.error} onRetry={() => void query.rerun()} />
      {query.loading && !query.data ? <Loading /> : null}
      {query.data ? <ResultView result={query.data} compact /> : null}
    </Card>
  );
}

export function DashboardPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { project } = useProject();
  const navigate = useNavigate();
  const { id = '' } = useParams();
  const path = projectPath(project.name, `/dashboards/${encodeURIComponent(id)}`);
  const dashboard = useGet<Dashboard>(path);
  const insights = useGet<Insight[]>(projectPath(project.name, '/insights'));
  const writable = can.writeInsights(project.role);
  const [range, setRange] = useState<DateRange>({ last_days: 30 });
  const [editing, setEditing] = useState(
    () => new URLSearchParams(window.location.search).get('edit') === '1');
  const [tiles, setTiles] = useState<LaidTile[]>([]);
  const [adding, setAdding] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (dashboard.data) setTiles([...dashboard.data.tiles].sort(byPosition));
  }, [dashboard.data]);

  if (dashboard.loading && !dashboard.data) return <Loading />;
  if (!dashboard.data) return <ErrorAlert error={dashboard.error} onRetry={dashboard.reload} />;
  const data = dashboard.data;

  const save = async () => {
    setError(null);
    try {
      const laid = flowTiles(tiles).map(({ insight_id, x, y, w, h }) => ({ insight_id, x, y, w, h }));
      const saved = await api.put<Dashboard>(path, {
        name: data.name, description: data.description, tiles: laid,
      });
      dashboard.setData(saved);
      setEditing(false);
      message.success(t('save.updated', { name: saved.name }));
    } catch (exc) {
      setError(exc);
    }
  };
  const remove = async () => {
    try {
      await api.del(path);
      navigate(`/p/${encodeURIComponent(project.name)}/dashboards`);
    } catch (exc) {
      setError(exc);
    }
  };
  const add = () => {
    const insight = insights.data?.find((i) => i.id === adding);
    if (!insight) return;
    setTiles([...tiles, { insight_id: insight.id, insight, x: 0, y: 0,
      w: insight.kind === 'overview' ? 12 : 6, h: 3 }]);
    setAdding(null);
  };
  const move = (i: number, step: -1 | 1) => {
    const j = i + step;
    if (j < 0 || j >= tiles.length) return;
    const next = [...tiles];
    [next[i], next[j]] = [next[j]!, next[i]!];
    setTiles(next);
  };

  return (
    <div data-testid="page-dashboard">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
        <Space direction="vertical" size={0}>
          <Typography.Title level={3} style={{ margin: 0 }}>{data.name}</Typography.Title>
          {data.description ? <Typography.Text type="secondary">{data.description}</Typography.Text>
            : null}
        </Space>
        <Space wrap>
          <span title={t('dashboards.rangeHint')}>
            <DateRangeSelect value={range} onChange={setRange} testId="dashboard-range" />
          </span>
          {writable && !editing ? (
            <Button icon={<EditOutlined />} onClick={() => setEditing(true)}
              data-testid="edit-dashboard">{t('dashboards.edit')}</Button>
          ) : null}
          {writable && editing ? (
            <>
              <Button type="primary" onClick={() => void save()} data-testid="save-dashboard">
                {t('dashboards.save')}
              </Button>
              <Button onClick={() => { setEditing(false); setTiles([...data.tiles].sort(byPosition)); }}>
                {t('common.cancel')}
              </Button>
              <Popconfirm title={t('dashboards.confirmDelete')} okText={t('common.delete')}
                cancelText={t('common.cancel')} onConfirm={() => void remove()}>
                <Button danger icon={<DeleteOutlined />}>{t('dashboards.delete')}</Button>
              </Popconfirm>
            </>
          ) : null}
        </Space>
      </Space>
      <ErrorAlert error={error} />
      {editing ? (
        <Card size="small" style={{ marginBottom: 12 }}>
          <Space wrap>
            <Select style={{ minWidth: 280 }} placeholder={t('dashboards.pickInsight')}
              data-testid="add-tile-select" value={adding ?? undefined}
              onChange={(v: number) => setAdding(v)} loading={insights.loading}
              options={(insights.data ?? []).map((i) => ({ value: i.id, label: i.name }))} />
            <Button icon={<PlusOutlined />} disabled={adding === null} onClick={add}
              data-testid="add-tile">{t('dashboards.addTile')}</Button>
          </Space>
        </Card>
      ) : null}
      {tiles.length === 0 ? <NoData text={t('dashboards.noTiles')} /> : (
        <Row gutter={[12, 12]}>
          {tiles.map((tile, i) => (
            <Col key={`${tile.insight_id}-${i}`} xs={24} lg={Math.min(24, tile.w * 2)}>
              <TileCard tile={tile} range={range} editing={editing}
                onChange={(next) => setTiles(tiles.map((x, n) => (n === i ? next : x)))}
                onRemove={() => setTiles(tiles.filter((_, n) => n !== i))}
                onMove={(step) => move(i, step)} />
            </Col>
          ))}
        </Row>
      )}
    </div>
  );
}
