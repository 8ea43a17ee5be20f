package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

// Batches of a group share a transaction but not their fate: a batch that
// fails is rolled back to its savepoint, and the others of the group are
// committed with their views.
func TestGroupCommitIsolatesAFailingBatch(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ginflix.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The store refuses sessions of one video, on its single write
	// connection, as a full disk or a broken row would.
	if _, err := db.write.ExecContext(ctx, `CREATE TEMP TRIGGER refuse BEFORE INSERT ON playback_sessions
		WHEN NEW.video_id = 'refused' BEGIN SELECT RAISE(ABORT, 'refused on purpose'); END`); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	req := func(video string) *playbackReq {
		s := ginflix.PlaybackSession{ID: ginflix.NewID(), UserID: "u-" + video, VideoID: video, Duration: 60,
			IssuedAt: now.Add(-time.Minute), Expires: now.Add(time.Hour)}
		events := []ginflix.PlaybackEvent{
			{Type: ginflix.EventStart, At: now.Add(-30 * time.Second), Value: 400},
			{Type: ginflix.EventHeartbeat, At: now.Add(-15 * time.Second), Position: 15},
		}
		return &playbackReq{s: s, events: events, rules: ginflix.AnalyticsRules{ViewThreshold: 10 * time.Second}, done: make(chan playbackResult, 1)}
	}
	group := []*playbackReq{req("a"), req("refused"), req("b")}
	db.applyGroup(group)
	for i, want := range []bool{true, false, true} {
		r := <-group[i].done
		if (r.err == nil) != want {
			t.Fatalf("batch %d (%s): error %v, want success %v", i, group[i].s.VideoID, r.err, want)
		}
		if want && !r.out.ViewCounted {
			t.Fatalf("batch %d: no view counted", i)
		}
	}
	for _, video := range []string{"a", "b", "refused"} {
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM playback_events WHERE video_id = ?`, video).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 2, false: 0}[video != "refused"]; n != want {
			t.Fatalf("video %s: %d events stored, want %d", video, n, want)
		}
	}
}
