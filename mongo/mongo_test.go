package mongo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/mongo"
	"github.com/ginflix/ginflix/storetest"
)

// uri is the address of the FerretDB embedded in the test binary.
var uri string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ginflix-ferretdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    logger(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	uri = f.MongoDBURI() // waits for the listener
	return m.Run()
}

// logger is FerretDB's: quiet unless GINFLIX_FERRETDB_LOG is set, because
// it warns about every command it lacks (the driver's endSessions on Close).
func logger() *slog.Logger {
	w := io.Discard
	if os.Getenv("GINFLIX_FERRETDB_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

var dbSeq atomic.Int64

// open returns a store on a database of its own.
func open(t *testing.T, now func() time.Time) *mongo.DB {
	t.Helper()
	name := fmt.Sprintf("ginflix_test_%d", dbSeq.Add(1))
	db, err := mongo.Open(t.Context(), uri, name)
	if err != nil {
		t.Fatal(err)
	}
	db.Now = now
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) ginflix.Store { return open(t, now) })
}

func TestOpen(t *testing.T) {
	name := fmt.Sprintf("ginflix_test_%d", dbSeq.Add(1))
	// Index creation is idempotent: opening an existing database works.
	for range 2 {
		db, err := mongo.Open(t.Context(), uri, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := mongo.Open(ctx, "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500", "x"); err == nil {
		t.Fatal("Open succeeded without a server")
	}
}

func TestDefaultClock(t *testing.T) {
	db := open(t, nil)
	before := ginflix.Now()
	v := &ginflix.Video{Title: "Clock", Status: ginflix.StatusUploading}
	if err := db.CreateVideo(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	if v.CreatedAt.Before(before) || v.CreatedAt.After(ginflix.Now()) || v.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v", v.CreatedAt)
	}
}

// FerretDB runs conditional updates and $inc as a read then an
// unconditional write; the store serialises them. Without that, this test
// loses most increments and leases jobs several times.
func TestConcurrentWrites(t *testing.T) {
	db := open(t, ginflix.Now)
	v := &ginflix.Video{Title: "Popular", Status: ginflix.StatusReady}
	if err := db.CreateVideo(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	const workers, each, jobs = 8, 25, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := db.AddVideoViews(t.Context(), v.ID, 1); err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					d := fmt.Sprint("w", w, " ", i)
					if _, err := db.UpdateVideo(t.Context(), v.ID, ginflix.VideoUpdate{Description: &d}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	got, err := db.Video(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Views != workers*each {
		t.Errorf("views = %d, want %d: increments lost", got.Views, workers*each)
	}

	for i := range jobs {
		if _, err := db.EnqueueJob(t.Context(), &ginflix.Job{VideoID: fmt.Sprint("v", i), Kind: ginflix.JobKindTranscode}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	leased := map[string]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, err := db.LeaseJob(t.Context(), fmt.Sprint("w", w), time.Minute)
				if ginflix.ErrorCode(err) == ginflix.ENOTFOUND {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				leased[j.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id, n := range leased {
		if n != 1 {
			t.Errorf("job %s leased %d times", id, n)
		}
	}
	if len(leased) != jobs {
		t.Errorf("%d jobs leased, want %d", len(leased), jobs)
	}
}

// DeleteVideo sweeps what the store keeps about the video, and only that.
func TestDeleteVideoSweeps(t *testing.T) {
	ctx := t.Context()
	db := open(t, ginflix.Now)
	a := &ginflix.Video{Title: "A", Status: ginflix.StatusReady}
	b := &ginflix.Video{Title: "B", Status: ginflix.StatusReady}
	for _, v := range []*ginflix.Video{a, b} {
		if err := db.CreateVideo(ctx, v); err != nil {
			t.Fatal(err)
		}
		if _, err := db.EnqueueJob(ctx, &ginflix.Job{VideoID: v.ID, Kind: ginflix.JobKindTranscode}); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendEvents(ctx, []ginflix.PlaybackEvent{{SessionID: "s-" + v.ID, VideoID: v.ID, Type: ginflix.EventStart}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteVideo(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v    *ginflix.Video
		want int
	}{{a, 0}, {b, 1}} {
		jobs, err := db.Jobs(ctx, ginflix.JobFilter{VideoID: c.v.ID})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := db.SessionEvents(ctx, "s-"+c.v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != c.want || len(evs) != c.want {
			t.Errorf("video %s: %d jobs, %d events, want %d of each", c.v.Title, len(jobs), len(evs), c.want)
		}
	}
}

func TestJobEdges(t *testing.T) {
	ctx := t.Context()
	clock := storetest.NewClock()
	db := open(t, clock.Now)
	j, err := db.EnqueueJob(ctx, &ginflix.Job{Kind: ginflix.JobKindTranscode, VideoID: "v", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !ginflix.ValidID(j.ID) || j.MaxAttempts != 1 || !j.RunAfter.Equal(clock.Now()) {
		t.Fatalf("enqueued %+v", j)
	}
	if _, err := db.RetryJob(ctx, j.ID); ginflix.ErrorCode(err) != ginflix.ECONFLICT {
		t.Fatalf("RetryJob of a queued job: %v", err)
	}
	if _, err := db.RetryJob(ctx, ginflix.NewID()); ginflix.ErrorCode(err) != ginflix.ENOTFOUND {
		t.Fatalf("RetryJob of no job: %v", err)
	}
	if err := db.HeartbeatJob(ctx, ginflix.NewID(), "w", time.Minute, 0); ginflix.ErrorCode(err) != ginflix.ECONFLICT {
		t.Fatalf("HeartbeatJob of no job: %v", err)
	}
	first, err := db.LeaseJob(ctx, "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// One attempt only: once its lease expires the job fails, readably.
	clock.Advance(2 * time.Minute)
	if _, err := db.LeaseJob(ctx, "w2", time.Minute); ginflix.ErrorCode(err) != ginflix.ENOTFOUND {
		t.Fatalf("LeaseJob of an exhausted job: %v", err)
	}
	got, err := db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != ginflix.JobFailed || got.Error != "The worker running this job stopped responding 1 times; the job was given up." ||
		got.LeaseOwner != "" || got.LeaseExpiresAt != nil || !got.FinishedAt.Equal(clock.Now()) {
		t.Fatalf("exhausted job %+v", got)
	}
	// A retry gives fresh attempts and keeps the first start.
	if _, err := db.RetryJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	again, err := db.LeaseJob(ctx, "w3", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if again.Attempts != 1 || !again.StartedAt.Equal(*first.StartedAt) {
		t.Fatalf("retried lease %+v (first started %v)", again, first.StartedAt)
	}
	if _, err := db.FailJob(ctx, j.ID, "w3", "boom", true, time.Second); err != nil {
		t.Fatal(err)
	}
	got, err = db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != ginflix.JobFailed || got.Error != "boom" {
		t.Fatalf("retryable failure with no attempt left: %+v", got)
	}
}

// A video document some other tool wrote, without this package's version
// field, can still be updated.
func TestUpdateVideoWithoutVersion(t *testing.T) {
	ctx := t.Context()
	name := fmt.Sprintf("ginflix_test_%d", dbSeq.Add(1))
	db, err := mongo.Open(ctx, uri, name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	client, err := driver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	now := ginflix.Now()
	for i, version := range []any{nil, int64(0)} {
		id := ginflix.NewID()
		doc := bson.D{{Key: "_id", Value: id}, {Key: "title", Value: "Legacy"}, {Key: "status", Value: "ready"},
			{Key: "created_at", Value: now}, {Key: "updated_at", Value: now}}
		if version != nil {
			doc = append(doc, bson.E{Key: "version", Value: version})
		}
		if _, err := client.Database(name).Collection("videos").InsertOne(ctx, doc); err != nil {
			t.Fatal(err)
		}
		title := fmt.Sprint("Renewed ", i)
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := db.UpdateVideo(tctx, id, ginflix.VideoUpdate{Title: &title})
		cancel()
		if err != nil {
			t.Fatalf("version %v: %v", version, err)
		}
		if v.Title != title || v.Tags == nil || v.Renditions == nil {
			t.Fatalf("updated %+v", v)
		}
	}
}
