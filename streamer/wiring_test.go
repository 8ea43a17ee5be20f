package streamer

import (
	"net/http/httptest"
	"strings"
	"testing"

	gprom "github.com/ginflix/ginflix/prometheus"
)

// The process's shared metrics are what the lead wires in: a Registerer
// for NewMetrics and the HTTPMetrics of the backend.
var (
	_ Registerer  = (*gprom.Metrics)(nil)
	_ HTTPMetrics = (*gprom.Metrics)(nil)
)

func TestWithSharedMetrics(t *testing.T) {
	pm := gprom.New("test")
	m, err := NewMetrics(pm)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(d *Deps) { d.Metrics, d.HTTPMetrics = m, pm })
	expectStatus(t, e.get(e.seg(vid, "360p/seg_00000.m4s")), 200)
	expectStatus(t, e.get("/stream/videos/"+vid+"/master.m3u8"), 401)
	w := httptest.NewRecorder()
	pm.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{
		`ginflix_streamer_cache_misses_total{kind="segment"} 1`,
		`ginflix_streamer_bytes_served_total{kind="segment"} 204800`,
		`ginflix_http_request_duration_seconds_count{method="GET",route="GET /stream/videos/{id}/{rung}/{file}",status="200"} 1`,
		`ginflix_http_errors_total{code="unauthorized",route="GET /stream/videos/{id}/master.m3u8"} 1`,
		`ginflix_streamer_active_sessions 0`,
		`ginflix_streamer_store_seconds_count{op="get",result="ok"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if _, err := NewMetrics(pm); err == nil {
		t.Error("registering twice succeeded")
	}
}
