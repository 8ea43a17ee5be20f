// Sign-in with OpenID Connect (authorization code + PKCE S256) through
// oidc-client-ts, against the issuer /api/config names.
//
// Tokens are kept in localStorage so that every tab (and both apps, which
// share the origin and the client) share one session. Refresh tokens rotate
// and a reused one revokes the whole session, so two tabs must never
// refresh at once: renewal runs under a Web Lock and first re-reads the
// stored user, which another tab may just have renewed.

import { ErrorResponse, User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { PublicConfig } from './types';

export type AuthState =
  | { status: 'loading' }
  | { status: 'signedOut'; reason?: 'expired' | 'signedOut' }
  | { status: 'signedIn'; user: User };

type Listener = () => void;

/** Where an app lives: "/" or "/admin/" (Vite's BASE_URL). */
export function appBase(): string {
  const b = import.meta.env.BASE_URL || '/';
  return b.endsWith('/') ? b : b + '/';
}

const RENEW_LOCK = 'ginflix-token-renew';
const RENEW_BEFORE_S = 60;

export class Auth {
  readonly mgr: UserManager;
  private state: AuthState = { status: 'loading' };
  private listeners = new Set<Listener>();
  private renewing: Promise<User | null> | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private storageKey: string;

  constructor(readonly config: PublicConfig) {
    const origin = window.location.origin;
    const base = appBase();
    const store = new WebStorageStateStore({ store: window.localStorage });
    this.mgr = new UserManager({
      authority: config.issuer,
      client_id: config.clientId,
      redirect_uri: `${origin}${base}auth/callback`,
      silent_redirect_uri: `${origin}${base}auth/silent`,
      post_logout_redirect_uri: `${origin}${base}`,
      response_type: 'code',
      scope: config.scopes.join(' '),
      userStore: store,
      stateStore: store,
      automaticSilentRenew: false, // done here, under a cross-tab lock
      loadUserInfo: false,
      monitorSession: false,
      revokeTokensOnSignout: false,
    });
    this.storageKey = `oidc.user:${config.issuer}:${config.clientId}`;
  }

  getState(): AuthState {
    return this.state;
  }

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  private set(state: AuthState) {
    this.state = state;
    for (const l of this.listeners) l();
  }

  /** Loads the stored session (renewing it if it expired) and starts the renewal timer. */
  async init(): Promise<void> {
    let user = await this.mgr.getUser();
    if (user && (user.expired || (user.expires_in ?? 0) < RENEW_BEFORE_S)) {
      user = user.refresh_token ? await this.renew() : null;
      if (!user) await this.mgr.removeUser();
    }
    this.set(user ? { status: 'signedIn', user } : { status: 'signedOut' });
    this.timer = setInterval(() => void this.tick(), 15_000);
    window.addEventListener('storage', (e) => {
      if (e.key === this.storageKey) void this.syncFromStorage();
    });
    void this.mgr.clearStaleState();
  }

  private async syncFromStorage() {
    const user = await this.mgr.getUser();
    if (user && !user.expired) this.set({ status: 'signedIn', user });
    else if (!user && this.state.status === 'signedIn') this.set({ status: 'signedOut', reason: 'signedOut' });
  }

  private async tick() {
    if (this.state.status !== 'signedIn') return;
    const user = await this.mgr.getUser();
    if (!user) return this.set({ status: 'signedOut', reason: 'signedOut' });
    if ((user.expires_in ?? 0) < RENEW_BEFORE_S) await this.renew();
  }

  /** A valid access token, renewing first when it is about to expire. */
  async getAccessToken(): Promise<string | null> {
    let user = await this.mgr.getUser();
    if (!user) return null;
    if (user.expired || (user.expires_in ?? 0) < 10) user = await this.renew();
    return user?.access_token ?? null;
  }

  /** After a 401: renew once (another tab may have rotated the tokens). */
  async renewAfterUnauthorized(): Promise<boolean> {
    return (await this.renew(true)) !== null;
  }

  /**
   * Renews the tokens (refresh token grant; an iframe with prompt=none when
   * there is no refresh token). A refusal by the provider signs out; a
   * network failure keeps the session for the next try.
   */
  renew(force = false): Promise<User | null> {
    if (this.renewing) return this.renewing;
    const run = async (): Promise<User | null> => {
      const current = await this.mgr.getUser();
      if (!current) return null;
      if (!force && !current.expired && (current.expires_in ?? 0) >= RENEW_BEFORE_S) return current;
      try {
        const user = await this.mgr.signinSilent();
        if (user) this.set({ status: 'signedIn', user });
        return user;
      } catch (e) {
        if (e instanceof ErrorResponse) {
          // invalid_grant, login_required…: the session is over.
          await this.mgr.removeUser();
          this.set({ status: 'signedOut', reason: 'expired' });
          return null;
        }
        return current.expired ? null : current;
      }
    };
    const locked: Promise<User | null> =
      typeof navigator !== 'undefined' && navigator.locks
        ? (navigator.locks.request(RENEW_LOCK, run) as unknown as Promise<User | null>)
        : run();
    const p = locked.finally(() => {
      this.renewing = null;
    });
    this.renewing = p;
    return p;
  }

  /** Sends the browser to the provider's sign-in page. */
  signIn(returnTo = window.location.pathname + window.location.search): Promise<void> {
    return this.mgr.signinRedirect({ state: { returnTo } });
  }

  /** Ends the session at the provider, which comes back to the app's home. */
  async signOut(): Promise<void> {
    const user = await this.mgr.getUser();
    if (!user) {
      this.set({ status: 'signedOut', reason: 'signedOut' });
      return;
    }
    try {
      await this.mgr.signoutRedirect({ id_token_hint: user.id_token });
    } catch {
      await this.mgr.removeUser();
      this.set({ status: 'signedOut', reason: 'signedOut' });
    }
  }

  /**
   * Finishes a sign-in at /auth/callback and returns where to go next. A
   * code can be redeemed only once (a replay revokes the session), so this
   * runs once per page load even if React mounts twice.
   */
  handleCallback(): Promise<string> {
    callbackOnce ??= (async () => {
      const user = await this.mgr.signinRedirectCallback();
      this.set({ status: 'signedIn', user });
      const st = user.state as { returnTo?: string } | undefined;
      const back = st?.returnTo;
      // Only paths of this app; never an absolute URL.
      return back && back.startsWith('/') && !back.startsWith('//') && !back.includes('/auth/') ? back : appBase();
    })();
    return callbackOnce;
  }

  dispose() {
    clearInterval(this.timer);
  }
}

let callbackOnce: Promise<string> | undefined;

/** In the silent-renew iframe at /auth/silent: hand the answer to the parent. */
export async function handleSilentCallback(config: PublicConfig): Promise<void> {
  const auth = new Auth(config);
  await auth.mgr.signinSilentCallback();
}

/** The claims of a JWT, unverified (for display only; the API decides). */
export function decodeJwt(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const json = decodeURIComponent(
      Array.from(atob(b64), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}
