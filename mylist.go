package ginflix

import (
	"context"
	"time"
)

// ListEntry is a video a user saved to « Ma liste ».
type ListEntry struct {
	UserID  string    `json:"-"`
	VideoID string    `json:"videoId"`
	AddedAt time.Time `json:"addedAt"`
}

// DefaultMyListLength is the length of a MyList answer without a positive limit.
const DefaultMyListLength = 100

// MyListStore keeps each user's saved videos.
type MyListStore interface {
	// AddToMyList saves a video for a user; saving it again keeps the
	// first AddedAt.
	AddToMyList(ctx context.Context, userID, videoID string) (*ListEntry, error)
	// RemoveFromMyList forgets it; removing what is not there is no error.
	RemoveFromMyList(ctx context.Context, userID, videoID string) error
	// MyListEntry returns one entry or ENOTFOUND.
	MyListEntry(ctx context.Context, userID, videoID string) (*ListEntry, error)
	// MyList lists a user's entries, most recently added first; limit <= 0
	// means DefaultMyListLength.
	MyList(ctx context.Context, userID string, limit int) ([]*ListEntry, error)
}
