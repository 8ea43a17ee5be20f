package ginflix

import (
	"context"
	"time"
)

// WatchProgress is where a user stopped in a video, for « Reprendre à 12:34 ».
type WatchProgress struct {
	UserID    string    `json:"-"`
	VideoID   string    `json:"videoId"`
	Position  float64   `json:"position"` // seconds
	Duration  float64   `json:"duration"` // seconds, as the player saw it
	Completed bool      `json:"completed"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ProgressStore keeps watch positions, one per (user, video).
type ProgressStore interface {
	// SaveProgress upserts p, stamping UpdatedAt.
	SaveProgress(ctx context.Context, p *WatchProgress) error
	// Progress returns a user's position in a video or ENOTFOUND.
	Progress(ctx context.Context, userID, videoID string) (*WatchProgress, error)
	// ContinueWatching lists a user's unfinished videos, most recent first.
	ContinueWatching(ctx context.Context, userID string, limit int) ([]*WatchProgress, error)
}
