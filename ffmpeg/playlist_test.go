package ffmpeg

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Repeat([]byte{0}, size), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMeasurePlaylist(t *testing.T) {
	dir := t.TempDir()
	pl := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000000,
seg_00000.m4s
#EXTINF:4.000000,
seg_00001.m4s
#EXTINF:2.000000,
seg_00002.m4s
#EXT-X-ENDLIST
`
	if err := os.WriteFile(filepath.Join(dir, "index.m3u8"), []byte(pl), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "init.mp4"), 1000)
	writeFile(t, filepath.Join(dir, "seg_00000.m4s"), 400000)
	writeFile(t, filepath.Join(dir, "seg_00001.m4s"), 600000)
	writeFile(t, filepath.Join(dir, "seg_00002.m4s"), 100000)
	m, err := MeasurePlaylist(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Peak: segment 1, 600000*8/4 = 1.2 Mb/s (segment 0 with init is
	// 401000*8/4 = 802 kb/s). Average: 1101000*8/10.
	want := Measurement{Peak: 1200000, Average: 880800, Duration: 10, Segments: 3, Bytes: 1101000, InitURI: "init.mp4"}
	if m != want {
		t.Errorf("got %+v, want %+v", m, want)
	}

	// A segment missing from disk is an error, not a zero.
	os.Remove(filepath.Join(dir, "seg_00002.m4s"))
	if _, err := MeasurePlaylist(dir); err == nil {
		t.Error("missing segment: no error")
	}
	// URIs leaving the directory are refused.
	bad := strings.Replace(pl, "seg_00002.m4s", "../../etc/passwd", 1)
	os.WriteFile(filepath.Join(dir, "index.m3u8"), []byte(bad), 0o644)
	if _, err := MeasurePlaylist(dir); err == nil || !strings.Contains(err.Error(), "not a local file") {
		t.Errorf("URI out of the directory: %v", err)
	}
}

func TestParseAttributes(t *testing.T) {
	got, err := ParseAttributes(`BANDWIDTH=1280000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"BANDWIDTH": "1280000", "CODECS": "avc1.64001f,mp4a.40.2", "RESOLUTION": "1280x720", "FRAME-RATE": "29.970"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{
		`CODECS="avc1`, `bandwidth=1`, `A=1,A=2`, `A=1,`, `=1`, `A="x"B=1`, `A=`, `CODECS=avc1.64001f,mp4a.40.2`,
	} {
		if _, err := ParseAttributes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

var streamInfLine = regexp.MustCompile(`^#EXT-X-STREAM-INF:(.+)$`)

// checkMaster checks a master playlist against RFC 8216's basics and
// returns each variant's attributes and URI, in order.
func checkMaster(t *testing.T, data []byte) (attrs []map[string]string, uris []string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 3 || lines[0] != "#EXTM3U" || lines[1] != "#EXT-X-VERSION:7" || lines[2] != "#EXT-X-INDEPENDENT-SEGMENTS" {
		t.Fatalf("master header: %q", lines)
	}
	for i := 3; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		m := streamInfLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %d: %q: want #EXT-X-STREAM-INF", i+1, l)
		}
		if !regexp.MustCompile(`CODECS="[^"]+"`).MatchString(l) {
			t.Errorf("line %d: CODECS not quoted: %q", i+1, l)
		}
		a, err := ParseAttributes(m[1])
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for _, k := range []string{"BANDWIDTH", "AVERAGE-BANDWIDTH"} {
			if n, err := strconv.Atoi(a[k]); err != nil || n <= 0 {
				t.Errorf("line %d: %s=%q: want a positive decimal-integer", i+1, k, a[k])
			}
		}
		if !regexp.MustCompile(`^[1-9][0-9]*x[1-9][0-9]*$`).MatchString(a["RESOLUTION"]) {
			t.Errorf("line %d: RESOLUTION=%q", i+1, a["RESOLUTION"])
		}
		if !regexp.MustCompile(`^[0-9]+\.[0-9]{3}$`).MatchString(a["FRAME-RATE"]) {
			t.Errorf("line %d: FRAME-RATE=%q", i+1, a["FRAME-RATE"])
		}
		if !regexp.MustCompile(`^avc1\.64[0-9a-f]{4}(,mp4a\.40\.2)?$`).MatchString(a["CODECS"]) {
			t.Errorf("line %d: CODECS=%q", i+1, a["CODECS"])
		}
		i++
		if i >= len(lines) || lines[i] == "" || strings.HasPrefix(lines[i], "#") {
			t.Fatalf("line %d: EXT-X-STREAM-INF not followed by a URI", i)
		}
		attrs, uris = append(attrs, a), append(uris, lines[i])
	}
	return attrs, uris
}

func TestMasterPlaylist(t *testing.T) {
	results := []RungResult{
		{Rung: Rung{Name: "240p", Width: 426, Height: 240, FrameRate: 30000.0 / 1001}, URI: "240p/index.m3u8", Bandwidth: 500000, AverageBandwidth: 400000, Codecs: "avc1.640015,mp4a.40.2"},
		{Rung: Rung{Name: "720p", Width: 1280, Height: 720, FrameRate: 30000.0 / 1001}, URI: "720p/index.m3u8", Bandwidth: 4000000, AverageBandwidth: 3100000, Codecs: "avc1.64001f,mp4a.40.2"},
		{Rung: Rung{Name: "360p", Width: 640, Height: 360, FrameRate: 30000.0 / 1001}, URI: "360p/index.m3u8", Bandwidth: 1000000, AverageBandwidth: 700000, Codecs: "avc1.64001e,mp4a.40.2"},
	}
	data := MasterPlaylist(results)
	attrs, uris := checkMaster(t, data)
	if strings.Join(uris, " ") != "720p/index.m3u8 360p/index.m3u8 240p/index.m3u8" {
		t.Errorf("not highest first: %v", uris)
	}
	if attrs[0]["BANDWIDTH"] != "4000000" || attrs[0]["AVERAGE-BANDWIDTH"] != "3100000" || attrs[0]["RESOLUTION"] != "1280x720" ||
		attrs[0]["CODECS"] != "avc1.64001f,mp4a.40.2" || attrs[0]["FRAME-RATE"] != "29.970" {
		t.Errorf("720p attributes: %v", attrs[0])
	}
	wantLine := `#EXT-X-STREAM-INF:BANDWIDTH=4000000,AVERAGE-BANDWIDTH=3100000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=29.970`
	if !strings.Contains(string(data), wantLine+"\n720p/index.m3u8\n") {
		t.Errorf("master:\n%s", data)
	}
	r := results[1].Rendition()
	if r.Name != "720p" || r.Bandwidth != 4000000 || r.AverageBandwidth != 3100000 || r.Codecs != "avc1.64001f,mp4a.40.2" || r.Width != 1280 {
		t.Errorf("rendition %+v", r)
	}
}

func TestInitCodecs(t *testing.T) {
	dir := t.TempDir()
	// ...avcC box: version 1, High (0x64), constraints 0, level 3.1 (0x1f).
	init := append([]byte("\x00\x00\x00\x20ftypiso5....moov....avc1....\x00\x00\x00\x10avcC"), 1, 0x64, 0x00, 0x1f, 0xff, 0xe1)
	init = append(init, []byte("....mp4a....esds")...)
	p := filepath.Join(dir, "init.mp4")
	os.WriteFile(p, init, 0o644)
	if got, err := InitCodecs(p); err != nil || got != "avc1.64001f,mp4a.40.2" {
		t.Errorf("got %q, %v", got, err)
	}
	os.WriteFile(p, []byte("ftypmoov"), 0o644)
	if _, err := InitCodecs(p); err == nil {
		t.Error("no avcC: no error")
	}
}
