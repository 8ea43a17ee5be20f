// Package streamer is the streamer role's HTTP server: it serves /stream/...
// (HLS playlists, init and media segments, posters, sprites and
// storyboards) from the object store, through a bounded in-memory cache.
//
// Playlists need a viewer token (?token=) and are rewritten on the way out:
// the master's media playlist URIs get the same viewer token, a media
// playlist's segment and EXT-X-MAP URIs get the video's current video token
// (?vt=). Everything else needs only a valid video token, the same for all
// viewers of a video in a window, so a CDN in front of the streamer caches
// segments once for everybody. The playback package explains the tokens and
// what a token holder can do; README.md in this folder is the design note.
//
// Requests are checked before the object store is touched: every path
// component must match a strict pattern (24-hex id, rung like 720p, known
// file names), and traversal, encoded characters, NUL bytes and overlong
// URIs are refused outright.
package streamer

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
	"github.com/ginflix/ginflix/playback"
)

// Defaults of the Deps knobs left at zero.
const (
	DefaultCacheBytes      = 256 << 20
	DefaultMaxCachedObject = 8 << 20
	DefaultCacheTTL        = 10 * time.Minute
	DefaultStoreTimeout    = 5 * time.Second
	// sessionWindow is how long a viewer token counts as an active session.
	sessionWindow = time.Minute
	// maxSessions bounds the session tracker's memory (~50 bytes each).
	maxSessions = 200_000
)

// HTTPMetrics records requests like the backend's; the prometheus
// package's Metrics has these methods.
type HTTPMetrics interface {
	ObserveHTTP(route, method string, status int, seconds float64)
	CountError(route, code string)
}

// Deps are what the server needs. Logger, Objects and Signer are required.
type Deps struct {
	Logger  *slog.Logger
	Objects ginflix.ObjectStore
	Signer  *playback.Signer
	// Metrics records cache, bytes, sessions and store latency; nil for
	// none. NewMetrics builds one.
	Metrics Metrics
	// HTTPMetrics records request latency and errors; nil for none.
	HTTPMetrics HTTPMetrics
	// CacheBytes bounds the memory cache, reads in progress included
	// (default 256 MiB; negative turns caching off except for what
	// rewriting needs).
	CacheBytes int64
	// MaxCachedObject is the largest segment or image kept in memory
	// (default 8 MiB); bigger ones are streamed from the store. Playlists
	// and init segments are cached whatever their size, within CacheBytes.
	MaxCachedObject int64
	// CacheTTL is how long a cached object is served before it is read
	// again, which bounds how long a deleted video stays in memory
	// (default 10 minutes).
	CacheTTL time.Duration
	// StoreTimeout bounds each object store call (opening an object, each
	// read of its body): past it the request is a 503 (default 5 s).
	StoreTimeout time.Duration
	// RateLimit caps the bytes per second sent on one connection; 0 is no cap.
	RateLimit int64
	// AllowedOrigins are the web apps' origins ("https://app.example.org")
	// that may read responses from scripts; "*" allows any.
	AllowedOrigins []string
	Now            func() time.Time
}

// server holds the dependencies handlers close over.
type server struct {
	Deps
	mux       *http.ServeMux
	metrics   Metrics
	cache     *cache
	limits    *connLimits // nil without a rate cap
	sessions  *sessions
	viewers   *verifiedViewers
	videoToks *videoTokens
	videos    *verifiedVideos
	origins   map[string]bool
	anyOrigin bool
}

// NewServer returns the streamer's handler with every route of routes.go.
// It panics on missing required Deps: a start-up programming error.
func NewServer(d Deps) http.Handler {
	return newServer(d).handler()
}

func newServer(d Deps) *server {
	if d.Objects == nil {
		panic("streamer: Deps.Objects is nil")
	}
	if err := d.Signer.Validate(); err != nil {
		panic("streamer: " + err.Error())
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.CacheBytes == 0 {
		d.CacheBytes = DefaultCacheBytes
	}
	if d.CacheBytes < 0 {
		d.CacheBytes = 0
	}
	if d.MaxCachedObject <= 0 {
		d.MaxCachedObject = DefaultMaxCachedObject
	}
	if d.CacheTTL <= 0 {
		d.CacheTTL = DefaultCacheTTL
	}
	if d.StoreTimeout <= 0 {
		d.StoreTimeout = DefaultStoreTimeout
	}
	s := &server{Deps: d, mux: http.NewServeMux(), metrics: d.Metrics, origins: map[string]bool{}}
	if s.metrics == nil {
		s.metrics = nopMetrics{}
	}
	for _, o := range d.AllowedOrigins {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "*" {
			s.anyOrigin = true
		} else if o != "" {
			s.origins[strings.ToLower(o)] = true
		}
	}
	s.cache = newCache(cacheConfig{
		maxBytes: d.CacheBytes, ttl: d.CacheTTL, waitLimit: 3 * d.StoreTimeout,
		now: d.Now, metrics: s.metrics, open: s.open,
	})
	if d.RateLimit > 0 {
		s.limits = newConnLimits(d.RateLimit)
	}
	s.sessions = newSessions(sessionWindow, maxSessions, d.Now)
	s.viewers = newVerifiedViewers(d.Signer, maxVerifiedBytes)
	s.videoToks = newVideoTokens(d.Signer)
	s.videos = newVerifiedVideos(d.Signer)
	s.metrics.ActiveSessions(s.sessions.count)
	return s
}

func (s *server) handler() http.Handler {
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern(), rt.handler)
	}
	s.mux.Handle("/", http.HandlerFunc(s.handleUnmatched))
	return httpmw.RequestID(httpmw.Recover(httpmw.Observe(s.cors(s.guard(s.mux)), s.route, s.record), s.onPanic))
}

// open is the one place the server reads the object store: it bounds the
// call by StoreTimeout even if the store ignores its context, records the
// latency, and bounds each later read of the body by StoreTimeout too.
func (s *server) open(ctx context.Context, key string, rng *ginflix.ByteRange) (*storeBody, ginflix.ObjectInfo, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	type result struct {
		rc   io.ReadCloser
		info ginflix.ObjectInfo
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		rc, info, err := s.Objects.Get(ctx, key, rng)
		done <- result{rc, info, err}
	}()
	timer := time.NewTimer(s.StoreTimeout)
	defer timer.Stop()
	select {
	case res := <-done:
		s.metrics.ObserveStore("get", storeResult(res.err), time.Since(start).Seconds())
		if res.err != nil {
			cancel(res.err)
			return nil, ginflix.ObjectInfo{}, storeError(res.err)
		}
		return newStoreBody(res.rc, s.StoreTimeout, cancel), res.info, nil
	case <-timer.C:
		cancel(errStoreTimeout)
		s.metrics.ObserveStore("get", "error", time.Since(start).Seconds())
		// The store may still answer; close what it hands over then.
		go func() {
			if res := <-done; res.err == nil {
				res.rc.Close()
			}
		}()
		return nil, ginflix.ObjectInfo{}, storeError(errStoreTimeout)
	case <-ctx.Done():
		cancel(context.Canceled)
		go func() {
			if res := <-done; res.err == nil {
				res.rc.Close()
			}
		}()
		return nil, ginflix.ObjectInfo{}, context.Cause(ctx)
	}
}

func storeResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
		return "not_found"
	default:
		return "error"
	}
}
