// Command transcode benchmarks the transcoding pipeline against FFmpeg run
// by hand, all measured in the same run on one generated clip:
//
//   - (a) the single hand-written FFmpeg command for the same ladder
//     (handwritten.go);
//   - (b) one FFmpeg run per rung, each decoding the source again;
//   - the pipeline's transcode step (ffmpeg.Transcode, and with
//     ffmpeg.Validate before it), called directly;
//   - the pipeline end to end: pipeline.Ingest into a fresh SQLite store
//     and filesystem object store, then a pipeline.Worker until the video
//     is ready.
//
// It prints wall and CPU time (FFmpeg children plus this process), the
// CPU ratios to (a) and (b), whether the targets are met, and the time
// from upload finished to ready.
//
//	go run ./bench/transcode [-seconds 30] [-height 1080] [-preset veryfast] [-runs 1] [-keep]
//
// CPU times come from getrusage: the package builds on Unix only.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/ffmpeg"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/pipeline"
	"github.com/ginflix/ginflix/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Targets from the issue, on CPU time.
const (
	targetVsHandwritten = 1.05 // pipeline ≤ 1.05x (a)
	targetVsPerRung     = 0.80 // pipeline ≤ 0.8x (b)
)

// sample is one measurement of a scenario.
type sample struct {
	wall, cpu time.Duration
}

func (s sample) add(o sample) sample { return sample{s.wall + o.wall, s.cpu + o.cpu} }

// cpuTimes returns the CPU time (user + system) used so far by this
// process and by its children that have been waited for.
func cpuTimes() (self, children time.Duration) {
	get := func(who int) time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			panic(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return get(syscall.RUSAGE_SELF), get(syscall.RUSAGE_CHILDREN)
}

// meter measures the wall time and the CPU time of this process and of
// every child it waits for between its creation and stop.
type meter struct {
	start       time.Time
	self, child time.Duration
}

func startMeter() meter {
	self, child := cpuTimes()
	return meter{start: time.Now(), self: self, child: child}
}

func (m meter) stop() sample {
	wall := time.Since(m.start)
	self, child := cpuTimes()
	return sample{wall: wall, cpu: self - m.self + child - m.child}
}

// ffmpegRun runs ffmpeg with args and returns its wall time and its own
// CPU time (os.ProcessState).
func ffmpegRun(ctx context.Context, tool string, args []string) (sample, error) {
	cmd := exec.CommandContext(ctx, tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout: /dev/null (HLSArgs writes -progress there)
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("ffmpeg: %w: %s", err, lastLine(stderr.String()))
	}
	ps := cmd.ProcessState
	return sample{wall: wall, cpu: ps.UserTime() + ps.SystemTime()}, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// generate writes the source clip: testsrc2 (moving patterns, a counter)
// and a sine tone, H.264 High at CRF 18 (about 9 Mb/s at 1080p30, what a
// camera or a screen recorder produces) and AAC, moov atom at the front.
func generate(ctx context.Context, cfg ffmpeg.Config, path string, seconds, height int) error {
	width := (height*16/9 + 1) &^ 1
	args := []string{"-y", "-nostdin", "-hide_banner", "-v", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", width, height),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds), "-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "192k", "-ac", "2",
		"-movflags", "+faststart", path}
	_, err := ffmpegRun(ctx, cfg.FFmpegPath, args)
	return err
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// ladderRates is the measured average bitrate (video and audio, kb/s) of
// each rung's media playlist under outDir.
func ladderRates(outDir string, rungs []ffmpeg.Rung) string {
	var parts []string
	for _, r := range rungs {
		m, err := ffmpeg.MeasurePlaylist(filepath.Join(outDir, r.Name))
		if err != nil {
			parts = append(parts, r.Name+" ?")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", r.Name, m.Average/1000))
	}
	return strings.Join(parts, ", ")
}

// watchedStore passes everything to the real store and notes when the
// worker polls, leases the job, marks the video ready or fails the job.
type watchedStore struct {
	ginflix.Store
	idleOnce sync.Once
	idle     chan struct{}  // closed at the first poll that found no job
	leased   chan time.Time // the job was leased
	ready    chan time.Time // the video was marked ready
	failed   chan string    // the job failed (to be retried or not)
}

func newWatchedStore(s ginflix.Store) *watchedStore {
	return &watchedStore{Store: s, idle: make(chan struct{}),
		leased: make(chan time.Time, 1), ready: make(chan time.Time, 1), failed: make(chan string, 1)}
}

func (s *watchedStore) LeaseJob(ctx context.Context, owner string, ttl time.Duration) (*ginflix.Job, error) {
	j, err := s.Store.LeaseJob(ctx, owner, ttl)
	switch {
	case err == nil:
		notify(s.leased, time.Now())
	case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
		s.idleOnce.Do(func() { close(s.idle) })
	}
	return j, err
}

func (s *watchedStore) UpdateVideo(ctx context.Context, id string, u ginflix.VideoUpdate) (*ginflix.Video, error) {
	v, err := s.Store.UpdateVideo(ctx, id, u)
	if err == nil && u.Status != nil && *u.Status == ginflix.StatusReady {
		notify(s.ready, time.Now())
	}
	return v, err
}

func (s *watchedStore) FailJob(ctx context.Context, id, owner, msg string, retryable bool, backoff time.Duration) (*ginflix.Job, error) {
	notify(s.failed, msg)
	return s.Store.FailJob(ctx, id, owner, msg, retryable, backoff)
}

func notify[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}

// jobResult is one end-to-end run of the pipeline.
type jobResult struct {
	job         sample        // the worker's job: lease to completion, CPU from Ingest to completion
	ingest      time.Duration // pipeline.Ingest: storing the original, creating the video, queueing
	toReady     time.Duration // Ingest returned → video ready
	queueWait   time.Duration // Ingest returned → job leased
	ladderBytes int64
}

// pollInterval is the worker's default: an idle worker looks for a job
// this often.
const pollInterval = 2 * time.Second

// endToEnd runs the real pipeline on src: a fresh SQLite store and
// filesystem object store in dir, the upload finish hook's
// pipeline.Ingest, and a pipeline.Worker (concurrency 1, default poll
// interval) until the video is ready. The upload finishes half a poll
// interval after the worker's first empty poll: the mean wait of an
// upload finishing at a random moment.
func endToEnd(ctx context.Context, cfg ffmpeg.Config, src, dir string, size int64, upload string) (jobResult, error) {
	var res jobResult
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ginflix.db"))
	if err != nil {
		return res, err
	}
	defer db.Close()
	objects, err := filesystem.New(filepath.Join(dir, "objects"))
	if err != nil {
		return res, err
	}
	defer objects.Close()
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return res, err
	}
	store := newWatchedStore(db)
	w := pipeline.NewWorker(pipeline.Config{
		FFmpeg: cfg, TempDir: work, Concurrency: 1, PollInterval: pollInterval, AutoPublish: true,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, store, objects)
	type done struct {
		ok   bool
		took time.Duration
	}
	jobDone := make(chan done, 1)
	w.OnJobDone = func(_ string, ok bool, took time.Duration) { notify(jobDone, done{ok, took}) }

	wctx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		w.Run(wctx)
	}()
	defer func() {
		stop()
		<-stopped
	}()
	select {
	case <-store.idle:
	case <-time.After(time.Minute):
		return res, errors.New("the worker never polled the queue")
	}
	time.Sleep(pollInterval / 2)

	// The upload is finished: what the tus finish hook does.
	t0 := time.Now()
	v, err := pipeline.Ingest(ctx, store, objects, pipeline.Original{
		UploadID: upload, Path: src, Size: size, Filename: "clip.mp4",
		Title: "Benchmark clip", UploaderID: "bench",
	})
	if err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	m := startMeter()
	res.ingest = m.start.Sub(t0)

	var readyAt, leasedAt time.Time
	for readyAt.IsZero() || leasedAt.IsZero() || res.job.wall == 0 {
		select {
		case t := <-store.leased:
			leasedAt = t
		case t := <-store.ready:
			readyAt = t
		case d := <-jobDone:
			if !d.ok {
				return res, errors.New("the job failed")
			}
			res.job = m.stop()
			res.job.wall = d.took
		case msg := <-store.failed:
			return res, fmt.Errorf("the job failed: %s", msg)
		case <-time.After(30 * time.Minute):
			return res, errors.New("the video never became ready")
		}
	}
	res.toReady = readyAt.Sub(m.start)
	res.queueWait = leasedAt.Sub(m.start)
	err = objects.List(ctx, ginflix.HLSPrefix(v.ID), func(o ginflix.ObjectInfo) error {
		res.ladderBytes += o.Size
		return nil
	})
	return res, err
}

// direct are the pipeline's steps called directly, each measured.
type direct struct {
	validate, transcode, poster, storyboard sample
}

func directSteps(ctx context.Context, cfg ffmpeg.Config, src, dir string) (direct, error) {
	var d direct
	m := startMeter()
	probe, err := ffmpeg.Validate(ctx, cfg, src)
	if err != nil {
		return d, fmt.Errorf("validate: %w", err)
	}
	d.validate = m.stop()
	rungs := ffmpeg.Ladder(probe, cfg)
	out := filepath.Join(dir, "hls")
	m = startMeter()
	if err := ffmpeg.Transcode(ctx, cfg, src, out, probe, rungs, nil); err != nil {
		return d, err
	}
	d.transcode = m.stop()
	images := filepath.Join(dir, "images")
	if err := os.MkdirAll(images, 0o755); err != nil {
		return d, err
	}
	m = startMeter()
	if err := ffmpeg.Poster(ctx, cfg, src, probe, filepath.Join(images, "poster.jpg"), filepath.Join(images, "poster.webp")); err != nil {
		return d, err
	}
	d.poster = m.stop()
	smallest := filepath.Join(out, rungs[len(rungs)-1].Name, ffmpeg.PlaylistName)
	m = startMeter()
	if _, _, err := ffmpeg.Storyboard(ctx, cfg, smallest, probe.Duration, images); err != nil {
		return d, err
	}
	d.storyboard = m.stop()
	return d, nil
}

// median takes the median wall time and the median CPU time, separately.
func median(ss []sample) sample {
	pick := func(get func(sample) time.Duration) time.Duration {
		v := make([]time.Duration, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	return sample{wall: pick(func(s sample) time.Duration { return s.wall }), cpu: pick(func(s sample) time.Duration { return s.cpu })}
}

func medianDuration(ds []time.Duration) time.Duration {
	ss := make([]sample, len(ds))
	for i, d := range ds {
		ss[i].wall = d
	}
	return median(ss).wall
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func run() error {
	seconds := flag.Int("seconds", 30, "length of the generated clip, seconds")
	height := flag.Int("height", 1080, "height of the generated 16:9 clip (the hand-written command is for 1080 lines or more)")
	preset := flag.String("preset", "veryfast", "libx264 preset of every scenario")
	runs := flag.Int("runs", 1, "runs of each scenario; the median is reported")
	keep := flag.Bool("keep", false, "keep the temporary directory (source clip and every output)")
	flag.Parse()
	if *seconds <= 0 || *height < 16 || *runs < 1 {
		return errors.New("-seconds, -height and -runs must be positive")
	}
	ctx := context.Background()
	cfg := ffmpeg.DefaultConfig()
	cfg.Preset = *preset

	tmp, err := os.MkdirTemp("", "ginflix-bench-transcode-")
	if err != nil {
		return err
	}
	if *keep {
		defer fmt.Fprintf(os.Stderr, "outputs kept in %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	src := filepath.Join(tmp, "source.mp4")
	fmt.Fprintf(os.Stderr, "generating a %d s %dp30 clip...\n", *seconds, *height)
	if err := generate(ctx, cfg, src, *seconds, *height); err != nil {
		return fmt.Errorf("generating the clip: %w", err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	probe, err := ffmpeg.ProbeFile(ctx, cfg, src)
	if err != nil {
		return err
	}
	rungs := ffmpeg.Ladder(probe, cfg)
	if err := checkHandwritten(handwritten(src, "out", cfg.Preset), rungs, probe, cfg); err != nil {
		return err
	}

	var (
		hand, perRung, transcode, validated, job []sample
		validate, poster, storyboard             []sample
		toReady, queueWait, ingest               []time.Duration
		handDir, perRungDir, directDir           string
		sizes                                    = map[string]int64{}
	)
	for i := range *runs {
		round := filepath.Join(tmp, fmt.Sprintf("run%d", i+1))
		if *runs > 1 {
			fmt.Fprintf(os.Stderr, "run %d of %d\n", i+1, *runs)
		}

		fmt.Fprintln(os.Stderr, "  (a) hand-written command...")
		handDir = filepath.Join(round, "a-handwritten")
		for _, r := range rungs {
			if err := os.MkdirAll(filepath.Join(handDir, r.Name), 0o755); err != nil {
				return err
			}
		}
		s, err := ffmpegRun(ctx, cfg.FFmpegPath, handwritten(src, handDir, cfg.Preset))
		if err != nil {
			return fmt.Errorf("(a): %w", err)
		}
		hand = append(hand, s)
		sizes["a"] = dirSize(handDir)

		fmt.Fprintf(os.Stderr, "  (b) one run per rung (%d runs)...\n", len(rungs))
		perRungDir = filepath.Join(round, "b-per-rung")
		var total sample
		for _, r := range rungs {
			// The pipeline's own command for a ladder of this one rung.
			if err := os.MkdirAll(filepath.Join(perRungDir, r.Name), 0o755); err != nil {
				return err
			}
			s, err := ffmpegRun(ctx, cfg.FFmpegPath, ffmpeg.HLSArgs(src, perRungDir, []ffmpeg.Rung{r}, probe, cfg))
			if err != nil {
				return fmt.Errorf("(b) %s: %w", r.Name, err)
			}
			total = total.add(s)
		}
		perRung = append(perRung, total)
		sizes["b"] = dirSize(perRungDir)

		fmt.Fprintln(os.Stderr, "  pipeline steps called directly...")
		directDir = filepath.Join(round, "direct")
		d, err := directSteps(ctx, cfg, src, directDir)
		if err != nil {
			return fmt.Errorf("pipeline steps: %w", err)
		}
		transcode = append(transcode, d.transcode)
		validated = append(validated, d.validate.add(d.transcode))
		validate, poster, storyboard = append(validate, d.validate), append(poster, d.poster), append(storyboard, d.storyboard)
		sizes["t"] = dirSize(filepath.Join(directDir, "hls"))

		fmt.Fprintln(os.Stderr, "  pipeline end to end (Ingest, Worker)...")
		jr, err := endToEnd(ctx, cfg, src, filepath.Join(round, "pipeline"), fi.Size(), fmt.Sprintf("bench-upload-%d", i+1))
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		job = append(job, jr.job)
		toReady, queueWait, ingest = append(toReady, jr.toReady), append(queueWait, jr.queueWait), append(ingest, jr.ingest)
		sizes["job"] = jr.ladderBytes
	}

	a, b := median(hand), median(perRung)
	tr, vt, jb := median(transcode), median(validated), median(job)
	fmt.Printf("Source: %d s, %dx%d %s fps, %.1f Mb/s H.264 + AAC; ladder %s; preset %s; %d run(s), medians; %d cores\n\n",
		*seconds, probe.Width, probe.Height, strconv.FormatFloat(probe.FrameRate(), 'f', -1, 64),
		float64(fi.Size()*8)/probe.Duration.Seconds()/1e6, rungNames(rungs), cfg.Preset, *runs, runtime.NumCPU())

	names := []string{
		"(a) hand-written command, 1 ffmpeg",
		fmt.Sprintf("(b) one ffmpeg run per rung, %d runs", len(rungs)),
		"pipeline (transcode only: ffmpeg.Transcode)",
		"pipeline (Validate + Transcode)",
		"pipeline (whole job: validate + transcode + poster + storyboard + publish)",
	}
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	// Right-aligned numbers; the names padded to one width read left-aligned.
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\twall s\tCPU s\tCPU x (a)\tCPU x (b)\tladder MB\t\n", width, "scenario")
	for i, s := range []sample{a, b, tr, vt, jb} {
		size := sizes[[]string{"a", "b", "t", "t", "job"}[i]]
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%.2f\t%.2f\t%.1f\t\n", width, names[i], secs(s.wall), secs(s.cpu),
			ratio(s.cpu, a.cpu), ratio(s.cpu, b.cpu), float64(size)/1e6)
	}
	tw.Flush()

	v, p, sb := median(validate), median(poster), median(storyboard)
	fmt.Printf("\nSteps of the job, called directly (wall s / CPU s):\n")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	step := func(name string, s sample) {
		pct := 100 * ratio(s.cpu, jb.cpu)
		if pct > -0.5 && pct < 0.5 {
			pct = 0 // not "-0 %"
		}
		fmt.Fprintf(tw, "  %-52s\t%s\t%s\t%.0f %% of the job's CPU\t\n", name, secs(s.wall), secs(s.cpu), pct)
	}
	step("ffmpeg.Validate (ffprobe + full decode)", v)
	step("ffmpeg.Transcode", tr)
	step("ffmpeg.Poster", p)
	step("ffmpeg.Storyboard (from the smallest rung)", sb)
	rest := sample{wall: jb.wall - v.wall - tr.wall - p.wall - sb.wall, cpu: jb.cpu - v.cpu - tr.cpu - p.cpu - sb.cpu}
	step("rest: download, publish, store (job minus the above)", rest) // ± run-to-run noise
	tw.Flush()

	fmt.Printf("\nOutput check, measured average kb/s per rung (video + audio):\n")
	fmt.Printf("  (a)       %s\n  (b)       %s\n  pipeline  %s\n",
		ladderRates(handDir, rungs), ladderRates(perRungDir, rungs), ladderRates(filepath.Join(directDir, "hls"), rungs))

	fmt.Printf("\nTargets, CPU time of the pipeline's transcode step (ffmpeg.Transcode):\n")
	ra, rb := ratio(tr.cpu, a.cpu), ratio(tr.cpu, b.cpu)
	fmt.Printf("  ≤ %.2fx (a): %.2fx  %s\n", targetVsHandwritten, ra, verdict(ra <= targetVsHandwritten))
	fmt.Printf("  ≤ %.2fx (b): %.2fx  %s\n", targetVsPerRung, rb, verdict(rb <= targetVsPerRung))
	fmt.Printf("  (for information: Validate + Transcode %.2fx (a), %.2fx (b); whole job %.2fx (a), %.2fx (b))\n",
		ratio(vt.cpu, a.cpu), ratio(vt.cpu, b.cpu), ratio(jb.cpu, a.cpu), ratio(jb.cpu, b.cpu))

	fmt.Printf("\nupload finished → ready: %s s\n", secs(medianDuration(toReady)))
	fmt.Printf("  (from pipeline.Ingest returning; Ingest itself took %s s. Of which waiting for the idle worker's next poll: %s s, "+
		"polls every %s, upload at mid-interval; the job until ready: %s s)\n",
		secs(medianDuration(ingest)), secs(medianDuration(queueWait)), pollInterval, secs(medianDuration(toReady)-medianDuration(queueWait)))
	return nil
}

func rungNames(rungs []ffmpeg.Rung) string {
	var names []string
	for _, r := range rungs {
		names = append(names, r.Name)
	}
	return strings.Join(names, "/")
}
