package ffmpeg

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ginflix/ginflix"
)

// Measurement is what a media playlist's files weigh.
type Measurement struct {
	// Peak is the largest bitrate of one segment (its bits over its
	// EXTINF duration), the first counting the init segment: RFC 8216's
	// BANDWIDTH. Average is all bits over the total duration.
	Peak, Average int
	Duration      float64 // seconds, the sum of EXTINF durations
	Segments      int
	Bytes         int64 // init segment and media segments
	InitURI       string
}

// mediaPlaylist is the part of an RFC 8216 media playlist used here.
type mediaPlaylist struct {
	initURI  string
	segments []segment
	vod      bool // #EXT-X-PLAYLIST-TYPE:VOD
	endList  bool // #EXT-X-ENDLIST
}

type segment struct {
	uri      string
	duration float64
}

// parseMediaPlaylist reads the tags of a media playlist that FFmpeg writes.
func parseMediaPlaylist(data []byte) (*mediaPlaylist, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	var pl mediaPlaylist
	first := true
	dur := -1.0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return nil, errors.New("playlist does not start with #EXTM3U")
			}
			first = false
			continue
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			d, err := strconv.ParseFloat(v, 64)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("bad EXTINF %q", line)
			}
			dur = d
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			attrs, err := ParseAttributes(strings.TrimPrefix(line, "#EXT-X-MAP:"))
			if err != nil {
				return nil, err
			}
			pl.initURI = attrs["URI"]
		case line == "#EXT-X-PLAYLIST-TYPE:VOD":
			pl.vod = true
		case line == "#EXT-X-ENDLIST":
			pl.endList = true
		case strings.HasPrefix(line, "#"):
		default:
			if dur < 0 {
				return nil, fmt.Errorf("segment %q has no EXTINF", line)
			}
			pl.segments = append(pl.segments, segment{uri: line, duration: dur})
			dur = -1
		}
	}
	if first {
		return nil, errors.New("empty playlist")
	}
	return &pl, sc.Err()
}

// localFile resolves a playlist URI to a file of dir, refusing anything
// that is not a plain relative path: the playlist is ours, but a path out
// of dir would be a bug worth failing on.
func localFile(dir, uri string) (string, error) {
	clean := path.Clean(uri)
	if uri == "" || strings.Contains(uri, ":") || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("playlist URI %q is not a local file", uri)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

// MeasurePlaylist measures the media playlist index.m3u8 of dir from its
// EXTINF durations and the sizes of its files.
func MeasurePlaylist(dir string) (Measurement, error) {
	data, err := os.ReadFile(filepath.Join(dir, PlaylistName))
	if err != nil {
		return Measurement{}, err
	}
	pl, err := parseMediaPlaylist(data)
	if err != nil {
		return Measurement{}, fmt.Errorf("%s: %w", filepath.Join(dir, PlaylistName), err)
	}
	if len(pl.segments) == 0 {
		return Measurement{}, fmt.Errorf("%s: no segments", filepath.Join(dir, PlaylistName))
	}
	size := func(uri string) (int64, error) {
		p, err := localFile(dir, uri)
		if err != nil {
			return 0, err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	m := Measurement{InitURI: pl.initURI, Segments: len(pl.segments)}
	var initSize int64
	if pl.initURI != "" {
		if initSize, err = size(pl.initURI); err != nil {
			return Measurement{}, err
		}
	}
	m.Bytes = initSize
	peak := 0.0
	for i, s := range pl.segments {
		n, err := size(s.uri)
		if err != nil {
			return Measurement{}, err
		}
		m.Bytes += n
		if i == 0 {
			// A player fetches the init segment with the first one.
			n += initSize
		}
		m.Duration += s.duration
		if s.duration > 0 {
			peak = max(peak, float64(n*8)/s.duration)
		}
	}
	m.Peak = int(math.Ceil(peak))
	if m.Duration > 0 {
		m.Average = int(math.Ceil(float64(m.Bytes*8) / m.Duration))
	}
	return m, nil
}

// RungResult is a rung as produced: what the master playlist and the
// catalogue say about it.
type RungResult struct {
	Rung
	URI              string // the media playlist, relative to the master: "720p/index.m3u8"
	Bandwidth        int    // measured peak, bits/s
	AverageBandwidth int    // measured average, bits/s
	Codecs           string // RFC 6381, "avc1.64001f,mp4a.40.2"
}

// Rendition returns r in the domain's terms; the caller sets PlaylistKey.
func (r RungResult) Rendition() ginflix.Rendition {
	return ginflix.Rendition{
		Name: r.Name, Width: r.Width, Height: r.Height,
		Bandwidth: r.Bandwidth, AverageBandwidth: r.AverageBandwidth,
		Codecs: r.Codecs, FrameRate: r.FrameRate,
	}
}

// Results measures each rung Transcode wrote in outDir and reads the codecs
// its init segment declares.
func Results(outDir string, rungs []Rung) ([]RungResult, error) {
	out := make([]RungResult, 0, len(rungs))
	for _, r := range rungs {
		dir := filepath.Join(outDir, r.Name)
		m, err := MeasurePlaylist(dir)
		if err != nil {
			return nil, err
		}
		if m.InitURI == "" {
			return nil, fmt.Errorf("%s: no init segment", dir)
		}
		initPath, err := localFile(dir, m.InitURI)
		if err != nil {
			return nil, err
		}
		codecs, err := InitCodecs(initPath)
		if err != nil {
			return nil, err
		}
		out = append(out, RungResult{
			Rung: r, URI: r.Name + "/" + PlaylistName,
			Bandwidth: m.Peak, AverageBandwidth: m.Average, Codecs: codecs,
		})
	}
	return out, nil
}

// InitCodecs returns the RFC 6381 codecs of an fMP4 init segment: avc1
// with the profile, constraint flags and level bytes of its avcC box (what
// x264 actually chose, which depends on size, rate and preset), plus
// mp4a.40.2 when it has an AAC track (HLSArgs encodes AAC-LC).
func InitCodecs(initPath string) (string, error) {
	data, err := os.ReadFile(initPath)
	if err != nil {
		return "", err
	}
	i := bytes.Index(data, []byte("avcC"))
	// avcC: configurationVersion, AVCProfileIndication,
	// profile_compatibility, AVCLevelIndication.
	if i < 0 || i+8 > len(data) || data[i+4] != 1 {
		return "", fmt.Errorf("%s: no H.264 configuration (avcC)", initPath)
	}
	codecs := fmt.Sprintf("avc1.%02x%02x%02x", data[i+5], data[i+6], data[i+7])
	if bytes.Contains(data, []byte("mp4a")) {
		codecs += ",mp4a.40.2"
	}
	return codecs, nil
}

// MasterPlaylist writes the RFC 8216 master playlist of rungs, highest
// first (players start with the first variant that fits). FFmpeg 5.1's own
// lacks AVERAGE-BANDWIDTH and FRAME-RATE and estimates BANDWIDTH from the
// requested bitrates rather than the files.
func MasterPlaylist(rungs []RungResult) []byte {
	sorted := slices.Clone(rungs)
	slices.SortStableFunc(sorted, func(a, b RungResult) int {
		return cmp.Or(cmp.Compare(b.Width*b.Height, a.Width*a.Height), cmp.Compare(b.Bandwidth, a.Bandwidth))
	})
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, r := range sorted {
		fmt.Fprintf(&b, "\n#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,RESOLUTION=%dx%d,CODECS=%q",
			r.Bandwidth, r.AverageBandwidth, r.Width, r.Height, r.Codecs)
		if r.FrameRate > 0 {
			fmt.Fprintf(&b, ",FRAME-RATE=%.3f", r.FrameRate)
		}
		b.WriteString("\n" + r.URI + "\n")
	}
	return b.Bytes()
}

// ParseAttributes parses an RFC 8216 §4.2 attribute list
// (NAME=value,NAME="quoted, value"), returning quoted strings unquoted.
func ParseAttributes(s string) (map[string]string, error) {
	attrs := map[string]string{}
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("attribute list %q: missing name", s)
		}
		name := s[:eq]
		for _, c := range name {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return nil, fmt.Errorf("attribute name %q: not [A-Z0-9-]", name)
			}
		}
		if _, dup := attrs[name]; dup {
			return nil, fmt.Errorf("attribute %s repeated", name)
		}
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("attribute %s: unterminated quoted string", name)
			}
			val, s = s[1:end+1], s[end+2:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
			if val == "" || strings.ContainsAny(val, "\" ") {
				return nil, fmt.Errorf("attribute %s: bad value %q", name, val)
			}
		}
		attrs[name] = val
		if s != "" {
			if s[0] != ',' || len(s) == 1 {
				return nil, fmt.Errorf("attribute list: unexpected %q after %s", s, name)
			}
			s = s[1:]
		}
	}
	return attrs, nil
}

// normalizeInit renames a rung's init segment to InitName, rewriting its
// playlist: FFmpeg 5.1 adds a variant suffix when there are several rungs,
// and a fixed layout is simpler to serve and to test.
func normalizeInit(dir string) error {
	plPath := filepath.Join(dir, PlaylistName)
	data, err := os.ReadFile(plPath)
	if err != nil {
		return err
	}
	pl, err := parseMediaPlaylist(data)
	if err != nil {
		return fmt.Errorf("%s: %w", plPath, err)
	}
	if pl.initURI == "" || pl.initURI == InitName {
		return nil
	}
	from, err := localFile(dir, pl.initURI)
	if err != nil {
		return err
	}
	if err := os.Rename(from, filepath.Join(dir, InitName)); err != nil {
		return err
	}
	data = bytes.Replace(data, []byte(`URI="`+pl.initURI+`"`), []byte(`URI="`+InitName+`"`), 1)
	return writeFileAtomic(plPath, data)
}
