import { Empty, Spin } from 'antd';
import { useI18n } from '../i18n';

export function Loading({ tip }: { tip?: string }) {
  const { t } = useI18n();
  return (
    <div data-testid="loading" style={{ padding: 48, textAlign: 'center' }}>
      <Spin />
      <div style={{ marginTop: 8, color: '#8c8c8c' }}>{tip ?? t('app.loading')}</div>
    </div>
  );
}

export function NoData({ text }: { text?: string }) {
  const { t } = useI18n();
  return (
    <Empty data-testid="empty" image={Empty.PRESENTED_IMAGE_SIMPLE}
      description={text ?? t('app.empty')} />
  );
}
