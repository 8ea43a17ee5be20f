import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ErrorState, Spinner } from '../common/components';
import { ApiError } from '../common/errors';
import { formatTime } from '../common/format';
import { useAsync, useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { PlaybackReporter } from '../common/playbackEvents';
import { useSession } from '../common/session';
import type { Video } from '../common/types';
import { Player } from './Player';
import { VideoCard } from './VideoCard';
import { resumePosition } from './resume';

export function Watch() {
  const { id = '' } = useParams();
  const { t } = useI18n();
  const { api, me, config, auth } = useSession();
  const navigate = useNavigate();

  const data = useAsync(
    async (signal) => {
      let video: Video;
      let draft = false;
      try {
        video = await api.video(id, signal);
      } catch (e) {
        // Admins may preview drafts.
        if (!(me.admin && e instanceof ApiError && e.code === 'not_found')) throw e;
        video = await api.adminVideo(id, signal);
        draft = true;
      }
      const progress = await api.progress(id, signal).catch(() => null);
      return { video, draft, resumeAt: resumePosition(progress, video.duration) };
    },
    [api, id],
  );
  const video = data.status === 'ok' ? data.data.video : undefined;
  useTitle(video?.title ?? '', config.productName);

  const suggestions = useAsync(
    async (signal) => {
      if (!video) return [] as Video[];
      const seen = new Set([video.id]);
      const out: Video[] = [];
      const add = (vs: Video[]) => vs.forEach((v) => !seen.has(v.id) && (seen.add(v.id), out.push(v)));
      if (video.category) add((await api.videos({ category: video.category, limit: 12 }, signal)).items);
      if (out.length < 8 && video.tags[0]) add((await api.videos({ tag: video.tags[0], limit: 12 }, signal)).items);
      if (out.length < 8) add((await api.videos({ sort: 'newest', limit: 12 }, signal)).items);
      return out.slice(0, 8);
    },
    [api, video?.id],
  );

  const [inList, setInList] = useState<boolean | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  useEffect(() => {
    const ctl = new AbortController();
    setInList(null);
    api.inMyList(id, ctl.signal).then(setInList, () => {});
    return () => ctl.abort();
  }, [api, id]);
  const toggleList = async () => {
    setListError(null);
    const was = inList;
    setInList(!was);
    try {
      if (was) await api.removeFromList(id);
      else await api.addToList(id);
    } catch (e) {
      setInList(was);
      setListError(e);
    }
  };

  const getPlayback = useCallback(() => api.playback(id), [api, id]);
  const reportTo = useCallback((session: string) => new PlaybackReporter({ session, tokens: auth }), [auth]);
  const onProgress = useCallback(
    (position: number, duration: number, completed: boolean, leaving: boolean) => {
      void api.saveProgress(id, { position, duration, completed }, leaving).catch(() => {});
    },
    [api, id],
  );
  const next = suggestions.data?.[0];
  const upNext = useMemo(
    () => (next ? { title: next.title, posterUrl: next.posterUrl, go: () => navigate(`/watch/${next.id}`) } : undefined),
    [next, navigate],
  );

  if (data.status === 'loading' && !data.data) return <Spinner />;
  if (data.status === 'error')
    return (
      <>
        <ErrorState error={data.error} onRetry={data.reload} />
        <p style={{ textAlign: 'center' }}>
          <Link to="/">{t('app.home')}</Link>
        </p>
      </>
    );
  const { draft, resumeAt } = data.data!;
  const v = data.data!.video;
  return (
    <div className="watch">
      <div>
        <Player
          key={v.id}
          videoId={v.id}
          title={v.title}
          posterUrl={v.posterUrl}
          getPlayback={getPlayback}
          resumeAt={resumeAt}
          onProgress={onProgress}
          upNext={upNext}
          reportTo={reportTo}
        />
        <div className="watch-info">
          <h1>{v.title}</h1>
          {draft && <p className="status status-queued">{t('watch.draft')}</p>}
          <div className="watch-actions">
            <span className="muted">{formatTime(v.duration)}</span>
            {v.views !== undefined && <span className="muted">· {t('video.views', { count: v.views })}</span>}
            {v.category && (
              <Link className="chip" to={`/search?category=${encodeURIComponent(v.category)}`}>
                {t('watch.category', { category: v.category })}
              </Link>
            )}
            <span className="spacer" style={{ flex: 1 }} />
            <button
              type="button"
              className={`btn${inList ? '' : ' btn-primary'}`}
              onClick={toggleList}
              disabled={inList === null}
              aria-pressed={!!inList}
              data-testid="mylist"
              title={inList ? t('list.removeLabel') : undefined}
            >
              {inList ? t('list.remove') : t('list.add')}
            </button>
          </div>
          {listError != null && <ErrorState error={listError} />}
          {v.description && <p style={{ whiteSpace: 'pre-line' }}>{v.description}</p>}
          {v.tags.length > 0 && (
            <div className="chips" role="group" aria-label={t('watch.tags')}>
              {v.tags.map((tg) => (
                <Link key={tg} className="chip" to={`/search?tag=${encodeURIComponent(tg)}`}>
                  #{tg}
                </Link>
              ))}
            </div>
          )}
          <p className="muted small">{t('watch.shortcuts')}</p>
        </div>
      </div>
      <aside className="suggestions" aria-labelledby="suggestions-title">
        <h2 id="suggestions-title">{t('watch.suggestions')}</h2>
        {suggestions.status === 'loading' && <Spinner />}
        {suggestions.status === 'error' && <ErrorState error={suggestions.error} onRetry={suggestions.reload} />}
        {suggestions.data?.map((s) => <VideoCard key={s.id} video={s} />)}
      </aside>
    </div>
  );
}
