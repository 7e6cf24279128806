import { Select, Space, Table, Tabs, Tag, Typography } from 'antd';
import { useState } from 'react';
import { projectPath, qs } from '../api/client';
import { useGet } from '../api/hooks';
import type { EventDefinition, PropertyDefinition } from '../api/types';
import { useProject } from '../auth/project';
import { EventSelect } from '../components/EventSelect';
import { ErrorAlert } from '../components/ErrorAlert';
import { NoData } from '../components/States';
import { useFormat } from '../hooks/useFormat';
import { useI18n } from '../i18n';

const DAYS = [7, 30, 90, 365];

function PropertyTable({ path, testId }: { path: string; testId: string }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const properties = useGet<PropertyDefinition[]>(path);
  return (
    <>
      <ErrorAlert error={properties.error} onRetry={properties.reload} />
      <Table
        data-testid={testId}
        rowKey="name"
        size="small"
        loading={properties.loading}
        dataSource={properties.data ?? []}
        locale={{ emptyText: <NoData /> }}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        columns={[
          { title: t('data.name'), dataIndex: 'name',
            render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
          { title: t('data.type'), dataIndex: 'type', render: (v: string) => <Tag>{v}</Tag> },
          { title: t('data.count'), dataIndex: 'count', align: 'right',
            render: (v: number) => fmt.number(v) },
          { title: t('data.lastSeen'), dataIndex: 'last_seen',
            render: (v: string | null) => fmt.dateTime(v) },
          { title: t('data.examples'), dataIndex: 'examples',
            render: (v: unknown[]) => (
              <Space size={[0, 4]} wrap>
                {(v ?? []).slice(0, 5).map((x, i) => (
                  <Tag key={i}>{typeof x === 'object' ? JSON.stringify(x) : String(x)}</Tag>
                ))}
              </Space>
            ) },
        ]}
      />
    </>
  );
}

export function DataPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const { project } = useProject();
  const [days, setDays] = useState(30);
  const [event, setEvent] = useState<string | null>(null);
  const events = useGet<EventDefinition[]>(projectPath(project.name,
    '/event-definitions' + qs({ days })));
  const daysPicker = (
    <Select style={{ width: 160 }} value={days} onChange={setDays} data-testid="data-days"
      options={DAYS.map((n) => ({ value: n, label: t('data.days', { n }) }))} />
  );
  return (
    <div data-testid="page-data">
      <Typography.Title level={3}>{t('data.title')}</Typography.Title>
      <Tabs
        tabBarExtraContent={daysPicker}
        items={[
          {
            key: 'events', label: <span data-testid="tab-events">{t('data.events')}</span>,
            children: (
              <>
                <ErrorAlert error={events.error} onRetry={events.reload} />
                <Table
                  data-testid="event-definitions"
                  rowKey="name"
                  size="small"
                  loading={events.loading}
                  dataSource={events.data ?? []}
                  locale={{ emptyText: <NoData /> }}
                  pagination={{ pageSize: 50, hideOnSinglePage: true }}
                  onRow={(row) => ({ onClick: () => setEvent(row.name), style: { cursor: 'pointer' } })}
                  columns={[
                    { title: t('data.name'), dataIndex: 'name',
                      render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                    { title: t('data.count'), dataIndex: 'count', align: 'right',
                      render: (v: number) => fmt.number(v) },
                    { title: t('data.persons'), dataIndex: 'persons', align: 'right',
                      render: (v: number) => fmt.number(v) },
                    { title: t('data.firstSeen'), dataIndex: 'first_seen',
                      render: (v: string | null) => fmt.dateTime(v) },
                    { title: t('data.lastSeen'), dataIndex: 'last_seen',
                      render: (v: string | null) => fmt.dateTime(v) },
                  ]}
                />
              </>
            ),
          },
          {
            key: 'event-properties',
            label: <span data-testid="tab-event-properties">{t('data.eventProperties')}</span>,
            children: (
              <>
                <div style={{ marginBottom: 12 }}>
                  <EventSelect allowAny value={event} onChange={setEvent} testId="data-event" />
                </div>
                <PropertyTable testId="property-definitions"
                  path={projectPath(project.name, '/property-definitions'
                    + qs({ event: event ?? undefined, days }))} />
              </>
            ),
          },
          {
            key: 'person-properties',
            label: <span data-testid="tab-person-properties">{t('data.personProperties')}</span>,
            children: <PropertyTable testId="person-properties"
              path={projectPath(project.name, '/person-properties')} />,
          },
        ]}
      />
    </div>
  );
}
