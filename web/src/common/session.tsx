// Bootstraps an app: /api/config, then the OpenID session, then /api/me.
// Every step has a visible loading and error state.

import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { Api, fetchConfig } from './api';
import { appBase, Auth, handleSilentCallback, type AuthState } from './auth';
import { ErrorState, FullPage, LanguageSwitch, Spinner } from './components';
import { ApiError } from './errors';
import { useI18n } from './i18n-react';
import type { Me, PublicConfig } from './types';

export interface Session {
  config: PublicConfig;
  auth: Auth;
  api: Api;
  me: Me;
}

const SessionCtx = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionCtx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The path below the app's base: "auth/callback" for /admin/auth/callback. */
function localPath(): string {
  const base = appBase();
  const p = window.location.pathname;
  return p.startsWith(base) ? p.slice(base.length) : p.replace(/^\//, '');
}

export function Boot({ tagline, children }: { tagline: string; children: ReactNode }) {
  const { t } = useI18n();
  const [config, setConfig] = useState<PublicConfig | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    fetchConfig(ctl.signal).then(setConfig, (e) => !ctl.signal.aborted && setError(e));
    return () => ctl.abort();
  }, [nonce]);
  if (error)
    return (
      <FullPage>
        <ErrorState title={t('app.configError')} error={error} onRetry={() => setNonce((n) => n + 1)} />
      </FullPage>
    );
  if (!config)
    return (
      <FullPage>
        <Spinner />
      </FullPage>
    );
  if (localPath() === 'auth/silent') return <SilentCallback config={config} />;
  return (
    <AuthGate config={config} tagline={tagline}>
      {children}
    </AuthGate>
  );
}

function SilentCallback({ config }: { config: PublicConfig }) {
  useEffect(() => {
    void handleSilentCallback(config).catch(() => {});
  }, [config]);
  return null;
}

let initOnce: Promise<void> | undefined;

function AuthGate({ config, tagline, children }: { config: PublicConfig; tagline: string; children: ReactNode }) {
  const { t } = useI18n();
  const auth = useMemo(() => new Auth(config), [config]);
  const api = useMemo(() => new Api(auth), [auth]);
  const state: AuthState = useSyncExternalStore(auth.subscribe, () => auth.getState());
  const [callbackError, setCallbackError] = useState<unknown>(null);

  useEffect(() => {
    initOnce ??= (async () => {
      if (localPath() === 'auth/callback') {
        try {
          const back = await auth.handleCallback();
          window.history.replaceState(null, '', back);
        } catch (e) {
          setCallbackError(e);
          window.history.replaceState(null, '', appBase());
        }
      }
      await auth.init();
    })();
  }, [auth]);

  if (state.status === 'loading')
    return (
      <FullPage>
        <Spinner label={localPath() === 'auth/callback' ? t('auth.signingIn') : undefined} />
      </FullPage>
    );
  if (state.status === 'signedOut')
    return (
      <SignInScreen
        product={config.productName}
        tagline={tagline}
        message={callbackError ? t('auth.callbackError') : state.reason === 'expired' ? t('auth.expired') : state.reason === 'signedOut' ? t('auth.signedOut') : undefined}
        onSignIn={() => void auth.signIn()}
      />
    );
  return (
    <MeLoader config={config} auth={auth} api={api}>
      {children}
    </MeLoader>
  );
}

function MeLoader({ config, auth, api, children }: { config: PublicConfig; auth: Auth; api: Api; children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    api.me(ctl.signal).then(setMe, (e) => !ctl.signal.aborted && setError(e));
    return () => ctl.abort();
  }, [api, nonce]);
  const session = useMemo(() => (me ? { config, auth, api, me } : null), [config, auth, api, me]);
  if (error)
    return (
      <FullPage>
        <ErrorState
          error={error}
          onRetry={() => (error instanceof ApiError && error.code === 'unauthorized' ? void auth.signIn() : setNonce((n) => n + 1))}
        />
      </FullPage>
    );
  if (!session)
    return (
      <FullPage>
        <Spinner />
      </FullPage>
    );
  return <SessionCtx.Provider value={session}>{children}</SessionCtx.Provider>;
}

export function SignInScreen({ product, tagline, message, onSignIn }: { product: string; tagline: string; message?: string; onSignIn: () => void }) {
  const { t } = useI18n();
  return (
    <div className="signin">
      <div className="signin-lang">
        <LanguageSwitch />
      </div>
      <main className="signin-card">
        <h1 className="brand brand-big">{product}</h1>
        <p>{tagline}</p>
        {message && (
          <p className="notice notice-info" role="status">
            {message}
          </p>
        )}
        <button type="button" className="btn btn-primary btn-big" onClick={onSignIn} autoFocus>
          {t('auth.signIn')}
        </button>
      </main>
    </div>
  );
}
