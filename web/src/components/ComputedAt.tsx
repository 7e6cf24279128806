import { Tooltip, Typography } from 'antd';
import { useEffect, useState } from 'react';
import type { Computed } from '../api/types';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';

/** When the server computed the answer on screen ("Computed 3 minutes ago"), the exact time in
 * a tooltip; it matters once answers are kept (the query API's cache). Ticks every 30 s. */
export function ComputedAt({ result }: { result: Computed | undefined | null }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = window.setInterval(() => setTick((n) => n + 1), 30_000);
    return () => window.clearInterval(timer);
  }, []);
  if (!result?.computed_at) return null;
  return (
    <Tooltip title={t('query.computedAt', { time: fmt.dateTime(result.computed_at) })}>
      <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="computed-at"
        data-cached={result.cached ? 'true' : 'false'}>
        {t('query.computedAgo', { ago: fmt.ago(result.computed_at) })}
      </Typography.Text>
    </Tooltip>
  );
}
