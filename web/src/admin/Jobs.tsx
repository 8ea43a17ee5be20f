import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Empty, ErrorState, Notice, ProgressBar, Spinner } from '../common/components';
import { ApiError } from '../common/errors';
import { formatDateTime, formatEta, formatPercent } from '../common/format';
import { useTitle, useVisibleInterval } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import type { Job, JobState, Video } from '../common/types';

const POLL_SECONDS = 3;

export function Jobs() {
  const { t, locale } = useI18n();
  const { api, config } = useSession();
  useTitle(t('jobs.title'), config.productName);
  const [params, setParams] = useSearchParams();
  const state = (params.get('state') ?? '') as JobState | '';
  const videoFilter = params.get('video') ?? '';
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [videos, setVideos] = useState<Record<string, Video | null>>({});
  const [retrying, setRetrying] = useState<Record<string, boolean>>({});
  const [actionError, setActionError] = useState<unknown>(null);
  const inflight = useRef(false);

  const load = useCallback(async () => {
    if (inflight.current) return;
    inflight.current = true;
    try {
      const [page, vids] = await Promise.all([
        api.jobs({ state, videoId: videoFilter, limit: 100 }),
        api.adminVideos({ limit: 100, sort: 'newest' }),
      ]);
      const known: Record<string, Video | null> = {};
      for (const v of vids.items) known[v.id] = v;
      // Videos beyond the first page of the content list: look them up once.
      const missing = [...new Set(page.items.map((j) => j.videoId))].filter((id) => !(id in known));
      await Promise.all(
        missing.map(async (id) => {
          try {
            known[id] = await api.adminVideo(id);
          } catch (e) {
            if (e instanceof ApiError && e.code === 'not_found') known[id] = null;
          }
        }),
      );
      setVideos((prev) => ({ ...prev, ...known }));
      setJobs(page.items);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      inflight.current = false;
    }
  }, [api, state, videoFilter]);

  useEffect(() => {
    setJobs(null);
    void load();
  }, [load]);
  useVisibleInterval(() => void load(), POLL_SECONDS * 1000);

  const retry = async (videoId: string) => {
    setRetrying((r) => ({ ...r, [videoId]: true }));
    setActionError(null);
    try {
      await api.retryVideo(videoId);
      await load();
    } catch (e) {
      setActionError(e);
    } finally {
      setRetrying((r) => ({ ...r, [videoId]: false }));
    }
  };

  const setFilter = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };

  return (
    <>
      <h1>{t('jobs.title')}</h1>
      <div className="toolbar">
        <label className="field">
          {t('jobs.state')}
          <select value={state} onChange={(e) => setFilter('state', e.target.value)}>
            <option value="">{t('jobs.allStates')}</option>
            {(['queued', 'running', 'succeeded', 'failed'] as const).map((s) => (
              <option key={s} value={s}>
                {t(`jobs.state.${s}`)}
              </option>
            ))}
          </select>
        </label>
        {videoFilter && (
          <button type="button" className="chip" aria-pressed="true" onClick={() => setFilter('video', '')}>
            {videos[videoFilter]?.title ?? videoFilter} ×
          </button>
        )}
        <span className="grow" />
        <span className="muted small">{t('jobs.live', { seconds: POLL_SECONDS })}</span>
      </div>
      {actionError != null && <ErrorState error={actionError} />}
      {error != null && jobs && <Notice kind="error">{t('error.network')}</Notice>}
      {error != null && !jobs && <ErrorState error={error} onRetry={() => void load()} />}
      {!jobs && error == null && <Spinner />}
      {jobs && jobs.length === 0 && (
        <Empty>
          <p>{t('jobs.empty')}</p>
        </Empty>
      )}
      {jobs && jobs.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('jobs.video')}</th>
                <th scope="col">{t('jobs.state')}</th>
                <th scope="col">{t('jobs.progress')}</th>
                <th scope="col">{t('jobs.eta')}</th>
                <th scope="col">{t('jobs.attempts')}</th>
                <th scope="col">{t('jobs.updated')}</th>
                <th scope="col">{t('jobs.error')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('content.colActions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => {
                const v = videos[j.videoId];
                const failed = j.state === 'failed' || v?.status === 'failed';
                return (
                  <tr key={j.id} data-job-state={j.state} data-video-id={j.videoId} data-video-status={v?.status ?? ''}>
                    <td>
                      {v ? (
                        <>
                          <Link to={`/content?q=${encodeURIComponent(v.title)}`}>{v.title || t('content.untitled')}</Link>{' '}
                          <span className={`status status-${v.status}`}>{t(`status.${v.status}`)}</span>
                        </>
                      ) : v === null ? (
                        <span className="muted">{t('jobs.deleted')}</span>
                      ) : (
                        <code>{j.videoId}</code>
                      )}
                    </td>
                    <td>
                      <span className={`status status-${j.state}`}>{t(`jobs.state.${j.state}`)}</span>
                    </td>
                    <td style={{ minWidth: '9rem' }}>
                      <ProgressBar value={j.progress} label={t('jobs.progress')} />
                      <span className="muted small">{formatPercent(j.progress, locale)}</span>
                    </td>
                    <td className="num">{j.state === 'running' ? formatEta(j.etaSeconds) : '–'}</td>
                    <td className="num">
                      {j.attempts}/{j.maxAttempts}
                    </td>
                    <td className="num">{formatDateTime(j.updatedAt, locale)}</td>
                    <td>
                      {j.error && <span className="error-text">{j.error}</span>}
                      {j.state === 'queued' && j.attempts > 0 && new Date(j.runAfter) > new Date() && (
                        <span className="muted small"> {t('jobs.nextTry', { time: formatDateTime(j.runAfter, locale) })}</span>
                      )}
                    </td>
                    <td>
                      {failed && v !== null && (
                        <button type="button" className="btn btn-small" onClick={() => void retry(j.videoId)} disabled={retrying[j.videoId]}>
                          {retrying[j.videoId] ? t('jobs.retrying') : t('jobs.retry')}
                        </button>
                      )}
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
