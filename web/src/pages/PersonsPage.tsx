import {
  App, Button, Card, Col, Collapse, Descriptions, Input, Popconfirm, Row, Space, Table, Tag,
  Timeline, Typography,
} from 'antd';
import { ArrowLeftOutlined, UndoOutlined } from '@ant-design/icons';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api, projectPath, qs } from '../api/client';
import { useGet } from '../api/hooks';
import type { Merge, PersonEvent, PersonEvents, PersonPage, PersonProfile } from '../api/types';
import { can, useProject } from '../auth/project';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';

const PAGE = 50;

export function PersonsPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [params, setParams] = useSearchParams();
  const search = params.get('search') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [text, setText] = useState(search);
  const page = useGet<PersonPage>(projectPath(project.name,
    '/persons' + qs({ search: search || undefined, limit: PAGE, offset })));
  const base = `/p/${encodeURIComponent(project.name)}`;
  const go = (next: { search?: string; offset?: number }) => {
    const s = next.search ?? search;
    const o = next.offset ?? 0;
    setParams(Object.fromEntries(Object.entries({ search: s, offset: o ? String(o) : '' })
      .filter(([, v]) => v)));
  };
  return (
    <div data-testid="page-persons">
      <Typography.Title level={3}>{t('persons.title')}</Typography.Title>
      <Input.Search
        data-testid="persons-search"
        allowClear
        enterButton={t('common.search')}
        placeholder={t('persons.search')}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onSearch={(value) => go({ search: value.trim(), offset: 0 })}
        style={{ maxWidth: 480, marginBottom: 16 }}
      />
      <ErrorAlert error={page.error} onRetry={page.reload} />
      <Table
        data-testid="persons-table"
        rowKey={(row) => String(row.person_id)}
        loading={page.loading}
        dataSource={page.data?.persons ?? []}
        pagination={false}
        locale={{ emptyText: <NoData text={t('persons.empty')} /> }}
        scroll={{ x: 'max-content' }}
        columns={[
          { title: t('persons.person'), dataIndex: 'display',
            render: (display: string, row) => (
              <Link to={`${base}/persons/${encodeURIComponent(String(row.person_id))}`}
                data-testid={`person-link-${row.person_id}`}>{display}</Link>
            ) },
          { title: t('persons.ids'), dataIndex: 'distinct_ids',
            render: (ids: string[]) => (
              <Space size={[0, 4]} wrap>
                {ids.slice(0, 3).map((id) => <Tag key={id}>{id}</Tag>)}
                {ids.length > 3 ? <Tag>+{ids.length - 3}</Tag> : null}
              </Space>
            ) },
          { title: t('persons.firstSeen'), dataIndex: 'first_seen',
            render: (v: string | null) => fmt.dateTime(v) },
          { title: t('persons.lastSeen'), dataIndex: 'last_seen',
            render: (v: string | null) => fmt.dateTime(v) },
          { title: t('persons.events'), dataIndex: 'event_count', align: 'right',
            render: (v: number) => fmt.number(v) },
        ]}
      />
      <Space style={{ marginTop: 12 }}>
        <Button disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - PAGE) })}>
          {t('persons.prev')}
        </Button>
        <Button disabled={!page.data?.has_more} data-testid="persons-next"
          onClick={() => go({ offset: offset + PAGE })}>{t('persons.more')}</Button>
      </Space>
    </div>
  );
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The person's events, newest first, one page more whenever the end comes into view. */
function EventTimeline({ personId }: { personId: string }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [events, setEvents] = useState<PersonEvent[]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined); // undefined: first page
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const busy = useRef(false);

  const load = useCallback(async (before: string | null | undefined) => {
    if (busy.current || before === null) return;
    busy.current = true;
    setLoading(true);
    setError(null);
    try {
      const page = await api.get<PersonEvents>(projectPath(project.name,
        `/persons/${encodeURIComponent(personId)}/events` + qs({ before: before ?? undefined,
          limit: 50 })));
      setEvents((current) => (before === undefined ? page.events : [...current, ...page.events]));
      setNext(page.next_before);
    } catch (exc) {
      setError(exc);
    } finally {
      busy.current = false;
      setLoading(false);
    }
  }, [project.name, personId]);

  useEffect(() => {
    setEvents([]);
    setNext(undefined);
    void load(undefined);
  }, [load]);

  useEffect(() => {
    const node = sentinel.current;
    if (!node || typeof IntersectionObserver === 'undefined' || !next) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void load(next);
    }, { rootMargin: '200px' });
    observer.observe(node);
    return () => observer.disconnect();
  }, [next, load]);

  return (
    <Card size="small" title={t('persons.timeline')} data-testid="person-timeline"
      styles={{ body: { maxHeight: '78vh', overflowY: 'auto' } }}>
      <ErrorAlert error={error} onRetry={() => void load(next)} />
      {events.length === 0 && !loading && !error ? <NoData /> : null}
      <Timeline
        items={events.map((event) => ({
          key: event.uuid,
          children: (
            <div data-testid="timeline-event">
              <Space wrap>
                <Typography.Text strong>{event.event}</Typography.Text>
                <Typography.Text type="secondary">{fmt.dateTime(event.timestamp)}</Typography.Text>
                <Tag>{event.distinct_id}</Tag>
              </Space>
              {Object.keys(event.properties ?? {}).length ? (
                <Collapse ghost size="small" items={[{
                  key: 'p', label: t('persons.properties'),
                  children: (
                    <Descriptions size="small" column={1} bordered
                      items={Object.entries(event.properties).map(([k, v]) => ({
                        key: k, label: k, children: valueText(v) }))} />
                  ),
                }]} />
              ) : null}
            </div>
          ),
        }))}
      />
      <div ref={sentinel} />
      {loading ? <Loading /> : null}
      {next ? (
        <Button block onClick={() => void load(next)} data-testid="timeline-more">
          {t('persons.loadMore')}
        </Button>
      ) : events.length ? (
        <Typography.Text type="secondary">{t('persons.noMoreEvents')}</Typography.Text>
      ) : null}
    </Card>
  );
}

export function PersonProfilePage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const { personId = '' } = useParams();
  const path = projectPath(project.name, `/persons/${encodeURIComponent(personId)}`);
  const profile = useGet<PersonProfile>(path);
  const [error, setError] = useState<unknown>(null);
  const admin = can.admin(project.role);
  const undo = async (merge: Merge) => {
    setError(null);
    try {
      const updated = await api.post<PersonProfile>(`${path}/unmerge`, { merge_id: merge.id });
      message.success(t('persons.unmerged'));
      if (updated && typeof updated === 'object' && 'merges' in updated) profile.setData(updated);
      else profile.reload();
    } catch (exc) {
      setError(exc);
    }
  };
  const back = (
    <Link to={`/p/${encodeURIComponent(project.name)}/persons`}>
      <ArrowLeftOutlined /> {t('persons.back')}
    </Link>
  );
  if (profile.loading && !profile.data) return <Loading />;
  if (!profile.data) {
    return <div>{back}<ErrorAlert error={profile.error} onRetry={profile.reload} /></div>;
  }
  const p = profile.data;
  const display = String(p.traits.email ?? p.traits.name ?? p.distinct_ids[0] ?? p.person_id);
  return (
    <div data-testid="page-person">
      {back}
      <Typography.Title level={3} style={{ marginTop: 8 }} data-testid="person-title">
        {display}
      </Typography.Title>
      <ErrorAlert error={error} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={10}>
          <Space direction="vertical" style={{ width: '100%' }} size={16}>
            <Card size="small" title={t('persons.ids')}>
              <Space size={[4, 4]} wrap data-testid="person-ids">
                {p.distinct_ids.map((id) => <Tag key={id}>{id}</Tag>)}
              </Space>
              <Descriptions size="small" column={1} style={{ marginTop: 12 }} items={[
                { key: 'f', label: t('persons.firstSeen'), children: fmt.dateTime(p.first_seen) },
                { key: 'l', label: t('persons.lastSeen'), children: fmt.dateTime(p.last_seen) },
              ]} />
            </Card>
            <Card size="small" title={t('persons.traits')} data-testid="person-traits">
              {Object.keys(p.traits).length === 0 ? <NoData text={t('persons.noTraits')} /> : (
                <Descriptions size="small" column={1} bordered
                  items={Object.entries(p.traits).map(([k, v]) => ({
                    key: k, label: k, children: valueText(v) }))} />
              )}
            </Card>
            {p.first_touch && Object.keys(p.first_touch).length ? (
              <Card size="small" title={t('persons.firstTouch')}>
                <Descriptions size="small" column={1} bordered
                  items={Object.entries(p.first_touch).map(([k, v]) => ({
                    key: k, label: k, children: valueText(v) }))} />
              </Card>
            ) : null}
            <Card size="small" title={t('persons.merges')} data-testid="person-merges">
              <Table
                size="small"
                rowKey="id"
                pagination={false}
                dataSource={p.merges}
                locale={{ emptyText: <NoData text={t('persons.noMerges')} /> }}
                columns={[
                  { title: t('persons.kept'), dataIndex: 'kept_id' },
                  { title: t('persons.merged'), dataIndex: 'merged_id' },
                  { title: t('persons.at'), dataIndex: 'at', render: (v: string) => fmt.dateTime(v) },
                  { title: '', key: 'undo', render: (_: unknown, merge: Merge) => (
                    merge.undone_at ? (
                      <Typography.Text type="secondary">
                        {t('persons.undone', { at: fmt.dateTime(merge.undone_at) })}
                      </Typography.Text>
                    ) : admin ? (
                      <Popconfirm title={t('persons.confirmUndo', { merged: merge.merged_id })}
                        okText={t('common.yes')} cancelText={t('common.no')}
                        onConfirm={() => void undo(merge)}>
                        <Button size="small" icon={<UndoOutlined />}
                          data-testid={`unmerge-${merge.id}`}>{t('persons.undo')}</Button>
                      </Popconfirm>
                    ) : null
                  ) },
                ]}
              />
            </Card>
          </Space>
        </Col>
        <Col xs={24} xl={14}>
          <EventTimeline personId={personId} />
        </Col>
      </Row>
    </div>
  );
}
