package ffmpeg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

// Tests below run the real ffmpeg and ffprobe on tiny clips generated
// with lavfi; they skip when the tools are missing (the Makefile's CI
// installs Debian's ffmpeg).

func containsFold(s, substr string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
}

// gen runs ffmpeg -y args... out in dir and returns out's path.
func gen(t *testing.T, dir, out string, args ...string) string {
	t.Helper()
	path := filepath.Join(dir, out)
	all := append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, args...)
	all = append(all, path)
	if b, err := exec.Command("ffmpeg", all...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(all, " "), err, b)
	}
	return path
}

// clip makes a test-pattern clip of size (WxH) lasting secs, with a
// 440 Hz tone unless silent.
func clip(t *testing.T, dir, out, size string, secs int, silent bool, extra ...string) string {
	t.Helper()
	d := strconv.Itoa(secs)
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25:duration=" + d}
	if !silent {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:duration="+d, "-c:a", "aac")
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	args = append(args, extra...)
	return gen(t, dir, out, args...)
}

// truncate cuts path to half its size.
func truncate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestValidate(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	ctx := testContext(t)
	cfg := DefaultConfig()

	t.Run("normal", func(t *testing.T) {
		p, err := Validate(ctx, cfg, clip(t, dir, "normal.mp4", "320x240", 3, false))
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasAudio() || p.Width != 320 || p.Height != 240 || p.FrameRate() != 25 ||
			p.Duration < 2900*time.Millisecond || p.Duration > 3100*time.Millisecond || p.VideoCodec != "h264" {
			t.Errorf("%+v", p)
		}
	})
	t.Run("silent", func(t *testing.T) {
		p, err := Validate(ctx, cfg, clip(t, dir, "silent.mp4", "320x240", 2, true))
		if err != nil {
			t.Fatal(err)
		}
		if p.HasAudio() {
			t.Errorf("silent clip has audio: %+v", p)
		}
	})
	t.Run("audio outlasts the video", func(t *testing.T) {
		// 2 s of pictures, 4 s of sound: not a truncated video.
		src := gen(t, dir, "longaudio.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
			"-f", "lavfi", "-i", "sine=duration=4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
		p, err := Validate(ctx, cfg, src)
		if err != nil {
			t.Fatal(err)
		}
		if p.Duration < 3900*time.Millisecond || p.VideoDuration > 2100*time.Millisecond {
			t.Errorf("durations %v (file), %v (video)", p.Duration, p.VideoDuration)
		}
	})
	t.Run("portrait", func(t *testing.T) {
		p, err := Validate(ctx, cfg, clip(t, dir, "portrait.mp4", "180x320", 2, false))
		if err != nil {
			t.Fatal(err)
		}
		if w, h := p.DisplaySize(); w != 180 || h != 320 {
			t.Errorf("display %dx%d", w, h)
		}
		if got := ladderSizes(Ladder(p, cfg)); len(got) != 1 || got[0] != (size{"180p", 180, 320}) {
			t.Errorf("ladder %v", got)
		}
	})
	t.Run("rotated", func(t *testing.T) {
		src := clip(t, dir, "landscape.mp4", "320x240", 1, true)
		p, err := ProbeFile(ctx, cfg, gen(t, dir, "rotated.mp4", "-i", src, "-c", "copy", "-metadata:s:v:0", "rotate=90"))
		if err != nil {
			t.Fatal(err)
		}
		if w, h := p.DisplaySize(); p.Rotation != 90 && p.Rotation != 270 || w != 240 || h != 320 {
			t.Errorf("rotation %d, display %dx%d", p.Rotation, w, h)
		}
	})
	t.Run("anamorphic", func(t *testing.T) {
		p, err := ProbeFile(ctx, cfg, clip(t, dir, "sar.mp4", "240x240", 1, true, "-vf", "setsar=4/3"))
		if err != nil {
			t.Fatal(err)
		}
		if w, h := p.DisplaySize(); p.SARNum != 4 || p.SARDen != 3 || w != 320 || h != 240 {
			t.Errorf("SAR %d:%d display %dx%d", p.SARNum, p.SARDen, w, h)
		}
	})
	t.Run("1080p probe only", func(t *testing.T) {
		p, err := ProbeFile(ctx, cfg, clip(t, dir, "hd.mp4", "1920x1080", 1, false, "-frames:v", "5"))
		if err != nil {
			t.Fatal(err)
		}
		if got := ladderSizes(Ladder(p, cfg)); len(got) != 5 || got[0] != (size{"1080p", 1920, 1080}) {
			t.Errorf("ladder %v", got)
		}
	})

	for _, tc := range []struct {
		name string
		make func(t *testing.T) string
		msg  string
	}{
		{"audio only", func(t *testing.T) string {
			return gen(t, dir, "audio.m4a", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac")
		}, "contains only audio"},
		{"png", func(t *testing.T) string {
			return gen(t, dir, "image.png", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1")
		}, "still image, not a video"},
		{"jpeg", func(t *testing.T) string {
			return gen(t, dir, "image.jpg", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1")
		}, "still image, not a video"},
		{"one-frame mp4", func(t *testing.T) string {
			return clip(t, dir, "oneframe.mp4", "64x48", 1, true, "-frames:v", "1")
		}, "still image"},
		{"empty", func(t *testing.T) string {
			p := filepath.Join(dir, "empty.mp4")
			os.WriteFile(p, nil, 0o644)
			return p
		}, "The file is empty."},
		{"text", func(t *testing.T) string {
			p := filepath.Join(dir, "notes.mp4")
			os.WriteFile(p, []byte("These are my holiday notes, not a video.\n"), 0o644)
			return p
		}, "not a video that can be read"},
		{"tiny resolution", func(t *testing.T) string {
			return clip(t, dir, "tiny.mp4", "8x8", 1, true)
		}, "8x8 pixels; each side must be between 16 and 8192"},
		{"truncated, moov at the front", func(t *testing.T) string {
			p := clip(t, dir, "faststart.mp4", "320x240", 4, false, "-movflags", "+faststart")
			truncate(t, p)
			return p
		}, "truncated at 2 s of 4 s"},
		{"truncated, moov at the end", func(t *testing.T) string {
			p := clip(t, dir, "moovend.mp4", "320x240", 3, false)
			truncate(t, p)
			return p
		}, "moov atom) is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.make(t)
			p, err := Validate(ctx, cfg, path)
			if err == nil {
				t.Fatalf("valid: %+v", p)
			}
			wantInvalid(t, err, tc.msg)
			t.Logf("message: %s", ginflix.ErrorMessage(err))
			if strings.Contains(err.Error(), dir) {
				t.Errorf("the message shows the file's path: %v", err)
			}
		})
	}

	t.Run("missing file is not EINVALID", func(t *testing.T) {
		_, err := Validate(ctx, cfg, filepath.Join(dir, "nope.mp4"))
		if err == nil || containsFold(err.Error(), "code=invalid") {
			t.Errorf("got %v, want a plain (retryable) error", err)
		}
	})
	t.Run("missing ffprobe is not EINVALID", func(t *testing.T) {
		c := cfg
		c.FFprobePath = filepath.Join(dir, "no-ffprobe")
		_, err := Validate(ctx, c, filepath.Join(dir, "normal.mp4"))
		if err == nil || containsFold(err.Error(), "code=invalid") {
			t.Errorf("got %v, want a plain (retryable) error", err)
		}
	})
}
