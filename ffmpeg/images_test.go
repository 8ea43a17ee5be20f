package ffmpeg

import (
	"bufio"
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestPoster(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	ctx := testContext(t)
	// One second of black, then one of test pattern.
	src := gen(t, dir, "blackstart.mp4",
		"-f", "lavfi", "-i", "color=black:size=320x240:rate=25:duration=1",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
		"-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	first := gen(t, dir, "first.jpg", "-i", src, "-frames:v", "1")
	if l, err := meanLuma(first); err != nil || l > 10 {
		t.Fatalf("the clip does not start black: luma %v, %v", l, err)
	}

	cfg := DefaultConfig()
	if ok, err := HasEncoder(ctx, cfg, "libwebp"); err != nil || !ok {
		t.Fatalf("libwebp encoder: %v, %v (Debian's ffmpeg has it)", ok, err)
	}
	if ok, _ := HasEncoder(ctx, cfg, "no-such-encoder"); ok {
		t.Error("HasEncoder says yes to anything")
	}
	p, err := Validate(ctx, cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	jpg, webp := filepath.Join(dir, "poster.jpg"), filepath.Join(dir, "poster.webp")
	start := time.Now()
	if err := Poster(ctx, cfg, src, p, jpg, webp); err != nil {
		t.Fatal(err)
	}
	t.Logf("poster in %v", time.Since(start).Round(time.Millisecond))
	f, err := os.Open(jpg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("poster is %v", b)
	}
	if l := MeanLuma(img); l < 40 {
		t.Errorf("poster mean luma %.1f: black", l)
	} else {
		t.Logf("poster mean luma %.1f", l)
	}
	w, err := os.ReadFile(webp)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) < 12 || string(w[:4]) != "RIFF" || string(w[8:12]) != "WEBP" {
		t.Errorf("poster.webp is not a WebP file: % x", w[:min(len(w), 12)])
	}

	// Without a WebP path, only the JPEG.
	jpg2 := filepath.Join(dir, "poster2.jpg")
	if err := Poster(ctx, cfg, src, p, jpg2, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(jpg2); err != nil {
		t.Error(err)
	}
}

var (
	cueTiming  = regexp.MustCompile(`^(\d{2}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2}):([0-5]\d):([0-5]\d)\.(\d{3})$`)
	cuePayload = regexp.MustCompile(`^sprite_(\d+)\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)$`)
)

func vttMillis(m []string) (start, end int64) {
	n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	start = ((n(m[1])*60+n(m[2]))*60+n(m[3]))*1000 + n(m[4])
	end = ((n(m[5])*60+n(m[6]))*60+n(m[7]))*1000 + n(m[8])
	return start, end
}

// checkVTT checks a WebVTT thumbnails track: the header, cue timings
// HH:MM:SS.mmm --> HH:MM:SS.mmm, contiguous from 0 to duration, and
// payloads pointing inside existing sprite sheets (sprites, nil for none).
func checkVTT(t *testing.T, vtt []byte, duration time.Duration, sprites []string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(vtt))
	if !sc.Scan() || sc.Text() != "WEBVTT" {
		t.Fatalf("no WEBVTT header:\n%s", vtt)
	}
	sheetSize := map[int][2]int{}
	for i, s := range sprites {
		if filepath.Base(s) != fmt.Sprintf("sprite_%d.jpg", i) {
			t.Errorf("sprite %d is %s", i, s)
		}
		f, err := os.Open(s)
		if err != nil {
			t.Fatal(err)
		}
		c, err := jpeg.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		sheetSize[i] = [2]int{c.Width, c.Height}
	}
	var prevEnd int64
	cues := 0
	for sc.Scan() {
		if sc.Text() != "" {
			t.Fatalf("cue %d: want a blank line before it, got %q", cues, sc.Text())
		}
		if !sc.Scan() {
			break
		}
		m := cueTiming.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("cue %d: timing %q", cues, sc.Text())
		}
		start, end := vttMillis(m)
		if start != prevEnd || end <= start {
			t.Errorf("cue %d: %d --> %d ms after a cue ending at %d", cues, start, end, prevEnd)
		}
		prevEnd = end
		if !sc.Scan() {
			t.Fatalf("cue %d: no payload", cues)
		}
		p := cuePayload.FindStringSubmatch(sc.Text())
		if p == nil {
			t.Fatalf("cue %d: payload %q", cues, sc.Text())
		}
		if sprites != nil {
			n := func(i int) int { v, _ := strconv.Atoi(p[i]); return v }
			sz, ok := sheetSize[n(1)]
			if !ok || n(4) == 0 || n(5) == 0 || n(2)+n(4) > sz[0] || n(3)+n(5) > sz[1] {
				t.Errorf("cue %d: %s outside sheet %v", cues, sc.Text(), sz)
			}
		}
		cues++
	}
	if cues == 0 {
		t.Fatal("no cues")
	}
	if prevEnd != duration.Milliseconds() {
		t.Errorf("last cue ends at %d ms, want the duration %d", prevEnd, duration.Milliseconds())
	}
}

func TestStoryboardVTT(t *testing.T) {
	// 500 s every 5 s, but 250 tiles in 10x10 sheets: 3 sheets.
	d := 1249500 * time.Millisecond
	vtt := storyboardVTT(250, 5*time.Second, d, 10, 10, 160, 90)
	checkVTT(t, vtt, d, nil)
	for _, want := range []string{
		"\n00:00:00.000 --> 00:00:05.000\nsprite_0.jpg#xywh=0,0,160,90\n",
		"\n00:00:55.000 --> 00:01:00.000\nsprite_0.jpg#xywh=160,90,160,90\n",
		"\n00:08:20.000 --> 00:08:25.000\nsprite_1.jpg#xywh=0,0,160,90\n",
		"\n00:20:45.000 --> 00:20:49.500\nsprite_2.jpg#xywh=1440,360,160,90\n",
	} {
		if !bytes.Contains(vtt, []byte(want)) {
			t.Errorf("no %q in\n%s", want, vtt)
		}
	}
	// A thumbnail short of the duration: the last cue stretches to it.
	checkVTT(t, storyboardVTT(3, 2*time.Second, 7*time.Second, 4, 1, 160, 90), 7*time.Second, nil)
	// One thumbnail too many (the duration is rounded): it is dropped.
	checkVTT(t, storyboardVTT(5, 2*time.Second, 8*time.Second, 5, 1, 160, 90), 8*time.Second, nil)

	for d, want := range map[time.Duration]time.Duration{
		3 * time.Second: 2 * time.Second, 200 * time.Second: 2 * time.Second,
		201 * time.Second: 3 * time.Second, time.Hour: 36 * time.Second, 12 * time.Hour: 432 * time.Second,
	} {
		if got := StoryboardInterval(d); got != want {
			t.Errorf("interval for %v: %v, want %v", d, got, want)
		}
	}
}

func TestStoryboardFromFile(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	src := clip(t, dir, "in.mp4", "320x180", 5, true)
	vtt, sprites, err := Storyboard(testContext(t), DefaultConfig(), src, 5*time.Second, filepath.Join(dir, "sb"))
	if err != nil {
		t.Fatal(err)
	}
	checkVTT(t, vtt, 5*time.Second, sprites)
	if len(sprites) != 1 || !bytes.Contains(vtt, []byte("sprite_0.jpg#xywh=320,0,160,90")) {
		t.Errorf("sprites %v, track:\n%s", sprites, vtt)
	}
}
