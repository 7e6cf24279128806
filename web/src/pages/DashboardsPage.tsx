import {
  App, Button, Card, Checkbox, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Table,
  Typography,
} from 'antd';
import {
  ArrowLeftOutlined, ArrowRightOutlined, DeleteOutlined, EditOutlined, HolderOutlined,
  PlusOutlined,
} from '@ant-design/icons';
import { useCallback, useMemo, useState } from 'react';
import type { Dispatch, RefObject, SetStateAction } from 'react';
import ReactGridLayout, { useContainerWidth, verticalCompactor } from 'react-grid-layout';
import type { Layout, LayoutItem } from 'react-grid-layout';
import 'react-grid-layout/css/styles.css';
import './DashboardsPage.css';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
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
import { BreakdownNames } from '../segments/BreakdownNames';
import { withDateRange } from '../spec/builders';

const COLUMNS = 12;
const ROW_PX = 110;
const GAP = 12;
const MIN_W = 2;
const MIN_H = 2;
const MAX_H = 12;
// Narrower than this, tiles are stacked one per row (a 12-column grid would be unreadable).
const NARROW_PX = 768;
const DEFAULT_RANGE: DateRange = { last_days: 30 };

/** A tile as the board edits it: `key` tells two tiles of one insight apart. */
export type BoardTile = Tile & { insight: Insight; key: string };

let keys = 0;
function boardTiles(tiles: (Tile & { insight: Insight })[]): BoardTile[] {
  return compactTiles(tiles.map((tile) => ({ ...tile, key: `tile-${++keys}` })));
}

/** Reading order: top to bottom, then left to right. */
function byPosition(a: Tile, b: Tile): number {
  return a.y - b.y || a.x - b.x;
}

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, Math.round(value)));
}

function itemOf(tile: BoardTile): LayoutItem {
  const w = clamp(tile.w, MIN_W, COLUMNS);
  return { i: tile.key, x: clamp(tile.x, 0, COLUMNS - w), y: Math.max(0, tile.y), w,
    h: clamp(tile.h, MIN_H, MAX_H), minW: MIN_W, minH: MIN_H, maxH: MAX_H };
}

/** The tiles at the places `layout` gives them (the same array when nothing moved). */
function placed(tiles: BoardTile[], layout: Layout): BoardTile[] {
  const at = new Map(layout.map((item) => [item.i, item]));
  let changed = false;
  const next = tiles.map((tile) => {
    const item = at.get(tile.key);
    if (!item || (item.x === tile.x && item.y === tile.y && item.w === tile.w
      && item.h === tile.h)) return tile;
    changed = true;
    return { ...tile, x: item.x, y: item.y, w: item.w, h: item.h };
  });
  return changed ? next : tiles;
}

/** Tiles within the grid and packed upwards without overlaps, as the grid shows them. */
export function compactTiles(tiles: BoardTile[]): BoardTile[] {
  return placed(tiles, verticalCompactor.compact(tiles.map(itemOf), COLUMNS));
}

/** Swap a tile's place with the one before (-1) or after (+1) it in reading order: what a
 * keyboard does instead of dragging. */
export function moveTile(tiles: BoardTile[], key: string, step: -1 | 1): BoardTile[] {
  const order = [...tiles].sort(byPosition);
  const i = order.findIndex((tile) => tile.key === key);
  const a = order[i];
  const b = order[i + step];
  if (!a || !b) return tiles;
  return compactTiles(tiles.map((tile) => {
    if (tile.key === a.key) return { ...tile, x: b.x, y: b.y };
    if (tile.key === b.key) return { ...tile, x: a.x, y: a.y };
    return tile;
  }));
}

function overlaps(a: Tile, b: Tile): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** A tile's new size from the keyboard: it keeps its place in reading order, going below any
 * earlier tile it would now cover, and the tiles after it make room. */
export function resizeTile(tiles: BoardTile[], key: string, w: number, h: number): BoardTile[] {
  const order = [...tiles].sort(byPosition);
  const at = order.findIndex((tile) => tile.key === key);
  const old = order[at];
  if (!old) return tiles;
  const width = clamp(w, MIN_W, COLUMNS);
  const resized = { ...old, w: width, h: clamp(h, MIN_H, MAX_H),
    x: Math.min(old.x, COLUMNS - width) };
  const before = order.slice(0, at);
  for (let over = before.filter((tile) => overlaps(tile, resized)); over.length;
    over = before.filter((tile) => overlaps(tile, resized))) {
    resized.y = Math.max(...over.map((tile) => tile.y + tile.h));
  }
  return compactTiles(tiles.map((tile) => (tile.key === key ? resized : tile)));
}

/** What the API stores: `{insight_id, x, y, w, h}` in reading order. */
export function savedTiles(tiles: BoardTile[]): Tile[] {
  return [...tiles].sort(byPosition).map(({ insight_id, x, y, w, h }) => ({ insight_id, x, y, w, h }));
}

function sameRange(a: DateRange | null, b: DateRange | null): boolean {
  if (a === null || b === null) return a === b;
  return a.last_days === b.last_days && a.start === b.start && a.end === b.end;
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

function TileCard({ tile, range, editing, fill, onResize, onRemove, onMove }: {
  tile: BoardTile; range: DateRange | null; editing: boolean; fill: boolean;
  onResize: (w: number, h: number) => void; onRemove: () => void;
  onMove: (step: -1 | 1) => void;
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
      title={(
        <Space size={6}>
          {editing ? <HolderOutlined style={{ cursor: 'move', color: '#8c8c8c' }} /> : null}
          <Link to={`${base}/insights/${tile.insight_id}`}>{tile.insight.name}</Link>
        </Space>
      )}
      extra={editing ? (
        <Space size={4}>
          <Button size="small" icon={<ArrowLeftOutlined />} aria-label={t('dashboards.moveUp')}
            title={t('dashboards.moveUp')} onClick={() => onMove(-1)} />
          <Button size="small" icon={<ArrowRightOutlined />} aria-label={t('dashboards.moveDown')}
            title={t('dashboards.moveDown')} onClick={() => onMove(1)} />
          <InputNumber size="small" min={MIN_W} max={COLUMNS} value={tile.w} style={{ width: 56 }}
            aria-label={t('dashboards.width')} title={t('dashboards.width')}
            onChange={(w) => onResize(w ?? tile.w, tile.h)} />
          <InputNumber size="small" min={MIN_H} max={MAX_H} value={tile.h} style={{ width: 56 }}
            aria-label={t('dashboards.height')} title={t('dashboards.height')}
            onChange={(h) => onResize(tile.w, h ?? tile.h)} />
          <Button size="small" danger icon={<DeleteOutlined />} aria-label={t('dashboards.remove')}
            title={t('dashboards.remove')} onClick={onRemove} />
        </Space>
      ) : null}
      style={fill ? { height: '100%', display: 'flex', flexDirection: 'column' } : undefined}
      styles={{ header: editing ? { cursor: 'move' } : undefined,
        body: fill ? { flex: 1, minHeight: 0, overflow: 'auto' }
          : { height: tile.h * ROW_PX, overflow: 'auto' } }}
    >
      <ErrorAlert error={query.error} onRetry={() => void query.rerun()} />
      {query.loading && !query.data ? <Loading /> : null}
      {query.data ? (
        <BreakdownNames spec={spec}><ResultView result={query.data} compact /></BreakdownNames>
      ) : null}
    </Card>
  );
}

const GRID = { cols: COLUMNS, rowHeight: ROW_PX, margin: [GAP, GAP] as [number, number],
  containerPadding: [0, 0] as [number, number] };

/** The tiles on a 12-column grid: dragged by their title and resized by their corner while
 * editing. */
function TileGrid({ tiles, range, editing, setTiles }: {
  tiles: BoardTile[]; range: DateRange | null; editing: boolean;
  setTiles: Dispatch<SetStateAction<BoardTile[]>>;
}) {
  // Measured before the first layout, so a phone never flashes a 12-column grid.
  const { width, containerRef, mounted } = useContainerWidth({ measureBeforeMount: true });
  const layout = useMemo(() => tiles.map(itemOf), [tiles]);
  const drag = useMemo(() => ({ enabled: editing, handle: '.ant-card-head',
    cancel: 'a, button, input, .ant-input-number' }), [editing]);
  const resize = useMemo(() => ({ enabled: editing }), [editing]);
  const onLayoutChange = useCallback(
    (next: Layout) => setTiles((current) => placed(current, next)), [setTiles]);
  const card = (tile: BoardTile, fill: boolean) => (
    <TileCard tile={tile} range={range} editing={editing} fill={fill}
      onResize={(w, h) => setTiles((current) => resizeTile(current, tile.key, w, h))}
      onRemove={() => setTiles((current) => compactTiles(
        current.filter((x) => x.key !== tile.key)))}
      onMove={(step) => setTiles((current) => moveTile(current, tile.key, step))} />
  );
  return (
    // React 18's ref type does not take the hook's nullable one; it is the same object.
    <div ref={containerRef as RefObject<HTMLDivElement>}>
      {!mounted ? null : width < NARROW_PX ? (
        <Space direction="vertical" size={GAP} style={{ width: '100%' }}>
          {[...tiles].sort(byPosition).map((tile) => <div key={tile.key}>{card(tile, false)}</div>)}
        </Space>
      ) : (
        <ReactGridLayout width={width} layout={layout} gridConfig={GRID} dragConfig={drag}
          resizeConfig={resize} onLayoutChange={onLayoutChange}>
          {tiles.map((tile) => <div key={tile.key}>{card(tile, true)}</div>)}
        </ReactGridLayout>
      )}
    </div>
  );
}

export function DashboardPage() {
  const { project } = useProject();
  const { id = '' } = useParams();
  const path = projectPath(project.name, `/dashboards/${encodeURIComponent(id)}`);
  const dashboard = useGet<Dashboard>(path);
  if (dashboard.loading && !dashboard.data) return <Loading />;
  if (!dashboard.data) return <ErrorAlert error={dashboard.error} onRetry={dashboard.reload} />;
  return <Board key={dashboard.data.id} data={dashboard.data} path={path}
    onSaved={dashboard.setData} />;
}

function Board({ data, path, onSaved }: {
  data: Dashboard; path: string; onSaved: (saved: Dashboard) => void;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { project } = useProject();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const insights = useGet<Insight[]>(projectPath(project.name, '/insights'));
  const writable = can.writeInsights(project.role);
  const [editing, setEditing] = useState(() => writable && params.get('edit') === '1');
  const [tiles, setTiles] = useState(() => boardTiles(data.tiles));
  // The saved range, changed by anyone for their view; only admins and analysts save it.
  const [range, setRange] = useState<DateRange | null>(data.date_range);
  const [adding, setAdding] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const rangeChanged = !sameRange(range, data.date_range);

  const put = async (body: object): Promise<Dashboard | null> => {
    setError(null);
    setBusy(true);
    try {
      const saved = await api.put<Dashboard>(path, body);
      onSaved(saved);
      setRange(saved.date_range);
      return saved;
    } catch (exc) {
      setError(exc);
      return null;
    } finally {
      setBusy(false);
    }
  };
  const save = async () => {
    const saved = await put({ name: data.name, description: data.description,
      tiles: savedTiles(tiles), date_range: range });
    if (!saved) return;
    setTiles(boardTiles(saved.tiles));
    setEditing(false);
    message.success(t('save.updated', { name: saved.name }));
  };
  const saveRange = async () => {
    if (await put({ date_range: range })) message.success(t('dashboards.rangeSaved'));
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
    const bottom = Math.max(0, ...tiles.map((tile) => tile.y + tile.h));
    setTiles(compactTiles([...tiles, { insight_id: insight.id, insight, key: `tile-${++keys}`,
      x: 0, y: bottom, w: insight.kind === 'overview' ? COLUMNS : 6, h: 3 }]));
    setAdding(null);
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
          <Checkbox checked={range !== null} data-testid="dashboard-range-all"
            title={t(range ? 'dashboards.rangeHint' : 'dashboards.rangeOwn')}
            onChange={(e) => setRange(e.target.checked ? data.date_range ?? DEFAULT_RANGE : null)}>
            {t('dashboards.rangeAll')}
          </Checkbox>
          {range ? (
            <span title={t('dashboards.rangeHint')}>
              <DateRangeSelect value={range} onChange={setRange} testId="dashboard-range" />
            </span>
          ) : null}
          {rangeChanged && !editing && writable ? (
            <>
              <Button type="primary" loading={busy} onClick={() => void saveRange()}
                data-testid="save-dashboard-range">{t('dashboards.saveRange')}</Button>
              <Button onClick={() => setRange(data.date_range)}
                data-testid="reset-dashboard-range">{t('dashboards.resetRange')}</Button>
            </>
          ) : null}
          {rangeChanged && !writable ? (
            <Typography.Text type="secondary" data-testid="dashboard-range-unsaved">
              {t('dashboards.rangeViewOnly')}
            </Typography.Text>
          ) : null}
          {writable && !editing ? (
            <Button icon={<EditOutlined />} onClick={() => setEditing(true)}
              data-testid="edit-dashboard">{t('dashboards.edit')}</Button>
          ) : null}
          {writable && editing ? (
            <>
              <Button type="primary" loading={busy} onClick={() => void save()}
                data-testid="save-dashboard">{t('dashboards.save')}</Button>
              <Button onClick={() => { setEditing(false); setTiles(boardTiles(data.tiles)); }}>
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
            <Typography.Text type="secondary">{t('dashboards.dragHint')}</Typography.Text>
          </Space>
        </Card>
      ) : null}
      {tiles.length === 0 ? <NoData text={t('dashboards.noTiles')} />
        : <TileGrid tiles={tiles} range={range} editing={editing} setTiles={setTiles} />}
    </div>
  );
}
