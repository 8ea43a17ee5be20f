package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ginflix/ginflix"
)

// AnalyticsConfig configures playback reporting and the analytics API.
// Zero values mean the defaults.
type AnalyticsConfig struct {
	// ViewThreshold is the watch time after which a session counts a view.
	ViewThreshold time.Duration
	// BatchesPerMinute and BatchBurst size the per-user token bucket of
	// POST /api/playback/events (one token per batch). The bucket is per
	// backend process: behind N replicas a user gets up to N times it.
	BatchesPerMinute float64
	BatchBurst       int
	// CountryHeader names the header the trusted proxy or CDN sets to the
	// viewer's ISO country code ("" turns geography off); it is read only
	// when the direct peer is in TrustedProxies.
	CountryHeader  string
	TrustedProxies []netip.Prefix
	// SessionTTL is how long a playback session takes events.
	SessionTTL time.Duration
	// Now is the clock of event bounds; time.Now when nil.
	Now func() time.Time
}

// Defaults of AnalyticsConfig.
const (
	DefaultBatchesPerMinute = 30
	DefaultBatchBurst       = 10
)

// analyticsMetrics is what the prometheus package records of playback
// and counts of requests; optional, so that Metrics stays small.
type analyticsMetrics interface {
	ObservePlayback(out ginflix.PlaybackOutcome)
	CountRejectedBatch(code string)
	RequestTotals() []ginflix.ServiceRequests
}

// analytics is the server's in-process state for playback reporting.
type analytics struct {
	limiter *limiter
	// writers bounds the event batches processed at once to half the
	// cores: events can wait a little, catalogue reads must not queue
	// behind them for the CPU.
	writers chan struct{}
	uploads uploadMeter
	storage storageCache
}

// eventsQueueWait is how long a batch waits for a writer before the
// player is told to come back later (503 with Retry-After).
const eventsQueueWait = 2 * time.Second

func newAnalytics(d *Deps) *analytics {
	rate, burst := d.Analytics.BatchesPerMinute, d.Analytics.BatchBurst
	if rate <= 0 {
		rate = DefaultBatchesPerMinute
	}
	if burst <= 0 {
		burst = DefaultBatchBurst
	}
	a := &analytics{limiter: newLimiter(rate/60, float64(burst)), writers: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
	if d.Uploads != nil {
		d.Uploads = a.uploads.wrap(d.Uploads)
	}
	return a
}

func (s *server) now() time.Time {
	if s.Analytics.Now != nil {
		return s.Analytics.Now()
	}
	return time.Now()
}

func (s *server) analyticsMetrics() analyticsMetrics {
	m, _ := s.Metrics.(analyticsMetrics)
	return m
}

// countryOf is the viewer's country from the configured header, only when
// the request comes straight from a trusted proxy: anyone else could send
// the header themselves. One value, two letters, or nothing.
func (s *server) countryOf(r *http.Request) string {
	a := s.Analytics
	if a.CountryHeader == "" || len(a.TrustedProxies) == 0 {
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	ip = ip.Unmap()
	if !slices.ContainsFunc(a.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		return ""
	}
	values := r.Header.Values(a.CountryHeader)
	if len(values) != 1 {
		return "" // absent, or a client's value next to the proxy's
	}
	return NormalizeCountry(values[0])
}

// NormalizeCountry returns v as an upper-case ISO 3166 alpha-2 code, or ""
// when it is none; XX and ZZ, which CDNs send for "unknown", are none.
func NormalizeCountry(v string) string {
	v = strings.ToUpper(strings.TrimSpace(v))
	if len(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' || v == "XX" || v == "ZZ" {
		return ""
	}
	return v
}

type eventJSON struct {
	Type     string   `json:"type"`
	At       string   `json:"at"`
	Position *float64 `json:"position"`
	Rung     string   `json:"rung"`
	Value    float64  `json:"value"`
	Detail   string   `json:"detail"`
}

type eventsRequest struct {
	Session string      `json:"session"`
	Events  []eventJSON `json:"events"`
}

type eventsResponse struct {
	Accepted int `json:"accepted"`
	// Ignored are replays of events the session already has, and events
	// past the per-session cap.
	Ignored     int  `json:"ignored"`
	ViewCounted bool `json:"viewCounted"`
}

// handlePlaybackEvents takes a batch of one session's events. The work is
// bounded: the rate limit comes before reading the body, the body is at
// most 32 KiB and 50 events, the session is checked from its signature
// alone, and the store applies the batch in one atomic step.
func (s *server) handlePlaybackEvents(w http.ResponseWriter, r *http.Request) {
	out, err := s.playbackEvents(w, r)
	m := s.analyticsMetrics()
	if err != nil {
		if m != nil {
			m.CountRejectedBatch(ginflix.ErrorCode(err))
		}
		s.writeError(w, r, err)
		return
	}
	if m != nil {
		m.ObservePlayback(out)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusAccepted, eventsResponse{Accepted: len(out.Applied), Ignored: out.Ignored, ViewCounted: out.ViewCounted})
}

func (s *server) playbackEvents(w http.ResponseWriter, r *http.Request) (ginflix.PlaybackOutcome, error) {
	var none ginflix.PlaybackOutcome
	p := principal(r)
	now := s.now()
	if ok, wait := s.analytics.limiter.allow(p.Subject, now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return none, ginflix.Errorf(ginflix.ERATELIMITED, "Too many event batches: send the next one in %.0f s.", math.Ceil(wait.Seconds()))
	}
	if s.Playback == nil {
		return none, ginflix.Errorf(ginflix.EUNAVAILABLE, "Playback is not configured on this server.")
	}
	wait := time.NewTimer(eventsQueueWait)
	defer wait.Stop()
	select {
	case s.analytics.writers <- struct{}{}:
		defer func() { <-s.analytics.writers }()
	case <-wait.C:
		w.Header().Set("Retry-After", strconv.Itoa(int(eventsQueueWait/time.Second)))
		return none, ginflix.Errorf(ginflix.EUNAVAILABLE, "The server is busy with other reports: send this batch again in %d s.", int(eventsQueueWait/time.Second))
	case <-r.Context().Done():
		return none, r.Context().Err()
	}
	var req eventsRequest
	if err := decodeJSONLimit(w, r, &req, ginflix.MaxEventBatchBytes); err != nil {
		return none, err
	}
	sess, err := s.Playback.VerifySession(req.Session)
	if err != nil {
		return none, err
	}
	if sess.UserID != p.Subject {
		return none, &ginflix.Error{Code: ginflix.EFORBIDDEN, Param: "session", Message: "This playback session belongs to another user."}
	}
	if len(req.Events) == 0 || len(req.Events) > ginflix.MaxEventsPerBatch {
		return none, ginflix.InvalidParam("events", "Send 1 to %d events per batch.", ginflix.MaxEventsPerBatch)
	}
	events := make([]ginflix.PlaybackEvent, len(req.Events))
	for i, e := range req.Events {
		if e.Position == nil {
			return none, ginflix.InvalidParam(fmt.Sprintf("events[%d].position", i), "Event %d: position (seconds) is required.", i)
		}
		at, err := time.Parse(time.RFC3339Nano, e.At)
		if err != nil {
			return none, ginflix.InvalidParam(fmt.Sprintf("events[%d].at", i), "Event %d: at must be an RFC 3339 time like 2026-12-01T11:00:00.123Z.", i)
		}
		// At the millisecond the stores keep, so that a batch counts the
		// same whether its predecessor was read back or not.
		events[i] = ginflix.PlaybackEvent{Type: ginflix.PlaybackEventType(e.Type), At: at.UTC().Truncate(time.Millisecond), Position: *e.Position,
			Rung: e.Rung, Value: e.Value, Detail: e.Detail}
	}
	if err := ginflix.ValidateEvents(sess, events, now); err != nil {
		return none, err
	}
	sess.Country = s.countryOf(r)
	return s.Store.RecordPlayback(r.Context(), sess, events, ginflix.AnalyticsRules{ViewThreshold: s.Analytics.ViewThreshold})
}

// limiter is a token bucket per key. Keys are signed-in users, so the map
// is bounded by the users; buckets that have refilled are dropped.
type limiter struct {
	mu        sync.Mutex
	rate      float64 // tokens per second
	burst     float64
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(perSecond, burst float64) *limiter {
	return &limiter{rate: perSecond, burst: burst, buckets: map[string]*bucket{}}
}

// allow takes a token of key, or says how long until there is one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// uploadMeter measures upload throughput as this process receives it:
// the bytes of tus PATCH requests over the time spent receiving them, in
// minute buckets over the last hour. The platform records no upload start
// times, so this is the only honest measure it has.
type uploadMeter struct {
	mu      sync.Mutex
	minutes [60]struct {
		minute  int64
		bytes   int64
		seconds float64
	}
}

func (u *uploadMeter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch && r.Header.Get("X-HTTP-Method-Override") != http.MethodPatch {
			h.ServeHTTP(w, r)
			return
		}
		body := &countingReader{r: r.Body}
		r.Body = body
		start := time.Now()
		h.ServeHTTP(w, r)
		u.add(start, body.n, time.Since(start).Seconds())
	})
}

func (u *uploadMeter) add(at time.Time, n int64, secs float64) {
	if n == 0 {
		return
	}
	m := at.Unix() / 60
	u.mu.Lock()
	defer u.mu.Unlock()
	b := &u.minutes[m%60]
	if b.minute != m {
		b.minute, b.bytes, b.seconds = m, 0, 0
	}
	b.bytes += n
	b.seconds += secs
}

// mbps is the throughput of the last hour in MB/s (10^6 bytes), 0 when
// nothing was uploaded.
func (u *uploadMeter) mbps(now time.Time) float64 {
	m := now.Unix() / 60
	u.mu.Lock()
	defer u.mu.Unlock()
	var bytes int64
	var secs float64
	for _, b := range u.minutes {
		if b.minute > m-60 && b.minute <= m {
			bytes += b.bytes
			secs += b.seconds
		}
	}
	if secs <= 0 {
		return 0
	}
	return float64(bytes) / secs / 1e6
}

type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// storagePrefixes are the seed's bucket layout, measured one by one.
var storagePrefixes = []string{ginflix.PrefixOriginal, ginflix.PrefixTranscoded, ginflix.PrefixHLS,
	ginflix.PrefixThumbnails, ginflix.PrefixSubtitles, ginflix.PrefixTemp}

type storageJSON struct {
	Prefix  string `json:"prefix"`
	Bytes   int64  `json:"bytes"`
	Objects int64  `json:"objects"`
	// Complete is false when listing took too long and the sums are partial.
	Complete bool `json:"complete"`
}

// storageCache keeps the last measure of the object store: listing a
// large bucket takes a while, so it runs at most every storageTTL, with a
// deadline, and one at a time.
type storageCache struct {
	run  sync.Mutex // held while measuring
	mu   sync.Mutex
	at   time.Time
	last []storageJSON
}

const (
	storageTTL     = 10 * time.Minute
	storageTimeout = 10 * time.Second
)

func (c *storageCache) get(ctx context.Context, objects ginflix.ObjectStore, now time.Time) ([]storageJSON, time.Time, error) {
	c.mu.Lock()
	if c.last != nil && now.Sub(c.at) < storageTTL {
		defer c.mu.Unlock()
		return c.last, c.at, nil
	}
	c.mu.Unlock()
	c.run.Lock()
	defer c.run.Unlock()
	c.mu.Lock()
	if c.last != nil && now.Sub(c.at) < storageTTL { // measured while we waited
		defer c.mu.Unlock()
		return c.last, c.at, nil
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storageTimeout)
	defer cancel()
	out := make([]storageJSON, 0, len(storagePrefixes))
	for _, p := range storagePrefixes {
		e := storageJSON{Prefix: p, Complete: true}
		err := objects.List(ctx, p, func(o ginflix.ObjectInfo) error {
			e.Bytes += o.Size
			e.Objects++
			return nil
		})
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			e.Complete = false
		} else if err != nil {
			return nil, time.Time{}, err
		}
		out = append(out, e)
	}
	c.mu.Lock()
	c.last, c.at = out, now
	c.mu.Unlock()
	return out, now, nil
}

// window reads from and to (RFC 3339): by default the last 7 days, at
// most MaxAnalyticsRange.
func (s *server) window(r *http.Request) (time.Time, time.Time, error) {
	to, from := s.now().UTC(), time.Time{}
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return from, to, ginflix.InvalidParam(p.name, "%s must be an RFC 3339 time like 2026-12-01T00:00:00Z.", p.name)
			}
			*p.dst = t.UTC()
		}
	}
	if from.IsZero() {
		from = to.Add(-7 * 24 * time.Hour)
	}
	switch {
	case !from.Before(to):
		return from, to, ginflix.InvalidParam("from", "from must be before to.")
	case to.Sub(from) > ginflix.MaxAnalyticsRange:
		return from, to, ginflix.InvalidParam("from", "The window is at most %d days.", int(ginflix.MaxAnalyticsRange.Hours()/24))
	}
	return from, to, nil
}

// hoursOf lists the hour buckets of a window.
func hoursOf(from, to time.Time) []time.Time {
	var out []time.Time
	for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		out = append(out, h)
	}
	return out
}

type periodJSON struct {
	Views         int64   `json:"views"`
	WatchSeconds  float64 `json:"watchSeconds"`
	UniqueViewers int64   `json:"uniqueViewers"`
}

type hourCountJSON struct {
	Hour  time.Time `json:"hour"`
	Count int64     `json:"count"`
}

type transcodeJSON struct {
	Count       int     `json:"count"`
	MeanSeconds float64 `json:"meanSeconds"`
	P95Seconds  float64 `json:"p95Seconds"`
}

type serviceErrorsJSON struct {
	Service  string  `json:"service"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Rate     float64 `json:"rate"`
}

type overviewJSON struct {
	From              time.Time             `json:"from"`
	To                time.Time             `json:"to"`
	ViewersNow        int64                 `json:"viewersNow"`
	Periods           map[string]periodJSON `json:"periods"`
	UploadsPerHour    []hourCountJSON       `json:"uploadsPerHour"`
	Transcode         transcodeJSON         `json:"transcode"`
	UploadThroughput  float64               `json:"uploadThroughputMBps"`
	Storage           []storageJSON         `json:"storage"`
	StorageMeasuredAt time.Time             `json:"storageMeasuredAt"`
	Errors            []serviceErrorsJSON   `json:"errors"`
}

// maxTranscodeSample bounds the jobs the transcoding statistics read.
const maxTranscodeSample = 10000

// handleAnalyticsOverview answers the dashboard's numbers, each from what
// the platform records: sessions and hourly aggregates (viewers, views),
// video creation times (uploads), job start and finish times
// (transcoding), this process's receiving of uploads (throughput, see
// uploadMeter), an object store listing (storage), and this process's own
// request counters since it started (error rates: in a cluster each
// backend only knows its own, and a separate streamer's none, so
// Prometheus is the fleet-wide source).
func (s *server) handleAnalyticsOverview(w http.ResponseWriter, r *http.Request) {
	from, to, err := s.window(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, now := r.Context(), s.now().UTC()
	out := overviewJSON{From: from, To: to, Periods: map[string]periodJSON{}}
	if out.ViewersNow, err = s.Store.ActiveSessions(ctx, now.Add(-ginflix.ActiveViewerWindow)); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Today is the UTC day.
	for name, start := range map[string]time.Time{"today": now.Truncate(24 * time.Hour), "7d": now.Add(-7 * 24 * time.Hour), "30d": now.Add(-30 * 24 * time.Hour)} {
		t, err := s.Store.Totals(ctx, start, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Periods[name] = periodJSON{Views: t.Views, WatchSeconds: t.WatchSeconds, UniqueViewers: t.UniqueViewers}
	}
	uploads, err := s.Store.UploadsPerHour(ctx, from.Truncate(time.Hour), to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	counts := map[time.Time]int64{}
	for _, u := range uploads {
		counts[u.Hour.UTC()] = u.Count
	}
	out.UploadsPerHour = []hourCountJSON{}
	for _, h := range hoursOf(from, to) {
		out.UploadsPerHour = append(out.UploadsPerHour, hourCountJSON{Hour: h, Count: counts[h]})
	}
	secs, err := s.Store.TranscodeSeconds(ctx, from, to, maxTranscodeSample)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(secs) > 0 {
		sort.Float64s(secs)
		var sum float64
		for _, x := range secs {
			sum += x
		}
		// Nearest rank.
		rank := int(math.Ceil(0.95*float64(len(secs)))) - 1
		out.Transcode = transcodeJSON{Count: len(secs), MeanSeconds: sum / float64(len(secs)), P95Seconds: secs[max(rank, 0)]}
	}
	out.UploadThroughput = s.analytics.uploads.mbps(now)
	if s.Objects != nil {
		if out.Storage, out.StorageMeasuredAt, err = s.analytics.storage.get(ctx, s.Objects, now); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	out.Errors = []serviceErrorsJSON{}
	if m := s.analyticsMetrics(); m != nil {
		for _, t := range m.RequestTotals() {
			e := serviceErrorsJSON{Service: t.Service, Requests: t.Requests, Errors: t.Errors}
			if t.Requests > 0 {
				e.Rate = float64(t.Errors) / float64(t.Requests)
			}
			out.Errors = append(out.Errors, e)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

type popularJSON struct {
	VideoID       string  `json:"videoId"`
	Title         string  `json:"title"`
	Views         int64   `json:"views"`
	WatchSeconds  float64 `json:"watchSeconds"`
	UniqueViewers int64   `json:"uniqueViewers"`
	// Deleted: the video is gone; its aggregates stay.
	Deleted bool `json:"deleted,omitempty"`
}

func (s *server) handleAnalyticsPopular(w http.ResponseWriter, r *http.Request) {
	from, to, err := s.window(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ginflix.MaxPageSize {
			s.writeError(w, r, ginflix.InvalidParam("limit", "limit must be between 1 and %d.", ginflix.MaxPageSize))
			return
		}
		limit = n
	}
	top, err := s.Store.TopVideos(r.Context(), from, to, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]popularJSON, 0, len(top))
	for _, t := range top {
		p := popularJSON{VideoID: t.VideoID, Views: t.Views, WatchSeconds: t.WatchSeconds, UniqueViewers: t.UniqueViewers}
		switch v, err := s.Store.Video(r.Context(), t.VideoID); {
		case err == nil:
			p.Title = v.Title
		case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
			p.Deleted = true
		default:
			s.writeError(w, r, err)
			return
		}
		items = append(items, p)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "items": items})
}

type countryJSON struct {
	Country      string  `json:"country"`
	Views        int64   `json:"views"`
	WatchSeconds float64 `json:"watchSeconds"`
}

// handleAnalyticsGeography ranks countries; views of unknown country
// (no trusted header) are the difference with the total, given too.
func (s *server) handleAnalyticsGeography(w http.ResponseWriter, r *http.Request) {
	from, to, err := s.window(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.Store.Countries(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	total, err := s.Store.Totals(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]countryJSON, 0, len(cs))
	known := periodJSON{}
	for _, c := range cs {
		items = append(items, countryJSON{Country: c.Country, Views: c.Views, WatchSeconds: c.WatchSeconds})
		known.Views += c.Views
		known.WatchSeconds += c.WatchSeconds
	}
	unknown := countryJSON{Views: max(0, total.Views-known.Views), WatchSeconds: max(0, total.WatchSeconds-known.WatchSeconds)}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "items": items,
		"unknown": map[string]any{"views": unknown.Views, "watchSeconds": unknown.WatchSeconds}})
}

type seriesJSON struct {
	Hour            time.Time `json:"hour"`
	Views           int64     `json:"views"`
	WatchSeconds    float64   `json:"watchSeconds"`
	RebufferCount   int64     `json:"rebufferCount"`
	RebufferSeconds float64   `json:"rebufferSeconds"`
	Errors          int64     `json:"errors"`
}

type retentionJSON struct {
	Percent int     `json:"percent"`
	Viewers float64 `json:"viewers"`
}

type rungJSON struct {
	Rung    string  `json:"rung"`
	Seconds float64 `json:"seconds"`
}

type errorCountJSON struct {
	Detail string `json:"detail"`
	Count  int64  `json:"count"`
}

type videoAnalyticsJSON struct {
	VideoID               string           `json:"videoId"`
	Title                 string           `json:"title"`
	DurationSeconds       float64          `json:"durationSeconds"`
	From                  time.Time        `json:"from"`
	To                    time.Time        `json:"to"`
	Views                 int64            `json:"views"`
	Sessions              int64            `json:"sessions"`
	WatchSeconds          float64          `json:"watchSeconds"`
	UniqueViewers         int64            `json:"uniqueViewers"`
	Series                []seriesJSON     `json:"series"`
	AveragePercentWatched float64          `json:"averagePercentWatched"`
	Retention             []retentionJSON  `json:"retention"`
	Startup               startupJSON      `json:"startup"`
	RebufferCount         int64            `json:"rebufferCount"`
	RebufferSeconds       float64          `json:"rebufferSeconds"`
	RebufferRatio         float64          `json:"rebufferRatio"`
	Rungs                 []rungJSON       `json:"rungs"`
	Errors                []errorCountJSON `json:"errors"`
}

type startupJSON struct {
	P50Ms  float64 `json:"p50Ms"`
	P95Ms  float64 `json:"p95Ms"`
	MeanMs float64 `json:"meanMs"`
	Count  int64   `json:"count"`
}

func (s *server) handleAnalyticsVideo(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	from, to, err := s.window(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.Store.Video(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hours, err := s.Store.VideoHourly(r.Context(), id, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := videoAnalyticsJSON{VideoID: id, Title: v.Title, DurationSeconds: v.Duration, From: from, To: to}
	if out.UniqueViewers, err = s.Store.UniqueViewers(r.Context(), id, from, to); err != nil {
		s.writeError(w, r, err)
		return
	}
	sum := ginflix.NewHourlyStats(id, from)
	byHour := map[time.Time]*ginflix.HourlyStats{}
	for _, h := range hours {
		byHour[h.Hour.UTC()] = h
		sum.Views += h.Views
		sum.Sessions += h.Sessions
		sum.WatchSeconds += h.WatchSeconds
		sum.PercentSum += h.PercentSum
		sum.StartupCount += h.StartupCount
		sum.StartupMsSum += h.StartupMsSum
		sum.RebufferCount += h.RebufferCount
		sum.RebufferSeconds += h.RebufferSeconds
		sum.Errors += h.Errors
		for i, n := range h.Startup {
			sum.Startup[i] += n
		}
		for i, n := range h.Reached {
			sum.Reached[i] += n
		}
		for k, x := range h.RungSeconds {
			sum.RungSeconds[k] += x
		}
		for k, n := range h.ErrorDetails {
			sum.ErrorDetails[k] += n
		}
	}
	out.Views, out.Sessions, out.WatchSeconds = sum.Views, sum.Sessions, sum.WatchSeconds
	out.Series = []seriesJSON{}
	for _, hr := range hoursOf(from, to) {
		p := seriesJSON{Hour: hr}
		if h := byHour[hr]; h != nil {
			p = seriesJSON{Hour: hr, Views: h.Views, WatchSeconds: h.WatchSeconds, RebufferCount: h.RebufferCount,
				RebufferSeconds: h.RebufferSeconds, Errors: h.Errors}
		}
		out.Series = append(out.Series, p)
	}
	// Retention and average: over the sessions that reported a position
	// (Reached[0]), each at its furthest point.
	out.Retention = make([]retentionJSON, ginflix.RetentionSteps)
	for i := range out.Retention {
		out.Retention[i].Percent = i * ginflix.RetentionStep
		if base := sum.Reached[0]; base > 0 {
			out.Retention[i].Viewers = float64(sum.Reached[i]) / float64(base)
		}
	}
	if base := sum.Reached[0]; base > 0 {
		out.AveragePercentWatched = sum.PercentSum / float64(base)
	}
	out.Startup = startupJSON{Count: sum.StartupCount, P50Ms: ginflix.HistogramPercentile(sum.Startup, 0.5),
		P95Ms: ginflix.HistogramPercentile(sum.Startup, 0.95)}
	if sum.StartupCount > 0 {
		out.Startup.MeanMs = sum.StartupMsSum / float64(sum.StartupCount)
	}
	out.RebufferCount, out.RebufferSeconds = sum.RebufferCount, sum.RebufferSeconds
	// Stalled time over stalled plus playing time.
	if total := sum.WatchSeconds + sum.RebufferSeconds; total > 0 {
		out.RebufferRatio = sum.RebufferSeconds / total
	}
	out.Rungs = []rungJSON{}
	for k, x := range sum.RungSeconds {
		out.Rungs = append(out.Rungs, rungJSON{Rung: k, Seconds: x})
	}
	sort.Slice(out.Rungs, func(i, j int) bool {
		if out.Rungs[i].Seconds != out.Rungs[j].Seconds {
			return out.Rungs[i].Seconds > out.Rungs[j].Seconds
		}
		return out.Rungs[i].Rung < out.Rungs[j].Rung
	})
	out.Errors = []errorCountJSON{}
	for k, n := range sum.ErrorDetails {
		out.Errors = append(out.Errors, errorCountJSON{Detail: k, Count: n})
	}
	sort.Slice(out.Errors, func(i, j int) bool {
		if out.Errors[i].Count != out.Errors[j].Count {
			return out.Errors[i].Count > out.Errors[j].Count
		}
		return out.Errors[i].Detail < out.Errors[j].Detail
	})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
