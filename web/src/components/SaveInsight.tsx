import { App, Button, Form, Input, Modal, Space } from 'antd';
import { SaveOutlined } from '@ant-design/icons';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api, projectPath } from '../api/client';
import type { AnalysisSpec, Insight } from '../api/types';
import { can, useProject } from '../auth/project';
import { useI18n } from '../i18n';
import { ErrorAlert } from './ErrorAlert';

/** Save the analysis on screen as a named insight, or update the insight it was opened from.
 * Not shown to viewers (the server refuses them too). */
export function SaveInsight({ spec, insight, onSaved }: {
  spec: AnalysisSpec | null; insight?: Insight | null; onSaved?: (insight: Insight) => void;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { project } = useProject();
  const [, setParams] = useSearchParams();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [form] = Form.useForm<{ name: string; description: string }>();
  if (!can.writeInsights(project.role)) return null;

  const saveNew = async (values: { name: string; description: string }) => {
    if (!spec) return;
    setBusy(true);
    setError(null);
    try {
      const saved = await api.post<Insight>(projectPath(project.name, '/insights'), {
        name: values.name, description: values.description || null, spec,
      });
      message.success(t('save.done', { name: saved.name }));
      setOpen(false);
      setParams((p) => { p.set('insight', String(saved.id)); return p; }, { replace: true });
      onSaved?.(saved);
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };

  const update = async () => {
    if (!spec || !insight) return;
    setBusy(true);
    setError(null);
    try {
      const saved = await api.put<Insight>(projectPath(project.name, `/insights/${insight.id}`), {
        name: insight.name, description: insight.description, spec,
      });
      message.success(t('save.updated', { name: saved.name }));
      onSaved?.(saved);
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Space>
        {insight ? (
          <Button data-testid="update-insight" icon={<SaveOutlined />} loading={busy}
            disabled={!spec} onClick={() => void update()}>
            {t('save.update', { name: insight.name })}
          </Button>
        ) : null}
        <Button data-testid="save-insight" type={insight ? 'default' : 'primary'} ghost={!insight}
          icon={<SaveOutlined />} disabled={!spec}
          onClick={() => { setError(null); form.resetFields(); setOpen(true); }}>
          {t('save.button')}
        </Button>
      </Space>
      {!open && error ? <div style={{ marginTop: 8 }}><ErrorAlert error={error} /></div> : null}
      <Modal
        open={open}
        title={t('save.title')}
        okText={t('common.save')}
        cancelText={t('common.cancel')}
        confirmLoading={busy}
        onCancel={() => setOpen(false)}
        onOk={() => form.submit()}
        okButtonProps={{ 'data-testid': 'save-insight-ok' } as Record<string, string>}
        destroyOnClose
      >
        <ErrorAlert error={error} />
        <Form form={form} layout="vertical" onFinish={(v) => void saveNew(v)}>
          <Form.Item name="name" label={t('save.name')}
            rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
            <Input data-testid="save-insight-name" maxLength={200} autoFocus />
          </Form.Item>
          <Form.Item name="description" label={t('save.description')}>
            <Input.TextArea rows={2} maxLength={2000} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}
