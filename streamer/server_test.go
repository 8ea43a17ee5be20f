package streamer

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func TestHealth(t *testing.T) {
	e := newEnv(t)
	for _, m := range []string{"GET", "HEAD"} {
		w := e.do(m, "/stream/health")
		expectStatus(t, w, 200)
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") || w.Header().Get("X-Request-Id") == "" {
			t.Fatalf("%s headers %v", m, w.Header())
		}
		if m == "HEAD" && w.Body.Len() != 0 {
			t.Fatal("HEAD has a body")
		}
	}
	expectStatus(t, e.get("/stream/ready"), 200)
	if e.store.calls() != 1 {
		t.Fatalf("%d store calls: health must not touch the store, ready once", e.store.calls())
	}
}

func TestContentTypesAndCacheHeaders(t *testing.T) {
	e := newEnv(t)
	immutable := regexp.MustCompile(`^public, max-age=31536000, immutable, s-maxage=(\d+)$`)
	for _, c := range []struct {
		target, key, ctype string
		private            bool
	}{
		{e.master(vid), "videos/hls/" + vid + "/master.m3u8", "application/vnd.apple.mpegurl", true},
		{e.media(vid, "360p"), "videos/hls/" + vid + "/360p/index.m3u8", "application/vnd.apple.mpegurl", true},
		{e.seg(vid, "360p/init.mp4"), "videos/hls/" + vid + "/360p/init.mp4", "video/mp4", false},
		{e.seg(vid, "360p/seg_00001.m4s"), "videos/hls/" + vid + "/360p/seg_00001.m4s", "video/iso.segment", false},
		{e.seg(vid, "1080p/seg_00000.m4s"), "videos/hls/" + vid + "/1080p/seg_00000.m4s", "video/iso.segment", false},
		{e.thumb(vid, "poster.jpg"), "thumbnails/" + vid + "/poster.jpg", "image/jpeg", false},
		{e.thumb(vid, "poster.webp"), "thumbnails/" + vid + "/poster.webp", "image/webp", false},
		{e.thumb(vid, "sprite_1.jpg"), "thumbnails/" + vid + "/sprite_1.jpg", "image/jpeg", false},
		{e.thumb(vid, "storyboard.vtt"), "thumbnails/" + vid + "/storyboard.vtt", "text/vtt", false},
	} {
		w := e.get(c.target)
		expectStatus(t, w, 200)
		h := w.Header()
		if got := h.Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.key, got, c.ctype)
		}
		cc := h.Get("Cache-Control")
		if c.private {
			if cc != "private, max-age=5" {
				t.Errorf("%s: Cache-Control %q", c.key, cc)
			}
		} else if m := immutable.FindStringSubmatch(cc); m == nil {
			t.Errorf("%s: Cache-Control %q", c.key, cc)
		} else if n, _ := strconv.Atoi(m[1]); n <= 3600 || n > 7200 {
			t.Errorf("%s: s-maxage %d, want the token's remaining life (1–2 h)", c.key, n)
		}
		if et := h.Get("ETag"); !regexp.MustCompile(`^"[!#-~]+"$`).MatchString(et) {
			t.Errorf("%s: ETag %q is not a strong quoted tag", c.key, et)
		}
		if h.Get("Accept-Ranges") != "bytes" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", c.key, h)
		}
		if h.Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
			t.Errorf("%s: Content-Length %s for %d bytes", c.key, h.Get("Content-Length"), w.Body.Len())
		}
		if !c.private && !strings.HasSuffix(c.key, ".vtt") && !bytes.Equal(w.Body.Bytes(), e.objects[c.key]) {
			t.Errorf("%s: body differs from the object", c.key)
		}
	}
}

func TestPlaylistRewriting(t *testing.T) {
	e := newEnv(t)
	tok := e.viewer(vid)
	masterTarget := "/stream/videos/" + vid + "/master.m3u8?token=" + tok
	w := e.get(masterTarget)
	expectStatus(t, w, 200)

	var media []string
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			if strings.Contains(line, "URI=") {
				t.Errorf("unexpected URI attribute %q", line)
			}
			continue
		}
		if !strings.HasSuffix(line, "/index.m3u8?token="+tok) {
			t.Errorf("master URI %q lacks the viewer token", line)
		}
		media = append(media, line)
	}
	if len(media) != 2 {
		t.Fatalf("master lists %d media playlists:\n%s", len(media), w.Body.String())
	}
	// The tags survive unchanged.
	if !strings.Contains(w.Body.String(), `CODECS="avc1.64001e,mp4a.40.2"`) {
		t.Fatalf("tags mangled:\n%s", w.Body.String())
	}

	vt := e.vt(vid)
	fetched := 0
	for _, m := range media {
		mediaTarget := resolve(t, masterTarget, m)
		mw := e.get(mediaTarget)
		expectStatus(t, mw, 200)
		rung := strings.Split(m, "/")[0]
		var uris []string
		for _, line := range strings.Split(mw.Body.String(), "\n") {
			switch {
			case strings.HasPrefix(line, "#EXT-X-MAP:"):
				u := regexp.MustCompile(`URI="([^"]+)"`).FindStringSubmatch(line)
				if u == nil || u[1] != "init.mp4?vt="+vt {
					t.Errorf("MAP %q lacks the video token", line)
				} else {
					uris = append(uris, u[1])
				}
			case line == "" || strings.HasPrefix(line, "#"):
			default:
				if !strings.HasSuffix(line, ".m4s?vt="+vt) {
					t.Errorf("segment URI %q lacks the video token", line)
				}
				uris = append(uris, line)
			}
		}
		if len(uris) != 4 {
			t.Fatalf("%s: %d URIs", rung, len(uris))
		}
		for _, u := range uris {
			target := resolve(t, mediaTarget, u)
			sw := e.get(target)
			expectStatus(t, sw, 200)
			name := strings.SplitN(u, "?", 2)[0]
			if !bytes.Equal(sw.Body.Bytes(), e.objects[ginflix.HLSPrefix(vid)+rung+"/"+name]) {
				t.Errorf("%s: wrong bytes", target)
			}
			fetched++
		}
	}
	if fetched != 8 {
		t.Fatalf("fetched %d objects", fetched)
	}

	// The storyboard's sprites get the request's video token and fetch.
	sbTarget := e.thumb(vid, "storyboard.vtt")
	sw := e.get(sbTarget)
	expectStatus(t, sw, 200)
	sprites := regexp.MustCompile(`(?m)^(sprite_\d\.jpg)\?vt=([^#\s]+)#xywh=\d+,\d+,\d+,\d+$`).FindAllStringSubmatch(sw.Body.String(), -1)
	if len(sprites) != 3 {
		t.Fatalf("storyboard:\n%s", sw.Body.String())
	}
	for _, s := range sprites {
		if s[2] != vt {
			t.Errorf("sprite token %q", s[2])
		}
		target := resolve(t, sbTarget, strings.SplitN(s[0], "#", 2)[0])
		expectStatus(t, e.get(target), 200)
	}
	if !strings.HasPrefix(sw.Body.String(), "WEBVTT\n\n1\n00:00:00.000 --> 00:00:05.000\n") {
		t.Fatalf("cue identifiers or timings changed:\n%s", sw.Body.String())
	}
}

func TestTokensAtTheStreamer(t *testing.T) {
	e := newEnv(t)
	seg := "/stream/videos/" + vid + "/360p/seg_00000.m4s"
	expired := e.signer.SignViewer(vid, "u", time.Minute)
	tok := e.viewer(vid)
	tampered := tok[:len(tok)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(tok, "AAA")]
	parts := strings.Split(tok, ".")
	unknownKid := strings.Join([]string{parts[0], "k9", parts[2], parts[3]}, ".")
	// A token from the key rotated out of first place still works.
	oldSigner := *e.signer
	oldSigner.Current = "k1"
	rotated := oldSigner.SignViewer(vid, "u", 0)
	oldVT := oldSigner.VideoToken(vid, e.clock.Now())
	e.clock.Add(2 * time.Minute)

	for _, c := range []struct {
		name, target string
		status       int
		code         string
	}{
		{"master without token", "/stream/videos/" + vid + "/master.m3u8", 401, ginflix.EUNAUTHORIZED},
		{"master expired", "/stream/videos/" + vid + "/master.m3u8?token=" + expired, 401, ginflix.EUNAUTHORIZED},
		{"master tampered", "/stream/videos/" + vid + "/master.m3u8?token=" + tampered, 403, ginflix.EFORBIDDEN},
		{"master of another video", "/stream/videos/" + vid2 + "/master.m3u8?token=" + tok, 403, ginflix.EFORBIDDEN},
		{"master unknown kid", "/stream/videos/" + vid + "/master.m3u8?token=" + unknownKid, 401, ginflix.EUNAUTHORIZED},
		{"master rotated key", "/stream/videos/" + vid + "/master.m3u8?token=" + rotated, 200, ""},
		{"master with a video token", "/stream/videos/" + vid + "/master.m3u8?token=" + e.vt(vid), 403, ginflix.EFORBIDDEN},
		{"master extra parameter", "/stream/videos/" + vid + "/master.m3u8?token=" + tok + "&x=1", 400, ginflix.EINVALID},
		{"master token twice", "/stream/videos/" + vid + "/master.m3u8?token=" + tok + "&token=" + tok, 400, ginflix.EINVALID},
		{"media without token", "/stream/videos/" + vid + "/360p/index.m3u8", 401, ginflix.EUNAUTHORIZED},
		{"media of another video", "/stream/videos/" + vid2 + "/360p/index.m3u8?token=" + tok, 403, ginflix.EFORBIDDEN},
		{"media with vt", "/stream/videos/" + vid + "/360p/index.m3u8?vt=" + e.vt(vid), 400, ginflix.EINVALID},
		{"segment without vt", seg, 401, ginflix.EUNAUTHORIZED},
		{"segment with viewer token only", seg + "?token=" + tok, 400, ginflix.EINVALID},
		{"segment viewer token as vt", seg + "?vt=" + tok, 403, ginflix.EFORBIDDEN},
		{"segment vt of another video", seg + "?vt=" + e.vt(vid2), 403, ginflix.EFORBIDDEN},
		{"segment vt previous window", seg + "?vt=" + e.signer.VideoToken(vid, e.clock.Now().Add(-time.Hour)), 200, ""},
		{"segment vt two windows old", seg + "?vt=" + e.signer.VideoToken(vid, e.clock.Now().Add(-2*time.Hour)), 401, ginflix.EUNAUTHORIZED},
		{"segment vt rotated key", seg + "?vt=" + oldVT, 200, ""},
		{"segment cache buster", seg + "?vt=" + e.vt(vid) + "&_=123", 400, ginflix.EINVALID},
		{"init without vt", "/stream/videos/" + vid + "/360p/init.mp4", 401, ginflix.EUNAUTHORIZED},
		{"poster of another video", "/stream/thumbnails/" + vid2 + "/poster.jpg?vt=" + e.vt(vid), 403, ginflix.EFORBIDDEN},
		{"poster without vt", "/stream/thumbnails/" + vid + "/poster.jpg", 401, ginflix.EUNAUTHORIZED},
		{"storyboard tampered vt", "/stream/thumbnails/" + vid + "/storyboard.vtt?vt=" + e.vt(vid)[:20] + "x", 403, ginflix.EFORBIDDEN},
	} {
		before := e.store.calls()
		w := e.get(c.target)
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, w.Code, c.status, w.Body.String())
			continue
		}
		if c.status >= 400 {
			if code := errorCode(t, w); code != c.code {
				t.Errorf("%s: code %q, want %q", c.name, code, c.code)
			}
			if e.store.calls() != before {
				t.Errorf("%s: refused after touching the store", c.name)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s: error Cache-Control %q", c.name, w.Header().Get("Cache-Control"))
			}
		}
	}
}

func TestRange(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"360p/seg_00000.m4s", "1080p/seg_00000.m4s"} { // cached, streamed
		key := ginflix.HLSPrefix(vid) + name
		obj := e.objects[key]
		size := strconv.Itoa(len(obj))
		target := e.seg(vid, name)

		w := e.get(target, "Range", "bytes=0-99")
		expectStatus(t, w, 206)
		if w.Header().Get("Content-Range") != "bytes 0-99/"+size || !bytes.Equal(w.Body.Bytes(), obj[:100]) {
			t.Fatalf("%s: Content-Range %q, %d bytes", name, w.Header().Get("Content-Range"), w.Body.Len())
		}
		w = e.get(target, "Range", "bytes=1000-1999")
		expectStatus(t, w, 206)
		if !bytes.Equal(w.Body.Bytes(), obj[1000:2000]) {
			t.Fatalf("%s: middle range wrong", name)
		}
		if strings.HasPrefix(name, "1080p") {
			// Streamed: the store is asked for exactly the range, once.
			before := e.store.getsOf(key)
			w = e.get(target, "Range", "bytes=2000-2999", "If-Range", w.Header().Get("ETag"))
			expectStatus(t, w, 206)
			if rng := e.store.lastRange(key); e.store.getsOf(key) != before+1 || rng == nil || *rng != (ginflix.ByteRange{Start: 2000, End: 2999}) {
				t.Fatalf("%s: %d reads, last range %v", name, e.store.getsOf(key)-before, rng)
			}
			if !bytes.Equal(w.Body.Bytes(), obj[2000:3000]) {
				t.Fatalf("%s: If-Range range wrong", name)
			}
			w = e.get(target, "Range", "bytes=2000-2999", "If-Range", `"stale"`)
			expectStatus(t, w, 200)
			if !bytes.Equal(w.Body.Bytes(), obj) {
				t.Fatalf("%s: stale If-Range must give the whole object", name)
			}
		}
		w = e.get(target, "Range", "bytes=-100")
		expectStatus(t, w, 206)
		if w.Header().Get("Content-Range") != "bytes "+strconv.Itoa(len(obj)-100)+"-"+strconv.Itoa(len(obj)-1)+"/"+size ||
			!bytes.Equal(w.Body.Bytes(), obj[len(obj)-100:]) {
			t.Fatalf("%s: suffix range: %q", name, w.Header().Get("Content-Range"))
		}
		w = e.get(target, "Range", "bytes=100000-")
		expectStatus(t, w, 206)
		if !bytes.Equal(w.Body.Bytes(), obj[100000:]) {
			t.Fatalf("%s: open range wrong", name)
		}
		w = e.get(target, "Range", "bytes=999999999-")
		expectStatus(t, w, 416)
		if w.Header().Get("Content-Range") != "bytes */"+size {
			t.Fatalf("%s: 416 Content-Range %q", name, w.Header().Get("Content-Range"))
		}
		if strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
			t.Fatalf("%s: a 416 is marked immutable", name)
		}
		// Several ranges: the cached object answers multipart, the
		// streamed one the whole object; both are correct.
		w = e.get(target, "Range", "bytes=0-9,20-29")
		if w.Code != 206 && w.Code != 200 {
			t.Fatalf("%s: multi-range status %d", name, w.Code)
		}
		if w.Code == 200 && !bytes.Equal(w.Body.Bytes(), obj) {
			t.Fatalf("%s: multi-range full answer wrong", name)
		}
	}
	if e.store.open.Load() != 0 {
		t.Fatalf("%d store bodies left open", e.store.open.Load())
	}
}

func TestHEAD(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"360p/seg_00001.m4s", "1080p/seg_00000.m4s"} {
		key := ginflix.HLSPrefix(vid) + name
		w := e.do("HEAD", e.seg(vid, name))
		expectStatus(t, w, 200)
		if w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(e.objects[key])) || w.Header().Get("ETag") == "" {
			t.Fatalf("%s: HEAD %v, %d body bytes", name, w.Header(), w.Body.Len())
		}
	}
	// A HEAD of the streamed object after the first needs no store read.
	before := e.store.calls()
	expectStatus(t, e.do("HEAD", e.seg(vid, "1080p/seg_00000.m4s")), 200)
	if e.store.calls() != before {
		t.Fatal("HEAD of a known big object read the store")
	}
	w := e.do("HEAD", e.master(vid))
	expectStatus(t, w, 200)
	if w.Body.Len() != 0 || w.Header().Get("Content-Length") == "0" {
		t.Fatal("HEAD of a playlist")
	}
	expectStatus(t, e.do("HEAD", "/stream/videos/"+vid+"/master.m3u8"), 401)
}

func TestETagNotModified(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{e.seg(vid, "360p/seg_00000.m4s"), e.seg(vid, "1080p/seg_00000.m4s"), e.master(vid), e.thumb(vid, "poster.webp")} {
		w := e.get(target)
		expectStatus(t, w, 200)
		etag := w.Header().Get("ETag")
		before := e.store.calls()
		w = e.get(target, "If-None-Match", etag)
		expectStatus(t, w, 304)
		if w.Body.Len() != 0 {
			t.Fatalf("%s: 304 with a body", target)
		}
		if e.store.calls() != before {
			t.Fatalf("%s: a 304 read the store", target)
		}
		expectStatus(t, e.get(target, "If-None-Match", `"something-else"`), 200)
		// Range honours the validator too.
		expectStatus(t, e.get(target, "Range", "bytes=0-9", "If-Range", etag), 206)
	}
	// Rewritten playlists: another token, another body, another tag.
	a := e.get(e.master(vid)).Header().Get("ETag")
	e.clock.Add(time.Second)
	b := e.get(e.master(vid)).Header().Get("ETag")
	if a == b {
		t.Fatal("two viewer tokens' masters share an ETag")
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	target := e.seg(vid, "360p/seg_00000.m4s")

	w := e.do("OPTIONS", target, "Origin", "https://app.example.org", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "range")
	expectStatus(t, w, 204)
	h := w.Header()
	if h.Get("Access-Control-Allow-Origin") != "https://app.example.org" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Range") || h.Get("Access-Control-Max-Age") == "" {
		t.Fatalf("preflight headers %v", h)
	}
	if !contains(h.Values("Vary"), "Origin") {
		t.Fatalf("no Vary: Origin in %v", h)
	}

	w = e.do("OPTIONS", target, "Origin", "https://evil.example.com", "Access-Control-Request-Method", "GET")
	expectStatus(t, w, 403)
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("denied origin allowed")
	}
	expectStatus(t, e.do("OPTIONS", target, "Origin", "https://app.example.org", "Access-Control-Request-Method", "DELETE"), 403)

	w = e.get(target, "Origin", "https://admin.example.org")
	expectStatus(t, w, 200)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://admin.example.org" || !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Content-Range") {
		t.Fatalf("allowed GET headers %v", w.Header())
	}
	w = e.get(target, "Origin", "https://evil.example.com")
	expectStatus(t, w, 200) // served, but the browser will not hand it to the script
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("denied origin got CORS headers")
	}
	// Errors carry CORS headers, so the player can tell a 401 and renew.
	w = e.get("/stream/videos/"+vid+"/master.m3u8", "Origin", "https://app.example.org")
	expectStatus(t, w, 401)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.org" {
		t.Fatal("error without CORS headers")
	}

	any := newEnv(t, func(d *Deps) { d.AllowedOrigins = []string{"*"} })
	w = any.get(any.seg(vid, "360p/seg_00000.m4s"), "Origin", "https://whoever.example")
	if w.Header().Get("Access-Control-Allow-Origin") != "*" || contains(w.Header().Values("Vary"), "Origin") {
		t.Fatalf("wildcard origin headers %v", w.Header())
	}
}

func TestMethodsAndUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	w := e.do("POST", e.seg(vid, "360p/seg_00000.m4s"))
	expectStatus(t, w, 405)
	if w.Header().Get("Allow") != "GET, HEAD, OPTIONS" || errorCode(t, w) != "method_not_allowed" {
		t.Fatalf("405 %v", w.Header())
	}
	expectStatus(t, e.do("DELETE", "/stream/videos/"+vid+"/master.m3u8"), 405)
	expectStatus(t, e.get("/stream/nothing"), 404)
	expectStatus(t, e.get("/api/videos"), 404)
	if e.store.calls() != 0 {
		t.Fatal("the store was read")
	}
	if len(Routes()) != 6 {
		t.Fatalf("routes %v", Routes())
	}
}

func TestNotFoundObjects(t *testing.T) {
	e := newEnv(t)
	const missing = "aaaaaaaaaaaaaaaaaaaaaaaa"
	for _, target := range []string{
		e.master(missing),
		e.seg(missing, "360p/seg_00000.m4s"),
		e.seg(vid, "720p/seg_00000.m4s"),
		e.seg(vid, "360p/seg_00099.m4s"),
		e.thumb(vid, "sprite_7.jpg"),
	} {
		w := e.get(target)
		expectStatus(t, w, 404)
		if errorCode(t, w) != ginflix.ENOTFOUND || strings.Contains(w.Body.String(), "videos/hls") {
			t.Fatalf("%s: %s", target, w.Body.String())
		}
	}
	// Not found is not cached: the object appears, the next request has it.
	e.put(ginflix.HLSPrefix(vid)+"720p/seg_00000.m4s", []byte("late"))
	w := e.get(e.seg(vid, "720p/seg_00000.m4s"))
	expectStatus(t, w, 200)
	if w.Body.String() != "late" {
		t.Fatal(w.Body.String())
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		expectStatus(t, e.get(e.seg(vid, "360p/seg_00000.m4s")), 200)
	}
	expectStatus(t, e.get(e.seg(vid, "1080p/seg_00000.m4s")), 200)
	expectStatus(t, e.get(e.master(vid)), 200)
	e.clock.Add(time.Second) // another viewer token
	expectStatus(t, e.get(e.master(vid)), 200)
	expectStatus(t, e.get(e.seg(vid, "360p/init.mp4")), 200)
	expectStatus(t, e.get(e.thumb(vid, "poster.jpg")), 200)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ginflix_streamer_cache_misses_total", []string{"kind", "segment"}, 2},
		{"ginflix_streamer_cache_hits_total", []string{"kind", "segment"}, 2},
		{"ginflix_streamer_cache_misses_total", []string{"kind", "playlist"}, 1},
		{"ginflix_streamer_cache_hits_total", []string{"kind", "playlist"}, 1},
		{"ginflix_streamer_bytes_served_total", []string{"kind", "segment"}, 3*200*kb + 3*mb},
		{"ginflix_streamer_bytes_served_total", []string{"kind", "init"}, 900},
		{"ginflix_streamer_bytes_served_total", []string{"kind", "image"}, 20 * kb},
		{"ginflix_streamer_active_sessions", nil, 2},
	} {
		if got := metric(t, e.reg, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if metric(t, e.reg, "ginflix_streamer_bytes_served_total", "kind", "playlist") < float64(2*len(masterM3U8)) {
		t.Error("playlist bytes not counted")
	}
	if metric(t, e.reg, "ginflix_streamer_store_seconds", "op", "get", "result", "ok") < 5 {
		t.Error("store latency not observed")
	}
	if got := metric(t, e.reg, "ginflix_streamer_cache_bytes"); got < 200*kb {
		t.Errorf("cache bytes %v", got)
	}
	// Sessions age out after a minute.
	e.clock.Add(61 * time.Second)
	if got := metric(t, e.reg, "ginflix_streamer_active_sessions"); got != 0 {
		t.Errorf("sessions after a minute: %v", got)
	}
}

func TestSessionsAreBounded(t *testing.T) {
	clk := &testClock{t: time.Unix(1e9, 0)}
	s := newSessions(time.Minute, 3, clk.Now)
	for i := range 10 {
		s.touch(strconv.Itoa(i))
	}
	s.touch("0")
	if n := s.count(); n != 3 {
		t.Fatalf("count %d, want the bound 3", n)
	}
	clk.Add(2 * time.Minute)
	s.touch("new")
	if n := s.count(); n != 1 {
		t.Fatalf("count %d after aging", n)
	}
}

func TestRewrite(t *testing.T) {
	in := "#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio/index.m3u8\"\r\n" +
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"720p/iframes.m3u8?x=1\"\r\n" +
		"# a comment with URI=\"nope\"\r\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=1\r\n720p/index.m3u8\r\n" +
		"https://elsewhere.example/x.m3u8\r\n//elsewhere.example/y.m3u8\r\n/stream/videos/z/720p/index.m3u8\r\n\r\n"
	got := string(rewritePlaylist([]byte(in), "token", "T.1"))
	want := "#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio/index.m3u8?token=T.1\"\r\n" +
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"720p/iframes.m3u8?x=1&token=T.1\"\r\n" +
		"# a comment with URI=\"nope\"\r\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=1\r\n720p/index.m3u8?token=T.1\r\n" +
		"https://elsewhere.example/x.m3u8\r\n//elsewhere.example/y.m3u8\r\n/stream/videos/z/720p/index.m3u8?token=T.1\r\n\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	vtt := "WEBVTT\n\nNOTE made by ginflix\n\ncue-1\n00:00.000 --> 00:05.000\nsprite_0.jpg#xywh=0,0,1,1\n\n00:05.000 --> 00:10.000\nhttps://x.example/s.jpg#xywh=0,0,1,1"
	got = string(rewriteStoryboard([]byte(vtt), "vt", "V"))
	want = "WEBVTT\n\nNOTE made by ginflix\n\ncue-1\n00:00.000 --> 00:05.000\nsprite_0.jpg?vt=V#xywh=0,0,1,1\n\n00:05.000 --> 00:10.000\nhttps://x.example/s.jpg#xywh=0,0,1,1"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestSingleRange(t *testing.T) {
	for _, c := range []struct {
		h          string
		start, end int64
		ok         bool
	}{
		{"bytes=0-99", 0, 99, true}, {"bytes=-100", 900, 999, true}, {"bytes=-5000", 0, 999, true},
		{"bytes=500-", 500, 999, true}, {"bytes=990-2000", 990, 999, true}, {"bytes=1000-", 0, 0, false},
		{"bytes=5-1", 0, 0, false}, {"bytes=0-1,3-4", 0, 0, false}, {"items=0-1", 0, 0, false}, {"", 0, 0, false},
	} {
		s, e, ok := singleRange(c.h, 1000)
		if ok != c.ok || ok && (s != c.start || e != c.end) {
			t.Errorf("%q: %d-%d %v", c.h, s, e, ok)
		}
	}
}

func TestNamePatterns(t *testing.T) {
	for _, ok := range []string{"98p", "240p", "1080p", "2160p"} {
		if !validRung.MatchString(ok) {
			t.Errorf("rung %q refused", ok)
		}
	}
	for _, bad := range []string{"p", "0p", "098p", "10800p", "720P", "720", "720p/", ".720p", "720p\x00"} {
		if validRung.MatchString(bad) {
			t.Errorf("rung %q accepted", bad)
		}
	}
	for _, ok := range []string{"seg_00000.m4s", "seg_123456.m4s"} {
		if !validSegment.MatchString(ok) {
			t.Errorf("segment %q refused", ok)
		}
	}
	for _, bad := range []string{"seg_0000.m4s", "seg_00000.mp4", "seg_00000.m4s.tmp", "xseg_00000.m4s", "seg_-0001.m4s"} {
		if validSegment.MatchString(bad) {
			t.Errorf("segment %q accepted", bad)
		}
	}
}
