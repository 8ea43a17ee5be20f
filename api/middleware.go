package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
)

// onPanic logs a handler panic and answers 500.
func (s *server) onPanic(w http.ResponseWriter, r *http.Request, v any) {
	s.Logger.ErrorContext(r.Context(), "handler panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
		"request_id", httpmw.RequestIDFrom(r.Context()))
	s.writeError(w, r, fmt.Errorf("panic: %v", v))
}

// record logs every request and records its latency by route.
func (s *server) record(r *http.Request, d httpmw.Done) {
	s.Metrics.ObserveHTTP(d.Route, r.Method, d.Status, d.Duration.Seconds())
	if d.Route == "GET /health" || d.Route == "GET /metrics" {
		return // probes and scrapes would drown the log
	}
	s.Logger.LogAttrs(r.Context(), levelFor(d.Status), "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", d.Route),
		slog.Int("status", d.Status), slog.Int64("bytes", d.Bytes),
		slog.Duration("duration", d.Duration), slog.String("request_id", httpmw.RequestIDFrom(r.Context())))
}

// pathID reads an id path value ({id}, {videoId}) and checks its shape.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !ginflix.ValidID(id) {
		return "", ginflix.InvalidParam(name, "%q is not a valid id.", id)
	}
	return id, nil
}

// pathVideo is the video the {id} of the path names, for admin routes
// (no published check).
func (s *server) pathVideo(r *http.Request) (*ginflix.Video, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	return s.Store.Video(r.Context(), id)
}

// maxBody bounds JSON request bodies: metadata, not media.
const maxBody = 64 << 10

// decodeJSON reads one JSON object into v, refusing unknown fields, other
// content types, trailing data and bodies over maxBody.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, maxBody)
}

// decodeJSONLimit is decodeJSON with another bound on the body.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, maxBody int64) error {
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
