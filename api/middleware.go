package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	routeKey
)

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// routeLabel is the matched pattern, a bounded label for metrics and logs.
func routeLabel(r *http.Request) string {
	if p, ok := r.Context().Value(routeKey).(string); ok {
		return p
	}
	return "unmatched"
}

// A proxy's request id is kept when it looks like one, so logs of the
// proxy and of Ginflix can be joined; anything else is replaced.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,128}$`)

func (s *server) requestID(next http.Handler) http.Handler {
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

// recoverPanics turns a handler panic into a logged 500, not a dead process.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "handler panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
					"request_id", requestIDFrom(r.Context()))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs every request and records its latency by route.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, pattern := s.mux.Handler(r)
		if pattern == "/" || pattern == "" {
			pattern = "unmatched"
		}
		r = r.WithContext(context.WithValue(r.Context(), routeKey, pattern))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.Metrics.ObserveHTTP(pattern, r.Method, rec.status, elapsed.Seconds())
		if pattern == "GET /health" || pattern == "GET /metrics" {
			return // probes and scrapes would drown the log
		}
		s.Logger.LogAttrs(r.Context(), levelFor(rec.status), "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", pattern),
			slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", elapsed), slog.String("request_id", requestIDFrom(r.Context())))
	})
}

// pathID reads an id path value ({id}, {videoId}) and checks its shape.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !ginflix.ValidID(id) {
		return "", ginflix.InvalidParam(name, "%q is not a valid id.", id)
	}
	return id, nil
}

// maxBody bounds JSON request bodies: metadata, not media.
const maxBody = 64 << 10

// decodeJSON reads one JSON object into v, refusing unknown fields, other
// content types, trailing data and bodies over maxBody.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return ginflix.InvalidParam("body", "Send JSON (Content-Type: application/json), not %s.", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &ginflix.Error{Code: ginflix.ETOOLARGE, Param: "body", Message: fmt.Sprintf("The body is larger than %d bytes.", maxBody)}
		}
		return ginflix.InvalidParam("body", "The body is not the JSON expected: %s.", jsonProblem(err))
	}
	if dec.More() {
		return ginflix.InvalidParam("body", "The body holds more than one JSON value.")
	}
	return nil
}

// jsonProblem phrases a decoding error without echoing the body back.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "it is empty"
	default:
		return "it cannot be read"
	}
}

func levelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	default:
		return slog.LevelInfo
	}
}
