package streamer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func TestHostilePathsNeverReachTheStore(t *testing.T) {
	e := newEnv(t)
	q := "?vt=" + e.vt(vid)
	v := "/stream/videos/" + vid
	th := "/stream/thumbnails/" + vid
	cases := []struct {
		target string
		status int
	}{
		{"/stream/videos/../../etc/passwd", 400},
		{v + "/../" + vid2 + "/master.m3u8", 400},
		{v + "/360p/../../" + vid2 + "/360p/seg_00000.m4s" + q, 400},
		{v + "/./master.m3u8", 400},
		{"/stream/videos/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/stream/videos/%2E%2E%2F%2E%2E%2Fetc/master.m3u8", 400},
		{v + "/360p/%2e%2e%2f%2e%2e%2fsecret.m4s" + q, 400},
		{th + "/..%2f..%2f..%2fetc%2fpasswd" + q, 400},
		{th + "/%252e%252e/poster.jpg" + q, 400},
		{v + "/360p/seg_00000%2em4s" + q, 400},
		{"/stream/videos//etc/passwd/master.m3u8", 400},
		{"/stream/thumbnails//etc/poster.jpg" + q, 400},
		{v + "//master.m3u8", 400},
		{"/etc/passwd", 404},
		{"/stream/etc/passwd", 404},
		{v + "/360p/seg_00000.m4s%00.jpg" + q, 400},
		{v + "/360p\\..\\..\\seg_00000.m4s" + q, 400},
		{"/stream/videos/" + strings.Repeat("a", 5000) + "/master.m3u8", 414},
		{v + "/360p/seg_00000.m4s?vt=" + strings.Repeat("A", 4000), 414},
		// Unknown extensions and names, bad ids and rungs.
		{v + "/360p/seg_00000.ts" + q, 404},
		{v + "/360p/seg_00000.m4s.bak" + q, 404},
		{v + "/360p/index.m3u8~" + q, 404},
		{v + "/360p/seg_0.m4s" + q, 404},
		{v + "/360p/segment.mp4" + q, 404},
		{v + "/360p/master.m3u8" + q, 404},
		{v + "/360p/.env" + q, 404},
		{th + "/poster.png" + q, 404},
		{th + "/poster.jpg.exe" + q, 404},
		{th + "/sprite_x.jpg" + q, 404},
		{th + "/secret.txt" + q, 404},
		{"/stream/videos/" + strings.ToUpper(vid) + "/master.m3u8", 404},
		{"/stream/videos/" + vid + "0/master.m3u8", 404},
		{"/stream/videos/" + vid[:23] + "/master.m3u8", 404},
		{v + "/720/seg_00000.m4s" + q, 404},
		{v + "/72000p/seg_00000.m4s" + q, 404},
		{v + "/abcp/seg_00000.m4s" + q, 404},
		{v + "/360p/sub/seg_00000.m4s" + q, 404},
		{v + "/master.m3u8/", 404},
		{"/stream/thumbnails/" + vid + "/360p/poster.jpg" + q, 404},
	}
	for _, c := range cases {
		w := e.get(c.target)
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.target, w.Code, c.status)
		} else if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s: not a JSON error", c.target)
		}
	}
	// NUL bytes and control characters after decoding, and absolute-form
	// request targets, built by hand.
	for _, p := range []string{v + "/master.m3u8\x00", v + "/360p/seg_00000.m4s\x00.jpg", v + "/\x01/master.m3u8", th + "/poster.jpg\n"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: p, RawQuery: q[1:]}
		r.RequestURI = ""
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != 400 {
			t.Errorf("%q: status %d", p, w.Code)
		}
	}
	if n := e.store.calls(); n != 0 {
		t.Fatalf("hostile requests made %d store calls", n)
	}

	// Over a real connection, exactly as sent: the HTTP server must not
	// normalise anything before the guard sees it.
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	for _, target := range []string{
		"/stream/videos/%2e%2e/%2e%2e/etc/passwd",
		"/stream/videos/" + vid + "/../" + vid2 + "/master.m3u8",
		"/stream/thumbnails/" + vid + "/%2e%2e%2f%2e%2e%2fetc%2fpasswd" + q,
		"http://evil.example/stream/videos/%2e%2e/master.m3u8",
		"/stream/videos/" + vid + "/360p/seg_00000.m4s%00" + q,
	} {
		status := rawRequest(t, ts.Listener.Addr().String(), target)
		if status != 400 {
			t.Errorf("raw %s: status %d", target, status)
		}
	}
	if n := e.store.calls(); n != 0 {
		t.Fatalf("raw hostile requests made %d store calls", n)
	}
}

// rawRequest sends a request line verbatim and returns the status.
func rawRequest(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: streamer.test\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStoreOutage(t *testing.T) {
	e := newEnv(t)
	targets := []string{e.seg(vid, "360p/seg_00000.m4s"), e.seg(vid, "1080p/seg_00000.m4s"), e.master(vid), e.thumb(vid, "poster.jpg")}
	for _, mode := range []int32{storeHang, storeFail} {
		e.store.mode.Store(mode)
		for _, target := range targets {
			start := time.Now()
			w := e.get(target)
			took := time.Since(start)
			expectStatus(t, w, 503)
			if errorCode(t, w) != ginflix.EUNAVAILABLE || w.Header().Get("Retry-After") == "" {
				t.Fatalf("%s: %s %v", target, w.Body.String(), w.Header())
			}
			if strings.Contains(w.Body.String(), "refused") || strings.Contains(w.Body.String(), "10.0.0.9") {
				t.Fatalf("the cause leaked: %s", w.Body.String())
			}
			if took > 2*time.Second {
				t.Fatalf("%s: the 503 took %v", target, took)
			}
		}
		expectStatus(t, e.get("/stream/ready"), 503)
		expectStatus(t, e.get("/stream/health"), 200) // liveness: no restart for a store outage
	}
	// Recovery without restart: nothing failed was cached.
	e.store.mode.Store(storeUp)
	for _, target := range targets {
		expectStatus(t, e.get(target), 200)
	}
	expectStatus(t, e.get("/stream/ready"), 200)
	if entries, used, flights := e.srv.cache.stats(); flights != 0 || entries == 0 || used <= 0 {
		t.Fatalf("cache after recovery: %d entries, %d bytes, %d flights", entries, used, flights)
	}
	// A streamed object is read per request: an outage then is a 503
	// too, sent before any header of a success, and cached ones still play.
	e.store.mode.Store(storeHang)
	w := e.get(targets[1])
	expectStatus(t, w, 503)
	if w.Header().Get("ETag") != "" || strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("503 with success headers %v", w.Header())
	}
	expectStatus(t, e.get(targets[0]), 200)
	e.store.mode.Store(storeUp)
	expectStatus(t, e.get(targets[1]), 200)
}

// A store that cannot be cancelled (it ignores its context) still gives a
// prompt 503.
func TestStoreIgnoringContext(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.srv.Objects = &stubbornStore{testStore: e.store, release: release}
	start := time.Now()
	w := e.get(e.seg(vid, "360p/seg_00002.m4s"))
	expectStatus(t, w, 503)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %v", took)
	}
	// When the store finally answers, what it hands over is closed.
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for e.store.getsOf(ginflix.HLSPrefix(vid)+"360p/seg_00002.m4s") == 0 || e.store.open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bodies left open", e.store.open.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	expectStatus(t, e.get(e.seg(vid, "360p/seg_00002.m4s")), 200)
}

type stubbornStore struct {
	*testStore
	release chan struct{}
}

func (s *stubbornStore) Get(ctx context.Context, key string, rng *ginflix.ByteRange) (io.ReadCloser, ginflix.ObjectInfo, error) {
	<-s.release
	return s.testStore.Get(context.Background(), key, rng)
}

func TestConcurrentMissesReadOnce(t *testing.T) {
	e := newEnv(t)
	key := ginflix.HLSPrefix(vid) + "360p/seg_00001.m4s"
	gate := make(chan struct{})
	e.store.mu.Lock()
	e.store.gate = gate
	e.store.mu.Unlock()

	const n = 1000
	target := e.seg(vid, "360p/seg_00001.m4s")
	var wg sync.WaitGroup
	results := make([]*discard, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &discard{}
			e.h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
			results[i] = w
		}()
	}
	// Hold the single read until every request waits on it.
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.cache.joined.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests joined", e.srv.cache.joined.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i, w := range results {
		if w.status != 200 || w.n != int64(len(e.objects[key])) {
			t.Fatalf("request %d: %d, %d bytes", i, w.status, w.n)
		}
	}
	if got := e.store.getsOf(key); got != 1 {
		t.Fatalf("%d store reads for %d concurrent misses", got, n)
	}
	if m := metric(t, e.reg, "ginflix_streamer_cache_misses_total", "kind", "segment"); m != 1 {
		t.Fatalf("misses %v", m)
	}
	if h := metric(t, e.reg, "ginflix_streamer_cache_hits_total", "kind", "segment"); h != n-1 {
		t.Fatalf("hits %v", h)
	}
	// And afterwards from memory.
	expectStatus(t, e.get(target), 200)
	if got := e.store.getsOf(key); got != 1 {
		t.Fatalf("%d store reads", got)
	}
}

func TestClientDisconnectMidSegment(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.RateLimit = 256 * kb })
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()

	for _, name := range []string{"1080p/seg_00000.m4s", "1080p/seg_00002.m4s"} { // both streamed, 3 MiB and 1.5 MiB
		key := ginflix.HLSPrefix(vid) + name
		base := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+e.seg(vid, name), nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		got, _ := io.ReadFull(resp.Body, make([]byte, 100*kb))
		if got != 100*kb {
			t.Fatalf("read %d", got)
		}
		cancel()
		resp.Body.Close()
		// The handler notices, stops pacing and reading, and goes away.
		settleGoroutines(t, base)
		deadline := time.Now().Add(5 * time.Second)
		for e.store.open.Load() != 0 || e.srv.limits.len() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d store bodies open, %d connection buckets", e.store.open.Load(), e.srv.limits.len())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if data, _ := e.srv.cache.peek(key); data != nil {
			t.Fatal("a partial object was cached")
		}
	}
	if _, used, flights := e.srv.cache.stats(); flights != 0 || used > 4*kb {
		t.Fatalf("cache holds %d bytes, %d flights after streamed responses only", used, flights)
	}

	// The same from memory: a cached segment paced at the cap.
	name := "360p/seg_00001.m4s"
	key := ginflix.HLSPrefix(vid) + name
	expectStatus(t, e.get(e.seg(vid, name), "Range", "bytes=0-0"), 206)
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+e.seg(vid, name), nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := io.ReadFull(resp.Body, make([]byte, 40*kb)); n != 40*kb {
		t.Fatalf("read %d", n)
	}
	cancel()
	resp.Body.Close()
	settleGoroutines(t, base)
	if data, _ := e.srv.cache.peek(key); !bytes.Equal(data, e.objects[key]) {
		t.Fatal("the cached entry was damaged")
	}
}

// A client that leaves while its object is being cached does not cut the
// fill short: the entry lands whole, and nothing lingers.
func TestClientDisconnectDuringFill(t *testing.T) {
	e := newEnv(t)
	key := ginflix.HLSPrefix(vid) + "360p/seg_00000.m4s"
	e.store.readDelay.Store(int64(20 * time.Millisecond))
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", e.seg(vid, "360p/seg_00000.m4s"), nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	e.srv.cache.fills.Wait()
	e.store.readDelay.Store(0)
	data, ok := e.srv.cache.peek(key)
	if !ok || !bytes.Equal(data, e.objects[key]) {
		t.Fatalf("entry %v with %d bytes", ok, len(data))
	}
	settleGoroutines(t, base)
	if e.store.open.Load() != 0 {
		t.Fatal("store body left open")
	}
}

func TestFailedFillCachesNothing(t *testing.T) {
	e := newEnv(t)
	key := ginflix.HLSPrefix(vid) + "360p/seg_00000.m4s"
	target := e.seg(vid, "360p/seg_00000.m4s")
	e.store.failAfter.Store(50 * kb) // the connection drops mid-object
	w := e.get(target)
	expectStatus(t, w, 503)
	if _, ok := e.srv.cache.peek(key); ok {
		t.Fatal("a failed read left an entry")
	}
	if entries, used, flights := e.srv.cache.stats(); entries != 0 || used != 0 || flights != 0 {
		t.Fatalf("cache %d entries, %d bytes, %d flights", entries, used, flights)
	}
	// A stalled body, too, fails within StoreTimeout and caches nothing.
	e.store.failAfter.Store(0)
	e.store.readDelay.Store(int64(time.Second))
	start := time.Now()
	expectStatus(t, e.get(e.seg(vid, "360p/seg_00001.m4s")), 503)
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("stalled read took %v", took)
	}
	e.store.readDelay.Store(0)
	e.srv.cache.fills.Wait()
	w = e.get(target)
	expectStatus(t, w, 200)
	if !bytes.Equal(w.Body.Bytes(), e.objects[key]) {
		t.Fatal("wrong bytes after recovery")
	}
	if e.store.open.Load() != 0 {
		t.Fatal("store bodies left open")
	}
}

func TestRateCap(t *testing.T) {
	const rate = 2 * mb
	e := newEnv(t, func(d *Deps) { d.RateLimit = rate; d.MaxCachedObject = 4 * mb })
	key := ginflix.HLSPrefix(vid) + "1080p/seg_00000.m4s" // 3 MiB, cached here
	expectStatus(t, e.get(e.seg(vid, "1080p/seg_00000.m4s"), "Range", "bytes=0-0"), 206)
	if data, _ := e.srv.cache.peek(key); data == nil {
		t.Fatal("not cached")
	}
	start := time.Now()
	w := e.get(e.seg(vid, "1080p/seg_00000.m4s"), "Range", "bytes=0-1048575") // 1 MiB
	took := time.Since(start)
	expectStatus(t, w, 206)
	if w.Body.Len() != mb {
		t.Fatalf("%d bytes", w.Body.Len())
	}
	// 1 MiB at 2 MiB/s is half a second, less the first burst.
	if took < 400*time.Millisecond || took > 3*time.Second {
		t.Fatalf("1 MiB at 2 MiB/s took %v", took)
	}

	// Without a cap the same answer is immediate.
	fast := newEnv(t, func(d *Deps) { d.MaxCachedObject = 4 * mb })
	start = time.Now()
	expectStatus(t, fast.get(fast.seg(vid, "1080p/seg_00000.m4s"), "Range", "bytes=0-1048575"), 206)
	if took := time.Since(start); took > 400*time.Millisecond {
		t.Fatalf("uncapped took %v", took)
	}
}

func TestRateCapIsPerConnection(t *testing.T) {
	l := newConnLimits(1 * mb)
	a1, a2, b := l.acquire("10.0.0.1:5000"), l.acquire("10.0.0.1:5000"), l.acquire("10.0.0.2:6000")
	if a1 != a2 || a1 == b || l.len() != 2 {
		t.Fatal("buckets not shared per connection")
	}
	l.release("10.0.0.1:5000")
	l.release("10.0.0.1:5000")
	l.release("10.0.0.2:6000")
	if l.len() != 0 {
		t.Fatalf("%d buckets left", l.len())
	}
	// A waiter gives up with its context.
	bk := newBucket(1 * kb)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := bk.wait(ctx, 1*kb); err != nil {
		t.Fatal(err) // the first burst is free
	}
	if err := bk.wait(ctx, 10*kb); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait: %v", err)
	}
}

func TestLRUEvictionByBytes(t *testing.T) {
	// Room for two 200-ish KiB segments, not three.
	e := newEnv(t, func(d *Deps) { d.CacheBytes = 450 * kb })
	s0, s1, s2 := "360p/seg_00000.m4s", "360p/seg_00001.m4s", "360p/seg_00002.m4s" // 200, 210, 150 KiB
	key := func(n string) string { return ginflix.HLSPrefix(vid) + n }
	expectStatus(t, e.get(e.seg(vid, s0)), 200)
	expectStatus(t, e.get(e.seg(vid, s1)), 200)
	expectStatus(t, e.get(e.seg(vid, s0)), 200) // s0 is now the most recent
	expectStatus(t, e.get(e.seg(vid, s2)), 200) // evicts s1, the least recent
	if _, ok := e.srv.cache.peek(key(s1)); ok {
		t.Fatal("the least recently used entry survived")
	}
	for _, n := range []string{s0, s2} {
		if _, ok := e.srv.cache.peek(key(n)); !ok {
			t.Fatalf("%s was evicted", n)
		}
	}
	if _, used, _ := e.srv.cache.stats(); used > 450*kb {
		t.Fatalf("cache holds %d bytes, over its %d", used, 450*kb)
	}
	if ev := metric(t, e.reg, "ginflix_streamer_cache_evictions_total"); ev != 1 {
		t.Fatalf("evictions %v", ev)
	}
	before := e.store.getsOf(key(s0))
	expectStatus(t, e.get(e.seg(vid, s0)), 200)
	if e.store.getsOf(key(s0)) != before {
		t.Fatal("a cached entry was read again")
	}
	expectStatus(t, e.get(e.seg(vid, s1)), 200)
	if e.store.getsOf(key(s1)) != 2 {
		t.Fatal("the evicted entry was not read again")
	}
	// An object bigger than the whole cache is streamed, not cached.
	expectStatus(t, e.get(e.seg(vid, "1080p/init.mp4")), 200)
	w := e.get(e.seg(vid, "1080p/seg_00002.m4s"))
	expectStatus(t, w, 200)
	if w.Body.Len() != 1536*kb {
		t.Fatalf("%d bytes", w.Body.Len())
	}
	if _, used, _ := e.srv.cache.stats(); used > 450*kb {
		t.Fatalf("cache holds %d bytes", used)
	}
}

func TestCacheTTL(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.CacheTTL = time.Minute })
	key := ginflix.HLSPrefix(vid) + "master.m3u8"
	expectStatus(t, e.get(e.master(vid)), 200)
	expectStatus(t, e.get(e.master(vid)), 200)
	if e.store.getsOf(key) != 1 {
		t.Fatal("not cached")
	}
	// A deleted video stops streaming once its entries age out.
	if err := e.fs.DeletePrefix(context.Background(), ginflix.HLSPrefix(vid)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(61 * time.Second)
	expectStatus(t, e.get(e.master(vid)), 404)
	if e.store.getsOf(key) != 2 {
		t.Fatal("expired entry not read again")
	}
}

func TestStreamedObjectRewritten(t *testing.T) {
	e := newEnv(t)
	name := "1080p/seg_00000.m4s"
	key := ginflix.HLSPrefix(vid) + name
	expectStatus(t, e.get(e.seg(vid, name)), 200)
	// The pipeline rewrites the object: the note of its old size is stale.
	fresh := bytes.Repeat([]byte("new!"), 400*kb) // 1.6 MiB, still streamed
	e.clock.Add(time.Second)
	e.put(key, fresh)
	w := e.get(e.seg(vid, name))
	expectStatus(t, w, 200)
	if !bytes.Equal(w.Body.Bytes(), fresh) {
		t.Fatalf("served %d bytes of the old or a mixed object", w.Body.Len())
	}
	w = e.get(e.seg(vid, name), "Range", "bytes=-4")
	expectStatus(t, w, 206)
	if w.Body.String() != "new!" {
		t.Fatalf("%q", w.Body.String())
	}
	// Deleted: a 404, not the old note's size.
	if err := e.fs.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, e.get(e.seg(vid, name)), 404)
	if _, ok := e.srv.cache.peek(key); ok {
		t.Fatal("the note of a deleted object stays")
	}
}

func TestGracefulShutdownFinishesResponses(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.RateLimit = 2 * mb })
	ts := httptest.NewUnstartedServer(e.h)
	ts.Start()
	defer ts.Close()
	name := "1080p/seg_00002.m4s" // 1.5 MiB: about 0.75 s at the cap
	resp, err := http.Get(ts.URL + e.seg(vid, name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.Config.Shutdown(ctx)
	}()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("response cut by shutdown: %v after %d bytes", err, len(body))
	}
	if !bytes.Equal(body, e.objects[ginflix.HLSPrefix(vid)+name]) {
		t.Fatalf("got %d bytes", len(body))
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
