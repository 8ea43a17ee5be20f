// Package api is the backend role's HTTP server: the catalogue API, health
// and readiness, metrics and the OpenAPI document.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
	"github.com/ginflix/ginflix/playback"
)

// Metrics is what the server records; the prometheus package provides it.
type Metrics interface {
	ObserveHTTP(route, method string, status int, seconds float64)
	CountError(route, code string)
	CountCache(hit bool)
	Handler() http.Handler
}

// Pinger is a dependency readiness checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the server needs.
type Deps struct {
	Logger  *slog.Logger
	Store   ginflix.Store
	Objects ginflix.ObjectStore
	Metrics Metrics
	Version string
	// CatalogCacheTTL is how long catalogue answers are reused; 0 turns
	// the cache off.
	CatalogCacheTTL time.Duration

	Verifier TokenVerifier
	// Public is what GET /api/config tells the web apps.
	Public PublicConfig
	// PublicCatalog lets anonymous callers read the catalogue.
	PublicCatalog bool
	// AdminRole and ViewerRole name the roles in messages.
	AdminRole, ViewerRole string
	// ManagesUsers is true with the built-in provider: accounts live in
	// Store. With Keycloak the identity provider manages them.
	ManagesUsers bool
	// Uploads serves the tus protocol under /api/uploads/; nil when this
	// process takes no uploads.
	Uploads http.Handler
	// Playback signs the streamer's tokens; nil disables playback.
	Playback *playback.Signer
	// Analytics configures playback reporting (analytics.go).
	Analytics AnalyticsConfig

	// Settings serves the runtime settings an admin changes; nil builds a
	// cache over Store whose defaults are PublicCatalog and
	// Public.ProductName (see settings.go).
	Settings *ginflix.SettingsCache
	// Audit records admin actions; nil builds one over Store.
	Audit *Auditor
	// SystemConfig is the effective configuration, secrets masked, that
	// GET /api/admin/system shows.
	SystemConfig []ConfigEntry
	// FFmpegVersion reports the transcoder's version; nil when unknown.
	FFmpegVersion func(ctx context.Context) (string, error)
}

// PublicConfig is the configuration the web apps need, none of it secret.
type PublicConfig struct {
	ProductName   string   `json:"productName"`
	Issuer        string   `json:"issuer"`
	ClientID      string   `json:"clientId"`
	Scopes        []string `json:"scopes"`
	StreamerURL   string   `json:"streamerUrl"`
	PublicCatalog bool     `json:"publicCatalog"`
	ManagesUsers  bool     `json:"managesUsers"`
}

// server holds the dependencies handlers close over.
type server struct {
	Deps
	mux       *http.ServeMux
	cache     *pageCache // nil when off
	sys       systemInfo
	analytics *analytics
}

// NewServer returns the backend's handler with every route of routes.go.
func NewServer(d Deps) http.Handler {
	s := &server{Deps: d, mux: http.NewServeMux()}
	s.analytics = newAnalytics(&s.Deps)
	if d.CatalogCacheTTL > 0 {
		s.cache = newPageCache(d.CatalogCacheTTL, 4096)
	}
	s.initSettings()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern(), s.guard(rt.access, rt.handler))
	}
	// Unmatched requests still get JSON: 404, or 405 with Allow.
	s.mux.Handle("/", http.HandlerFunc(s.handleUnmatched))
	return httpmw.RequestID(httpmw.Recover(httpmw.Observe(s.mux, httpmw.MuxRoute(s.mux), s.record), s.onPanic))
}
