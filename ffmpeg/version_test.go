package ffmpeg

import (
	"os/exec"
	"testing"
)

func TestParseVersion(t *testing.T) {
	v, err := parseVersion("ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024 the FFmpeg developers\nbuilt with gcc 12\n")
	if err != nil || v != "5.1.6-0+deb12u1" {
		t.Fatalf("parseVersion = %q, %v", v, err)
	}
	if _, err := parseVersion("sh: ffmpeg: not found"); err == nil {
		t.Fatal("a foreign answer parsed")
	}
}

func TestVersion(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("no ffmpeg")
	}
	v, err := Version(t.Context(), Config{})
	if err != nil || v == "" {
		t.Fatalf("Version = %q, %v", v, err)
	}
}

func TestRungsFor(t *testing.T) {
	got := RungsFor([]int{1440, 720, 280})
	if len(got) != 3 {
		t.Fatalf("RungsFor = %+v", got)
	}
	if got[1] != DefaultRungs()[1] {
		t.Fatalf("a table height keeps its row: %+v", got[1])
	}
	// 1440p from the 1080p row: (1440/1080)² = 1.78 times the bits.
	if got[0].Name != "1440p" || got[0].Height != 1440 || got[0].VideoKbps != 10667 || got[0].MaxKbps != 13867 || got[0].AudioKbps != 128 {
		t.Fatalf("1440p = %+v", got[0])
	}
	// 280p is nearest 240p: its bits scaled up by the area.
	if got[2].Name != "280p" || got[2].VideoKbps != 497 || got[2].MaxKbps != 994 || got[2].AudioKbps != 96 {
		t.Fatalf("280p = %+v", got[2])
	}
}
