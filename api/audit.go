package api

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
)

// Registerer takes extra collectors; the prometheus package's Metrics is one.
type Registerer interface {
	Register(cs ...prometheus.Collector) error
}

// Auditor writes the audit log. An entry is written in the request that
// did the action, after it succeeded; a failed write is logged (with the
// whole entry, so nothing is lost) and counted, and never fails the
// action, which has already happened.
type Auditor struct {
	store    ginflix.AuditStore
	log      *slog.Logger
	failures prometheus.Counter
}

// auditTimeout bounds one write: an admin's answer waits for it.
const auditTimeout = 3 * time.Second

// NewAuditor returns an Auditor over store; reg, when not nil, gets the
// ginflix_audit_write_failures_total counter.
func NewAuditor(store ginflix.AuditStore, log *slog.Logger, reg Registerer) *Auditor {
	a := &Auditor{store: store, log: log, failures: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ginflix_audit_write_failures_total",
		Help: "Audit log entries that could not be stored (each is logged instead).",
	})}
	if reg != nil {
		if err := reg.Register(a.failures); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if c, ok := are.ExistingCollector.(prometheus.Counter); ok {
					a.failures = c
				}
			} else {
				log.Warn("registering the audit metrics", "err", err)
			}
		}
	}
	return a
}

// Record appends one entry for p's action on the target.
func (a *Auditor) Record(ctx context.Context, p *ginflix.Principal, action ginflix.AuditAction, targetType, targetID, detail string) {
	e := &ginflix.AuditEntry{Action: action, TargetType: targetType, TargetID: targetID, Detail: detail}
	if p != nil {
		e.ActorID, e.ActorName, e.ActorEmail = p.Subject, p.Name, p.Email
	}
	// The action is done: a client that leaves now must not cancel its record.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := a.store.AppendAudit(wctx, e); err != nil {
		a.failures.Inc()
		a.log.ErrorContext(ctx, "audit write failed", "err", err, "action", string(action), "target_type", targetType,
			"target_id", targetID, "actor", e.ActorID, "detail", detail, "request_id", httpmw.RequestIDFrom(ctx))
	}
}

type auditEntryJSON struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	ActorID    string    `json:"actorId"`
	ActorName  string    `json:"actorName"`
	ActorEmail string    `json:"actorEmail"`
	Action     string    `json:"action"`
	TargetType string    `json:"targetType"`
	TargetID   string    `json:"targetId"`
	Detail     string    `json:"detail"`
}

// handleAdminAudit lists the audit log, newest first: ?action=ACTION,
// ?target=TYPE or TYPE:ID, ?limit=, ?cursor=.
func (s *server) handleAdminAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for name, vs := range q {
		if len(vs) > 1 {
			s.writeError(w, r, ginflix.InvalidParam(name, "Parameter %s is given %d times; give it once.", name, len(vs)))
			return
		}
	}
	f := ginflix.AuditFilter{Action: ginflix.AuditAction(q.Get("action")), After: q.Get("cursor")}
	if t := q.Get("target"); t != "" {
		f.TargetType, f.TargetID, _ = strings.Cut(t, ":")
		if strings.Contains(t, ":") && f.TargetID == "" {
			s.writeError(w, r, ginflix.InvalidParam("target", "The target %q has a colon but no id: use TYPE or TYPE:ID.", t))
			return
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			s.writeError(w, r, ginflix.InvalidParam("limit", "limit must be a whole number from 1 to %d, got %q.", ginflix.MaxAuditPage, l))
			return
		}
		f.Limit = n
	}
	if err := f.Normalize(); err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, next, err := s.Store.FindAudit(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := page[auditEntryJSON]{Items: make([]auditEntryJSON, len(entries)), Next: next}
	for i, e := range entries {
		out.Items[i] = auditEntryJSON{ID: e.ID, At: e.At, ActorID: e.ActorID, ActorName: e.ActorName, ActorEmail: e.ActorEmail,
			Action: string(e.Action), TargetType: e.TargetType, TargetID: e.TargetID, Detail: e.Detail}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// statusRecorder keeps the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// auditUploadCreated records a tus creation (a POST to the collection
// that is not a method override) once tusd answered 201 with its Location.
func (s *server) auditUploadCreated(r *http.Request, rec *statusRecorder) {
	if r.Method != http.MethodPost || r.Header.Get("X-HTTP-Method-Override") != "" || rec.status != http.StatusCreated {
		return
	}
	id := path.Base(rec.Header().Get("Location"))
	detail := uploadFilename(r.Header.Get("Upload-Metadata"))
	if l := r.Header.Get("Upload-Length"); l != "" {
		detail += " (" + l + " bytes)"
	}
	s.Audit.Record(r.Context(), principal(r), ginflix.AuditUploadCreated, ginflix.TargetUpload, id, detail)
}

// uploadFilename reads the filename from a tus Upload-Metadata header
// ("key base64,key base64"); tus has validated it by now.
func uploadFilename(meta string) string {
	for _, pair := range strings.Split(meta, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), " ")
		if k == "filename" {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				return string(b)
			}
		}
	}
	return ""
}
