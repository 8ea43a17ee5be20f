package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/ffmpeg"
	"github.com/ginflix/ginflix/pipeline"
)

// The runtime settings are read per job: the ladder and auto-publish an
// admin saved apply to the next video, with no new worker.
func TestRuntimeSettings(t *testing.T) {
	e := newEnv(t)
	var current atomic.Pointer[ginflix.Settings]
	s := ginflix.DefaultSettings()
	s.Ladder, s.AutoPublish, s.Preset = []int{200}, true, "ultrafast"
	current.Store(&s)
	w := pipeline.NewWorker(pipeline.Config{
		FFmpeg: ffmpeg.DefaultConfig(), TempDir: t.TempDir(), LeaseTTL: 3 * time.Second,
		PollInterval: 50 * time.Millisecond, Backoff: func(int) time.Duration { return 0 },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Settings: func(context.Context) ginflix.Settings { return *current.Load() },
	}, e.store, e.objects)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	ready := func(id string) *ginflix.Video {
		t.Helper()
		for {
			v, err := e.store.Video(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != ginflix.StatusProcessing {
				return v
			}
			select {
			case <-ctx.Done():
				t.Fatal("still processing after 90 s")
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	src := goodClip(t)
	got := ready(ingest(t, e, src, "a.mp4").ID)
	if got.Status != ginflix.StatusReady || !got.Published || len(got.Renditions) != 1 || got.Renditions[0].Name != "200p" {
		t.Fatalf("with ladder [200] and auto-publish: %+v", got)
	}

	s2 := s.Clone()
	s2.Ladder, s2.AutoPublish = []int{240, 144}, false
	current.Store(&s2)
	got = ready(ingest(t, e, src, "b.mp4").ID)
	if got.Status != ginflix.StatusReady || got.Published || len(got.Renditions) != 2 || got.Renditions[0].Name != "240p" || got.Renditions[1].Name != "144p" {
		t.Fatalf("after the change: published %v, renditions %+v", got.Published, got.Renditions)
	}
}
