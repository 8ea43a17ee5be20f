import { useEffect, useState } from 'react';
import { BrowserRouter, Link, NavLink, Route, Routes, useLocation, useNavigate, useSearchParams } from 'react-router';
import { Empty, LanguageSwitch } from '../common/components';
import { I18nProvider, useI18n } from '../common/i18n-react';
import { Boot, useSession } from '../common/session';
import { Home } from './Home';
import { MyList } from './MyList';
import { Search } from './Search';
import { Watch } from './Watch';

export function App() {
  return (
    <I18nProvider>
      <Tagline />
    </I18nProvider>
  );
}

function Tagline() {
  const { t } = useI18n();
  return (
    <Boot tagline={t('auth.welcome')}>
      <BrowserRouter>
        <Layout />
      </BrowserRouter>
    </Boot>
  );
}

function HeaderSearch() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const [params] = useSearchParams();
  const onSearch = location.pathname === '/search';
  const [value, setValue] = useState(onSearch ? (params.get('q') ?? '') : '');
  useEffect(() => {
    if (onSearch) setValue(params.get('q') ?? '');
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [onSearch, params.get('q')]);
  const update = (q: string) => {
    setValue(q);
    const next = onSearch ? new URLSearchParams(params) : new URLSearchParams();
    if (q) next.set('q', q);
    else next.delete('q');
    const s = next.toString();
    navigate(`/search${s ? `?${s}` : ''}`, { replace: onSearch });
  };
  return (
    <form className="search" role="search" onSubmit={(e) => e.preventDefault()}>
      <label className="visually-hidden" htmlFor="q">
        {t('search.label')}
      </label>
      <input id="q" type="search" value={value} placeholder={t('search.placeholder')} onChange={(e) => update(e.target.value)} autoComplete="off" />
    </form>
  );
}

function Layout() {
  const { t } = useI18n();
  const { config, me, auth } = useSession();
  return (
    <>
      <a className="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          {config.productName}
        </Link>
        <nav aria-label={t('nav.menu')}>
          <NavLink to="/" end>
            {t('nav.home')}
          </NavLink>
          <NavLink to="/search">{t('nav.search')}</NavLink>
          <NavLink to="/list">{t('nav.myList')}</NavLink>
          {me.admin && <a href="/admin/">{t('nav.admin')}</a>}
        </nav>
        <HeaderSearch />
        <div className="user-menu">
          <span className="who">{me.name || me.email}</span>
          <LanguageSwitch />
          <button type="button" className="btn btn-small" onClick={() => void auth.signOut()}>
            {t('auth.signOut')}
          </button>
        </div>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Home />} />
          <Route path="/search" element={<Search />} />
          <Route path="/list" element={<MyList />} />
          <Route path="/watch/:id" element={<Watch />} />
          <Route
            path="*"
            element={
              <Empty>
                <p>{t('app.notFound')}</p>
                <Link to="/">{t('app.home')}</Link>
              </Empty>
            }
          />
        </Routes>
      </main>
    </>
  );
}
