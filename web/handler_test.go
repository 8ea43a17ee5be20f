package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestSinglePageApps(t *testing.T) {
	h := NewHandler(fstest.MapFS{
		"user/index.html":           {Data: []byte("<html>viewer</html>")},
		"user/assets/app-1a2b.js":   {Data: []byte("console.log(1)")},
		"user/favicon.svg":          {Data: []byte("<svg/>")},
		"admin/index.html":          {Data: []byte("<html>admin</html>")},
		"admin/assets/admin-9f8.js": {Data: []byte("console.log(2)")},
	})
	cases := []struct {
		path, body, cache string
		status            int
	}{
		{"/", "viewer", "no-cache", 200},
		{"/watch/0123456789abcdef01234567", "viewer", "no-cache", 200}, // a client-side route
		{"/auth/callback?code=x&state=y", "viewer", "no-cache", 200},
		{"/assets/app-1a2b.js", "console.log(1)", "immutable", 200},
		{"/favicon.svg", "<svg/>", "no-cache", 200},
		{"/assets/missing.js", "", "", 404},
		{"/admin/", "admin", "no-cache", 200},
		{"/admin/uploads", "admin", "no-cache", 200},
		{"/admin/assets/admin-9f8.js", "console.log(2)", "immutable", 200},
		{"/admin/assets/app-1a2b.js", "", "", 404}, // the apps do not share files
		{"/../../etc/passwd", "", "", 307},         // the mux cleans it into /etc/passwd, the app
	}
	for _, c := range cases {
		res, body := get(t, h, c.path)
		if res.StatusCode != c.status || !strings.Contains(body, c.body) || !strings.Contains(res.Header.Get("Cache-Control"), c.cache) {
			t.Errorf("%s: %d %q cache %q", c.path, res.StatusCode, body, res.Header.Get("Cache-Control"))
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != 405 {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestNotBuilt(t *testing.T) {
	res, body := get(t, NewHandler(fstest.MapFS{}), "/")
	if res.StatusCode != 503 || !strings.Contains(body, "make web") {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
}
