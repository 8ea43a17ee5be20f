package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Names of what Transcode writes in outDir: one directory per rung, named
// after it, holding InitName, SegmentPattern files and PlaylistName, and
// MasterName at the top.
const (
	MasterName     = "master.m3u8"
	PlaylistName   = "index.m3u8"
	InitName       = "init.mp4"
	SegmentPattern = "seg_%05d.m4s"
)

// HLSArgs returns the arguments of the one FFmpeg invocation that encodes
// every rung: the source is decoded once and split into one scaler and one
// libx264 encoder per rung, which costs 0.74–0.77x the CPU of one run per
// rung (measured, DESIGN.md). Keyframes are forced every SegmentSeconds
// of presentation time, the same frames in every rung, and scene-cut
// keyframes are off: segments then start at the same instants everywhere
// and players switch rungs cleanly.
func HLSArgs(input, outDir string, rungs []Rung, probe *Probe, cfg Config) []string {
	cfg = cfg.withDefaults()
	seg := cfg.SegmentSeconds
	num, den, rateFilter := outputRate(probe, cfg)

	// The filter graph: optional deinterlace and rate, split, then a
	// scale per rung to square pixels in 4:2:0 (High profile, 8 bits).
	var pre []string
	if probe.Interlaced {
		pre = append(pre, "yadif=mode=send_frame:parity=auto:deint=all")
	}
	if rateFilter {
		pre = append(pre, fmt.Sprintf("fps=%d/%d", num, den))
	}
	var g strings.Builder
	fmt.Fprintf(&g, "[0:%d]", probe.VideoIndex)
	for _, f := range pre {
		g.WriteString(f + ",")
	}
	fmt.Fprintf(&g, "split=%d", len(rungs))
	for i := range rungs {
		fmt.Fprintf(&g, "[v%d]", i)
	}
	for i, r := range rungs {
		fmt.Fprintf(&g, ";[v%d]scale=%d:%d,format=yuv420p,setsar=1[o%d]", i, r.Width, r.Height, i)
	}

	args := []string{"-y"}
	args = append(args, inputArgs()...)
	args = append(args, "-progress", "pipe:1", "-nostats")
	if cfg.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(cfg.Threads))
	}
	args = append(args, "-i", fileURL(input), "-filter_complex", g.String())
	audio := probe.HasAudio()
	for i := range rungs {
		args = append(args, "-map", fmt.Sprintf("[o%d]", i))
		if audio {
			// Each variant gets its own audio copy: muxed segments are
			// what every HLS player handles.
			args = append(args, "-map", fmt.Sprintf("0:%d", probe.AudioIndex))
		}
	}
	// Source metadata may hold a phone's GPS position: do not publish it.
	args = append(args, "-map_metadata", "-1", "-map_chapters", "-1")

	gop := int(math.Ceil(float64(seg) * float64(num) / float64(den)))
	args = append(args,
		"-c:v", "libx264", "-profile:v", "high", "-preset", cfg.Preset,
		"-sc_threshold", "0", "-g", strconv.Itoa(gop),
		"-force_key_frames", fmt.Sprintf("expr:gte(t,n_forced*%d)", seg),
	)
	for i, r := range rungs {
		s := strconv.Itoa(i)
		args = append(args,
			"-b:v:"+s, strconv.Itoa(r.VideoBitrate),
			"-maxrate:v:"+s, strconv.Itoa(r.MaxBitrate),
			"-bufsize:v:"+s, strconv.Itoa(r.BufSize),
		)
	}
	if audio {
		args = append(args, "-c:a", "aac", "-profile:a", "aac_low",
			"-ac", "2", "-ar", strconv.Itoa(cfg.AudioSampleRate))
		for i, r := range rungs {
			args = append(args, "-b:a:"+strconv.Itoa(i), strconv.Itoa(r.AudioBitrate))
		}
	}
	// Many encoders with lookahead buffer packets before the muxer gets
	// any: the default queue of 128 packets can overflow.
	args = append(args, "-max_muxing_queue_size", "4096")

	var vsm []string
	for i, r := range rungs {
		if audio {
			vsm = append(vsm, fmt.Sprintf("v:%d,a:%d,name:%s", i, i, r.Name))
		} else {
			vsm = append(vsm, fmt.Sprintf("v:%d,name:%s", i, r.Name))
		}
	}
	// FFmpeg 5.1 names the init segment init.mp4 with one variant and
	// appends a suffix with several; Transcode renames it to InitName.
	initName := InitName
	if len(rungs) > 1 {
		initName = "init_%v.mp4"
	}
	args = append(args,
		"-f", "hls",
		"-hls_time", strconv.Itoa(seg),
		"-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4",
		"-hls_flags", "independent_segments",
		"-hls_fmp4_init_filename", initName,
		"-hls_segment_filename", filepath.Join(outDir, "%v", SegmentPattern),
		"-master_pl_name", MasterName,
		"-var_stream_map", strings.Join(vsm, " "),
		filepath.Join(outDir, "%v", PlaylistName),
	)
	return args
}

// Transcode encodes input into the HLS ladder in outDir (see HLSArgs),
// reporting the fraction done to progress (which may be nil; it is called
// from one goroutine, never after Transcode returns), then
// replaces FFmpeg's master playlist with MasterPlaylist's from the measured
// output. Call Results for the renditions to record.
//
// Cancelling ctx kills FFmpeg and its process group. A failing FFmpeg gives
// a *RunError holding the end of its stderr: a plain error, worth a retry,
// since the file passed Validate.
func Transcode(ctx context.Context, cfg Config, input, outDir string, probe *Probe, rungs []Rung, progress func(float64)) error {
	cfg = cfg.withDefaults()
	if len(rungs) == 0 {
		return errors.New("transcode: no rungs")
	}
	for _, r := range rungs {
		if err := os.MkdirAll(filepath.Join(outDir, r.Name), 0o755); err != nil {
			return err
		}
	}
	if progress == nil {
		progress = func(float64) {}
	}
	args := HLSArgs(input, outDir, rungs, probe, cfg)
	_, err := run(ctx, cfg.FFmpegPath, args, func(r io.Reader) {
		_ = ParseProgress(r, probe.Duration, progress)
	})
	if err != nil {
		return fmt.Errorf("transcode: %w", err)
	}
	for _, r := range rungs {
		if err := normalizeInit(filepath.Join(outDir, r.Name)); err != nil {
			return fmt.Errorf("transcode: %w", err)
		}
	}
	results, err := Results(outDir, rungs)
	if err != nil {
		return fmt.Errorf("transcode: %w", err)
	}
	return writeFileAtomic(filepath.Join(outDir, MasterName), MasterPlaylist(results))
}

// writeFileAtomic writes through a temporary file and a rename, so that a
// reader sees the old file or the new one, never half of it.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
