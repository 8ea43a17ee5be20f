package ffmpeg

import (
	"os"
	"strings"
	"testing"
	"time"
)

// testdata/progress.txt is FFmpeg 5.1's -progress output of a 1.2 s encode
// (-stats_period 0.1 for many blocks).
func TestParseProgressCaptured(t *testing.T) {
	f, err := os.Open("testdata/progress.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []float64
	if err := ParseProgress(f, 1200*time.Millisecond, func(x float64) { got = append(got, x) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 13 {
		t.Fatalf("got %d reports, want 13 (one a block): %v", len(got), got)
	}
	if got[0] != 46440.0/1.2e6 {
		t.Errorf("first report %v, want out_time_us/duration = %v", got[0], 46440.0/1.2e6)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Errorf("report %d: %v after %v: not increasing", i, got[i], got[i-1])
		}
	}
	for _, x := range got[:len(got)-1] {
		if x >= 1 {
			t.Errorf("report %v before progress=end: want < 1", x)
		}
	}
	if got[len(got)-1] != 1 {
		t.Errorf("last report %v, want 1 at progress=end", got[len(got)-1])
	}
}

func TestParseProgressEdgeCases(t *testing.T) {
	// N/A before the first frame, out_time only (no out_time_us), a
	// time beyond the probed duration, garbage lines, and a repeated block.
	in := strings.Join([]string{
		"frame=0", "out_time_us=N/A", "out_time=N/A", "progress=continue",
		"not a key value line",
		"out_time=00:00:05.000000", "progress=continue",
		"out_time_us=5000000", "progress=continue",
		"out_time_us=30000000", "progress=continue",
		"progress=end",
	}, "\n")
	var got []float64
	if err := ParseProgress(strings.NewReader(in), 10*time.Second, func(x float64) { got = append(got, x) }); err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 0.5, 0.999, 1}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}

	// Unknown duration: only the end is reported.
	got = nil
	_ = ParseProgress(strings.NewReader(in), 0, func(x float64) { got = append(got, x) })
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("no duration: got %v, want [0 1]", got)
	}
}
