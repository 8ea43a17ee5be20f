import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import { useAsync, useTitle } from '../common/hooks';
import { Empty, ErrorState, Spinner } from '../common/components';
import { VideoCard } from './VideoCard';
import type { Video } from '../common/types';

interface RowItem {
  video: Video;
  position?: number;
}

function Row({ title, load, id, views }: { title: string; id: string; load: (s: AbortSignal) => Promise<RowItem[]>; views?: boolean }) {
  const { t } = useI18n();
  const st = useAsync(load, []);
  if (st.status === 'ok' && st.data.length === 0) return null;
  return (
    <section className="row" aria-labelledby={`row-${id}`} data-row={id}>
      <h2 id={`row-${id}`}>{title}</h2>
      {st.status === 'loading' && !st.data && <Spinner />}
      {st.status === 'error' && <ErrorState title={t('home.rowError')} error={st.error} onRetry={st.reload} />}
      {st.data && st.data.length > 0 && (
        <ul className="row-scroll" role="list" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
          {st.data.map((it) => (
            <li key={it.video.id}>
              <VideoCard video={it.video} position={it.position} views={views} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Home() {
  const { t } = useI18n();
  const { api, config, me } = useSession();
  useTitle(t('nav.home'), config.productName);
  // The newest page also tells whether the catalogue is empty, and the categories make the other rows.
  const base = useAsync(
    async (signal) => {
      const [recent, categories] = await Promise.all([api.videos({ sort: 'newest', limit: 24 }, signal), api.categories(signal)]);
      return { recent: recent.items, categories: categories.items };
    },
    [api],
  );
  if (base.status === 'loading' && !base.data) return <Spinner />;
  if (base.status === 'error') return <ErrorState error={base.error} onRetry={base.reload} />;
  const { recent, categories } = base.data!;
  return (
    <>
      <h1 className="visually-hidden">{t('nav.home')}</h1>
      <Row
        id="continue"
        title={t('home.continue')}
        load={async (s) =>
          (await api.continueWatching(s)).items.filter((p) => p.video).map((p) => ({ video: p.video!, position: p.position }))
        }
      />
      {recent.length === 0 ? (
        <Empty>
          <p>{me.admin ? t('home.emptyAdmin') : t('home.empty')}</p>
        </Empty>
      ) : (
        <>
          <Row id="recent" title={t('home.recent')} load={async () => recent.map((video) => ({ video }))} />
          <Row id="popular" title={t('home.popular')} views load={async (s) => (await api.videos({ sort: 'most_viewed', limit: 24 }, s)).items.map((video) => ({ video }))} />
          <Row id="mylist" title={t('home.myList')} load={async (s) => (await api.myList(s)).items.filter((e) => e.video).map((e) => ({ video: e.video! }))} />
          {categories.slice(0, 12).map((c) => (
            <Row
              key={c.name}
              id={`cat-${c.name}`}
              title={c.name}
              load={async (s) => (await api.videos({ category: c.name, sort: 'newest', limit: 24 }, s)).items.map((video) => ({ video }))}
            />
          ))}
        </>
      )}
    </>
  );
}
