import { Alert, Button } from 'antd';
import { ApiError } from '../api/client';
import { useI18n } from '../i18n';

/** An API error as the reader can act on it: the server's message and the field it names. */
export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const message = api?.status === 0 && api.code === 'network' ? t('error.network')
    : api?.status === 403 && !api.message ? t('error.forbidden')
      : api?.status === 429 && api.retryAfter ? t('auth.rateLimited', { seconds: api.retryAfter })
        : error instanceof Error ? error.message : String(error);
  return (
    <Alert
      type="error"
      showIcon
      data-testid="api-error"
      message={api && api.status ? `${t('error.title')} (${api.status})` : t('error.title')}
      description={
        <div>
          <div data-testid="api-error-message">{message}</div>
          {api?.field ? (
            <div data-testid="api-error-field">
              {t('error.field', { field: api.field })}
            </div>
          ) : null}
        </div>
      }
      action={onRetry ? <Button size="small" onClick={onRetry}>{t('app.retry')}</Button>
        : undefined}
      style={{ marginBottom: 16 }}
    />
  );
}
