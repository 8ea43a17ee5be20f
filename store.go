package ginflix

import (
	"context"
	"time"
)

// Store is everything the platform keeps in its database. The sqlite and
// mongo packages implement it; storetest checks both against one suite.
type Store interface {
	VideoStore
	UserStore
	ProgressStore
	MyListStore
	EventStore
	AnalyticsStore
	JobStore
	SettingsStore
	AuditStore
	RefreshFamilyStore
	// Ping checks the database answers, for readiness.
	Ping(ctx context.Context) error
	Close() error
}

// Now is the clock stores stamp records with: UTC, at the millisecond
// MongoDB dates keep, so both stores give back exactly what they got.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
