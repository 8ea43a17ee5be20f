package api

import "net/http"

// route is one endpoint; the list below is the whole API surface, and the
// OpenAPI test checks the document describes each of them.
type route struct {
	method  string
	path    string
	handler http.Handler
}

func (r route) pattern() string { return r.method + " " + r.path }

func (s *server) routes() []route {
	return []route{
		{"GET", "/health", http.HandlerFunc(s.handleHealth)},
		{"GET", "/ready", http.HandlerFunc(s.handleReady)},
		{"GET", "/api/health", http.HandlerFunc(s.handleReady)},
		{"GET", "/metrics", http.HandlerFunc(s.handleMetrics)},
		{"GET", "/api/openapi.json", http.HandlerFunc(handleOpenAPI)},

		{"GET", "/api/videos", http.HandlerFunc(s.handleListVideos)},
		{"GET", "/api/videos/{id}", http.HandlerFunc(s.handleGetVideo)},
		{"GET", "/api/categories", http.HandlerFunc(s.handleCategories)},
	}
}

// Routes lists the method and path of every route, for documentation tests.
func Routes() []string {
	var out []string
	for _, r := range (&server{}).routes() {
		out = append(out, r.pattern())
	}
	return out
}
