package prometheus

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginflix/ginflix"
)

// playbackMetrics are what players report (POST /api/playback/events),
// recorded by the backend that accepts the batch.
type playbackMetrics struct {
	startup         prometheus.Histogram
	rebuffers       prometheus.Counter
	rebufferSeconds prometheus.Counter
	errors          *prometheus.CounterVec
	views           prometheus.Counter
	events          *prometheus.CounterVec
	rejected        *prometheus.CounterVec
	active          prometheus.Gauge
}

func newPlaybackMetrics() *playbackMetrics {
	buckets := make([]float64, len(ginflix.StartupBucketsMs))
	for i, ms := range ginflix.StartupBucketsMs {
		buckets[i] = ms / 1000
	}
	p := &playbackMetrics{
		startup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ginflix_playback_startup_seconds",
			Help:    "Player-reported startup time, from the playback request to the first frame.",
			Buckets: buckets,
		}),
		rebuffers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ginflix_playback_rebuffers_total",
			Help: "Player-reported stalls (rebuffering events that ended).",
		}),
		rebufferSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ginflix_playback_rebuffer_seconds_total",
			Help: "Player-reported time spent stalled.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_playback_errors_total",
			Help: "Player-reported playback errors, by hls.js error type (other for the rest).",
		}, []string{"code"}),
		views: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ginflix_playback_views_total",
			Help: "Views counted (a session past the watched-time threshold).",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_playback_events_total",
			Help: "Playback events received in valid batches: accepted, or ignored (replays, past the per-session cap).",
		}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_playback_event_batches_rejected_total",
			Help: "Playback event batches refused, by error code (invalid, unprocessable, forbidden, rate_limited, too_large).",
		}, []string{"code"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ginflix_playback_active_viewers",
			Help: "Playback sessions with an event in the last minute, database-wide: every backend reports the same value, so aggregate with max, not sum.",
		}),
	}
	for _, r := range []string{"accepted", "ignored"} {
		p.events.WithLabelValues(r)
	}
	for _, c := range []string{"networkError", "mediaError", "keySystemError", "muxError", "otherError", "other"} {
		p.errors.WithLabelValues(c)
	}
	return p
}

func (p *playbackMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{p.startup, p.rebuffers, p.rebufferSeconds, p.errors, p.views, p.events, p.rejected, p.active}
}

// ObservePlayback records the events of one accepted batch.
func (m *Metrics) ObservePlayback(out ginflix.PlaybackOutcome) {
	p := m.playback
	for _, e := range out.Applied {
		switch e.Type {
		case ginflix.EventStart:
			if e.Value > 0 {
				p.startup.Observe(e.Value / 1000)
			}
		case ginflix.EventRebufferEnd:
			p.rebuffers.Inc()
			p.rebufferSeconds.Add(e.Value / 1000)
		case ginflix.EventError:
			p.errors.WithLabelValues(ginflix.PlaybackErrorCode(e.Detail)).Inc()
		}
	}
	if out.ViewCounted {
		p.views.Inc()
	}
	p.events.WithLabelValues("accepted").Add(float64(len(out.Applied)))
	p.events.WithLabelValues("ignored").Add(float64(out.Ignored))
}

// CountRejectedBatch records a refused batch by error code.
func (m *Metrics) CountRejectedBatch(code string) { m.playback.rejected.WithLabelValues(code).Inc() }

// SetActiveViewers sets the active viewers gauge.
func (m *Metrics) SetActiveViewers(n int64) { m.playback.active.Set(float64(n)) }

// requestTotals keeps per-service totals next to the latency histogram, so
// the admin overview can read them without parsing the registry.
type requestTotals struct {
	mu sync.Mutex
	m  map[string]*ginflix.ServiceRequests
}

func (t *requestTotals) add(route string, status int) {
	svc := "backend"
	if _, path, _ := strings.Cut(route, " "); strings.HasPrefix(path, "/stream/") {
		svc = "streamer"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*ginflix.ServiceRequests{}
	}
	r := t.m[svc]
	if r == nil {
		r = &ginflix.ServiceRequests{Service: svc}
		t.m[svc] = r
	}
	r.Requests++
	if status >= 500 {
		r.Errors++
	}
}

// RequestTotals returns this process's request totals of the backend and
// the streamer (zero for a role it does not run), in that order.
func (m *Metrics) RequestTotals() []ginflix.ServiceRequests {
	m.requests.mu.Lock()
	defer m.requests.mu.Unlock()
	out := []ginflix.ServiceRequests{{Service: "backend"}, {Service: "streamer"}}
	for i := range out {
		if r := m.requests.m[out[i].Service]; r != nil {
			out[i] = *r
		}
	}
	return out
}

// CountUploadFailed records an upload whose bytes arrived but which could
// not become a video (storing the original or queueing the job failed).
func (m *Metrics) CountUploadFailed() { m.uploads.WithLabelValues("failed").Inc() }
