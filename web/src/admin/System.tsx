import { useEffect, useId, useState } from 'react';
import { ErrorState, Notice, Spinner, Empty } from '../common/components';
import { ApiError } from '../common/errors';
import { formatDateTime } from '../common/format';
import { useAsync, useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import {
  type ComponentHealth,
  type FormErrors,
  type Problem,
  type SettingsForm,
  type SettingsPage,
  fetchSettings,
  fetchSystem,
  fieldOfParam,
  formChanged,
  saveSettings,
  toForm,
  validateForm,
} from './system';

export function System() {
  const { t } = useI18n();
  const { config } = useSession();
  useTitle(t('system.title'), config.productName);
  return (
    <>
      <h1>{t('system.title')}</h1>
      <SettingsSection />
      <StatusSections />
    </>
  );
}

function SettingsSection() {
  const { t, locale } = useI18n();
  const { api } = useSession();
  const loaded = useAsync((s) => fetchSettings(api, s), [api]);
  const [page, setPage] = useState<SettingsPage | null>(null);
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [errors, setErrors] = useState<FormErrors>({});
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const ids = useId();

  // A (re)load replaces the form: it is the version the next save names.
  useEffect(() => {
    if (loaded.status === 'ok') {
      setPage(loaded.data);
      setForm(toForm(loaded.data.settings));
      setErrors({});
      setConflict(false);
    }
  }, [loaded.status, loaded.data]);

  if (!page || !form) {
    if (loaded.status === 'error') return <ErrorState error={loaded.error} onRetry={loaded.reload} title={t('system.settings')} />;
    return <Spinner />;
  }

  const s = page.settings;
  const set = <K extends keyof SettingsForm>(k: K, v: SettingsForm[K]) => {
    setForm({ ...form, [k]: v });
    setNotice(null);
    if (errors[k]) setErrors({ ...errors, [k]: undefined });
  };
  const changed = formChanged(form, s);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaveError(null);
    setNotice(null);
    const v = validateForm(form, page.limits, s.version);
    setErrors(v.errors);
    if (!v.value) {
      setNotice(t('system.fixErrors'));
      // Take the keyboard to the first field at fault.
      const first = (Object.keys(v.errors) as (keyof SettingsForm)[])[0];
      document.getElementById(`${ids}-${first}`)?.focus();
      return;
    }
    if (!changed) {
      setNotice(t('system.unchanged'));
      return;
    }
    setSaving(true);
    try {
      const next = await saveSettings(api, v.value);
      setPage(next);
      setForm(toForm(next.settings));
      setNotice(t('system.saved', { version: next.settings.version }));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'conflict') setConflict(true);
      else if (err instanceof ApiError && err.code === 'invalid' && fieldOfParam(err.param)) {
        // The server's own words, next to the field it names.
        setErrors({ [fieldOfParam(err.param)!]: { key: 'error.detail', vars: { message: err.message } } as Problem });
      } else setSaveError(err);
    } finally {
      setSaving(false);
    }
  };

  const fieldError = (k: keyof SettingsForm) =>
    errors[k] ? (
      <span id={`${ids}-${k}-error`} className="error-text" role="alert">
        {t(errors[k]!.key, errors[k]!.vars)}
      </span>
    ) : null;
  const described = (k: keyof SettingsForm, hint?: boolean) =>
    [errors[k] ? `${ids}-${k}-error` : '', hint ? `${ids}-${k}-hint` : ''].filter(Boolean).join(' ') || undefined;

  return (
    <section aria-labelledby={`${ids}-settings`} className="upload" style={{ marginBottom: '1.5rem' }}>
      <h2 id={`${ids}-settings`} style={{ margin: 0, fontSize: '1.1rem' }}>
        {t('system.settings')}
      </h2>
      <p className="muted small">
        {s.version === 0
          ? t('system.settingsDefaults')
          : t('system.settingsSaved', { version: s.version, date: formatDateTime(s.updatedAt, locale), who: s.updatedBy || '–' })}{' '}
        {t('system.settingsHint', { seconds: page.refreshSeconds })}
      </p>
      <form className="form" onSubmit={submit} noValidate data-testid="settings-form">
        <div className="form-row">
          <label className="field">
            {t('system.siteName')}
            <input
              id={`${ids}-siteName`}
              value={form.siteName}
              maxLength={page.limits.maxSiteNameLength + 20}
              aria-invalid={!!errors.siteName}
              aria-describedby={described('siteName')}
              onChange={(e) => set('siteName', e.target.value)}
            />
            {fieldError('siteName')}
          </label>
          <label className="field">
            {t('system.maxUploadSize')}
            <input
              id={`${ids}-maxUploadSize`}
              value={form.maxUploadSize}
              inputMode="text"
              aria-invalid={!!errors.maxUploadSize}
              aria-describedby={described('maxUploadSize', true)}
              onChange={(e) => set('maxUploadSize', e.target.value)}
            />
            <span id={`${ids}-maxUploadSize-hint`} className="muted small">
              {t('system.maxUploadSizeHint')}
            </span>
            {fieldError('maxUploadSize')}
          </label>
        </div>
        <div className="form-row">
          <label className="field">
            {t('system.ladder')}
            <input
              id={`${ids}-ladder`}
              value={form.ladder}
              aria-invalid={!!errors.ladder}
              aria-describedby={described('ladder', true)}
              onChange={(e) => set('ladder', e.target.value)}
            />
            <span id={`${ids}-ladder-hint`} className="muted small">
              {t('system.ladderHint')}
            </span>
            {fieldError('ladder')}
          </label>
          <label className="field">
            {t('system.preset')}
            <select
              id={`${ids}-preset`}
              value={form.preset}
              aria-invalid={!!errors.preset}
              aria-describedby={described('preset', true)}
              onChange={(e) => set('preset', e.target.value)}
            >
              {page.limits.presets.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
            <span id={`${ids}-preset-hint`} className="muted small">
              {t('system.presetHint')}
            </span>
            {fieldError('preset')}
          </label>
        </div>
        <label>
          <input id={`${ids}-autoPublish`} type="checkbox" checked={form.autoPublish} onChange={(e) => set('autoPublish', e.target.checked)} />{' '}
          {t('system.autoPublish')}
        </label>
        <label>
          <input id={`${ids}-publicCatalog`} type="checkbox" checked={form.publicCatalog} onChange={(e) => set('publicCatalog', e.target.checked)} />{' '}
          {t('system.publicCatalog')}
        </label>
        {conflict && (
          <div className="notice notice-error" role="alert" data-testid="settings-conflict">
            <span>{t('system.conflict')}</span>
            <button type="button" className="btn btn-small" onClick={loaded.reload}>
              {t('system.reload')}
            </button>
          </div>
        )}
        {saveError != null && <ErrorState error={saveError} />}
        {notice && (
          <Notice kind={Object.values(errors).some(Boolean) ? 'error' : 'success'} onClose={() => setNotice(null)}>
            {notice}
          </Notice>
        )}
        <div className="form-actions">
          <button type="button" className="btn" disabled={!changed || saving} onClick={() => (setForm(toForm(s)), setErrors({}), setNotice(null))}>
            {t('system.reset')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={saving}>
            {saving ? t('app.saving') : t('system.save')}
          </button>
        </div>
      </form>
    </section>
  );
}

function HealthRow({ name, h, extra }: { name: string; h: ComponentHealth; extra?: string }) {
  const { t, locale } = useI18n();
  const ok = h.status === 'ok';
  return (
    <tr>
      <th scope="row">{name}</th>
      <td>
        <span className={`status ${ok ? 'status-ready' : 'status-failed'}`}>{ok ? t('system.ok') : t('system.unreachable')}</span>
      </td>
      <td className="num">{t('system.latency', { ms: h.latencyMs.toLocaleString(locale, { maximumFractionDigits: 1 }) })}</td>
      <td>{extra}</td>
    </tr>
  );
}

function StatusSections() {
  const { t } = useI18n();
  const { api } = useSession();
  const sys = useAsync((s) => fetchSystem(api, s), [api]);
  const [filter, setFilter] = useState('');
  if (!sys.data) {
    if (sys.status === 'error') return <ErrorState error={sys.error} onRetry={sys.reload} />;
    return <Spinner />;
  }
  const d = sys.data;
  const c = d.health.queue.counts;
  const f = filter.trim().toLowerCase();
  const rows = d.config.filter((e) => !f || e.name.includes(f) || e.env.toLowerCase().includes(f) || e.value.toLowerCase().includes(f));
  return (
    <>
      <section aria-labelledby="system-health">
        <div className="toolbar">
          <h2 id="system-health" style={{ fontSize: '1.1rem', margin: 0 }}>
            {t('system.health')}
          </h2>
          <span className="grow" />
          <button type="button" className="btn btn-small" onClick={sys.reload} disabled={sys.status === 'loading'}>
            {sys.status === 'loading' ? t('app.loading') : t('system.refresh')}
          </button>
        </div>
        {sys.status === 'error' && <ErrorState error={sys.error} onRetry={sys.reload} />}
        <div className="table-wrap">
          <table data-testid="system-health">
            <tbody>
              <HealthRow name={t('system.database')} h={d.health.database} />
              <HealthRow name={t('system.objects')} h={d.health.objects} />
              <HealthRow
                name={t('system.queue')}
                h={d.health.queue}
                extra={t('system.jobCounts', { queued: c.queued ?? 0, running: c.running ?? 0, succeeded: c.succeeded ?? 0, failed: c.failed ?? 0 })}
              />
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="system-versions">
        <h2 id="system-versions" style={{ fontSize: '1.1rem' }}>
          {t('system.versions')}
        </h2>
        <div className="table-wrap">
          <table>
            <tbody>
              <tr>
                <th scope="row">Ginflix</th>
                <td>{d.versions.ginflix}</td>
              </tr>
              <tr>
                <th scope="row">Go</th>
                <td>{d.versions.go}</td>
              </tr>
              <tr>
                <th scope="row">FFmpeg</th>
                <td>{d.versions.ffmpeg || t('system.unknown')}</td>
              </tr>
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="system-config">
        <h2 id="system-config" style={{ fontSize: '1.1rem' }}>
          {t('system.config')}
        </h2>
        <p className="muted small">{t('system.configHint')}</p>
        <div className="toolbar">
          <label className="field">
            {t('system.configFilter')}
            <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </label>
        </div>
        {rows.length === 0 ? (
          <Empty>
            <p>{t('system.configEmpty')}</p>
          </Empty>
        ) : (
          <div className="table-wrap">
            <table data-testid="system-config">
              <thead>
                <tr>
                  <th scope="col">{t('system.configName')}</th>
                  <th scope="col">{t('system.configValue')}</th>
                  <th scope="col">{t('system.configSource')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <tr key={e.name}>
                    <td>
                      <code>{e.env}</code>
                      <div className="muted small">--{e.name}</div>
                    </td>
                    <td style={{ wordBreak: 'break-all' }}>{e.value === '' ? <span className="muted">{t('system.notSet')}</span> : e.value}</td>
                    <td>{t(`system.source.${e.source}`)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
