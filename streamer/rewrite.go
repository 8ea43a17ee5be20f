package streamer

import (
	"net/url"
	"regexp"
	"strings"
)

// uriAttr is a URI="..." attribute of an HLS tag (EXT-X-MAP,
// EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF, ...).
var uriAttr = regexp.MustCompile(`URI="([^"]*)"`)

// template is a rewritten object with the token left out: the output is
// parts joined by "name=value" (each part before a join ends with the
// "?" or "&" that the parameter needs). Parsing the object (URL parsing,
// the URI attribute regexp) happens once, when the template is built; a
// request only escapes its token and concatenates. A template is
// immutable once built, so requests share it freely.
type template struct {
	parts []string
	size  int // sum of len(parts)
}

// templateBuilder collects literal text and the places where the
// parameter goes; the parts of the template it builds share one string.
type templateBuilder struct {
	buf  []byte
	cuts []int
}

func (b *templateBuilder) lit(s string) { b.buf = append(b.buf, s...) }

// param marks where the parameter goes.
func (b *templateBuilder) param() { b.cuts = append(b.cuts, len(b.buf)) }

func (b *templateBuilder) done() *template {
	s := string(b.buf)
	t := &template{parts: make([]string, 0, len(b.cuts)+1), size: len(s)}
	last := 0
	for _, c := range b.cuts {
		t.parts = append(t.parts, s[last:c])
		last = c
	}
	t.parts = append(t.parts, s[last:])
	return t
}

// cost is roughly what the template holds in memory.
func (t *template) cost() int64 {
	return int64(t.size + 16*len(t.parts) + 48)
}

// params is the number of places the parameter goes.
func (t *template) params() int { return len(t.parts) - 1 }

// render writes the template with name=value at every marked place, in
// one allocation.
func (t *template) render(name, value string) []byte {
	if len(t.parts) == 1 {
		return []byte(t.parts[0])
	}
	param := url.QueryEscape(name) + "=" + url.QueryEscape(value)
	out := make([]byte, 0, t.size+t.params()*len(param))
	for i, p := range t.parts {
		if i > 0 {
			out = append(out, param...)
		}
		out = append(out, p...)
	}
	return out
}

// rewritePlaylist appends name=value to every URI of an M3U8 playlist
// that points at this server: the URI lines (media playlists in a master,
// segments in a media playlist) and the URI attributes of tags (the
// EXT-X-MAP init segment, alternative renditions). URIs naming another
// host are left alone so that a token never leaks to it.
func rewritePlaylist(src []byte, name, value string) []byte {
	return playlistTemplate(src).render(name, value)
}

// playlistTemplate is rewritePlaylist with the parameter left out.
func playlistTemplate(src []byte) *template {
	var b templateBuilder
	b.buf = make([]byte, 0, len(src)+len(src)/8)
	for line := range strings.Lines(string(src)) {
		text, eol := splitEOL(line)
		trimmed := strings.TrimSpace(text)
		switch {
		case trimmed == "":
			b.lit(line)
			continue
		case strings.HasPrefix(trimmed, "#EXT"):
			last := 0
			for _, m := range uriAttr.FindAllStringSubmatchIndex(text, -1) {
				b.lit(text[last:m[0]])
				b.lit(`URI="`)
				addParamTo(&b, text[m[2]:m[3]])
				b.lit(`"`)
				last = m[1]
			}
			b.lit(text[last:])
		case strings.HasPrefix(trimmed, "#"):
			// A comment.
			b.lit(text)
		default:
			addParamTo(&b, trimmed)
		}
		b.lit(eol)
	}
	return b.done()
}

// rewriteStoryboard appends name=value to the image references of a
// WebVTT storyboard's cues ("sprite_0.jpg#xywh=0,0,160,90"), keeping the
// media fragment last where it belongs.
func rewriteStoryboard(src []byte, name, value string) []byte {
	return storyboardTemplate(src).render(name, value)
}

// storyboardTemplate is rewriteStoryboard with the parameter left out.
func storyboardTemplate(src []byte) *template {
	var b templateBuilder
	b.buf = make([]byte, 0, len(src)+len(src)/8)
	inCue := false
	for line := range strings.Lines(string(src)) {
		text, eol := splitEOL(line)
		trimmed := strings.TrimSpace(text)
		switch {
		case trimmed == "":
			inCue = false
			b.lit(text)
		case strings.Contains(trimmed, "-->"):
			inCue = true
			b.lit(text)
		case inCue:
			addParamTo(&b, trimmed)
		default:
			b.lit(text)
		}
		b.lit(eol)
	}
	return b.done()
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

// addParamTo writes ref with the parameter's place marked before its
// fragment, or, for a reference with a scheme or host, ref unchanged.
func addParamTo(b *templateBuilder, ref string) {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "//") || ref == "" {
		b.lit(ref)
		return
	}
	base, frag, _ := strings.Cut(ref, "#")
	if frag != "" || strings.HasSuffix(ref, "#") {
		frag = "#" + frag
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	b.lit(base)
	b.lit(sep)
	b.param()
	b.lit(frag)
}
