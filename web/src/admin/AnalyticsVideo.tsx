// Analytics of one video over the chosen range: views over time, average
// share watched, audience retention, startup p50/p95, rebuffer ratio, time
// per rung and playback errors.

import { Link, useParams } from 'react-router';
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts';
import { Empty, ErrorState, Spinner } from '../common/components';
import { formatTime } from '../common/format';
import { useAsync, useTitle } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import type { VideoAnalytics } from '../common/types';
import {
  bucketSeries,
  bucketUnit,
  formatBucket,
  formatMs,
  formatNumber,
  formatRatio,
  formatWatchTime,
  rangeQuery,
  retentionAt,
  retentionCurve,
  rungShares,
  seriesSummary,
  type TimeRange,
} from './analytics';
import { ChartFigure, COLORS, DataTable, EmptyFigure, RangePicker, StatCard, tooltipStyle, useAnalyticsRange } from './AnalyticsParts';

export function AnalyticsVideo() {
  const { id = '' } = useParams();
  const { t } = useI18n();
  const { api, config } = useSession();
  const range = useAnalyticsRange();
  const q = range.range ? rangeQuery(range.range) : null;
  const data = useAsync(async (signal) => (q ? api.analyticsVideo(id, q, signal) : null), [api, id, q?.from, q?.to]);
  const title = data.data?.title || id;
  useTitle(t('analytics.videoTitle', { title }), config.productName);
  return (
    <>
      <p style={{ margin: 0 }}>
        <Link to={`/analytics${range.search}`}>{t('analytics.back')}</Link>
      </p>
      <h1>{t('analytics.videoTitle', { title })}</h1>
      <RangePicker state={range} onRefresh={range.refresh} />
      {data.status === 'loading' && !data.data && range.range && <Spinner />}
      {data.status === 'error' && <ErrorState error={data.error} onRetry={data.reload} />}
      {data.data && data.status !== 'error' && range.range && <VideoView data={data.data} range={range.range} />}
    </>
  );
}

function hasData(d: VideoAnalytics): boolean {
  return (
    (d.series ?? []).some((s) => s.views > 0 || s.watchSeconds > 0 || s.errors > 0) ||
    (d.retention ?? []).some((r) => r.viewers > 0) ||
    (d.errors ?? []).length > 0
  );
}

function VideoView({ data, range }: { data: VideoAnalytics; range: TimeRange }) {
  const { t, locale } = useI18n();
  const unit = bucketUnit(range);
  const series = bucketSeries(data.series ?? [], ['views', 'watchSeconds', 'rebufferCount', 'rebufferSeconds', 'errors'], unit, range);
  const views = seriesSummary(series, 'views');
  const watch = seriesSummary(series, 'watchSeconds');
  const stalls = seriesSummary(series, 'rebufferCount');
  const curve = retentionCurve(data.retention ?? []);
  const rungs = rungShares(data.rungs ?? []);
  const errors = [...(data.errors ?? [])].sort((a, b) => b.count - a.count);
  const pct = (v: number | null) => (v == null ? '–' : formatRatio(v / 100, locale, 0));

  return (
    <>
      {data.durationSeconds > 0 && <p className="muted">{t('analytics.duration', { time: formatTime(data.durationSeconds) })}</p>}
      <div className="stat-cards">
        <StatCard label={t('analytics.views')} value={formatNumber(views.total, locale)} testId="video-views" />
        <StatCard label={t('analytics.watchTime')} value={formatWatchTime(watch.total, locale)} />
        <StatCard label={t('analytics.avgWatched')} value={pct(hasData(data) ? data.averagePercentWatched : null)} testId="avg-watched" />
        <StatCard
          label={t('analytics.startup')}
          testId="startup"
          rows={[
            [t('analytics.p50'), formatMs(data.startup?.p50Ms, locale)],
            [t('analytics.p95'), formatMs(data.startup?.p95Ms, locale)],
          ]}
          hint={t('analytics.startupHint')}
        />
        <StatCard
          label={t('analytics.rebufferRatio')}
          value={hasData(data) ? formatRatio(data.rebufferRatio, locale) : '–'}
          hint={`${t('analytics.rebufferRatioHint')} ${t('analytics.stallCount', { count: formatNumber(stalls.total, locale) })}`}
          testId="rebuffer-ratio"
        />
      </div>
      {!hasData(data) ? (
        <Empty>
          <p data-testid="no-views">{t('analytics.noViews')}</p>
        </Empty>
      ) : (
        <>
          <div className="analytics-grid">
            <ChartFigure
              level={2}
              testId="views-chart"
              title={t('analytics.viewsOverTime')}
              summary={t('analytics.viewsSummary', {
                count: views.total,
                total: formatNumber(views.total, locale),
                peak: formatNumber(views.peak?.value ?? 0, locale),
                time: views.peak ? formatBucket(views.peak.t, unit, locale, true) : '–',
              })}
              table={{
                head: [t('analytics.time'), t('analytics.views'), t('analytics.watchTime'), t('analytics.rebuffers'), t('analytics.playbackErrors')],
                numeric: [1, 2, 3, 4],
                rows: series
                  .filter((p) => p.views || p.watchSeconds || p.rebufferCount || p.errors)
                  .map((p) => [
                    formatBucket(p.t, unit, locale, true),
                    formatNumber(p.views, locale),
                    formatWatchTime(p.watchSeconds, locale),
                    formatNumber(p.rebufferCount, locale),
                    formatNumber(p.errors, locale),
                  ]),
              }}
            >
              <AreaChart responsive accessibilityLayer={false} data={series} style={{ width: '100%', height: 240 }} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
                <CartesianGrid stroke={COLORS.grid} vertical={false} />
                <XAxis dataKey="t" tickFormatter={(v: number) => formatBucket(v, unit, locale)} stroke={COLORS.axis} minTickGap={24} />
                <YAxis allowDecimals={false} stroke={COLORS.axis} />
                <Tooltip {...tooltipStyle} labelFormatter={(v) => formatBucket(Number(v), unit, locale, true)} formatter={(v) => [formatNumber(Number(v), locale), t('analytics.views')]} />
                <Area type="monotone" dataKey="views" stroke={COLORS.accent} fill={COLORS.accent} fillOpacity={0.25} isAnimationActive={false} />
              </AreaChart>
            </ChartFigure>
            {curve.length < 2 ? (
              <EmptyFigure level={2} title={t('analytics.retention')} message={t('analytics.noRetention')} />
            ) : (
              <ChartFigure
                level={2}
                testId="retention-chart"
                title={t('analytics.retention')}
                summary={t('analytics.retentionSummary', {
                  count: curve[0].viewers,
                  viewers: formatNumber(curve[0].viewers, locale),
                  half: pct(retentionAt(curve, 50)),
                  end: pct(retentionAt(curve, 100)),
                })}
                table={{
                  head: [t('analytics.position'), t('analytics.viewersCount'), t('analytics.remaining')],
                  numeric: [1, 2],
                  rows: curve.map((p) => [pct(p.percent), formatNumber(p.viewers, locale), pct(p.remaining)]),
                }}
              >
                <AreaChart responsive accessibilityLayer={false} data={curve} style={{ width: '100%', height: 240 }} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
                  <CartesianGrid stroke={COLORS.grid} vertical={false} />
                  <XAxis dataKey="percent" type="number" domain={[0, 100]} tickFormatter={(v: number) => pct(v)} stroke={COLORS.axis} />
                  <YAxis domain={[0, 100]} width={56} tickFormatter={(v: number) => pct(v)} stroke={COLORS.axis} />
                  <Tooltip
                    {...tooltipStyle}
                    labelFormatter={(v) => t('analytics.positionAt', { position: pct(Number(v)) })}
                    formatter={(v) => [pct(Number(v)), t('analytics.remaining')]}
                  />
                  <Area type="monotone" dataKey="remaining" stroke={COLORS.info} fill={COLORS.info} fillOpacity={0.25} isAnimationActive={false} />
                </AreaChart>
              </ChartFigure>
            )}
          </div>
          <div className="analytics-grid" style={{ marginTop: '1rem' }}>
            {rungs.length === 0 ? (
              <EmptyFigure level={2} title={t('analytics.rungs')} message={t('analytics.noRungs')} />
            ) : (
              <RungChart rungs={rungs} />
            )}
            {errors.length === 0 ? (
              <EmptyFigure level={2} title={t('analytics.errors')} message={t('analytics.noErrors')} />
            ) : (
              <section className="chart" aria-labelledby="an-video-errors" data-testid="video-errors">
                <h2 id="an-video-errors" className="chart-title">
                  {t('analytics.errors')}
                </h2>
                <DataTable
                  caption={t('analytics.errors')}
                  head={[t('analytics.errorDetail'), t('analytics.errorCount')]}
                  numeric={[1]}
                  rows={errors.map((e) => [<code key="d">{e.detail}</code>, formatNumber(e.count, locale)])}
                />
              </section>
            )}
          </div>
        </>
      )}
    </>
  );
}

function RungChart({ rungs }: { rungs: ReturnType<typeof rungShares> }) {
  const { t, locale } = useI18n();
  const data = rungs.map((r) => ({ ...r, percent: Math.round(r.share * 1000) / 10 }));
  const top = [...rungs].sort((a, b) => b.seconds - a.seconds)[0];
  return (
    <ChartFigure
      level={2}
      testId="rungs-chart"
      title={t('analytics.rungs')}
      summary={t('analytics.rungsSummary', { rung: top.rung, share: formatRatio(top.share, locale, 0) })}
      table={{
        head: [t('analytics.rung'), t('analytics.rungTime'), t('analytics.storageShare')],
        numeric: [1, 2],
        rows: rungs.map((r) => [r.rung, formatWatchTime(r.seconds, locale), formatRatio(r.share, locale, 1)]),
      }}
    >
      <BarChart
        responsive
        accessibilityLayer={false}
        layout="vertical"
        data={data}
        style={{ width: '100%', height: Math.max(120, 36 * data.length + 40) }}
        margin={{ top: 4, right: 16, bottom: 0, left: 0 }}
      >
        <CartesianGrid stroke={COLORS.grid} horizontal={false} />
        <XAxis type="number" domain={[0, 100]} tickFormatter={(v: number) => formatRatio(v / 100, locale, 0)} stroke={COLORS.axis} />
        <YAxis type="category" dataKey="rung" width={64} stroke={COLORS.axis} />
        <Tooltip {...tooltipStyle} formatter={(v) => [formatRatio(Number(v) / 100, locale, 1), t('analytics.rungTime')]} />
        <Bar dataKey="percent" fill={COLORS.ok} radius={[0, 3, 3, 0]} isAnimationActive={false} />
      </BarChart>
    </ChartFigure>
  );
}
