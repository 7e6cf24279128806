import {
  App, Button, Card, Col, Collapse, Descriptions, Input, Popconfirm, Row, Select, Space, Table,
  Tag, Timeline, Typography,
} from 'antd';
import { ArrowLeftOutlined, UndoOutlined } from '@ant-design/icons';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api, projectPath, qs } from '../api/client';
import { useGet } from '../api/hooks';
import {
  COMPUTED_DATES, COMPUTED_KEYS, COMPUTED_MONEY, isMissing, RFM_LABELS,
} from '../api/people';
import type { PersonSegment, PersonTag, UserTag } from '../api/people';
import type { Merge, PersonEvent, PersonEvents, PersonPage, PersonProfile } from '../api/types';
import { can, useProject } from '../auth/project';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';
import type { MessageKey, T } from '../i18n';
import { STAGE_LABEL } from './LayersPage';

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

/** The person's tags (用户标签), with manual ones added and removed here. `ownId`: the shown
 * profile's own person number (a merged-away person's URL shows the survivor, whose number is
 * the one the tag is given to). */
function PersonTags({ personId, ownId }: { personId: string; ownId: number | string }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const held = useGet<PersonTag[]>(projectPath(project.name,
    `/persons/${encodeURIComponent(personId)}/tags`));
  const writer = can.writeInsights(project.role);
  const all = useGet<UserTag[]>(writer && !isMissing(held.error)
    ? projectPath(project.name, '/tags') : null);
  const [chosen, setChosen] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const choices = useMemo(() => {
    const have = new Set((held.data ?? []).map((tag) => tag.id));
    return (all.data ?? []).filter((tag) => tag.kind === 'manual' && !have.has(tag.id));
  }, [all.data, held.data]);
  const change = async (tagId: number, add: boolean) => {
    setError(null);
    setBusy(true);
    try {
      // Person numbers go as they came: the API reads them as ids, and large ones stay exact.
      const text = String(ownId);
      const id = /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text;
      const answer = await api.post<{ added?: number; removed?: number; unknown?: unknown[] }>(
        projectPath(project.name, `/tags/${tagId}/persons`),
        add ? { add: [id], remove: [] } : { add: [], remove: [id] });
      if (answer?.unknown?.length) {
        message.error(t('profile.tagUnknown', { id: text }));
      } else if ((add ? answer?.added : answer?.removed) === 0) {
        message.warning(t('profile.tagUnchanged'));
      } else {
        message.success(t(add ? 'profile.tagAdded' : 'profile.tagRemoved'));
        setChosen(null);
      }
      held.reload();
      all.reload();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };
  const base = `/p/${encodeURIComponent(project.name)}`;
  return (
    <Card size="small" title={t('profile.tags')} data-testid="person-tags-card"
      extra={<Link to={`${base}/tags`}>{t('profile.allTags')}</Link>}>
      {isMissing(held.error) ? <NoData text={t('tags.unavailable')} /> : (
        <ErrorAlert error={held.error ?? error} onRetry={held.error ? held.reload : undefined} />
      )}
      {held.loading && !held.data ? <Loading /> : null}
      {held.data ? (
        <Space size={[4, 8]} wrap data-testid="person-tags">
          {held.data.length === 0 ? (
            <Typography.Text type="secondary">{t('profile.noTags')}</Typography.Text>
          ) : held.data.map((tag) => (
            <Tag key={tag.id} color={tag.color ?? undefined} data-testid={`person-tag-${tag.id}`}
              closable={writer && tag.kind === 'manual'}
              title={tag.since ? t('profile.since', { at: fmt.dateTime(tag.since) }) : undefined}
              onClose={(e) => { e.preventDefault(); void change(tag.id, false); }}>
              {tag.name}{tag.kind === 'rule' ? ` · ${t('tags.rule')}` : ''}
            </Tag>
          ))}
        </Space>
      ) : null}
      {writer && held.data ? (
        <Space.Compact style={{ width: '100%', marginTop: 12 }}>
          <Select style={{ flex: 1 }} data-testid="person-tag-select" showSearch
            optionFilterProp="label" placeholder={t('profile.pickTag')}
            value={chosen ?? undefined} onChange={(v: number) => setChosen(v)}
            loading={all.loading}
            options={choices.map((tag) => ({ value: tag.id, label: tag.name }))} />
          <Button type="primary" disabled={chosen === null} loading={busy}
            data-testid="person-tag-add"
            onClick={() => { if (chosen !== null) void change(chosen, true); }}>
            {t('profile.addTag')}
          </Button>
        </Space.Compact>
      ) : null}
    </Card>
  );
}

/** The saved segments (用户分群) the person is a member of now. */
function PersonSegments({ personId }: { personId: string }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const found = useGet<PersonSegment[]>(projectPath(project.name,
    `/persons/${encodeURIComponent(personId)}/segments`));
  const base = `/p/${encodeURIComponent(project.name)}`;
  return (
    <Card size="small" title={t('profile.segments')} data-testid="person-segments">
      {isMissing(found.error) ? <NoData text={t('profile.segmentsUnavailable')} /> : (
        <ErrorAlert error={found.error} onRetry={found.reload} />
      )}
      {found.loading && !found.data ? <Loading /> : null}
      {found.data ? (found.data.length === 0 ? (
        <Typography.Text type="secondary">{t('profile.noSegments')}</Typography.Text>
      ) : (
        <Descriptions size="small" column={1} bordered items={found.data.map((s) => ({
          key: String(s.id),
          label: <Link to={`${base}/segments/${s.id}`}>{s.name}</Link>,
          children: s.since ? t('profile.since', { at: fmt.dateTime(s.since) }) : '—',
        }))} />
      )) : null}
    </Card>
  );
}

/** Computed properties ($orders, $revenue, $rfm_group, ...) where the profile carries them
 * (under `computed` or `computed_properties`); none when it does not (the screen then shows
 * what the profile itself has: first and last seen). */
export function computedOf(profile: PersonProfile): [string, unknown][] {
  const extra = profile as unknown as Record<string, unknown>;
  const given = extra.computed ?? extra.computed_properties;
  const source = given && typeof given === 'object' && !Array.isArray(given)
    ? given as Record<string, unknown> : {};
  const order = (k: string) => {
    const i = COMPUTED_KEYS.indexOf(k);
    return i < 0 ? COMPUTED_KEYS.length : i;
  };
  return Object.entries(source).sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));
}

const TIER_LABEL: Record<string, MessageKey> = {
  core: 'layers.tier.core', mass: 'layers.tier.mass',
};

/** A computed property's value as the profile shows it: stages, RFM groups and value tiers by
 * their names in the reader's language, instants in the project's time zone, money in the
 * project's currency, counts in the locale's digits. */
export function computedText(key: string, value: unknown, fmt: ReturnType<typeof useFormat>,
                             t: T): string {
  if (value === null || value === undefined || value === '') return '—';
  const text = String(value);
  if (key === '$lifecycle_stage' && text in STAGE_LABEL && text !== '') {
    return t(STAGE_LABEL[text]!);
  }
  if (key === '$rfm_group' && RFM_LABELS[text]) return RFM_LABELS[text][fmt.lang];
  if (key === '$value_tier' && TIER_LABEL[text]) return t(TIER_LABEL[text]);
  if (COMPUTED_DATES.includes(key)) return fmt.dateTime(text);
  if (typeof value === 'number') {
    return COMPUTED_MONEY.includes(key) ? fmt.money(value) : fmt.number(value);
  }
  return valueText(value);
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
  // Bumped by undoing a merge: the tags and segments cards read again (ids moved back).
  const [version, setVersion] = useState(0);
  const admin = can.admin(project.role);
  const undo = async (merge: Merge) => {
    setError(null);
    try {
      const updated = await api.post<PersonProfile>(`${path}/unmerge`, { merge_id: merge.id });
      message.success(t('persons.unmerged'));
      setVersion((n) => n + 1);
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
            <PersonTags key={`tags-${version}`} personId={personId} ownId={p.person_id} />
            <PersonSegments key={`segments-${version}`} personId={personId} />
            <Card size="small" title={t('profile.computed')} data-testid="person-computed">
              {computedOf(p).length === 0 ? (
                <Descriptions size="small" column={1} bordered items={[
                  { key: 'f', label: '$first_seen', children: fmt.dateTime(p.first_seen) },
                  { key: 'l', label: '$last_seen', children: fmt.dateTime(p.last_seen) },
                ]} />
              ) : (
                <Descriptions size="small" column={1} bordered
                  items={computedOf(p).map(([k, v]) => ({
                    key: k, label: k,
                    children: (
                      <span data-testid={`computed-${k}`}>{computedText(k, v, fmt, t)}</span>
                    ),
                  }))} />
              )}
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
