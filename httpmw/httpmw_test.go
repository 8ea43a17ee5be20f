package httpmw

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestObserveRequestIDRecover(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if Route(r) != "GET /items/{id}" || RequestIDFrom(r.Context()) == "" {
			t.Errorf("route %q id %q", Route(r), RequestIDFrom(r.Context()))
		}
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("hello"))
	})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	var got []Done
	h := RequestID(Recover(Observe(mux, MuxRoute(mux), func(r *http.Request, d Done) { got = append(got, d) }),
		func(w http.ResponseWriter, r *http.Request, v any) { w.WriteHeader(500) }))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/items/7", nil)
	req.Header.Set("X-Request-Id", "proxy-id-1234")
	h.ServeHTTP(rec, req)
	if rec.Code != 418 || rec.Header().Get("X-Request-Id") != "proxy-id-1234" {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("X-Request-Id"))
	}
	if len(got) != 1 || got[0].Route != "GET /items/{id}" || got[0].Status != 418 || got[0].Bytes != 5 {
		t.Fatalf("observed %+v", got)
	}
	rec = httptest.NewRecorder()
	req = httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set("X-Request-Id", "bad id with spaces")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || len(rec.Header().Get("X-Request-Id")) != 24 {
		t.Fatalf("panic: %d, id %q", rec.Code, rec.Header().Get("X-Request-Id"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nowhere", nil))
	if got[len(got)-1].Route != "unmatched" {
		t.Fatalf("unmatched route label %q", got[len(got)-1].Route)
	}
}
