package api

import "net/http"

// route is one endpoint with who may call it; this list is the whole API
// surface, and the OpenAPI test checks the document describes each route.
type route struct {
	method  string
	path    string
	access  access
	handler http.Handler
}

func (r route) pattern() string { return r.method + " " + r.path }

func (s *server) routes() []route {
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []route{
		{"GET", "/health", public, h(s.handleHealth)},
		{"GET", "/ready", public, h(s.handleReady)},
		{"GET", "/api/health", public, h(s.handleReady)},
		{"GET", "/metrics", public, h(s.handleMetrics)},
		{"GET", "/api/openapi.json", public, h(handleOpenAPI)},
		{"GET", "/api/config", public, h(s.handleConfig)},

		{"GET", "/api/videos", catalog, h(s.handleListVideos)},
		{"GET", "/api/videos/{id}", catalog, h(s.handleGetVideo)},
		{"GET", "/api/categories", catalog, h(s.handleCategories)},
		{"POST", "/api/videos/{id}/playback", user, h(s.handlePlayback)},
		{"POST", "/api/playback/events", user, h(s.handlePlaybackEvents)},

		{"GET", "/api/me", user, h(s.handleMe)},
		{"GET", "/api/me/progress/{videoId}", user, h(s.handleGetProgress)},
		{"PUT", "/api/me/progress/{videoId}", user, h(s.handlePutProgress)},
		{"GET", "/api/me/continue", user, h(s.handleContinue)},
		{"GET", "/api/me/list", user, h(s.handleMyList)},
		{"GET", "/api/me/list/{videoId}", user, h(s.handleGetListEntry)},
		{"PUT", "/api/me/list/{videoId}", user, h(s.handlePutListEntry)},
		{"DELETE", "/api/me/list/{videoId}", user, h(s.handleDeleteListEntry)},

		{"GET", "/api/admin/videos", admin, h(s.handleAdminListVideos)},
		{"GET", "/api/admin/videos/{id}", admin, h(s.handleAdminGetVideo)},
		{"PATCH", "/api/admin/videos/{id}", admin, h(s.handleAdminPatchVideo)},
		{"DELETE", "/api/admin/videos/{id}", admin, h(s.handleAdminDeleteVideo)},
		{"POST", "/api/admin/videos/{id}/retry", admin, h(s.handleAdminRetryVideo)},
		{"GET", "/api/admin/jobs", admin, h(s.handleAdminJobs)},
		{"GET", "/api/admin/analytics/overview", admin, h(s.handleAnalyticsOverview)},
		{"GET", "/api/admin/analytics/popular", admin, h(s.handleAnalyticsPopular)},
		{"GET", "/api/admin/analytics/geography", admin, h(s.handleAnalyticsGeography)},
		{"GET", "/api/admin/analytics/videos/{id}", admin, h(s.handleAnalyticsVideo)},
		{"GET", "/api/admin/system", admin, h(s.handleAdminSystem)},
		{"GET", "/api/admin/settings", admin, h(s.handleAdminGetSettings)},
		{"PUT", "/api/admin/settings", admin, h(s.handleAdminPutSettings)},
		{"GET", "/api/admin/audit", admin, h(s.handleAdminAudit)},

		// tus 1.0 resumable uploads (package tus); OPTIONS is the
		// protocol's discovery and the browsers' preflight, without a token.
		{"OPTIONS", "/api/uploads/", public, h(s.handleUploads)},
		{"POST", "/api/uploads/{$}", admin, h(s.handleUploads)},
		{"HEAD", "/api/uploads/{id}", admin, h(s.handleUploads)},
		{"PATCH", "/api/uploads/{id}", admin, h(s.handleUploads)},
		{"DELETE", "/api/uploads/{id}", admin, h(s.handleUploads)},
		{"POST", "/api/uploads/{id}", admin, h(s.handleUploads)}, // X-HTTP-Method-Override

		{"GET", "/api/admin/users", admin, h(s.handleAdminListUsers)},
		{"POST", "/api/admin/users", admin, h(s.handleAdminCreateUser)},
		{"PATCH", "/api/admin/users/{id}", admin, h(s.handleAdminPatchUser)},
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
