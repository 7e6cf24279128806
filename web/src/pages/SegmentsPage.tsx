import {
  Alert, App, Button, Card, Col, Form, Input, InputNumber, Popconfirm, Row, Select, Space, Spin,
  Result, Statistic, Table, Tag, Tooltip, Typography, Upload,
} from 'antd';
import {
  DeleteOutlined, DownloadOutlined, PlusOutlined, ReloadOutlined, SaveOutlined, UploadOutlined,
} from '@ant-design/icons';
import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, ApiError, errorFrom, qs } from '../api/client';
import { useGet } from '../api/hooks';
import { segmentsPath } from '../api/segments';
import type {
  Segment, SegmentDefinition, SegmentHistoryPoint, SegmentInput, SegmentMembers, SegmentRefresh,
  StaticUpload,
} from '../api/segments';
import type { Me } from '../api/types';
import { can, useProject } from '../auth/project';
import { Chart } from '../charts/Chart';
import { xyOption } from '../charts/options';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import { TreeEditor } from '../segments/TreeEditor';
import { buildDefinition, defaultTree, draftDefinition, sameDefinition } from '../segments/tree';
import type { GroupDraft } from '../segments/tree';
import { useLivePreview } from '../segments/useLivePreview';

const MEMBERS_PAGE = 20;
const STATIC_CARD = 'segment-static-list';

/** Replacing a long static list: the static list card's file picker. */
function chooseCsv() {
  const card = document.getElementById(STATIC_CARD);
  card?.scrollIntoView?.({ behavior: 'smooth', block: 'center' });
  card?.querySelector<HTMLInputElement>('input[type=file]')?.click();
}
const DEFAULT_MINUTES = 60;

const SPARK_POINTS = 60;

/** Size over time as a tiny line, drawn as SVG: one per row of the list, no chart library.
 * The last SPARK_POINTS refreshes; `version` changes when the segment was refreshed here. */
function Sparkline({ project, id, version }: { project: string; id: number; version: number }) {
  const history = useGet<SegmentHistoryPoint[]>(segmentsPath(project,
    `/${id}/history${qs({ v: version || undefined })}`));
  const found = (history.data ?? []).slice(-SPARK_POINTS).map((h) => h.size);
  if (!found.length) return <span style={{ color: '#bfbfbf' }}>—</span>;
  const sizes = found.length === 1 ? [found[0]!, found[0]!] : found; // one refresh: flat
  const width = 96;
  const height = 24;
  let low = sizes[0]!;
  let high = sizes[0]!;
  for (const s of sizes) {
    if (s < low) low = s;
    if (s > high) high = s;
  }
  const span = high - low || 1;
  const points = sizes.map((s, i) => `${(i / (sizes.length - 1)) * width},`
    + `${height - 2 - ((s - low) / span) * (height - 4)}`).join(' ');
  return (
    <svg width={width} height={height} data-testid={`segment-spark-${id}`} aria-hidden>
      <polyline points={points} fill="none" stroke="#1677ff" strokeWidth={1.5} />
    </svg>
  );
}

function StatusTag({ segment }: { segment: Pick<Segment, 'last_refresh'> }) {
  const { t } = useI18n();
  const last = segment.last_refresh;
  if (!last) return <Tag>{t('segments.neverRefreshed')}</Tag>;
  const ok = last.status === 'ok';
  const tag = (
    <Tag color={ok ? 'green' : last.status === 'failed' ? 'red' : 'blue'}
      data-testid="segment-status">
      {t(ok ? 'segments.status.ok' : last.status === 'failed' ? 'segments.status.failed'
        : 'segments.status.running')}
    </Tag>
  );
  return last.error ? <Tooltip title={last.error}>{tag}</Tooltip> : tag;
}

async function refreshNow(project: string, id: number): Promise<SegmentRefresh> {
  return api.post<SegmentRefresh>(segmentsPath(project, `/${id}/refresh`));
}

/** `/p/:project/segments`: the saved segments with size, trend and last refresh. */
export function SegmentsPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const navigate = useNavigate();
  const list = useGet<Segment[]>(segmentsPath(project.name));
  const [busy, setBusy] = useState<number | null>(null);
  // Refreshes made here, by segment: its sparkline is read again after each.
  const [versions, setVersions] = useState<Record<number, number>>({});
  const writer = can.writeInsights(project.role);
  const base = `/p/${encodeURIComponent(project.name)}`;

  const refresh = async (id: number) => {
    setBusy(id);
    try {
      const record = await refreshNow(project.name, id);
      if (record.status === 'failed') message.error(record.error ?? t('segments.status.failed'));
      else message.success(t('segments.refreshed', { n: fmt.number(record.size ?? 0, 0) }));
      setVersions((current) => ({ ...current, [id]: (current[id] ?? 0) + 1 }));
      list.reload();
    } catch (exc) {
      message.error(exc instanceof Error ? exc.message : String(exc));
    } finally {
      setBusy(null);
    }
  };
  const remove = async (id: number) => {
    try {
      await api.del(segmentsPath(project.name, `/${id}`));
      list.reload();
    } catch (exc) {
      // 409: another segment refers to it; the server's message names which.
      message.error(exc instanceof Error ? exc.message : String(exc));
    }
  };

  return (
    <div data-testid="page-segments">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('segments.title')}</Typography.Title>
        {writer ? (
          <Button type="primary" icon={<PlusOutlined />} data-testid="new-segment"
            onClick={() => navigate(`${base}/segments/new`)}>{t('segments.new')}</Button>
        ) : null}
      </Space>
      <ErrorAlert error={list.error} onRetry={list.reload} />
      <Table<Segment>
        data-testid="segments-table"
        rowKey="id"
        loading={list.loading}
        dataSource={list.data ?? []}
        pagination={false}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: <NoData text={t('segments.empty')} /> }}
        columns={[
          { title: t('segments.name'), dataIndex: 'name',
            render: (name: string, row) => (
              <Link to={`${base}/segments/${row.id}`} data-testid={`segment-link-${row.id}`}>
                {name}
              </Link>
            ) },
          { title: t('common.description'), dataIndex: 'description',
            render: (d: string | null) => (
              <Typography.Text type="secondary" ellipsis style={{ maxWidth: 280 }}>
                {d || '—'}
              </Typography.Text>
            ) },
          { title: t('segments.size'), dataIndex: 'size', align: 'right',
            render: (size: number | null, row) => (
              <span data-testid={`segment-size-${row.id}`}>
                {size === null ? '—' : fmt.number(size, 0)}
              </span>
            ) },
          { title: t('segments.trend'), key: 'trend',
            render: (_: unknown, row) => (
              <Sparkline project={project.name} id={row.id} version={versions[row.id] ?? 0} />
            ) },
          { title: t('segments.lastRefresh'), key: 'refresh',
            render: (_: unknown, row) => (
              <Space>
                <StatusTag segment={row} />
                <span>{row.last_refresh?.at ? fmt.dateTime(row.last_refresh.at) : ''}</span>
              </Space>
            ) },
          ...(writer ? [{
            title: t('common.actions'), key: 'actions',
            render: (_: unknown, row: Segment) => (
              <Space>
                <Button size="small" icon={<ReloadOutlined />} loading={busy === row.id}
                  data-testid={`segment-refresh-${row.id}`}
                  onClick={() => void refresh(row.id)}>{t('segments.refreshNow')}</Button>
                <Popconfirm title={t('segments.confirmDelete')} okText={t('common.delete')}
                  cancelText={t('common.cancel')} onConfirm={() => void remove(row.id)}>
                  <Button size="small" danger icon={<DeleteOutlined />}
                    data-testid={`segment-delete-${row.id}`} aria-label={t('common.delete')} />
                </Popconfirm>
              </Space>
            ),
          }] : []),
        ]}
      />
    </div>
  );
}

/** The live count of the definition being edited, or the server's error naming the field. A
 * saved segment's definition as it was loaded is not previewed (a static list may be too
 * large to send): its size as of the last refresh shows. */
function LiveCount({ project, definition, saved }: {
  project: string; definition: SegmentDefinition | null; saved: Segment | null;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const unchanged = saved !== null && definition !== null
    && sameDefinition(definition, saved.definition);
  const preview = useLivePreview(project, unchanged ? null : definition);
  const count = unchanged ? saved.size ?? undefined : preview.count;
  return (
    <Card size="small" data-testid="segment-live" style={{ marginBottom: 16 }}>
      <Space align="center" wrap>
        <Statistic title={t(unchanged ? 'segments.savedSize' : 'segments.liveCount')}
          value={count === undefined ? '—' : fmt.number(count, 0)}
          valueRender={(node) => (
            <span data-testid="segment-live-count"
              data-loading={preview.loading ? 'true' : 'false'}>{node}</span>
          )} />
        {preview.loading ? <Spin size="small" data-testid="segment-live-loading" /> : null}
        {preview.empty && !unchanged ? (
          <Typography.Text type="secondary">{t('segments.addToCount')}</Typography.Text>
        ) : null}
      </Space>
      {preview.error ? (
        <Alert type="warning" showIcon style={{ marginTop: 8 }} data-testid="segment-live-error"
          message={preview.error.message}
          description={preview.error.field ? t('error.field', { field: preview.error.field })
            : undefined} />
      ) : null}
    </Card>
  );
}

interface Fields {
  name: string;
  description: string;
  refresh_minutes: number;
}

/** `/p/:project/segments/new` and `/p/:project/segments/:id`: the builder, and for a saved
 * segment its size over time, members, export and upload. A new editor for each segment (one
 * segment's form never carries over to the next); an id that is not a number: not found. */
export function SegmentPage() {
  const { t } = useI18n();
  const { project } = useProject();
  const { segmentId } = useParams();
  if (segmentId !== undefined && !/^\d+$/.test(segmentId)) {
    return (
      <div data-testid="segment-not-found">
        <Result status="404" title={t('app.notFound')}
          extra={<Link to={`/p/${encodeURIComponent(project.name)}/segments`}>
            {t('segments.title')}</Link>} />
      </div>
    );
  }
  const id = segmentId === undefined ? null : Number(segmentId);
  return <SegmentEditor key={segmentId ?? 'new'} id={id} />;
}

function SegmentEditor({ id }: { id: number | null }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { project } = useProject();
  const navigate = useNavigate();
  const saved = useGet<Segment>(id === null ? null : segmentsPath(project.name, `/${id}`));
  const [fields, setFields] = useState<Fields>(
    { name: '', description: '', refresh_minutes: DEFAULT_MINUTES });
  const [tree, setTree] = useState<GroupDraft>(defaultTree);
  const [loadedId, setLoadedId] = useState<number | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const writer = can.writeInsights(project.role);
  const base = `/p/${encodeURIComponent(project.name)}`;
  const definition = useMemo(() => buildDefinition(tree), [tree]);
  // The saved segment the form was filled from (null: a new one, or not loaded yet).
  const loaded = saved.data && saved.data.id === loadedId ? saved.data : null;

  // The saved segment fills the form once; later reloads (a refresh) keep the edits. Filled
  // while rendering, so the default tree is never shown (nor previewed) for a saved segment.
  if (saved.data && saved.data.id !== loadedId) {
    setFields({ name: saved.data.name, description: saved.data.description ?? '',
      refresh_minutes: saved.data.refresh_minutes });
    setTree(draftDefinition(saved.data.definition));
    setLoadedId(saved.data.id);
  }

  if (id !== null && saved.loading && !saved.data) return <Loading />;
  if (id !== null && saved.error && !saved.data) {
    return <ErrorAlert error={saved.error} onRetry={saved.reload} />;
  }

  const save = async () => {
    setSaveError(null);
    if (!definition) {
      // Nothing to save as the definition: saving would keep the old one and say saved.
      message.error(t('segments.needCondition'));
      return;
    }
    setSaving(true);
    const body: SegmentInput = { name: fields.name, description: fields.description,
      refresh_minutes: fields.refresh_minutes };
    // An unchanged definition stays out of the body: a static list can be larger than the
    // server takes in a request.
    if (!loaded || !sameDefinition(definition, loaded.definition)) body.definition = definition;
    try {
      if (id === null) {
        const created = await api.post<Segment>(segmentsPath(project.name), body);
        message.success(t('segments.saved'));
        navigate(`${base}/segments/${created.id}`);
      } else {
        const updated = await api.put<Segment>(segmentsPath(project.name, `/${id}`), body);
        saved.setData(updated);
        message.success(t('segments.saved'));
      }
    } catch (exc) {
      setSaveError(exc);
    } finally {
      setSaving(false);
    }
  };

  return (
    <div data-testid="page-segment">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>
          <Link to={`${base}/segments`}>{t('segments.title')}</Link>
          {' / '}
          {id === null ? t('segments.new') : saved.data?.name}
        </Typography.Title>
        {writer ? (
          <Button type="primary" icon={<SaveOutlined />} loading={saving}
            data-testid="segment-save" onClick={() => void save()}>{t('common.save')}</Button>
        ) : null}
      </Space>
      <ErrorAlert error={saveError} />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Form layout="vertical">
          <Row gutter={16}>
            <Col xs={24} md={8}>
              <Form.Item label={t('segments.name')} required>
                <Input data-testid="segment-name" value={fields.name} maxLength={200}
                  onChange={(e) => setFields({ ...fields, name: e.target.value })} />
              </Form.Item>
            </Col>
            <Col xs={24} md={10}>
              <Form.Item label={t('common.description')}>
                <Input data-testid="segment-description" value={fields.description}
                  onChange={(e) => setFields({ ...fields, description: e.target.value })} />
              </Form.Item>
            </Col>
            <Col xs={24} md={6}>
              <Form.Item label={t('segments.refreshEvery')}>
                <InputNumber data-testid="segment-refresh-minutes" min={5} max={10080}
                  style={{ width: '100%' }} value={fields.refresh_minutes}
                  addonAfter={t('segments.minutes')}
                  onChange={(v) => setFields({ ...fields, refresh_minutes: v ?? DEFAULT_MINUTES })} />
              </Form.Item>
            </Col>
          </Row>
        </Form>
      </Card>
      <Row gutter={16}>
        <Col xs={24} lg={18}>
          <Card size="small" title={t('segments.conditions')} style={{ marginBottom: 16 }}>
            <TreeEditor value={tree} onChange={setTree} selfId={id}
              onUpload={id !== null && writer && saved.data ? chooseCsv : undefined} />
          </Card>
        </Col>
        <Col xs={24} lg={6}>
          <LiveCount project={project.name} definition={definition} saved={loaded} />
        </Col>
      </Row>
      {id !== null && saved.data ? (
        <SegmentDetail segment={saved.data} writer={writer}
          onChanged={(next) => {
            if (!next) { saved.reload(); return; }
            // A new definition (an uploaded list) replaces what the form shows.
            saved.setData(next);
            setLoadedId(null);
          }} />
      ) : null}
    </div>
  );
}

function SegmentDetail({ segment, writer, onChanged }: {
  segment: Segment; writer: boolean; onChanged: (segment?: Segment) => void;
}) {
  const { t, lang } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const [offset, setOffset] = useState(0);
  const [tick, setTick] = useState(0);
  const [refreshing, setRefreshing] = useState(false);
  const [traits, setTraits] = useState<string[]>(['email', 'name']);
  const [upload, setUpload] = useState<StaticUpload | null>(null);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const path = (rest: string) => segmentsPath(project.name, `/${segment.id}${rest}`);
  const history = useGet<SegmentHistoryPoint[]>(path(`/history${qs({ v: tick || undefined })}`));
  const members = useGet<SegmentMembers>(path(`/members${qs({ limit: MEMBERS_PAGE, offset,
    v: tick || undefined })}`));
  const base = `/p/${encodeURIComponent(project.name)}`;

  const option = useMemo(() => {
    const points = history.data ?? [];
    return xyOption(points.map((p) => fmt.dateTime(p.at)), [
      { name: t('segments.size'), data: points.map((p) => p.size) },
      { name: t('segments.entered'), data: points.map((p) => p.entered) },
      { name: t('segments.exited'), data: points.map((p) => p.exited) },
    ], 'line', lang);
  }, [history.data, fmt, t, lang]);

  const refresh = async () => {
    setRefreshing(true);
    try {
      const record = await refreshNow(project.name, segment.id);
      if (record.status === 'failed') message.error(record.error ?? t('segments.status.failed'));
      else message.success(t('segments.refreshed', { n: fmt.number(record.size ?? 0, 0) }));
      setTick((n) => n + 1);
      onChanged();
    } catch (exc) {
      message.error(exc instanceof Error ? exc.message : String(exc));
    } finally {
      setRefreshing(false);
    }
  };

  // The CSV goes as it is (text/csv); the session's CSRF token is read fresh for it, as
  // api/client.ts only sends JSON bodies.
  const sendCsv = async (file: File) => {
    setUploadError(null);
    setUpload(null);
    try {
      const me = await api.get<Me>('/api/auth/me');
      const response = await fetch(path('/static'), {
        method: 'POST', body: await file.text(), credentials: 'same-origin',
        headers: { 'Content-Type': 'text/csv', Accept: 'application/json',
          'X-CSRF-Token': me.csrf_token },
      });
      if (!response.ok) throw await errorFrom(response);
      const answer = await response.json() as StaticUpload;
      setUpload(answer);
      onChanged(answer.segment);
    } catch (exc) {
      setUploadError(exc instanceof ApiError ? exc : new ApiError(0, 'error', String(exc)));
    }
  };

  const exportHref = path(`/export.csv${qs({ traits: traits.join(',') })}`);
  return (
    <>
      <Card size="small" title={t('segments.sizeHistory')} style={{ marginBottom: 16 }}
        extra={
          <Space wrap>
            <Statistic value={segment.size === null ? '—' : fmt.number(segment.size, 0)}
              valueStyle={{ fontSize: 18 }}
              valueRender={(node) => <span data-testid="segment-size">{node}</span>}
              prefix={<span style={{ fontSize: 13, color: '#8c8c8c' }}>{t('segments.size')}</span>} />
            <StatusTag segment={segment} />
            {segment.last_refresh?.at ? (
              <Typography.Text type="secondary">{fmt.dateTime(segment.last_refresh.at)}</Typography.Text>
            ) : null}
            {writer ? (
              <Button icon={<ReloadOutlined />} loading={refreshing}
                data-testid="segment-refresh-now" onClick={() => void refresh()}>
                {t('segments.refreshNow')}
              </Button>
            ) : null}
          </Space>
        }>
        <ErrorAlert error={history.error} onRetry={history.reload} />
        {(history.data ?? []).length ? (
          <Chart option={option} height={260} testId="segment-history-chart" />
        ) : history.loading ? <Loading /> : <NoData text={t('segments.noHistory')} />}
      </Card>
      <Card size="small" title={t('segments.members')} style={{ marginBottom: 16 }}
        extra={
          <Space wrap>
            <Select mode="tags" style={{ minWidth: 240 }} value={traits}
              data-testid="segment-export-traits" placeholder={t('segments.traits')}
              tokenSeparators={[',']} open={false} onChange={setTraits} />
            <Button icon={<DownloadOutlined />} href={exportHref} data-testid="segment-export">
              {t('segments.exportCsv')}
            </Button>
          </Space>
        }>
        <ErrorAlert error={members.error} onRetry={members.reload} />
        <Table
          data-testid="segment-members"
          rowKey={(row) => String(row.person_id)}
          loading={members.loading}
          dataSource={members.data?.persons ?? []}
          pagination={false}
          size="small"
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: <NoData text={t('segments.noMembers')} /> }}
          columns={[
            { title: t('persons.person'), dataIndex: 'display',
              render: (display: string, row) => (
                <Link to={`${base}/persons/${encodeURIComponent(String(row.person_id))}`}
                  data-testid={`segment-member-${row.person_id}`}>{display}</Link>
              ) },
            { title: t('persons.ids'), dataIndex: 'distinct_ids',
              render: (ids: string[]) => ids.slice(0, 3).map((d) => <Tag key={d}>{d}</Tag>) },
            { title: t('persons.lastSeen'), dataIndex: 'last_seen',
              render: (v: string | null) => fmt.dateTime(v) },
            { title: t('persons.events'), dataIndex: 'event_count', align: 'right',
              render: (v: number) => fmt.number(v, 0) },
          ]}
        />
        <Space style={{ marginTop: 12 }}>
          <Button disabled={offset === 0} data-testid="segment-members-prev"
            onClick={() => setOffset(Math.max(0, offset - MEMBERS_PAGE))}>
            {t('segments.previous')}
          </Button>
          <Button disabled={!members.data?.has_more} data-testid="segment-members-next"
            onClick={() => setOffset(offset + MEMBERS_PAGE)}>{t('segments.next')}</Button>
        </Space>
      </Card>
      {writer ? (
        <Card size="small" title={t('segments.staticList')} style={{ marginBottom: 16 }}
          id={STATIC_CARD}>
          <Typography.Paragraph type="secondary">{t('segments.staticHint')}</Typography.Paragraph>
          <Upload accept=".csv,text/csv,text/plain" showUploadList={false}
            beforeUpload={(file) => { void sendCsv(file); return false; }}>
            <Button icon={<UploadOutlined />} data-testid="segment-upload">
              {t('segments.uploadCsv')}
            </Button>
          </Upload>
          <div style={{ marginTop: 8 }}>
            <ErrorAlert error={uploadError} />
            {upload ? (
              <Alert type={upload.unknown.length ? 'warning' : 'success'} showIcon
                data-testid="segment-upload-result"
                message={t('segments.uploaded', { persons: fmt.number(upload.persons, 0),
                  unknown: fmt.number(upload.unknown.length, 0) })}
                description={upload.unknown.length ? upload.unknown.slice(0, 20)
                  .map((u) => t('segments.unknownLine', { line: u.line, id: u.id })).join('; ')
                  : undefined} />
            ) : null}
          </div>
        </Card>
      ) : null}
    </>
  );
}
