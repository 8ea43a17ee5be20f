package k8stest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/prometheus"
	"github.com/ginflix/ginflix/streamer"
)

// What the alert rules and the dashboard may read: the series the binary
// exports (read from its own /metrics), the labels Prometheus adds to
// them, and the cAdvisor and kube-state-metrics series the resource rules
// need.

// seriesLabels maps each label of a series name to the values seen.
type seriesLabels map[string]map[string]bool

// The labels the PodMonitor's scrape adds to every ginflix_* series.
var targetLabels = []string{"namespace", "pod", "container", "job", "instance", "endpoint"}

// Series from outside the binary, with their labels as kube-prometheus-stack
// scrapes them (cAdvisor through the kubelet, kube-state-metrics with
// honorLabels). resource's values are the two the rules use.
var externalSeries = map[string]seriesLabels{
	"container_cpu_usage_seconds_total":  labelsOf("namespace", "pod", "container", "id", "image", "name", "cpu", "job", "instance", "node", "endpoint", "service", "metrics_path"),
	"container_memory_working_set_bytes": labelsOf("namespace", "pod", "container", "id", "image", "name", "job", "instance", "node", "endpoint", "service", "metrics_path"),
	"kube_pod_container_resource_limits": func() seriesLabels {
		l := labelsOf("namespace", "pod", "container", "resource", "unit", "node", "uid", "job", "instance", "endpoint", "service")
		l["resource"] = map[string]bool{"cpu": true, "memory": true}
		return l
	}(),
}

func labelsOf(names ...string) seriesLabels {
	l := seriesLabels{}
	for _, n := range names {
		l[n] = nil // nil: any value
	}
	return l
}

var (
	exportedOnce sync.Once
	exported     map[string]seriesLabels
	exportedText string
)

// appSeries is every series name of the binary's /metrics (histograms as
// their _bucket, _sum and _count), after every labelled series has been
// observed once, with the label values seen.
func appSeries(t testing.TB) (map[string]seriesLabels, string) {
	t.Helper()
	exportedOnce.Do(func() {
		m := prometheus.New("test")
		sm, err := streamer.NewMetrics(m)
		if err != nil {
			panic(err)
		}
		api.NewAuditor(nil, slog.New(slog.DiscardHandler), m)
		m.ObserveHTTP("PATCH /api/uploads/{id}", "PATCH", 204, 0.1)
		m.ObserveHTTP("GET /stream/videos/{id}/{rung}/{file}", "GET", 200, 0.01)
		m.CountError("GET /api/videos", "internal")
		m.CountCache(true)
		m.CountCache(false)
		m.ObserveJob(ginflix.JobKindTranscode, true, time.Minute)
		m.ObserveJob(ginflix.JobKindTranscode, false, time.Minute)
		m.CountUpload(1)
		m.CountUploadFailed()
		m.ObservePlayback(ginflix.PlaybackOutcome{Applied: []ginflix.PlaybackEvent{
			{Type: ginflix.EventStart, Value: 800},
			{Type: ginflix.EventRebufferEnd, Value: 1200},
			{Type: ginflix.EventError, Detail: "networkError"},
		}, ViewCounted: true})
		m.CountRejectedBatch("invalid")
		m.SetActiveViewers(3)
		sm.CacheHit("segment")
		sm.CacheMiss("segment")
		sm.CacheEviction()
		sm.CacheBytes(1 << 20)
		sm.BytesServed("segment", 1<<20)
		for _, r := range []string{"ok", "not_found", "error"} {
			sm.ObserveStore("get", r, 0.01)
		}
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		exportedText = string(b)
		exported = parseExposition(exportedText)
	})
	if len(exported) == 0 {
		t.Fatal("the binary exports no metrics")
	}
	return exported, exportedText
}

var (
	sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$`)
	pairRe   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// parseExposition reads the text format's samples: name → label → values.
func parseExposition(text string) map[string]seriesLabels {
	out := map[string]seriesLabels{}
	for _, line := range strings.Split(text, "\n") {
		m := sampleRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := out[m[1]]
		if s == nil {
			s = labelsOf(targetLabels...)
			out[m[1]] = s
		}
		for _, p := range pairRe.FindAllStringSubmatch(m[2], -1) {
			if s[p[1]] == nil {
				s[p[1]] = map[string]bool{}
			}
			s[p[1]][p[2]] = true
		}
	}
	return out
}

// A selector of a PromQL expression: a series name and its matchers.
type selector struct {
	name     string
	matchers []labelMatcher
}

type labelMatcher struct{ label, op, value string }

var (
	braceRe   = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}`)
	matcherRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([0-9]+)"`) // strings numbered
	rangeRe   = regexp.MustCompile(`\[[^\]]*\]`)
	groupRe   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	stringRe  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	identRe   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	keywords  = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true}
)

// parseSelectors finds the selectors of a PromQL expression and the labels
// its by/without/on/ignoring/group_* clauses name. It is no parser (promtool
// parses the expressions, see TestDashboardQueriesParse): it needs every
// selector written name{matchers} or bare.
func parseSelectors(expr string) (sels []selector, grouping []string, err string) {
	// Strings first: a label value may hold braces ("GET /a/{id}").
	var strs []string
	rest := stringRe.ReplaceAllStringFunc(expr, func(s string) string {
		strs = append(strs, s[1:len(s)-1])
		return fmt.Sprintf(`"%d"`, len(strs)-1)
	})
	rest = braceRe.ReplaceAllStringFunc(rest, func(s string) string {
		m := braceRe.FindStringSubmatch(s)
		sel := selector{name: m[1]}
		left := matcherRe.ReplaceAllStringFunc(m[2], func(ms string) string {
			mm := matcherRe.FindStringSubmatch(ms)
			i, _ := strconv.Atoi(mm[3])
			sel.matchers = append(sel.matchers, labelMatcher{mm[1], mm[2], strs[i]})
			return ""
		})
		if strings.Trim(left, ", \n\t") != "" {
			err = "cannot read the matchers {" + m[2] + "}"
		}
		sels = append(sels, sel)
		return " 0 "
	})
	rest = stringRe.ReplaceAllString(rest, " 0 ")
	rest = rangeRe.ReplaceAllString(rest, " ")
	rest = groupRe.ReplaceAllStringFunc(rest, func(s string) string {
		for _, l := range strings.Split(groupRe.FindStringSubmatch(s)[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				grouping = append(grouping, l)
			}
		}
		return " "
	})
	for _, loc := range identRe.FindAllStringIndex(rest, -1) {
		word := rest[loc[0]:loc[1]]
		if keywords[word] {
			continue
		}
		if loc[0] > 0 && strings.ContainsAny(rest[loc[0]-1:loc[0]], "0123456789.") {
			continue // a number's exponent or a duration's unit
		}
		if strings.HasPrefix(strings.TrimLeft(rest[loc[1]:], " \t\n"), "(") {
			continue // a function or an aggregation
		}
		sels = append(sels, selector{name: word})
	}
	return sels, grouping, err
}

// Labels whose values are open (routes, status codes, error codes, the
// target's): any value may be matched. The others' values must be ones the
// binary exports.
var openLabels = map[string]bool{"route": true, "method": true, "status": true, "code": true, "le": true,
	"namespace": true, "pod": true, "container": true, "job": true, "instance": true, "endpoint": true}

// checkSeries reports what in expr the app and its scrape do not have: an
// unknown series name, a label the series has not, a value a closed label
// never takes, a grouping label no selector of the expression has. It
// returns the series names read.
func checkSeries(t testing.TB, where, expr string) []string {
	t.Helper()
	app, _ := appSeries(t)
	sels, grouping, perr := parseSelectors(expr)
	if perr != "" {
		t.Errorf("%s: %s in %s", where, perr, expr)
	}
	if len(sels) == 0 {
		t.Errorf("%s: no series in %s", where, expr)
	}
	all := map[string]bool{}
	var names []string
	for _, s := range sels {
		if s.name == "" {
			t.Errorf("%s: a selector without a series name in %s", where, expr)
			continue
		}
		labels, ok := app[s.name]
		if !ok {
			labels, ok = externalSeries[s.name]
		}
		if !ok {
			t.Errorf("%s reads %s, which neither the binary nor the cluster's exporters export", where, s.name)
			continue
		}
		names = append(names, s.name)
		for l := range labels {
			all[l] = true
		}
		for _, m := range s.matchers {
			values, has := labels[m.label]
			if !has {
				t.Errorf("%s: %s has no label %s", where, s.name, m.label)
				continue
			}
			if m.op == "=" && values != nil && !openLabels[m.label] && !values[m.value] {
				t.Errorf("%s: %s{%s=%q}: the binary exports %s=%v", where, s.name, m.label, m.value, m.label, keys(values))
			}
		}
	}
	for _, l := range grouping {
		if !all[l] {
			t.Errorf("%s: groups by %s, which no series of %s has", where, l, expr)
		}
	}
	return names
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The checker itself: it finds what it must, and refuses what it must.
func TestSeriesChecker(t *testing.T) {
	sels, grouping, err := parseSelectors(`histogram_quantile(0.95, sum by (le, route) (rate(ginflix_http_request_duration_seconds_bucket{namespace="x", route=~"GET /a/{id}"}[5m]))) / on (pod) group_left up offset 1h > 1e3`)
	if err != "" {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sels {
		names = append(names, s.name)
	}
	if strings.Join(names, ",") != "ginflix_http_request_duration_seconds_bucket,up" || strings.Join(grouping, ",") != "le,route,pod" {
		t.Errorf("selectors %v, grouping %v", names, grouping)
	}
	if len(sels[0].matchers) != 2 || sels[0].matchers[1] != (labelMatcher{"route", "=~", "GET /a/{id}"}) {
		t.Errorf("matchers %v", sels[0].matchers)
	}
	for _, bad := range []string{
		`rate(ginflix_http_request_duration_seconds{namespace="x"}[5m])`,           // a histogram's name, not a series
		`ginflix_uploads_total{outcome="failure"}`,                                 // a value the binary never sets
		`ginflix_uploads_total{result="failed"}`,                                   // a label it does not have
		`sum by (kind) (ginflix_uploads_total)`,                                    // a grouping label no series has
		`ginflix_upload_total`,                                                     // a typo
		`max(ginflix_playback_active_viewers) / on (namespace) max(kube_pod_info)`, // not an exporter the rules know
		`{__name__="ginflix_uploads_total"}`,                                       // no name
	} {
		ft := &fakeT{TB: t}
		checkSeries(ft, "bad", bad)
		if !ft.failed {
			t.Errorf("accepted: %s", bad)
		}
	}
	ft := &fakeT{TB: t}
	checkSeries(ft, "good", `sum by (container, code) (rate(ginflix_http_errors_total{namespace="x"}[5m])) / on (namespace, pod, container) sum by (namespace, pod, container) (kube_pod_container_resource_limits{resource="cpu"})`)
	if ft.failed {
		t.Errorf("refused a valid expression: %v", ft.msgs)
	}
}

// fakeT records errors instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
	msgs   []string
}

func (f *fakeT) Errorf(format string, args ...any) {
	f.failed = true
	f.msgs = append(f.msgs, format)
}
func (f *fakeT) Helper() {}
