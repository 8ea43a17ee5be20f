package k8stest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/streamer"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const promtoolApt = "apt-get install prometheus (Debian's package ships promtool), or scripts/apt-install.sh promtool=prometheus"

func alertRules(t *testing.T) *monitoringv1.PrometheusRule {
	return find[monitoringv1.PrometheusRule](t, render(t)["monitoring"], "PrometheusRule", "ginflix-alerts")
}

// writeRuleFile turns the PrometheusRule into a Prometheus rule file, as
// the operator does.
func writeRuleFile(t *testing.T, dir string) string {
	b, err := yaml.Marshal(map[string]any{"groups": alertRules(t).Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "rules.yaml")
	writeFile(t, p, string(b))
	return p
}

// The seed's table: each alert at each severity, with its threshold and
// duration. Upload failures are measured at the two points where a
// received upload fails: finishing it, and transcoding it.
func TestAlertTable(t *testing.T) {
	type key struct{ alert, severity string }
	got := map[key]monitoringv1.Rule{}
	for _, g := range alertRules(t).Spec.Groups {
		for _, r := range g.Rules {
			if _, dup := got[key{r.Alert, r.Labels["severity"]}]; dup {
				t.Errorf("two %s %s", r.Labels["severity"], r.Alert)
			}
			got[key{r.Alert, r.Labels["severity"]}] = r
		}
	}
	for _, w := range []struct {
		alert, severity, threshold, dur string
	}{
		{"GinflixContainerCPUHigh", "warning", "> 0.8", "2m"},
		{"GinflixContainerCPUHigh", "critical", "> 0.8", "5m"},
		{"GinflixContainerMemoryHigh", "warning", "> 0.9", "1m"},
		{"GinflixContainerMemoryHigh", "critical", "> 0.9", "3m"},
		{"GinflixUploadsFailing", "warning", "> 0.05", "5m"},
		{"GinflixUploadsFailing", "critical", "> 0.10", "5m"},
		{"GinflixUploadProcessingFailing", "warning", "> 0.05", "5m"},
		{"GinflixUploadProcessingFailing", "critical", "> 0.10", "5m"},
		{"GinflixStreamErrors", "warning", "> 0.02", "5m"},
		{"GinflixStreamErrors", "critical", "> 0.05", "5m"},
	} {
		r, ok := got[key{w.alert, w.severity}]
		if !ok {
			t.Errorf("no %s %s", w.severity, w.alert)
			continue
		}
		if th := thresholdRe.FindStringSubmatch(r.Expr.String()); th == nil || "> "+th[2] != w.threshold {
			t.Errorf("%s %s: threshold %v in %s, want %s", w.severity, w.alert, th, r.Expr.String(), w.threshold)
		}
		if r.For == nil || string(*r.For) != w.dur {
			t.Errorf("%s %s: for %v, want %s", w.severity, w.alert, r.For, w.dur)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s %s: no summary or description", w.severity, w.alert)
		}
	}
	if len(got) != 10 {
		t.Errorf("%d alerts, want the table's 10", len(got))
	}
}

// The threshold of a rule (the line "  > 0.8" after the ratio) and its
// minimum traffic ("and ... >= 100").
var (
	thresholdRe = regexp.MustCompile(`(?m)^(\s*)> ([0-9.]+)$`)
	minimumRe   = regexp.MustCompile(`(?m)(>= )([0-9.]+)$`)
)

// The series the rules read are ones the binary (or cAdvisor and
// kube-state-metrics) exports, with the labels and values the rules use;
// the route patterns they match are real routes.
func TestAlertRulesMatchTheApp(t *testing.T) {
	_, exposition := appSeries(t)
	for _, s := range []string{
		`ginflix_http_request_duration_seconds_count{method="PATCH",route="PATCH /api/uploads/{id}",status="204"}`,
		`ginflix_job_duration_seconds_count{kind="transcode",result="failed"}`,
		`ginflix_uploads_total{outcome="failed"}`,
		`ginflix_uploads_total{outcome="succeeded"}`,
	} {
		if !strings.Contains(exposition, s) {
			t.Errorf("the binary does not export %s", s)
		}
	}
	routes := append(api.Routes(), streamer.Routes()...)
	want := map[string][]string{
		`GET /stream/(videos|thumbnails)/.*`: {"GET /stream/thumbnails/{id}/{file}", "GET /stream/videos/{id}/master.m3u8", "GET /stream/videos/{id}/{rung}/{file}"},
	}
	seen := map[string]bool{}
	for _, g := range alertRules(t).Spec.Groups {
		for _, r := range g.Rules {
			expr := r.Expr.String()
			checkSeries(t, r.Alert+" "+r.Labels["severity"], expr)
			for _, mm := range regexp.MustCompile(`route=~"([^"]+)"`).FindAllStringSubmatch(expr, -1) {
				re := regexp.MustCompile("^(?:" + mm[1] + ")$") // PromQL anchors its regexes
				var matched []string
				for _, rt := range routes {
					if re.MatchString(rt) {
						matched = append(matched, rt)
					}
				}
				sort.Strings(matched)
				w, ok := want[mm[1]]
				if !ok {
					t.Errorf("%s: route regex %s: add it to this test", r.Alert, mm[1])
				} else if !slices.Equal(matched, w) {
					t.Errorf("%s: route=~%q matches %v, want %v", r.Alert, mm[1], matched, w)
				}
				seen[mm[1]] = true
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("route regexes used: %v", seen)
	}
}

// promtool checks the rules and runs unit tests on them: each alert fires
// just above its threshold after exactly its duration, at its severity,
// not just below, and clears when the ratio falls back.
func TestAlertRulesWithPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolApt)
	dir := t.TempDir()
	rules := writeRuleFile(t, dir)
	if out, err := run(t, dir, promtool, "check", "rules", rules); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	tests := filepath.Join(dir, "tests.yaml")
	writeFile(t, tests, promtoolTests)
	if out, err := run(t, dir, promtool, "test", "rules", tests); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	for _, g := range alertRules(t).Spec.Groups {
		for _, r := range g.Rules {
			if !strings.Contains(alertTests[r.Alert], "alertname: "+r.Alert+"\n") {
				t.Errorf("no promtool test of %s", r.Alert)
			}
		}
	}
	if len(alertTests) != len(alertTestOrder) {
		t.Errorf("alertTestOrder does not list every alert's tests")
	}
}

// And the tests pin every number: each rule's threshold moved 10 % either
// way, its duration a minute either way, its minimum traffic 20 % either
// way, and promtool's tests fail.
func TestAlertTestsCatchEachChange(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolApt)
	type mutation struct {
		name   string
		mutate func(r *monitoringv1.Rule) bool
	}
	scale := func(re *regexp.Regexp, f float64) func(r *monitoringv1.Rule) bool {
		return func(r *monitoringv1.Rule) bool {
			e := r.Expr.String()
			m := re.FindStringSubmatchIndex(e)
			if m == nil {
				return false
			}
			v, err := strconv.ParseFloat(e[m[4]:m[5]], 64)
			if err != nil {
				return false
			}
			r.Expr = intstr.FromString(e[:m[4]] + strconv.FormatFloat(v*f, 'g', -1, 64) + e[m[5]:])
			return true
		}
	}
	shift := func(d time.Duration) func(r *monitoringv1.Rule) bool {
		return func(r *monitoringv1.Rule) bool {
			if r.For == nil {
				return false
			}
			cur, err := time.ParseDuration(string(*r.For))
			if err != nil {
				return false
			}
			nd := monitoringv1.Duration(fmt.Sprintf("%ds", int((cur + d).Seconds())))
			r.For = &nd
			return true
		}
	}
	mutations := []mutation{
		{"threshold x0.9", scale(thresholdRe, 0.9)},
		{"threshold x1.1", scale(thresholdRe, 1.1)},
		{"for -1m", shift(-time.Minute)},
		{"for +1m", shift(time.Minute)},
		{"minimum x0.8", scale(minimumRe, 0.8)},
		{"minimum x1.2", scale(minimumRe, 1.2)},
	}
	base := alertRules(t)
	// Unchanged, each alert's own rules pass its own tests.
	for _, g := range base.Spec.Groups {
		dir := t.TempDir()
		b, err := yaml.Marshal(map[string]any{"groups": []monitoringv1.RuleGroup{g}})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "rules.yaml"), string(b))
		var alerts []string
		for _, r := range g.Rules {
			if !slices.Contains(alerts, r.Alert) {
				alerts = append(alerts, r.Alert)
			}
		}
		writeFile(t, filepath.Join(dir, "tests.yaml"), promtoolTestFile("rules.yaml", alerts...))
		if out, err := run(t, dir, promtool, "test", "rules", "tests.yaml"); err != nil {
			t.Fatalf("group %s alone: promtool test rules: %v\n%s", g.Name, err, out)
		}
	}
	for gi, g := range base.Spec.Groups {
		for ri, r := range g.Rules {
			for _, mu := range mutations {
				pr := base.DeepCopy()
				if !mu.mutate(&pr.Spec.Groups[gi].Rules[ri]) {
					continue
				}
				// Only this alert's rules and tests: promtool evaluates every
				// rule of its files at every step.
				var own []monitoringv1.Rule
				for _, o := range pr.Spec.Groups[gi].Rules {
					if o.Alert == r.Alert {
						own = append(own, o)
					}
				}
				group := pr.Spec.Groups[gi]
				group.Rules = own
				t.Run(r.Alert+"/"+r.Labels["severity"]+"/"+mu.name, func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					b, err := yaml.Marshal(map[string]any{"groups": []monitoringv1.RuleGroup{group}})
					if err != nil {
						t.Fatal(err)
					}
					writeFile(t, filepath.Join(dir, "rules.yaml"), string(b))
					writeFile(t, filepath.Join(dir, "tests.yaml"), promtoolTestFile("rules.yaml", r.Alert))
					out, err := run(t, dir, promtool, "test", "rules", "tests.yaml")
					if err == nil {
						t.Errorf("promtool's tests pass with %s of %s %s:\n%s", mu.name, r.Labels["severity"], r.Alert, out)
					} else if !strings.Contains(string(out), "alertname: "+r.Alert+", time: ") {
						t.Errorf("promtool failed, but not on an alert of %s:\n%s", r.Alert, out)
					}
				})
			}
		}
	}
}

// The unit tests of the rules, at the boundaries: each ratio just above
// and just below its thresholds (81 % / 79 %, 5.1 % / 4.9 %, ...), each
// alert checked at the evaluation before it fires and at the one it fires,
// then when it clears. Prometheus 2.42 (Debian's promtool): a range
// includes its left end, so rate(x[2m]) sees the whole slope once samples
// 2 minutes apart exist; an alert is pending from the first evaluation
// that finds its condition true.
var promtoolTests = promtoolTestFile("rules.yaml", alertTestOrder...)

// The alerts in the order of their tests.
var alertTestOrder = []string{"GinflixContainerCPUHigh", "GinflixContainerMemoryHigh", "GinflixUploadsFailing", "GinflixUploadProcessingFailing", "GinflixStreamErrors"}

// promtoolTestFile is a test file of the alerts' tests, on ruleFile.
func promtoolTestFile(ruleFile string, alerts ...string) string {
	var b strings.Builder
	b.WriteString("rule_files: [" + ruleFile + "]\nevaluation_interval: 1m\ntests:\n")
	for _, a := range alerts {
		b.WriteString(strings.TrimLeft(alertTests[a], "\n"))
	}
	return b.String()
}

// Each alert's test groups. YAML anchors name expected alerts once: each
// alert's tests are a unit.
var alertTests = map[string]string{
	"GinflixContainerCPUHigh": `
  # CPU: backend-a at 81 % of its 500m limit for 10 minutes, then 20 %;
  # streamer-a at 79 % of 200m. rate[2m] sees 81 % from 2m: pending at 2m,
  # warning at 4m, critical at 7m; at 11m the window holds the drop.
  - interval: 1m
    input_series:
      - series: 'container_cpu_usage_seconds_total{namespace="ginflix",pod="backend-a",container="backend"}'
        values: '0+24.3x10 249+6x10'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="backend-a",container="backend",resource="cpu",unit="core"}'
        values: '0.5x20'
      - series: 'container_cpu_usage_seconds_total{namespace="ginflix",pod="streamer-a",container="streamer"}'
        values: '0+9.48x20'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="streamer-a",container="streamer",resource="cpu",unit="core"}'
        values: '0.2x20'
    alert_rule_test:
      - eval_time: 3m
        alertname: GinflixContainerCPUHigh
        exp_alerts: []
      - eval_time: 4m
        alertname: GinflixContainerCPUHigh
        exp_alerts: &cpu_warning
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 80 % of its CPU limit"
              description: "For 2 minutes. The HPA should be adding pods: check it is not at its maximum."
      - eval_time: 6m
        alertname: GinflixContainerCPUHigh
        exp_alerts: *cpu_warning
      - eval_time: 7m
        alertname: GinflixContainerCPUHigh
        exp_alerts: &cpu_both
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 80 % of its CPU limit"
              description: "For 2 minutes. The HPA should be adding pods: check it is not at its maximum."
          - exp_labels: {severity: critical, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 80 % of its CPU limit"
              description: "For 5 minutes: autoscaling has not caught up. Check the HPA's maximum and the nodes' capacity."
      - eval_time: 10m
        alertname: GinflixContainerCPUHigh
        exp_alerts: *cpu_both
      - eval_time: 11m
        alertname: GinflixContainerCPUHigh
        exp_alerts: []
`,
	"GinflixContainerMemoryHigh": `
  # Memory: backend-a at 91 % of 512Mi until 6m, then 60 %; streamer-a at
  # 89 % of 256Mi. Pending at 0, warning at 1m, critical at 3m, clear at 7m.
  - interval: 1m
    input_series:
      - series: 'container_memory_working_set_bytes{namespace="ginflix",pod="backend-a",container="backend",id="/a"}'
        values: '488552530x6 322122547x5'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="backend-a",container="backend",resource="memory",unit="byte"}'
        values: '536870912x12'
      - series: 'container_memory_working_set_bytes{namespace="ginflix",pod="streamer-a",container="streamer",id="/b"}'
        values: '238907556x12'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="streamer-a",container="streamer",resource="memory",unit="byte"}'
        values: '268435456x12'
    alert_rule_test:
      - eval_time: 0m
        alertname: GinflixContainerMemoryHigh
        exp_alerts: []
      - eval_time: 1m
        alertname: GinflixContainerMemoryHigh
        exp_alerts: &mem_warning
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 90 % of its memory limit"
              description: "For 1 minute. Past the limit the container is OOM-killed."
      - eval_time: 2m
        alertname: GinflixContainerMemoryHigh
        exp_alerts: *mem_warning
      - eval_time: 3m
        alertname: GinflixContainerMemoryHigh
        exp_alerts: &mem_both
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 90 % of its memory limit"
              description: "For 1 minute. Past the limit the container is OOM-killed."
          - exp_labels: {severity: critical, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 90 % of its memory limit"
              description: "For 3 minutes: scale out, or raise the limit before it is OOM-killed."
      - eval_time: 6m
        alertname: GinflixContainerMemoryHigh
        exp_alerts: *mem_both
      - eval_time: 7m
        alertname: GinflixContainerMemoryHigh
        exp_alerts: []
`,
	"GinflixUploadsFailing": uploadLikeTests("GinflixUploadsFailing", uploadSeries, "finished uploads could not become a video",
		`All bytes arrived, but storing the original or queueing its transcoding failed (ginflix_uploads_total{outcome=\"failed\"}); the upload is kept for the client's retry. Check the backend logs (\"finishing upload failed\"), the object store and MongoDB.`,
		`All bytes arrived, but storing the original or queueing its transcoding failed (ginflix_uploads_total{outcome=\"failed\"}). Uploaders are being refused: check the object store and MongoDB first, then the backend logs (\"finishing upload failed\").`),
	"GinflixUploadProcessingFailing": uploadLikeTests("GinflixUploadProcessingFailing", transcodeSeries, "uploaded videos failed to transcode",
		"Failed for good, after their retries. GET /api/admin/jobs shows each failure's message.",
		"Failed for good, after their retries. GET /api/admin/jobs shows each failure's message; check FFmpeg's temporary volume and the object store."),
	"GinflixStreamErrors": `
  # Streaming, just above 2 %: 21 of 1000 requests a minute fail; the
  # expired tokens' 401s count as requests, not as errors. Pending at 1m,
  # warning at 6m; the 5xx stop after 15m, and at 16m the 5-minute ratio is
  # 1.68 %.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="200"}'
        values: '0+929x15 14885+950x15'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="503"}'
        values: '0+21x15 315x15'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/thumbnails/{id}/{file}",method="GET",status="401"}'
        values: '0+50x30'
    alert_rule_test:
      - eval_time: 5m
        alertname: GinflixStreamErrors
        exp_alerts: []
      - eval_time: 6m
        alertname: GinflixStreamErrors
        exp_alerts: &stream_warning
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 2 % of streaming requests fail with a server error"
              description: "Playlists, segments or images answered 5xx: usually the object store (ginflix_streamer_store_seconds_count{result=\"error\"}). Check the CDN and S3."
      - eval_time: 15m
        alertname: GinflixStreamErrors
        exp_alerts: *stream_warning
      - eval_time: 16m
        alertname: GinflixStreamErrors
        exp_alerts: []
  # Streaming, just below 2 %: 1.9 %.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="200"}'
        values: '0+931x20'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="503"}'
        values: '0+19x20'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/thumbnails/{id}/{file}",method="GET",status="401"}'
        values: '0+50x20'
    alert_rule_test:
      - eval_time: 6m
        alertname: GinflixStreamErrors
        exp_alerts: []
      - eval_time: 20m
        alertname: GinflixStreamErrors
        exp_alerts: []
  # Streaming, just above 5 %: 5.1 % until 15m, then none. The 5-minute
  # ratio falls to 4.08 % at 16m (critical clears), 2.04 % at 18m and
  # 1.02 % at 19m (warning clears).
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/master.m3u8",method="GET",status="200"}'
        values: '0+949x15 15235+1000x15'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/master.m3u8",method="GET",status="502"}'
        values: '0+51x15 765x15'
    alert_rule_test:
      - eval_time: 5m
        alertname: GinflixStreamErrors
        exp_alerts: []
      - eval_time: 6m
        alertname: GinflixStreamErrors
        exp_alerts: &stream_both
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 2 % of streaming requests fail with a server error"
              description: "Playlists, segments or images answered 5xx: usually the object store (ginflix_streamer_store_seconds_count{result=\"error\"}). Check the CDN and S3."
          - exp_labels: {severity: critical, namespace: ginflix}
            exp_annotations:
              summary: "More than 5 % of streaming requests fail with a server error"
              description: "Viewers are failing to play. Check the streamer pods, the object store (ginflix_streamer_store_seconds_count{result=\"error\"}) and the CDN."
      - eval_time: 15m
        alertname: GinflixStreamErrors
        exp_alerts: *stream_both
      - eval_time: 16m
        alertname: GinflixStreamErrors
        exp_alerts: *stream_warning
      - eval_time: 18m
        alertname: GinflixStreamErrors
        exp_alerts: *stream_warning
      - eval_time: 19m
        alertname: GinflixStreamErrors
        exp_alerts: []
  # Streaming, just below 5 %: 4.9 %, warning only.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/master.m3u8",method="GET",status="200"}'
        values: '0+951x20'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/master.m3u8",method="GET",status="502"}'
        values: '0+49x20'
    alert_rule_test:
      - eval_time: 6m
        alertname: GinflixStreamErrors
        exp_alerts: *stream_warning
      - eval_time: 20m
        alertname: GinflixStreamErrors
        exp_alerts: *stream_warning
  # Streaming, too little traffic: half of 18 requests a minute fail, 90 in
  # 5 minutes, under the 100 the ratio needs.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="200"}'
        values: '0+9x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="503"}'
        values: '0+9x30'
    alert_rule_test:
      - eval_time: 30m
        alertname: GinflixStreamErrors
        exp_alerts: []
  # Streaming, just enough: 22 a minute, 110 in 5 minutes from 5m: pending
  # at 5m, both alerts at 10m.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="200"}'
        values: '0+11x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="503"}'
        values: '0+11x30'
    alert_rule_test:
      - eval_time: 9m
        alertname: GinflixStreamErrors
        exp_alerts: []
      - eval_time: 10m
        alertname: GinflixStreamErrors
        exp_alerts: *stream_both
`,
}

// The series of an upload ratio: succeeded or failed, on a pod.
type ratioSeries func(result, pod string) string

func uploadSeries(outcome, pod string) string {
	return `ginflix_uploads_total{namespace="ginflix",pod="` + pod + `",container="backend",outcome="` + outcome + `"}`
}

func transcodeSeries(result, pod string) string {
	return `ginflix_job_duration_seconds_count{namespace="ginflix",pod="` + pod + `",container="backend",kind="transcode",result="` + result + `"}`
}

// uploadLikeTests are the same scenarios for the two upload ratios (1-hour
// window, 5 % and 10 %, at least 10 in the hour, for 5 minutes). Three
// finish a minute, the successes on one backend and the failures on
// another (the ratio is the namespace's): the window holds 10 from 4m, so
// the alerts are pending at 4m and fire at 9m. When the failures stop at
// 20m, the hour's ratio falls as the successes go on.
func uploadLikeTests(alert string, series ratioSeries, what, warning, critical string) string {
	return strings.NewReplacer("ALERT", alert, "WHAT", what, "WARNING", warning, "CRITICAL", critical,
		"SUCCEEDED", series("succeeded", "backend-a"), "FAILED", series("failed", "backend-b"),
		"ANCHOR", strings.ToLower(alert)).Replace(`
  # ALERT, just above 5 %: 0.153 of 3 a minute fail (5.1 %) until 20m; at
  # 21m the hour's ratio is 3.06 / 63 = 4.86 %.
  - interval: 1m
    input_series:
      - series: 'SUCCEEDED'
        values: '0+2.847x20 59.94+3x50'
      - series: 'FAILED'
        values: '0+0.153x20 3.06x50'
    alert_rule_test:
      - eval_time: 8m
        alertname: ALERT
        exp_alerts: []
      - eval_time: 9m
        alertname: ALERT
        exp_alerts: &ANCHOR_warning
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 5 % of WHAT in the last hour"
              description: "WARNING"
      - eval_time: 20m
        alertname: ALERT
        exp_alerts: *ANCHOR_warning
      - eval_time: 21m
        alertname: ALERT
        exp_alerts: []
  # ALERT, just below 5 %: 4.9 %, past a full window.
  - interval: 1m
    input_series:
      - series: 'SUCCEEDED'
        values: '0+2.853x61'
      - series: 'FAILED'
        values: '0+0.147x61'
    alert_rule_test:
      - eval_time: 9m
        alertname: ALERT
        exp_alerts: []
      - eval_time: 61m
        alertname: ALERT
        exp_alerts: []
  # ALERT, just above 10 %: 10.2 % until 20m; the hour's ratio is
  # 6.12 / 63 = 9.7 % at 21m (critical clears), 6.12 / 120 = 5.1 % at 40m
  # and 4.98 % at 41m (warning clears).
  - interval: 1m
    input_series:
      - series: 'SUCCEEDED'
        values: '0+2.694x20 56.88+3x50'
      - series: 'FAILED'
        values: '0+0.306x20 6.12x50'
    alert_rule_test:
      - eval_time: 8m
        alertname: ALERT
        exp_alerts: []
      - eval_time: 9m
        alertname: ALERT
        exp_alerts: &ANCHOR_both
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 5 % of WHAT in the last hour"
              description: "WARNING"
          - exp_labels: {severity: critical, namespace: ginflix}
            exp_annotations:
              summary: "More than 10 % of WHAT in the last hour"
              description: "CRITICAL"
      - eval_time: 20m
        alertname: ALERT
        exp_alerts: *ANCHOR_both
      - eval_time: 21m
        alertname: ALERT
        exp_alerts: *ANCHOR_warning
      - eval_time: 40m
        alertname: ALERT
        exp_alerts: *ANCHOR_warning
      - eval_time: 41m
        alertname: ALERT
        exp_alerts: []
  # ALERT, just below 10 %: 9.8 %, warning only.
  - interval: 1m
    input_series:
      - series: 'SUCCEEDED'
        values: '0+2.706x30'
      - series: 'FAILED'
        values: '0+0.294x30'
    alert_rule_test:
      - eval_time: 9m
        alertname: ALERT
        exp_alerts: *ANCHOR_warning
      - eval_time: 30m
        alertname: ALERT
        exp_alerts: *ANCHOR_warning
  # ALERT, too few: half of 9 an hour fail (one bad file on a quiet
  # instance must not page).
  - interval: 1m
    input_series:
      - series: 'SUCCEEDED'
        values: '0+0.075x61'
      - series: 'FAILED'
        values: '0+0.075x61'
    alert_rule_test:
      - eval_time: 61m
        alertname: ALERT
        exp_alerts: []
  # ALERT, just enough: half of 10.8 an hour fail; the window holds 10
  # from 56m: pending at 56m, both alerts at 61m.
  - interval: 1m
    input_series:
      - series: 'SUCCEEDED'
        values: '0+0.09x61'
      - series: 'FAILED'
        values: '0+0.09x61'
    alert_rule_test:
      - eval_time: 60m
        alertname: ALERT
        exp_alerts: []
      - eval_time: 61m
        alertname: ALERT
        exp_alerts: *ANCHOR_both
`)
}
