import {
  App, Button, Drawer, Form, Input, List, Modal, Popconfirm, Radio, Select, Space, Table, Tag,
  Typography,
} from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined, TeamOutlined } from '@ant-design/icons';
import { useEffect, useMemo, useState } from 'react';
import type { ButtonProps } from 'antd';
import { Link } from 'react-router-dom';
import { api, projectPath, qs } from '../api/client';
import { useGet } from '../api/hooks';
import { isMissing } from '../api/people';
import type { SegmentRef, TagBody, TagKind, TagPersons, UserTag } from '../api/people';
import { can, useProject } from '../auth/project';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading, NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';

/** Ant Design's preset tag colours, the choices a tag may take. */
export const TAG_COLORS = [
  'blue', 'green', 'gold', 'orange', 'red', 'magenta', 'purple', 'cyan', 'geekblue', 'lime',
  'volcano',
];

interface TagForm {
  name: string;
  description: string;
  color: string;
  kind: TagKind;
  segment_id: number | null;
}

/** The body a tag form sends: a rule tag names its segment; a manual one leaves segment_id
 * out (the server refuses to clear it: a rule tag stays one). */
export function tagBody(v: TagForm): TagBody {
  const body: TagBody = {
    name: v.name.trim(),
    description: v.description?.trim() || null,
    color: v.color || null,
  };
  if (v.kind === 'rule' && v.segment_id !== null) body.segment_id = v.segment_id;
  return body;
}

function useSegments(project: string, enabled: boolean) {
  const segments = useGet<SegmentRef[]>(enabled ? projectPath(project, '/segments') : null);
  return segments;
}

function TagEditor({ open, tag, onClose, onSaved }: {
  open: boolean; tag: UserTag | null; onClose: () => void; onSaved: () => void;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { project } = useProject();
  const [form] = Form.useForm<TagForm>();
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const segments = useSegments(project.name, open);
  const kind = Form.useWatch('kind', form);
  useEffect(() => {
    if (!open) return;
    setError(null);
    form.resetFields();
    form.setFieldsValue(tag ? {
      name: tag.name, description: tag.description ?? '', color: tag.color ?? 'blue',
      kind: tag.kind, segment_id: tag.segment_id,
    } : { name: '', description: '', color: 'blue', kind: 'manual', segment_id: null });
  }, [open, tag, form]);
  const save = async (values: TagForm) => {
    setError(null);
    setSaving(true);
    try {
      const body = tagBody(values);
      if (tag) await api.put(projectPath(project.name, `/tags/${tag.id}`), body);
      else await api.post(projectPath(project.name, '/tags'), body);
      message.success(t(tag ? 'tags.updated' : 'tags.created', { name: body.name }));
      onSaved();
      onClose();
    } catch (exc) {
      setError(exc);
    } finally {
      setSaving(false);
    }
  };
  return (
    <Modal open={open} title={t(tag ? 'tags.edit' : 'tags.new')} onCancel={onClose}
      onOk={() => form.submit()} okText={t('common.save')} cancelText={t('common.cancel')}
      confirmLoading={saving} okButtonProps={{ 'data-testid': 'tag-save' } as ButtonProps}>
      <ErrorAlert error={error} />
      <Form form={form} layout="vertical" onFinish={(v) => void save(v)}>
        <Form.Item name="name" label={t('tags.name')}
          rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input data-testid="tag-name" maxLength={200} />
        </Form.Item>
        <Form.Item name="description" label={t('common.description')}>
          <Input.TextArea rows={2} data-testid="tag-description" />
        </Form.Item>
        <Form.Item name="color" label={t('tags.color')}>
          <Select data-testid="tag-color" options={TAG_COLORS.map((c) => ({
            value: c, label: <Tag color={c}>{c}</Tag> }))} />
        </Form.Item>
        <Form.Item name="kind" label={t('tags.kind')}>
          <Radio.Group data-testid="tag-kind" options={[
            { value: 'manual', label: t('tags.manual'), disabled: tag?.kind === 'rule' },
            { value: 'rule', label: t('tags.rule') },
          ]} />
        </Form.Item>
        {kind === 'rule' ? (
          <Form.Item name="segment_id" label={t('tags.segment')} extra={t('tags.ruleHint')}
            rules={[{ required: true, message: t('auth.required') }]}>
            <Select data-testid="tag-segment" showSearch optionFilterProp="label"
              loading={segments.loading} placeholder={t('tags.pickSegment')}
              options={(segments.data ?? []).map((s) => ({ value: s.id, label: s.name }))} />
          </Form.Item>
        ) : null}
      </Form>
    </Modal>
  );
}

function BulkBySegment({ tag, onClose, onDone }: {
  tag: UserTag | null; onClose: () => void; onDone: () => void;
}) {
  const { t } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const segments = useSegments(project.name, tag !== null);
  const [segment, setSegment] = useState<number | null>(null);
  const [action, setAction] = useState<'add' | 'remove'>('add');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { setSegment(null); setAction('add'); setError(null); }, [tag]);
  const run = async () => {
    if (!tag || segment === null) return;
    setError(null);
    setBusy(true);
    try {
      const answer = await api.post<{ added?: number; removed?: number }>(
        projectPath(project.name, `/tags/${tag.id}/segment`), { segment_id: segment, action });
      message.success(action === 'add'
        ? t('tags.bulkAdded', { n: fmt.number(answer.added ?? 0, 0) })
        : t('tags.bulkRemoved', { n: fmt.number(answer.removed ?? 0, 0) }));
      onDone();
      onClose();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={tag !== null} title={t('tags.bulkTitle', { name: tag?.name ?? '' })}
      onCancel={onClose} onOk={() => void run()} confirmLoading={busy}
      okButtonProps={{ disabled: segment === null, 'data-testid': 'bulk-run' } as ButtonProps}
      okText={t('common.ok')} cancelText={t('common.cancel')}>
      <ErrorAlert error={error} />
      <Space direction="vertical" style={{ width: '100%' }}>
        <Radio.Group value={action} onChange={(e) => setAction(e.target.value as 'add' | 'remove')}
          options={[{ value: 'add', label: t('tags.bulkAdd') },
            { value: 'remove', label: t('tags.bulkRemove') }]} />
        <Select style={{ width: '100%' }} data-testid="bulk-segment" showSearch
          optionFilterProp="label" loading={segments.loading} value={segment ?? undefined}
          placeholder={t('tags.pickSegment')} onChange={(v: number) => setSegment(v)}
          options={(segments.data ?? []).map((s) => ({ value: s.id, label: s.name }))} />
        <ErrorAlert error={segments.error} />
      </Space>
    </Modal>
  );
}

const HOLDERS_PAGE = 50;

function Holders({ tag, onClose }: { tag: UserTag | null; onClose: () => void }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [offset, setOffset] = useState(0);
  useEffect(() => setOffset(0), [tag]);
  const page = useGet<TagPersons>(tag ? projectPath(project.name,
    `/tags/${tag.id}/persons` + qs({ limit: HOLDERS_PAGE, offset })) : null);
  const base = `/p/${encodeURIComponent(project.name)}`;
  return (
    <Drawer open={tag !== null} onClose={onClose} width={520} data-testid="tag-holders"
      title={tag ? t('tags.holdersOf', { name: tag.name }) : ''}>
      <ErrorAlert error={page.error} onRetry={page.reload} />
      {page.loading && !page.data ? <Loading /> : null}
      {page.data ? (
        <List
          dataSource={page.data.persons}
          locale={{ emptyText: <NoData text={t('tags.noHolders')} /> }}
          renderItem={(p) => (
            <List.Item data-testid="tag-holder">
              <Link to={`${base}/persons/${encodeURIComponent(String(p.person_id))}`}>
                {p.display}
              </Link>
              <Typography.Text type="secondary">{fmt.dateTime(p.last_seen)}</Typography.Text>
            </List.Item>
          )}
        />
      ) : null}
      <Space style={{ marginTop: 12 }}>
        <Button disabled={offset === 0}
          onClick={() => setOffset(Math.max(0, offset - HOLDERS_PAGE))}>{t('persons.prev')}</Button>
        <Button disabled={!page.data?.has_more}
          onClick={() => setOffset(offset + HOLDERS_PAGE)}>{t('persons.more')}</Button>
      </Space>
    </Drawer>
  );
}

/** 用户标签: manual tags set person by person (or by a segment's members at once) and rule tags
 * that follow a segment. */
export function TagsPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const tags = useGet<UserTag[]>(projectPath(project.name, '/tags'));
  const segments = useSegments(project.name, Boolean(tags.data?.some((tag) => tag.kind === 'rule')));
  const segmentName = useMemo(() => new Map((segments.data ?? []).map((s) => [s.id, s.name])),
    [segments.data]);
  const [editing, setEditing] = useState<UserTag | null>(null);
  const [editorOpen, setEditorOpen] = useState(false);
  const [bulk, setBulk] = useState<UserTag | null>(null);
  const [holders, setHolders] = useState<UserTag | null>(null);
  const [error, setError] = useState<unknown>(null);
  const writer = can.writeInsights(project.role);
  const remove = async (tag: UserTag) => {
    setError(null);
    try {
      await api.del(projectPath(project.name, `/tags/${tag.id}`));
      message.success(t('tags.deleted', { name: tag.name }));
      tags.reload();
    } catch (exc) {
      setError(exc);
    }
  };
  const missing = isMissing(tags.error);
  return (
    <div data-testid="page-tags">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }} wrap>
        <Space direction="vertical" size={0}>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('tags.title')}</Typography.Title>
          <Typography.Text type="secondary">{t('tags.subtitle')}</Typography.Text>
        </Space>
        {writer && !missing ? (
          <Button type="primary" icon={<PlusOutlined />} data-testid="new-tag"
            onClick={() => { setEditing(null); setEditorOpen(true); }}>{t('tags.new')}</Button>
        ) : null}
      </Space>
      {missing ? <NoData text={t('tags.unavailable')} /> : (
        <ErrorAlert error={tags.error ?? error} onRetry={tags.error ? tags.reload : undefined} />
      )}
      {tags.loading && !tags.data ? <Loading /> : null}
      {tags.data ? (
        <Table
          data-testid="tags-table"
          rowKey="id"
          dataSource={tags.data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: <NoData text={t('tags.empty')} /> }}
          onRow={(tag) => ({ 'data-testid': `tag-row-${tag.name}` } as object)}
          columns={[
            { title: t('tags.name'), dataIndex: 'name', render: (name: string, tag) => (
              <Space direction="vertical" size={0}>
                <Tag color={tag.color ?? undefined}>{name}</Tag>
                {tag.description ? (
                  <Typography.Text type="secondary">{tag.description}</Typography.Text>) : null}
              </Space>
            ) },
            { title: t('tags.kind'), dataIndex: 'kind', render: (kind: TagKind, tag) => (
              kind === 'rule' ? (
                <span>{t('tags.rule')} · {tag.segment_id === null ? '—' : (
                  <Link to={`/p/${encodeURIComponent(project.name)}/segments/${tag.segment_id}`}>
                    {segmentName.get(tag.segment_id) ?? `#${tag.segment_id}`}
                  </Link>)}</span>
              ) : t('tags.manual')
            ) },
            { title: t('tags.persons'), dataIndex: 'persons', align: 'right',
              render: (n: number, tag) => (
                <Button type="link" size="small" data-testid={`tag-persons-${tag.id}`}
                  onClick={() => setHolders(tag)}>{fmt.number(n)}</Button>
              ) },
            { title: t('tags.updatedAt'), dataIndex: 'updated_at',
              render: (v: string) => fmt.dateTime(v) },
            { title: t('common.actions'), key: 'actions', render: (_: unknown, tag) => (
              <Space size={4} wrap>
                <Button size="small" icon={<TeamOutlined />} onClick={() => setHolders(tag)}>
                  {t('tags.holders')}
                </Button>
                {writer ? (
                  <>
                    {tag.kind === 'manual' ? (
                      <Button size="small" data-testid={`tag-bulk-${tag.id}`}
                        onClick={() => setBulk(tag)}>{t('tags.bySegment')}</Button>
                    ) : null}
                    <Button size="small" icon={<EditOutlined />} data-testid={`tag-edit-${tag.id}`}
                      onClick={() => { setEditing(tag); setEditorOpen(true); }} />
                    <Popconfirm title={t('tags.confirmDelete', { name: tag.name })}
                      okText={t('common.yes')} cancelText={t('common.no')}
                      onConfirm={() => void remove(tag)}>
                      <Button size="small" danger icon={<DeleteOutlined />}
                        data-testid={`tag-delete-${tag.id}`} />
                    </Popconfirm>
                  </>
                ) : null}
              </Space>
            ) },
          ]}
        />
      ) : null}
      <TagEditor open={editorOpen} tag={editing} onClose={() => setEditorOpen(false)}
        onSaved={tags.reload} />
      <BulkBySegment tag={bulk} onClose={() => setBulk(null)} onDone={tags.reload} />
      <Holders tag={holders} onClose={() => setHolders(null)} />
    </div>
  );
}
