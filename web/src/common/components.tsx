import { useEffect, useRef, type ReactNode } from 'react';
import { ApiError, errorKey, isRetryable } from './errors';
import { useI18n } from './i18n-react';
import { LANGS, type Lang } from './i18n';

export function Spinner({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label ?? t('app.loading')}</span>
    </div>
  );
}

export function FullPage({ children }: { children: ReactNode }) {
  return <div className="full-page">{children}</div>;
}

/** An error, explained in the UI language, with the server's detail and a retry when it may help. */
export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const { t } = useI18n();
  const detail =
    error instanceof ApiError && (error.code === 'invalid' || error.code === 'conflict') ? error.message : undefined;
  const retryable = !(error instanceof ApiError) || isRetryable(error) || error.code === 'unauthorized';
  return (
    <div className="state state-error" role="alert">
      {title && <strong>{title}</strong>}
      <p>{t(errorKey(error))}</p>
      {detail && <p className="muted small">{t('error.detail', { message: detail })}</p>}
      {error instanceof ApiError && error.requestId && <p className="muted small">ID : {error.requestId}</p>}
      {onRetry && retryable && (
        <button type="button" className="btn" onClick={onRetry}>
          {t('app.retry')}
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="lang-switch">
      <span className="visually-hidden">{t('app.language')}</span>
      <select value={lang} onChange={(e) => setLang(e.target.value as Lang)} aria-label={t('app.language')}>
        {LANGS.map((l) => (
          <option key={l} value={l}>
            {l === 'fr' ? 'Français' : 'English'}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const v = Math.max(0, Math.min(100, value));
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(v)} aria-label={label}>
      <div className="progress-fill" style={{ width: `${v}%` }} />
    </div>
  );
}

/** A modal dialog (native <dialog>: focus trap, Escape closes). */
export function Modal({ open, onClose, title, children }: { open: boolean; onClose: () => void; title: string; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="modal" onClose={onClose} aria-labelledby="modal-title">
      {open && (
        <>
          <h2 id="modal-title">{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}

/** A short message that announces itself to screen readers. */
export function Notice({ kind = 'info', children, onClose }: { kind?: 'info' | 'error' | 'success'; children: ReactNode; onClose?: () => void }) {
  const { t } = useI18n();
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <span>{children}</span>
      {onClose && (
        <button type="button" className="btn-icon" onClick={onClose} aria-label={t('app.close')}>
          ×
        </button>
      )}
    </div>
  );
}
