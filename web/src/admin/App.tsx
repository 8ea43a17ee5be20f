import { lazy, Suspense } from 'react';
import { BrowserRouter, Link, Navigate, NavLink, Route, Routes } from 'react-router';
import { Empty, FullPage, LanguageSwitch, Spinner } from '../common/components';
import { I18nProvider, useI18n } from '../common/i18n-react';
import { Boot, useSession } from '../common/session';
import { Content } from './Content';
import { Jobs } from './Jobs';
import { Upload } from './Upload';
import { Users } from './Users';
import { Audit } from './Audit';
import { System } from './System';

// The analytics pages bring recharts: loaded when first opened.
const Analytics = lazy(() => import('./Analytics').then((m) => ({ default: m.Analytics })));
const AnalyticsVideo = lazy(() => import('./AnalyticsVideo').then((m) => ({ default: m.AnalyticsVideo })));

export function App() {
  return (
    <I18nProvider>
      <AdminBoot />
    </I18nProvider>
  );
}

function AdminBoot() {
  const { t } = useI18n();
  return (
    <Boot tagline={t('auth.welcomeAdmin')}>
      <AdminOnly>
        <BrowserRouter basename="/admin">
          <Shell />
        </BrowserRouter>
      </AdminOnly>
    </Boot>
  );
}

/** Signed in without the admin role: a clear refusal, with the ways out. */
function AdminOnly({ children }: { children: React.ReactNode }) {
  const { t } = useI18n();
  const { me, auth } = useSession();
  if (me.admin) return <>{children}</>;
  return (
    <FullPage>
      <main className="signin-card" role="alert" data-testid="forbidden">
        <h1>{t('admin.forbiddenTitle')}</h1>
        <p>{t('admin.forbidden', { account: me.email || me.name || me.subject })}</p>
        <div className="form-actions" style={{ justifyContent: 'center' }}>
          <a className="btn btn-primary" href="/">
            {t('nav.viewer')}
          </a>
          <button type="button" className="btn" onClick={() => void auth.signOut()}>
            {t('auth.signOut')}
          </button>
        </div>
        <LanguageSwitch />
      </main>
    </FullPage>
  );
}

function Shell() {
  const { t } = useI18n();
  const { config, me, auth } = useSession();
  return (
    <div className="admin-shell">
      <a className="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <aside className="admin-side">
        <Link to="/" className="brand">
          {config.productName} <span className="muted small">admin</span>
        </Link>
        <nav aria-label={t('nav.menu')}>
          <NavLink to="/upload">{t('admin.nav.upload')}</NavLink>
          <NavLink to="/jobs">{t('admin.nav.jobs')}</NavLink>
          <NavLink to="/content">{t('admin.nav.content')}</NavLink>
          <NavLink to="/analytics">{t('admin.nav.analytics')}</NavLink>
          {config.managesUsers && <NavLink to="/users">{t('admin.nav.users')}</NavLink>}
          <NavLink to="/system">{t('admin.nav.system')}</NavLink>
          <NavLink to="/audit">{t('admin.nav.audit')}</NavLink>
        </nav>
        <span className="grow" />
        <a href="/" className="small">
          ← {t('nav.viewer')}
        </a>
        <div className="user-menu" style={{ flexWrap: 'wrap' }}>
          <span className="who">{me.name || me.email}</span>
          <LanguageSwitch />
          <button type="button" className="btn btn-small" onClick={() => void auth.signOut()}>
            {t('auth.signOut')}
          </button>
        </div>
      </aside>
      <main id="main" className="admin-main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/upload" replace />} />
          <Route path="/upload" element={<Upload />} />
          <Route path="/jobs" element={<Jobs />} />
          <Route path="/content" element={<Content />} />
          <Route path="/users" element={<Users />} />
          <Route path="/system" element={<System />} />
          <Route path="/audit" element={<Audit />} />
          <Route path="/analytics" element={<Suspense fallback={<Spinner />}><Analytics /></Suspense>} />
          <Route path="/analytics/videos/:id" element={<Suspense fallback={<Spinner />}><AnalyticsVideo /></Suspense>} />
          <Route
            path="*"
            element={
              <Empty>
                <p>{t('app.notFound')}</p>
                <Link to="/upload">{t('app.home')}</Link>
              </Empty>
            }
          />
        </Routes>
      </main>
    </div>
  );
}
