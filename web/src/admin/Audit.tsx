import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Empty, ErrorState, Spinner } from '../common/components';
import { formatDateTime } from '../common/format';
import { useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, fetchAudit } from './system';

const PAGE = 50;

export function Audit() {
  const { t, locale } = useI18n();
  const { api, config } = useSession();
  useTitle(t('audit.title'), config.productName);
  const [params, setParams] = useSearchParams();
  const action = (params.get('action') ?? '') as AuditAction | '';
  const target = params.get('target') ?? '';
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const gen = useRef(0);

  // Changing a filter starts over; answers of an older filter are dropped.
  const loadFirst = useCallback(() => {
    const mine = ++gen.current;
    const ctl = new AbortController();
    setItems(null);
    setError(null);
    fetchAudit(api, { action, target, limit: PAGE }, ctl.signal).then(
      (p) => {
        if (mine !== gen.current) return;
        setItems(p.items);
        setNext(p.next);
      },
      (e) => mine === gen.current && !ctl.signal.aborted && setError(e),
    );
    return () => ctl.abort();
  }, [api, action, target]);
  useEffect(() => loadFirst(), [loadFirst]);

  const loadMore = async () => {
    const mine = gen.current;
    setLoadingMore(true);
    setError(null);
    try {
      const p = await fetchAudit(api, { action, target, limit: PAGE, cursor: next });
      if (mine !== gen.current) return;
      setItems((prev) => [...(prev ?? []), ...p.items]);
      setNext(p.next);
    } catch (e) {
      if (mine === gen.current) setError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  const setFilter = (k: string, v: string) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v);
    else p.delete(k);
    setParams(p, { replace: true });
  };

  return (
    <>
      <h1>{t('audit.title')}</h1>
      <div className="toolbar">
        <label className="field">
          {t('audit.action')}
          <select value={action} onChange={(e) => setFilter('action', e.target.value)}>
            <option value="">{t('audit.allActions')}</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {t(`audit.action.${a}`)}
              </option>
            ))}
          </select>
        </label>
        {target && (
          <button type="button" className="chip" aria-pressed="true" aria-label={t('audit.clearTarget', { target })} onClick={() => setFilter('target', '')}>
            {target} ×
          </button>
        )}
      </div>
      {error != null && !items && <ErrorState error={error} onRetry={loadFirst} />}
      {!items && error == null && <Spinner />}
      {items && items.length === 0 && (
        <Empty>
          <p>{action || target ? t('audit.emptyFiltered') : t('audit.empty')}</p>
        </Empty>
      )}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">{t('audit.when')}</th>
                <th scope="col">{t('audit.who')}</th>
                <th scope="col">{t('audit.action')}</th>
                <th scope="col">{t('audit.target')}</th>
                <th scope="col">{t('audit.detail')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} data-action={e.action}>
                  <td className="num">{formatDateTime(e.at, locale)}</td>
                  <td>
                    {e.actorName || e.actorEmail || e.actorId}
                    {e.actorName && e.actorEmail && <div className="muted small">{e.actorEmail}</div>}
                  </td>
                  <td>{t(`audit.action.${e.action}`)}</td>
                  <td>
                    {/* The target's whole history is one click away. */}
                    <Link to={`?target=${encodeURIComponent(`${e.targetType}:${e.targetId}`)}`}>
                      {t(`audit.targetType.${e.targetType}`)}
                      {e.targetType !== 'settings' && <span className="muted small"> {e.targetId.slice(0, 8)}…</span>}
                    </Link>
                  </td>
                  <td style={{ wordBreak: 'break-word' }}>{e.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {items && error != null && <ErrorState error={error} onRetry={() => void loadMore()} />}
      {items && next && (
        <div className="form-actions" style={{ justifyContent: 'center', marginTop: '1rem' }}>
          <button type="button" className="btn" onClick={() => void loadMore()} disabled={loadingMore}>
            {loadingMore ? t('app.loading') : t('app.loadMore')}
          </button>
        </div>
      )}
    </>
  );
}
