package ginflix

import (
	"context"
	"time"
)

// RefreshFamily is the chain of refresh tokens of one sign-in at the
// built-in OpenID provider (package op). Only the current token's secret
// is valid, and only its SHA-256 is kept; each refresh replaces it. It is
// stored so that sign-ins outlive a restart of the process.
type RefreshFamily struct {
	ID         string // 22 characters, random
	SecretHash []byte // SHA-256 of the current token's secret, 32 bytes
	ClientID   string
	Subject    string // the user's id
	Scopes     []string
	AMR        []string
	AuthTime   time.Time
	SessionID  string // the sign-in (the ID token's sid)
	Expires    time.Time
}

// RefreshFamilyFilter names the families to delete: one family (ID), a
// sign-in's (SessionID), or a user's at a client (Subject and ClientID).
// Fields left empty match anything; at least ID, SessionID or Subject
// must be set.
type RefreshFamilyFilter struct {
	ID, SessionID, Subject, ClientID string
}

// RefreshFamilyStore keeps refresh token families.
type RefreshFamilyStore interface {
	// CreateRefreshFamily stores a new family (ECONFLICT if its id exists).
	CreateRefreshFamily(ctx context.Context, f *RefreshFamily) error
	// RefreshFamily returns a family, expired or not (ENOTFOUND when none).
	RefreshFamily(ctx context.Context, id string) (*RefreshFamily, error)
	// RotateRefreshFamily replaces the secret hash and the expiry, if the
	// hash is still old: ECONFLICT when another rotation came first,
	// ENOTFOUND when the family is gone.
	RotateRefreshFamily(ctx context.Context, id string, old, new []byte, expires time.Time) error
	// DeleteRefreshFamilies deletes the families f names and says how many.
	DeleteRefreshFamilies(ctx context.Context, f RefreshFamilyFilter) (int, error)
	// DeleteExpiredRefreshFamilies deletes the families expired at now.
	DeleteExpiredRefreshFamilies(ctx context.Context, now time.Time) (int, error)
}
