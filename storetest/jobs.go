package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func enqueue(t *testing.T, s ginflix.Store, videoID string) *ginflix.Job {
	t.Helper()
	j, err := s.EnqueueJob(ctx(t), &ginflix.Job{ID: ginflix.NewID(), VideoID: videoID, Kind: ginflix.JobKindTranscode})
	must(t, err)
	return j
}

func lease(t *testing.T, s ginflix.Store, owner string) *ginflix.Job {
	t.Helper()
	j, err := s.LeaseJob(ctx(t), owner, time.Minute)
	must(t, err)
	return j
}

func wantNoJob(t *testing.T, s ginflix.Store) {
	t.Helper()
	j, err := s.LeaseJob(ctx(t), "w-idle", time.Minute)
	if ginflix.ErrorCode(err) != ginflix.ENOTFOUND {
		t.Fatalf("LeaseJob = %+v, %v; want no job", j, err)
	}
}

func testJobs(t *testing.T, open Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		wantNoJob(t, s)
		j := enqueue(t, s, "v1")
		if j.State != ginflix.JobQueued || j.Attempts != 0 || j.MaxAttempts != ginflix.DefaultMaxAttempts || !j.CreatedAt.Equal(clock.Now()) {
			t.Fatalf("enqueued %+v", j)
		}
		// The finish hook may run twice: the second enqueue is a no-op.
		again, err := s.EnqueueJob(ctx(t), &ginflix.Job{ID: j.ID, VideoID: "v1", Kind: ginflix.JobKindTranscode})
		must(t, err)
		if again.ID != j.ID || again.State != ginflix.JobQueued {
			t.Fatalf("second enqueue = %+v", again)
		}
		clock.Advance(time.Second)
		got := lease(t, s, "w1")
		if got.ID != j.ID || got.State != ginflix.JobRunning || got.Attempts != 1 || got.LeaseOwner != "w1" ||
			got.LeaseExpiresAt == nil || !got.LeaseExpiresAt.Equal(clock.Now().Add(time.Minute)) || got.StartedAt == nil {
			t.Fatalf("leased %+v", got)
		}
		wantNoJob(t, s) // one job, leased once

		clock.Advance(50 * time.Second)
		must(t, s.HeartbeatJob(ctx(t), j.ID, "w1", time.Minute, 0.5))
		wantCode(t, s.HeartbeatJob(ctx(t), j.ID, "w2", time.Minute, 0.9), ginflix.ECONFLICT)
		clock.Advance(50 * time.Second) // past the first lease, within the extended one
		wantNoJob(t, s)
		got, err = s.Job(ctx(t), j.ID)
		must(t, err)
		if got.Progress != 0.5 {
			t.Fatalf("progress = %v", got.Progress)
		}
		wantCode(t, s.CompleteJob(ctx(t), j.ID, "w2"), ginflix.ECONFLICT)
		must(t, s.CompleteJob(ctx(t), j.ID, "w1"))
		got, err = s.Job(ctx(t), j.ID)
		must(t, err)
		if got.State != ginflix.JobSucceeded || got.Progress != 1 || got.FinishedAt == nil || got.LeaseOwner != "" {
			t.Fatalf("completed %+v", got)
		}
		wantNoJob(t, s)
		_, err = s.Job(ctx(t), ginflix.NewID())
		wantCode(t, err, ginflix.ENOTFOUND)
	})

	t.Run("Order", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		var ids []string
		for i := range 3 {
			ids = append(ids, enqueue(t, s, fmt.Sprint("v", i)).ID)
			clock.Advance(time.Millisecond)
		}
		for i := range 3 {
			if got := lease(t, s, "w"); got.ID != ids[i] {
				t.Fatalf("lease %d got %s, want oldest first %s", i, got.ID, ids[i])
			}
		}
	})

	t.Run("ExpiredLeaseTakenOver", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		j := enqueue(t, s, "v1")
		lease(t, s, "dead-worker")
		clock.Advance(61 * time.Second)
		got := lease(t, s, "w2")
		if got.ID != j.ID || got.Attempts != 2 || got.LeaseOwner != "w2" {
			t.Fatalf("takeover %+v", got)
		}
		// The dead worker wakes up: it no longer owns the job.
		wantCode(t, s.HeartbeatJob(ctx(t), j.ID, "dead-worker", time.Minute, 0.1), ginflix.ECONFLICT)
		_, err := s.FailJob(ctx(t), j.ID, "dead-worker", "late", true, 0)
		wantCode(t, err, ginflix.ECONFLICT)
		clock.Advance(61 * time.Second)
		lease(t, s, "w3") // third and last attempt
		clock.Advance(61 * time.Second)
		wantNoJob(t, s)
		got, err = s.Job(ctx(t), j.ID)
		must(t, err)
		if got.State != ginflix.JobFailed || got.Error == "" || got.FinishedAt == nil {
			t.Fatalf("a job whose workers keep dying must fail readably, got %+v", got)
		}
	})

	t.Run("RetryWithBackoff", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		j := enqueue(t, s, "v1")
		lease(t, s, "w1")
		got, err := s.FailJob(ctx(t), j.ID, "w1", "ffmpeg exited with status 1", true, 30*time.Second)
		must(t, err)
		if got.State != ginflix.JobQueued || got.Error != "ffmpeg exited with status 1" || got.LeaseOwner != "" {
			t.Fatalf("retryable failure %+v", got)
		}
		wantNoJob(t, s) // not before the backoff
		clock.Advance(31 * time.Second)
		lease(t, s, "w1")
		_, err = s.FailJob(ctx(t), j.ID, "w1", "again", true, 0)
		must(t, err)
		lease(t, s, "w1")
		got, err = s.FailJob(ctx(t), j.ID, "w1", "for the third time", true, 0)
		must(t, err)
		if got.State != ginflix.JobFailed || got.Attempts != 3 || got.FinishedAt == nil {
			t.Fatalf("attempts exhausted: %+v", got)
		}
		wantNoJob(t, s)

		// An admin retries: fresh attempts.
		got, err = s.RetryJob(ctx(t), j.ID)
		must(t, err)
		if got.State != ginflix.JobQueued || got.Attempts != 0 || got.Error != "" || got.FinishedAt != nil {
			t.Fatalf("retried %+v", got)
		}
		_, err = s.RetryJob(ctx(t), j.ID)
		wantCode(t, err, ginflix.ECONFLICT) // only failed jobs
		if lease(t, s, "w1").ID != j.ID {
			t.Fatal("retried job not leased")
		}
	})

	t.Run("PermanentFailure", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		j := enqueue(t, s, "v1")
		lease(t, s, "w1")
		got, err := s.FailJob(ctx(t), j.ID, "w1", "the file has no video track", false, 0)
		must(t, err)
		if got.State != ginflix.JobFailed || !strings.Contains(got.Error, "no video track") {
			t.Fatalf("permanent failure %+v", got)
		}
		wantNoJob(t, s)
	})

	t.Run("Release", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		j := enqueue(t, s, "v1")
		lease(t, s, "w1")
		wantCode(t, s.ReleaseJob(ctx(t), j.ID, "w2"), ginflix.ECONFLICT)
		must(t, s.ReleaseJob(ctx(t), j.ID, "w1"))
		got := lease(t, s, "w2")
		if got.ID != j.ID || got.Attempts != 1 {
			t.Fatalf("a released job is leased again without losing an attempt: %+v", got)
		}
	})

	t.Run("List", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		a := enqueue(t, s, "va")
		clock.Advance(time.Second)
		b := enqueue(t, s, "vb")
		clock.Advance(time.Second)
		lease(t, s, "w")
		all, err := s.Jobs(ctx(t), ginflix.JobFilter{})
		must(t, err)
		if len(all) != 2 || all[0].ID != b.ID || all[1].ID != a.ID {
			t.Fatalf("Jobs() not newest first: %+v", all)
		}
		running, err := s.Jobs(ctx(t), ginflix.JobFilter{State: ginflix.JobRunning})
		must(t, err)
		if len(running) != 1 || running[0].ID != a.ID {
			t.Fatalf("running jobs = %+v", running)
		}
		forB, err := s.Jobs(ctx(t), ginflix.JobFilter{VideoID: "vb"})
		must(t, err)
		if len(forB) != 1 || forB[0].ID != b.ID {
			t.Fatalf("jobs of vb = %+v", forB)
		}
	})

	t.Run("ConcurrentLeases", func(t *testing.T) {
		clock := NewClock()
		s := open(t, clock.Now)
		const jobs, workers = 10, 4
		for i := range jobs {
			enqueue(t, s, fmt.Sprint("v", i))
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprint("w", w)
				for {
					j, err := s.LeaseJob(ctx(t), owner, time.Minute)
					if ginflix.ErrorCode(err) == ginflix.ENOTFOUND {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if prev, dup := seen[j.ID]; dup {
						t.Errorf("job %s leased by %s and %s", j.ID, prev, owner)
					}
					seen[j.ID] = owner
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != jobs {
			t.Fatalf("%d jobs leased, want %d", len(seen), jobs)
		}
	})
}
