package k8stest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The Grafana dashboard (deploy/k8s/monitoring/grafana-dashboard.json), as
// a small model of Grafana's classic dashboard JSON: the fields it uses,
// strictly (an unknown, miscased or duplicate field fails). Panel options
// and field config other than thresholds are Grafana's to interpret.
type grafanaDashboard struct {
	Annotations struct {
		List []struct {
			BuiltIn    int               `json:"builtIn"`
			Datasource grafanaDatasource `json:"datasource"`
			Enable     bool              `json:"enable"`
			Hide       bool              `json:"hide"`
			IconColor  string            `json:"iconColor"`
			Name       string            `json:"name"`
			Type       string            `json:"type"`
		} `json:"list"`
	} `json:"annotations"`
	Description   string         `json:"description"`
	Editable      bool           `json:"editable"`
	GraphTooltip  int            `json:"graphTooltip"`
	ID            *int           `json:"id"`
	Links         []any          `json:"links"`
	Panels        []grafanaPanel `json:"panels"`
	Refresh       string         `json:"refresh"`
	SchemaVersion int            `json:"schemaVersion"`
	Tags          []string       `json:"tags"`
	Templating    struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
	Time struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Timepicker struct{} `json:"timepicker"`
	Timezone   string   `json:"timezone"`
	Title      string   `json:"title"`
	UID        string   `json:"uid"`
	Version    int      `json:"version"`
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaPanel struct {
	ID          int                `json:"id"`
	Type        string             `json:"type"`
	Title       string             `json:"title"`
	Description string             `json:"description"`
	Collapsed   bool               `json:"collapsed"`
	Datasource  *grafanaDatasource `json:"datasource"`
	GridPos     *struct {
		H int `json:"h"`
		W int `json:"w"`
		X int `json:"x"`
		Y int `json:"y"`
	} `json:"gridPos"`
	FieldConfig *struct {
		Defaults struct {
			Unit       string         `json:"unit"`
			Min        *float64       `json:"min"`
			Max        *float64       `json:"max"`
			Decimals   *int           `json:"decimals"`
			Color      map[string]any `json:"color"`
			Custom     map[string]any `json:"custom"`
			Thresholds *struct {
				Mode  string `json:"mode"`
				Steps []struct {
					Color string   `json:"color"`
					Value *float64 `json:"value"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
		Overrides []any `json:"overrides"`
	} `json:"fieldConfig"`
	Options map[string]any  `json:"options"`
	Targets []grafanaTarget `json:"targets"`
	Panels  []grafanaPanel  `json:"panels"` // a row's, when collapsed
}

type grafanaTarget struct {
	Datasource   *grafanaDatasource `json:"datasource"`
	RefID        string             `json:"refId"`
	Expr         string             `json:"expr"`
	LegendFormat string             `json:"legendFormat"`
	Format       string             `json:"format"`
	Instant      bool               `json:"instant"`
	Range        *bool              `json:"range"`
}

type grafanaVariable struct {
	Name       string             `json:"name"`
	Label      string             `json:"label"`
	Type       string             `json:"type"`
	Query      any                `json:"query"` // the plugin id of a datasource variable, a query object otherwise
	Datasource *grafanaDatasource `json:"datasource"`
	Definition string             `json:"definition"`
	Current    map[string]any     `json:"current"`
	Hide       int                `json:"hide"`
	IncludeAll bool               `json:"includeAll"`
	AllValue   string             `json:"allValue"`
	Multi      bool               `json:"multi"`
	Options    []any              `json:"options"`
	Refresh    int                `json:"refresh"`
	Regex      string             `json:"regex"`
	Sort       int                `json:"sort"`
}

// The data source every query uses: the dashboard's variable, never a uid
// of one Grafana.
var templatedDatasource = grafanaDatasource{Type: "prometheus", UID: "${datasource}"}

func dashboardJSON(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, "k8s", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeDashboard(b []byte) (*grafanaDashboard, error) {
	var d grafanaDashboard
	strict, err := kjson.UnmarshalStrict(b, &d)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("strict decoding: %v", strict)
	}
	return &d, nil
}

func dashboard(t testing.TB) *grafanaDashboard {
	t.Helper()
	d, err := decodeDashboard(dashboardJSON(t))
	if err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	return d
}

// allPanels flattens rows: Grafana keeps an open row's panels after it, a
// collapsed row's inside it.
func allPanels(ps []grafanaPanel) []grafanaPanel {
	var out []grafanaPanel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// The Grafana variables a query may use, with a value that makes it valid
// PromQL for promtool: the dashboard's own and Grafana's built-in ones.
var dashboardVarValues = map[string]string{
	"namespace":       "ginflix",
	"route":           ".+",
	"__rate_interval": "5m",
	"__interval":      "1m",
	"__range":         "6h",
}

var varRe = regexp.MustCompile(`\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)`)

// substitute replaces Grafana's variables in a query by test values.
func substitute(t testing.TB, where, expr string, defined map[string]bool) string {
	t.Helper()
	return varRe.ReplaceAllStringFunc(expr, func(v string) string {
		m := varRe.FindStringSubmatch(v)
		name := m[1] + m[2]
		val, ok := dashboardVarValues[name]
		if !ok || (!strings.HasPrefix(name, "__") && !defined[name]) {
			t.Errorf("%s: variable $%s is not defined", where, name)
			return "undefined"
		}
		return val
	})
}

// dashboardQueries are the panels' queries, variables replaced, by
// "panel title / refId".
func dashboardQueries(t testing.TB, d *grafanaDashboard) (names []string, exprs map[string]string) {
	t.Helper()
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	exprs = map[string]string{}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			k := p.Title + " / " + tg.RefID
			if _, dup := exprs[k]; dup {
				t.Errorf("%s: two targets %s", p.Title, tg.RefID)
			}
			exprs[k] = substitute(t, k, tg.Expr, defined)
			names = append(names, k)
		}
	}
	return names, exprs
}

// The dashboard decodes strictly; every panel has a title, a unique id, a
// place on the grid that no other panel takes, and (rows aside) queries on
// the templated data source.
func TestGrafanaDashboard(t *testing.T) {
	d := dashboard(t)
	if d.Title == "" || d.UID == "" || len(d.UID) > 40 {
		t.Errorf("title %q, uid %q: both needed, the uid at most 40 characters", d.Title, d.UID)
	}
	if d.ID != nil {
		t.Errorf("id %d: a provisioned dashboard has none (Grafana assigns it)", *d.ID)
	}
	// Grafana 12's dashboards are schema 41; newer Grafanas migrate it.
	if d.SchemaVersion < 41 {
		t.Errorf("schemaVersion %d: not a current Grafana's", d.SchemaVersion)
	}
	var dsVar *grafanaVariable
	for i, v := range d.Templating.List {
		if v.Type == "datasource" && v.Name == "datasource" {
			dsVar = &d.Templating.List[i]
		}
		if v.Type == "query" && (v.Datasource == nil || *v.Datasource != templatedDatasource) {
			t.Errorf("variable %s: datasource %v, want %v", v.Name, v.Datasource, templatedDatasource)
		}
	}
	if dsVar == nil || dsVar.Query != "prometheus" {
		t.Fatalf("no datasource variable named datasource over the prometheus plugin: %+v", dsVar)
	}
	// No uid but the variable's (and the built-in annotations' Grafana).
	for _, m := range regexp.MustCompile(`"uid":\s*"([^"]*)"`).FindAllStringSubmatch(string(dashboardJSON(t)), -1) {
		if m[1] != "${datasource}" && m[1] != "-- Grafana --" && m[1] != d.UID {
			t.Errorf("a hard-coded uid %q", m[1])
		}
	}
	ids := map[int]string{}
	taken := map[[2]int]string{}
	panels := allPanels(d.Panels)
	if len(panels) < 20 {
		t.Errorf("%d panels", len(panels))
	}
	for _, p := range panels {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.Title == "" {
			t.Errorf("%s: no title", where)
		}
		if p.ID <= 0 {
			t.Errorf("%s: no id", where)
		} else if other, dup := ids[p.ID]; dup {
			t.Errorf("%s: id also of %q", where, other)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g == nil {
			t.Errorf("%s: no gridPos", where)
			continue
		}
		if g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v off Grafana's 24 columns", where, *g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Errorf("%s overlaps %s at (%d, %d)", where, other, x, y)
				}
				taken[[2]int{x, y}] = where
			}
		}
		if p.Type == "row" {
			if len(p.Targets) > 0 || g.H != 1 || g.W != 24 {
				t.Errorf("%s: a row with queries or not a full-width line", where)
			}
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no target", where)
		}
		if p.Datasource == nil || *p.Datasource != templatedDatasource {
			t.Errorf("%s: datasource %v, want %v", where, p.Datasource, templatedDatasource)
		}
		if !slices.Contains([]string{"timeseries", "stat", "heatmap"}, p.Type) {
			t.Errorf("%s: panel type %q", where, p.Type)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: target %q: no refId, a duplicate one or no expr", where, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || *tg.Datasource != templatedDatasource {
				t.Errorf("%s %s: datasource %v, want %v", where, tg.RefID, tg.Datasource, templatedDatasource)
			}
		}
	}
}

// The strict decoding refuses what Grafana would ignore or misread.
func TestDashboardDecoderIsStrict(t *testing.T) {
	good := `{"title": "x", "panels": [{"id": 1, "title": "a"}]}`
	if _, err := decodeDashboard([]byte(good)); err != nil {
		t.Fatalf("valid dashboard refused: %v", err)
	}
	for name, j := range map[string]string{
		"unknown field": `{"title": "x", "panels": [{"id": 1, "titel": "a"}]}`,
		"wrong case":    `{"title": "x", "panels": [{"id": 1, "Title": "a"}]}`,
		"duplicate key": `{"title": "x", "title": "y"}`,
		"wrong type":    `{"title": "x", "panels": [{"id": "one"}]}`,
		"__inputs":      `{"title": "x", "__inputs": [{"name": "DS_PROMETHEUS"}]}`,
	} {
		if _, err := decodeDashboard([]byte(j)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Every series a panel or a variable reads is one the binary exports (or
// cAdvisor and kube-state-metrics, for the resource panels), with the
// labels and values it uses.
func TestDashboardSeriesExist(t *testing.T) {
	d := dashboard(t)
	names, exprs := dashboardQueries(t, d)
	read := map[string]bool{}
	for _, k := range names {
		for _, n := range checkSeries(t, k, exprs[k]) {
			read[n] = true
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		query, _ := q["query"].(string)
		if query != v.Definition {
			t.Errorf("variable %s: query %q, definition %q", v.Name, query, v.Definition)
		}
		m := labelValues.FindStringSubmatch(substitute(t, "variable "+v.Name, query, defined))
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(series, label)", v.Name, query)
			continue
		}
		for _, n := range checkSeries(t, "variable "+v.Name, m[1]) {
			app, _ := appSeries(t)
			if _, ok := app[n][m[2]]; !ok {
				t.Errorf("variable %s: %s has no label %s", v.Name, n, m[2])
			}
		}
	}
	// The issue's metrics, each on the dashboard.
	for _, n := range []string{
		"ginflix_playback_startup_seconds_bucket", "ginflix_playback_rebuffers_total", "ginflix_playback_rebuffer_seconds_total",
		"ginflix_playback_errors_total", "ginflix_playback_active_viewers", "ginflix_playback_views_total",
		"ginflix_uploads_total", "ginflix_upload_bytes_total", "ginflix_job_duration_seconds_bucket",
		"ginflix_http_request_duration_seconds_bucket", "ginflix_http_request_duration_seconds_count",
		"ginflix_streamer_cache_hits_total", "ginflix_streamer_cache_misses_total", "ginflix_streamer_bytes_served_total",
		"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "kube_pod_container_resource_limits",
	} {
		if !read[n] {
			t.Errorf("no panel reads %s", n)
		}
	}
}

// The panels the issue asks for, found by what they compute.
func TestDashboardCoversTheIssue(t *testing.T) {
	_, exprs := dashboardQueries(t, dashboard(t))
	var all []string
	for _, e := range exprs {
		all = append(all, strings.Join(strings.Fields(e), " "))
	}
	for what, re := range map[string]string{
		"request latency p50 by route": `histogram_quantile\(0\.5, sum by \(le, route\) \(rate\(ginflix_http_request_duration_seconds_bucket`,
		"request latency p95 by route": `histogram_quantile\(0\.95, sum by \(le, route\) \(rate\(ginflix_http_request_duration_seconds_bucket`,
		"request latency p99 by route": `histogram_quantile\(0\.99, sum by \(le, route\) \(rate\(ginflix_http_request_duration_seconds_bucket`,
		"5xx ratio per service":        `^sum by \(container\) \(rate\(ginflix_http_request_duration_seconds_count\{[^}]*status=~"5\.\."[^}]*\}\[[^]]+\]\)\) / sum by \(container\) \(rate\(ginflix_http_request_duration_seconds_count`,
		"upload throughput":            `^sum\(rate\(ginflix_upload_bytes_total`,
		"upload outcomes":              `^sum by \(outcome\) \(increase\(ginflix_uploads_total`,
		"transcode duration p50":       `^histogram_quantile\(0\.5, sum by \(le\) \(rate\(ginflix_job_duration_seconds_bucket\{[^}]*kind="transcode"`,
		"transcode duration p95":       `^histogram_quantile\(0\.95, sum by \(le\) \(rate\(ginflix_job_duration_seconds_bucket\{[^}]*kind="transcode"`,
		"startup time p50":             `^histogram_quantile\(0\.5, sum by \(le\) \(rate\(ginflix_playback_startup_seconds_bucket`,
		"startup time p95":             `^histogram_quantile\(0\.95, sum by \(le\) \(rate\(ginflix_playback_startup_seconds_bucket`,
		"rebuffers per minute":         `^sum\(rate\(ginflix_playback_rebuffers_total\{[^}]*\}\[[^]]+\]\)\) \* 60$`,
		"rebuffer seconds":             `^sum\(rate\(ginflix_playback_rebuffer_seconds_total`,
		"playback errors by code":      `^sum by \(code\) \(rate\(ginflix_playback_errors_total`,
		"active viewers":               `^max\(ginflix_playback_active_viewers\{[^}]*\}\)$`,
		"streamer cache hit ratio":     `^sum by \(kind\) \(rate\(ginflix_streamer_cache_hits_total\{[^}]*\}\[[^]]+\]\)\) / \(sum by \(kind\) \(rate\(ginflix_streamer_cache_hits_total\{[^}]*\}\[[^]]+\]\)\) \+ sum by \(kind\) \(rate\(ginflix_streamer_cache_misses_total`,
		"bytes served by kind":         `^sum by \(kind\) \(rate\(ginflix_streamer_bytes_served_total`,
	} {
		re := regexp.MustCompile(re)
		if !slices.ContainsFunc(all, re.MatchString) {
			t.Errorf("no panel of %s (%s)", what, re)
		}
	}
	// Every backend reports the same database-wide number of viewers: a
	// sum would count them once per backend.
	for k, e := range exprs {
		for _, m := range regexp.MustCompile(`(\w*)\s*\(\s*ginflix_playback_active_viewers\b`).FindAllStringSubmatch(e, -1) {
			if m[1] != "max" {
				t.Errorf("%s: %s(ginflix_playback_active_viewers...): aggregate it with max", k, m[1])
			}
		}
	}
}

// The alert table's panels graph the rules' own expressions, namespace
// templated, with the rules' thresholds drawn.
func TestDashboardMatchesAlerts(t *testing.T) {
	d := dashboard(t)
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	type panelExpr struct {
		p    grafanaPanel
		expr string
	}
	var pes []panelExpr
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			pes = append(pes, panelExpr{p, norm(strings.ReplaceAll(tg.Expr, `namespace="$namespace"`, `namespace="ginflix"`))})
		}
	}
	for _, g := range alertRules(t).Spec.Groups {
		for _, r := range g.Rules {
			e := r.Expr.String()
			loc := thresholdRe.FindStringSubmatchIndex(e)
			if loc == nil {
				t.Errorf("%s: no threshold line", r.Alert)
				continue
			}
			ratio, threshold := norm(e[:loc[0]]), e[loc[4]:loc[5]]
			i := slices.IndexFunc(pes, func(pe panelExpr) bool { return pe.expr == ratio })
			if i < 0 {
				t.Errorf("%s: no panel graphs %s", r.Alert, ratio)
				continue
			}
			p := pes[i].p
			var steps []string
			if fc := p.FieldConfig; fc != nil && fc.Defaults.Thresholds != nil {
				for _, s := range fc.Defaults.Thresholds.Steps {
					if s.Value != nil {
						steps = append(steps, fmt.Sprint(*s.Value))
					}
				}
			}
			want := strings.TrimRight(strings.TrimRight(threshold, "0"), ".")
			if !slices.Contains(steps, want) {
				t.Errorf("%s %s: panel %q draws thresholds %v, not %s", r.Labels["severity"], r.Alert, p.Title, steps, threshold)
			}
			if p.FieldConfig.Defaults.Unit != "percentunit" {
				t.Errorf("panel %q: unit %q, want percentunit", p.Title, p.FieldConfig.Defaults.Unit)
			}
		}
	}
}

// Every query parses as PromQL: promtool has no command for a bare
// expression (2.42), so they become recording rules, which promtool check
// rules parses. And the check can fail.
func TestDashboardQueriesParse(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolApt)
	names, exprs := dashboardQueries(t, dashboard(t))
	check := func(names []string, exprs map[string]string) ([]byte, error) {
		type rule struct {
			Record string `json:"record"`
			Expr   string `json:"expr"`
		}
		var rules []rule
		for i, k := range names {
			rules = append(rules, rule{fmt.Sprintf("ginflix_dashboard:query%d", i), exprs[k]})
		}
		b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "dashboard.yaml"), string(b))
		return run(t, dir, promtool, "check", "rules", "dashboard.yaml")
	}
	out, err := check(names, exprs)
	if err != nil {
		t.Fatalf("promtool check rules on the dashboard's queries: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("SUCCESS: %d rules found", len(names))) {
		t.Errorf("promtool did not check the %d queries:\n%s", len(names), out)
	}
	for _, bad := range []string{
		`sum by (kind (rate(ginflix_streamer_cache_hits_total[5m]))`,
		`histogram_quantile(0.95, ginflix_playback_startup_seconds_bucket[5m])`, // a range vector where an instant one goes
		`rate(ginflix_uploads_total{outcome="failed"}[$__rate_interval])`,       // a variable left in
	} {
		if out, err := check([]string{"bad"}, map[string]string{"bad": bad}); err == nil {
			t.Errorf("promtool accepted %s:\n%s", bad, out)
		}
	}
}

// A few panels computed by promtool on known series: the number is the
// one the title promises.
func TestDashboardQueriesWithPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolApt)
	_, exprs := dashboardQueries(t, dashboard(t))
	type sample struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
	type exprTest struct {
		Expr       string   `json:"expr"`
		EvalTime   string   `json:"eval_time"`
		ExpSamples []sample `json:"exp_samples"`
	}
	type series struct {
		Series string `json:"series"`
		Values string `json:"values"`
	}
	type group struct {
		Interval    string     `json:"interval"`
		InputSeries []series   `json:"input_series"`
		ExprTests   []exprTest `json:"promql_expr_test"`
	}
	pod := func(name, pod, labels string) string {
		return name + `{namespace="ginflix",pod="` + pod + `",container="` + strings.Split(pod, "-")[0] + `"` + labels + `}`
	}
	// promtool compares values exactly, and a ratio of rates may be off
	// by its last bit: the values compared are in ten-thousandths, rounded.
	query := func(k string) string {
		e, ok := exprs[k]
		if !ok {
			t.Fatalf("no query %q", k)
		}
		return "round(10000 * (" + e + "))"
	}
	groups := []group{
		{ // Two backends, the same 7 database-wide viewers: 7, not 14.
			InputSeries: []series{
				{pod("ginflix_playback_active_viewers", "backend-a", ""), "7x10"},
				{pod("ginflix_playback_active_viewers", "backend-b", ""), "7x10"},
			},
			ExprTests: []exprTest{
				{query("Active viewers / A"), "10m", []sample{{"{}", 7e4}}},
				{query("Viewers now / A"), "10m", []sample{{"{}", 7e4}}},
			},
		},
		{ // Segments: 30 hits and 20 misses a second on one streamer, 30
			// hits on another: 60 / 80. Playlists: all hits.
			InputSeries: []series{
				{pod("ginflix_streamer_cache_hits_total", "streamer-a", `,kind="segment"`), "0+1800x10"},
				{pod("ginflix_streamer_cache_misses_total", "streamer-a", `,kind="segment"`), "0+1200x10"},
				{pod("ginflix_streamer_cache_hits_total", "streamer-b", `,kind="segment"`), "0+1800x10"},
				{pod("ginflix_streamer_cache_misses_total", "streamer-b", `,kind="segment"`), "0x10"},
				{pod("ginflix_streamer_cache_hits_total", "streamer-a", `,kind="playlist"`), "0+300x10"},
				{pod("ginflix_streamer_cache_misses_total", "streamer-a", `,kind="playlist"`), "0x10"},
			},
			ExprTests: []exprTest{
				{query("Cache hit ratio by kind / A"), "10m", []sample{{`{kind="segment"}`, 0.75e4}, {`{kind="playlist"}`, 1e4}}},
			},
		},
		{ // 100 requests a second on each service; the backend answers 2 %
			// with a 5xx, the streamer none. 6 rebuffers a minute.
			InputSeries: []series{
				{pod("ginflix_http_request_duration_seconds_count", "backend-a", `,route="GET /api/videos",method="GET",status="200"`), "0+5880x10"},
				{pod("ginflix_http_request_duration_seconds_count", "backend-a", `,route="GET /api/videos",method="GET",status="500"`), "0+120x10"},
				{pod("ginflix_http_request_duration_seconds_count", "streamer-a", `,route="GET /stream/videos/{id}/master.m3u8",method="GET",status="200"`), "0+6000x10"},
				{pod("ginflix_playback_rebuffers_total", "backend-a", ""), "0+6x10"},
			},
			ExprTests: []exprTest{
				{query("Error rate per service (5xx) / A"), "10m", []sample{{`{container="backend"}`, 0.02e4}}},
				{query("Requests per service / A"), "10m", []sample{{`{container="backend"}`, 100e4}, {`{container="streamer"}`, 100e4}}},
				{query("Rebuffers per minute / A"), "10m", []sample{{"{}", 6e4}}},
			},
		},
	}
	for i := range groups {
		groups[i].Interval = "1m"
	}
	b, err := yaml.Marshal(map[string]any{"evaluation_interval": "1m", "tests": groups})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tests.yaml"), string(b))
	if out, err := run(t, dir, promtool, "test", "rules", "tests.yaml"); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n%s", err, out, b)
	}
}

// kustomize generates the dashboard's ConfigMap, in the monitoring
// kustomization and so in production: the label the Grafana sidecar
// watches, a name without a hash, the file itself, small enough for
// kubectl apply's last-applied annotation (256 KiB).
func TestDashboardConfigMap(t *testing.T) {
	want := string(dashboardJSON(t))
	for _, k := range []string{"monitoring", "overlays/production"} {
		cm := find[corev1.ConfigMap](t, render(t)[k], "ConfigMap", "ginflix-grafana-dashboard")
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("%s: labels %v: the sidecar selects grafana_dashboard: \"1\"", k, cm.Labels)
		}
		if len(cm.Data) != 1 || cm.Data["ginflix.json"] != want {
			t.Errorf("%s: data keys %v: want ginflix.json, the dashboard file", k, keysOf(cm.Data))
		}
		if n := len(want); n > 200<<10 {
			t.Errorf("%s: %d bytes: too close to the 256 KiB of kubectl apply's annotation", k, n)
		}
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
