import { Button, Result } from 'antd';
import { Component } from 'react';
import type { ErrorInfo, ReactNode } from 'react';
import { useI18n } from '../i18n';

function Crashed({ error, onReset }: { error: Error; onReset: () => void }) {
  const { t } = useI18n();
  return (
    <Result status="error" title={t('app.crashed')} subTitle={error.message}
      data-testid="crashed"
      extra={<Button onClick={onReset}>{t('app.retry')}</Button>} />
  );
}

/** A screen that throws shows what went wrong and a retry, never a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string },
  { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidUpdate(previous: { resetKey?: string }) {
    if (previous.resetKey !== this.props.resetKey && this.state.error) {
      this.setState({ error: null });
    }
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return <Crashed error={this.state.error} onReset={() => this.setState({ error: null })} />;
    }
    return this.props.children;
  }
}
