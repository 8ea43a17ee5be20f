package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

type progressDoc struct {
	ID        string    `bson:"_id"` // user_id + ":" + video_id
	UserID    string    `bson:"user_id"`
	VideoID   string    `bson:"video_id"`
	Position  float64   `bson:"position"`
	Duration  float64   `bson:"duration"`
	Completed bool      `bson:"completed"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func progressID(userID, videoID string) string { return userID + ":" + videoID }

func (d *progressDoc) progress() *ginflix.WatchProgress {
	return &ginflix.WatchProgress{
		UserID: d.UserID, VideoID: d.VideoID, Position: d.Position, Duration: d.Duration,
		Completed: d.Completed, UpdatedAt: d.UpdatedAt.UTC(),
	}
}

// SaveProgress upserts p, stamping its UpdatedAt.
func (db *DB) SaveProgress(ctx context.Context, p *ginflix.WatchProgress) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.UpdatedAt = db.now()
	id := progressID(p.UserID, p.VideoID)
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "user_id", Value: p.UserID},
		{Key: "video_id", Value: p.VideoID},
		{Key: "position", Value: p.Position},
		{Key: "duration", Value: p.Duration},
		{Key: "completed", Value: p.Completed},
		{Key: "updated_at", Value: p.UpdatedAt},
	}}}
	defer db.serialize()()
	var err error
	// Two first saves racing may both try the insert; the loser's retry
	// finds the document and updates it.
	for range 2 {
		_, err = db.progress.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return wrap(err)
}

// Progress returns a user's position in a video or ENOTFOUND.
func (db *DB) Progress(ctx context.Context, userID, videoID string) (*ginflix.WatchProgress, error) {
	var d progressDoc
	err := db.progress.FindOne(ctx, bson.D{{Key: "_id", Value: progressID(userID, videoID)}}).Decode(&d)
	if err != nil {
		return nil, notFound(err, "No progress of this user in video %s.", videoID)
	}
	return d.progress(), nil
}

// ContinueWatching lists a user's unfinished videos, most recently
// watched first.
func (db *DB) ContinueWatching(ctx context.Context, userID string, limit int) ([]*ginflix.WatchProgress, error) {
	if limit <= 0 {
		limit = ginflix.DefaultContinueWatching
	}
	docs, err := findAll[progressDoc](ctx, db.progress,
		bson.D{{Key: "user_id", Value: userID}, {Key: "completed", Value: false}},
		options.Find().SetSort(bson.D{{Key: "updated_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]*ginflix.WatchProgress, len(docs))
	for i := range docs {
		out[i] = docs[i].progress()
	}
	return out, nil
}
