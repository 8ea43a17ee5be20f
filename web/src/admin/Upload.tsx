import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Link } from 'react-router';
import { Empty, ProgressBar } from '../common/components';
import { formatBytes, formatEta, formatPercent, formatSpeed, percent } from '../common/format';
import { useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import { uploadManager, type Interrupted, type UploadItem } from './uploads';

export function Upload() {
  const { t, locale } = useI18n();
  const { auth, config } = useSession();
  useTitle(t('upload.title'), config.productName);
  const mgr = uploadManager(() => auth.getAccessToken());
  const items = useSyncExternalStore(mgr.subscribe, mgr.getSnapshot);
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [interrupted, setInterrupted] = useState<Interrupted[]>([]);

  useEffect(() => {
    void mgr.interrupted().then(setInterrupted);
  }, [mgr, items.length]);

  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      if (mgr.active) {
        e.preventDefault();
        e.returnValue = t('upload.leaveWarning');
      }
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [mgr, t]);

  const addFiles = (list: FileList | null) => {
    const files = Array.from(list ?? []).filter((f) => f.size > 0);
    if (files.length) mgr.add(files);
  };

  return (
    <>
      <h1>{t('upload.title')}</h1>
      <div
        className={`dropzone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          addFiles(e.dataTransfer.files);
        }}
        data-testid="dropzone"
      >
        <strong>{t('upload.drop')}</strong>
        <span className="muted">{t('upload.or')}</span>
        <button type="button" className="btn btn-primary" onClick={() => input.current?.click()}>
          {t('upload.choose')}
        </button>
        <input
          ref={input}
          type="file"
          multiple
          accept="video/*,.mkv,.mov,.mp4,.webm,.avi,.m4v,.mpg,.mpeg,.ts,.mts"
          hidden
          onChange={(e) => {
            addFiles(e.target.files);
            e.target.value = '';
          }}
          data-testid="file-input"
        />
        <span className="muted small">{t('upload.hint')}</span>
      </div>

      {interrupted.length > 0 && (
        <section aria-labelledby="interrupted" style={{ marginTop: '1.5rem' }}>
          <h2 id="interrupted">{t('upload.interrupted')}</h2>
          <p className="muted small">{t('upload.interruptedHint')}</p>
          <ul className="uploads" style={{ listStyle: 'none', padding: 0 }}>
            {interrupted.map((p) => (
              <li key={p.urlStorageKey} className="upload">
                <div className="upload-head">
                  <span className="name">{p.name}</span>
                  <span className="muted small">{formatBytes(p.size, locale)}</span>
                  <button type="button" className="btn btn-small" onClick={() => input.current?.click()}>
                    {t('upload.resume')}
                  </button>
                  <button
                    type="button"
                    className="btn btn-small btn-danger"
                    onClick={() => void mgr.forget(p).then(() => mgr.interrupted().then(setInterrupted))}
                  >
                    {t('upload.forget')}
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}

      {items.length === 0 ? (
        <Empty>
          <p>{t('upload.none')}</p>
        </Empty>
      ) : (
        <ul className="uploads" style={{ listStyle: 'none', padding: 0 }} aria-live="polite">
          {items.map((it) => (
            <UploadRow key={it.key} item={it} onPause={() => mgr.pause(it.key)} onResume={() => mgr.resume(it.key)} onRemove={() => mgr.remove(it.key)} />
          ))}
        </ul>
      )}
    </>
  );
}

function UploadRow({ item, onPause, onResume, onRemove }: { item: UploadItem; onPause: () => void; onResume: () => void; onRemove: () => void }) {
  const { t, locale } = useI18n();
  const pct = percent(item.sent, item.size);
  const stateLabel = {
    queued: t('upload.queued'),
    uploading: t('upload.uploading'),
    paused: t('upload.paused'),
    done: t('upload.done'),
    failed: t('upload.failed'),
  }[item.state];
  return (
    <li className="upload" data-upload-state={item.state} data-name={item.name}>
      <div className="upload-head">
        <span className="name">{item.name}</span>
        <span className={`status status-${item.state === 'done' ? 'ready' : item.state === 'failed' ? 'failed' : item.state === 'paused' ? 'queued' : 'processing'}`}>
          {stateLabel}
        </span>
        {item.state === 'uploading' && (
          <button type="button" className="btn btn-small" onClick={onPause}>
            {t('upload.pause')}
          </button>
        )}
        {(item.state === 'paused' || item.state === 'failed') && (
          <button type="button" className="btn btn-small" onClick={onResume}>
            {item.state === 'failed' ? t('upload.retry') : t('upload.resume')}
          </button>
        )}
        {item.state === 'done' && item.videoId && (
          <Link className="btn btn-small" to={`/jobs?video=${item.videoId}`}>
            {t('upload.seeJobs')}
          </Link>
        )}
        <button type="button" className="btn btn-small btn-danger" onClick={onRemove}>
          {item.state === 'done' ? t('upload.remove') : t('upload.cancel')}
        </button>
      </div>
      <ProgressBar value={pct} label={item.name} />
      <div className="upload-stats">
        <span>
          {formatPercent(pct, locale)} · {formatBytes(item.sent, locale)} / {formatBytes(item.size, locale)}
        </span>
        {item.state === 'uploading' && item.speed > 0 && <span>{formatSpeed(item.speed, locale)}</span>}
        {item.state === 'uploading' && item.eta !== null && <span>{t('upload.eta', { eta: formatEta(item.eta) })}</span>}
        {item.resumedAt !== undefined && item.resumedAt > 0 && <span>{t('upload.resumed', { percent: item.resumedAt })}</span>}
      </div>
      {item.error && (
        <p className="error-text" role="alert">
          {t(`error.${item.error.code}`)} {item.error.message && <span className="muted">({item.error.message})</span>}
        </p>
      )}
    </li>
  );
}
