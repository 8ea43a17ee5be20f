package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/ffmpeg"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/pipeline"
	"github.com/ginflix/ginflix/sqlite"
)

type env struct {
	store   *sqlite.DB
	objects *filesystem.Store
	dir     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "ginflix.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	objects, err := filesystem.New(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: store, objects: objects, dir: dir}
}

func (e *env) worker(t *testing.T) *pipeline.Worker {
	return pipeline.NewWorker(pipeline.Config{
		FFmpeg:       ffmpeg.DefaultConfig(),
		TempDir:      t.TempDir(),
		LeaseTTL:     3 * time.Second,
		PollInterval: 50 * time.Millisecond,
		Backoff:      func(int) time.Duration { return 0 },
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, e.store, e.objects)
}

// clip generates a short test video with FFmpeg's lavfi sources.
func clip(t *testing.T, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error", "-y"}, args...), out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", name, err, b)
	}
	return out
}

func goodClip(t *testing.T) string {
	return clip(t, "good.mp4", "-f", "lavfi", "-i", "testsrc2=size=426x240:rate=25:duration=3",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
}

func ingest(t *testing.T, e *env, path, filename string) *ginflix.Video {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pipeline.Ingest(t.Context(), e.store, e.objects, pipeline.Original{
		UploadID: filepath.Base(path) + "-" + filename, Path: path, Size: st.Size(), Filename: filename, UploaderID: "admin-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitFor runs workers until every video is out of processing.
func waitFor(t *testing.T, e *env, ids ...string) map[string]*ginflix.Video {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	done := make(chan struct{})
	wctx, stop := context.WithCancel(ctx)
	go func() { e.worker(t).Run(wctx); close(done) }()
	defer func() { stop(); <-done }()
	out := map[string]*ginflix.Video{}
	for len(out) < len(ids) {
		for _, id := range ids {
			v, err := e.store.Video(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != ginflix.StatusProcessing {
				out[id] = v
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("videos still processing after 90 s: %d of %d done", len(out), len(ids))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return out
}

func TestUploadToReady(t *testing.T) {
	e := newEnv(t)
	src := goodClip(t)
	v := ingest(t, e, src, "Mon film.MP4")
	if v.Status != ginflix.StatusProcessing || v.Title != "Mon film" || !strings.HasPrefix(v.SourceKey, "videos/original/") || !strings.HasSuffix(v.SourceKey, ".mp4") {
		t.Fatalf("ingested %+v", v)
	}
	// Ingesting the same upload again (a finish hook that ran twice)
	// changes nothing.
	if again := ingest(t, e, src, "Mon film.MP4"); again.ID != v.ID {
		t.Fatalf("second ingest made video %s, first %s", again.ID, v.ID)
	}
	jobs, _ := e.store.Jobs(t.Context(), ginflix.JobFilter{VideoID: v.ID})
	if len(jobs) != 1 {
		t.Fatalf("%d jobs for one upload", len(jobs))
	}

	got := waitFor(t, e, v.ID)[v.ID]
	if got.Status != ginflix.StatusReady || got.Error != "" {
		t.Fatalf("video %s: %s", got.Status, got.Error)
	}
	if got.Published {
		t.Fatal("published without an admin, with AutoPublish off")
	}
	if got.Duration < 2.9 || got.Duration > 3.2 || got.Width != 426 || got.Height != 240 || len(got.Renditions) != 1 {
		t.Fatalf("video %+v", got)
	}
	r := got.Renditions[0]
	if r.Name != "240p" || r.Bandwidth <= 0 || r.AverageBandwidth <= 0 || !strings.HasPrefix(r.Codecs, "avc1.64") || r.PlaylistKey != ginflix.HLSPrefix(v.ID)+"240p/index.m3u8" {
		t.Fatalf("rendition %+v", r)
	}
	for _, key := range []string{ginflix.HLSPrefix(v.ID) + "master.m3u8", r.PlaylistKey, ginflix.HLSPrefix(v.ID) + "240p/init.mp4",
		got.PosterKey, got.StoryboardVTTKey, got.StoryboardKey} {
		if key == "" {
			t.Fatalf("an image key is empty: %+v", got)
		}
		if _, err := e.objects.Stat(t.Context(), key); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	rd, _, err := e.objects.Get(t.Context(), ginflix.HLSPrefix(v.ID)+"master.m3u8", nil)
	if err != nil {
		t.Fatal(err)
	}
	master, _ := io.ReadAll(rd)
	rd.Close()
	for _, want := range []string{"#EXTM3U", "BANDWIDTH=", "AVERAGE-BANDWIDTH=", "RESOLUTION=426x240", `CODECS="avc1.64`, "mp4a.40.2", "FRAME-RATE=25", "240p/index.m3u8"} {
		if !strings.Contains(string(master), want) {
			t.Fatalf("master playlist lacks %s:\n%s", want, master)
		}
	}
	job, err := e.store.Job(t.Context(), jobs[0].ID)
	if err != nil || job.State != ginflix.JobSucceeded || job.Progress != 1 {
		t.Fatalf("job %+v %v", job, err)
	}
}

func TestBadFilesFailTheirOwnJob(t *testing.T) {
	e := newEnv(t)
	good := goodClip(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	audio := clip(t, "audio.m4a", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac")
	image := clip(t, "image.png", "-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1")
	whole, _ := os.ReadFile(clip(t, "faststart.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"))
	cases := map[string]struct {
		path, want string
	}{
		"empty":          {write("empty.mp4", nil), ""},
		"text":           {write("notes.mp4", []byte("this is not a video at all\n")), ""},
		"audio only":     {audio, "video"},
		"still image":    {image, "image"},
		"truncated moov": {write("cut.mp4", whole[:len(whole)/2]), "truncated"},
	}
	ids := map[string]string{}
	var all []string
	for name, c := range cases {
		v := ingest(t, e, c.path, name+".mp4")
		ids[name] = v.ID
		all = append(all, v.ID)
	}
	goodV := ingest(t, e, good, "good.mp4")
	all = append(all, goodV.ID)

	got := waitFor(t, e, all...)
	if g := got[goodV.ID]; g.Status != ginflix.StatusReady {
		t.Fatalf("the good video queued beside bad ones: %s %s", g.Status, g.Error)
	}
	for name, c := range cases {
		v := got[ids[name]]
		if v.Status != ginflix.StatusFailed || v.Error == "" {
			t.Errorf("%s: status %s error %q", name, v.Status, v.Error)
			continue
		}
		if c.want != "" && !strings.Contains(strings.ToLower(v.Error), c.want) {
			t.Errorf("%s: error %q should mention %q", name, v.Error, c.want)
		}
		jobs, _ := e.store.Jobs(t.Context(), ginflix.JobFilter{VideoID: v.ID})
		if len(jobs) != 1 || jobs[0].State != ginflix.JobFailed || jobs[0].Attempts != 1 {
			t.Errorf("%s: a bad file is not retried: %+v", name, jobs)
		}
	}
}
