package api

import (
	"context"
	"net/http"
	"time"
)

type healthJSON struct {
	Status  string            `json:"status"`
	Service string            `json:"service,omitempty"`
	Version string            `json:"version,omitempty"`
	Checks  map[string]string `json:"checks,omitempty"`
}

// handleHealth is liveness: the process answers. It never touches a
// dependency, so a database outage does not get every pod restarted.
func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, healthJSON{Status: "ok"})
}

// check pings the database and the object store, each with a deadline.
func (s *server) check(ctx context.Context) (healthJSON, int) {
	h := healthJSON{Status: "ok", Service: "backend", Version: s.Version, Checks: map[string]string{}}
	status := http.StatusOK
	for name, p := range map[string]Pinger{"database": s.Store, "objects": s.Objects} {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := p.Ping(ctx)
		cancel()
		if err != nil {
			s.Logger.WarnContext(ctx, "readiness check failed", "check", name, "err", err)
			h.Checks[name], h.Status, status = "unreachable", "unavailable", http.StatusServiceUnavailable
			continue
		}
		h.Checks[name] = "ok"
	}
	return h, status
}

// handleReady is readiness (/ready) and the seed's load-balancer check of
// the backend (/api/health): the database and object store answer, so a
// broken pod leaves rotation.
func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	h, status := s.check(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, h)
}

func (s *server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.Metrics.Handler().ServeHTTP(w, r)
}

// handleConfig tells the web apps where to sign in and stream from.
func (s *server) handleConfig(w http.ResponseWriter, r *http.Request) {
	c := s.Public
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	// The runtime settings, read at use time: an admin's change shows on
	// the next load of a web app, so browsers revalidate every time.
	cur := s.current(r.Context())
	c.PublicCatalog, c.ManagesUsers = cur.PublicCatalog, s.ManagesUsers
	c.ProductName = cur.SiteName
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, c)
}
