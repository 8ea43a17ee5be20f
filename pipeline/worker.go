// Package pipeline turns uploaded originals into playable videos: it
// ingests finished uploads into the object store and queues their jobs,
// and its workers lease those jobs, validate and transcode with FFmpeg,
// publish the ladder and images, and mark the video ready.
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/ffmpeg"
)

// Config tunes the workers.
type Config struct {
	FFmpeg ffmpeg.Config
	// TempDir holds each job's working copy and outputs, removed after.
	TempDir string
	// Concurrency is how many jobs one process runs at once (default 1:
	// FFmpeg already uses every core).
	Concurrency int
	// LeaseTTL is how long a job stays leased without a heartbeat; a
	// worker that dies loses its jobs after this long.
	LeaseTTL     time.Duration
	PollInterval time.Duration
	// AutoPublish publishes videos as soon as they are ready; otherwise
	// they wait as drafts for an admin.
	AutoPublish bool
	// Settings, when set, gives the runtime settings (ladder, preset,
	// auto-publish), read for each job so that an admin's change applies
	// to the next job without a restart; they override FFmpeg.Rungs,
	// FFmpeg.Preset and AutoPublish.
	Settings func(ctx context.Context) ginflix.Settings
	// Backoff is the wait before retry n (1-based) of a failed job.
	Backoff func(n int) time.Duration
	Logger  *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Backoff == nil {
		c.Backoff = func(n int) time.Duration { return time.Duration(math.Pow(4, float64(n))) * 15 * time.Second / 4 }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	return c
}

// Worker runs transcoding jobs from the store's queue.
type Worker struct {
	cfg     Config
	store   ginflix.Store
	objects ginflix.ObjectStore
	owner   string // this process's lease owner name
	// Metrics, optional.
	OnJobDone func(kind string, ok bool, took time.Duration)
}

// NewWorker returns a worker; Run starts it.
func NewWorker(cfg Config, store ginflix.Store, objects ginflix.ObjectStore) *Worker {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Worker{cfg: cfg.withDefaults(), store: store, objects: objects,
		owner: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))}
}

// Run leases and runs jobs until ctx ends. A job running when ctx ends is
// stopped and given back to the queue without spending an attempt.
func (w *Worker) Run(ctx context.Context) {
	sweepJobDirs(w.cfg.TempDir, w.cfg.Logger)
	var wg sync.WaitGroup
	for i := range w.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, fmt.Sprintf("%s/%d", w.owner, i))
		}()
	}
	wg.Wait()
}

func (w *Worker) loop(ctx context.Context, owner string) {
	log := w.cfg.Logger.With("worker", owner)
	for ctx.Err() == nil {
		job, err := w.store.LeaseJob(ctx, owner, w.cfg.LeaseTTL)
		switch {
		case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
			sleep(ctx, w.cfg.PollInterval)
			continue
		case err != nil:
			if ctx.Err() == nil {
				log.Error("leasing a job", "err", err)
				sleep(ctx, w.cfg.PollInterval)
			}
			continue
		}
		w.run(ctx, owner, job, log.With("job_id", job.ID, "video_id", job.VideoID, "attempt", job.Attempts))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// errLeaseLost stops a job whose lease another worker took over.
var errLeaseLost = errors.New("the job's lease was lost")

// run processes one leased job, keeping its lease alive, and records the
// outcome. Stores are written with a context that outlives ctx, so that a
// shutdown still gives the job back.
func (w *Worker) run(ctx context.Context, owner string, job *ginflix.Job, log *slog.Logger) {
	start := time.Now()
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var progress atomic.Uint64 // float64 bits
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(w.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-t.C:
				err := w.store.HeartbeatJob(context.WithoutCancel(jobCtx), job.ID, owner, w.cfg.LeaseTTL, math.Float64frombits(progress.Load()))
				if ginflix.ErrorCode(err) == ginflix.ECONFLICT {
					cancel(errLeaseLost)
					return
				} else if err != nil {
					log.Warn("heartbeat", "err", err)
				}
			}
		}
	}()
	log.Info("job started")
	err := w.transcode(jobCtx, job, func(f float64) { progress.Store(math.Float64bits(f)) })
	cancel(nil)
	<-hbDone

	bg := context.WithoutCancel(ctx)
	done := func(ok bool) {
		if w.OnJobDone != nil {
			w.OnJobDone(job.Kind, ok, time.Since(start))
		}
	}
	switch {
	case err == nil:
		if err := w.store.CompleteJob(bg, job.ID, owner); err != nil {
			log.Error("completing the job", "err", err)
		}
		log.Info("job done", "took", time.Since(start).Round(time.Millisecond).String())
		done(true)
	case errors.Is(context.Cause(jobCtx), errLeaseLost):
		log.Warn("job abandoned: another worker took its lease")
	case ctx.Err() != nil:
		if err := w.store.ReleaseJob(bg, job.ID, owner); err != nil {
			log.Error("giving the job back", "err", err)
		}
		log.Info("job given back to the queue: shutting down")
	default:
		permanent := ginflix.ErrorCode(err) == ginflix.EINVALID
		msg := ginflix.ErrorMessage(err)
		if !permanent {
			msg = "Transcoding failed: " + err.Error()
		}
		failed, ferr := w.store.FailJob(bg, job.ID, owner, msg, !permanent, w.cfg.Backoff(job.Attempts))
		if ferr != nil {
			log.Error("recording the failure", "err", ferr, "failure", err)
			return
		}
		log.Warn("job failed", "err", err, "will_retry", failed.State == ginflix.JobQueued)
		if failed.State == ginflix.JobFailed {
			status, reason := ginflix.StatusFailed, msg
			if _, uerr := w.store.UpdateVideo(bg, job.VideoID, ginflix.VideoUpdate{Status: &status, Error: &reason}); uerr != nil {
				log.Error("marking the video failed", "err", uerr)
			}
			done(false)
		}
	}
}

// transcode does the work of one job. It writes nothing the video points
// at until every object is stored, so a crash at any point leaves the
// video as it was, to be finished by the next attempt.
func (w *Worker) transcode(ctx context.Context, job *ginflix.Job, progress func(float64)) error {
	v, err := w.store.Video(ctx, job.VideoID)
	if ginflix.ErrorCode(err) == ginflix.ENOTFOUND {
		return nil // deleted while queued: nothing to do
	} else if err != nil {
		return err
	}
	if v.SourceKey == "" {
		return ginflix.Errorf(ginflix.EINVALID, "The video has no uploaded original.")
	}
	dir, release, err := makeJobDir(w.cfg.TempDir, job.ID)
	if err != nil {
		return err
	}
	defer release()

	src := filepath.Join(dir, "source")
	if err := w.download(ctx, v.SourceKey, src); err != nil {
		return fmt.Errorf("fetching the original: %w", err)
	}
	fc := w.encoderConfig(ctx)
	probe, err := ffmpeg.Validate(ctx, fc, src)
	if err != nil {
		return err
	}
	rungs := ffmpeg.Ladder(probe, fc)
	out := filepath.Join(dir, "hls")
	// Encoding is most of the work: it reports 0–95 %, publishing the rest.
	if err := ffmpeg.Transcode(ctx, fc, src, out, probe, rungs, func(f float64) { progress(0.95 * f) }); err != nil {
		return err
	}
	results, err := ffmpeg.Results(out, rungs)
	if err != nil {
		return err
	}
	images := filepath.Join(dir, "images")
	if err := os.MkdirAll(images, 0o755); err != nil {
		return err
	}
	posterKeys, storyboardKey, vttKey, err := w.images(ctx, src, out, images, probe, results, v.ID)
	if err != nil {
		return err
	}

	// Publish: a previous attempt may have left part of a ladder; replace
	// it whole, master playlist last so no player finds a master whose
	// media playlists are missing.
	hls, thumbs := ginflix.HLSPrefix(v.ID), ginflix.ThumbnailPrefix(v.ID)
	for _, p := range []string{hls, thumbs} {
		if err := w.objects.DeletePrefix(ctx, p); err != nil {
			return err
		}
	}
	if err := w.uploadTree(ctx, out, hls, ffmpeg.MasterName); err != nil {
		return err
	}
	if err := w.uploadTree(ctx, images, thumbs, ""); err != nil {
		return err
	}
	progress(1)

	renditions := make([]ginflix.Rendition, len(results))
	for i, r := range results {
		renditions[i] = r.Rendition()
		renditions[i].PlaylistKey = hls + r.URI
	}
	dw, dh := probe.DisplaySize()
	status, duration, empty := ginflix.StatusReady, probe.Duration.Seconds(), ""
	u := ginflix.VideoUpdate{
		Status: &status, Duration: &duration, Width: &dw, Height: &dh, Renditions: &renditions,
		PosterKey: &posterKeys, StoryboardKey: &storyboardKey, StoryboardVTTKey: &vttKey, Error: &empty,
	}
	if w.autoPublish(ctx) {
		pub := true
		u.Published = &pub
	}
	_, err = w.store.UpdateVideo(ctx, v.ID, u)
	return err
}

// encoderConfig is the FFmpeg configuration of a job starting now: the
// runtime settings' ladder and preset over the process's configuration.
func (w *Worker) encoderConfig(ctx context.Context) ffmpeg.Config {
	fc := w.cfg.FFmpeg
	if w.cfg.Settings == nil {
		return fc
	}
	s := w.cfg.Settings(ctx)
	if s.Preset != "" {
		fc.Preset = s.Preset
	}
	if len(s.Ladder) > 0 {
		fc.Rungs = ffmpeg.RungsFor(s.Ladder)
		// The ladder's top rung is the cap: an admin who adds 1440p
		// means it, where the default caps at 1080p.
		fc.MaxHeight = slices.Max(s.Ladder)
	}
	return fc
}

// autoPublish reads the setting when the video becomes ready, so that a
// change made during a long encode applies to it.
func (w *Worker) autoPublish(ctx context.Context) bool {
	if w.cfg.Settings == nil {
		return w.cfg.AutoPublish
	}
	return w.cfg.Settings(ctx).AutoPublish
}

// download copies an object to a local file, which FFmpeg can seek in.
func (w *Worker) download(ctx context.Context, key, path string) error {
	r, _, err := w.objects.Get(ctx, key, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// uploadTree stores every file under dir at prefix + its relative path,
// the file named last (if any) after all the others.
func (w *Worker) uploadTree(ctx context.Context, dir, prefix, last string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel != last && !strings.HasSuffix(rel, ".tmp") {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if last != "" {
		files = append(files, last)
	}
	for _, rel := range files {
		if err := w.putFile(ctx, filepath.Join(dir, filepath.FromSlash(rel)), prefix+rel); err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) putFile(ctx context.Context, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return w.objects.Put(ctx, key, f, st.Size(), ginflix.ContentTypeFor(key))
}
