import {
  Alert, App, Button, Card, Col, Form, Input, Popconfirm, Row, Select, Space, Switch, Tabs,
  Typography,
} from 'antd';
import { CopyOutlined, KeyOutlined } from '@ant-design/icons';
import { useMemo, useState } from 'react';
import { api, projectPath } from '../api/client';
import { useGet } from '../api/hooks';
import type { ProjectSettings, Snippets } from '../api/types';
import { can, useProject } from '../auth/project';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading } from '../components/States';
import { useI18n } from '../i18n';

function CopyButton({ text }: { text: string }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  return (
    <Button size="small" icon={<CopyOutlined />}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => message.success(t('settings.copied')));
      }}>{t('settings.copy')}</Button>
  );
}

function Code({ text, testId }: { text: string; testId?: string }) {
  return (
    <div style={{ position: 'relative' }}>
      <div style={{ position: 'absolute', right: 8, top: 8 }}><CopyButton text={text} /></div>
      <pre data-testid={testId} style={{ background: '#fafafa', border: '1px solid #f0f0f0',
        borderRadius: 6, padding: 12, overflowX: 'auto', fontSize: 12, margin: 0 }}>{text}</pre>
    </div>
  );
}

type Editable = Pick<ProjectSettings, 'timezone' | 'currency' | 'order_event' | 'revenue_property'
  | 'store_client_ip'>;

export function SettingsPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { project, reloadProjects } = useProject();
  const path = projectPath(project.name);
  const settings = useGet<ProjectSettings>(path);
  const snippets = useGet<Snippets>(projectPath(project.name, '/snippets'));
  const admin = can.admin(project.role);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [form] = Form.useForm<Editable>();
  const zones = useMemo(() => {
    try { return Intl.supportedValuesOf('timeZone'); } catch { return ['Asia/Shanghai', 'UTC']; }
  }, []);

  const save = async (values: Editable) => {
    setSaving(true);
    setError(null);
    try {
      const updated = await api.patch<ProjectSettings>(path, values);
      settings.setData(updated);
      reloadProjects();
      message.success(t('settings.saved'));
    } catch (exc) {
      setError(exc);
    } finally {
      setSaving(false);
    }
  };
  const rotate = async () => {
    setError(null);
    try {
      const { write_key } = await api.post<{ write_key: string }>(`${path}/write-key`);
      if (settings.data) settings.setData({ ...settings.data, write_key });
      snippets.reload();
      message.success(t('settings.rotated'));
    } catch (exc) {
      setError(exc);
    }
  };

  if (settings.loading && !settings.data) return <Loading />;
  const data = settings.data;
  return (
    <div data-testid="page-settings">
      <Typography.Title level={3}>{t('settings.title')}</Typography.Title>
      <ErrorAlert error={error ?? settings.error} onRetry={settings.reload} />
      {data ? (
        <Row gutter={[16, 16]}>
          <Col xs={24} xl={10}>
            <Card size="small" title={project.name}>
              {!admin ? <Alert type="info" showIcon message={t('settings.readOnly')}
                style={{ marginBottom: 12 }} /> : null}
              <Form form={form} layout="vertical" disabled={!admin} initialValues={data}
                onFinish={(v) => void save(v)} data-testid="settings-form">
                <Form.Item name="timezone" label={t('settings.timezone')}>
                  <Select showSearch data-testid="settings-timezone"
                    options={zones.map((z) => ({ value: z, label: z }))} />
                </Form.Item>
                <Form.Item name="currency" label={t('settings.currency')}
                  rules={[{ pattern: /^[A-Za-z]{3}$/, message: 'ISO 4217' }]}>
                  <Input maxLength={3} style={{ width: 100 }} />
                </Form.Item>
                <Form.Item name="order_event" label={t('settings.orderEvent')}>
                  <Input />
                </Form.Item>
                <Form.Item name="revenue_property" label={t('settings.revenueProperty')}>
                  <Input />
                </Form.Item>
                <Form.Item name="store_client_ip" label={t('settings.storeIp')}
                  valuePropName="checked">
                  <Switch />
                </Form.Item>
                {admin ? (
                  <Button type="primary" htmlType="submit" loading={saving}
                    data-testid="settings-save">{t('settings.save')}</Button>
                ) : null}
              </Form>
            </Card>
          </Col>
          <Col xs={24} xl={14}>
            <Space direction="vertical" style={{ width: '100%' }} size={16}>
              <Card size="small" title={<span><KeyOutlined /> {t('settings.writeKey')}</span>}
                extra={admin ? (
                  <Popconfirm title={t('settings.confirmRotate')} okText={t('common.ok')}
                    cancelText={t('common.cancel')} onConfirm={() => void rotate()}>
                    <Button danger size="small" data-testid="rotate-write-key">
                      {t('settings.rotate')}
                    </Button>
                  </Popconfirm>
                ) : null}>
                {data.write_key ? (
                  <Space>
                    <Typography.Text code data-testid="write-key">{data.write_key}</Typography.Text>
                    <CopyButton text={data.write_key} />
                  </Space>
                ) : <Typography.Text type="secondary">{t('settings.writeKeyHidden')}</Typography.Text>}
              </Card>
              <Card size="small" title={t('settings.snippets')} data-testid="snippets">
                <Typography.Paragraph type="secondary">{t('settings.snippetsIntro')}</Typography.Paragraph>
                <ErrorAlert error={snippets.error} onRetry={snippets.reload} />
                {snippets.data ? (
                  <Tabs items={[
                    { key: 'segment', label: 'Segment',
                      children: <Code text={snippets.data.segment} testId="snippet-segment" /> },
                    { key: 'posthog', label: 'PostHog',
                      children: <Code text={snippets.data.posthog} testId="snippet-posthog" /> },
                  ]} />
                ) : snippets.loading ? <Loading /> : null}
              </Card>
            </Space>
          </Col>
        </Row>
      ) : null}
    </div>
  );
}
