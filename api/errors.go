package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
)

// statusOf maps error codes to HTTP statuses: the only place that does.
var statusOf = map[string]int{
	ginflix.ECONFLICT:       http.StatusConflict,
	ginflix.EINVALID:        http.StatusBadRequest,
	ginflix.ENOTFOUND:       http.StatusNotFound,
	ginflix.EUNAUTHORIZED:   http.StatusUnauthorized,
	ginflix.EFORBIDDEN:      http.StatusForbidden,
	ginflix.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	ginflix.ERANGE:          http.StatusRequestedRangeNotSatisfiable,
	ginflix.EUNAVAILABLE:    http.StatusServiceUnavailable,
	ginflix.ENOTIMPLEMENTED: http.StatusNotImplemented,
	ginflix.EINTERNAL:       http.StatusInternalServerError,
	ginflix.EUNPROCESSABLE:  http.StatusUnprocessableEntity,
	ginflix.ERATELIMITED:    http.StatusTooManyRequests,
	"method_not_allowed":    http.StatusMethodNotAllowed,
}

// errorBody is the JSON every error response carries.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Param     string `json:"param,omitempty"`
		RequestID string `json:"requestId,omitempty"`
	} `json:"error"`
}

// writeError answers err as JSON. Internal errors are logged and counted
// with their detail; the client gets a generic message and the request id.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := ginflix.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = ginflix.ErrorMessage(err)
	body.Error.RequestID = httpmw.RequestIDFrom(r.Context())
	if e, ok := err.(*ginflix.Error); ok {
		body.Error.Param = e.Param
	}
	route := httpmw.Route(r)
	if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "request failed", "route", route, "code", code, "err", err, "request_id", body.Error.RequestID)
	}
	s.Metrics.CountError(route, code)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Debug("writing response", "err", err) // the client went away
	}
}

// handleUnmatched answers requests no route took: 405 with Allow when the
// path exists under other methods, 404 otherwise.
func (s *server) handleUnmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, &ginflix.Error{Code: "method_not_allowed", Message: "Method " + r.Method + " is not allowed here; use " + strings.Join(allow, ", ") + "."})
		return
	}
	s.writeError(w, r, ginflix.Errorf(ginflix.ENOTFOUND, "No such endpoint: %s %s.", r.Method, r.URL.Path))
}
