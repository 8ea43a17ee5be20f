package k8stest

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/prometheus"
	"github.com/ginflix/ginflix/streamer"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
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
// duration.
func TestAlertTable(t *testing.T) {
	type key struct{ alert, severity string }
	got := map[key]monitoringv1.Rule{}
	for _, g := range alertRules(t).Spec.Groups {
		for _, r := range g.Rules {
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
		{"GinflixUploadRequestsFailing", "warning", "> 0.05", ""},
		{"GinflixUploadRequestsFailing", "critical", "> 0.10", ""},
		{"GinflixUploadProcessingFailing", "warning", "> 0.05", ""},
		{"GinflixUploadProcessingFailing", "critical", "> 0.10", ""},
		{"GinflixStreamErrors", "warning", "> 0.02", ""},
		{"GinflixStreamErrors", "critical", "> 0.05", ""},
	} {
		r, ok := got[key{w.alert, w.severity}]
		if !ok {
			t.Errorf("no %s %s", w.severity, w.alert)
			continue
		}
		if !strings.Contains(r.Expr.String(), w.threshold) {
			t.Errorf("%s %s: threshold %s not in %s", w.severity, w.alert, w.threshold, r.Expr.String())
		}
		if w.dur != "" && (r.For == nil || string(*r.For) != w.dur) {
			t.Errorf("%s %s: for %v, want %s", w.severity, w.alert, r.For, w.dur)
		}
		if r.Annotations["summary"] == "" {
			t.Errorf("%s %s: no summary", w.severity, w.alert)
		}
	}
	if len(got) != 10 {
		t.Errorf("%d alerts, want the table's 10", len(got))
	}
}

// The ginflix_* series the rules read are ones the binary exports, with
// the labels the rules use; the route patterns they match are real routes.
func TestAlertRulesMatchTheApp(t *testing.T) {
	m := prometheus.New("test")
	if _, err := streamer.NewMetrics(m); err != nil {
		t.Fatal(err)
	}
	m.ObserveHTTP("PATCH /api/uploads/{id}", "PATCH", 204, 0.1)
	m.ObserveJob("transcode", false, time.Second)
	m.CountUpload(1)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	exposition, _ := io.ReadAll(rec.Body)
	for _, s := range []string{
		`ginflix_http_request_duration_seconds_count{method="PATCH",route="PATCH /api/uploads/{id}",status="204"}`,
		`ginflix_job_duration_seconds_count{kind="transcode",result="failed"}`,
	} {
		if !strings.Contains(string(exposition), s) {
			t.Errorf("the binary does not export %s", s)
		}
	}
	routes := append(api.Routes(), streamer.Routes()...)
	want := map[string][]string{
		`(POST|PATCH) /api/uploads/.*`:       {"PATCH /api/uploads/{id}", "POST /api/uploads/{$}", "POST /api/uploads/{id}"},
		`GET /stream/(videos|thumbnails)/.*`: {"GET /stream/thumbnails/{id}/{file}", "GET /stream/videos/{id}/master.m3u8", "GET /stream/videos/{id}/{rung}/{file}"},
	}
	seen := map[string]bool{}
	for _, g := range alertRules(t).Spec.Groups {
		for _, r := range g.Rules {
			expr := r.Expr.String()
			for _, name := range regexp.MustCompile(`\bginflix_[a-z_]+`).FindAllString(expr, -1) {
				if !strings.Contains(string(exposition), "# TYPE "+strings.TrimSuffix(name, "_count")+" ") {
					t.Errorf("%s reads %s, which the binary does not export", r.Alert, name)
				}
			}
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
// at its threshold after its duration, at its severity, and not below.
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
	// And the tests can fail: a threshold moved makes them.
	b, _ := os.ReadFile(rules)
	writeFile(t, rules, strings.Replace(string(b), "> 0.8", "> 0.95", 1))
	if out, err := run(t, dir, promtool, "test", "rules", tests); err == nil {
		t.Fatalf("promtool passed rules with a wrong threshold:\n%s", out)
	}
}

const promtoolTests = `rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  # CPU: backend-a at 90 % of its 500m limit, streamer-a at 70 % of 200m.
  - interval: 1m
    input_series:
      - series: 'container_cpu_usage_seconds_total{namespace="ginflix",pod="backend-a",container="backend"}'
        values: '0+27x20'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="backend-a",container="backend",resource="cpu",unit="core"}'
        values: '0.5x20'
      - series: 'container_cpu_usage_seconds_total{namespace="ginflix",pod="streamer-a",container="streamer"}'
        values: '0+8.4x20'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="streamer-a",container="streamer",resource="cpu",unit="core"}'
        values: '0.2x20'
    alert_rule_test:
      - eval_time: 2m
        alertname: GinflixContainerCPUHigh
        exp_alerts: []
      - eval_time: 4m
        alertname: GinflixContainerCPUHigh
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 80 % of its CPU limit"
              description: "For 2 minutes. The HPA should be adding pods: check it is not at its maximum."
      - eval_time: 7m
        alertname: GinflixContainerCPUHigh
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 80 % of its CPU limit"
              description: "For 2 minutes. The HPA should be adding pods: check it is not at its maximum."
          - exp_labels: {severity: critical, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 80 % of its CPU limit"
              description: "For 5 minutes: autoscaling has not caught up. Check the HPA's maximum and the nodes' capacity."
  # Memory: backend-a at 480Mi of 512Mi (94 %), streamer-a at 80 %.
  - interval: 1m
    input_series:
      - series: 'container_memory_working_set_bytes{namespace="ginflix",pod="backend-a",container="backend",id="/a"}'
        values: '503316480x10'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="backend-a",container="backend",resource="memory",unit="byte"}'
        values: '536870912x10'
      - series: 'container_memory_working_set_bytes{namespace="ginflix",pod="streamer-a",container="streamer",id="/b"}'
        values: '214748364x10'
      - series: 'kube_pod_container_resource_limits{namespace="ginflix",pod="streamer-a",container="streamer",resource="memory",unit="byte"}'
        values: '268435456x10'
    alert_rule_test:
      - eval_time: 2m
        alertname: GinflixContainerMemoryHigh
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 90 % of its memory limit"
              description: "For 1 minute. Past the limit the container is OOM-killed."
      - eval_time: 4m
        alertname: GinflixContainerMemoryHigh
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 90 % of its memory limit"
              description: "For 1 minute. Past the limit the container is OOM-killed."
          - exp_labels: {severity: critical, namespace: ginflix, pod: backend-a, container: backend}
            exp_annotations:
              summary: "ginflix/backend-a (backend) uses more than 90 % of its memory limit"
              description: "For 3 minutes: scale out, or raise the limit before it is OOM-killed."
  # Uploads: 7 % of tus requests fail (catalogue 5xx do not count).
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="PATCH /api/uploads/{id}",method="PATCH",status="204"}'
        values: '0+93x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="PATCH /api/uploads/{id}",method="PATCH",status="500"}'
        values: '0+7x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /api/videos",method="GET",status="500"}'
        values: '0+500x30'
    alert_rule_test:
      - eval_time: 8m
        alertname: GinflixUploadRequestsFailing
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 5 % of upload requests fail with a server error"
              description: "tus POST/PATCH answered 5xx over the last 10 minutes. Check the backend logs (route /api/uploads/) and its upload buffer volume."
  # Uploads: 12 % fail.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="POST /api/uploads/{$}",method="POST",status="201"}'
        values: '0+88x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="POST /api/uploads/{$}",method="POST",status="503"}'
        values: '0+12x30'
    alert_rule_test:
      - eval_time: 8m
        alertname: GinflixUploadRequestsFailing
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 5 % of upload requests fail with a server error"
              description: "tus POST/PATCH answered 5xx over the last 10 minutes. Check the backend logs (route /api/uploads/) and its upload buffer volume."
          - exp_labels: {severity: critical, namespace: ginflix}
            exp_annotations:
              summary: "More than 10 % of upload requests fail with a server error"
              description: "tus POST/PATCH answered 5xx over the last 10 minutes. Check the backend logs (route /api/uploads/), its upload buffer volume, the object store and MongoDB."
  # Uploads: one failure in three requests is too little traffic to alert on.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="PATCH /api/uploads/{id}",method="PATCH",status="204"}'
        values: '0+0.2x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="PATCH /api/uploads/{id}",method="PATCH",status="500"}'
        values: '0+0.1x30'
    alert_rule_test:
      - eval_time: 15m
        alertname: GinflixUploadRequestsFailing
        exp_alerts: []
  # Transcoding: 8 % of finished jobs failed for good over the hour.
  - interval: 1m
    input_series:
      - series: 'ginflix_job_duration_seconds_count{namespace="ginflix",pod="backend-a",kind="transcode",result="succeeded"}'
        values: '0+0.92x80'
      - series: 'ginflix_job_duration_seconds_count{namespace="ginflix",pod="backend-a",kind="transcode",result="failed"}'
        values: '0+0.08x80'
    alert_rule_test:
      - eval_time: 70m
        alertname: GinflixUploadProcessingFailing
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 5 % of uploaded videos failed to transcode in the last hour"
              description: "Failed for good, after their retries. GET /api/admin/jobs shows each failure's message."
  # Streaming: 2.7 % of requests fail (30 of 1100); the expired tokens' 401s
  # count as requests, not as errors.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="200"}'
        values: '0+970x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/{rung}/{file}",method="GET",status="503"}'
        values: '0+30x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/thumbnails/{id}/{file}",method="GET",status="401"}'
        values: '0+100x30'
    alert_rule_test:
      - eval_time: 12m
        alertname: GinflixStreamErrors
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 2 % of streaming requests fail with a server error"
              description: "Playlists, segments or images answered 5xx: usually the object store (ginflix_streamer_store_seconds_count{result=\"error\"}). Check the CDN and S3."
  # Streaming: 6 %.
  - interval: 1m
    input_series:
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/master.m3u8",method="GET",status="200"}'
        values: '0+940x30'
      - series: 'ginflix_http_request_duration_seconds_count{namespace="ginflix",route="GET /stream/videos/{id}/master.m3u8",method="GET",status="502"}'
        values: '0+60x30'
    alert_rule_test:
      - eval_time: 12m
        alertname: GinflixStreamErrors
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ginflix}
            exp_annotations:
              summary: "More than 2 % of streaming requests fail with a server error"
              description: "Playlists, segments or images answered 5xx: usually the object store (ginflix_streamer_store_seconds_count{result=\"error\"}). Check the CDN and S3."
          - exp_labels: {severity: critical, namespace: ginflix}
            exp_annotations:
              summary: "More than 5 % of streaming requests fail with a server error"
              description: "Viewers are failing to play. Check the streamer pods, the object store (ginflix_streamer_store_seconds_count{result=\"error\"}) and the CDN."
`
