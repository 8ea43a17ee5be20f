import { Empty, ErrorState, Spinner } from '../common/components';
import { useAsync, useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import { VideoGrid } from './VideoCard';

export function MyList() {
  const { t } = useI18n();
  const { api, config } = useSession();
  useTitle(t('list.title'), config.productName);
  const st = useAsync((s) => api.myList(s), [api]);
  const videos = st.data?.items.flatMap((e) => (e.video ? [e.video] : [])) ?? [];
  return (
    <>
      <h1>{t('list.title')}</h1>
      {st.status === 'loading' && !st.data && <Spinner />}
      {st.status === 'error' && <ErrorState error={st.error} onRetry={st.reload} />}
      {st.data && videos.length === 0 && (
        <Empty>
          <p>{t('list.empty')}</p>
        </Empty>
      )}
      {videos.length > 0 && <VideoGrid videos={videos} />}
    </>
  );
}
