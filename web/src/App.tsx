import { App as AntApp, Button, Result } from 'antd';
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { SessionProvider, useSession } from './auth/session';
import { ErrorAlert } from './components/ErrorAlert';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Loading } from './components/States';
import { I18nProvider, useI18n } from './i18n';
import { LifecyclePage, StickinessPage } from './pages/ActivityPages';
import { LoginPage, SetupPage } from './pages/AuthPages';
import { DashboardPage, DashboardsPage } from './pages/DashboardsPage';
import { DataPage } from './pages/DataPage';
import { FunnelPage } from './pages/FunnelPage';
import { InsightPage, InsightsPage } from './pages/InsightsPage';
import { LayersPage } from './pages/LayersPage';
import { OverviewPage } from './pages/OverviewPage';
import { PersonProfilePage, PersonsPage } from './pages/PersonsPage';
import { RetentionPage } from './pages/RetentionPage';
import { SegmentPage, SegmentsPage } from './pages/SegmentsPage';
import { SettingsPage } from './pages/SettingsPage';
import { TagsPage } from './pages/TagsPage';
import { Home, ProjectShell } from './pages/Shell';
import { TeamPage } from './pages/TeamPage';
import { TrendsPage } from './pages/TrendsPage';

function NotFound() {
  const { t } = useI18n();
  return <Result status="404" title={t('app.notFound')}
    extra={<Link to="/">{t('app.backHome')}</Link>} />;
}

function Routed() {
  const { status, error, refresh } = useSession();
  const { t } = useI18n();
  const location = useLocation();
  if (status === 'loading') return <Loading />;
  if (status === 'error') {
    return (
      <div style={{ padding: 24, maxWidth: 640, margin: '48px auto' }}>
        <ErrorAlert error={error} onRetry={() => void refresh()} />
        <Button onClick={() => void refresh()}>{t('app.retry')}</Button>
      </div>
    );
  }
  if (status === 'setup') {
    return location.pathname === '/setup' ? <SetupPage /> : <Navigate to="/setup" replace />;
  }
  if (status === 'signed-out') {
    if (location.pathname === '/login') return <LoginPage />;
    const back = location.pathname + location.search;
    return <Navigate to={`/login${back !== '/' ? `?next=${encodeURIComponent(back)}` : ''}`}
      replace />;
  }
  if (location.pathname === '/login' || location.pathname === '/setup') {
    const next = new URLSearchParams(location.search).get('next');
    return <Navigate to={next && next.startsWith('/') && !next.startsWith('//') ? next : '/'}
      replace />;
  }
  return (
    <ErrorBoundary resetKey={location.pathname}>
      <Routes>
        <Route path="/" element={<Home />} />
        <Route path="/p/:project" element={<ProjectShell />}>
          <Route index element={<Navigate to="overview" replace />} />
          <Route path="overview" element={<OverviewPage />} />
          <Route path="trends" element={<TrendsPage />} />
          <Route path="funnel" element={<FunnelPage />} />
          <Route path="retention" element={<RetentionPage />} />
          <Route path="lifecycle" element={<LifecyclePage />} />
          <Route path="stickiness" element={<StickinessPage />} />
          <Route path="insights" element={<InsightsPage />} />
          <Route path="insights/:id" element={<InsightPage />} />
          <Route path="dashboards" element={<DashboardsPage />} />
          <Route path="dashboards/:id" element={<DashboardPage />} />
          <Route path="persons" element={<PersonsPage />} />
          <Route path="persons/:personId" element={<PersonProfilePage />} />
          <Route path="segments" element={<SegmentsPage />} />
          <Route path="segments/new" element={<SegmentPage />} />
          <Route path="segments/:segmentId" element={<SegmentPage />} />
          <Route path="layers" element={<LayersPage />} />
          <Route path="tags" element={<TagsPage />} />
          <Route path="data" element={<DataPage />} />
          <Route path="settings" element={<SettingsPage />} />
          <Route path="team" element={<TeamPage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
        <Route path="*" element={<NotFound />} />
      </Routes>
    </ErrorBoundary>
  );
}

export function App() {
  return (
    <I18nProvider>
      <AntApp>
        <BrowserRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
          <SessionProvider>
            <Routed />
          </SessionProvider>
        </BrowserRouter>
      </AntApp>
    </I18nProvider>
  );
}
