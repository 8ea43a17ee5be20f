package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/pipeline"
	"github.com/ginflix/ginflix/sqlite"
)

// TestMain lets a test start this binary as a real ginflix process: with
// GINFLIX_CHILD_ARGS set, it runs the program instead of the tests.
func TestMain(m *testing.M) {
	if raw := os.Getenv("GINFLIX_CHILD_ARGS"); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "ginflix:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child starts "ginflix serve" in its own process group.
func child(t *testing.T, data string, env ...string) *exec.Cmd {
	t.Helper()
	args, _ := json.Marshal([]string{"ginflix", "serve", "--addr", "127.0.0.1:0", "--data", data, "--workers", "1", "--job-lease-ttl", "2s"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "GINFLIX_CHILD_ARGS="+string(args), "GINFLIX_LOG_FORMAT=json")...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

// TestWorkerKilledMidTranscode: SIGKILL the worker's whole process group
// (as when a pod dies) while FFmpeg runs; another process re-leases the
// job once its lease expires and completes it, and the published ladder
// is whole.
func TestWorkerKilledMidTranscode(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("FFmpeg is needed: run make test-deps")
	}
	data := t.TempDir()
	ctx := t.Context()
	// Long enough at 640x360 that the kill lands mid-encode.
	src := filepath.Join(t.TempDir(), "long.mp4")
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=40",
		"-f", "lavfi", "-i", "sine=duration=40", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", src)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	store, err := sqlite.Open(ctx, filepath.Join(data, "ginflix.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	objects, err := filesystem.New(filepath.Join(data, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(src)
	v, err := pipeline.Ingest(ctx, store, objects, pipeline.Original{UploadID: "kill-test", Path: src, Size: st.Size(), Filename: "long.mp4"})
	if err != nil {
		t.Fatal(err)
	}

	first := child(t, data, "GINFLIX_FFMPEG_PRESET=medium")
	var job *ginflix.Job
	deadline := time.Now().Add(60 * time.Second)
	for {
		jobs, err := store.Jobs(ctx, ginflix.JobFilter{VideoID: v.ID})
		if err == nil && len(jobs) == 1 && jobs[0].State == ginflix.JobRunning && jobs[0].Progress > 0.02 {
			job = jobs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first worker never got going: %+v %v", jobs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if job.Progress >= 0.9 {
		t.Fatalf("the encode was nearly done (%.0f %%) before the kill; make the clip longer", job.Progress*100)
	}
	syscall.Kill(-first.Process.Pid, syscall.SIGKILL)
	first.Wait()
	jobDirs := func() []string {
		dirs, _ := filepath.Glob(filepath.Join(data, "tmp", "job-*"))
		return dirs
	}
	if len(jobDirs()) != 1 {
		t.Fatalf("after the kill, scratch directories %v: want the dead attempt's one", jobDirs())
	}

	child(t, data)
	deadline = time.Now().Add(150 * time.Second)
	for {
		got, err := store.Video(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == ginflix.StatusReady {
			v = got
			break
		}
		if got.Status == ginflix.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("after the kill the video is %s %q", got.Status, got.Error)
		}
		time.Sleep(200 * time.Millisecond)
	}
	job, err = store.Job(ctx, job.ID)
	if err != nil || job.State != ginflix.JobSucceeded || job.Attempts != 2 {
		t.Fatalf("job %+v %v: want succeeded on the second attempt", job, err)
	}
	// The new process swept the dead attempt's copy of the original and
	// its partial ladder; its own attempt cleaned up after itself.
	if dirs := jobDirs(); len(dirs) > 0 {
		t.Errorf("scratch directories left behind: %v", dirs)
	}
	// The ladder is whole: every media playlist the master names exists,
	// and so does every segment each playlist names.
	read := func(key string) string {
		r, _, err := objects.Get(ctx, key, nil)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		defer r.Close()
		b, _ := io.ReadAll(r)
		return string(b)
	}
	prefix := ginflix.HLSPrefix(v.ID)
	master := read(prefix + "master.m3u8")
	var media []string
	for _, line := range strings.Split(master, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			media = append(media, line)
		}
	}
	if len(media) != len(v.Renditions) || len(media) < 2 {
		t.Fatalf("master names %d playlists, the video %d renditions", len(media), len(v.Renditions))
	}
	for _, m := range media {
		dir := prefix + m[:strings.LastIndex(m, "/")+1]
		for _, line := range strings.Split(read(prefix+m), "\n") {
			if strings.HasPrefix(line, "#EXT-X-MAP:URI=") {
				line = strings.Trim(strings.TrimPrefix(line, "#EXT-X-MAP:URI="), `"`)
			} else if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if _, err := objects.Stat(ctx, dir+line); err != nil {
				t.Fatalf("%s names %s, which is missing: %v", m, line, err)
			}
		}
	}
	// No object outside what the playlists name is left from the dead attempt.
	var stray []string
	objects.List(ctx, prefix, func(o ginflix.ObjectInfo) error {
		rel := strings.TrimPrefix(o.Key, prefix)
		if rel != "master.m3u8" && !strings.Contains(master, rel[:strings.Index(rel+"/", "/")]+"/") {
			stray = append(stray, rel)
		}
		return nil
	})
	if len(stray) > 0 {
		t.Fatalf("objects left from the killed attempt: %v", stray)
	}
}
