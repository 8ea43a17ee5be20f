package ffmpeg

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Rung is one rendition to encode, derived from a RungSpec and the source.
type Rung struct {
	Name          string // directory and variant name, "720p"
	Width, Height int    // output size, even, square pixels
	VideoBitrate  int    // average, bits/s (-b:v)
	MaxBitrate    int    // VBV peak, bits/s (-maxrate)
	BufSize       int    // VBV buffer, bits (-bufsize)
	AudioBitrate  int    // bits/s; 0 when the source is silent
	FrameRate     float64
}

// Ladder derives the rungs to encode from the source, highest first.
//
// Rungs are named and chosen by the short side of the displayed picture,
// so a 1080x1920 portrait video gets a 1080p rung of 1080x1920. No rung is
// larger than the source (never upscale); a source smaller than every rung
// gets one rung at its own size. The displayed picture is the stored one
// stretched by the sample aspect ratio and turned by the rotation, which
// is what FFmpeg's decoder produces (it autorotates) and what the scale
// filter then fits with square pixels.
func Ladder(p *Probe, cfg Config) []Rung {
	cfg = cfg.withDefaults()
	specs := slices.Clone(cfg.Rungs)
	slices.SortFunc(specs, func(a, b RungSpec) int { return cmp.Compare(b.Height, a.Height) })

	dw, dh := p.DisplaySize()
	top := min(dw, dh, cfg.MaxHeight)
	num, den, _ := outputRate(p, cfg)
	fps := float64(num) / float64(den)
	factor := 1.0
	if fps > cfg.HighFrameRate+0.01 {
		factor = cfg.HighFrameRateFactor
	}
	audio := func(kbps int) int {
		if !p.HasAudio() {
			return 0
		}
		return kbps * 1000
	}
	rung := func(name string, short int, videoKbps, maxKbps, audioKbps float64) Rung {
		w, h := rungSize(dw, dh, short)
		v := int(math.Round(videoKbps * factor * 1000))
		m := max(int(math.Round(maxKbps*factor*1000)), v)
		return Rung{
			Name: name, Width: w, Height: h,
			VideoBitrate: v, MaxBitrate: m,
			// Two seconds of peak rate: enough for an IDR frame at the
			// start of every segment, small enough that no 4 s segment
			// strays far above the peak.
			BufSize:      2 * m,
			AudioBitrate: audio(int(audioKbps)),
			FrameRate:    fps,
		}
	}
	var rungs []Rung
	for _, s := range specs {
		if s.Height <= top {
			rungs = append(rungs, rung(s.Name, s.Height, float64(s.VideoKbps), float64(s.MaxKbps), float64(s.AudioKbps)))
		}
	}
	if len(rungs) == 0 && len(specs) > 0 {
		// Smaller than the smallest rung: keep the source size and scale
		// the smallest rung's bitrates by the picture area.
		s := specs[len(specs)-1]
		short := max(top&^1, 2)
		area := float64(short*short) / float64(s.Height*s.Height)
		rungs = append(rungs, rung(fmt.Sprintf("%dp", short), short,
			float64(s.VideoKbps)*area, float64(s.MaxKbps)*area, float64(s.AudioKbps)))
	}
	return rungs
}

// rungSize is the even output size whose short side is short, keeping the
// display aspect ratio of dw x dh, never wider or taller than the source.
func rungSize(dw, dh, short int) (w, h int) {
	long := func(l, s int) int {
		v := even(float64(short) * float64(l) / float64(s))
		return min(v, max(l&^1, 2))
	}
	if dw >= dh {
		return long(dw, dh), short
	}
	return short, long(dh, dw)
}

// even rounds to the nearest even integer, at least 2: H.264 in 4:2:0
// needs even dimensions.
func even(x float64) int {
	return max(2*int(math.Round(x/2)), 2)
}

// outputRate is the frame rate to encode at: the source's average rate,
// halved until at most cfg.MaxFrameRate. filter reports whether an fps
// filter must impose it: for a faster source, and for a variable-rate one,
// whose base rate (what FFmpeg would otherwise use for its constant-rate
// output) can be far above its real rate and duplicate frames.
func outputRate(p *Probe, cfg Config) (num, den int, filter bool) {
	num, den = p.FrameRateNum, p.FrameRateDen
	if num <= 0 || den <= 0 {
		return 30, 1, true
	}
	for float64(num)/float64(den) > cfg.MaxFrameRate+0.01 {
		den *= 2
		filter = true
	}
	g := gcd(num, den)
	return num / g, den / g, filter || p.VariableFrameRate
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
