package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/ginflix/ginflix/ffmpeg"
)

// handwritten is baseline (a): the one FFmpeg command an expert would type
// for the 1080p HLS ladder of a 16:9, 30 fps source with one audio track,
// written out by hand rather than produced by ffmpeg.HLSArgs. It decodes
// once, splits into five scalers and five libx264 encoders (High profile,
// keyframes forced every 4 s and no scene-cut keyframes, so that segments
// line up across rungs), encodes the audio once per variant, and writes
// fMP4 HLS with 4 s segments, one directory per rung and a master playlist.
//
// The bitrates are Apple's HLS authoring table, as ffmpeg.DefaultRungs has
// them: average, peak (maxrate) and a VBV buffer of two seconds of peak.
// checkHandwritten verifies at run time that they are the ladder
// ffmpeg.Ladder derives for the generated source.
//
// Shell equivalent:
//
//	ffmpeg -y -nostdin -hide_banner -v error -i source.mp4 \
//	  -filter_complex "[0:v:0]split=5[v0][v1][v2][v3][v4];
//	    [v0]scale=1920:1080,format=yuv420p,setsar=1[o0];
//	    [v1]scale=1280:720,format=yuv420p,setsar=1[o1];
//	    [v2]scale=854:480,format=yuv420p,setsar=1[o2];
//	    [v3]scale=640:360,format=yuv420p,setsar=1[o3];
//	    [v4]scale=426:240,format=yuv420p,setsar=1[o4]" \
//	  -map "[o0]" -map 0:a:0 -map "[o1]" -map 0:a:0 -map "[o2]" -map 0:a:0 \
//	  -map "[o3]" -map 0:a:0 -map "[o4]" -map 0:a:0 \
//	  -map_metadata -1 -map_chapters -1 \
//	  -c:v libx264 -profile:v high -preset veryfast \
//	  -sc_threshold 0 -g 120 -force_key_frames "expr:gte(t,n_forced*4)" \
//	  -b:v:0 6000k -maxrate:v:0 7800k -bufsize:v:0 15600k \
//	  -b:v:1 3000k -maxrate:v:1 4500k -bufsize:v:1 9000k \
//	  -b:v:2 1100k -maxrate:v:2 2000k -bufsize:v:2 4000k \
//	  -b:v:3  730k -maxrate:v:3 1100k -bufsize:v:3 2200k \
//	  -b:v:4  365k -maxrate:v:4  730k -bufsize:v:4 1460k \
//	  -c:a aac -profile:a aac_low -ac 2 -ar 48000 \
//	  -b:a:0 128k -b:a:1 128k -b:a:2 128k -b:a:3 96k -b:a:4 96k \
//	  -max_muxing_queue_size 4096 \
//	  -f hls -hls_time 4 -hls_playlist_type vod -hls_segment_type fmp4 \
//	  -hls_flags independent_segments -hls_fmp4_init_filename "init_%v.mp4" \
//	  -hls_segment_filename "out/%v/seg_%05d.m4s" -master_pl_name master.m3u8 \
//	  -var_stream_map "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p v:4,a:4,name:240p" \
//	  "out/%v/index.m3u8"
func handwritten(input, outDir, preset string) []string {
	return []string{
		"-y", "-nostdin", "-hide_banner", "-v", "error",
		"-i", input,
		"-filter_complex", "[0:v:0]split=5[v0][v1][v2][v3][v4];" +
			"[v0]scale=1920:1080,format=yuv420p,setsar=1[o0];" +
			"[v1]scale=1280:720,format=yuv420p,setsar=1[o1];" +
			"[v2]scale=854:480,format=yuv420p,setsar=1[o2];" +
			"[v3]scale=640:360,format=yuv420p,setsar=1[o3];" +
			"[v4]scale=426:240,format=yuv420p,setsar=1[o4]",
		"-map", "[o0]", "-map", "0:a:0",
		"-map", "[o1]", "-map", "0:a:0",
		"-map", "[o2]", "-map", "0:a:0",
		"-map", "[o3]", "-map", "0:a:0",
		"-map", "[o4]", "-map", "0:a:0",
		"-map_metadata", "-1", "-map_chapters", "-1",

		"-c:v", "libx264", "-profile:v", "high", "-preset", preset,
		"-sc_threshold", "0", "-g", "120", "-force_key_frames", "expr:gte(t,n_forced*4)",
		"-b:v:0", "6000k", "-maxrate:v:0", "7800k", "-bufsize:v:0", "15600k",
		"-b:v:1", "3000k", "-maxrate:v:1", "4500k", "-bufsize:v:1", "9000k",
		"-b:v:2", "1100k", "-maxrate:v:2", "2000k", "-bufsize:v:2", "4000k",
		"-b:v:3", "730k", "-maxrate:v:3", "1100k", "-bufsize:v:3", "2200k",
		"-b:v:4", "365k", "-maxrate:v:4", "730k", "-bufsize:v:4", "1460k",

		"-c:a", "aac", "-profile:a", "aac_low", "-ac", "2", "-ar", "48000",
		"-b:a:0", "128k", "-b:a:1", "128k", "-b:a:2", "128k", "-b:a:3", "96k", "-b:a:4", "96k",

		"-max_muxing_queue_size", "4096",

		"-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
		"-hls_fmp4_init_filename", "init_%v.mp4",
		"-hls_segment_filename", outDir + "/%v/seg_%05d.m4s",
		"-master_pl_name", "master.m3u8",
		"-var_stream_map", "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p v:4,a:4,name:240p",
		outDir + "/%v/index.m3u8",
	}
}

// checkHandwritten reports how the hand-written command differs from the
// ladder the pipeline derives for the source (rungs, from ffmpeg.Ladder),
// so that (a) is never compared with a different encode: the rung count,
// sizes, bitrates, GOP, segment length and preset must all match.
func checkHandwritten(args []string, rungs []ffmpeg.Rung, probe *ffmpeg.Probe, cfg ffmpeg.Config) error {
	opt := map[string]string{}
	for i := 0; i+1 < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			opt[args[i]] = args[i+1]
		}
	}
	var diffs []string
	want := func(name, got, exp string) {
		if got != exp {
			diffs = append(diffs, fmt.Sprintf("%s is %q, the pipeline uses %q", name, got, exp))
		}
	}
	wantRate := func(name string, exp int) {
		got, err := parseRate(opt[name])
		if err != nil || got != exp {
			diffs = append(diffs, fmt.Sprintf("%s is %q, the pipeline uses %d", name, opt[name], exp))
		}
	}
	graph := opt["-filter_complex"]
	if m := regexp.MustCompile(`split=(\d+)`).FindStringSubmatch(graph); m == nil || m[1] != strconv.Itoa(len(rungs)) {
		return fmt.Errorf("the hand-written command (a) is written for the 5-rung ladder of a 16:9 30 fps source of 1080 lines or more; "+
			"this source's ladder has %d rungs", len(rungs))
	}
	for i, r := range rungs {
		s := strconv.Itoa(i)
		if !strings.Contains(graph, fmt.Sprintf("[v%d]scale=%d:%d,", i, r.Width, r.Height)) {
			diffs = append(diffs, fmt.Sprintf("rung %d is not scaled to %dx%d", i, r.Width, r.Height))
		}
		if !strings.Contains(opt["-var_stream_map"], "name:"+r.Name) {
			diffs = append(diffs, fmt.Sprintf("no variant named %s", r.Name))
		}
		wantRate("-b:v:"+s, r.VideoBitrate)
		wantRate("-maxrate:v:"+s, r.MaxBitrate)
		wantRate("-bufsize:v:"+s, r.BufSize)
		if probe.HasAudio() {
			wantRate("-b:a:"+s, r.AudioBitrate)
		}
	}
	seg := cfg.SegmentSeconds
	gop := int(math.Ceil(float64(seg) * float64(probe.FrameRateNum) / float64(probe.FrameRateDen)))
	want("-g", opt["-g"], strconv.Itoa(gop))
	want("-hls_time", opt["-hls_time"], strconv.Itoa(seg))
	want("-force_key_frames", opt["-force_key_frames"], fmt.Sprintf("expr:gte(t,n_forced*%d)", seg))
	want("-preset", opt["-preset"], cfg.Preset)
	want("-ar", opt["-ar"], strconv.Itoa(cfg.AudioSampleRate))
	if len(diffs) > 0 {
		return fmt.Errorf("the hand-written command (a) is written for a 16:9 30 fps source of 1080 lines or more, "+
			"and does not match this source's ladder: %s", strings.Join(diffs, "; "))
	}
	return nil
}

// parseRate reads an FFmpeg bitrate: "6000k", "6M" or "6000000".
func parseRate(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1000, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1000000, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.Atoi(s)
	return n * mult, err
}
