import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Empty, ErrorState, Modal, Notice, Spinner } from '../common/components';
import { formatDateTime, formatTime } from '../common/format';
import { useAsync, useDebounced, useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import type { Video, VideoStatus } from '../common/types';
import { parseTags } from './text';

export function Content() {
  const { t, locale } = useI18n();
  const { api, config } = useSession();
  useTitle(t('content.title'), config.productName);
  const [params, setParams] = useSearchParams();
  const [q, setQ] = useState(params.get('q') ?? '');
  const status = (params.get('status') ?? '') as VideoStatus | '';
  const published = params.get('published') ?? '';
  const dq = useDebounced(q.trim(), 300);
  useEffect(() => {
    if ((params.get('q') ?? '') !== dq) setFilter('q', dq);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dq]);

  const setFilter = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };

  const [more, setMore] = useState<{ items: Video[]; next: string }>({ items: [], next: '' });
  const list = useAsync(
    async (signal) => {
      const page = await api.adminVideos(
        { q: dq, status, published: published === '' ? undefined : published === 'true', sort: 'newest', limit: 50 },
        signal,
      );
      setMore({ items: [], next: page.next });
      return page.items;
    },
    [api, dq, status, published],
  );
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [notice, setNotice] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [editing, setEditing] = useState<Video | null>(null);
  const [deleting, setDeleting] = useState<Video | null>(null);

  const videos = [...(list.data ?? []), ...more.items];
  const replace = (v: Video) => {
    if (list.data) list.setData(list.data.map((x) => (x.id === v.id ? v : x)));
    setMore((m) => ({ ...m, items: m.items.map((x) => (x.id === v.id ? v : x)) }));
  };

  const run = async (id: string, fn: () => Promise<void>) => {
    setBusy((b) => ({ ...b, [id]: true }));
    setActionError(null);
    setNotice(null);
    try {
      await fn();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy((b) => ({ ...b, [id]: false }));
    }
  };

  const togglePublish = (v: Video) => run(v.id, async () => replace(await api.patchVideo(v.id, { published: !v.published })));

  const loadMore = async () => {
    try {
      const page = await api.adminVideos({ q: dq, status, published: published === '' ? undefined : published === 'true', sort: 'newest', limit: 50, cursor: more.next });
      setMore((m) => ({ items: [...m.items, ...page.items], next: page.next }));
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <>
      <h1>{t('content.title')}</h1>
      <div className="toolbar">
        <label className="field">
          {t('content.search')}
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} data-testid="content-search" />
        </label>
        <label className="field">
          {t('content.status')}
          <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">{t('content.allStatuses')}</option>
            {(['uploading', 'processing', 'ready', 'failed'] as const).map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('content.published')}
          <select value={published} onChange={(e) => setFilter('published', e.target.value)}>
            <option value="">{t('content.all')}</option>
            <option value="true">{t('content.publishedYes')}</option>
            <option value="false">{t('content.publishedNo')}</option>
          </select>
        </label>
      </div>
      {notice && (
        <Notice kind={notice.kind} onClose={() => setNotice(null)}>
          {notice.text}
        </Notice>
      )}
      {actionError != null && <ErrorState error={actionError} />}
      {list.status === 'loading' && !list.data && <Spinner />}
      {list.status === 'error' && <ErrorState error={list.error} onRetry={list.reload} />}
      {list.data && videos.length === 0 && (
        <Empty>
          <p>{t('content.empty')}</p>
        </Empty>
      )}
      {videos.length > 0 && (
        <div className="table-wrap" aria-busy={list.status === 'loading'}>
          <table>
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Poster</span>
                </th>
                <th scope="col">{t('content.colTitle')}</th>
                <th scope="col">{t('content.colStatus')}</th>
                <th scope="col">{t('content.colPublished')}</th>
                <th scope="col">{t('content.colDuration')}</th>
                <th scope="col">{t('content.colViews')}</th>
                <th scope="col">{t('content.colCreated')}</th>
                <th scope="col">{t('content.colActions')}</th>
              </tr>
            </thead>
            <tbody>
              {videos.map((v) => (
                <tr key={v.id} data-video-id={v.id} data-status={v.status}>
                  <td>{v.posterUrl ? <img className="thumb-small" src={v.posterUrl} alt="" loading="lazy" /> : <div className="thumb-small" />}</td>
                  <td>
                    <strong>{v.title || t('content.untitled')}</strong>
                    {v.tags.length > 0 && <div className="muted small">{v.tags.map((x) => `#${x}`).join(' ')}</div>}
                    {v.error && <div className="error-text">{v.error}</div>}
                  </td>
                  <td>
                    <span className={`status status-${v.status}`}>{t(`status.${v.status}`)}</span>
                  </td>
                  <td>{v.published ? t('content.yes') : t('content.no')}</td>
                  <td className="num">{v.duration ? formatTime(v.duration) : '–'}</td>
                  <td className="num">{v.views ?? 0}</td>
                  <td className="num">{formatDateTime(v.createdAt, locale)}</td>
                  <td>
                    <div className="actions">
                      <button type="button" className="btn btn-small" onClick={() => setEditing(v)}>
                        {t('content.edit')}
                      </button>
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => void togglePublish(v)}
                        disabled={busy[v.id] || (!v.published && v.status !== 'ready')}
                      >
                        {v.published ? t('content.unpublish') : t('content.publish')}
                      </button>
                      {v.status === 'ready' && (
                        <a className="btn btn-small" href={`/watch/${v.id}`}>
                          {t('content.preview')}
                        </a>
                      )}
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setDeleting(v)} disabled={busy[v.id]}>
                        {t('content.delete')}
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more.next && (
        <p style={{ textAlign: 'center' }}>
          <button type="button" className="btn" onClick={() => void loadMore()}>
            {t('app.loadMore')}
          </button>
        </p>
      )}

      <EditDialog
        video={editing}
        onClose={() => setEditing(null)}
        onSaved={(v) => {
          replace(v);
          setEditing(null);
          setNotice({ kind: 'success', text: t('content.saved') });
        }}
      />
      <Modal open={!!deleting} onClose={() => setDeleting(null)} title={t('content.confirmDeleteTitle')}>
        {deleting && (
          <>
            <p>{t('content.confirmDelete', { title: deleting.title })}</p>
            <div className="form-actions">
              <button type="button" className="btn" onClick={() => setDeleting(null)} autoFocus>
                {t('app.cancel')}
              </button>
              <button
                type="button"
                className="btn btn-danger"
                onClick={() => {
                  const v = deleting;
                  setDeleting(null);
                  void run(v.id, async () => {
                    await api.deleteVideo(v.id);
                    if (list.data) list.setData(list.data.filter((x) => x.id !== v.id));
                    setMore((m) => ({ ...m, items: m.items.filter((x) => x.id !== v.id) }));
                    setNotice({ kind: 'success', text: t('content.deleted', { title: v.title }) });
                  });
                }}
              >
                {t('content.delete')}
              </button>
            </div>
          </>
        )}
      </Modal>
    </>
  );
}

function EditDialog({ video, onClose, onSaved }: { video: Video | null; onClose: () => void; onSaved: (v: Video) => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [form, setForm] = useState({ title: '', description: '', tags: '', category: '', language: '' });
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (video)
      setForm({ title: video.title, description: video.description, tags: video.tags.join(', '), category: video.category, language: video.language ?? '' });
    setError(null);
  }, [video]);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!video) return;
    setSaving(true);
    setError(null);
    try {
      const v = await api.patchVideo(video.id, {
        title: form.title.trim(),
        description: form.description,
        tags: parseTags(form.tags),
        category: form.category.trim(),
        language: form.language.trim(),
      });
      onSaved(v);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };
  const field = (k: keyof typeof form) => ({ value: form[k], onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => setForm({ ...form, [k]: e.target.value }) });
  return (
    <Modal open={!!video} onClose={onClose} title={t('content.editTitle', { title: video?.title ?? '' })}>
      <form className="form" onSubmit={submit}>
        <label className="field">
          {t('content.fieldTitle')}
          <input required maxLength={300} {...field('title')} />
        </label>
        <label className="field">
          {t('content.fieldDescription')}
          <textarea {...field('description')} />
        </label>
        <label className="field">
          {t('content.fieldTags')}
          <input {...field('tags')} />
        </label>
        <div className="form-row">
          <label className="field">
            {t('content.fieldCategory')}
            <input {...field('category')} />
          </label>
          <label className="field">
            {t('content.fieldLanguage')}
            <input maxLength={16} {...field('language')} />
          </label>
        </div>
        {error != null && <ErrorState error={error} />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={saving}>
            {saving ? t('app.saving') : t('app.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
