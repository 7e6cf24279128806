import {
  App, Avatar, Button, Dropdown, Form, Input, Layout, Menu, Modal, Result, Select, Space, Tag,
  Typography,
} from 'antd';
import {
  AppstoreOutlined, BarChartOutlined, DashboardOutlined, DatabaseOutlined, FunnelPlotOutlined,
  LineChartOutlined, LogoutOutlined, PlusOutlined, RetweetOutlined, SaveOutlined,
  SettingOutlined, TeamOutlined, UserOutlined, FireOutlined, NodeIndexOutlined,
} from '@ant-design/icons';
import { ClusterOutlined, TagsOutlined } from '@ant-design/icons';
import { UsergroupAddOutlined } from '@ant-design/icons';
import { useMemo, useState } from 'react';
import { Link, Navigate, Outlet, useLocation, useNavigate, useParams } from 'react-router-dom';
import { api } from '../api/client';
import { useGet } from '../api/hooks';
import type { ProjectSummary } from '../api/types';
import { ProjectContext } from '../auth/project';
import { useSession } from '../auth/session';
import { ErrorAlert } from '../components/ErrorAlert';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { Loading } from '../components/States';
import { useI18n } from '../i18n';
import type { MessageKey } from '../i18n';

const LAST_PROJECT = 'userops.project';

const NAV: { key: string; icon: React.ReactNode; label: MessageKey; group?: 'analyses' }[] = [
  { key: 'overview', icon: <DashboardOutlined />, label: 'nav.overview' },
  { key: 'trends', icon: <LineChartOutlined />, label: 'nav.trends', group: 'analyses' },
  { key: 'funnel', icon: <FunnelPlotOutlined />, label: 'nav.funnel', group: 'analyses' },
  { key: 'retention', icon: <RetweetOutlined />, label: 'nav.retention', group: 'analyses' },
  { key: 'lifecycle', icon: <NodeIndexOutlined />, label: 'nav.lifecycle', group: 'analyses' },
  { key: 'stickiness', icon: <FireOutlined />, label: 'nav.stickiness', group: 'analyses' },
  { key: 'insights', icon: <SaveOutlined />, label: 'nav.insights' },
  { key: 'dashboards', icon: <AppstoreOutlined />, label: 'nav.dashboards' },
  { key: 'persons', icon: <UserOutlined />, label: 'nav.persons' },
  { key: 'segments', icon: <UsergroupAddOutlined />, label: 'nav.segments' },
  { key: 'layers', icon: <ClusterOutlined />, label: 'nav.layers' },
  { key: 'tags', icon: <TagsOutlined />, label: 'nav.tags' },
  { key: 'data', icon: <DatabaseOutlined />, label: 'nav.data' },
  { key: 'settings', icon: <SettingOutlined />, label: 'nav.settings' },
  { key: 'team', icon: <TeamOutlined />, label: 'nav.team' },
];

export function rememberProject(name: string): void {
  try { window.localStorage.setItem(LAST_PROJECT, name); } catch { /* not kept */ }
}

export function lastProject(): string | null {
  try { return window.localStorage.getItem(LAST_PROJECT); } catch { return null; }
}

/** `/`: the last project used, else the first one visible. */
export function Home() {
  const { t } = useI18n();
  const projects = useGet<ProjectSummary[]>('/api/projects');
  if (projects.loading) return <Loading />;
  if (projects.error) {
    return <div style={{ padding: 24 }}><ErrorAlert error={projects.error} onRetry={projects.reload} /></div>;
  }
  const list = projects.data ?? [];
  const last = lastProject();
  const target = list.find((p) => p.name === last) ?? list[0];
  if (target) return <Navigate to={`/p/${encodeURIComponent(target.name)}/overview`} replace />;
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Header projects={[]} current={null} reload={projects.reload} />
      <Result status="info" title={t('header.noProjects')} />
    </Layout>
  );
}

function NewProjectButton({ reload }: { reload: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [form] = Form.useForm<{ name: string; timezone: string }>();
  const zones = useMemo(() => {
    try { return Intl.supportedValuesOf('timeZone'); } catch { return ['Asia/Shanghai', 'UTC']; }
  }, []);
  const create = async (values: { name: string; timezone: string }) => {
    setError(null);
    try {
      const created = await api.post<ProjectSummary>('/api/projects', values);
      message.success(t('settings.created', { name: created.name }));
      setOpen(false);
      reload();
      navigate(`/p/${encodeURIComponent(created.name)}/overview`);
    } catch (exc) {
      setError(exc);
    }
  };
  return (
    <>
      <Button size="small" icon={<PlusOutlined />} data-testid="new-project"
        onClick={() => { form.resetFields(); setError(null); setOpen(true); }}>
        {t('header.newProject')}
      </Button>
      <Modal open={open} title={t('settings.newProject')} onCancel={() => setOpen(false)}
        onOk={() => form.submit()} okText={t('common.create')} cancelText={t('common.cancel')}>
        <ErrorAlert error={error} />
        <Form form={form} layout="vertical" initialValues={{ timezone: 'Asia/Shanghai' }}
          onFinish={(v) => void create(v)}>
          <Form.Item name="name" label={t('settings.projectName')}
            rules={[{ required: true, message: t('auth.required') }]}>
            <Input data-testid="new-project-name" />
          </Form.Item>
          <Form.Item name="timezone" label={t('settings.timezone')}>
            <Select showSearch options={zones.map((z) => ({ value: z, label: z }))} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

function Header({ projects, current, reload }: {
  projects: ProjectSummary[]; current: ProjectSummary | null; reload: () => void;
}) {
  const { t } = useI18n();
  const { me, logout } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const switchTo = (name: string) => {
    rememberProject(name);
    // Stay on the same screen in the other project, but not on one project's object.
    const screen = location.pathname.split('/')[3] ?? 'overview';
    navigate(`/p/${encodeURIComponent(name)}/${screen}`);
  };
  return (
    <Layout.Header style={{ background: '#fff', padding: '0 16px', display: 'flex',
      alignItems: 'center', gap: 12, borderBottom: '1px solid #f0f0f0' }}>
      <Space style={{ flex: 1 }} wrap>
        {current ? (
          <>
            <Typography.Text type="secondary">{t('header.project')}</Typography.Text>
            <Select
              data-testid="project-switcher"
              style={{ minWidth: 180 }}
              value={current.name}
              onChange={switchTo}
              options={projects.map((p) => ({
                value: p.name,
                label: <span data-testid={`project-option-${p.name}`}>{p.name}</span>,
              }))}
            />
            <Tag data-testid="current-role">{t(`role.${current.role}`)}</Tag>
          </>
        ) : null}
        {me?.user.is_owner ? <NewProjectButton reload={reload} /> : null}
      </Space>
      <LanguageSwitch />
      <Dropdown
        menu={{
          items: [
            { key: 'who', label: <span>{me?.user.email}{me?.user.is_owner
              ? ` · ${t('header.owner')}` : ''}</span>, disabled: true },
            { type: 'divider' },
            { key: 'logout', icon: <LogoutOutlined />,
              label: <span data-testid="sign-out">{t('header.signOut')}</span> },
          ],
          onClick: ({ key }) => { if (key === 'logout') void logout(); },
        }}
      >
        <Button type="text" data-testid="user-menu">
          <Avatar size="small" icon={<UserOutlined />} style={{ marginRight: 6 }} />
          {me?.user.name || me?.user.email}
        </Button>
      </Dropdown>
    </Layout.Header>
  );
}

/** Everything under `/p/:project`: the side menu, the header and the project's context. */
export function ProjectShell() {
  const { t } = useI18n();
  const { project: name = '' } = useParams();
  const location = useLocation();
  const projects = useGet<ProjectSummary[]>('/api/projects');
  const [collapsed, setCollapsed] = useState(false);
  const list = projects.data ?? [];
  const project = list.find((p) => p.name === name);
  const screen = location.pathname.split('/')[3] ?? 'overview';
  const context = useMemo(() => (project ? {
    project, projects: list, reloadProjects: projects.reload,
  } : null), [project, list, projects.reload]);

  if (projects.loading && !projects.data) return <Loading />;
  if (projects.error && !projects.data) {
    return <div style={{ padding: 24 }}><ErrorAlert error={projects.error} onRetry={projects.reload} /></div>;
  }
  if (!project || !context) {
    return (
      <Layout style={{ minHeight: '100vh' }}>
        <Header projects={list} current={null} reload={projects.reload} />
        <Result status="404" title={t('app.notFound')}
          extra={<Link to="/">{t('app.backHome')}</Link>} />
      </Layout>
    );
  }
  rememberProject(project.name);
  const base = `/p/${encodeURIComponent(project.name)}`;
  const item = (n: (typeof NAV)[number]) => ({
    key: n.key, icon: n.icon,
    label: <Link to={`${base}/${n.key}`} data-testid={`nav-${n.key}`}>{t(n.label)}</Link>,
  });
  const items = [
    item(NAV[0]!),
    { key: 'analyses', icon: <BarChartOutlined />, label: t('nav.analyses'),
      type: 'group' as const, children: NAV.filter((n) => n.group).map(item) },
    ...NAV.slice(1).filter((n) => !n.group).map(item),
  ];
  return (
    <ProjectContext.Provider value={context}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Sider collapsible collapsed={collapsed} onCollapse={setCollapsed} theme="light"
          width={208} style={{ borderRight: '1px solid #f0f0f0' }}>
          <div style={{ height: 56, display: 'flex', alignItems: 'center', padding: '0 20px',
            fontWeight: 700, fontSize: 16, color: '#1677ff', whiteSpace: 'nowrap',
            overflow: 'hidden' }}>
            {collapsed ? 'U' : t('app.name')}
          </div>
          <Menu mode="inline" selectedKeys={[screen]} items={items} data-testid="side-menu"
            style={{ borderInlineEnd: 0 }} />
        </Layout.Sider>
        <Layout>
          <Header projects={list} current={project} reload={projects.reload} />
          <Layout.Content style={{ padding: 20, minWidth: 0 }}>
            <Outlet key={project.name} />
          </Layout.Content>
        </Layout>
      </Layout>
    </ProjectContext.Provider>
  );
}
