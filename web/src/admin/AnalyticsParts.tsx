// Pieces shared by the analytics pages: the time-range picker (kept in the
// URL), stat cards, and chart figures with a text summary and a data table.

import { useMemo, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { Empty } from '../common/components';
import { useI18n } from '../common/i18n-react';
import type { MessageKey } from '../common/messages';
import {
  choiceFromParams,
  choiceToParams,
  dayString,
  isRangeError,
  RANGE_PRESETS,
  resolveRange,
  type RangeChoice,
  type RangeError,
  type RangePreset,
  type TimeRange,
} from './analytics';
import './analytics.css';

/** Chart colours (the theme's, as literals: SVG attributes do not take CSS variables everywhere). */
export const COLORS = {
  accent: '#e5484d',
  info: '#52a9ff',
  ok: '#3dd68c',
  warn: '#ffb224',
  grid: '#2a2d36',
  axis: '#a3a7b3',
  tooltipBg: '#181a20',
  tooltipBorder: '#3a3e4a',
};

export const tooltipStyle = {
  contentStyle: { background: COLORS.tooltipBg, border: `1px solid ${COLORS.tooltipBorder}`, borderRadius: 8, color: '#ecedf0' },
  labelStyle: { color: '#ecedf0' },
  itemStyle: { color: '#ecedf0' },
};

export interface RangeState {
  choice: RangeChoice;
  /** The resolved range, or why the URL's custom range is not one. */
  range: TimeRange | null;
  error: RangeError | null;
  setChoice: (c: RangeChoice) => void;
  /** Resolves the range again (presets end at a new "now"). */
  refresh: () => void;
  /** "?range=30d" to carry the range to another analytics page. */
  search: string;
}

/** The page's time range, from and to the URL (?range=24h|7d|30d|custom&from&to). */
export function useAnalyticsRange(): RangeState {
  const [params, setParams] = useSearchParams();
  const [nonce, setNonce] = useState(0);
  const choice = useMemo(() => choiceFromParams(params), [params]);
  const key = `${choice.preset}|${choice.fromDay ?? ''}|${choice.toDay ?? ''}`;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const resolved = useMemo(() => resolveRange(choice, new Date()), [key, nonce]);
  const q = new URLSearchParams(choiceToParams(choice)).toString();
  return {
    choice,
    range: isRangeError(resolved) ? null : resolved,
    error: isRangeError(resolved) ? resolved : null,
    setChoice: (c) => setParams(choiceToParams(c), { replace: true }),
    refresh: () => setNonce((n) => n + 1),
    search: q ? `?${q}` : '',
  };
}

/** Preset select; "custom" shows two dates and Apply. */
export function RangePicker({ state, onRefresh }: { state: RangeState; onRefresh: () => void }) {
  const { t, locale } = useI18n();
  const { choice, range, error } = state;
  const [custom, setCustom] = useState(choice.preset === 'custom');
  const today = dayString(new Date());
  const [fromDay, setFromDay] = useState(choice.fromDay || dayString(new Date(Date.now() - 6 * 86_400_000)));
  const [toDay, setToDay] = useState(choice.toDay || today);
  const selected: RangePreset = custom ? 'custom' : choice.preset;
  const fmt = (d: Date) => d.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <div className="range-picker" data-testid="range-picker">
      <label className="field">
        {t('analytics.range')}
        <select
          value={selected}
          onChange={(e) => {
            const p = e.target.value as RangePreset;
            if (p === 'custom') setCustom(true);
            else {
              setCustom(false);
              state.setChoice({ preset: p });
            }
          }}
          data-testid="range"
        >
          {RANGE_PRESETS.map((p) => (
            <option key={p} value={p}>
              {t(`analytics.range.${p}`)}
            </option>
          ))}
          <option value="custom">{t('analytics.range.custom')}</option>
        </select>
      </label>
      {custom && (
        <form
          className="range-custom"
          onSubmit={(e) => {
            e.preventDefault();
            state.setChoice({ preset: 'custom', fromDay, toDay });
          }}
        >
          <label className="field">
            {t('analytics.from')}
            <input type="date" value={fromDay} max={today} required onChange={(e) => setFromDay(e.target.value)} />
          </label>
          <label className="field">
            {t('analytics.to')}
            <input type="date" value={toDay} max={today} required onChange={(e) => setToDay(e.target.value)} />
          </label>
          <button type="submit" className="btn">
            {t('analytics.apply')}
          </button>
        </form>
      )}
      <button type="button" className="btn" onClick={onRefresh}>
        {t('analytics.refresh')}
      </button>
      <span className="grow" />
      {range && (
        <span className="muted small" aria-live="polite">
          {t('analytics.rangeShown', { from: fmt(range.from), to: fmt(range.to) })}
        </span>
      )}
      {error && (
        <p className="error-text" role="alert" style={{ flexBasis: '100%', margin: 0 }}>
          {t(`analytics.rangeError.${error}` as MessageKey)}
        </p>
      )}
    </div>
  );
}

export function Section({ title, id, children, note }: { title: string; id: string; children: ReactNode; note?: string }) {
  return (
    <section className="analytics-section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {note && <p className="muted small">{note}</p>}
      {children}
    </section>
  );
}

/** One big number, or a few labelled ones. */
export function StatCard({ label, value, hint, rows, testId }: { label: string; value?: ReactNode; hint?: string; rows?: [string, ReactNode][]; testId?: string }) {
  return (
    <div className="stat-card" data-testid={testId}>
      <span className="label">{label}</span>
      {value !== undefined && <span className="value">{value}</span>}
      {rows && (
        <dl>
          {rows.map(([k, v]) => (
            <div key={k} className="stat-row">
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
      {hint && <span className="muted small">{hint}</span>}
    </div>
  );
}

export interface DataTableProps {
  caption: string;
  head: string[];
  rows: ReactNode[][];
  /** Columns (by index) that hold numbers. */
  numeric?: number[];
}

export function DataTable({ caption, head, rows, numeric = [] }: DataTableProps) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {head.map((h, i) => (
              <th key={i} scope="col" className={numeric.includes(i) ? 'num' : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) =>
                j === 0 ? (
                  <th key={j} scope="row">
                    {c}
                  </th>
                ) : (
                  <td key={j} className={numeric.includes(j) ? 'num' : undefined}>
                    {c}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A chart with its title, a one-sentence summary (also the chart's
 * accessible name) and the same data as a table, folded.
 */
export function ChartFigure({
  title,
  summary,
  table,
  children,
  testId,
  level = 3,
}: {
  title: string;
  summary: string;
  table: Omit<DataTableProps, 'caption'>;
  children: ReactNode;
  testId?: string;
  /** Heading level of the title (3 inside a section, 2 directly under the page's h1). */
  level?: 2 | 3;
}) {
  const { t } = useI18n();
  const H = level === 2 ? 'h2' : 'h3';
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>
        <H>{title}</H>
        <p className="muted small">{summary}</p>
      </figcaption>
      <div className="chart-box" role="img" aria-label={`${title}. ${summary}`}>
        {children}
      </div>
      <details>
        <summary>{t('analytics.showData')}</summary>
        <DataTable caption={title} {...table} />
      </details>
    </figure>
  );
}

/** A chart's place when there is nothing to draw. */
export function EmptyFigure({ title, message, level = 3, children }: { title: string; message: string; level?: 2 | 3; children?: ReactNode }) {
  const H = level === 2 ? 'h2' : 'h3';
  return (
    <figure className="chart">
      <figcaption>
        <H>{title}</H>
        {children}
      </figcaption>
      <Empty>
        <p>{message}</p>
      </Empty>
    </figure>
  );
}

/** A horizontal share bar (decorative; the number next to it says it). */
export function ShareBar({ value, color = COLORS.info }: { value: number; color?: string }) {
  return (
    <span className="share-bar" aria-hidden="true">
      <span style={{ width: `${Math.max(0, Math.min(1, value)) * 100}%`, background: color }} />
    </span>
  );
}
