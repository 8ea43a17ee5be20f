// Package prometheus holds the platform's Prometheus metrics. Every role
// registers its metrics here, under the ginflix_ prefix, and serves them
// on /metrics.
package prometheus

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one process's registry and the metrics shared by its roles.
type Metrics struct {
	registry     *prometheus.Registry
	httpDuration *prometheus.HistogramVec
	httpErrors   *prometheus.CounterVec
	cache        *prometheus.CounterVec
	jobSeconds   *prometheus.HistogramVec
	uploads      *prometheus.CounterVec
	uploadBytes  prometheus.Counter
	playback     *playbackMetrics // playback.go
	requests     requestTotals
}

// New returns a registry with Go and process collectors, build info and
// the HTTP metrics.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ginflix_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		httpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_http_errors_total",
			Help: "Error responses, by route pattern and error code.",
		}, []string{"route", "code"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_api_cache_requests_total",
			Help: "Catalogue answers served from the page cache (hit) or computed (miss).",
		}, []string{"result"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ginflix_job_duration_seconds",
			Help:    "Time to run background jobs (transcoding: validate, encode, images, publish), by kind and result.",
			Buckets: []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600, 7200},
		}, []string{"kind", "result"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ginflix_uploads_total",
			Help: "Finished uploads by outcome, succeeded or failed (rate over 1h: uploads per hour).",
		}, []string{"outcome"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ginflix_upload_bytes_total",
			Help: "Bytes of finished uploads (rate: upload throughput).",
		}),
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "ginflix_build_info",
		Help:        "Always 1; labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": goVersion},
	})
	buildInfo.Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, m.httpDuration, m.httpErrors, m.cache, m.jobSeconds, m.uploads, m.uploadBytes,
	)
	// Both outcomes exist from the start, so a failure ratio has a series.
	m.uploads.WithLabelValues("succeeded")
	m.uploads.WithLabelValues("failed")
	m.playback = newPlaybackMetrics()
	reg.MustRegister(m.playback.collectors()...)
	return m
}

// ObserveHTTP records one answered request.
func (m *Metrics) ObserveHTTP(route, method string, status int, seconds float64) {
	m.httpDuration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(seconds)
	m.requests.add(route, status)
}

// CountError records one error response.
func (m *Metrics) CountError(route, code string) {
	m.httpErrors.WithLabelValues(route, code).Inc()
}

// CountCache records one page cache lookup.
func (m *Metrics) CountCache(hit bool) {
	if hit {
		m.cache.WithLabelValues("hit").Inc()
	} else {
		m.cache.WithLabelValues("miss").Inc()
	}
}

// ObserveJob records one finished job.
func (m *Metrics) ObserveJob(kind string, ok bool, took time.Duration) {
	result := "failed"
	if ok {
		result = "succeeded"
	}
	m.jobSeconds.WithLabelValues(kind, result).Observe(took.Seconds())
}

// CountUpload records one finished upload of n bytes.
func (m *Metrics) CountUpload(n int64) {
	m.uploads.WithLabelValues("succeeded").Inc()
	m.uploadBytes.Add(float64(n))
}

// Register adds role-specific collectors.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
