package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

type eventDoc struct {
	ID        string    `bson:"_id"`
	SessionID string    `bson:"session_id"`
	UserID    string    `bson:"user_id"`
	VideoID   string    `bson:"video_id"`
	Type      string    `bson:"type"`
	Position  float64   `bson:"position"`
	Rung      string    `bson:"rung"`
	Value     float64   `bson:"value"`
	Detail    string    `bson:"detail"`
	Country   string    `bson:"country"`
	At        time.Time `bson:"at"`
}

// AppendEvents stores events, assigning the IDs (in place) of those that
// have none and stamping those with no time.
func (db *DB) AppendEvents(ctx context.Context, events []ginflix.PlaybackEvent) error {
	if len(events) == 0 {
		return nil
	}
	ginflix.PrepareEvents(events, db.now())
	docs := make([]any, len(events))
	for i := range events {
		e := &events[i]
		docs[i] = &eventDoc{
			ID: e.ID, SessionID: e.SessionID, UserID: e.UserID, VideoID: e.VideoID, Type: string(e.Type),
			Position: e.Position, Rung: e.Rung, Value: e.Value, Detail: e.Detail, Country: e.Country, At: e.At,
		}
	}
	_, err := db.events.InsertMany(ctx, docs)
	return wrap(err)
}

// SessionEvents returns one session's events in time order.
func (db *DB) SessionEvents(ctx context.Context, sessionID string) ([]ginflix.PlaybackEvent, error) {
	docs, err := findAll[eventDoc](ctx, db.events, bson.D{{Key: "session_id", Value: sessionID}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]ginflix.PlaybackEvent, len(docs))
	for i, d := range docs {
		out[i] = ginflix.PlaybackEvent{
			ID: d.ID, SessionID: d.SessionID, UserID: d.UserID, VideoID: d.VideoID,
			Type: ginflix.PlaybackEventType(d.Type), Position: d.Position, Rung: d.Rung, Value: d.Value,
			Detail: d.Detail, Country: d.Country, At: d.At.UTC(),
		}
	}
	return out, nil
}

// DeleteEventsBefore deletes the events older than t and counts them.
func (db *DB) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.events.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: t.UTC()}}}})
	if err != nil {
		return 0, wrap(err)
	}
	return res.DeletedCount, nil
}
