// Package mongo implements ginflix.Store on MongoDB with the official
// driver. It sticks to the part of the MongoDB API that FerretDB v1 (the
// database of the tests) answers correctly: find, findOneAndUpdate,
// updateOne/updateMany with $set/$inc, upserts, deleteMany, countDocuments,
// createIndexes and an aggregation of one $match and a one-accumulator
// $group. No transactions, $expr, $elemMatch, $lookup, text or TTL indexes.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/ginflix/ginflix"
)

// Collection names.
const (
	colVideos   = "videos"
	colUsers    = "users"
	colProgress = "watch_progress"
	colEvents   = "playback_events"
	colJobs     = "jobs"
	colMyList   = "my_list"
	colSettings = "settings"
	colAudit    = "audit_log"
	colRefresh  = "refresh_families"
)

// DB is a ginflix.Store on one MongoDB database.
type DB struct {
	// Now is the clock of every timestamp the store writes; ginflix.Now
	// when nil. Tests set it before use.
	Now func() time.Time

	client *mongo.Client
	db     *mongo.Database

	videos, users, progress, events, jobs, myList *mongo.Collection
	settings, audit, refresh                      *mongo.Collection

	// ferret is set when the server is FerretDB. FerretDB v1 runs a
	// conditional update (findAndModify, updateOne with a filter, $inc) as a
	// read, then a write by _id that does not re-check the filter, so two
	// concurrent compare-and-swaps can both "win". On FerretDB the store
	// serialises its read-modify-write operations with mu; on MongoDB the
	// server does it and mu is never taken.
	ferret bool
	mu     sync.Mutex
}

var _ ginflix.Store = (*DB)(nil)

// Open connects to the MongoDB at uri, checks it answers and creates the
// indexes of database dbName (a no-op when they exist).
func Open(ctx context.Context, uri, dbName string) (*DB, error) {
	if dbName == "" {
		return nil, errors.New("mongo: empty database name")
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	db := &DB{client: client, db: client.Database(dbName)}
	if err := db.init(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	return db, nil
}

func (db *DB) init(ctx context.Context) error {
	if err := db.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("mongo: ping: %w", err)
	}
	var info bson.M
	if err := db.db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fmt.Errorf("mongo: buildInfo: %w", err)
	}
	_, db.ferret = info["ferretdbVersion"]

	db.videos = db.db.Collection(colVideos)
	db.users = db.db.Collection(colUsers)
	db.progress = db.db.Collection(colProgress)
	db.events = db.db.Collection(colEvents)
	db.jobs = db.db.Collection(colJobs)
	db.myList = db.db.Collection(colMyList)
	db.settings = db.db.Collection(colSettings)
	db.audit = db.db.Collection(colAudit)
	db.refresh = db.db.Collection(colRefresh)
	if err := db.createIndexes(ctx); err != nil {
		return err
	}
	return db.initAnalytics(ctx) // analytics.go
}

func index(name string, unique bool, keys ...bson.E) mongo.IndexModel {
	o := options.Index().SetName(name)
	if unique {
		o.SetUnique(true)
	}
	return mongo.IndexModel{Keys: bson.D(keys), Options: o}
}

func asc(k string) bson.E  { return bson.E{Key: k, Value: 1} }
func desc(k string) bson.E { return bson.E{Key: k, Value: -1} }

func (db *DB) createIndexes(ctx context.Context) error {
	all := []struct {
		c   *mongo.Collection
		idx []mongo.IndexModel
	}{
		{db.videos, []mongo.IndexModel{
			index("created", false, desc("created_at"), desc("_id")),
			index("views", false, desc("views"), desc("_id")),
			index("title", false, asc("title_key"), asc("_id")),
			index("status_published", false, asc("status"), asc("published")),
			index("category", false, asc("category")),
			index("tags", false, asc("tags")),
			index("uploader", false, asc("uploader_id")),
			index("search_words", false, asc("search_words")),
		}},
		{db.users, []mongo.IndexModel{
			index("email", true, asc("email")),
		}},
		{db.progress, []mongo.IndexModel{
			index("continue", false, asc("user_id"), asc("completed"), desc("updated_at")),
			index("video", false, asc("video_id")),
		}},
		{db.myList, []mongo.IndexModel{
			index("recent", false, asc("user_id"), desc("added_at"), desc("video_id")),
			index("video", false, asc("video_id")),
		}},
		{db.events, []mongo.IndexModel{
			index("session", false, asc("session_id"), asc("at"), asc("_id")),
			index("at", false, asc("at")),
			index("video", false, asc("video_id")),
		}},
		{db.jobs, []mongo.IndexModel{
			index("runnable", false, asc("state"), asc("run_after"), asc("created_at"), asc("_id")),
			index("created", false, desc("created_at"), desc("_id")),
			index("video", false, asc("video_id")),
		}},
		{db.audit, []mongo.IndexModel{
			index("newest", false, desc("at"), desc("_id")),
			index("action", false, asc("action"), desc("at"), desc("_id")),
			index("target", false, asc("target_type"), asc("target_id"), desc("at"), desc("_id")),
		}},
		{db.refresh, []mongo.IndexModel{
			index("session", false, asc("session_id")),
			index("subject_client", false, asc("subject"), asc("client_id")),
			index("expires", false, asc("expires")),
		}},
	}
	// One index per command: FerretDB v1.24 panics (and drops the
	// connection) on a createIndexes of several indexes of which more than
	// one exists already, as every start after the first would send.
	for _, a := range all {
		for _, idx := range a.idx {
			if _, err := a.c.Indexes().CreateOne(ctx, idx); err != nil {
				return fmt.Errorf("mongo: create indexes of %s: %w", a.c.Name(), err)
			}
		}
	}
	return nil
}

// Ping checks the server answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.client.Ping(ctx, readpref.Primary()); err != nil {
		return ginflix.Errorf(ginflix.EUNAVAILABLE, "The database does not answer.")
	}
	return nil
}

// Close disconnects from the server.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return db.client.Disconnect(ctx)
}

func (db *DB) now() time.Time {
	if db.Now != nil {
		return db.Now().UTC().Truncate(time.Millisecond)
	}
	return ginflix.Now()
}

// serialize takes the store's lock on servers whose conditional writes
// are not atomic (FerretDB); the returned func releases it.
func (db *DB) serialize() func() {
	if !db.ferret {
		return func() {}
	}
	db.mu.Lock()
	return db.mu.Unlock
}

// notFound turns mongo.ErrNoDocuments into ENOTFOUND.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ginflix.Errorf(ginflix.ENOTFOUND, format, args...)
	}
	return wrap(err)
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	var e *ginflix.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("mongo: %w", err)
}

// utcPtr returns *t in UTC; nil stays nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func msPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Millisecond)
	return &u
}

// findAll runs a find and decodes every document into a T.
func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, wrap(err)
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, wrap(err)
	}
	return out, nil
}
