package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ginflix/ginflix"
)

// SaveProgress upserts a user's position in a video.
func (db *DB) SaveProgress(ctx context.Context, p *ginflix.WatchProgress) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.UpdatedAt = db.Now()
	_, err := db.write.ExecContext(ctx, `INSERT INTO watch_progress (user_id, video_id, position, duration, completed, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, video_id) DO UPDATE SET position = excluded.position, duration = excluded.duration,
			completed = excluded.completed, updated_at = excluded.updated_at`,
		p.UserID, p.VideoID, p.Position, p.Duration, p.Completed, ms(p.UpdatedAt))
	return err
}

func scanProgress(row scanner) (*ginflix.WatchProgress, error) {
	var (
		p       ginflix.WatchProgress
		updated int64
	)
	if err := row.Scan(&p.UserID, &p.VideoID, &p.Position, &p.Duration, &p.Completed, &updated); err != nil {
		return nil, err
	}
	p.UpdatedAt = fromMS(updated)
	return &p, nil
}

// Progress returns a user's position in a video.
func (db *DB) Progress(ctx context.Context, userID, videoID string) (*ginflix.WatchProgress, error) {
	p, err := scanProgress(db.read.QueryRowContext(ctx, `SELECT user_id, video_id, position, duration, completed, updated_at
		FROM watch_progress WHERE user_id = ? AND video_id = ?`, userID, videoID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ginflix.Errorf(ginflix.ENOTFOUND, "No saved position for this video.")
	}
	return p, err
}

// ContinueWatching lists unfinished videos, most recently watched first.
func (db *DB) ContinueWatching(ctx context.Context, userID string, limit int) ([]*ginflix.WatchProgress, error) {
	if limit <= 0 {
		limit = ginflix.DefaultContinueWatching
	}
	rows, err := db.read.QueryContext(ctx, `SELECT user_id, video_id, position, duration, completed, updated_at
		FROM watch_progress WHERE user_id = ? AND completed = 0 ORDER BY updated_at DESC, video_id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ginflix.WatchProgress{}
	for rows.Next() {
		p, err := scanProgress(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AppendEvents stores a batch of playback events in one transaction.
func (db *DB) AppendEvents(ctx context.Context, events []ginflix.PlaybackEvent) error {
	if len(events) == 0 {
		return nil
	}
	return db.preparedTxDo(ctx, func(tx preparedTx) error { return appendEvents(ctx, tx, events, db.Now()) })
}

// SessionEvents returns one session's events in time order.
func (db *DB) SessionEvents(ctx context.Context, sessionID string) ([]ginflix.PlaybackEvent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, session_id, user_id, video_id, type, position, rung, value,
		detail, country, at FROM playback_events WHERE session_id = ? ORDER BY at, id`, sessionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ginflix.PlaybackEvent{}
	for rows.Next() {
		var (
			e  ginflix.PlaybackEvent
			at int64
		)
		if err := rows.Scan(&e.ID, &e.SessionID, &e.UserID, &e.VideoID, &e.Type, &e.Position, &e.Rung, &e.Value,
			&e.Detail, &e.Country, &at); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteEventsBefore sweeps events older than t.
func (db *DB) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM playback_events WHERE at < ?`, ms(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
