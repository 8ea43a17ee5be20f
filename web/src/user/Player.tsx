// The video player: hls.js (checked before native HLS: Chromium answers
// "maybe" for native HLS and would lose the quality levels), automatic
// quality with a manual selector, speed, fullscreen, keyboard shortcuts,
// storyboard previews on the seek bar, resume, and renewal of the playback
// URL when the streamer answers 401 (its segment tokens expire). Playback
// events (startup, heartbeats, rebuffering, quality, errors, end) go to the
// API through a PlaybackTracker (common/playbackEvents.ts).

import type HlsType from 'hls.js';
import type { ErrorData, Level } from 'hls.js';
import { useCallback, useEffect, useRef, useState, type CSSProperties } from 'react';
import { ApiError, errorKey } from '../common/errors';
import { formatTime } from '../common/format';
import { useI18n } from '../common/i18n-react';
import type { MessageKey } from '../common/messages';
import { PlaybackTracker, type EventSink } from '../common/playbackEvents';
import type { Playback } from '../common/types';
import { IconExitFullscreen, IconFullscreen, IconMuted, IconPause, IconPlay, IconReplay, IconVolume } from './icons';
import { findCue, parseStoryboardVtt, type StoryboardCue } from '../common/vtt';

export interface UpNext {
  title: string;
  posterUrl?: string;
  go: () => void;
}

export interface PlayerProps {
  videoId: string;
  title: string;
  posterUrl?: string;
  /** POST /api/videos/{id}/playback */
  getPlayback: () => Promise<Playback>;
  /** Saved position to offer resuming from (seconds), if any. */
  resumeAt?: number;
  /** Called every few seconds while playing, on pause, on end and on leave. */
  onProgress: (position: number, duration: number, completed: boolean, leaving: boolean) => void;
  upNext?: UpNext;
  /** Where to report the playback events of a session (the `session` of the playback answer). */
  reportTo?: (session: string) => EventSink;
}

interface QualityLevel {
  index: number;
  height: number;
  bitrate: number;
  label: string;
}

type Phase = 'loading' | 'ready' | 'error';

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
const SAVE_EVERY_MS = 5000;
const UP_NEXT_SECONDS = 8;

function levelLabel(l: Level): string {
  return l.height ? `${l.height}p` : `${Math.round(l.bitrate / 1000)} kb/s`;
}

function httpStatusOf(d: ErrorData): number | undefined {
  const code = d.response?.code;
  if (typeof code === 'number' && code > 0) return code;
  const nd = d.networkDetails as { status?: number } | null | undefined;
  return typeof nd?.status === 'number' && nd.status > 0 ? nd.status : undefined;
}

/** "networkError: fragLoadError (HTTP 503)": the detail of an error event. */
function hlsErrorDetail(d: ErrorData, status: number | undefined, recovered: boolean): string {
  return `${d.type}: ${d.details}${status ? ` (HTTP ${status})` : ''}${recovered ? ' (recovered)' : ''}`;
}

export function Player({ videoId, title, posterUrl, getPlayback, resumeAt, onProgress, upNext, reportTo }: PlayerProps) {
  const { t, locale } = useI18n();
  const containerRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const hlsRef = useRef<HlsType | null>(null);
  const refreshes = useRef<number[]>([]);
  const refreshing = useRef(false);
  const mediaRecoveries = useRef(0);
  const lastSaved = useRef(-1);
  const getPlaybackRef = useRef(getPlayback);
  getPlaybackRef.current = getPlayback;
  const onProgressRef = useRef(onProgress);
  onProgressRef.current = onProgress;
  const reportToRef = useRef(reportTo);
  reportToRef.current = reportTo;
  const trackerRef = useRef<PlaybackTracker | null>(null);
  /** The rung playing now, as the quality selector names it ("720p"). */
  const rungRef = useRef<string | undefined>(undefined);

  const [phase, setPhase] = useState<Phase>('loading');
  const [error, setError] = useState<{ key: MessageKey; retry: boolean } | null>(null);
  const [started, setStarted] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [ended, setEnded] = useState(false);
  const [waiting, setWaiting] = useState(false);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);
  const [volume, setVolume] = useState(1);
  const [muted, setMuted] = useState(false);
  const [rate, setRate] = useState(1);
  const [levels, setLevels] = useState<QualityLevel[]>([]);
  const [selectedLevel, setSelectedLevel] = useState(-1); // -1: auto
  const [playingLevel, setPlayingLevel] = useState(-1);
  const [cues, setCues] = useState<StoryboardCue[]>([]);
  const [hover, setHover] = useState<{ x: number; time: number; width: number } | null>(null);
  const [fullscreen, setFullscreen] = useState(false);
  const [idle, setIdle] = useState(false);
  const [countdown, setCountdown] = useState<number | null>(null);

  // --- saving progress ---
  const save = useCallback((completed: boolean, leaving: boolean) => {
    const v = videoRef.current;
    if (!v || !Number.isFinite(v.duration) || v.duration <= 0) return;
    const pos = completed ? v.duration : v.currentTime;
    if (!completed && !leaving && Math.abs(pos - lastSaved.current) < 1) return;
    if (pos <= 0 && !completed) return;
    lastSaved.current = pos;
    onProgressRef.current(pos, v.duration, completed, leaving);
  }, []);

  // --- attaching a source ---
  const attach = useCallback(
    async (pb: Playback, startPosition: number, autoplay: boolean) => {
      const video = videoRef.current;
      if (!video) return;
      hlsRef.current?.destroy();
      hlsRef.current = null;
      const { default: Hls } = await import('hls.js');
      if (Hls.isSupported()) {
        const hls = new Hls({ startPosition: startPosition > 0 ? startPosition : -1, capLevelToPlayerSize: false });
        hlsRef.current = hls;
        hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
          setLevels(
            data.levels
              .map((l, index) => ({ index, height: l.height, bitrate: l.bitrate, label: levelLabel(l) }))
              .sort((a, b) => b.height - a.height || b.bitrate - a.bitrate),
          );
          setPhase('ready');
          if (autoplay) void video.play().then(() => setStarted(true), () => {});
        });
        hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
          setPlayingLevel(data.level);
          const l = hls.levels[data.level];
          if (l) {
            rungRef.current = levelLabel(l);
            trackerRef.current?.quality(rungRef.current);
          }
        });
        hls.on(Hls.Events.ERROR, (_e, data) => onHlsError(hls, data));
        hls.loadSource(pb.url);
        hls.attachMedia(video);
      } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
        // Safari: native HLS picks the quality itself.
        setLevels([]);
        video.src = pb.url;
        const onMeta = () => {
          if (startPosition > 0) video.currentTime = startPosition;
          setPhase('ready');
          if (autoplay) void video.play().then(() => setStarted(true), () => {});
        };
        video.addEventListener('loadedmetadata', onMeta, { once: true });
      } else {
        setError({ key: 'watch.unsupported', retry: false });
        setPhase('error');
        trackerRef.current?.error('unsupported: no HLS playback in this browser');
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );

  /** Gets a new playback URL and resumes where playback was. */
  const refresh = useCallback(async (): Promise<void> => {
    if (refreshing.current) return;
    const now = Date.now();
    refreshes.current = refreshes.current.filter((x) => now - x < 60_000);
    if (refreshes.current.length >= 3) {
      setError({ key: 'watch.accessDenied', retry: true });
      setPhase('error');
      trackerRef.current?.error('networkError: access refused after 3 new playback URLs in a minute (HTTP 401)');
      return;
    }
    refreshes.current.push(now);
    refreshing.current = true;
    const video = videoRef.current;
    const at = video?.currentTime ?? 0;
    const wasPlaying = !!video && !video.paused && !video.ended;
    try {
      const pb = await getPlaybackRef.current();
      setError(null);
      await attach(pb, at, wasPlaying);
    } catch (e) {
      setError({ key: e instanceof ApiError && e.code === 'conflict' ? 'watch.notReady' : errorKey(e), retry: true });
      setPhase('error');
      trackerRef.current?.error(`playback: ${e instanceof ApiError ? `${e.code} (HTTP ${e.status})` : 'no answer'}`);
    } finally {
      refreshing.current = false;
    }
  }, [attach]);

  const onHlsError = (hls: HlsType, data: ErrorData) => {
    const status = httpStatusOf(data);
    if (status === 401) {
      // Viewer or video token expired: new playback URL, same position.
      void refresh();
      return;
    }
    if (!data.fatal) return;
    if (data.type === 'mediaError' && mediaRecoveries.current < 2) {
      mediaRecoveries.current++;
      trackerRef.current?.error(hlsErrorDetail(data, status, true));
      hls.recoverMediaError();
      return;
    }
    trackerRef.current?.error(hlsErrorDetail(data, status, false));
    setError({
      key: status === 403 ? 'watch.accessDenied' : data.type === 'mediaError' ? 'watch.mediaError' : 'watch.networkError',
      retry: status !== 403,
    });
    setPhase('error');
  };

  // --- load on mount / video change ---
  useEffect(() => {
    let cancelled = false;
    setPhase('loading');
    setError(null);
    setStarted(false);
    setEnded(false);
    setLevels([]);
    setSelectedLevel(-1);
    setCues([]);
    setCountdown(null);
    lastSaved.current = -1;
    refreshes.current = [];
    mediaRecoveries.current = 0;
    rungRef.current = undefined;
    const autoplay = !(resumeAt && resumeAt > 0);
    (async () => {
      const requestedAt = Date.now();
      let pb: Playback;
      try {
        pb = await getPlaybackRef.current();
      } catch (e) {
        if (cancelled) return;
        setError({ key: e instanceof ApiError && e.code === 'conflict' ? 'watch.notReady' : errorKey(e), retry: true });
        setPhase('error');
        return;
      }
      if (cancelled) return;
      // One reporting session per viewing: later playback URLs (renewals)
      // keep the first session.
      const video = videoRef.current;
      const report = reportToRef.current;
      if (pb.session && report && video) {
        try {
          trackerRef.current = new PlaybackTracker({
            sink: report(pb.session),
            media: video,
            rung: () => rungRef.current ?? (video.videoHeight > 0 ? `${video.videoHeight}p` : undefined),
            requestedAt: autoplay ? requestedAt : undefined,
          });
        } catch {
          trackerRef.current = null; // reporting is never worth breaking playback
        }
      }
      if (pb.storyboardUrl) {
        const sb = pb.storyboardUrl;
        fetch(sb)
          .then((r) => (r.ok ? r.text() : ''))
          .then((txt) => !cancelled && setCues(parseStoryboardVtt(txt, sb)))
          .catch(() => {});
      }
      await attach(pb, resumeAt ?? 0, autoplay);
    })();
    const onLeave = () => save(false, true);
    const onVisibility = () => document.visibilityState === 'hidden' && save(false, true);
    window.addEventListener('pagehide', onLeave);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      cancelled = true;
      save(false, true);
      window.removeEventListener('pagehide', onLeave);
      document.removeEventListener('visibilitychange', onVisibility);
      trackerRef.current?.close();
      trackerRef.current = null;
      hlsRef.current?.destroy();
      hlsRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [videoId]);

  // --- periodic save ---
  useEffect(() => {
    if (!playing) return;
    const id = setInterval(() => save(false, false), SAVE_EVERY_MS);
    return () => clearInterval(id);
  }, [playing, save]);

  // --- controls ---
  const play = useCallback(() => {
    const v = videoRef.current;
    if (!v) return;
    setStarted(true);
    trackerRef.current?.requestPlay();
    if (v.ended) v.currentTime = 0;
    void v.play().catch(() => {});
  }, []);
  const togglePlay = useCallback(() => {
    const v = videoRef.current;
    if (!v) return;
    if (v.paused || v.ended) play();
    else v.pause();
  }, [play]);
  const seekTo = useCallback((s: number) => {
    const v = videoRef.current;
    if (!v || !Number.isFinite(v.duration)) return;
    v.currentTime = Math.max(0, Math.min(v.duration - 0.05, s));
    setTime(v.currentTime);
  }, []);
  const seekBy = useCallback((d: number) => seekTo((videoRef.current?.currentTime ?? 0) + d), [seekTo]);
  const changeVolume = useCallback((d: number) => {
    const v = videoRef.current;
    if (!v) return;
    v.volume = Math.max(0, Math.min(1, Math.round((v.volume + d) * 10) / 10));
    if (v.volume > 0) v.muted = false;
  }, []);
  const toggleMute = useCallback(() => {
    const v = videoRef.current;
    if (v) v.muted = !v.muted;
  }, []);
  const toggleFullscreen = useCallback(() => {
    const c = containerRef.current;
    if (!c) return;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    else void c.requestFullscreen?.().catch(() => {});
  }, []);
  const chooseLevel = (index: number) => {
    setSelectedLevel(index);
    const hls = hlsRef.current;
    if (hls) hls.currentLevel = index; // -1: automatic
  };
  const chooseRate = (r: number) => {
    setRate(r);
    if (videoRef.current) videoRef.current.playbackRate = r;
  };

  useEffect(() => {
    const onFs = () => setFullscreen(document.fullscreenElement === containerRef.current);
    document.addEventListener('fullscreenchange', onFs);
    return () => document.removeEventListener('fullscreenchange', onFs);
  }, []);

  // Keyboard shortcuts: anywhere on the page but in text fields; space and
  // arrows only when focus is in the player or nowhere in particular.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const target = e.target as HTMLElement | null;
      const tag = target?.tagName;
      const inPlayer = !!target && !!containerRef.current?.contains(target);
      const isRange = tag === 'INPUT' && (target as HTMLInputElement).type === 'range';
      if ((tag === 'INPUT' && !isRange) || tag === 'TEXTAREA' || tag === 'SELECT' || target?.isContentEditable) return;
      if (isRange && !inPlayer) return;
      const free = inPlayer || target === document.body || !target;
      switch (e.key) {
        case ' ':
        case 'k':
          if (e.key === ' ' && !free) return;
          e.preventDefault();
          togglePlay();
          break;
        case 'ArrowLeft':
        case 'ArrowRight':
          if (!free) return;
          e.preventDefault();
          seekBy(e.key === 'ArrowLeft' ? -5 : 5);
          break;
        case 'ArrowUp':
        case 'ArrowDown':
          if (!free) return;
          e.preventDefault();
          changeVolume(e.key === 'ArrowUp' ? 0.1 : -0.1);
          break;
        case 'f':
        case 'F':
          e.preventDefault();
          toggleFullscreen();
          break;
        case 'm':
        case 'M':
          e.preventDefault();
          toggleMute();
          break;
        default:
          return;
      }
      poke();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [togglePlay, seekBy, changeVolume, toggleFullscreen, toggleMute]);

  // Controls hide after a while without the mouse, while playing.
  const idleTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const poke = () => {
    setIdle(false);
    clearTimeout(idleTimer.current);
    idleTimer.current = setTimeout(() => setIdle(true), 3000);
  };
  useEffect(() => () => clearTimeout(idleTimer.current), []);

  // Up next: a countdown once the video has ended.
  useEffect(() => {
    if (countdown === null) return;
    if (countdown <= 0) {
      upNext?.go();
      return;
    }
    const id = setTimeout(() => setCountdown((c) => (c === null ? null : c - 1)), 1000);
    return () => clearTimeout(id);
  }, [countdown, upNext]);

  // --- seek bar preview ---
  const onSeekHover = (e: React.MouseEvent<HTMLDivElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    if (!duration || r.width <= 0) return;
    const x = Math.max(0, Math.min(r.width, e.clientX - r.left));
    setHover({ x, time: (x / r.width) * duration, width: r.width });
  };
  const cue = hover ? findCue(cues, hover.time) : null;
  const previewW = cue?.w ?? 0;
  const previewLeft = hover ? Math.max(previewW / 2 || 24, Math.min(hover.width - (previewW / 2 || 24), hover.x)) : 0;
  const thumbStyle: CSSProperties | undefined = cue
    ? {
        width: cue.w,
        height: cue.h,
        backgroundImage: `url("${cue.url}")`,
        backgroundPosition: `-${cue.x}px -${cue.y}px`,
      }
    : undefined;

  const autoLabel =
    selectedLevel === -1 && playingLevel >= 0
      ? t('watch.autoCurrent', { level: levels.find((l) => l.index === playingLevel)?.label ?? '' })
      : t('watch.auto');
  const showStart = phase === 'ready' && !started && !ended;
  const controlsHidden = idle && playing && !hover;

  return (
    <div
      ref={containerRef}
      className={`player${controlsHidden ? ' idle' : ''}`}
      onMouseMove={poke}
      onMouseLeave={() => playing && setIdle(true)}
      data-phase={phase}
      aria-label={title}
      role="region"
    >
      <video
        ref={videoRef}
        poster={posterUrl}
        playsInline
        preload="auto"
        onClick={togglePlay}
        onDoubleClick={toggleFullscreen}
        onPlay={() => {
          setPlaying(true);
          setEnded(false);
          setCountdown(null);
          setStarted(true);
          poke();
        }}
        onPause={() => {
          setPlaying(false);
          setIdle(false);
          save(false, false);
        }}
        onEnded={() => {
          setPlaying(false);
          setEnded(true);
          setIdle(false);
          save(true, false);
          if (upNext) setCountdown(UP_NEXT_SECONDS);
        }}
        onWaiting={() => setWaiting(true)}
        onPlaying={() => setWaiting(false)}
        onCanPlay={() => setWaiting(false)}
        onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
        onDurationChange={(e) => setDuration(Number.isFinite(e.currentTarget.duration) ? e.currentTarget.duration : 0)}
        onVolumeChange={(e) => {
          setVolume(e.currentTarget.volume);
          setMuted(e.currentTarget.muted);
        }}
        onRateChange={(e) => setRate(e.currentTarget.playbackRate)}
        onError={() => {
          // Native HLS: a refused segment surfaces as a network error; try a new URL once.
          const v = videoRef.current;
          if (!hlsRef.current && v?.error) trackerRef.current?.error(`mediaError: native code ${v.error.code}${v.error.message ? ` ${v.error.message}` : ''}`);
          if (!hlsRef.current && v?.error?.code === MediaError.MEDIA_ERR_NETWORK) void refresh();
          else if (!hlsRef.current && v?.error) {
            setError({ key: 'watch.mediaError', retry: true });
            setPhase('error');
          }
        }}
      />

      {phase === 'loading' && (
        <div className="player-overlay" role="status">
          <span className="spinner" aria-hidden="true" />
          <span className="visually-hidden">{t('app.loading')}</span>
        </div>
      )}
      {waiting && playing && phase === 'ready' && (
        <div className="player-center-msg" role="status">
          <span className="spinner" aria-hidden="true" />
          <span className="visually-hidden">{t('watch.buffering')}</span>
        </div>
      )}
      {phase === 'error' && error && (
        <div className="player-overlay player-error" role="alert">
          <div className="stack">
            <p>{t(error.key)}</p>
            {error.retry && (
              <button
                type="button"
                className="btn"
                onClick={() => {
                  refreshes.current = [];
                  setPhase('loading');
                  void refresh();
                }}
              >
                {t('app.retry')}
              </button>
            )}
          </div>
        </div>
      )}
      {showStart && (
        <div className="player-overlay">
          <div className="stack">
            {resumeAt && resumeAt > 0 ? (
              <>
                <button type="button" className="btn btn-primary btn-big" onClick={play} autoFocus data-testid="resume">
                  ▶ {t('watch.resumeAt', { time: formatTime(resumeAt) })}
                </button>
                <button
                  type="button"
                  className="btn"
                  onClick={() => {
                    seekTo(0);
                    play();
                  }}
                >
                  {t('watch.fromStart')}
                </button>
              </>
            ) : (
              <button type="button" className="btn btn-primary btn-big" onClick={play} autoFocus data-testid="play">
                ▶ {t('watch.play')}
              </button>
            )}
          </div>
        </div>
      )}
      {ended && upNext && countdown !== null && (
        <div className="upnext" role="status" aria-live="polite">
          <strong>{t('watch.upNext')}</strong>
          <span>{upNext.title}</span>
          <span className="muted small">{t('watch.upNextIn', { seconds: countdown })}</span>
          <div className="form-actions">
            <button type="button" className="btn btn-small" onClick={() => setCountdown(null)}>
              {t('app.cancel')}
            </button>
            <button type="button" className="btn btn-primary btn-small" onClick={upNext.go} autoFocus>
              {t('watch.playNow')}
            </button>
          </div>
        </div>
      )}

      {phase === 'ready' && (
        <div className="controls" onFocus={poke}>
          <div className="seek" onMouseMove={onSeekHover} onMouseLeave={() => setHover(null)}>
            {hover && (
              <div className="seek-preview" style={{ left: previewLeft }} aria-hidden="true" data-testid="seek-preview">
                {thumbStyle && <div className="thumb" style={thumbStyle} />}
                <span className="label">{formatTime(hover.time)}</span>
              </div>
            )}
            <input
              type="range"
              min={0}
              max={duration || 0}
              step={0.1}
              value={Math.min(time, duration || 0)}
              onChange={(e) => seekTo(Number(e.target.value))}
              aria-label={t('watch.seek')}
              aria-valuetext={`${formatTime(time)} / ${formatTime(duration)}`}
            />
          </div>
          <div className="controls-row">
            <button type="button" className="btn-icon" onClick={togglePlay} aria-label={playing ? t('watch.pause') : ended ? t('watch.replay') : t('watch.play')} data-testid="playpause">
              {playing ? <IconPause /> : ended ? <IconReplay /> : <IconPlay />}
            </button>
            <button type="button" className="btn-icon" onClick={toggleMute} aria-label={muted || volume === 0 ? t('watch.unmute') : t('watch.mute')}>
              {muted || volume === 0 ? <IconMuted /> : <IconVolume />}
            </button>
            <label className="volume">
              <span className="visually-hidden">{t('watch.volume')}</span>
              <input
                type="range"
                min={0}
                max={1}
                step={0.05}
                value={muted ? 0 : volume}
                onChange={(e) => {
                  const v = videoRef.current;
                  if (!v) return;
                  v.volume = Number(e.target.value);
                  v.muted = v.volume === 0;
                }}
              />
            </label>
            <span className="time" data-testid="time">
              {formatTime(time)} / {formatTime(duration)}
            </span>
            <span className="spacer" />
            {levels.length > 0 && (
              <label>
                <span className="visually-hidden">{t('watch.quality')}</span>
                <select
                  aria-label={t('watch.quality')}
                  value={selectedLevel}
                  onChange={(e) => chooseLevel(Number(e.target.value))}
                  data-testid="quality"
                >
                  <option value={-1}>{autoLabel}</option>
                  {levels.map((l) => (
                    <option key={l.index} value={l.index}>
                      {l.label}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label>
              <span className="visually-hidden">{t('watch.speed')}</span>
              <select aria-label={t('watch.speed')} value={rate} onChange={(e) => chooseRate(Number(e.target.value))} data-testid="speed">
                {SPEEDS.map((s) => (
                  <option key={s} value={s}>
                    {s === 1 ? t('watch.speedNormal') : `${s.toLocaleString(locale)}×`}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="btn-icon" onClick={toggleFullscreen} aria-label={fullscreen ? t('watch.exitFullscreen') : t('watch.fullscreen')}>
              {fullscreen ? <IconExitFullscreen /> : <IconFullscreen />}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
