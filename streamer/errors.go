package streamer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
)

// Codes of the streamer beyond ginflix's.
const (
	codeMethodNotAllowed = "method_not_allowed"
	codeURITooLong       = "uri_too_long"
)

// statusOf maps error codes to HTTP statuses: the only place that does.
var statusOf = map[string]int{
	ginflix.EINVALID:      http.StatusBadRequest,
	ginflix.ENOTFOUND:     http.StatusNotFound,
	ginflix.EUNAUTHORIZED: http.StatusUnauthorized,
	ginflix.EFORBIDDEN:    http.StatusForbidden,
	ginflix.ETOOLARGE:     http.StatusInternalServerError, // an object too big to rewrite: ours, not the client's
	ginflix.ERANGE:        http.StatusRequestedRangeNotSatisfiable,
	ginflix.EUNAVAILABLE:  http.StatusServiceUnavailable,
	ginflix.EINTERNAL:     http.StatusInternalServerError,
	codeMethodNotAllowed:  http.StatusMethodNotAllowed,
	codeURITooLong:        http.StatusRequestURITooLong,
}

// errUnavailable is what clients see of an object store failure.
var errUnavailable = &ginflix.Error{Code: ginflix.EUNAVAILABLE, Message: "The media store is not answering; try again shortly."}

var errNotFound = &ginflix.Error{Code: ginflix.ENOTFOUND, Message: "No such media."}

// storeError turns an object store failure into what a client may see:
// missing objects are 404 (without the key), anything else 503.
func storeError(err error) error {
	switch ginflix.ErrorCode(err) {
	case ginflix.ENOTFOUND, ginflix.EINVALID:
		return errNotFound
	case ginflix.ERANGE, ginflix.ETOOLARGE:
		return err
	}
	var e *ginflix.Error
	if errors.As(err, &e) && e == errUnavailable {
		return err
	}
	return &wrapped{public: errUnavailable, cause: err}
}

// wrapped keeps the cause of a public error for the log.
type wrapped struct {
	public *ginflix.Error
	cause  error
}

func (w *wrapped) Error() string   { return w.public.Error() + ": " + w.cause.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.public, w.cause} }

// errorBody is the JSON every error response carries, the backend's shape.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Param     string `json:"param,omitempty"`
		RequestID string `json:"requestId,omitempty"`
	} `json:"error"`
}

// writeError answers err as JSON. Server errors are logged with their
// cause; the client gets the public message and the request id.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return // the client left; nobody reads the answer
	}
	code := ginflix.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = ginflix.ErrorMessage(err)
	body.Error.RequestID = httpmw.RequestIDFrom(r.Context())
	var e *ginflix.Error
	if errors.As(err, &e) {
		body.Error.Param = e.Param
	}
	route := httpmw.Route(r)
	if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "request failed", "route", route, "code", code, "err", err, "request_id", body.Error.RequestID)
	}
	if s.HTTPMetrics != nil {
		s.HTTPMetrics.CountError(route, code)
	}
	h := w.Header()
	// Headers set for a success that did not happen must not stick.
	for _, k := range []string{"ETag", "Last-Modified", "Content-Length", "Content-Range", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	writeJSON(w, r, status, body)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // an error means the client went away
}
