// Package httpmw is the HTTP middleware every Ginflix server shares (the
// backend API and the streamer): request ids, panic recovery, and the
// observation of each request's route, status, size and latency.
package httpmw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"time"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	routeKey
)

// RequestIDFrom returns the request id RequestID put in ctx.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Route returns the mux pattern Observe matched, a bounded label for
// metrics and logs ("unmatched" when none did).
func Route(r *http.Request) string {
	if p, ok := r.Context().Value(routeKey).(string); ok {
		return p
	}
	return "unmatched"
}

// A proxy's request id is kept when it looks like one, so logs of the
// proxy and of Ginflix can be joined; anything else is replaced.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,128}$`)

// RequestID gives every request an id, in its context and in the
// X-Request-Id response header.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// Recover turns a handler panic into onPanic (which logs and answers
// 500), not a dead process. http.ErrAbortHandler keeps its meaning.
func Recover(next http.Handler, onPanic func(w http.ResponseWriter, r *http.Request, v any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				onPanic(w, r, v)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// StatusRecorder remembers the status and size of a response.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

// WriteHeader records the first status.
func (w *StatusRecorder) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *StatusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through, for handlers that assert http.Flusher.
func (w *StatusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Done is what Observe reports of one answered request.
type Done struct {
	Route    string
	Status   int
	Bytes    int64
	Duration time.Duration
}

// MuxRoute names a request by the pattern mux matches, "unmatched" when
// only a catch-all or nothing does.
func MuxRoute(mux *http.ServeMux) func(*http.Request) string {
	return func(r *http.Request) string {
		_, pattern := mux.Handler(r)
		if pattern == "/" || pattern == "" {
			return "unmatched"
		}
		return pattern
	}
}

// Observe names each request with route (kept in the context for Route),
// serves it, then calls record.
func Observe(next http.Handler, route func(*http.Request) string, record func(r *http.Request, d Done)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		pattern := route(r)
		r = r.WithContext(context.WithValue(r.Context(), routeKey, pattern))
		rec := &StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		record(r, Done{Route: pattern, Status: rec.Status, Bytes: rec.Bytes, Duration: time.Since(start)})
	})
}
