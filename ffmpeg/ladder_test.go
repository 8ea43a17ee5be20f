package ffmpeg

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// probe builds a synthetic 60 s Probe: stream 0 video, stream 1 audio.
func probe(w, h, rateNum, rateDen int, audio bool) *Probe {
	p := &Probe{
		Format: "mov,mp4,m4a,3gp,3g2,mj2", Duration: time.Minute,
		VideoIndex: 0, VideoCodec: "h264", PixFmt: "yuv420p",
		Width: w, Height: h, SARNum: 1, SARDen: 1,
		FrameRateNum: rateNum, FrameRateDen: rateDen, AudioIndex: -1,
	}
	if audio {
		p.AudioIndex, p.AudioCodec, p.AudioChannels = 1, "aac", 2
	}
	return p
}

// goldenCases are the sources of the HLSArgs golden files.
func goldenCases() map[string]*Probe {
	anamorphic := probe(1440, 1080, 25, 1, true)
	anamorphic.SARNum, anamorphic.SARDen = 4, 3 // HDV: shown as 1920x1080
	rotated := probe(1920, 1080, 30, 1, true)
	rotated.Rotation = 90 // a phone held upright: shown as 1080x1920
	interlaced := probe(1920, 1080, 25, 1, true)
	interlaced.Interlaced = true // 1080i50 broadcast: deinterlaced first
	return map[string]*Probe{
		"1080p30_audio":       probe(1920, 1080, 30000, 1001, true),
		"720p_silent":         probe(1280, 720, 25, 1, false),
		"portrait_1080x1920":  probe(1080, 1920, 30, 1, true),
		"odd_853x479":         probe(853, 479, 25, 1, true),
		"anamorphic_sar4-3":   anamorphic,
		"rotated90_1920x1080": rotated,
		"50fps_1280x720":      probe(1280, 720, 50, 1, true),
		"120fps_capped_to_60": probe(1280, 720, 120, 1, true),
		"interlaced_1080i25":  interlaced,
	}
}

func TestHLSArgsGolden(t *testing.T) {
	cfg := DefaultConfig()
	for name, p := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			args := HLSArgs("/in/source.mp4", "/out", Ladder(p, cfg), p, cfg)
			got := strings.Join(args, "\n") + "\n"
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./ffmpeg -run Golden -update)", err)
			}
			if got != string(want) {
				t.Errorf("HLSArgs differ from %s (-update rewrites it):\n%s", path, diffLines(string(want), got))
			}
		})
	}
}

// diffLines lists the lines that differ, by position.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestHLSArgsInvariants(t *testing.T) {
	cfg := DefaultConfig()
	for name, p := range goldenCases() {
		rungs := Ladder(p, cfg)
		args := HLSArgs("/in/source.mp4", "/out", rungs, p, cfg)
		joined := strings.Join(args, " ")
		for _, want := range []string{
			"-sc_threshold 0", "-force_key_frames expr:gte(t,n_forced*4)", "-hls_time 4",
			"-hls_segment_type fmp4", "-hls_playlist_type vod", "-hls_flags independent_segments",
			"-master_pl_name master.m3u8", "-progress pipe:1", "-nostats", "-profile:v high",
			"-preset veryfast", "/out/%v/seg_%05d.m4s", "/out/%v/index.m3u8",
			fmt.Sprintf("split=%d", len(rungs)),
		} {
			if !strings.Contains(joined, want) {
				t.Errorf("%s: no %q in %s", name, want, joined)
			}
		}
		if got := strings.Count(joined, "-map [o"); got != len(rungs) {
			t.Errorf("%s: %d video maps for %d rungs", name, got, len(rungs))
		}
		if p.HasAudio() != strings.Contains(joined, "-c:a aac") {
			t.Errorf("%s: audio %v but args %s", name, p.HasAudio(), joined)
		}
	}
}

type size struct {
	name string
	w, h int
}

func ladderSizes(rungs []Rung) []size {
	var out []size
	for _, r := range rungs {
		out = append(out, size{r.Name, r.Width, r.Height})
	}
	return out
}

func TestLadder(t *testing.T) {
	anamorphic := probe(1440, 1080, 25, 1, true)
	anamorphic.SARNum, anamorphic.SARDen = 4, 3
	pal := probe(720, 576, 25, 1, true)
	pal.SARNum, pal.SARDen = 16, 15 // 4:3 PAL DVD: shown as 768x576
	rotated := probe(1920, 1080, 30, 1, true)
	rotated.Rotation = 270
	for _, tc := range []struct {
		name string
		p    *Probe
		want []size
	}{
		{"1080p", probe(1920, 1080, 30, 1, true), []size{{"1080p", 1920, 1080}, {"720p", 1280, 720}, {"480p", 854, 480}, {"360p", 640, 360}, {"240p", 426, 240}}},
		{"4K capped", probe(3840, 2160, 30, 1, true), []size{{"1080p", 1920, 1080}, {"720p", 1280, 720}, {"480p", 854, 480}, {"360p", 640, 360}, {"240p", 426, 240}}},
		{"360p", probe(640, 360, 25, 1, true), []size{{"360p", 640, 360}, {"240p", 426, 240}}},
		{"320x240", probe(320, 240, 25, 1, true), []size{{"240p", 320, 240}}},
		{"below 240", probe(320, 180, 25, 1, true), []size{{"180p", 320, 180}}},
		{"odd below 240", probe(213, 119, 25, 1, true), []size{{"118p", 212, 118}}},
		{"portrait", probe(1080, 1920, 30, 1, true), []size{{"1080p", 1080, 1920}, {"720p", 720, 1280}, {"480p", 480, 854}, {"360p", 360, 640}, {"240p", 240, 426}}},
		{"odd 853x479", probe(853, 479, 25, 1, true), []size{{"360p", 642, 360}, {"240p", 428, 240}}},
		{"854x480 no upscale", probe(853, 480, 25, 1, true), []size{{"480p", 852, 480}, {"360p", 640, 360}, {"240p", 426, 240}}},
		{"anamorphic", anamorphic, []size{{"1080p", 1920, 1080}, {"720p", 1280, 720}, {"480p", 854, 480}, {"360p", 640, 360}, {"240p", 426, 240}}},
		{"PAL 4:3", pal, []size{{"480p", 640, 480}, {"360p", 480, 360}, {"240p", 320, 240}}},
		{"rotated 270", rotated, []size{{"1080p", 1080, 1920}, {"720p", 720, 1280}, {"480p", 480, 854}, {"360p", 360, 640}, {"240p", 240, 426}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ladderSizes(Ladder(tc.p, DefaultConfig()))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, s := range got {
				if s.w%2 != 0 || s.h%2 != 0 {
					t.Errorf("%v: odd dimension", s)
				}
			}
		})
	}
}

func TestLadderBitrates(t *testing.T) {
	cfg := DefaultConfig()
	r30 := Ladder(probe(1920, 1080, 30000, 1001, true), cfg)
	r50 := Ladder(probe(1920, 1080, 50, 1, true), cfg)
	silent := Ladder(probe(1920, 1080, 25, 1, false), cfg)
	for i, r := range r30 {
		spec := DefaultRungs()[i]
		if r.VideoBitrate != spec.VideoKbps*1000 || r.MaxBitrate != spec.MaxKbps*1000 || r.BufSize != 2*r.MaxBitrate {
			t.Errorf("%s at 29.97 fps: %+v, want the table's %+v", r.Name, r, spec)
		}
		if r.AudioBitrate != spec.AudioKbps*1000 {
			t.Errorf("%s: audio %d", r.Name, r.AudioBitrate)
		}
		if r50[i].VideoBitrate != r.VideoBitrate*3/2 || r50[i].MaxBitrate != r.MaxBitrate*3/2 {
			t.Errorf("%s at 50 fps: %d/%d, want 1.5x %d/%d", r.Name, r50[i].VideoBitrate, r50[i].MaxBitrate, r.VideoBitrate, r.MaxBitrate)
		}
		if r50[i].FrameRate != 50 || fmt.Sprintf("%.3f", r.FrameRate) != "29.970" {
			t.Errorf("frame rates %v, %v", r50[i].FrameRate, r.FrameRate)
		}
		if silent[i].AudioBitrate != 0 {
			t.Errorf("silent %s: audio %d", r.Name, silent[i].AudioBitrate)
		}
	}
	if got := Ladder(probe(1280, 720, 120, 1, true), cfg)[0].FrameRate; got != 60 {
		t.Errorf("120 fps source encoded at %v fps, want 60", got)
	}
	small := Ladder(probe(320, 180, 25, 1, true), cfg)[0]
	if small.VideoBitrate >= 365000 || small.VideoBitrate < 100000 {
		t.Errorf("180p bitrate %d: want the 240p one scaled by area", small.VideoBitrate)
	}
	// The table is configuration.
	cfg.Rungs = []RungSpec{{Name: "low", Height: 200, VideoKbps: 300, MaxKbps: 400, AudioKbps: 64}}
	if got := ladderSizes(Ladder(probe(1920, 1080, 25, 1, true), cfg)); fmt.Sprint(got) != "[{low 356 200}]" {
		t.Errorf("custom ladder: %v", got)
	}
}
