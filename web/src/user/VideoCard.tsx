import { Link } from 'react-router';
import { formatTime, percent } from '../common/format';
import { useI18n } from '../common/i18n-react';
import type { Video } from '../common/types';

export function VideoCard({ video, position, views = false }: { video: Video; position?: number; views?: boolean }) {
  const { t } = useI18n();
  const watched = position !== undefined && video.duration > 0 ? percent(position, video.duration) : undefined;
  return (
    <Link className="card" to={`/watch/${video.id}`} aria-label={t('video.play', { title: video.title })} data-video-id={video.id}>
      <div className="poster">
        {video.posterUrl ? (
          <img src={video.posterUrl} alt="" loading="lazy" decoding="async" />
        ) : (
          <div className="noimg" aria-hidden="true">
            ▶
          </div>
        )}
        {video.duration > 0 && (
          <span className="badge" aria-label={t('video.duration', { time: formatTime(video.duration) })}>
            {formatTime(video.duration)}
          </span>
        )}
        {watched !== undefined && (
          <div className="watched" aria-label={t('video.watched', { percent: watched })}>
            <div style={{ width: `${watched}%` }} />
          </div>
        )}
      </div>
      <span className="card-title" title={video.title}>
        {video.title}
      </span>
      {views && video.views !== undefined && <span className="card-meta">{t('video.views', { count: video.views })}</span>}
    </Link>
  );
}

export function VideoGrid({ videos }: { videos: Video[] }) {
  return (
    <ul className="grid" role="list" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
      {videos.map((v) => (
        <li key={v.id}>
          <VideoCard video={v} views />
        </li>
      ))}
    </ul>
  );
}
