package streamer

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
)

// Limits on what the guard lets through. The longest real path is about
// 60 bytes; the longest query a viewer token of MaxTokenLen.
const (
	maxPathLen = 256
	maxURILen  = 2048
)

// onPanic logs a handler panic and answers 500.
func (s *server) onPanic(w http.ResponseWriter, r *http.Request, v any) {
	s.Logger.ErrorContext(r.Context(), "handler panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
		"request_id", httpmw.RequestIDFrom(r.Context()))
	s.writeError(w, r, fmt.Errorf("panic: %v", v))
}

// route names a request for metrics and logs; one the guard refuses is
// "refused", before any routing.
func (s *server) route(r *http.Request) string {
	if checkRequest(r) != nil {
		return "refused"
	}
	return httpmw.MuxRoute(s.mux)(r)
}

// record records every request by route and logs it. Successes log at
// debug: a viewer fetches a segment every few seconds.
func (s *server) record(r *http.Request, d httpmw.Done) {
	if s.HTTPMetrics != nil {
		s.HTTPMetrics.ObserveHTTP(d.Route, r.Method, d.Status, d.Duration.Seconds())
	}
	if d.Route == "GET /stream/health" {
		return
	}
	level := slog.LevelDebug
	switch {
	case d.Status >= 500:
		level = slog.LevelError
	case d.Status >= 400 && d.Status != http.StatusNotModified:
		level = slog.LevelWarn
	}
	// The query holds tokens: log the path only.
	s.Logger.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method), slog.String("path", truncate(r.URL.Path, maxPathLen)), slog.String("route", d.Route),
		slog.Int("status", d.Status), slog.Int64("bytes", d.Bytes),
		slog.Duration("duration", d.Duration), slog.String("request_id", httpmw.RequestIDFrom(r.Context())))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// guard refuses, before any routing or store access, requests whose target
// could only be an attack or a mistake.
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequest(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkRequest looks at the request target as sent and as decoded. No
// real path holds a percent sign, a dot segment, an empty segment, a
// backslash or a control character, so any of them is refused rather than
// normalised: normalising is how traversal slips through.
func checkRequest(r *http.Request) error {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	p := r.URL.Path
	if len(uri) > maxURILen || len(p) > maxPathLen || len(r.URL.RawPath) > maxPathLen {
		return &ginflix.Error{Code: codeURITooLong, Message: "The request URI is too long."}
	}
	rawPath, _, _ := strings.Cut(uri, "?")
	bad := strings.ContainsAny(rawPath, "%\\") || strings.ContainsAny(p, "%\\") ||
		strings.Contains(p, "//") || strings.Contains(p+"/", "/./") || strings.Contains(p+"/", "/../")
	for i := 0; i < len(p) && !bad; i++ {
		if c := p[i]; c < 0x21 || c >= 0x7f {
			bad = true
		}
	}
	if bad || !strings.HasPrefix(p, "/") {
		return ginflix.Errorf(ginflix.EINVALID, "The request path is not valid.")
	}
	return nil
}

// cors lets the web apps' origins read responses. Responses vary by
// Origin, which a CDN keys on too: a few variants, one per web app.
func (s *server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if !s.anyOrigin && len(s.origins) > 0 {
			h.Add("Vary", "Origin")
		}
		if origin := r.Header.Get("Origin"); origin != "" && s.allowedOrigin(origin) {
			if s.anyOrigin {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges, ETag, X-Request-Id")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) allowedOrigin(origin string) bool {
	return s.anyOrigin || s.origins[strings.ToLower(origin)]
}

// handlePreflight answers CORS preflights for any /stream/ path.
func (s *server) handlePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", "GET, HEAD, OPTIONS")
	method := r.Header.Get("Access-Control-Request-Method")
	origin := r.Header.Get("Origin")
	if method == "" || origin == "" {
		w.WriteHeader(http.StatusNoContent) // a plain OPTIONS
		return
	}
	if !s.allowedOrigin(origin) {
		s.writeError(w, r, ginflix.Errorf(ginflix.EFORBIDDEN, "Origin %s may not read media from this server.", truncate(origin, 100)))
		return
	}
	if method != http.MethodGet && method != http.MethodHead {
		s.writeError(w, r, ginflix.Errorf(ginflix.EFORBIDDEN, "Only GET and HEAD are allowed here."))
		return
	}
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Modified-Since, If-Range, X-Request-Id")
	h.Set("Access-Control-Max-Age", "7200")
	w.WriteHeader(http.StatusNoContent)
}

// handleUnmatched answers what no route took: 405 for other methods on a
// streamer path, 404 otherwise.
func (s *server) handleUnmatched(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
		probe := r.Clone(r.Context())
		probe.Method = http.MethodGet
		if _, p := s.mux.Handler(probe); p != "" && p != "/" {
			w.Header().Set("Allow", "GET, HEAD, OPTIONS")
			s.writeError(w, r, &ginflix.Error{Code: codeMethodNotAllowed, Message: "Method " + r.Method + " is not allowed here; use GET or HEAD."})
			return
		}
	}
	s.writeError(w, r, ginflix.Errorf(ginflix.ENOTFOUND, "No such endpoint."))
}
