package ffmpeg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
)

// Probe is what the pipeline needs to know about a source file.
type Probe struct {
	Format   string // demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	Duration time.Duration
	// VideoDuration is the video track's declared duration, 0 when the
	// container declares none (Matroska); it may be shorter than Duration.
	VideoDuration time.Duration
	Size          int64

	VideoIndex int    // absolute stream index of the video track
	VideoCodec string // "h264"
	PixFmt     string
	// Width and Height are the stored picture size, before the sample
	// aspect ratio and the rotation are applied (see DisplaySize).
	Width, Height  int
	SARNum, SARDen int // sample aspect ratio, 1:1 when unknown
	// Rotation of the display matrix (or the legacy rotate tag) in degrees,
	// normalised to 0, 90, 180 or 270. FFmpeg autorotates when decoding.
	Rotation int
	// FrameRateNum/FrameRateDen is the average frame rate.
	FrameRateNum, FrameRateDen int
	// VariableFrameRate is set when the average and the base rates differ.
	VariableFrameRate bool
	Interlaced        bool
	Frames            int // declared number of video frames, 0 when unknown

	AudioIndex    int // absolute stream index of the audio track, -1 when silent
	AudioCodec    string
	AudioChannels int
}

// HasAudio reports whether the source has an audio track.
func (p *Probe) HasAudio() bool { return p.AudioIndex >= 0 }

// FrameRate returns the average frame rate in frames per second.
func (p *Probe) FrameRate() float64 {
	if p.FrameRateDen <= 0 {
		return 0
	}
	return float64(p.FrameRateNum) / float64(p.FrameRateDen)
}

// DisplaySize returns the size the video is shown at: the width stretched
// by the sample aspect ratio, then width and height swapped for a quarter
// turn.
func (p *Probe) DisplaySize() (w, h int) {
	w, h = p.Width, p.Height
	if p.SARNum > 0 && p.SARDen > 0 && p.SARNum != p.SARDen {
		w = int(math.Round(float64(w) * float64(p.SARNum) / float64(p.SARDen)))
	}
	if p.Rotation == 90 || p.Rotation == 270 {
		w, h = h, w
	}
	return w, h
}

// ffprobe's JSON, the fields used.
type probeJSON struct {
	Streams []struct {
		Index        int    `json:"index"`
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		PixFmt       string `json:"pix_fmt"`
		SAR          string `json:"sample_aspect_ratio"`
		FieldOrder   string `json:"field_order"`
		RFrameRate   string `json:"r_frame_rate"`
		AvgFrameRate string `json:"avg_frame_rate"`
		NbFrames     string `json:"nb_frames"`
		Duration     string `json:"duration"`
		Channels     int    `json:"channels"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		Tags struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
		SideData []struct {
			Type     string  `json:"side_data_type"`
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
	} `json:"format"`
}

// stillCodecs are codecs of image files that FFmpeg presents as a video
// stream of one frame.
var stillCodecs = map[string]bool{
	"png": true, "mjpeg": true, "jpegls": true, "bmp": true, "webp": true,
	"tiff": true, "gif": true, "jpeg2000": true, "pam": true, "ppm": true,
	"pgm": true, "qoi": true, "targa": true, "photocd": true, "sgi": true,
}

// refusedFormats are demuxers that read other files or text, not media: an
// upload must not make FFmpeg follow references.
var refusedFormats = map[string]bool{
	"hls": true, "concat": true, "dash": true, "ffmetadata": true,
	"tty": true, "lavfi": true, "srt": true, "webvtt": true, "ass": true,
}

// invalid returns the EINVALID error of a bad file.
func invalid(format string, args ...any) error {
	return ginflix.Errorf(ginflix.EINVALID, format, args...)
}

// parseProbe turns ffprobe's JSON into a Probe, failing with EINVALID when
// the file has no usable video track or is an image.
func parseProbe(data []byte) (*Probe, error) {
	var j probeJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("ffprobe output: %w", err)
	}
	p := &Probe{Format: j.Format.FormatName, VideoIndex: -1, AudioIndex: -1, SARNum: 1, SARDen: 1}
	if refusedFormats[p.Format] {
		return nil, invalid("The file is a %s file, not a video.", p.Format)
	}
	p.Size, _ = strconv.ParseInt(j.Format.Size, 10, 64)
	p.Duration = seconds(j.Format.Duration)
	for _, s := range j.Streams {
		switch s.CodecType {
		case "video":
			// Cover art of an audio file is a "video" stream of one picture.
			if s.Disposition.AttachedPic != 0 || p.VideoIndex >= 0 {
				continue
			}
			p.VideoIndex = s.Index
			p.VideoCodec = s.CodecName
			p.Width, p.Height = s.Width, s.Height
			p.PixFmt = s.PixFmt
			if n, d, ok := ratio(s.SAR); ok && n > 0 {
				p.SARNum, p.SARDen = n, d
			}
			p.Interlaced = s.FieldOrder != "" && s.FieldOrder != "progressive" && s.FieldOrder != "unknown"
			avgN, avgD, avgOK := ratio(s.AvgFrameRate)
			rN, rD, rOK := ratio(s.RFrameRate)
			switch {
			case avgOK && avgN > 0:
				p.FrameRateNum, p.FrameRateDen = avgN, avgD
				p.VariableFrameRate = rOK && rN > 0 && int64(rN)*int64(avgD) != int64(avgN)*int64(rD)
			case rOK && rN > 0:
				p.FrameRateNum, p.FrameRateDen = rN, rD
			}
			p.Frames, _ = strconv.Atoi(s.NbFrames)
			p.Rotation = rotation(s.Tags.Rotate)
			for _, sd := range s.SideData {
				if sd.Type == "Display Matrix" {
					p.Rotation = normaliseRotation(int(math.Round(sd.Rotation)))
				}
			}
			p.VideoDuration = seconds(s.Duration)
		case "audio":
			if p.AudioIndex < 0 {
				p.AudioIndex = s.Index
				p.AudioCodec = s.CodecName
				p.AudioChannels = s.Channels
			}
		}
	}
	if p.Duration <= 0 {
		p.Duration = p.VideoDuration
	}
	if p.VideoIndex < 0 {
		if p.HasAudio() {
			return nil, invalid("The file contains only audio: there is no video track.")
		}
		return nil, invalid("The file contains no video track.")
	}
	image := strings.HasSuffix(p.Format, "_pipe") || p.Format == "image2"
	if (stillCodecs[p.VideoCodec] && (image || p.Frames == 1)) || (image && p.Frames <= 1) {
		return nil, invalid("This is a still image, not a video.")
	}
	return p, nil
}

// check applies the configured limits to a parsed probe.
func (p *Probe) check(cfg Config) error {
	w, h := p.DisplaySize()
	switch {
	case p.Width < cfg.MinDimension || p.Height < cfg.MinDimension ||
		p.Width > cfg.MaxDimension || p.Height > cfg.MaxDimension ||
		w > cfg.MaxDimension || h > cfg.MaxDimension:
		return invalid("The video is %dx%d pixels; each side must be between %d and %d pixels.",
			w, h, cfg.MinDimension, cfg.MaxDimension)
	case p.Duration <= 0:
		return invalid("The video has no duration.")
	case p.Duration > cfg.MaxDuration:
		return invalid("The video lasts %s; the limit is %s.", humanDuration(p.Duration), humanDuration(cfg.MaxDuration))
	case p.FrameRate() <= 0:
		return invalid("The video has no frame rate.")
	}
	return nil
}

// ProbeFile runs ffprobe on path. A file that ffprobe cannot read, or that
// has no video track, or is an image, fails with EINVALID. It does not
// decode: see Validate.
func ProbeFile(ctx context.Context, cfg Config, path string) (*Probe, error) {
	cfg = cfg.withDefaults()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err // the file should be there: infrastructure
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("ffprobe %s: is a directory", path)
	}
	if fi.Size() == 0 {
		return nil, invalid("The file is empty.")
	}
	args := append(probeArgs(), "-print_format", "json", "-show_streams", "-show_format", fileURL(path))
	out, err := run(ctx, cfg.FFprobePath, args, nil)
	var re *RunError
	if errors.As(err, &re) && !usageError(re.Stderr) {
		return nil, unreadable(re.Stderr, path)
	}
	if err != nil {
		return nil, err
	}
	p, err := parseProbe(out)
	if err != nil {
		return nil, err
	}
	if p.Size == 0 {
		p.Size = fi.Size()
	}
	return p, nil
}

// unreadable explains why ffprobe rejected a file, without its path.
func unreadable(stderr, path string) error {
	msg := toolMessage(stderr)
	msg = strings.TrimPrefix(msg, fileURL(path)+": ")
	msg = strings.TrimPrefix(msg, path+": ")
	// The mov demuxer says "moov atom not found" for any file named .mp4;
	// only a file that starts like an MP4 is an MP4 cut short.
	if strings.Contains(stderr, "moov atom not found") && looksLikeMP4(path) {
		return invalid("The file is incomplete: its index (moov atom) is missing, so the upload was probably cut short.")
	}
	if msg == "" {
		msg = "unknown format"
	}
	return invalid("The file is not a video that can be read (%s).", msg)
}

// logPrefix is the "[h264 @ 0x55d0c0a1b2c0] " FFmpeg puts before messages.
var logPrefix = regexp.MustCompile(`^\[[^\]]* @ 0x[0-9a-f]+\] `)

// toolMessage is the last line of a tool's stderr, fit for an admin: no
// log prefix with a memory address, no final period, at most 200 bytes.
func toolMessage(stderr string) string {
	msg := logPrefix.ReplaceAllString(lastLines(stderr, 1), "")
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return strings.TrimSuffix(msg, ".")
}

// looksLikeMP4 reports whether path starts with an ISO BMFF box.
func looksLikeMP4(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [8]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return false
	}
	switch string(head[4:]) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide":
		return true
	}
	return false
}

// Validate probes path and decodes its whole video track, so that what
// passes is a video the transcoder can read to the end. A truncated MP4
// whose moov atom is at the front passes ffprobe with its full duration:
// only decoding finds that its frames stop early.
func Validate(ctx context.Context, cfg Config, path string) (*Probe, error) {
	cfg = cfg.withDefaults()
	p, err := ProbeFile(ctx, cfg, path)
	if err != nil {
		return nil, err
	}
	if err := p.check(cfg); err != nil {
		return nil, err
	}
	if err := decodeCheck(ctx, cfg, path, p); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeCheck decodes the video track to a null sink and compares how far
// it got with the declared duration and frame count. -xerror is not used:
// it stops at the first damaged frame without saying where, while reading
// to the end tells the admin how much of the file is there, and tolerates
// the isolated glitches real camera files have.
func decodeCheck(ctx context.Context, cfg Config, path string, p *Probe) error {
	args := append(inputArgs(), "-i", fileURL(path), "-map", fmt.Sprintf("0:%d", p.VideoIndex),
		"-f", "null", "-progress", "pipe:1", "-nostats", "-")
	var last progressBlock
	_, err := run(ctx, cfg.FFmpegPath, args, func(r io.Reader) {
		_ = readProgress(r, func(b progressBlock) { last = b })
	})
	var re *RunError
	if errors.As(err, &re) && !usageError(re.Stderr) {
		return invalid("The video track cannot be decoded (%s).", toolMessage(re.Stderr))
	}
	if err != nil {
		return err
	}
	if last.frame <= 1 {
		return invalid("This is a still image, not a video.")
	}
	// The video track's own duration: a longer audio track does not make
	// the video truncated.
	declared := p.Duration
	if p.VideoDuration > 0 {
		declared = p.VideoDuration
	}
	decoded := last.outTime
	// A frame or two of slack, and 2 %: containers round durations.
	slack := max(declared/50, time.Duration(2*float64(time.Second)/max(p.FrameRate(), 1)), 500*time.Millisecond)
	short := decoded+slack < declared
	if p.Frames > 0 && last.frame < p.Frames*95/100 {
		short = true
	}
	if short {
		return invalid("The file is truncated at %s of %s.", humanDuration(decoded), humanDuration(declared))
	}
	return nil
}

// seconds parses ffprobe's decimal seconds; "N/A" or garbage is 0.
func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e9 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// ratio parses "num/den" or "num:den".
func ratio(s string) (num, den int, ok bool) {
	a, b, found := strings.Cut(s, "/")
	if !found {
		a, b, found = strings.Cut(s, ":")
	}
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	d, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || d <= 0 || n < 0 {
		return 0, 0, false
	}
	return n, d, true
}

func rotation(tag string) int {
	n, err := strconv.Atoi(strings.TrimSpace(tag))
	if err != nil {
		return 0
	}
	return normaliseRotation(n)
}

// normaliseRotation maps any angle to 0, 90, 180 or 270. The direction
// does not matter here: only whether width and height swap.
func normaliseRotation(deg int) int {
	deg %= 360
	if deg < 0 {
		deg += 360
	}
	return (deg + 45) / 90 % 4 * 90
}

// humanDuration writes d for an admin: "12 s", "3 min 05 s", "13 h 20 min".
func humanDuration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	case s%3600 == 0:
		return fmt.Sprintf("%d h", s/3600)
	default:
		return fmt.Sprintf("%d h %02d min", s/3600, s%3600/60)
	}
}
