package streamer

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/playback"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const (
	vid  = "0123456789abcdef01234567"
	vid2 = "fedcba9876543210fedcba98"
	kb   = 1 << 10
	mb   = 1 << 20
)

// Store modes of testStore.
const (
	storeUp   = iota
	storeHang // Get blocks until its context ends, like an unreachable host
	storeFail // Get fails at once, like a refused connection
)

// testStore wraps the real filesystem store to count calls, hold bodies
// open/closed accounts, and simulate outages.
type testStore struct {
	ginflix.ObjectStore
	mu    sync.Mutex
	gets  map[string]int
	stats int
	gate  chan struct{} // when set, Get waits for it to close
	last  map[string]*ginflix.ByteRange

	mode      atomic.Int32
	open      atomic.Int64 // bodies handed out and not closed
	failAfter atomic.Int64 // when > 0, bodies fail after this many bytes
	readDelay atomic.Int64 // nanoseconds each body Read sleeps
}

func (s *testStore) Get(ctx context.Context, key string, rng *ginflix.ByteRange) (io.ReadCloser, ginflix.ObjectInfo, error) {
	s.mu.Lock()
	s.gets[key]++
	if s.last == nil {
		s.last = map[string]*ginflix.ByteRange{}
	}
	s.last[key] = rng
	gate := s.gate
	s.mu.Unlock()
	switch s.mode.Load() {
	case storeHang:
		<-ctx.Done()
		return nil, ginflix.ObjectInfo{}, ctx.Err()
	case storeFail:
		return nil, ginflix.ObjectInfo{}, errors.New("dial tcp 10.0.0.9:9000: connect: connection refused")
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ginflix.ObjectInfo{}, ctx.Err()
		}
	}
	rc, info, err := s.ObjectStore.Get(ctx, key, rng)
	if err != nil {
		return nil, info, err
	}
	s.open.Add(1)
	return &testBody{rc: rc, s: s, failAfter: s.failAfter.Load(), delay: time.Duration(s.readDelay.Load())}, info, nil
}

func (s *testStore) Stat(ctx context.Context, key string) (ginflix.ObjectInfo, error) {
	s.mu.Lock()
	s.stats++
	s.mu.Unlock()
	switch s.mode.Load() {
	case storeHang:
		<-ctx.Done()
		return ginflix.ObjectInfo{}, ctx.Err()
	case storeFail:
		return ginflix.ObjectInfo{}, errors.New("connection refused")
	}
	return s.ObjectStore.Stat(ctx, key)
}

func (s *testStore) getsOf(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[key]
}

func (s *testStore) lastRange(key string) *ginflix.ByteRange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[key]
}

// calls counts every read the store served or refused.
func (s *testStore) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.stats
	for _, c := range s.gets {
		n += c
	}
	return n
}

type testBody struct {
	rc        io.ReadCloser
	s         *testStore
	failAfter int64
	delay     time.Duration
	n         int64
	closed    atomic.Bool
}

func (b *testBody) Read(p []byte) (int, error) {
	if b.delay > 0 {
		time.Sleep(b.delay)
	}
	if b.failAfter > 0 && b.n >= b.failAfter {
		return 0, errors.New("connection reset by peer")
	}
	if b.failAfter > 0 && int64(len(p)) > b.failAfter-b.n {
		p = p[:b.failAfter-b.n]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *testBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.s.open.Add(-1)
	}
	return b.rc.Close()
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t       testing.TB
	fs      *filesystem.Store
	store   *testStore
	signer  *playback.Signer
	clock   *testClock
	srv     *server
	h       http.Handler
	reg     *prometheus.Registry
	objects map[string][]byte
}

// Objects of the fake ladder. 360p segments are small enough to cache,
// 1080p seg_00000 and seg_00002 are not (the env caches up to 1 MiB).
var fixture = map[string]int{
	"360p/init.mp4":       900,
	"360p/seg_00000.m4s":  200 * kb,
	"360p/seg_00001.m4s":  210 * kb,
	"360p/seg_00002.m4s":  150 * kb,
	"1080p/init.mp4":      1200,
	"1080p/seg_00000.m4s": 3 * mb,
	"1080p/seg_00001.m4s": 300 * kb,
	"1080p/seg_00002.m4s": 1536 * kb,
}

const masterM3U8 = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2"
1080p/index.m3u8
`

const mediaM3U8 = `#EXTM3U
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
#EXTINF:2.500000,
seg_00002.m4s
#EXT-X-ENDLIST
`

const storyboardVTT = "WEBVTT\n\n1\n00:00:00.000 --> 00:00:05.000\nsprite_0.jpg#xywh=0,0,160,90\n\n" +
	"00:00:05.000 --> 00:00:10.000\nsprite_0.jpg#xywh=160,0,160,90\n\n" +
	"00:00:10.000 --> 00:00:15.000\nsprite_1.jpg#xywh=0,0,160,90\n"

func secret(c byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{c}, 32)) }

func newEnv(t testing.TB, opts ...func(*Deps)) *env {
	t.Helper()
	fs, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	e := &env{t: t, fs: fs, store: &testStore{ObjectStore: fs, gets: map[string]int{}}, objects: map[string][]byte{},
		clock: &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	rnd := rand.New(rand.NewChaCha8([32]byte{1}))
	for _, id := range []string{vid, vid2} {
		e.put(ginflix.HLSPrefix(id)+"master.m3u8", []byte(masterM3U8))
		for _, rung := range []string{"360p", "1080p"} {
			e.put(ginflix.HLSPrefix(id)+rung+"/index.m3u8", []byte(mediaM3U8))
		}
		for name, size := range fixture {
			b := make([]byte, size)
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			e.put(ginflix.HLSPrefix(id)+name, b)
		}
		for name, size := range map[string]int{"poster.jpg": 20 * kb, "poster.webp": 15 * kb, "sprite_0.jpg": 50 * kb, "sprite_1.jpg": 40 * kb} {
			b := make([]byte, size)
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			e.put(ginflix.ThumbnailPrefix(id)+name, b)
		}
		e.put(ginflix.ThumbnailPrefix(id)+"storyboard.vtt", []byte(storyboardVTT))
	}

	signer, err := playback.ParseKeys("k2:" + secret('b') + ",k1:" + secret('a'))
	if err != nil {
		t.Fatal(err)
	}
	signer.Now, signer.ClockSkew = e.clock.Now, 0
	e.signer = &signer
	e.reg = prometheus.NewRegistry()
	m, err := NewMetrics(registry{e.reg})
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{
		Objects: e.store, Signer: e.signer, Metrics: m,
		CacheBytes: 16 * mb, MaxCachedObject: 1 * mb, StoreTimeout: 300 * time.Millisecond,
		AllowedOrigins: []string{"https://app.example.org", "https://admin.example.org"},
		Now:            e.clock.Now,
	}
	for _, o := range opts {
		o(&d)
	}
	e.srv = newServer(d)
	e.h = e.srv.handler()
	t.Cleanup(func() { e.srv.cache.fills.Wait() })
	return e
}

func (e *env) put(key string, b []byte) {
	e.t.Helper()
	if err := e.fs.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), ginflix.ContentTypeFor(key)); err != nil {
		e.t.Fatal(err)
	}
	e.objects[key] = b
}

func (e *env) viewer(id string) string { return e.signer.SignViewer(id, "user-1", 0) }
func (e *env) vt(id string) string     { return e.signer.VideoToken(id, e.clock.Now()) }

// Target paths of the fake ladder with their tokens.
func (e *env) master(id string) string {
	return "/stream/videos/" + id + "/master.m3u8?token=" + e.viewer(id)
}
func (e *env) media(id, rung string) string {
	return "/stream/videos/" + id + "/" + rung + "/index.m3u8?token=" + e.viewer(id)
}
func (e *env) seg(id, name string) string {
	return "/stream/videos/" + id + "/" + name + "?vt=" + e.vt(id)
}
func (e *env) thumb(id, file string) string {
	return "/stream/thumbnails/" + id + "/" + file + "?vt=" + e.vt(id)
}

// do serves one request in memory; hdr alternates names and values.
func (e *env) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *env) get(target string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(http.MethodGet, target, hdr...)
}

func expectStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %.300s", w.Code, status, w.Body.String())
	}
}

// errorCode reads the JSON error answer.
func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error struct {
			Code, Message, RequestID string
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if body.Error.Message == "" || body.Error.RequestID == "" {
		t.Fatalf("error body %q lacks message or request id", w.Body.String())
	}
	return body.Error.Code
}

// resolve turns a playlist URI into the target it names from base.
func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse("http://streamer.test" + base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(r).RequestURI()
}

// registry adapts a *prometheus.Registry to Registerer.
type registry struct{ *prometheus.Registry }

func (r registry) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := r.Registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// metric reads a counter, gauge or histogram count from the registry.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// settleGoroutines waits for the goroutine count to come back to base.
func settleGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// discard is a ResponseWriter that keeps nothing but the status and size.
type discard struct {
	h      http.Header
	status int
	n      int64
}

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) WriteHeader(s int) {
	if d.status == 0 {
		d.status = s
	}
}
func (d *discard) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	d.n += int64(len(p))
	return len(p), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
