package ffmpeg

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// progressBlock is one block of FFmpeg's -progress output.
type progressBlock struct {
	frame   int
	outTime time.Duration
	end     bool // progress=end
}

// readProgress calls fn for every block of -progress key=value lines; a
// block ends with a "progress=continue" or "progress=end" line.
func readProgress(r io.Reader, fn func(progressBlock)) error {
	sc := bufio.NewScanner(r)
	var b progressBlock
	haveUS := false
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch key {
		case "frame":
			if n, err := strconv.Atoi(val); err == nil {
				b.frame = n
			}
		case "out_time_us":
			// "N/A" before the first frame.
			if n, err := strconv.ParseInt(val, 10, 64); err == nil && n >= 0 {
				b.outTime, haveUS = time.Duration(n)*time.Microsecond, true
			}
		case "out_time":
			// Older FFmpeg lacks out_time_us; HH:MM:SS.micro.
			if !haveUS {
				if d, ok := parseClock(val); ok {
					b.outTime = d
				}
			}
		case "progress":
			b.end = val == "end"
			fn(b)
			haveUS = false
		}
	}
	return sc.Err()
}

// parseClock parses "HH:MM:SS.ffffff".
func parseClock(s string) (time.Duration, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || m < 0 || sec < 0 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second)), true
}

// ParseProgress reads FFmpeg's -progress output from r and calls fn with
// the fraction done, from 0 to 1: out_time_us over duration, never going
// back, below 1 until FFmpeg says progress=end, which reports exactly 1.
// It returns at the end of r.
func ParseProgress(r io.Reader, duration time.Duration, fn func(fraction float64)) error {
	last := -1.0
	return readProgress(r, func(b progressBlock) {
		f := 0.0
		switch {
		case b.end:
			f = 1
		case duration > 0:
			// Stay below 1: the muxer still has to finish the files.
			f = min(float64(b.outTime)/float64(duration), 0.999)
		}
		if f > last {
			last = f
			fn(f)
		}
	})
}
