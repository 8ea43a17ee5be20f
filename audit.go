package ginflix

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// AuditAction is what an admin did; the set is fixed so that the log can
// be filtered and translated.
type AuditAction string

const (
	AuditUploadCreated    AuditAction = "upload.created"
	AuditUploadFinished   AuditAction = "upload.finished"
	AuditVideoUpdated     AuditAction = "video.updated"
	AuditVideoPublished   AuditAction = "video.published"
	AuditVideoUnpublished AuditAction = "video.unpublished"
	AuditVideoDeleted     AuditAction = "video.deleted"
	AuditVideoRetried     AuditAction = "video.retried"
	AuditUserCreated      AuditAction = "user.created"
	AuditUserDisabled     AuditAction = "user.disabled"
	AuditUserEnabled      AuditAction = "user.enabled"
	AuditUserRoleChanged  AuditAction = "user.role_changed"
	AuditSettingsUpdated  AuditAction = "settings.updated"
)

// AuditActions lists every action, in the order an admin thinks of them.
var AuditActions = []AuditAction{
	AuditUploadCreated, AuditUploadFinished, AuditVideoUpdated, AuditVideoPublished, AuditVideoUnpublished,
	AuditVideoDeleted, AuditVideoRetried, AuditUserCreated, AuditUserDisabled, AuditUserEnabled,
	AuditUserRoleChanged, AuditSettingsUpdated,
}

// Valid reports whether a is one of AuditActions.
func (a AuditAction) Valid() bool {
	for _, x := range AuditActions {
		if x == a {
			return true
		}
	}
	return false
}

// Kinds of what an audit entry is about.
const (
	TargetUpload   = "upload"
	TargetVideo    = "video"
	TargetUser     = "user"
	TargetSettings = "settings"
)

// ValidTargetType reports whether t is a known kind of target.
func ValidTargetType(t string) bool {
	switch t {
	case TargetUpload, TargetVideo, TargetUser, TargetSettings:
		return true
	}
	return false
}

// AuditEntry records one admin action: who, when, what, on what.
type AuditEntry struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// ActorID is the token's subject; name and email are what the token
	// said at the time, kept so that the log reads well after the account
	// is gone.
	ActorID    string      `json:"actorId"`
	ActorName  string      `json:"actorName,omitempty"`
	ActorEmail string      `json:"actorEmail,omitempty"`
	Action     AuditAction `json:"action"`
	TargetType string      `json:"targetType"`
	TargetID   string      `json:"targetId"`
	// Detail is a short human summary: a title, "roles: a → b", the
	// settings that changed.
	Detail string `json:"detail,omitempty"`
}

// Limits of an audit entry; longer text is cut, never refused, since an
// action that happened must be recorded.
const (
	MaxAuditDetailLen = 1000
	maxAuditFieldLen  = 200
	DefaultAuditPage  = 50
	MaxAuditPage      = 200
)

// PrepareAppend checks e, cuts over-long text and fills the id and time.
func (e *AuditEntry) PrepareAppend(now time.Time) error {
	switch {
	case !e.Action.Valid():
		return InvalidParam("action", "Unknown audit action %q.", e.Action)
	case !ValidTargetType(e.TargetType):
		return InvalidParam("targetType", "Unknown audit target %q.", e.TargetType)
	}
	if e.ID == "" {
		e.ID = newSequentialID()
	}
	if e.At.IsZero() {
		e.At = now
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	e.ActorID = cut(e.ActorID, maxAuditFieldLen)
	e.ActorName = cut(e.ActorName, maxAuditFieldLen)
	e.ActorEmail = cut(e.ActorEmail, maxAuditFieldLen)
	e.TargetID = cut(e.TargetID, maxAuditFieldLen)
	e.Detail = cut(strings.TrimSpace(e.Detail), MaxAuditDetailLen)
	return nil
}

// auditSeq orders the ids this process makes.
var auditSeq atomic.Uint32

// newSequentialID returns an id of NewID's shape whose order is the order
// of the calls in this process: milliseconds (48 bits), a counter (16
// bits), then randomness (32 bits) that keeps processes apart. The log
// sorts by time, then id, so two actions in one millisecond keep their
// order.
func newSequentialID() string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16|uint64(auditSeq.Add(1)&0xffff))
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

func cut(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// AuditFilter selects a page of the audit log, newest first.
type AuditFilter struct {
	Action     AuditAction // "" for any
	TargetType string      // "" for any
	TargetID   string      // "" for any; only with TargetType
	// After is the opaque cursor of the previous page, "" for the first.
	After string
	Limit int
}

// Normalize fills defaults and checks the filter.
func (f *AuditFilter) Normalize() error {
	if f.Limit == 0 {
		f.Limit = DefaultAuditPage
	}
	switch {
	case f.Limit < 1 || f.Limit > MaxAuditPage:
		return InvalidParam("limit", "limit must be between 1 and %d.", MaxAuditPage)
	case f.Action != "" && !f.Action.Valid():
		return InvalidParam("action", "Unknown audit action %q.", f.Action)
	case f.TargetType != "" && !ValidTargetType(f.TargetType):
		return InvalidParam("target", "Unknown target %q: use upload, video, user or settings, optionally followed by :ID.", f.TargetType)
	case f.TargetID != "" && f.TargetType == "":
		return InvalidParam("target", "A target id needs its type: TYPE:ID.")
	}
	if f.After != "" {
		if _, err := DecodeAuditCursor(f.After); err != nil {
			return err
		}
	}
	return nil
}

// AuditCursor is the position after the last entry of a page: entries go
// newest first, ties broken by id, in both stores.
type AuditCursor struct {
	Time int64  `json:"t"` // At in Unix milliseconds
	ID   string `json:"i"`
}

// AuditCursorAfter returns the cursor that follows e.
func AuditCursorAfter(e *AuditEntry) string {
	b, _ := json.Marshal(AuditCursor{Time: e.At.UnixMilli(), ID: e.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeAuditCursor parses a cursor AuditCursorAfter made.
func DecodeAuditCursor(s string) (AuditCursor, error) {
	var c AuditCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || !ValidID(c.ID) {
		return c, InvalidParam("cursor", "The cursor is not one this server made.")
	}
	return c, nil
}

// AuditStore keeps the audit log: append-only, read newest first.
type AuditStore interface {
	// AppendAudit stores e after PrepareAppend (filling its id and time).
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// FindAudit returns a page of entries, newest first, and the cursor of
	// the next page ("" at the end). Keyset pagination: entries appended
	// while a client pages through do not shift later pages.
	FindAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, string, error)
}
