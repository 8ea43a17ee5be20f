package streamer

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of object, the label of the per-kind metrics.
const (
	kindPlaylist = "playlist"
	kindInit     = "init"
	kindSegment  = "segment"
	kindImage    = "image"
)

// Metrics is what the streamer records; NewMetrics provides it on a
// Prometheus registry. A nil Metrics in Deps records nothing.
type Metrics interface {
	// CacheHit counts a request served from memory, or from a fill
	// another request had already started.
	CacheHit(kind string)
	// CacheMiss counts a request that started an object store read.
	CacheMiss(kind string)
	CacheEviction()
	// CacheBytes is the memory the cache holds, fills in progress included.
	CacheBytes(n int64)
	BytesServed(kind string, n int64)
	// ObserveStore records one object store call: op "get", result "ok",
	// "not_found" or "error".
	ObserveStore(op, result string, seconds float64)
	// ActiveSessions hands over the function that counts the distinct
	// viewer tokens of the last minute, read at scrape time.
	ActiveSessions(count func() int)
}

// Registerer is where NewMetrics registers its collectors: the prometheus
// package's Metrics is one.
type Registerer interface {
	Register(...prometheus.Collector) error
}

// PromMetrics implements Metrics with Prometheus collectors.
type PromMetrics struct {
	hits, misses *prometheus.CounterVec
	evictions    prometheus.Counter
	cacheBytes   prometheus.Gauge
	served       *prometheus.CounterVec
	store        *prometheus.HistogramVec
	sessions     atomic.Pointer[func() int]
}

var _ Metrics = (*PromMetrics)(nil)

// NewMetrics registers the streamer's collectors on reg.
func NewMetrics(reg Registerer) (*PromMetrics, error) {
	m := &PromMetrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_streamer_cache_hits_total",
			Help: "Requests served from the streamer's memory cache (or from a read another request started), by kind of object.",
		}, []string{"kind"}),
		misses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_streamer_cache_misses_total",
			Help: "Requests that started an object store read, by kind of object.",
		}, []string{"kind"}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ginflix_streamer_cache_evictions_total",
			Help: "Objects dropped from the memory cache to make room.",
		}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ginflix_streamer_cache_bytes",
			Help: "Bytes held by the memory cache, reads in progress included.",
		}),
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_streamer_bytes_served_total",
			Help: "Response body bytes sent, by kind of object (playlist, init, segment, image).",
		}, []string{"kind"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ginflix_streamer_store_seconds",
			Help:    "Time for the object store to answer a read (until the first byte), by operation and result.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"op", "result"}),
	}
	sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ginflix_streamer_active_sessions",
		Help: "Distinct viewer tokens that fetched a playlist in the last minute.",
	}, func() float64 {
		if f := m.sessions.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	for _, k := range []string{kindPlaylist, kindInit, kindSegment, kindImage} {
		m.hits.WithLabelValues(k)
		m.misses.WithLabelValues(k)
		m.served.WithLabelValues(k)
	}
	if err := reg.Register(m.hits, m.misses, m.evictions, m.cacheBytes, m.served, m.store, sessions); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *PromMetrics) CacheHit(kind string)  { m.hits.WithLabelValues(kind).Inc() }
func (m *PromMetrics) CacheMiss(kind string) { m.misses.WithLabelValues(kind).Inc() }
func (m *PromMetrics) CacheEviction()        { m.evictions.Inc() }
func (m *PromMetrics) CacheBytes(n int64)    { m.cacheBytes.Set(float64(n)) }
func (m *PromMetrics) BytesServed(kind string, n int64) {
	if n > 0 {
		m.served.WithLabelValues(kind).Add(float64(n))
	}
}
func (m *PromMetrics) ObserveStore(op, result string, seconds float64) {
	m.store.WithLabelValues(op, result).Observe(seconds)
}
func (m *PromMetrics) ActiveSessions(count func() int) { m.sessions.Store(&count) }

// nopMetrics stands in for a nil Metrics.
type nopMetrics struct{}

func (nopMetrics) CacheHit(string)                      {}
func (nopMetrics) CacheMiss(string)                     {}
func (nopMetrics) CacheEviction()                       {}
func (nopMetrics) CacheBytes(int64)                     {}
func (nopMetrics) BytesServed(string, int64)            {}
func (nopMetrics) ObserveStore(string, string, float64) {}
func (nopMetrics) ActiveSessions(func() int)            {}
