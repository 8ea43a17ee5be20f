package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ginflix/ginflix"
)

// AddToMyList saves a video for a user, keeping the first AddedAt.
func (db *DB) AddToMyList(ctx context.Context, userID, videoID string) (*ginflix.ListEntry, error) {
	if userID == "" || videoID == "" {
		return nil, ginflix.Errorf(ginflix.EINVALID, "A list entry needs a user and a video.")
	}
	var added int64
	err := db.write.QueryRowContext(ctx, `INSERT INTO my_list (user_id, video_id, added_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id, video_id) DO UPDATE SET added_at = added_at RETURNING added_at`,
		userID, videoID, ms(db.Now())).Scan(&added)
	if err != nil {
		return nil, err
	}
	return &ginflix.ListEntry{UserID: userID, VideoID: videoID, AddedAt: fromMS(added)}, nil
}

// RemoveFromMyList forgets a saved video.
func (db *DB) RemoveFromMyList(ctx context.Context, userID, videoID string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM my_list WHERE user_id = ? AND video_id = ?`, userID, videoID)
	return err
}

// MyListEntry returns one saved video.
func (db *DB) MyListEntry(ctx context.Context, userID, videoID string) (*ginflix.ListEntry, error) {
	var added int64
	err := db.read.QueryRowContext(ctx, `SELECT added_at FROM my_list WHERE user_id = ? AND video_id = ?`, userID, videoID).Scan(&added)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ginflix.Errorf(ginflix.ENOTFOUND, "This video is not in your list.")
	} else if err != nil {
		return nil, err
	}
	return &ginflix.ListEntry{UserID: userID, VideoID: videoID, AddedAt: fromMS(added)}, nil
}

// MyList lists saved videos, most recent first.
func (db *DB) MyList(ctx context.Context, userID string, limit int) ([]*ginflix.ListEntry, error) {
	if limit <= 0 {
		limit = ginflix.DefaultMyListLength
	}
	rows, err := db.read.QueryContext(ctx, `SELECT video_id, added_at FROM my_list WHERE user_id = ?
		ORDER BY added_at DESC, video_id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ginflix.ListEntry{}
	for rows.Next() {
		e := &ginflix.ListEntry{UserID: userID}
		var added int64
		if err := rows.Scan(&e.VideoID, &added); err != nil {
			return nil, err
		}
		e.AddedAt = fromMS(added)
		out = append(out, e)
	}
	return out, rows.Err()
}
