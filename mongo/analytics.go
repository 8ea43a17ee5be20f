package mongo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

// Analytics collections. Sessions and view claims are swept with the raw
// events; the analytics_* collections are hourly aggregates, kept forever:
// one bucket document per video and hour, updated with $inc upserts, and
// one document per (video, hour, detail) for the open-ended keys.
const (
	colSessions   = "playback_sessions"
	colViewClaims = "playback_view_claims"
	colHourly     = "analytics_hourly"
	colErrors     = "analytics_errors"
	colCountries  = "analytics_countries"
	colViewers    = "analytics_viewers"
)

func (db *DB) col(name string) *mongo.Collection { return db.db.Collection(name) }

// initAnalytics creates the analytics indexes, one per command like the
// others.
func (db *DB) initAnalytics(ctx context.Context) error {
	for _, a := range []struct {
		c   string
		idx []mongo.IndexModel
	}{
		{colSessions, []mongo.IndexModel{index("last", false, asc("last_at"))}},
		{colViewClaims, []mongo.IndexModel{index("at", false, asc("at"))}},
		{colHourly, []mongo.IndexModel{index("video_hour", false, asc("video_id"), asc("hour")), index("hour", false, asc("hour"))}},
		{colErrors, []mongo.IndexModel{index("video_hour", false, asc("video_id"), asc("hour"))}},
		{colCountries, []mongo.IndexModel{index("hour", false, asc("hour"))}},
		{colViewers, []mongo.IndexModel{index("video_hour", false, asc("video_id"), asc("hour")), index("hour", false, asc("hour"))}},
		{colJobs, []mongo.IndexModel{index("finished", false, asc("kind"), asc("state"), asc("finished_at"))}},
	} {
		for _, idx := range a.idx {
			if _, err := db.col(a.c).Indexes().CreateOne(ctx, idx); err != nil {
				return fmt.Errorf("mongo: create indexes of %s: %w", a.c, err)
			}
		}
	}
	return nil
}

type sessionDoc struct {
	ID           string    `bson:"_id"`
	UserID       string    `bson:"user_id"`
	VideoID      string    `bson:"video_id"`
	Country      string    `bson:"country"`
	Duration     float64   `bson:"duration"`
	FirstAt      time.Time `bson:"first_at"`
	LastAt       time.Time `bson:"last_at"`
	LastPosition float64   `bson:"last_position"`
	Rung         string    `bson:"rung"`
	Watched      float64   `bson:"watched"`
	MaxStep      int       `bson:"max_step"`
	MaxPercent   float64   `bson:"max_percent"`
	Started      bool      `bson:"started"`
	Viewed       bool      `bson:"viewed"`
	Events       int       `bson:"events"`
	Version      int64     `bson:"version"`
}

func hourKey(h time.Time) string { return h.UTC().Format("2006010215") }

// RecordPlayback applies a batch: a compare-and-swap of the session
// document on its version (the commit point: the batch counts once), then
// the raw events, the view claim and the $inc upserts of the buckets. On
// FerretDB, whose conditional writes are not atomic, the whole is
// serialised in-process like the store's other read-modify-writes; the
// view claim (an insert on a unique _id, which FerretDB does enforce)
// still counts a view once across processes.
func (db *DB) RecordPlayback(ctx context.Context, s ginflix.PlaybackSession, events []ginflix.PlaybackEvent, rules ginflix.AnalyticsRules) (ginflix.PlaybackOutcome, error) {
	for {
		out, st, err, done := db.tryRecordPlayback(ctx, s, events, rules)
		if !done {
			if err := ctx.Err(); err != nil {
				return ginflix.PlaybackOutcome{}, err
			}
			continue
		}
		if err != nil {
			return ginflix.PlaybackOutcome{}, err
		}
		if out.ViewCounted {
			if err := db.AddVideoViews(ctx, st.VideoID, 1); err != nil && ginflix.ErrorCode(err) != ginflix.ENOTFOUND {
				return out, err
			}
		}
		return out, nil
	}
}

func (db *DB) tryRecordPlayback(ctx context.Context, s ginflix.PlaybackSession, events []ginflix.PlaybackEvent, rules ginflix.AnalyticsRules) (ginflix.PlaybackOutcome, *ginflix.SessionState, error, bool) {
	defer db.serialize()()
	st := ginflix.NewSessionState(s)
	var d sessionDoc
	switch err := db.col(colSessions).FindOne(ctx, bson.D{{Key: "_id", Value: s.ID}}).Decode(&d); {
	case err == nil:
		*st = ginflix.SessionState{ID: d.ID, UserID: d.UserID, VideoID: d.VideoID, Country: d.Country, Duration: d.Duration,
			FirstAt: d.FirstAt.UTC(), LastAt: d.LastAt.UTC(), LastPosition: d.LastPosition, Rung: d.Rung, Watched: d.Watched,
			MaxStep: d.MaxStep, MaxPercent: d.MaxPercent, Started: d.Started, Viewed: d.Viewed, Events: d.Events, Version: d.Version}
	case err != mongo.ErrNoDocuments:
		return ginflix.PlaybackOutcome{}, nil, wrap(err), true
	}
	out := st.Apply(events, rules)
	if len(out.Applied) == 0 {
		return out, st, nil, true
	}
	nd := sessionDoc{ID: st.ID, UserID: st.UserID, VideoID: st.VideoID, Country: st.Country, Duration: st.Duration,
		FirstAt: st.FirstAt, LastAt: st.LastAt, LastPosition: st.LastPosition, Rung: st.Rung, Watched: st.Watched,
		MaxStep: st.MaxStep, MaxPercent: st.MaxPercent, Started: st.Started, Viewed: st.Viewed, Events: st.Events,
		Version: st.Version + 1}
	if st.Version == 0 {
		if _, err := db.col(colSessions).InsertOne(ctx, nd); mongo.IsDuplicateKeyError(err) {
			return out, st, nil, false // another batch created it first
		} else if err != nil {
			return out, st, wrap(err), true
		}
	} else {
		set, err := setOf(nd, "_id")
		if err != nil {
			return out, st, wrap(err), true
		}
		res, err := db.col(colSessions).UpdateOne(ctx, bson.D{{Key: "_id", Value: st.ID}, {Key: "version", Value: st.Version}},
			bson.D{{Key: "$set", Value: set}})
		if err != nil {
			return out, st, wrap(err), true
		}
		if res.MatchedCount == 0 {
			return out, st, nil, false // lost the race: reload and apply again
		}
	}
	for i := range out.Applied {
		e := &out.Applied[i]
		e.SessionID, e.UserID, e.VideoID, e.Country = st.ID, st.UserID, st.VideoID, st.Country
	}
	if err := db.AppendEvents(ctx, out.Applied); err != nil {
		return out, st, err, true
	}
	if out.ViewCounted {
		_, err := db.col(colViewClaims).InsertOne(ctx, bson.D{{Key: "_id", Value: st.ID}, {Key: "video_id", Value: st.VideoID}, {Key: "at", Value: st.LastAt}})
		switch {
		case mongo.IsDuplicateKeyError(err):
			// Counted by another process already (FerretDB only).
			out.ViewCounted = false
			for _, d := range out.Deltas {
				d.Views, d.Viewer = 0, false
			}
		case err != nil:
			return out, st, wrap(err), true
		}
	}
	for _, d := range out.Deltas {
		if err := db.addDelta(ctx, st, d); err != nil {
			return out, st, err, true
		}
	}
	return out, st, nil, true
}

// upsertInc runs an $inc upsert; two first upserts racing may both insert,
// and the loser's retry finds the document.
func upsertInc(ctx context.Context, c *mongo.Collection, id string, inc, onInsert bson.D) error {
	update := bson.D{{Key: "$inc", Value: inc}}
	if len(onInsert) > 0 {
		update = append(update, bson.E{Key: "$setOnInsert", Value: onInsert})
	}
	var err error
	for range 2 {
		_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return wrap(err)
}

func (db *DB) addDelta(ctx context.Context, st *ginflix.SessionState, d *ginflix.HourlyDelta) error {
	hk := st.VideoID + "|" + hourKey(d.Hour)
	where := bson.D{{Key: "video_id", Value: st.VideoID}, {Key: "hour", Value: d.Hour}}
	var unique int64
	if d.Viewer {
		_, err := db.col(colViewers).InsertOne(ctx, bson.D{{Key: "_id", Value: hk + "|" + st.UserID},
			{Key: "video_id", Value: st.VideoID}, {Key: "hour", Value: d.Hour}, {Key: "user_id", Value: st.UserID}})
		switch {
		case err == nil:
			unique = 1
		case !mongo.IsDuplicateKeyError(err):
			return wrap(err)
		}
	}
	inc := bson.D{
		{Key: "views", Value: d.Views}, {Key: "sessions", Value: d.Sessions}, {Key: "unique_viewers", Value: unique},
		{Key: "watch_seconds", Value: d.WatchSeconds}, {Key: "percent_sum", Value: d.PercentSum},
		{Key: "startup_count", Value: d.StartupCount}, {Key: "startup_ms_sum", Value: d.StartupMsSum},
		{Key: "rebuffer_count", Value: d.RebufferCount}, {Key: "rebuffer_seconds", Value: d.RebufferSeconds},
		{Key: "errors", Value: d.Errors},
	}
	// Sub-document keys: bucket and step numbers with a letter first (a
	// number would read as an array index), rungs validated to
	// [A-Za-z0-9_-] so never a path separator or an operator.
	for _, b := range sortedKeys(d.Startup) {
		inc = append(inc, bson.E{Key: "startup.b" + strconv.Itoa(b), Value: d.Startup[b]})
	}
	for _, b := range sortedKeys(d.Reached) {
		inc = append(inc, bson.E{Key: "reached.s" + strconv.Itoa(b), Value: d.Reached[b]})
	}
	for _, r := range sortedKeys(d.RungSeconds) {
		inc = append(inc, bson.E{Key: "rungs." + r, Value: d.RungSeconds[r]})
	}
	if err := upsertInc(ctx, db.col(colHourly), hk, inc, where); err != nil {
		return err
	}
	for _, detail := range sortedKeys(d.ErrorDetails) {
		sum := sha256.Sum256([]byte(detail))
		id := hk + "|" + hex.EncodeToString(sum[:12])
		n, err := db.col(colErrors).CountDocuments(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return wrap(err)
		}
		key := detail
		if n == 0 {
			distinct, err := db.col(colErrors).CountDocuments(ctx, where)
			if err != nil {
				return wrap(err)
			}
			if distinct >= ginflix.MaxErrorDetailsPerHour {
				key = ginflix.OtherErrorDetail
				sum = sha256.Sum256([]byte(key))
				id = hk + "|" + hex.EncodeToString(sum[:12])
			}
		}
		if err := upsertInc(ctx, db.col(colErrors), id, bson.D{{Key: "count", Value: d.ErrorDetails[detail]}},
			append(where, bson.E{Key: "detail", Value: key})); err != nil {
			return err
		}
	}
	if st.Country != "" && (d.Views > 0 || d.WatchSeconds > 0) {
		if err := upsertInc(ctx, db.col(colCountries), hk+"|"+st.Country,
			bson.D{{Key: "views", Value: d.Views}, {Key: "watch_seconds", Value: d.WatchSeconds}},
			append(where, bson.E{Key: "country", Value: st.Country})); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// hours is the filter of hour buckets in [from, to).
func hours(from, to time.Time) bson.D {
	return bson.D{{Key: "hour", Value: bson.D{{Key: "$gte", Value: from.UTC().Truncate(time.Hour)}, {Key: "$lt", Value: to.UTC()}}}}
}

// ActiveSessions counts sessions with an event at or after since.
func (db *DB) ActiveSessions(ctx context.Context, since time.Time) (int64, error) {
	n, err := db.col(colSessions).CountDocuments(ctx, bson.D{{Key: "last_at", Value: bson.D{{Key: "$gte", Value: since.UTC()}}}})
	return n, wrap(err)
}

type hourlyDoc struct {
	Hour            time.Time          `bson:"hour"`
	Views           int64              `bson:"views"`
	Sessions        int64              `bson:"sessions"`
	UniqueViewers   int64              `bson:"unique_viewers"`
	WatchSeconds    float64            `bson:"watch_seconds"`
	PercentSum      float64            `bson:"percent_sum"`
	StartupCount    int64              `bson:"startup_count"`
	StartupMsSum    float64            `bson:"startup_ms_sum"`
	RebufferCount   int64              `bson:"rebuffer_count"`
	RebufferSeconds float64            `bson:"rebuffer_seconds"`
	Errors          int64              `bson:"errors"`
	Startup         map[string]int64   `bson:"startup"`
	Reached         map[string]int64   `bson:"reached"`
	Rungs           map[string]float64 `bson:"rungs"`
}

// VideoHourly returns one video's hours in the window.
func (db *DB) VideoHourly(ctx context.Context, videoID string, from, to time.Time) ([]*ginflix.HourlyStats, error) {
	filter := append(bson.D{{Key: "video_id", Value: videoID}}, hours(from, to)...)
	docs, err := findAll[hourlyDoc](ctx, db.col(colHourly), filter, options.Find().SetSort(bson.D{{Key: "hour", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]*ginflix.HourlyStats, 0, len(docs))
	byHour := map[time.Time]*ginflix.HourlyStats{}
	for _, d := range docs {
		h := ginflix.NewHourlyStats(videoID, d.Hour.UTC())
		h.Views, h.Sessions, h.UniqueViewers, h.WatchSeconds, h.PercentSum = d.Views, d.Sessions, d.UniqueViewers, d.WatchSeconds, d.PercentSum
		h.StartupCount, h.StartupMsSum, h.RebufferCount, h.RebufferSeconds, h.Errors = d.StartupCount, d.StartupMsSum, d.RebufferCount, d.RebufferSeconds, d.Errors
		for k, n := range d.Startup {
			if b, err := strconv.Atoi(strings.TrimPrefix(k, "b")); err == nil && b >= 0 && b < len(h.Startup) {
				h.Startup[b] += n
			}
		}
		for k, n := range d.Reached {
			if b, err := strconv.Atoi(strings.TrimPrefix(k, "s")); err == nil && b >= 0 && b < len(h.Reached) {
				h.Reached[b] += n
			}
		}
		for r, secs := range d.Rungs {
			h.RungSeconds[r] += secs
		}
		byHour[h.Hour] = h
		out = append(out, h)
	}
	type errDoc struct {
		Hour   time.Time `bson:"hour"`
		Detail string    `bson:"detail"`
		Count  int64     `bson:"count"`
	}
	errs, err := findAll[errDoc](ctx, db.col(colErrors), filter)
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		if h := byHour[e.Hour.UTC()]; h != nil {
			h.ErrorDetails[e.Detail] += e.Count
		}
	}
	return out, nil
}

// UniqueViewers counts distinct users with a counted view in the window
// (distinct, which FerretDB answers; the list is as long as the users).
func (db *DB) UniqueViewers(ctx context.Context, videoID string, from, to time.Time) (int64, error) {
	filter := hours(from, to)
	if videoID != "" {
		filter = append(bson.D{{Key: "video_id", Value: videoID}}, filter...)
	}
	res := db.col(colViewers).Distinct(ctx, "user_id", filter)
	if err := res.Err(); err != nil {
		return 0, wrap(err)
	}
	var users []string
	if err := res.Decode(&users); err != nil {
		return 0, wrap(err)
	}
	return int64(len(users)), nil
}

// sumBy runs $match then a $group of one $sum accumulator (what FerretDB
// answers correctly) and returns the sums by group key.
func sumBy(ctx context.Context, c *mongo.Collection, match bson.D, key, field string) (map[string]float64, error) {
	group := any("$" + key)
	if key == "" {
		group = nil
	}
	cur, err := c.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: match}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: group}, {Key: "total", Value: bson.D{{Key: "$sum", Value: "$" + field}}}}}},
	})
	if err != nil {
		return nil, wrap(err)
	}
	var rows []struct {
		ID    any     `bson:"_id"`
		Total float64 `bson:"total"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, wrap(err)
	}
	out := make(map[string]float64, len(rows))
	for _, r := range rows {
		k, _ := r.ID.(string)
		out[k] += r.Total
	}
	return out, nil
}

// viewsAndWatch sums views and watch seconds by key over the window, one
// accumulator per pipeline as sumBy must.
func viewsAndWatch(ctx context.Context, c *mongo.Collection, from, to time.Time, key string) (views, watch map[string]float64, err error) {
	if views, err = sumBy(ctx, c, hours(from, to), key, "views"); err != nil {
		return nil, nil, err
	}
	if watch, err = sumBy(ctx, c, hours(from, to), key, "watch_seconds"); err != nil {
		return nil, nil, err
	}
	return views, watch, nil
}

// TopVideos ranks videos by views, then watch time.
func (db *DB) TopVideos(ctx context.Context, from, to time.Time, limit int) ([]ginflix.VideoTotals, error) {
	views, watch, err := viewsAndWatch(ctx, db.col(colHourly), from, to, "video_id")
	if err != nil {
		return nil, err
	}
	out := make([]ginflix.VideoTotals, 0, len(views))
	for id, v := range views {
		out = append(out, ginflix.VideoTotals{VideoID: id, Views: int64(v), WatchSeconds: watch[id]})
	}
	sort.Slice(out, func(i, j int) bool {
		return mostViewed(out[i].Views, out[j].Views, out[i].WatchSeconds, out[j].WatchSeconds, out[i].VideoID, out[j].VideoID)
	})
	if len(out) > limit {
		out = out[:limit]
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
	var t ginflix.VideoTotals
	views, watch, err := viewsAndWatch(ctx, db.col(colHourly), from, to, "")
	if err != nil {
		return t, err
	}
	t.Views, t.WatchSeconds = int64(views[""]), watch[""]
	t.UniqueViewers, err = db.UniqueViewers(ctx, "", from, to)
	return t, err
}

// mostViewed orders rankings as the sqlite store's ORDER BY does: views,
// then watch time, both descending, then the key.
func mostViewed(aViews, bViews int64, aWatch, bWatch float64, aKey, bKey string) bool {
	if aViews != bViews {
		return aViews > bViews
	}
	if aWatch != bWatch {
		return aWatch > bWatch
	}
	return aKey < bKey
}

// Countries sums views by country.
func (db *DB) Countries(ctx context.Context, from, to time.Time) ([]ginflix.CountryTotals, error) {
	views, watch, err := viewsAndWatch(ctx, db.col(colCountries), from, to, "country")
	if err != nil {
		return nil, err
	}
	out := make([]ginflix.CountryTotals, 0, len(views))
	for c, v := range views {
		out = append(out, ginflix.CountryTotals{Country: c, Views: int64(v), WatchSeconds: watch[c]})
	}
	sort.Slice(out, func(i, j int) bool {
		return mostViewed(out[i].Views, out[j].Views, out[i].WatchSeconds, out[j].WatchSeconds, out[i].Country, out[j].Country)
	})
	return out, nil
}

// maxScan bounds the documents the Go-side bucketing below reads.
const maxScan = 100_000

// UploadsPerHour counts videos created per hour: FerretDB has no date
// operators to group by hour, so creation times are bucketed here.
func (db *DB) UploadsPerHour(ctx context.Context, from, to time.Time) ([]ginflix.HourCount, error) {
	docs, err := findAll[struct {
		CreatedAt time.Time `bson:"created_at"`
	}](ctx, db.videos, bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: from.UTC()}, {Key: "$lt", Value: to.UTC()}}}},
		options.Find().SetProjection(bson.D{{Key: "created_at", Value: 1}}).SetLimit(maxScan))
	if err != nil {
		return nil, err
	}
	counts := map[time.Time]int64{}
	for _, d := range docs {
		counts[d.CreatedAt.UTC().Truncate(time.Hour)]++
	}
	out := make([]ginflix.HourCount, 0, len(counts))
	for h, n := range counts {
		out = append(out, ginflix.HourCount{Hour: h, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hour.Before(out[j].Hour) })
	return out, nil
}

// TranscodeSeconds returns run times of succeeded transcoding jobs.
func (db *DB) TranscodeSeconds(ctx context.Context, from, to time.Time, limit int) ([]float64, error) {
	docs, err := findAll[struct {
		StartedAt  *time.Time `bson:"started_at"`
		FinishedAt *time.Time `bson:"finished_at"`
	}](ctx, db.jobs, bson.D{{Key: "kind", Value: ginflix.JobKindTranscode}, {Key: "state", Value: string(ginflix.JobSucceeded)},
		{Key: "finished_at", Value: bson.D{{Key: "$gte", Value: from.UTC()}, {Key: "$lt", Value: to.UTC()}}}},
		options.Find().SetSort(bson.D{{Key: "finished_at", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := []float64{}
	for _, d := range docs {
		if d.StartedAt != nil && d.FinishedAt != nil {
			out = append(out, d.FinishedAt.Sub(*d.StartedAt).Seconds())
		}
	}
	return out, nil
}

// SweepPlayback deletes raw events, sessions and view claims older than
// before, and counts the events and sessions.
func (db *DB) SweepPlayback(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.DeleteEventsBefore(ctx, before)
	if err != nil {
		return n, err
	}
	res, err := db.col(colSessions).DeleteMany(ctx, bson.D{{Key: "last_at", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
	if err != nil {
		return n, wrap(err)
	}
	n += res.DeletedCount
	// Claims are this store's own bookkeeping: swept, not counted.
	_, err = db.col(colViewClaims).DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
	return n, wrap(err)
}
