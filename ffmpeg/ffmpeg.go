// Package ffmpeg turns an uploaded file into what Ginflix streams: it
// validates the source (ffprobe plus a full decode), derives the HLS ladder,
// transcodes every rung in one FFmpeg pass, measures the output to write the
// master playlist, and makes the poster and the seek-preview storyboard.
//
// It drives the ffmpeg and ffprobe executables (Debian's FFmpeg 5.1) with
// exec, never through a shell. Errors caused by the file itself are
// *ginflix.Error with code EINVALID and an admin-readable message (retrying
// cannot help); any other error is an infrastructure failure worth a retry.
package ffmpeg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// RungSpec is one line of the ladder table: a rung named by its short side
// and the bitrates it is encoded at (for ≤ 30 fps; see Config.HighFrameRate).
type RungSpec struct {
	Name      string // "720p"
	Height    int    // short side in pixels: the height of a landscape video
	VideoKbps int    // average video bitrate, kb/s
	MaxKbps   int    // VBV peak (maxrate), kb/s
	AudioKbps int    // AAC bitrate, kb/s
}

// DefaultRungs is the default ladder, highest first.
//
// Source: Apple, "HLS Authoring Specification for Apple Devices", table
// "Video average bit rate (kb/s)" (H.264, 16:9), whose rows are
//
//	416x234 145, 480x270 365, 640x360 730, 768x432 1100, 960x540 2000,
//	1280x720 3000, 1280x720 4500, 1920x1080 6000, 1920x1080 7800.
//
// Each rung takes the row at or just below its size as its average and the
// next row up as its peak, which keeps the peak within the spec's 200 % of
// the average for VOD. 480p, between the 432 and 540 rows, takes both.
func DefaultRungs() []RungSpec {
	return []RungSpec{
		{Name: "1080p", Height: 1080, VideoKbps: 6000, MaxKbps: 7800, AudioKbps: 128},
		{Name: "720p", Height: 720, VideoKbps: 3000, MaxKbps: 4500, AudioKbps: 128},
		{Name: "480p", Height: 480, VideoKbps: 1100, MaxKbps: 2000, AudioKbps: 128},
		{Name: "360p", Height: 360, VideoKbps: 730, MaxKbps: 1100, AudioKbps: 96},
		{Name: "240p", Height: 240, VideoKbps: 365, MaxKbps: 730, AudioKbps: 96},
	}
}

// Config says where the tools are and how to encode. The zero value of a
// field means its default (see DefaultConfig), so a partly filled Config
// from a configuration file works.
type Config struct {
	FFmpegPath  string // "ffmpeg"
	FFprobePath string // "ffprobe"
	// Preset is the libx264 preset. veryfast is the measured compromise of
	// DESIGN.md; slower presets give smaller files for more CPU.
	Preset string
	// SegmentSeconds is the HLS segment duration and the GOP length.
	SegmentSeconds int
	// MaxHeight caps the top rung's short side (1080: no 4K rung).
	MaxHeight int
	// Rungs is the ladder table, any order.
	Rungs []RungSpec
	// Above HighFrameRate fps, bitrates are multiplied by
	// HighFrameRateFactor: twice the frames need more bits, but not twice,
	// since consecutive frames differ less.
	HighFrameRate       float64 // 30
	HighFrameRateFactor float64 // 1.5
	// MaxFrameRate: faster sources are halved until at or below it
	// (Apple: "frame rates above 60 fps SHALL NOT be used").
	MaxFrameRate    float64 // 60
	AudioSampleRate int     // 48000
	// Sources outside these bounds are refused.
	MinDimension int           // 16 pixels a side
	MaxDimension int           // 8192 pixels a side
	MaxDuration  time.Duration // 12 h
	// Threads passed to ffmpeg; 0 lets it use every core.
	Threads int
	// PosterHeight caps the poster's short side.
	PosterHeight int // 720
	// Storyboard tiles are TileWidth wide, in sheets of Columns x Rows.
	StoryboardTileWidth int // 160
	StoryboardColumns   int // 10
	StoryboardRows      int // 10
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		FFmpegPath:          "ffmpeg",
		FFprobePath:         "ffprobe",
		Preset:              "veryfast",
		SegmentSeconds:      4,
		MaxHeight:           1080,
		Rungs:               DefaultRungs(),
		HighFrameRate:       30,
		HighFrameRateFactor: 1.5,
		MaxFrameRate:        60,
		AudioSampleRate:     48000,
		MinDimension:        16,
		MaxDimension:        8192,
		MaxDuration:         12 * time.Hour,
		PosterHeight:        720,
		StoryboardTileWidth: 160,
		StoryboardColumns:   10,
		StoryboardRows:      10,
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	str := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	num := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	flt := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	str(&c.FFmpegPath, d.FFmpegPath)
	str(&c.FFprobePath, d.FFprobePath)
	str(&c.Preset, d.Preset)
	num(&c.SegmentSeconds, d.SegmentSeconds)
	num(&c.MaxHeight, d.MaxHeight)
	if len(c.Rungs) == 0 {
		c.Rungs = d.Rungs
	}
	flt(&c.HighFrameRate, d.HighFrameRate)
	flt(&c.HighFrameRateFactor, d.HighFrameRateFactor)
	flt(&c.MaxFrameRate, d.MaxFrameRate)
	num(&c.AudioSampleRate, d.AudioSampleRate)
	num(&c.MinDimension, d.MinDimension)
	num(&c.MaxDimension, d.MaxDimension)
	if c.MaxDuration <= 0 {
		c.MaxDuration = d.MaxDuration
	}
	num(&c.PosterHeight, d.PosterHeight)
	num(&c.StoryboardTileWidth, d.StoryboardTileWidth)
	num(&c.StoryboardColumns, d.StoryboardColumns)
	num(&c.StoryboardRows, d.StoryboardRows)
	return c
}

// stderrLimit is how much of a tool's stderr is kept for error messages:
// the end is where FFmpeg says what went wrong.
const stderrLimit = 64 << 10

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// RunError is a tool that ran and failed.
type RunError struct {
	Tool     string // "ffmpeg"
	ExitCode int    // -1 when killed by a signal
	Stderr   string // the last 64 KiB
}

func (e *RunError) Error() string {
	msg := lastLines(e.Stderr, 5)
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("%s exited with status %d: %s", e.Tool, e.ExitCode, msg)
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var out []string
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			out = append([]string{l}, out...)
		}
	}
	return strings.Join(out, " | ")
}

// run executes tool with args, streaming stdout to onStdout when it is not
// nil (reading it to the end) or collecting it otherwise. The tool runs in
// its own process group, killed as a whole when ctx ends, so that no FFmpeg
// outlives a cancelled job.
func run(ctx context.Context, tool string, args []string, onStdout func(io.Reader)) (stdout []byte, err error) {
	cmd := exec.CommandContext(ctx, tool, args...)
	setProcessGroup(cmd)
	// After a kill, do not wait forever for pipes a stray child may hold.
	cmd.WaitDelay = 5 * time.Second
	stderr := &tailBuffer{limit: stderrLimit}
	cmd.Stderr = stderr
	var out bytes.Buffer
	var done chan struct{}
	if onStdout == nil {
		cmd.Stdout = &out
	} else {
		pr, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		done = make(chan struct{})
		go func() {
			defer close(done)
			onStdout(pr)
			_, _ = io.Copy(io.Discard, pr) // keep the tool from blocking on a full pipe
		}()
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", tool, err)
	}
	if done != nil {
		<-done
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s stopped: %w", tool, context.Cause(ctx))
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return out.Bytes(), &RunError{Tool: tool, ExitCode: exitErr.ExitCode(), Stderr: stderr.String()}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, err)
	}
	return out.Bytes(), nil
}

// fileURL names a local path for FFmpeg as a file: URL, so that a name
// that looks like a protocol ("concat:", "http:") or an option is never
// interpreted as one.
func fileURL(path string) string { return "file:" + path }

// inputArgs are the options every FFmpeg read of a local file starts with.
// Only the file protocol is allowed, also for what a demuxer opens on its
// own (an HLS playlist hidden in an upload cannot reach the network).
func inputArgs() []string {
	return append([]string{"-nostdin"}, probeArgs()...)
}

// probeArgs are inputArgs for ffprobe, which has no -nostdin.
func probeArgs() []string {
	return []string{"-hide_banner", "-v", "error", "-protocol_whitelist", "file"}
}

// usageError reports whether a tool's stderr complains about its command
// line rather than its input: that is a bug or a version mismatch here, to
// be retried after a fix, not a reason to reject the file.
func usageError(stderr string) bool {
	for _, s := range []string{"Unrecognized option", "Option not found", "Failed to set value", "Error splitting the argument list"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}
