import {
  Alert, App, Button, Card, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography,
} from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useState } from 'react';
import { api, projectPath } from '../api/client';
import { useGet } from '../api/hooks';
import type { ApiKey, Member, NewApiKey, Role } from '../api/types';
import { can, useProject } from '../auth/project';
import { useSession } from '../auth/session';
import { ErrorAlert } from '../components/ErrorAlert';
import { NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';

const ROLES: Role[] = ['admin', 'analyst', 'viewer'];

function Members() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { message } = App.useApp();
  const { project } = useProject();
  const { me } = useSession();
  const path = projectPath(project.name, '/members');
  const members = useGet<Member[]>(path);
  const admin = can.admin(project.role);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<{ email: string; role: Role; name?: string; password?: string }>();

  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      members.reload();
    } catch (exc) {
      setError(exc);
    }
  };
  const add = async (values: { email: string; role: Role; name?: string; password?: string }) => {
    const body: Record<string, string> = { email: values.email.trim(), role: values.role };
    if (values.name?.trim() && values.password) {
      body.name = values.name.trim();
      body.password = values.password;
    }
    try {
      await api.post<Member>(path, body);
      setOpen(false);
      message.success(t('team.added'));
      members.reload();
    } catch (exc) {
      setError(exc);
    }
  };
  return (
    <Card size="small" title={t('team.members')} data-testid="members"
      extra={admin ? (
        <Button size="small" type="primary" icon={<PlusOutlined />} data-testid="add-member"
          onClick={() => { setError(null); form.resetFields(); setOpen(true); }}>
          {t('team.add')}
        </Button>
      ) : null}>
      {!open ? <ErrorAlert error={error ?? members.error} onRetry={members.reload} /> : null}
      <Table
        size="small"
        rowKey={(m) => m.user.id}
        loading={members.loading}
        dataSource={members.data ?? []}
        pagination={false}
        locale={{ emptyText: <NoData /> }}
        columns={[
          { title: t('team.email'), key: 'email',
            render: (_: unknown, m: Member) => (
              <span>{m.user.email}{m.user.id === me?.user.id
                ? <Tag style={{ marginLeft: 6 }}>{t('team.you')}</Tag> : null}</span>
            ) },
          { title: t('team.name'), key: 'name', render: (_: unknown, m: Member) => m.user.name },
          { title: t('team.role'), key: 'role',
            render: (_: unknown, m: Member) => (admin ? (
              <Select<Role> size="small" style={{ width: 120 }} value={m.role}
                data-testid={`member-role-${m.user.id}`}
                onChange={(role) => void act(() => api.patch(`${path}/${m.user.id}`, { role }))}
                options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
            ) : <Tag>{t(`role.${m.role}`)}</Tag>) },
          { title: t('team.lastLogin'), key: 'login',
            render: (_: unknown, m: Member) => (m.user.last_login_at
              ? fmt.dateTime(m.user.last_login_at) : t('common.never')) },
          ...(admin ? [{
            title: '', key: 'remove',
            render: (_: unknown, m: Member) => (
              <Popconfirm title={t('team.confirmRemove', { email: m.user.email })}
                okText={t('team.remove')} cancelText={t('common.cancel')}
                onConfirm={() => void act(() => api.del(`${path}/${m.user.id}`))}>
                <Button size="small" danger type="link">{t('team.remove')}</Button>
              </Popconfirm>
            ),
          }] : []),
        ]}
      />
      <Modal open={open} title={t('team.add')} onCancel={() => setOpen(false)}
        onOk={() => form.submit()} okText={t('common.create')} cancelText={t('common.cancel')}>
        <Typography.Paragraph type="secondary">{t('team.addHint')}</Typography.Paragraph>
        <ErrorAlert error={error} />
        <Form form={form} layout="vertical" initialValues={{ role: 'viewer' }}
          onFinish={(v) => void add(v)}>
          <Form.Item name="email" label={t('team.email')}
            rules={[{ required: true, message: t('auth.required') }]}>
            <Input type="email" data-testid="member-email" />
          </Form.Item>
          <Form.Item name="role" label={t('team.role')}>
            <Select options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
          </Form.Item>
          <Form.Item name="name" label={t('team.name')}><Input /></Form.Item>
          <Form.Item name="password" label={t('auth.password')} extra={t('auth.passwordRule')}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}

function Keys() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const path = projectPath(project.name, '/keys');
  const keys = useGet<ApiKey[]>(path);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<NewApiKey | null>(null);
  const create = async () => {
    setError(null);
    try {
      const created = await api.post<NewApiKey>(path, { name: name.trim() });
      setSecret(created);
      setName('');
      keys.reload();
    } catch (exc) {
      setError(exc);
    }
  };
  const revoke = async (key: ApiKey) => {
    setError(null);
    try {
      await api.del(`${path}/${key.id}`);
      keys.reload();
    } catch (exc) {
      setError(exc);
    }
  };
  return (
    <Card size="small" title={t('team.keys')} data-testid="api-keys">
      <Typography.Paragraph type="secondary">{t('team.keysIntro')}</Typography.Paragraph>
      <Space style={{ marginBottom: 12 }} wrap>
        <Input placeholder={t('team.keyName')} value={name} style={{ width: 240 }}
          data-testid="new-key-name" onChange={(e) => setName(e.target.value)}
          onPressEnter={() => { if (name.trim()) void create(); }} />
        <Button type="primary" disabled={!name.trim()} onClick={() => void create()}
          data-testid="new-key">{t('team.newKey')}</Button>
      </Space>
      {secret ? (
        <Alert type="warning" showIcon closable onClose={() => setSecret(null)}
          style={{ marginBottom: 12 }} message={t('team.secretOnce')}
          description={
            <Typography.Text code copyable data-testid="new-key-secret">{secret.secret}</Typography.Text>
          } />
      ) : null}
      <ErrorAlert error={error ?? keys.error} onRetry={keys.reload} />
      <Table
        size="small"
        rowKey="id"
        loading={keys.loading}
        dataSource={keys.data ?? []}
        pagination={false}
        locale={{ emptyText: <NoData /> }}
        columns={[
          { title: t('team.keyName'), dataIndex: 'name' },
          { title: t('team.prefix'), dataIndex: 'prefix',
            render: (v: string) => <Typography.Text code>{v}…</Typography.Text> },
          { title: t('team.owner'), dataIndex: 'user_email', render: (v: string | null) => v ?? '—' },
          { title: t('team.created'), dataIndex: 'created_at', render: (v: string) => fmt.dateTime(v) },
          { title: t('team.lastUsed'), dataIndex: 'last_used_at',
            render: (v: string | null) => (v ? fmt.dateTime(v) : t('common.never')) },
          { title: '', key: 'state', render: (_: unknown, k: ApiKey) => (k.revoked_at ? (
            <Tag color="red">{t('team.revoked')}</Tag>
          ) : (
            <Popconfirm title={t('team.confirmRevoke')} okText={t('team.revoke')}
              cancelText={t('common.cancel')} onConfirm={() => void revoke(k)}>
              <Button size="small" danger type="link" data-testid={`revoke-key-${k.id}`}>
                {t('team.revoke')}
              </Button>
            </Popconfirm>
          )) },
        ]}
      />
    </Card>
  );
}

export function TeamPage() {
  const { t } = useI18n();
  return (
    <div data-testid="page-team">
      <Typography.Title level={3}>{t('team.title')}</Typography.Title>
      <Space direction="vertical" style={{ width: '100%' }} size={16}>
        <Members />
        <Keys />
      </Space>
    </div>
  );
}
