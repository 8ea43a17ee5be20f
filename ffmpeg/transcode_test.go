package ffmpeg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

// concatRung joins a rung's init segment and media segments, in playlist
// order, into one fragmented MP4, which is what a player feeds its decoder.
func concatRung(t *testing.T, dir string) (path string, starts []float64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, PlaylistName))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := parseMediaPlaylist(data)
	if err != nil {
		t.Fatal(err)
	}
	all, err := os.ReadFile(filepath.Join(dir, pl.initURI))
	if err != nil {
		t.Fatal(err)
	}
	at := 0.0
	for _, s := range pl.segments {
		b, err := os.ReadFile(filepath.Join(dir, s.uri))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
		starts = append(starts, at)
		at += s.duration
	}
	path = filepath.Join(t.TempDir(), "all.mp4")
	if err := os.WriteFile(path, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, starts
}

// keyframeTimes lists the presentation times of a file's video key frames.
func keyframeTimes(t *testing.T, path string) []float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe packets: %v", err)
	}
	var keys []float64
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ts, flags, _ := strings.Cut(l, ",")
		if strings.HasPrefix(flags, "K") {
			f, err := strconv.ParseFloat(ts, 64)
			if err != nil {
				t.Fatalf("packet %q: %v", l, err)
			}
			keys = append(keys, f)
		}
	}
	return keys
}

type streamInfo struct {
	CodecType  string `json:"codec_type"`
	CodecName  string `json:"codec_name"`
	Profile    string `json:"profile"`
	Level      int    `json:"level"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	SampleRate string `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

func streams(t *testing.T, path string) []streamInfo {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var j struct{ Streams []streamInfo }
	if err := json.Unmarshal(out, &j); err != nil {
		t.Fatal(err)
	}
	return j.Streams
}

// transcode validates src, transcodes it into a new directory, checks the
// output, and returns the directory, the probe and the rungs.
func transcode(t *testing.T, cfg Config, src string, wantRungs []size) (string, *Probe, []RungResult) {
	t.Helper()
	ctx := testContext(t)
	p, err := Validate(ctx, cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	rungs := Ladder(p, cfg)
	if got := ladderSizes(rungs); fmt.Sprint(got) != fmt.Sprint(wantRungs) {
		t.Fatalf("ladder %v, want %v", got, wantRungs)
	}
	out := filepath.Join(t.TempDir(), "hls")
	var fractions []float64
	start := time.Now()
	if err := Transcode(ctx, cfg, src, out, p, rungs, func(f float64) { fractions = append(fractions, f) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("transcoded %v of %dx%d into %d rungs in %v", p.Duration, p.Width, p.Height, len(rungs), time.Since(start).Round(time.Millisecond))

	if len(fractions) == 0 || fractions[len(fractions)-1] != 1 {
		t.Errorf("progress %v: want it to end at 1", fractions)
	}
	for i := 1; i < len(fractions); i++ {
		if fractions[i] < fractions[i-1] {
			t.Errorf("progress went back: %v", fractions)
		}
	}

	results, err := Results(out, rungs)
	if err != nil {
		t.Fatal(err)
	}
	var keys0 []float64
	for i, r := range results {
		dir := filepath.Join(out, r.Name)
		for _, f := range []string{InitName, "seg_00000.m4s", PlaylistName} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", r.Name, err)
			}
		}
		pl, _ := os.ReadFile(filepath.Join(dir, PlaylistName))
		for _, tag := range []string{"#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST", `#EXT-X-MAP:URI="init.mp4"`, "#EXT-X-INDEPENDENT-SEGMENTS"} {
			if !bytes.Contains(pl, []byte(tag)) {
				t.Errorf("%s/index.m3u8 lacks %s:\n%s", r.Name, tag, pl)
			}
		}

		// What the files hold: size, High profile, the level the CODECS
		// attribute declares, AAC stereo at 48 kHz when there is audio.
		all, starts := concatRung(t, dir)
		var sawAudio bool
		for _, s := range streams(t, all) {
			switch s.CodecType {
			case "video":
				level, _ := strconv.ParseInt(r.Codecs[9:11], 16, 0)
				if s.CodecName != "h264" || s.Profile != "High" || s.Width != r.Width || s.Height != r.Height || int(level) != s.Level {
					t.Errorf("%s: video %+v, codecs %s", r.Name, s, r.Codecs)
				}
			case "audio":
				sawAudio = true
				if s.CodecName != "aac" || s.Profile != "LC" || s.SampleRate != "48000" || s.Channels != 2 {
					t.Errorf("%s: audio %+v", r.Name, s)
				}
			}
		}
		if sawAudio != p.HasAudio() || strings.Contains(r.Codecs, "mp4a") != p.HasAudio() {
			t.Errorf("%s: audio in output %v, codecs %s, in source %v", r.Name, sawAudio, r.Codecs, p.HasAudio())
		}

		// Key frames start every segment, at the same times in every rung.
		keys := keyframeTimes(t, all)
		t.Logf("%s: key frames at %v s, segments start at %v s", r.Name, keys, starts)
		if len(keys) != len(starts) {
			t.Errorf("%s: key frames at %v, segments start at %v", r.Name, keys, starts)
		} else {
			for k := range keys {
				if math.Abs(keys[k]-keys[0]-starts[k]) > 0.05 {
					t.Errorf("%s: key frames at %v, segments start at %v", r.Name, keys, starts)
					break
				}
			}
		}
		if i == 0 {
			keys0 = keys
		} else if fmt.Sprint(keys) != fmt.Sprint(keys0) {
			t.Errorf("key frames not aligned: %s at %v, %s at %v", results[0].Name, keys0, r.Name, keys)
		}

		// Measured bitrates are plausible: within the encoder's targets.
		kbps := r.AverageBandwidth / 1000
		if r.Bandwidth < r.AverageBandwidth/2 || kbps < 10 || r.AverageBandwidth > 2*(r.MaxBitrate+r.AudioBitrate) {
			t.Errorf("%s: peak %d, average %d, target %d+%d", r.Name, r.Bandwidth, r.AverageBandwidth, r.VideoBitrate, r.AudioBitrate)
		}
	}

	master, err := os.ReadFile(filepath.Join(out, MasterName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(master, MasterPlaylist(results)) {
		t.Errorf("master.m3u8 is not ours:\n%s", master)
	}
	attrs, uris := checkMaster(t, master)
	for i, r := range results {
		if uris[i] != r.Name+"/index.m3u8" || attrs[i]["RESOLUTION"] != fmt.Sprintf("%dx%d", r.Width, r.Height) || attrs[i]["FRAME-RATE"] != "25.000" {
			t.Errorf("variant %d: %v %s", i, attrs[i], uris[i])
		}
	}
	t.Logf("master.m3u8:\n%s", master)
	return out, p, results
}

func TestTranscode320x240(t *testing.T) {
	needFFmpeg(t)
	src := clip(t, t.TempDir(), "in.mp4", "320x240", 3, false)
	transcode(t, DefaultConfig(), src, []size{{"240p", 320, 240}})
}

func TestTranscode640x360(t *testing.T) {
	needFFmpeg(t)
	// 9 s: key frames at 0, 4 and 8 s to compare across rungs.
	src := clip(t, t.TempDir(), "in.mp4", "640x360", 9, false)
	cfg := DefaultConfig()
	out, p, results := transcode(t, cfg, src, []size{{"360p", 640, 360}, {"240p", 426, 240}})
	if results[0].Bandwidth <= results[1].Bandwidth {
		t.Errorf("360p peak %d not above 240p's %d", results[0].Bandwidth, results[1].Bandwidth)
	}

	// The storyboard, from the smallest rung's playlist.
	sbDir := filepath.Join(t.TempDir(), "storyboard")
	start := time.Now()
	vtt, sprites, err := Storyboard(testContext(t), cfg, filepath.Join(out, "240p", PlaylistName), p.Duration, sbDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("storyboard in %v:\n%s", time.Since(start).Round(time.Millisecond), vtt)
	checkVTT(t, vtt, p.Duration, sprites)
	if n := strings.Count(string(vtt), " --> "); n != 5 {
		t.Errorf("%d cues for 9 s every 2 s, want 5", n)
	}
}

func TestTranscodeSilent(t *testing.T) {
	needFFmpeg(t)
	src := clip(t, t.TempDir(), "in.mp4", "640x360", 2, true)
	transcode(t, DefaultConfig(), src, []size{{"360p", 640, 360}, {"240p", 426, 240}})
}

func TestTranscodeCancel(t *testing.T) {
	needFFmpeg(t)
	src := clip(t, t.TempDir(), "in.mp4", "640x360", 20, false)
	cfg := DefaultConfig()
	cfg.Preset = "slow" // slow enough to be cancelled midway
	p, err := ProbeFile(testContext(t), cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "hls")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Transcode(ctx, cfg, src, out, p, Ladder(p, cfg), func(f float64) {
			select {
			case started <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("finished before being cancelled: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no progress")
	}
	cancel()
	at := time.Now()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Transcode did not return after cancel")
	}
	if d := time.Since(at); d > 3*time.Second {
		t.Errorf("returned %v after cancel", d)
	}
	// No ffmpeg still writes into out.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range procs {
		if b, err := os.ReadFile(c); err == nil && bytes.Contains(b, []byte(out)) {
			t.Errorf("still running after cancel: %s", bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}

func TestTranscodeRotatedAndAnamorphic(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	// Stored 320x240, shown upright as 240x320: the rung is 240x320.
	land := clip(t, dir, "land.mp4", "320x240", 1, false)
	rotated := gen(t, dir, "rotated.mp4", "-i", land, "-c", "copy", "-metadata:s:v:0", "rotate=90")
	out, _, _ := transcode(t, DefaultConfig(), rotated, []size{{"240p", 240, 320}})
	// FFmpeg turned the pictures (autorotate) and dropped the rotation: a
	// player must not turn them again.
	all, _ := concatRung(t, filepath.Join(out, "240p"))
	p, err := ProbeFile(testContext(t), DefaultConfig(), all)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := p.DisplaySize(); p.Rotation != 0 || w != 240 || h != 320 {
		t.Errorf("output rotation %d, display %dx%d", p.Rotation, w, h)
	}
	// And the pictures are the upright source's, not a stretched 320x240.
	// (~25 dB at 240p bitrates; a stretched unrotated picture scores ~10.)
	if db := psnr(t, rotated, all); db < 18 {
		t.Errorf("PSNR against the upright source %.1f dB: not rotated", db)
	}
	// Stored 240x240 with 4:3 pixels, shown 320x240: square pixels out.
	sar := clip(t, dir, "sar.mp4", "240x240", 1, false, "-vf", "setsar=4/3")
	transcode(t, DefaultConfig(), sar, []size{{"240p", 320, 240}})
}

func TestTranscodeFailure(t *testing.T) {
	needFFmpeg(t)
	src := clip(t, t.TempDir(), "in.mp4", "320x240", 1, false)
	cfg := DefaultConfig()
	cfg.Preset = "no-such-preset"
	ctx := testContext(t)
	p, err := ProbeFile(ctx, cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	err = Transcode(ctx, cfg, src, filepath.Join(t.TempDir(), "hls"), p, Ladder(p, cfg), nil)
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode == 0 || !strings.Contains(re.Stderr, "no-such-preset") {
		t.Fatalf("got %v, want a RunError with ffmpeg's stderr", err)
	}
	if ginflix.ErrorCode(err) != ginflix.EINTERNAL {
		t.Errorf("code %q: an FFmpeg failure after Validate is worth a retry", ginflix.ErrorCode(err))
	}
	t.Logf("error: %v", err)
}

var psnrAverage = regexp.MustCompile(`PSNR .* average:([0-9.]+|inf)`)

// psnr compares two videos of the same size frame by frame.
func psnr(t *testing.T, a, b string) float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-i", a, "-i", b,
		"-lavfi", "[0:v][1:v]psnr", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("psnr: %v\n%s", err, out)
	}
	m := psnrAverage.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no PSNR in\n%s", out)
	}
	if string(m[1]) == "inf" {
		return math.Inf(1)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}
