package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

type listDoc struct {
	ID      string    `bson:"_id"` // user_id + ":" + video_id
	UserID  string    `bson:"user_id"`
	VideoID string    `bson:"video_id"`
	AddedAt time.Time `bson:"added_at"`
}

func (d *listDoc) entry() *ginflix.ListEntry {
	return &ginflix.ListEntry{UserID: d.UserID, VideoID: d.VideoID, AddedAt: d.AddedAt.UTC()}
}

// AddToMyList saves a video for a user; $setOnInsert keeps the first AddedAt.
func (db *DB) AddToMyList(ctx context.Context, userID, videoID string) (*ginflix.ListEntry, error) {
	if userID == "" || videoID == "" {
		return nil, ginflix.Errorf(ginflix.EINVALID, "A list entry needs a user and a video.")
	}
	id := progressID(userID, videoID)
	update := bson.D{{Key: "$setOnInsert", Value: bson.D{
		{Key: "user_id", Value: userID}, {Key: "video_id", Value: videoID}, {Key: "added_at", Value: db.now()},
	}}}
	defer db.serialize()()
	var err error
	for range 2 { // a racing first insert loses with a duplicate key, then finds the entry
		_, err = db.myList.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return nil, wrap(err)
	}
	return db.MyListEntry(ctx, userID, videoID)
}

// RemoveFromMyList forgets a saved video.
func (db *DB) RemoveFromMyList(ctx context.Context, userID, videoID string) error {
	_, err := db.myList.DeleteOne(ctx, bson.D{{Key: "_id", Value: progressID(userID, videoID)}})
	return wrap(err)
}

// MyListEntry returns one saved video or ENOTFOUND.
func (db *DB) MyListEntry(ctx context.Context, userID, videoID string) (*ginflix.ListEntry, error) {
	var d listDoc
	if err := db.myList.FindOne(ctx, bson.D{{Key: "_id", Value: progressID(userID, videoID)}}).Decode(&d); err != nil {
		return nil, notFound(err, "This video is not in your list.")
	}
	return d.entry(), nil
}

// MyList lists saved videos, most recent first.
func (db *DB) MyList(ctx context.Context, userID string, limit int) ([]*ginflix.ListEntry, error) {
	if limit <= 0 {
		limit = ginflix.DefaultMyListLength
	}
	docs, err := findAll[listDoc](ctx, db.myList, bson.D{{Key: "user_id", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "added_at", Value: -1}, {Key: "video_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]*ginflix.ListEntry, len(docs))
	for i := range docs {
		out[i] = docs[i].entry()
	}
	return out, nil
}
