package streamer

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"
)

// uriAttr is a URI="..." attribute of an HLS tag (EXT-X-MAP,
// EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF, ...).
var uriAttr = regexp.MustCompile(`URI="([^"]*)"`)

// rewritePlaylist appends name=value to every URI of an M3U8 playlist
// that points at this server: the URI lines (media playlists in a master,
// segments in a media playlist) and the URI attributes of tags (the
// EXT-X-MAP init segment, alternative renditions). URIs naming another
// host are left alone so that a token never leaks to it.
func rewritePlaylist(src []byte, name, value string) []byte {
	var out bytes.Buffer
	out.Grow(len(src) + len(src)/4)
	for line := range strings.Lines(string(src)) {
		text, eol := splitEOL(line)
		trimmed := strings.TrimSpace(text)
		switch {
		case trimmed == "":
			out.WriteString(line)
			continue
		case strings.HasPrefix(trimmed, "#EXT"):
			text = uriAttr.ReplaceAllStringFunc(text, func(m string) string {
				uri := m[len(`URI="`) : len(m)-1]
				return `URI="` + addParam(uri, name, value) + `"`
			})
		case strings.HasPrefix(trimmed, "#"):
			// A comment.
		default:
			text = addParam(trimmed, name, value)
		}
		out.WriteString(text)
		out.WriteString(eol)
	}
	return out.Bytes()
}

// rewriteStoryboard appends name=value to the image references of a
// WebVTT storyboard's cues ("sprite_0.jpg#xywh=0,0,160,90"), keeping the
// media fragment last where it belongs.
func rewriteStoryboard(src []byte, name, value string) []byte {
	var out bytes.Buffer
	out.Grow(len(src) + len(src)/3)
	inCue := false
	for line := range strings.Lines(string(src)) {
		text, eol := splitEOL(line)
		trimmed := strings.TrimSpace(text)
		switch {
		case trimmed == "":
			inCue = false
		case strings.Contains(trimmed, "-->"):
			inCue = true
		case inCue:
			text = addParam(trimmed, name, value)
		}
		out.WriteString(text)
		out.WriteString(eol)
	}
	return out.Bytes()
}

func splitEOL(line string) (text, eol string) {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return line[:len(line)-2], "\r\n"
	case strings.HasSuffix(line, "\n"):
		return line[:len(line)-1], "\n"
	}
	return line, ""
}

// addParam appends name=value to a reference without scheme or host,
// before its fragment; other references come back unchanged.
func addParam(ref, name, value string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "//") || ref == "" {
		return ref
	}
	base, frag, _ := strings.Cut(ref, "#")
	if frag != "" || strings.HasSuffix(ref, "#") {
		frag = "#" + frag
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + url.QueryEscape(name) + "=" + url.QueryEscape(value) + frag
}
