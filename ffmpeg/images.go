package ffmpeg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// posterCandidates is how many frames the thumbnail filter compares.
// It holds them all in memory, at poster size: 20 of 1280x720 are ~28 MB.
const posterCandidates = 20

// posterWindow is how much of the video the candidates are spread over.
const posterWindow = 10 * time.Second

// darkLuma is the mean luma (0-255) below which a poster is "black".
const darkLuma = 24

// Poster writes a representative frame of input as a JPEG to outJPEG and,
// when outWebP is not "", as a WebP. The thumbnail filter picks, among
// frames spread over a window starting 10 % into the video (past fades
// from black and logos), the one closest to their average colours. If that
// frame is still dark, later windows are tried, and the brightest is kept.
func Poster(ctx context.Context, cfg Config, input string, probe *Probe, outJPEG, outWebP string) error {
	cfg = cfg.withDefaults()
	dw, dh := probe.DisplaySize()
	w, h := rungSize(dw, dh, min(dw, dh, cfg.PosterHeight)&^1)
	dur := probe.Duration
	best, bestLuma := time.Duration(-1), -1.0
	var last time.Duration
	for _, at := range []float64{0.10, 0.35, 0.60, 0.85} {
		start := time.Duration(float64(dur) * at)
		last = start
		if err := posterAt(ctx, cfg, input, probe, start, w, h, outJPEG, outWebP); err != nil {
			return err
		}
		l, err := meanLuma(outJPEG)
		if err != nil {
			return err
		}
		if l >= darkLuma {
			return nil
		}
		if l > bestLuma {
			best, bestLuma = start, l
		}
	}
	if best != last {
		return posterAt(ctx, cfg, input, probe, best, w, h, outJPEG, outWebP)
	}
	return nil
}

func posterAt(ctx context.Context, cfg Config, input string, probe *Probe, start time.Duration, w, h int, outJPEG, outWebP string) error {
	window := min(posterWindow, probe.Duration-start)
	if window <= 0 {
		window = time.Second
	}
	rate := posterCandidates / window.Seconds()
	graph := fmt.Sprintf("[0:%d]fps=%s,scale=%d:%d,setsar=1,thumbnail=%d",
		probe.VideoIndex, strconv.FormatFloat(rate, 'f', 4, 64), w, h, posterCandidates)
	if outWebP != "" {
		graph += ",split=2[jpg][webp]"
	} else {
		graph += "[jpg]"
	}
	args := append([]string{"-y"}, inputArgs()...)
	// -ss before -i seeks in the demuxer: no decoding of what is skipped.
	args = append(args, "-ss", seconds3(start), "-t", seconds3(window), "-i", fileURL(input),
		"-filter_complex", graph,
		"-map", "[jpg]", "-frames:v", "1", "-q:v", "2", "-update", "1", outJPEG)
	if outWebP != "" {
		args = append(args, "-map", "[webp]", "-frames:v", "1", "-c:v", "libwebp", "-quality", "80", "-update", "1", outWebP)
	}
	if _, err := run(ctx, cfg.FFmpegPath, args, nil); err != nil {
		return fmt.Errorf("poster: %w", err)
	}
	return nil
}

// HasEncoder reports whether ffmpeg has the named encoder, e.g. "libwebp"
// (Debian's FFmpeg 5.1 has it; a minimal build may not, and then Poster
// should be called without a WebP path).
func HasEncoder(ctx context.Context, cfg Config, name string) (bool, error) {
	cfg = cfg.withDefaults()
	out, err := run(ctx, cfg.FFmpegPath, []string{"-hide_banner", "-nostdin", "-encoders"}, nil)
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		// " V....D libwebp              libwebp WebP image (codec webp)"
		if f := strings.Fields(line); len(f) >= 2 && f[1] == name {
			return true, nil
		}
	}
	return false, nil
}

// meanLuma returns the mean luma of a JPEG, sampling every 4th pixel.
func meanLuma(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return 0, fmt.Errorf("poster %s: %w", path, err)
	}
	return MeanLuma(img), nil
}

// MeanLuma returns the mean luma (0-255) of img, sampling every 4th pixel
// of every 4th row.
func MeanLuma(img image.Image) float64 {
	b := img.Bounds()
	var sum, n float64
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			if yc, ok := img.(*image.YCbCr); ok {
				sum += float64(yc.Y[yc.YOffset(x, y)])
			} else {
				sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			}
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// StoryboardInterval is the time between two storyboard thumbnails: every
// 2 s, or duration/100 rounded up to a whole second for longer videos,
// so that a storyboard has at most about 100 tiles (one 10x10 sheet).
func StoryboardInterval(duration time.Duration) time.Duration {
	return max(2*time.Second, (duration/100 + time.Second - 1).Truncate(time.Second))
}

// Storyboard makes the seek-preview storyboard of input: a thumbnail every
// StoryboardInterval, tiled into JPEG sheets sprite_0.jpg, sprite_1.jpg...
// in outDir, and the WebVTT thumbnails track whose cues point into them
// ("sprite_0.jpg#xywh=160,0,160,90", relative URLs). It returns the track
// and the sheets' paths; writing the track is the caller's.
//
// Give it the smallest rung's media playlist rather than the source: it
// decodes the whole video, and a 240p rung decodes ~10x faster than a
// 1080p source (DESIGN.md).
func Storyboard(ctx context.Context, cfg Config, input string, duration time.Duration, outDir string) (vtt []byte, sprites []string, err error) {
	cfg = cfg.withDefaults()
	if duration <= 0 {
		return nil, nil, errors.New("storyboard: no duration")
	}
	interval := StoryboardInterval(duration)
	expected := int(math.Ceil(duration.Seconds() / interval.Seconds()))
	// A short video gets a small sheet, not 100 black tiles.
	cols := min(cfg.StoryboardColumns, expected)
	rows := min(cfg.StoryboardRows, (expected+cols-1)/cols)
	perSheet := cols * rows

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, nil, err
	}
	// Two outputs: a null one first, whose frame count (-progress "frame=",
	// reported for the first video output) is the number of thumbnails
	// actually taken; then the sheets. eof_action=pass takes a last
	// thumbnail for a last partial interval, as the cues expect.
	graph := fmt.Sprintf("[0:v:0]fps=1/%d:eof_action=pass,scale=%d:-2,setsar=1,split=2[count][tiles];[tiles]tile=%dx%d[sheets]",
		int(interval/time.Second), cfg.StoryboardTileWidth, cols, rows)
	args := append([]string{"-y"}, inputArgs()...)
	args = append(args, "-progress", "pipe:1", "-nostats",
		"-i", fileURL(input), "-filter_complex", graph,
		"-map", "[count]", "-f", "null", "-",
		"-map", "[sheets]", "-fps_mode", "passthrough", "-q:v", "5", "-start_number", "0",
		filepath.Join(outDir, "sprite_%d.jpg"))
	var frames int
	_, err = run(ctx, cfg.FFmpegPath, args, func(r io.Reader) {
		_ = readProgress(r, func(b progressBlock) { frames = b.frame })
	})
	if err != nil {
		return nil, nil, fmt.Errorf("storyboard: %w", err)
	}
	if frames == 0 {
		return nil, nil, errors.New("storyboard: no thumbnails")
	}
	sheets := (frames + perSheet - 1) / perSheet
	for i := range sheets {
		p := filepath.Join(outDir, fmt.Sprintf("sprite_%d.jpg", i))
		if _, err := os.Stat(p); err != nil {
			return nil, nil, fmt.Errorf("storyboard: %w", err)
		}
		sprites = append(sprites, p)
	}
	// The tile size comes from the sheet itself: scale=W:-2 picks the
	// height from the aspect ratio.
	tw, th, err := tileSize(sprites[0], cols, rows)
	if err != nil {
		return nil, nil, err
	}
	return storyboardVTT(frames, interval, duration, cols, rows, tw, th), sprites, nil
}

func tileSize(sheet string, cols, rows int) (w, h int, err error) {
	f, err := os.Open(sheet)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	c, err := jpeg.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("storyboard %s: %w", sheet, err)
	}
	return c.Width / cols, c.Height / rows, nil
}

// storyboardVTT writes the WebVTT track of n tiles: cue i covers
// [i*interval, (i+1)*interval), the last one ends at duration.
func storyboardVTT(n int, interval, duration time.Duration, cols, rows, tw, th int) []byte {
	var b bytes.Buffer
	b.WriteString("WEBVTT\n")
	perSheet := cols * rows
	for i := range n {
		start := time.Duration(i) * interval
		if start >= duration {
			break
		}
		end := min(start+interval, duration)
		if i == n-1 {
			end = duration
		}
		pos := i % perSheet
		fmt.Fprintf(&b, "\n%s --> %s\nsprite_%d.jpg#xywh=%d,%d,%d,%d\n",
			vttTime(start), vttTime(end), i/perSheet, pos%cols*tw, pos/cols*th, tw, th)
	}
	return b.Bytes()
}

// vttTime formats d as WebVTT's HH:MM:SS.mmm.
func vttTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// seconds3 formats d in seconds with millisecond precision, for -ss and -t.
func seconds3(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
