import { Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { useSession } from '../auth/session';
import { ErrorAlert } from '../components/ErrorAlert';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useI18n } from '../i18n';

function Frame({ title, children }: { title: string; children: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <div style={{ minHeight: '100vh', display: 'flex', alignItems: 'center',
      justifyContent: 'center', background: '#f0f2f5', padding: 16 }}>
      <Card style={{ width: 400, maxWidth: '100%' }}
        title={<span>{t('app.name')}</span>} extra={<LanguageSwitch />}>
        <Typography.Title level={4} style={{ marginTop: 0 }}>{title}</Typography.Title>
        {children}
      </Card>
    </div>
  );
}

export function LoginPage() {
  const { t } = useI18n();
  const { login } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (values: { email: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await login(values.email.trim(), values.password);
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Frame title={t('auth.signInTitle')}>
      <ErrorAlert error={error} />
      <Form layout="vertical" onFinish={(v) => void submit(v)} data-testid="login-form">
        <Form.Item name="email" label={t('auth.email')}
          rules={[{ required: true, message: t('auth.required') }]}>
          <Input type="email" autoComplete="username" data-testid="login-email" autoFocus />
        </Form.Item>
        <Form.Item name="password" label={t('auth.password')}
          rules={[{ required: true, message: t('auth.required') }]}>
          <Input.Password autoComplete="current-password" data-testid="login-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={busy} data-testid="login-submit">
          {t('auth.signIn')}
        </Button>
      </Form>
    </Frame>
  );
}

export function SetupPage() {
  const { t } = useI18n();
  const { setup } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (values: { email: string; name: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await setup(values.email.trim(), values.name.trim(), values.password);
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Frame title={t('auth.setupTitle')}>
      <Typography.Paragraph type="secondary">{t('auth.setupIntro')}</Typography.Paragraph>
      <ErrorAlert error={error} />
      <Form layout="vertical" onFinish={(v) => void submit(v)} data-testid="setup-form">
        <Form.Item name="name" label={t('auth.name')}
          rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input autoComplete="name" data-testid="setup-name" autoFocus />
        </Form.Item>
        <Form.Item name="email" label={t('auth.email')}
          rules={[{ required: true, message: t('auth.required') }]}>
          <Input type="email" autoComplete="username" data-testid="setup-email" />
        </Form.Item>
        <Form.Item name="password" label={t('auth.password')} extra={t('auth.passwordRule')}
          rules={[{ required: true, min: 8, max: 256, message: t('auth.passwordRule') }]}>
          <Input.Password autoComplete="new-password" data-testid="setup-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={busy} data-testid="setup-submit">
          {t('auth.setupSubmit')}
        </Button>
      </Form>
    </Frame>
  );
}
