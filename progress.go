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

// DefaultContinueWatching is the length of a ContinueWatching list when
// the caller gives no positive limit.
const DefaultContinueWatching = 20

// Validate checks p names a user and a video and holds sane numbers.
func (p *WatchProgress) Validate() error {
	switch {
	case p.UserID == "":
		return InvalidParam("userId", "Progress needs a user.")
	case p.VideoID == "":
		return InvalidParam("videoId", "Progress needs a video.")
	case !(p.Position >= 0 && p.Position < 1e7) || !(p.Duration >= 0 && p.Duration < 1e7):
		return InvalidParam("position", "Position and duration must be seconds between 0 and 10,000,000.")
	}
	return nil
}

// ProgressStore keeps watch positions, one per (user, video).
type ProgressStore interface {
	// SaveProgress validates and upserts p, stamping UpdatedAt.
	SaveProgress(ctx context.Context, p *WatchProgress) error
	// Progress returns a user's position in a video or ENOTFOUND.
	Progress(ctx context.Context, userID, videoID string) (*WatchProgress, error)
	// ContinueWatching lists a user's unfinished videos, most recent first;
	// limit <= 0 means DefaultContinueWatching.
	ContinueWatching(ctx context.Context, userID string, limit int) ([]*WatchProgress, error)
}
