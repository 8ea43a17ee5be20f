import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Empty, ErrorState, Spinner } from '../common/components';
import { useAsync, useDebounced, useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import type { Video } from '../common/types';
import { VideoGrid } from './VideoCard';

type Sort = 'newest' | 'most_viewed' | 'title';

export function Search() {
  const { t } = useI18n();
  const { api, config } = useSession();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const category = params.get('category') ?? '';
  const tag = params.get('tag') ?? '';
  const sort = (params.get('sort') as Sort) || 'newest';
  useTitle(q ? t('search.resultsFor', { q }) : t('search.title'), config.productName);

  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };

  // Typing updates the URL at once; the query waits until typing pauses.
  const debouncedQ = useDebounced(q.trim(), 250);
  const [tagInput, setTagInput] = useState(tag);
  useEffect(() => setTagInput(tag), [tag]);
  const debouncedTag = useDebounced(tagInput.trim(), 350);
  useEffect(() => {
    if (debouncedTag !== tag) set('tag', debouncedTag);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debouncedTag]);

  const cats = useAsync((s) => api.categories(s), [api]);
  const [extra, setExtra] = useState<{ items: Video[]; next: string }>({ items: [], next: '' });
  const [moreError, setMoreError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const res = useAsync(
    async (signal) => {
      const page = await api.videos({ q: debouncedQ, category, tag, sort, limit: 24 }, signal);
      setExtra({ items: [], next: page.next });
      setMoreError(null);
      return page;
    },
    [api, debouncedQ, category, tag, sort],
  );

  const loadMore = async () => {
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.videos({ q: debouncedQ, category, tag, sort, limit: 24, cursor: extra.next });
      setExtra((e) => ({ items: [...e.items, ...page.items], next: page.next }));
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  const videos = res.data ? [...res.data.items, ...extra.items] : [];
  const tagsInResults = Array.from(new Set(videos.flatMap((v) => v.tags))).sort((a, b) => a.localeCompare(b)).slice(0, 20);
  const stale = res.status === 'loading' || debouncedQ !== q.trim();

  return (
    <>
      <h1>{q ? t('search.resultsFor', { q }) : t('search.all')}</h1>
      <div className="filters">
        <label className="field">
          {t('search.category')}
          <select value={category} onChange={(e) => set('category', e.target.value)}>
            <option value="">{t('search.allCategories')}</option>
            {cats.data?.items.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name} ({c.count})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('search.tag')}
          <input type="search" value={tagInput} placeholder={t('search.tagPlaceholder')} onChange={(e) => setTagInput(e.target.value)} />
        </label>
        <label className="field">
          {t('search.sort')}
          <select value={sort} onChange={(e) => set('sort', e.target.value === 'newest' ? '' : e.target.value)}>
            <option value="newest">{t('search.sortNewest')}</option>
            <option value="most_viewed">{t('search.sortPopular')}</option>
            <option value="title">{t('search.sortTitle')}</option>
          </select>
        </label>
        {res.status === 'ok' && (
          <span className="muted small" role="status" aria-live="polite">
            {t('search.count', { count: videos.length })}
            {extra.next || res.data.next ? '+' : ''}
          </span>
        )}
      </div>
      {tagsInResults.length > 0 && (
        <div className="chips" aria-label={t('search.moreTags')} role="group">
          {tagsInResults.map((tg) => (
            <button key={tg} type="button" className="chip" aria-pressed={tg.toLowerCase() === tag.toLowerCase()} onClick={() => set('tag', tg.toLowerCase() === tag.toLowerCase() ? '' : tg)}>
              #{tg}
            </button>
          ))}
        </div>
      )}
      {res.status === 'error' && <ErrorState error={res.error} onRetry={res.reload} />}
      {stale && !res.data && <Spinner />}
      {res.data && videos.length === 0 && !stale && (
        <Empty>
          <p>{t('search.none')}</p>
        </Empty>
      )}
      {videos.length > 0 && (
        <div style={{ opacity: stale ? 0.6 : 1, transition: 'opacity .2s' }} aria-busy={stale}>
          <VideoGrid videos={videos} />
        </div>
      )}
      {moreError != null && <ErrorState error={moreError} onRetry={loadMore} />}
      {extra.next && !stale && (
        <p style={{ textAlign: 'center' }}>
          <button type="button" className="btn" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? t('app.loading') : t('app.loadMore')}
          </button>
        </p>
      )}
    </>
  );
}
