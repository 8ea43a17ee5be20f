package streamer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/playback"
)

// entryOf returns the cache's entry for key, nil if none.
func entryOf(e *env, key string) *entry {
	c := e.srv.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.items[key]
}

func renderedValues(en *entry) []string {
	var out []string
	if set := en.rendered.Load(); set != nil {
		for _, r := range set.copies {
			if r != nil {
				out = append(out, r.value)
			}
		}
	}
	return out
}

// The rewritten media playlist is kept by video token: every viewer of a
// window gets the same bytes without a rewrite, and the next window's
// token gives new URLs, from the same cached object.
func TestRenderedPlaylistFollowsTheWindow(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.CacheTTL = 5 * time.Hour })
	key := ginflix.HLSPrefix(vid) + "360p/index.m3u8"
	src := e.objects[key]

	vt1 := e.vt(vid)
	w1 := e.get(e.media(vid, "360p"))
	expectStatus(t, w1, 200)
	if want := rewritePlaylist(src, "vt", vt1); !bytes.Equal(w1.Body.Bytes(), want) {
		t.Fatalf("got\n%s\nwant\n%s", w1.Body.String(), want)
	}
	en := entryOf(e, key)
	if en == nil || en.tmpl == nil {
		t.Fatal("the playlist's entry or its template is missing")
	}
	if got := renderedValues(en); len(got) != 1 || got[0] != vt1 {
		t.Fatalf("rendered copies %q, want [%s]", got, vt1)
	}
	// Another viewer, same window: the kept copy, same ETag.
	e.clock.Add(time.Minute)
	w2 := e.get("/stream/videos/" + vid + "/360p/index.m3u8?token=" + e.signer.SignViewer(vid, "user-2", 0))
	expectStatus(t, w2, 200)
	if !bytes.Equal(w2.Body.Bytes(), w1.Body.Bytes()) || w2.Header().Get("ETag") != w1.Header().Get("ETag") {
		t.Fatal("another viewer of the window got other bytes")
	}
	expectStatus(t, e.get(e.media(vid, "360p"), "If-None-Match", w1.Header().Get("ETag")), 304)

	// The next windows: new tokens in the URLs, the object read once.
	var prev []string
	for i := range 3 {
		e.clock.Add(time.Hour)
		vt := e.vt(vid)
		if vt == vt1 || contains(prev, vt) {
			t.Fatal("the video token did not change with the window")
		}
		w := e.get(e.media(vid, "360p"))
		expectStatus(t, w, 200)
		if want := rewritePlaylist(src, "vt", vt); !bytes.Equal(w.Body.Bytes(), want) {
			t.Fatalf("window %d: got\n%s\nwant\n%s", i+1, w.Body.String(), want)
		}
		if strings.Contains(w.Body.String(), vt1) {
			t.Fatal("an old window's token was served")
		}
		if w.Header().Get("ETag") == w1.Header().Get("ETag") {
			t.Fatal("new bytes under the old ETag")
		}
		// The segment URLs work.
		expectStatus(t, e.get(resolve(t, e.media(vid, "360p"), "seg_00000.m4s?vt="+url.QueryEscape(vt))), 200)
		prev = append(prev, vt)
		if got := renderedValues(entryOf(e, key)); len(got) > renderedPerEntry || got[0] != vt {
			t.Fatalf("rendered copies %q", got)
		}
	}
	if n := e.store.getsOf(key); n != 1 {
		t.Fatalf("%d store reads of the playlist", n)
	}
	// The copies are counted in the cache's bytes, and go with the entry.
	_, used, _ := e.srv.cache.stats()
	e.srv.cache.forget(key)
	_, after, _ := e.srv.cache.stats()
	if min := int64(len(src)) + 2*int64(len(src)); used-after < min {
		t.Fatalf("the entry and its copies cost %d bytes, want at least %d", used-after, min)
	}
}

// A re-transcoded playlist (new bytes, new store ETag) is not served from
// the old version's copies, even in the same window with the same token.
func TestRenderedPlaylistNotStaleAfterRetranscode(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.CacheTTL = time.Minute })
	key := ginflix.HLSPrefix(vid) + "360p/index.m3u8"
	vt := e.vt(vid)
	old := e.get(e.media(vid, "360p"))
	expectStatus(t, old, 200)

	fresh := strings.Replace(mediaM3U8, "#EXT-X-ENDLIST", "#EXTINF:4.000000,\nseg_00003.m4s\n#EXT-X-ENDLIST", 1)
	e.clock.Add(time.Second)
	e.put(key, []byte(fresh))
	e.clock.Add(61 * time.Second) // the entry ages out; still the same window here
	if e.vt(vid) != vt {
		t.Skip("the clock crossed a window boundary")
	}
	w := e.get(e.media(vid, "360p"))
	expectStatus(t, w, 200)
	if want := rewritePlaylist([]byte(fresh), "vt", vt); !bytes.Equal(w.Body.Bytes(), want) {
		t.Fatalf("served\n%s\nwant\n%s", w.Body.String(), want)
	}
	if w.Header().Get("ETag") == old.Header().Get("ETag") {
		t.Fatal("the new version has the old ETag")
	}
	expectStatus(t, e.get(e.media(vid, "360p"), "If-None-Match", old.Header().Get("ETag")), 200)

	// A copy rendered from an entry that has since been replaced (a
	// request that was slow to finish) is not kept.
	stale := entryOf(e, key)
	e.srv.cache.forget(key)
	expectStatus(t, e.get(e.media(vid, "360p")), 200)
	_, before, _ := e.srv.cache.stats()
	e.srv.cache.keepRendered(stale, &rendered{value: "other", body: []byte("stale"), etag: `"x"`})
	if _, after, _ := e.srv.cache.stats(); after != before || renderedValues(entryOf(e, key))[0] != vt {
		t.Fatal("a copy of a replaced entry was kept")
	}

	// The master, which keeps a template only, follows a re-transcode too.
	mkey := ginflix.HLSPrefix(vid) + "master.m3u8"
	expectStatus(t, e.get(e.master(vid)), 200)
	e.put(mkey, []byte(strings.Replace(masterM3U8, "1080p/index.m3u8", "720p/index.m3u8", 1)))
	e.clock.Add(61 * time.Second)
	mw := e.get(e.master(vid))
	expectStatus(t, mw, 200)
	if !strings.Contains(mw.Body.String(), "720p/index.m3u8?token=") || strings.Contains(mw.Body.String(), "1080p") {
		t.Fatalf("stale master:\n%s", mw.Body.String())
	}
	if got := renderedValues(entryOf(e, mkey)); len(got) != 0 {
		t.Fatalf("per-viewer masters were kept: %d", len(got))
	}
}

// Storyboards keep copies by the request's own video token.
func TestRenderedStoryboard(t *testing.T) {
	e := newEnv(t)
	key := ginflix.ThumbnailPrefix(vid) + "storyboard.vtt"
	prevVT := e.signer.VideoToken(vid, e.clock.Now().Add(-time.Hour))
	for range 2 {
		for _, vt := range []string{e.vt(vid), prevVT} {
			w := e.get("/stream/thumbnails/" + vid + "/storyboard.vtt?vt=" + vt)
			expectStatus(t, w, 200)
			if want := rewriteStoryboard([]byte(storyboardVTT), "vt", vt); !bytes.Equal(w.Body.Bytes(), want) {
				t.Fatalf("got\n%s\nwant\n%s", w.Body.String(), want)
			}
		}
	}
	if got := renderedValues(entryOf(e, key)); len(got) != 2 {
		t.Fatalf("copies %q", got)
	}
}

// Without room in the cache a playlist is still rewritten, per request.
func TestRewriteWithoutCache(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.CacheBytes = -1 })
	for range 2 {
		w := e.get(e.media(vid, "360p"))
		expectStatus(t, w, 200)
		if want := rewritePlaylist([]byte(mediaM3U8), "vt", e.vt(vid)); !bytes.Equal(w.Body.Bytes(), want) {
			t.Fatalf("got\n%s", w.Body.String())
		}
	}
	if n := e.store.getsOf(ginflix.HLSPrefix(vid) + "360p/index.m3u8"); n != 2 {
		t.Fatalf("%d reads", n)
	}
}

// writeCounter records the size of each Write a response gets.
type writeCounter struct {
	*httptest.ResponseRecorder
	writes []int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.ResponseRecorder.Write(p)
}

// A cached body goes out in one Write without a rate cap, and in paced
// chunks with one, whole or in a range; streamed objects still go through
// the copy buffer.
func TestCachedBodyWrites(t *testing.T) {
	name := "360p/seg_00000.m4s" // 200 KiB, cached
	key := ginflix.HLSPrefix(vid) + name
	for _, rate := range []int64{0, 8 * mb} {
		e := newEnv(t, func(d *Deps) { d.RateLimit = rate })
		expectStatus(t, e.get(e.seg(vid, name)), 200)
		for _, c := range []struct {
			rng  string
			want []byte
		}{
			{"", e.objects[key]},
			{"bytes=1000-", e.objects[key][1000:]},
			{"bytes=10-99999", e.objects[key][10:100000]},
			{"bytes=-5", e.objects[key][200*kb-5:]},
		} {
			r := httptest.NewRequest("GET", e.seg(vid, name), nil)
			if c.rng != "" {
				r.Header.Set("Range", c.rng)
			}
			rec := httptest.NewRecorder()
			wc := &writeCounter{ResponseRecorder: rec}
			e.h.ServeHTTP(wc, r)
			if !bytes.Equal(rec.Body.Bytes(), c.want) {
				t.Fatalf("rate %d, range %q: %d bytes, want %d", rate, c.rng, rec.Body.Len(), len(c.want))
			}
			switch {
			case rate == 0 && len(wc.writes) != 1:
				t.Errorf("range %q: %d writes, want 1", c.rng, len(wc.writes))
			case rate > 0:
				chunk := newBucket(rate).chunk
				if len(wc.writes) < len(c.want)/chunk {
					t.Errorf("rate %d, range %q: %d writes of %d bytes, not paced", rate, c.rng, len(wc.writes), len(c.want))
				}
				for _, n := range wc.writes {
					if n > chunk {
						t.Errorf("a write of %d bytes past the %d-byte chunk", n, chunk)
					}
				}
			}
		}
	}
}

// A whole cached segment (no Range) is paced at the cap too.
func TestRateCapWholeCachedBody(t *testing.T) {
	const rate = 2 * mb
	e := newEnv(t, func(d *Deps) { d.RateLimit = rate; d.MaxCachedObject = 4 * mb })
	name := "1080p/seg_00002.m4s" // 1.5 MiB, cached here
	key := ginflix.HLSPrefix(vid) + name
	expectStatus(t, e.get(e.seg(vid, name), "Range", "bytes=0-0"), 206)
	if data, _ := e.srv.cache.peek(key); data == nil {
		t.Fatal("not cached")
	}
	start := time.Now()
	w := e.get(e.seg(vid, name))
	took := time.Since(start)
	expectStatus(t, w, 200)
	if !bytes.Equal(w.Body.Bytes(), e.objects[key]) {
		t.Fatal("wrong bytes")
	}
	// 1.5 MiB at 2 MiB/s is 0.75 s, less the first burst.
	if took < 600*time.Millisecond || took > 4*time.Second {
		t.Fatalf("1.5 MiB at 2 MiB/s took %v", took)
	}
}

// bodyWriter.ReadFrom leaves a memBody where io.CopyN would, and sends
// only what the limit allows.
func TestMemBodyReadFrom(t *testing.T) {
	data := []byte("0123456789")
	rec := httptest.NewRecorder()
	bw := &bodyWriter{ResponseWriter: rec, ctx: context.Background()}
	m := newMemBody(data)
	m.Seek(2, io.SeekStart)
	n, err := io.CopyN(bw, m, 5)
	if err != nil || n != 5 || rec.Body.String() != "23456" || bw.n != 5 {
		t.Fatalf("copied %d %v %q", n, err, rec.Body.String())
	}
	if pos, _ := m.Seek(0, io.SeekCurrent); pos != 7 {
		t.Fatalf("offset %d", pos)
	}
	if n, err := io.CopyN(bw, m, 10); n != 3 || err != io.EOF {
		t.Fatalf("past the end: %d %v", n, err)
	}
	if n, err := io.Copy(bw, strings.NewReader("abc")); n != 3 || err != nil || !strings.HasSuffix(rec.Body.String(), "789abc") {
		t.Fatalf("other readers: %d %v %q", n, err, rec.Body.String())
	}
}

// A verified viewer token is remembered, yet every request still gets
// exactly VerifyViewer's answer: other video, expiry, forgery.
func TestVerifiedViewersCache(t *testing.T) {
	e := newEnv(t)
	tok := e.signer.SignViewer(vid, "u", 2*time.Minute)
	target := "/stream/videos/" + vid + "/master.m3u8?token=" + tok
	expectStatus(t, e.get(target), 200)
	if n, _ := e.srv.viewers.len(); n != 1 {
		t.Fatalf("%d tokens remembered", n)
	}
	expectStatus(t, e.get(target), 200)
	// Another video with the same token: 403, as ever.
	w := e.get("/stream/videos/" + vid2 + "/master.m3u8?token=" + tok)
	expectStatus(t, w, 403)
	if errorCode(t, w) != ginflix.EFORBIDDEN {
		t.Fatal("code")
	}
	// A token one character off is verified, and refused.
	forged := tok[:len(tok)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(tok, "A")]
	expectStatus(t, e.get("/stream/videos/"+vid+"/master.m3u8?token="+forged), 403)
	// Failures are not remembered.
	if n, _ := e.srv.viewers.len(); n != 1 {
		t.Fatalf("%d tokens remembered", n)
	}
	// Expiry holds for a remembered token.
	e.clock.Add(2*time.Minute + time.Second)
	w = e.get(target)
	expectStatus(t, w, 401)
	if errorCode(t, w) != ginflix.EUNAUTHORIZED {
		t.Fatal("code")
	}
}

func TestVerifiedViewersBounded(t *testing.T) {
	e := newEnv(t)
	c := newVerifiedViewers(e.signer, 20*kb)
	for i := range 500 {
		tok := e.signer.SignViewer(vid, fmt.Sprint("user-", i), 0)
		if err := c.verify(tok, vid); err != nil {
			t.Fatal(err)
		}
		if err := c.verify(tok, vid); err != nil {
			t.Fatal(err)
		}
		if _, b := c.len(); b > 20*kb {
			t.Fatalf("%d bytes over the bound", b)
		}
	}
	if n, _ := c.len(); n < 20 {
		t.Fatalf("only %d kept", n)
	}
	// Expired ones make room first.
	e.clock.Add(time.Hour)
	tok := e.signer.SignViewer(vid, "late", 0)
	if err := c.verify(tok, vid); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.len(); n != 1 {
		t.Fatalf("%d entries after the sweep", n)
	}
}

// The remembered video token is VideoToken(id, now) at every instant,
// across window boundaries and backwards clocks.
func TestVideoTokensExact(t *testing.T) {
	signer, err := playback.ParseKeys("k:" + secret('c'))
	if err != nil {
		t.Fatal(err)
	}
	signer.Window = 7 * time.Second
	c := newVideoTokens(&signer)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rnd := rand.New(rand.NewPCG(1, 2))
	changes := 0
	last := ""
	for i := range 3000 {
		now := t0.Add(time.Duration(i) * 37 * time.Millisecond)
		if i%50 == 0 {
			now = now.Add(-time.Duration(rnd.IntN(20)) * time.Second) // a clock that jumps back
		}
		for _, id := range []string{vid, vid2} {
			want := signer.VideoToken(id, now)
			if got := c.current(id, now); got != want {
				t.Fatalf("%s at %v: %s, want %s", id, now, got, want)
			}
			if id == vid && want != last {
				changes++
				last = want
			}
		}
	}
	if changes < 10 {
		t.Fatalf("%d windows crossed", changes)
	}
}

// Concurrent viewers of many playlists and windows (run with -race).
func TestRenderedConcurrent(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.CacheBytes = 64 * kb })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				id := []string{vid, vid2}[(g+i)%2]
				rung := []string{"360p", "1080p"}[i%2]
				// A viewer token that outlives the test's clock jumps.
				w := e.get("/stream/videos/" + id + "/" + rung + "/index.m3u8?token=" + e.signer.SignViewer(id, "u", 100*time.Hour))
				if w.Code != 200 || !strings.Contains(w.Body.String(), "seg_00001.m4s?vt=") {
					t.Errorf("status %d: %s", w.Code, w.Body.String())
					return
				}
				if g == 0 && i%10 == 0 {
					e.clock.Add(time.Hour)
				}
			}
		}()
	}
	wg.Wait()
	if _, used, _ := e.srv.cache.stats(); used > 64*kb {
		t.Fatalf("cache holds %d bytes", used)
	}
}

// legacyRewritePlaylist and legacyRewriteStoryboard are the rewrites as
// they were before templates: the templates must give the same bytes.
func legacyRewritePlaylist(src []byte, name, value string) []byte {
	var out bytes.Buffer
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
				return `URI="` + legacyAddParam(uri, name, value) + `"`
			})
		case strings.HasPrefix(trimmed, "#"):
		default:
			text = legacyAddParam(trimmed, name, value)
		}
		out.WriteString(text)
		out.WriteString(eol)
	}
	return out.Bytes()
}

func legacyRewriteStoryboard(src []byte, name, value string) []byte {
	var out bytes.Buffer
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
			text = legacyAddParam(trimmed, name, value)
		}
		out.WriteString(text)
		out.WriteString(eol)
	}
	return out.Bytes()
}

func legacyAddParam(ref, name, value string) string {
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

func TestTemplatesMatchTheRewrite(t *testing.T) {
	pieces := []string{
		"#EXTM3U", "#EXT-X-MAP:URI=\"init.mp4\"", "#EXT-X-MAP:URI=\"a b.mp4#frag\",BYTERANGE=\"1@0\"",
		"#EXT-X-MEDIA:URI=\"x?y=1\",URI=\"\",URI=\"https://h/z\"", "  seg_00001.m4s  ", "\tseg.m4s#t=1", "seg.m4s#",
		"https://cdn.example/seg.m4s", "//cdn.example/seg.m4s", "/abs/seg.m4s?q=1&r=2", "%zz bad", "# URI=\"c\"",
		"", "   ", "WEBVTT", "00:00.000 --> 00:05.000", "sprite_0.jpg#xywh=0,0,1,1", "http://[::1", "a:b", "ä/ü.m4s",
		"#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1\"", "#EXT", "#EXTINF:4,", "URI=\"naked\"",
	}
	eols := []string{"\n", "\r\n", ""}
	rnd := rand.New(rand.NewPCG(3, 4))
	check := func(src string) {
		for _, v := range []string{"T.1", "a b&c=d/é", ""} {
			if got, want := rewritePlaylist([]byte(src), "vt", v), legacyRewritePlaylist([]byte(src), "vt", v); !bytes.Equal(got, want) {
				t.Fatalf("playlist %q, value %q:\n got %q\nwant %q", src, v, got, want)
			}
			if got, want := rewriteStoryboard([]byte(src), "vt", v), legacyRewriteStoryboard([]byte(src), "vt", v); !bytes.Equal(got, want) {
				t.Fatalf("storyboard %q, value %q:\n got %q\nwant %q", src, v, got, want)
			}
		}
	}
	check("")
	check(masterM3U8)
	check(mediaM3U8)
	check(storyboardVTT)
	for range 3000 {
		var b strings.Builder
		for range 1 + rnd.IntN(8) {
			b.WriteString(pieces[rnd.IntN(len(pieces))])
			b.WriteString(eols[rnd.IntN(len(eols))])
		}
		check(b.String())
	}
}

// queryParam's one-pair fast path answers as url.ParseQuery does.
func TestQueryParamFastPath(t *testing.T) {
	legacy := func(raw, name string) (string, error) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return "", ginflix.InvalidParam(name, "The query string is not valid.")
		}
		for k, v := range q {
			if k != name {
				return "", ginflix.InvalidParam(truncate(k, 40), "Unknown query parameter; this URL takes only %s.", name)
			}
			if len(v) > 1 {
				return "", ginflix.InvalidParam(name, "Give %s once.", name)
			}
		}
		return q.Get(name), nil
	}
	for _, raw := range []string{
		"", "vt", "vt=", "=x", "=", "vt=abc.def-_", "vt=a%20b", "vt=a+b", "vt=%zz", "v%74=x", "%zz=x", "x=1",
		"vt=a=b", "vt=1&vt=2", "vt=1&x=2", "vt=1;x=2", "vt=1&", "&vt=1", strings.Repeat("k", 60) + "=1",
	} {
		r := &http.Request{URL: &url.URL{RawQuery: raw}}
		got, gerr := queryParam(r, "vt")
		want, werr := legacy(raw, "vt")
		if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) || ginflix.ErrorCode(gerr) != ginflix.ErrorCode(werr) {
			t.Errorf("%q: got %q, %v; want %q, %v", raw, got, gerr, want, werr)
		}
		var ge, we *ginflix.Error
		if gerr != nil {
			ge, we = gerr.(*ginflix.Error), werr.(*ginflix.Error)
			if ge.Param != we.Param {
				t.Errorf("%q: param %q, want %q", raw, ge.Param, we.Param)
			}
		}
	}
}

// A remembered video token gets exactly VerifyVideo's answer at every
// instant: across windows, with clock skew, a clock that jumps back, and
// for tokens of other windows and videos.
func TestVerifiedVideosExact(t *testing.T) {
	for _, skew := range []time.Duration{0, 3 * time.Second} {
		signer, err := playback.ParseKeys("k:" + secret('c'))
		if err != nil {
			t.Fatal(err)
		}
		clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		signer.Window, signer.ClockSkew, signer.Now = 7*time.Second, skew, clock.Now
		c := newVerifiedVideos(&signer)
		rnd := rand.New(rand.NewPCG(5, 6))
		hits := 0
		for i := range 4000 {
			clock.Add(time.Duration(rnd.IntN(300)) * time.Millisecond)
			if i%200 == 0 {
				clock.Add(-time.Duration(rnd.IntN(15)) * time.Second)
			}
			id := []string{vid, vid2}[rnd.IntN(2)]
			// Tokens of the last few windows, the next one, and another video's.
			at := clock.Now().Add(time.Duration(rnd.IntN(40)-28) * time.Second)
			tok := signer.VideoToken([]string{id, id, id, vid2}[rnd.IntN(4)], at)
			wantUntil, wantErr := signer.VerifyVideo(tok, id)
			gotUntil, gotErr := c.verify(tok, id)
			if !gotUntil.Equal(wantUntil) || gotErr != wantErr {
				t.Fatalf("skew %v, %s for %s at %v: %v %v, want %v %v", skew, tok, id, clock.Now(), gotUntil, gotErr, wantUntil, wantErr)
			}
			if gotErr == nil {
				hits++
			}
		}
		if hits < 500 {
			t.Fatalf("only %d valid tokens tried", hits)
		}
	}
}
