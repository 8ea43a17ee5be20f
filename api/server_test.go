package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/oidc"
	"github.com/ginflix/ginflix/oidc/oidctest"
	"github.com/ginflix/ginflix/prometheus"
	"github.com/ginflix/ginflix/sqlite"
)

type fixture struct {
	srv     *httptest.Server
	store   *sqlite.DB
	objects *filesystem.Store
	iss     *oidctest.Issuer
	// viewer is the token f.get sends: a signed-in user.
	viewer string
	admin  string
}

type option func(*api.Deps)

func withCache(ttl time.Duration) option { return func(d *api.Deps) { d.CatalogCacheTTL = ttl } }

func newFixture(t *testing.T, opts ...option) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "ginflix.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	objects, err := filesystem.New(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	iss := oidctest.NewIssuer(t)
	verifier, err := oidc.NewVerifier(oidc.Config{Issuer: iss.URL, Audience: iss.Audience, AdminRole: ginflix.RoleAdmin, ViewerRole: ginflix.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	d := api.Deps{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store:        store,
		Objects:      objects,
		Metrics:      prometheus.New("test"),
		Version:      "test",
		Verifier:     verifier,
		AdminRole:    ginflix.RoleAdmin,
		ViewerRole:   ginflix.RoleViewer,
		ManagesUsers: true,
		Public:       api.PublicConfig{Issuer: iss.URL, ClientID: "ginflix-web", Scopes: []string{"openid", "profile", "email", "offline_access"}, StreamerURL: "http://127.0.0.1:9/stream"},
	}
	for _, o := range opts {
		o(&d)
	}
	srv := httptest.NewServer(api.NewServer(d))
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, store: store, objects: objects, iss: iss,
		viewer: iss.Token("viewer-1", ginflix.RoleViewer), admin: iss.Token("admin-1", ginflix.RoleAdmin)}
}

func (f *fixture) add(t *testing.T, v *ginflix.Video) *ginflix.Video {
	t.Helper()
	if v.Status == "" {
		v.Status = ginflix.StatusReady
	}
	if err := f.store.CreateVideo(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	return v
}

// get calls the API as a signed-in viewer.
func (f *fixture) get(t *testing.T, method, path string, into any) *http.Response {
	t.Helper()
	return f.do(t, method, path, f.viewer, "", into)
}

// do calls the API with token ("" for none) and a JSON body ("" for none).
func (f *fixture) do(t *testing.T, method, path, token, body string, into any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if into != nil && len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatalf("%s %s: %v in %q", method, path, err, raw)
		}
	}
	return res
}

type videoList struct {
	Items []struct {
		ID, Title, Description, Status, Category string
		Published                                bool
		Duration                                 float64
		Tags                                     []string
	}
	Next *string
}

type errorBody struct {
	Error struct{ Code, Message, Param, RequestID string }
}

func (l videoList) titles() []string {
	var out []string
	for _, v := range l.Items {
		out = append(out, v.Title)
	}
	return out
}

func TestListVideos(t *testing.T) {
	f := newFixture(t)
	f.add(t, &ginflix.Video{Title: "Électricité", Published: true, Tags: []string{"science"}, Category: "Docs", Duration: 12.5})
	time.Sleep(2 * time.Millisecond)
	f.add(t, &ginflix.Video{Title: "Cuisine", Published: true, Category: "Vie"})
	f.add(t, &ginflix.Video{Title: "Brouillon", Published: false})
	f.add(t, &ginflix.Video{Title: "En cours", Published: true, Status: ginflix.StatusProcessing})

	var l videoList
	res := f.get(t, "GET", "/api/videos", &l)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if got := l.titles(); !slices.Equal(got, []string{"Cuisine", "Électricité"}) {
		t.Fatalf("listing = %q: only published, ready videos, newest first", got)
	}
	if l.Next == nil || *l.Next != "" {
		t.Fatalf("next must be present and empty at the end, got %v", l.Next)
	}
	e := l.Items[1]
	if e.Status != "ready" || !e.Published || e.Duration != 12.5 || !slices.Equal(e.Tags, []string{"science"}) || e.Category != "Docs" || e.ID == "" {
		t.Fatalf("video fields: %+v", e)
	}

	l = videoList{}
	f.get(t, "GET", "/api/videos?q="+url.QueryEscape("ELECTRI"), &l)
	if got := l.titles(); !slices.Equal(got, []string{"Électricité"}) {
		t.Fatalf("search = %q", got)
	}
	l = videoList{}
	f.get(t, "GET", "/api/videos?tag=science", &l)
	if got := l.titles(); !slices.Equal(got, []string{"Électricité"}) {
		t.Fatalf("tag filter = %q", got)
	}
	l = videoList{}
	f.get(t, "GET", "/api/videos?category=Vie&sort=title", &l)
	if got := l.titles(); !slices.Equal(got, []string{"Cuisine"}) {
		t.Fatalf("category filter = %q", got)
	}

	// Paging one at a time visits each video once.
	var paged []string
	cursor := ""
	for range 5 {
		l = videoList{}
		f.get(t, "GET", "/api/videos?limit=1&cursor="+url.QueryEscape(cursor), &l)
		paged = append(paged, l.titles()...)
		if *l.Next == "" {
			break
		}
		cursor = *l.Next
	}
	if !slices.Equal(paged, []string{"Cuisine", "Électricité"}) {
		t.Fatalf("paged = %q", paged)
	}
}

func TestBadParameters(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ query, param string }{
		{"limit=abc", "limit"},
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"sort=random", "sort"},
		{"cursor=garbage", "cursor"},
		{"q=" + strings.Repeat("a", 201), "q"},
		{"tag=a&tag=b", "tag"},
	} {
		var e errorBody
		res := f.get(t, "GET", "/api/videos?"+c.query, &e)
		if res.StatusCode != 400 || e.Error.Code != "invalid" || e.Error.Param != c.param || e.Error.Message == "" {
			t.Errorf("%s: status %d, error %+v; want 400 naming %s", c.query, res.StatusCode, e.Error, c.param)
		}
	}
	var e errorBody
	if res := f.get(t, "GET", "/api/videos/not-an-id", &e); res.StatusCode != 400 || e.Error.Param != "id" {
		t.Errorf("bad id: %d %+v", res.StatusCode, e)
	}
}

func TestGetVideo(t *testing.T) {
	f := newFixture(t)
	pub := f.add(t, &ginflix.Video{Title: "Public", Published: true})
	draft := f.add(t, &ginflix.Video{Title: "Draft"})
	var v struct{ ID, Title string }
	if res := f.get(t, "GET", "/api/videos/"+pub.ID, &v); res.StatusCode != 200 || v.Title != "Public" {
		t.Fatalf("published video: %d %+v", res.StatusCode, v)
	}
	for _, id := range []string{draft.ID, ginflix.NewID()} {
		var e errorBody
		if res := f.get(t, "GET", "/api/videos/"+id, &e); res.StatusCode != 404 || e.Error.Code != "not_found" {
			t.Fatalf("unpublished or missing video: %d %+v", res.StatusCode, e)
		}
	}
}

func TestCategories(t *testing.T) {
	f := newFixture(t)
	f.add(t, &ginflix.Video{Title: "a", Published: true, Category: "Films"})
	f.add(t, &ginflix.Video{Title: "b", Published: true, Category: "Docs"})
	f.add(t, &ginflix.Video{Title: "c", Category: "Hidden"})
	var l struct {
		Items []ginflix.Category
		Next  string
	}
	f.get(t, "GET", "/api/categories", &l)
	if len(l.Items) != 2 || l.Items[0].Name != "Docs" || l.Items[1].Count != 1 {
		t.Fatalf("categories = %+v", l.Items)
	}
}

func TestUnmatchedRoutesAnswerJSON(t *testing.T) {
	f := newFixture(t)
	var e errorBody
	res := f.get(t, "GET", "/api/nope", &e)
	if res.StatusCode != 404 || e.Error.Code != "not_found" || e.Error.RequestID == "" {
		t.Fatalf("unknown route: %d %+v", res.StatusCode, e)
	}
	e = errorBody{}
	res = f.get(t, "DELETE", "/api/videos", &e)
	if res.StatusCode != 405 || e.Error.Code != "method_not_allowed" || !strings.Contains(res.Header.Get("Allow"), "GET") {
		t.Fatalf("wrong method: %d %+v allow %q", res.StatusCode, e, res.Header.Get("Allow"))
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	f := newFixture(t)
	f.store.Close() // every query now fails inside the driver
	var e errorBody
	res := f.get(t, "GET", "/api/videos", &e)
	if res.StatusCode != 500 || e.Error.Code != "internal" || strings.Contains(strings.ToLower(e.Error.Message), "sql") {
		t.Fatalf("internal error: %d %+v", res.StatusCode, e)
	}
	var h struct {
		Status string
		Checks map[string]string
	}
	if res := f.get(t, "GET", "/ready", &h); res.StatusCode != 503 || h.Checks["database"] != "unreachable" || h.Checks["objects"] != "ok" {
		t.Fatalf("readiness with a closed database: %d %+v", res.StatusCode, h)
	}
	if res := f.get(t, "GET", "/health", nil); res.StatusCode != 200 {
		t.Fatalf("liveness must not depend on the database: %d", res.StatusCode)
	}
}

func TestOperations(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/health", "/ready", "/api/health"} {
		var h struct{ Status string }
		if res := f.get(t, "GET", p, &h); res.StatusCode != 200 || h.Status != "ok" {
			t.Fatalf("%s: %d %+v", p, res.StatusCode, h)
		}
	}
	res := f.get(t, "GET", "/api/videos", nil)
	if id := res.Header.Get("X-Request-Id"); len(id) < 8 {
		t.Fatalf("no request id: %q", id)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/health", nil)
	req.Header.Set("X-Request-Id", "proxy-abc-12345")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if got := r2.Header.Get("X-Request-Id"); got != "proxy-abc-12345" {
		t.Fatalf("the proxy's request id was not kept: %q", got)
	}
	resp, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`ginflix_http_request_duration_seconds_count{method="GET",route="GET /api/videos",status="200"} 1`,
		`ginflix_build_info{`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %s:\n%s", want, body)
		}
	}
}

// TestOpenAPIDescribesEveryRoute keeps /api/openapi.json true: every route
// the server answers is described, and nothing else is.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	f := newFixture(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if res := f.get(t, "GET", "/api/openapi.json", &doc); res.StatusCode != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %d %q", res.StatusCode, doc.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			described[strings.ToUpper(method)+" "+path] = true
		}
	}
	routes := api.Routes()
	for i, r := range routes {
		r = strings.TrimSuffix(r, "{$}") // the mux's exact-match marker is not part of the path
		routes[i] = r
		if !described[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
		delete(described, r)
	}
	for r := range described {
		t.Errorf("openapi.json describes %s, which no route serves", r)
	}
	// And each listed route is really served (not a 404 from the fallback).
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		path = strings.ReplaceAll(path, "{id}", ginflix.NewID())
		var e errorBody
		res := f.get(t, method, path, &e)
		if method == "OPTIONS" {
			continue
		}
		if res.StatusCode == 405 || (res.StatusCode == 404 && strings.HasPrefix(e.Error.Message, "No such endpoint")) {
			t.Errorf("%s is listed but not served: %d", r, res.StatusCode)
		}
	}
}

func TestCatalogCache(t *testing.T) {
	f := newFixture(t, withCache(time.Hour))
	f.add(t, &ginflix.Video{Title: "Électricité", Published: true})
	res := f.get(t, "GET", "/api/videos?q=ELECTRI", nil)
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || etag == "" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d etag %q cache-control %q", res.StatusCode, etag, res.Header.Get("Cache-Control"))
	}
	// Spelled differently, the same search is the same page.
	if again := f.get(t, "GET", "/api/videos?q=electri", nil); again.Header.Get("ETag") != etag {
		t.Fatalf("same search, other ETag: %q vs %q", again.Header.Get("ETag"), etag)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/videos?q=electri", nil)
	req.Header.Set("If-None-Match", etag)
	req.Header.Set("Authorization", "Bearer "+f.viewer)
	r304, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r304.Body.Close()
	if r304.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d, want 304", r304.StatusCode)
	}
	// Errors are never cached: a bad parameter is judged on every request.
	if res := f.get(t, "GET", "/api/videos?limit=0", nil); res.StatusCode != 400 {
		t.Fatalf("bad limit: %d", res.StatusCode)
	}
	body, _ := io.ReadAll(must(http.Get(f.srv.URL + "/metrics")).Body)
	if !strings.Contains(string(body), `ginflix_api_cache_requests_total{result="hit"} 2`) {
		t.Fatalf("cache hits not counted:\n%s", body)
	}
}

func must(res *http.Response, err error) *http.Response {
	if err != nil {
		panic(err)
	}
	return res
}
