// The analytics page: overview (viewers now, views and watch time for
// today / 7 / 30 days, uploads per hour, transcoding, upload throughput,
// storage, error rates), then, for the chosen range, the most viewed
// content (each opens its own page) and views by country.

import { Link } from 'react-router';
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts';
import { Empty, ErrorState, Notice, Spinner } from '../common/components';
import { formatBytes } from '../common/format';
import { useAsync, useTitle, useVisibleInterval } from '../common/hooks';
import { useI18n } from '../common/i18n-react';
import { useSession } from '../common/session';
import type { AnalyticsOverview, AnalyticsPeriodKey } from '../common/types';
import {
  bucketSeries,
  errorLevel,
  errorRate,
  formatBucket,
  formatNumber,
  formatRatio,
  formatSeconds,
  formatWatchTime,
  rangeQuery,
  rankCountries,
  seriesSummary,
  withShares,
} from './analytics';
import { ChartFigure, COLORS, DataTable, EmptyFigure, RangePicker, Section, ShareBar, StatCard, tooltipStyle, useAnalyticsRange, type RangeState } from './AnalyticsParts';

const OVERVIEW_REFRESH_SECONDS = 30;
const POPULAR_LIMIT = 20;
const PERIODS: AnalyticsPeriodKey[] = ['today', '7d', '30d'];

export function Analytics() {
  const { t } = useI18n();
  const { api, config } = useSession();
  useTitle(t('analytics.title'), config.productName);
  const range = useAnalyticsRange();
  const overview = useAsync((signal) => api.analyticsOverview(signal), [api]);
  // "Viewers right now" moves: the overview refreshes while the page is visible.
  useVisibleInterval(() => overview.reload(), OVERVIEW_REFRESH_SECONDS * 1000);
  return (
    <>
      <h1>{t('analytics.title')}</h1>
      <RangePicker
        state={range}
        onRefresh={() => {
          range.refresh();
          overview.reload();
        }}
      />
      <Section id="an-overview" title={t('analytics.overview')} note={t('analytics.fixedPeriods')}>
        {overview.data ? (
          <>
            {overview.status === 'error' && <Notice kind="error">{t('error.network')}</Notice>}
            <OverviewView data={overview.data} />
          </>
        ) : overview.status === 'error' ? (
          <ErrorState error={overview.error} onRetry={overview.reload} />
        ) : (
          <Spinner />
        )}
      </Section>
      {range.range && <RangedSections range={range} />}
    </>
  );
}

function OverviewView({ data }: { data: AnalyticsOverview }) {
  const { t, locale } = useI18n();
  const uploads = bucketSeries(data.uploadsPerHour ?? [], ['count'], 'hour');
  const upSum = seriesSummary(uploads, 'count');
  const storage = withShares(data.storage ?? [], (s) => s.bytes);
  const storageTotal = storage.reduce((s, x) => s + (x.bytes || 0), 0);
  const storageObjects = storage.reduce((s, x) => s + (x.objects || 0), 0);
  const errors = [...(data.errors ?? [])].sort((a, b) => a.service.localeCompare(b.service));
  const tc = data.transcode ?? { count: 0, meanSeconds: 0, p95Seconds: 0 };
  return (
    <>
      <div className="stat-cards">
        <StatCard label={t('analytics.viewersNow')} value={formatNumber(data.viewersNow, locale)} testId="viewers-now" />
        {PERIODS.map((p) => {
          const v = data.periods?.[p];
          return (
            <StatCard
              key={p}
              label={t(`analytics.period.${p}`)}
              testId={`period-${p}`}
              rows={[
                [t('analytics.views'), formatNumber(v?.views ?? 0, locale)],
                [t('analytics.watchTime'), formatWatchTime(v?.watchSeconds ?? 0, locale)],
                [t('analytics.uniqueViewers'), formatNumber(v?.uniqueViewers ?? 0, locale)],
              ]}
            />
          );
        })}
        <StatCard
          label={t('analytics.transcode')}
          testId="transcode"
          rows={[
            [t('analytics.transcodeCount'), formatNumber(tc.count, locale)],
            [t('analytics.transcodeMean'), tc.count ? formatSeconds(tc.meanSeconds, locale) : '–'],
            [t('analytics.transcodeP95'), tc.count ? formatSeconds(tc.p95Seconds, locale) : '–'],
          ]}
          hint={t('analytics.transcodeP95Hint')}
        />
        <StatCard
          label={t('analytics.uploadThroughput')}
          value={t('analytics.mbps', { value: formatNumber(data.uploadThroughputMBps ?? 0, locale) })}
          testId="throughput"
        />
      </div>
      <div className="analytics-grid">
        {uploads.length === 0 || upSum.total === 0 ? (
          <EmptyFigure title={t('analytics.uploadsPerHour')} message={t('analytics.noUploads')} />
        ) : (
          <ChartFigure
            testId="uploads-chart"
            title={t('analytics.uploadsPerHour')}
            summary={t('analytics.uploadsSummary', {
              count: upSum.total,
              total: formatNumber(upSum.total, locale),
              peak: formatNumber(upSum.peak?.value ?? 0, locale),
              time: upSum.peak ? formatBucket(upSum.peak.t, 'hour', locale, true) : '–',
            })}
            table={{
              head: [t('analytics.time'), t('analytics.uploads')],
              rows: uploads.filter((u) => u.count > 0).map((u) => [formatBucket(u.t, 'hour', locale, true), formatNumber(u.count, locale)]),
              numeric: [1],
            }}
          >
            <BarChart responsive accessibilityLayer={false} data={uploads} style={{ width: '100%', height: 220 }} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
              <CartesianGrid stroke={COLORS.grid} vertical={false} />
              <XAxis dataKey="t" tickFormatter={(v: number) => formatBucket(v, 'hour', locale)} stroke={COLORS.axis} minTickGap={24} />
              <YAxis allowDecimals={false} stroke={COLORS.axis} />
              <Tooltip {...tooltipStyle} labelFormatter={(v) => formatBucket(Number(v), 'hour', locale, true)} formatter={(v) => [formatNumber(Number(v), locale), t('analytics.uploads')]} />
              <Bar dataKey="count" fill={COLORS.accent} radius={[3, 3, 0, 0]} isAnimationActive={false} />
            </BarChart>
          </ChartFigure>
        )}
        <figure className="chart" data-testid="storage">
          <figcaption>
            <h3>{t('analytics.storage')}</h3>
            {storage.length > 0 && (
              <p className="muted small">
                {t('analytics.storageSummary', { size: formatBytes(storageTotal, locale), objects: formatNumber(storageObjects, locale) })}
              </p>
            )}
          </figcaption>
          {storage.length === 0 ? (
            <Empty>
              <p>{t('analytics.storageEmpty')}</p>
            </Empty>
          ) : (
            <DataTable
              caption={t('analytics.storage')}
              head={[t('analytics.storagePrefix'), t('analytics.storageSize'), t('analytics.storageObjects'), t('analytics.storageShare')]}
              numeric={[1, 2]}
              rows={storage.map((s) => [
                <code key="p">{s.prefix || '/'}</code>,
                formatBytes(s.bytes, locale),
                formatNumber(s.objects, locale),
                <span key="s" className="share-cell">
                  <ShareBar value={s.share} />
                  <span className="small">{formatRatio(s.share, locale, 0)}</span>
                </span>,
              ])}
            />
          )}
        </figure>
        <figure className="chart" data-testid="error-rates">
          <figcaption>
            <h3>{t('analytics.errorRates')}</h3>
          </figcaption>
          {errors.length === 0 ? (
            <Empty>
              <p>{t('analytics.errorsEmpty')}</p>
            </Empty>
          ) : (
            <DataTable
              caption={t('analytics.errorRates')}
              head={[t('analytics.service'), t('analytics.requests'), t('analytics.errorCount'), t('analytics.rate')]}
              numeric={[1, 2, 3]}
              rows={errors.map((e) => {
                const rate = errorRate(e);
                const level = errorLevel(rate);
                return [
                  e.service,
                  formatNumber(e.requests, locale),
                  formatNumber(e.errors, locale),
                  <span key="r">
                    {formatRatio(rate, locale)}
                    <span className={`level level-${level}`}>{t(`analytics.level.${level}`)}</span>
                  </span>,
                ];
              })}
            />
          )}
        </figure>
      </div>
    </>
  );
}

/** Popular content and geography: they follow the chosen range. */
function RangedSections({ range }: { range: RangeState }) {
  const { t, locale } = useI18n();
  const { api } = useSession();
  const q = rangeQuery(range.range!);
  const popular = useAsync((signal) => api.analyticsPopular({ ...q, limit: POPULAR_LIMIT }, signal), [api, q.from, q.to]);
  const geo = useAsync((signal) => api.analyticsGeography(q, signal), [api, q.from, q.to]);
  const countries = geo.data ? rankCountries(geo.data.items ?? [], locale, t('analytics.unknownCountry')) : [];
  return (
    <div className="analytics-grid popular-geo">
      <Section id="an-popular" title={t('analytics.popular')}>
        {popular.status === 'loading' && !popular.data && <Spinner />}
        {popular.status === 'error' && <ErrorState error={popular.error} onRetry={popular.reload} />}
        {popular.data && popular.status !== 'error' && (popular.data.items ?? []).length === 0 && (
          <Empty>
            <p>{t('analytics.noViews')}</p>
          </Empty>
        )}
        {popular.data && popular.status !== 'error' && (popular.data.items ?? []).length > 0 && (
          <div className="table-wrap" data-testid="popular">
            <table>
              <caption className="visually-hidden">{t('analytics.popular')}</caption>
              <thead>
                <tr>
                  <th scope="col" className="num">
                    {t('analytics.rank')}
                  </th>
                  <th scope="col">{t('analytics.video')}</th>
                  <th scope="col" className="num">
                    {t('analytics.views')}
                  </th>
                  <th scope="col" className="num">
                    {t('analytics.watchTime')}
                  </th>
                  <th scope="col" className="num">
                    {t('analytics.uniqueViewers')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {popular.data.items.map((v, i) => (
                  <tr key={v.videoId} data-video-id={v.videoId}>
                    <td className="num">{i + 1}</td>
                    <td>
                      <Link to={`/analytics/videos/${encodeURIComponent(v.videoId)}${range.search}`} aria-label={t('analytics.details', { title: v.title || v.videoId })}>
                        {v.title || t('analytics.untitled')}
                      </Link>
                    </td>
                    <td className="num">{formatNumber(v.views, locale)}</td>
                    <td className="num">{formatWatchTime(v.watchSeconds, locale)}</td>
                    <td className="num">{formatNumber(v.uniqueViewers, locale)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section id="an-geo" title={t('analytics.geography')}>
        {geo.status === 'loading' && !geo.data && <Spinner />}
        {geo.status === 'error' && <ErrorState error={geo.error} onRetry={geo.reload} />}
        {geo.data && geo.status !== 'error' && countries.length === 0 && (
          <Empty>
            <p>{(geo.data.unknown?.views ?? 0) > 0 ? t('analytics.noCountries', { count: geo.data.unknown!.views }) : t('analytics.noViews')}</p>
          </Empty>
        )}
        {geo.data && geo.status !== 'error' && countries.length > 0 && (
          <ol className="rank-bars" data-testid="geography" aria-label={t('analytics.geography')}>
            {countries.map((c, i) => (
              <li key={c.code || 'unknown'} className="rank-bar" data-country={c.code}>
                <span className="rank" aria-hidden="true">
                  {i + 1}
                </span>
                <span>{c.name}</span>
                <ShareBar value={c.bar} />
                <span className="figures small">
                  {t('video.views', { count: c.views })} · {formatRatio(c.share, locale, 1)} · {formatWatchTime(c.watchSeconds, locale)}
                </span>
              </li>
            ))}
          </ol>
        )}
      </Section>
    </div>
  );
}
