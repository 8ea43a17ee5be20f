package ffmpeg

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Version returns the version FFmpeg reports ("5.1.6-0+deb12u1"), from the
// first line of "ffmpeg -version".
func Version(ctx context.Context, cfg Config) (string, error) {
	cfg = cfg.withDefaults()
	out, err := run(ctx, cfg.FFmpegPath, []string{"-hide_banner", "-version"}, nil)
	if err != nil {
		return "", err
	}
	return parseVersion(string(out))
}

func parseVersion(out string) (string, error) {
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	if len(f) < 3 || f[1] != "version" {
		return "", errors.New("ffmpeg -version: unexpected answer " + strings.TrimSpace(line))
	}
	return f[2], nil
}

// RungsFor returns the ladder table for the short sides heights. A height
// of the default table keeps its row; any other is the nearest row's
// bitrates scaled by the picture area (bitrate grows about with the
// number of pixels, as the table itself does).
func RungsFor(heights []int) []RungSpec {
	table := DefaultRungs()
	out := make([]RungSpec, 0, len(heights))
	for _, h := range heights {
		best := table[0]
		for _, r := range table {
			if abs(r.Height-h) < abs(best.Height-h) {
				best = r
			}
		}
		if best.Height == h {
			out = append(out, best)
			continue
		}
		area := float64(h*h) / float64(best.Height*best.Height)
		out = append(out, RungSpec{
			Name: strconv.Itoa(h) + "p", Height: h,
			VideoKbps: max(int(float64(best.VideoKbps)*area+0.5), 1),
			MaxKbps:   max(int(float64(best.MaxKbps)*area+0.5), 1),
			AudioKbps: best.AudioKbps,
		})
	}
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
