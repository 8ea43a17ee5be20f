package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/ginflix/ginflix"
)

// RecordPlayback applies one session's batch of events. The session's
// state is read and updated in the same write transaction, and the single
// writer makes that atomic, so concurrent batches of one session count
// once. Batches that arrive together share one transaction (group
// commit), each in its own savepoint so that one failing batch fails
// alone: a commit (WAL frames, checkpoints) was a quarter of the API's CPU
// under the playback-events load.
func (db *DB) RecordPlayback(ctx context.Context, s ginflix.PlaybackSession, events []ginflix.PlaybackEvent, rules ginflix.AnalyticsRules) (ginflix.PlaybackOutcome, error) {
	db.playbackOnce.Do(func() { go db.playbackWriter() })
	req := &playbackReq{s: s, events: events, rules: rules, done: make(chan playbackResult, 1)}
	select {
	case db.playbackQ <- req:
	case <-ctx.Done():
		return ginflix.PlaybackOutcome{}, ctx.Err()
	case <-db.closing:
		return ginflix.PlaybackOutcome{}, errClosed
	}
	select {
	case r := <-req.done:
		return r.out, r.err
	case <-db.playbackDone:
		return ginflix.PlaybackOutcome{}, errClosed
	case <-ctx.Done():
		// The batch may still be applied; a retry of it is then ignored
		// as a replay.
		return ginflix.PlaybackOutcome{}, ctx.Err()
	}
}

var errClosed = errors.New("sqlite: the store is closed")

// maxGroup bounds the batches one transaction takes.
const maxGroup = 64

type playbackReq struct {
	s      ginflix.PlaybackSession
	events []ginflix.PlaybackEvent
	rules  ginflix.AnalyticsRules
	done   chan playbackResult
}

type playbackResult struct {
	out ginflix.PlaybackOutcome
	err error
}

// playbackWriter applies queued batches, as many as are waiting (up to
// maxGroup) per transaction, until the store closes.
func (db *DB) playbackWriter() {
	defer close(db.playbackDone)
	group := make([]*playbackReq, 0, maxGroup)
	for {
		select {
		case r := <-db.playbackQ:
			group = append(group[:0], r)
		case <-db.closing:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-db.playbackQ:
				group = append(group, r)
			default:
				break more
			}
		}
		db.applyGroup(group)
	}
}

// applyGroup runs each batch of group in a savepoint of one transaction.
// The requests' contexts are not used: cancelling one would interrupt the
// connection, and with it the others' batches.
func (db *DB) applyGroup(group []*playbackReq) {
	ctx := context.Background()
	results := make([]playbackResult, len(group))
	err := db.preparedTxDo(ctx, func(tx preparedTx) error {
		for i, r := range group {
			if _, err := tx.Tx.ExecContext(ctx, "SAVEPOINT batch"); err != nil {
				return err
			}
			out, err := db.recordOne(ctx, tx, r.s, r.events, r.rules)
			if err != nil {
				out = ginflix.PlaybackOutcome{}
				if _, rerr := tx.Tx.ExecContext(ctx, "ROLLBACK TO batch"); rerr != nil {
					return rerr
				}
			}
			if _, rerr := tx.Tx.ExecContext(ctx, "RELEASE batch"); rerr != nil {
				return rerr
			}
			results[i] = playbackResult{out: out, err: err}
		}
		return nil
	})
	for i, r := range group {
		if err != nil {
			results[i] = playbackResult{err: err}
		}
		r.done <- results[i]
	}
}

// recordOne applies one batch inside tx.
func (db *DB) recordOne(ctx context.Context, tx preparedTx, s ginflix.PlaybackSession, events []ginflix.PlaybackEvent, rules ginflix.AnalyticsRules) (ginflix.PlaybackOutcome, error) {
	st, err := loadSession(ctx, tx, s)
	if err != nil {
		return ginflix.PlaybackOutcome{}, err
	}
	out := st.Apply(events, rules)
	if len(out.Applied) == 0 {
		return out, nil
	}
	for i := range out.Applied {
		e := &out.Applied[i]
		e.SessionID, e.UserID, e.VideoID, e.Country = st.ID, st.UserID, st.VideoID, st.Country
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO playback_sessions (id, user_id, video_id, country, duration, first_at,
		last_at, last_position, rung, watched, max_step, max_percent, started, viewed, events)
		VALUES (`+placeholders(15)+`)
		ON CONFLICT (id) DO UPDATE SET last_at = excluded.last_at, last_position = excluded.last_position,
			rung = excluded.rung, watched = excluded.watched, max_step = excluded.max_step,
			max_percent = excluded.max_percent, started = excluded.started, viewed = excluded.viewed,
			events = excluded.events`,
		st.ID, st.UserID, st.VideoID, st.Country, st.Duration, ms(st.FirstAt), ms(st.LastAt), st.LastPosition,
		st.Rung, st.Watched, st.MaxStep, st.MaxPercent, st.Started, st.Viewed, st.Events); err != nil {
		return ginflix.PlaybackOutcome{}, err
	}
	if err := appendEvents(ctx, tx, out.Applied, db.Now()); err != nil {
		return ginflix.PlaybackOutcome{}, err
	}
	for _, d := range out.Deltas {
		if err := addDelta(ctx, tx, st, d); err != nil {
			return ginflix.PlaybackOutcome{}, err
		}
	}
	if out.ViewCounted {
		// The catalogue's view count (most viewed order); a deleted
		// video matches no row, which is fine.
		if _, err := tx.ExecContext(ctx, `UPDATE videos SET views = views + 1 WHERE id = ?`, st.VideoID); err != nil {
			return ginflix.PlaybackOutcome{}, err
		}
	}
	return out, nil
}

func loadSession(ctx context.Context, tx preparedTx, s ginflix.PlaybackSession) (*ginflix.SessionState, error) {
	st := ginflix.NewSessionState(s)
	var first, last int64
	err := tx.QueryRowContext(ctx, `SELECT user_id, video_id, country, duration, first_at, last_at, last_position, rung,
		watched, max_step, max_percent, started, viewed, events FROM playback_sessions WHERE id = ?`, s.ID).Scan(
		&st.UserID, &st.VideoID, &st.Country, &st.Duration, &first, &last, &st.LastPosition, &st.Rung,
		&st.Watched, &st.MaxStep, &st.MaxPercent, &st.Started, &st.Viewed, &st.Events)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return st, nil
	case err != nil:
		return nil, err
	}
	st.FirstAt, st.LastAt, st.Version = fromMS(first), fromMS(last), 1
	return st, nil
}

func appendEvents(ctx context.Context, tx preparedTx, events []ginflix.PlaybackEvent, now time.Time) error {
	ginflix.PrepareEvents(events, now)
	for i := range events {
		e := &events[i]
		if _, err := tx.ExecContext(ctx, `INSERT INTO playback_events
		(id, session_id, user_id, video_id, type, position, rung, value, detail, country, at)
		VALUES (`+placeholders(11)+`)`, e.ID, e.SessionID, e.UserID, e.VideoID, e.Type, e.Position,
			e.Rung, e.Value, e.Detail, e.Country, ms(e.At)); err != nil {
			return err
		}
	}
	return nil
}

func addDelta(ctx context.Context, tx preparedTx, st *ginflix.SessionState, d *ginflix.HourlyDelta) error {
	hour := ms(d.Hour)
	var unique int64
	if d.Viewer {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO analytics_viewers (video_id, hour, user_id) VALUES (?, ?, ?)`,
			st.VideoID, hour, st.UserID)
		if err != nil {
			return err
		}
		if unique, err = res.RowsAffected(); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_hourly (video_id, hour, views, sessions, unique_viewers,
		watch_seconds, percent_sum, startup_count, startup_ms_sum, rebuffer_count, rebuffer_seconds, errors)
		VALUES (`+placeholders(12)+`)
		ON CONFLICT (video_id, hour) DO UPDATE SET views = views + excluded.views, sessions = sessions + excluded.sessions,
			unique_viewers = unique_viewers + excluded.unique_viewers, watch_seconds = watch_seconds + excluded.watch_seconds,
			percent_sum = percent_sum + excluded.percent_sum, startup_count = startup_count + excluded.startup_count,
			startup_ms_sum = startup_ms_sum + excluded.startup_ms_sum, rebuffer_count = rebuffer_count + excluded.rebuffer_count,
			rebuffer_seconds = rebuffer_seconds + excluded.rebuffer_seconds, errors = errors + excluded.errors`,
		st.VideoID, hour, d.Views, d.Sessions, unique, d.WatchSeconds, d.PercentSum, d.StartupCount, d.StartupMsSum,
		d.RebufferCount, d.RebufferSeconds, d.Errors); err != nil {
		return err
	}
	for b, n := range d.Startup {
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_hourly_startup (video_id, hour, bucket, count) VALUES (?, ?, ?, ?)
			ON CONFLICT (video_id, hour, bucket) DO UPDATE SET count = count + excluded.count`, st.VideoID, hour, b, n); err != nil {
			return err
		}
	}
	for r, secs := range d.RungSeconds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_hourly_rungs (video_id, hour, rung, seconds) VALUES (?, ?, ?, ?)
			ON CONFLICT (video_id, hour, rung) DO UPDATE SET seconds = seconds + excluded.seconds`, st.VideoID, hour, r, secs); err != nil {
			return err
		}
	}
	for step, n := range d.Reached {
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_hourly_reached (video_id, hour, step, sessions) VALUES (?, ?, ?, ?)
			ON CONFLICT (video_id, hour, step) DO UPDATE SET sessions = sessions + excluded.sessions`, st.VideoID, hour, step, n); err != nil {
			return err
		}
	}
	for detail, n := range d.ErrorDetails {
		// A new detail beyond the hour's quota counts as "other".
		var known, distinct int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(detail = ?), 0) FROM analytics_hourly_errors
			WHERE video_id = ? AND hour = ?`, detail, st.VideoID, hour).Scan(&distinct, &known); err != nil {
			return err
		}
		if known == 0 && distinct >= ginflix.MaxErrorDetailsPerHour {
			detail = ginflix.OtherErrorDetail
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_hourly_errors (video_id, hour, detail, count) VALUES (?, ?, ?, ?)
			ON CONFLICT (video_id, hour, detail) DO UPDATE SET count = count + excluded.count`, st.VideoID, hour, detail, n); err != nil {
			return err
		}
	}
	if st.Country != "" && (d.Views > 0 || d.WatchSeconds > 0) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_hourly_countries (video_id, hour, country, views, watch_seconds)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (video_id, hour, country) DO UPDATE SET views = views + excluded.views,
			watch_seconds = watch_seconds + excluded.watch_seconds`, st.VideoID, hour, st.Country, d.Views, d.WatchSeconds); err != nil {
			return err
		}
	}
	return nil
}

// window is the [from, to) of hour buckets in milliseconds.
func window(from, to time.Time) (int64, int64) {
	return ms(from.UTC().Truncate(time.Hour)), ms(to)
}

// ActiveSessions counts sessions with an event at or after since.
func (db *DB) ActiveSessions(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM playback_sessions WHERE last_at >= ?`, ms(since)).Scan(&n)
	return n, err
}

// VideoHourly returns one video's hours in the window.
func (db *DB) VideoHourly(ctx context.Context, videoID string, from, to time.Time) ([]*ginflix.HourlyStats, error) {
	lo, hi := window(from, to)
	rows, err := db.read.QueryContext(ctx, `SELECT hour, views, sessions, unique_viewers, watch_seconds, percent_sum,
		startup_count, startup_ms_sum, rebuffer_count, rebuffer_seconds, errors
		FROM analytics_hourly WHERE video_id = ? AND hour >= ? AND hour < ? ORDER BY hour`, videoID, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ginflix.HourlyStats{}
	byHour := map[int64]*ginflix.HourlyStats{}
	for rows.Next() {
		var hour int64
		h := ginflix.NewHourlyStats(videoID, time.Time{})
		if err := rows.Scan(&hour, &h.Views, &h.Sessions, &h.UniqueViewers, &h.WatchSeconds, &h.PercentSum,
			&h.StartupCount, &h.StartupMsSum, &h.RebufferCount, &h.RebufferSeconds, &h.Errors); err != nil {
			return nil, err
		}
		h.Hour = fromMS(hour)
		byHour[hour] = h
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The detail tables, each read once for the window: hour, key, value.
	parts := []struct {
		query string
		add   func(h *ginflix.HourlyStats, key string, v float64)
	}{
		{`SELECT hour, bucket, count FROM analytics_hourly_startup`, func(h *ginflix.HourlyStats, key string, v float64) {
			if b, err := strconv.Atoi(key); err == nil && b >= 0 && b < len(h.Startup) {
				h.Startup[b] += int64(v)
			}
		}},
		{`SELECT hour, step, sessions FROM analytics_hourly_reached`, func(h *ginflix.HourlyStats, key string, v float64) {
			if b, err := strconv.Atoi(key); err == nil && b >= 0 && b < len(h.Reached) {
				h.Reached[b] += int64(v)
			}
		}},
		{`SELECT hour, rung, seconds FROM analytics_hourly_rungs`, func(h *ginflix.HourlyStats, key string, v float64) {
			h.RungSeconds[key] += v
		}},
		{`SELECT hour, detail, count FROM analytics_hourly_errors`, func(h *ginflix.HourlyStats, key string, v float64) {
			h.ErrorDetails[key] += int64(v)
		}},
	}
	for _, p := range parts {
		if err := func() error {
			rows, err := db.read.QueryContext(ctx, p.query+` WHERE video_id = ? AND hour >= ? AND hour < ?`, videoID, lo, hi)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					hour int64
					key  string
					v    float64
				)
				if err := rows.Scan(&hour, &key, &v); err != nil {
					return err
				}
				if h := byHour[hour]; h != nil {
					p.add(h, key, v)
				}
			}
			return rows.Err()
		}(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UniqueViewers counts distinct users with a counted view in the window.
func (db *DB) UniqueViewers(ctx context.Context, videoID string, from, to time.Time) (int64, error) {
	lo, hi := window(from, to)
	q, args := `SELECT COUNT(DISTINCT user_id) FROM analytics_viewers WHERE hour >= ? AND hour < ?`, []any{lo, hi}
	if videoID != "" {
		q, args = q+` AND video_id = ?`, append(args, videoID)
	}
	var n int64
	err := db.read.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

// TopVideos ranks videos by views, then watch time.
func (db *DB) TopVideos(ctx context.Context, from, to time.Time, limit int) ([]ginflix.VideoTotals, error) {
	lo, hi := window(from, to)
	rows, err := db.read.QueryContext(ctx, `SELECT video_id, SUM(views), SUM(watch_seconds) FROM analytics_hourly
		WHERE hour >= ? AND hour < ? GROUP BY video_id ORDER BY 2 DESC, 3 DESC, video_id LIMIT ?`, lo, hi, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ginflix.VideoTotals{}
	for rows.Next() {
		var t ginflix.VideoTotals
		if err := rows.Scan(&t.VideoID, &t.Views, &t.WatchSeconds); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].UniqueViewers, err = db.UniqueViewers(ctx, out[i].VideoID, from, to); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Totals sums every video in the window.
func (db *DB) Totals(ctx context.Context, from, to time.Time) (ginflix.VideoTotals, error) {
	lo, hi := window(from, to)
	var t ginflix.VideoTotals
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(SUM(views), 0), COALESCE(SUM(watch_seconds), 0)
		FROM analytics_hourly WHERE hour >= ? AND hour < ?`, lo, hi).Scan(&t.Views, &t.WatchSeconds); err != nil {
		return t, err
	}
	var err error
	t.UniqueViewers, err = db.UniqueViewers(ctx, "", from, to)
	return t, err
}

// Countries sums views by country.
func (db *DB) Countries(ctx context.Context, from, to time.Time) ([]ginflix.CountryTotals, error) {
	lo, hi := window(from, to)
	rows, err := db.read.QueryContext(ctx, `SELECT country, SUM(views), SUM(watch_seconds) FROM analytics_hourly_countries
		WHERE hour >= ? AND hour < ? GROUP BY country ORDER BY 2 DESC, 3 DESC, country`, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ginflix.CountryTotals{}
	for rows.Next() {
		var c ginflix.CountryTotals
		if err := rows.Scan(&c.Country, &c.Views, &c.WatchSeconds); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UploadsPerHour counts videos created per hour.
func (db *DB) UploadsPerHour(ctx context.Context, from, to time.Time) ([]ginflix.HourCount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT created_at / 3600000, COUNT(*) FROM videos
		WHERE created_at >= ? AND created_at < ? GROUP BY 1 ORDER BY 1`, ms(from), ms(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ginflix.HourCount{}
	for rows.Next() {
		var h, n int64
		if err := rows.Scan(&h, &n); err != nil {
			return nil, err
		}
		out = append(out, ginflix.HourCount{Hour: fromMS(h * 3600000), Count: n})
	}
	return out, rows.Err()
}

// TranscodeSeconds returns run times of succeeded transcoding jobs.
func (db *DB) TranscodeSeconds(ctx context.Context, from, to time.Time, limit int) ([]float64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT finished_at - started_at FROM jobs
		WHERE kind = ? AND state = ? AND finished_at >= ? AND finished_at < ? AND started_at IS NOT NULL
		ORDER BY finished_at DESC LIMIT ?`, ginflix.JobKindTranscode, ginflix.JobSucceeded, ms(from), ms(to), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []float64{}
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, float64(d)/1000)
	}
	return out, rows.Err()
}

// SweepPlayback deletes raw events and sessions older than before.
func (db *DB) SweepPlayback(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM playback_events WHERE at < ?`, `DELETE FROM playback_sessions WHERE last_at < ?`} {
			res, err := tx.ExecContext(ctx, q, ms(before))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}
