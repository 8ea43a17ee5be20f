package ffmpeg

import (
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func TestParseProbe(t *testing.T) {
	// An audio file with cover art, then an iPhone-style rotated video
	// with the cover first, then anamorphic DV, then an image.
	for _, tc := range []struct {
		name, json string
		check      func(*testing.T, *Probe)
		err        string
	}{
		{name: "cover art only", json: `{"streams":[{"index":0,"codec_type":"audio","codec_name":"mp3"},
			{"index":1,"codec_type":"video","codec_name":"mjpeg","width":500,"height":500,"disposition":{"attached_pic":1}}],
			"format":{"format_name":"mp3","duration":"180.0"}}`, err: "only audio"},
		{name: "nothing", json: `{"streams":[],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2"}}`, err: "no video track"},
		{name: "rotated", json: `{"streams":[
			{"index":0,"codec_type":"video","codec_name":"mjpeg","width":300,"height":300,"disposition":{"attached_pic":1}},
			{"index":1,"codec_type":"video","codec_name":"h264","width":1920,"height":1080,"sample_aspect_ratio":"1:1",
			 "avg_frame_rate":"30000/1001","r_frame_rate":"30000/1001","nb_frames":"300",
			 "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},
			{"index":2,"codec_type":"audio","codec_name":"aac","channels":2}],
			"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"10.010000","size":"1234"}}`,
			check: func(t *testing.T, p *Probe) {
				w, h := p.DisplaySize()
				if p.VideoIndex != 1 || p.AudioIndex != 2 || p.Rotation != 270 || w != 1080 || h != 1920 ||
					p.Frames != 300 || p.Duration != 10010*time.Millisecond || p.VariableFrameRate || p.Size != 1234 {
					t.Errorf("%+v, display %dx%d", p, w, h)
				}
			}},
		{name: "legacy rotate tag", json: `{"streams":[{"index":0,"codec_type":"video","codec_name":"h264","width":640,"height":480,
			"avg_frame_rate":"25/1","tags":{"rotate":"90"}}],"format":{"format_name":"mov","duration":"1"}}`,
			check: func(t *testing.T, p *Probe) {
				if w, h := p.DisplaySize(); w != 480 || h != 640 || p.HasAudio() {
					t.Errorf("%+v", p)
				}
			}},
		{name: "anamorphic vfr interlaced", json: `{"streams":[{"index":0,"codec_type":"video","codec_name":"dvvideo","width":720,"height":576,
			"sample_aspect_ratio":"64:45","field_order":"bb","avg_frame_rate":"2997/100","r_frame_rate":"90000/1"}],"format":{"format_name":"avi","duration":"5"}}`,
			check: func(t *testing.T, p *Probe) {
				if w, h := p.DisplaySize(); w != 1024 || h != 576 || !p.Interlaced || !p.VariableFrameRate || p.FrameRate() != 29.97 {
					t.Errorf("%+v display %dx%d", p, w, h)
				}
			}},
		{name: "png", json: `{"streams":[{"index":0,"codec_type":"video","codec_name":"png","width":64,"height":48,"avg_frame_rate":"0/0","r_frame_rate":"25/1"}],
			"format":{"format_name":"png_pipe"}}`, err: "still image"},
		{name: "jpeg via image2", json: `{"streams":[{"index":0,"codec_type":"video","codec_name":"mjpeg","width":64,"height":48,"r_frame_rate":"25/1"}],
			"format":{"format_name":"image2","duration":"0.040000"}}`, err: "still image"},
		{name: "hls playlist", json: `{"streams":[],"format":{"format_name":"hls"}}`, err: "not a video"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseProbe([]byte(tc.json))
			if tc.err != "" {
				wantInvalid(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

// wantInvalid checks err is EINVALID with a message containing substr.
func wantInvalid(t *testing.T, err error, substr string) {
	t.Helper()
	if ginflix.ErrorCode(err) != ginflix.EINVALID {
		t.Fatalf("got %v (code %q), want EINVALID", err, ginflix.ErrorCode(err))
	}
	if msg := ginflix.ErrorMessage(err); !containsFold(msg, substr) {
		t.Fatalf("message %q does not say %q", msg, substr)
	}
}

func TestProbeLimits(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name string
		edit func(*Probe)
		err  string
	}{
		{"ok", func(*Probe) {}, ""},
		{"too wide", func(p *Probe) { p.Width = 9000 }, "between 16 and 8192 pixels"},
		{"too small", func(p *Probe) { p.Width, p.Height = 8, 8 }, "8x8 pixels"},
		{"stretched too wide", func(p *Probe) { p.Width, p.SARNum, p.SARDen = 8000, 2, 1 }, "16000x1080"},
		{"no duration", func(p *Probe) { p.Duration = 0 }, "no duration"},
		{"too long", func(p *Probe) { p.Duration = 13*time.Hour + 20*time.Minute }, "lasts 13 h 20 min; the limit is 12 h"},
		{"no frame rate", func(p *Probe) { p.FrameRateNum = 0 }, "no frame rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := probe(1920, 1080, 25, 1, true)
			tc.edit(p)
			err := p.check(cfg.withDefaults())
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantInvalid(t, err, tc.err)
		})
	}
}

func TestToolMessage(t *testing.T) {
	stderr := "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0c0a1b2c0] stream 0, offset 0x49507: partial file\n[h264 @ 0x5613d7a69400] Invalid NAL unit size (3537 > 3483).\n\n"
	if got := toolMessage(stderr); got != "Invalid NAL unit size (3537 > 3483)" {
		t.Errorf("got %q", got)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Second: "12 s", 1500 * time.Millisecond: "2 s", 185 * time.Second: "3 min 05 s",
		12 * time.Hour: "12 h", 13*time.Hour + 5*time.Minute: "13 h 05 min",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	for in, want := range map[int]int{0: 0, 90: 90, -90: 270, 270: 270, -180: 180, 360: 0, 89: 90} {
		if got := normaliseRotation(in); got != want {
			t.Errorf("rotation %d: %d, want %d", in, got, want)
		}
	}
}
