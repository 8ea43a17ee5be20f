import { useState } from 'react';
import { Empty, ErrorState, Notice, Spinner } from '../common/components';
import { formatDateTime } from '../common/format';
import { useAsync, useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import type { User } from '../common/types';

// The server's default role names (GINFLIX_ADMIN_ROLE / GINFLIX_VIEWER_ROLE).
export const ADMIN_ROLE = 'ginflix-admin';
export const VIEWER_ROLE = 'ginflix-user';

export function Users() {
  const { t, locale } = useI18n();
  const { api, config, me } = useSession();
  useTitle(t('users.title'), config.productName);
  const list = useAsync((s) => api.users(s), [api]);
  const [form, setForm] = useState({ email: '', name: '', password: '', admin: false });
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [actionError, setActionError] = useState<unknown>(null);

  if (!config.managesUsers)
    return (
      <>
        <h1>{t('users.title')}</h1>
        <Empty>
          <p>{t('users.external')}</p>
        </Empty>
      </>
    );

  const users = list.data?.items ?? [];
  const replace = (u: User) => list.data && list.setData({ ...list.data, items: list.data.items.map((x) => (x.id === u.id ? u : x)) });

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setCreating(true);
    setCreateError(null);
    setNotice(null);
    try {
      const u = await api.createUser({
        email: form.email.trim(),
        name: form.name.trim() || undefined,
        password: form.password,
        roles: [form.admin ? ADMIN_ROLE : VIEWER_ROLE],
      });
      setNotice(t('users.created', { email: u.email }));
      setForm({ email: '', name: '', password: '', admin: false });
      list.reload();
    } catch (err) {
      setCreateError(err);
    } finally {
      setCreating(false);
    }
  };

  const patch = async (u: User, p: { roles?: string[]; disabled?: boolean }) => {
    setBusy((b) => ({ ...b, [u.id]: true }));
    setActionError(null);
    try {
      replace(await api.patchUser(u.id, p));
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy((b) => ({ ...b, [u.id]: false }));
    }
  };

  return (
    <>
      <h1>{t('users.title')}</h1>
      <section aria-labelledby="create-user" className="upload" style={{ marginBottom: '1.5rem' }}>
        <h2 id="create-user" style={{ margin: 0, fontSize: '1.1rem' }}>
          {t('users.create')}
        </h2>
        <form className="form" onSubmit={create}>
          <div className="form-row">
            <label className="field">
              {t('users.email')}
              <input type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} autoComplete="off" />
            </label>
            <label className="field">
              {t('users.name')}
              <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} autoComplete="off" />
            </label>
            <label className="field">
              {t('users.password')}
              <input type="password" required minLength={10} maxLength={1024} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} autoComplete="new-password" />
            </label>
            <label className="field">
              {t('users.role')}
              <select value={form.admin ? 'admin' : 'viewer'} onChange={(e) => setForm({ ...form, admin: e.target.value === 'admin' })}>
                <option value="viewer">{t('users.roleViewer')}</option>
                <option value="admin">{t('users.roleAdmin')}</option>
              </select>
            </label>
          </div>
          {createError != null && <ErrorState error={createError} />}
          {notice && (
            <Notice kind="success" onClose={() => setNotice(null)}>
              {notice}
            </Notice>
          )}
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={creating}>
              {creating ? t('app.saving') : t('users.create')}
            </button>
          </div>
        </form>
      </section>
      {actionError != null && <ErrorState error={actionError} />}
      {list.status === 'loading' && !list.data && <Spinner />}
      {list.status === 'error' && <ErrorState error={list.error} onRetry={list.reload} />}
      {list.data && users.length === 0 && (
        <Empty>
          <p>{t('users.empty')}</p>
        </Empty>
      )}
      {users.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('users.email')}</th>
                <th scope="col">{t('users.name')}</th>
                <th scope="col">{t('users.role')}</th>
                <th scope="col">{t('users.status')}</th>
                <th scope="col">{t('content.colCreated')}</th>
                <th scope="col">{t('users.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => {
                const isAdmin = u.roles.includes(ADMIN_ROLE);
                const self = u.id === me.subject;
                return (
                  <tr key={u.id} data-user-email={u.email}>
                    <td>
                      {u.email} {self && <span className="muted small">{t('users.you')}</span>}
                    </td>
                    <td>{u.name || '–'}</td>
                    <td>
                      <select
                        aria-label={t('users.changeRole', { email: u.email })}
                        value={isAdmin ? 'admin' : 'viewer'}
                        disabled={busy[u.id] || self}
                        onChange={(e) => void patch(u, { roles: [e.target.value === 'admin' ? ADMIN_ROLE : VIEWER_ROLE] })}
                      >
                        <option value="viewer">{t('users.roleViewer')}</option>
                        <option value="admin">{t('users.roleAdmin')}</option>
                      </select>
                    </td>
                    <td>
                      <span className={`status ${u.disabled ? 'status-failed' : 'status-ready'}`}>{u.disabled ? t('users.disabled') : t('users.active')}</span>
                    </td>
                    <td className="num">{formatDateTime(u.createdAt, locale)}</td>
                    <td>
                      <button type="button" className="btn btn-small" disabled={busy[u.id] || self} onClick={() => void patch(u, { disabled: !u.disabled })}>
                        {u.disabled ? t('users.enable') : t('users.disable')}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
