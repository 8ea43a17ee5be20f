// Package storetest is the one conformance suite every ginflix.Store
// implementation runs: the embedded sqlite store and the mongo store.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

// Opener returns a fresh, empty store whose clock is now.
type Opener func(t *testing.T, now func() time.Time) ginflix.Store

// Clock is a settable clock for stores under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at a fixed millisecond-precision instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Run runs the whole suite against the stores open makes.
func Run(t *testing.T, open Opener) {
	t.Run("Videos", func(t *testing.T) { testVideos(t, open) })
	t.Run("FindVideos", func(t *testing.T) { testFindVideos(t, open) })
	t.Run("Search", func(t *testing.T) { testSearch(t, open) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, open) })
	t.Run("Categories", func(t *testing.T) { testCategories(t, open) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Progress", func(t *testing.T) { testProgress(t, open) })
	t.Run("MyList", func(t *testing.T) { testMyList(t, open) })
	t.Run("Events", func(t *testing.T) { testEvents(t, open) })
	t.Run("Analytics", func(t *testing.T) { testAnalytics(t, open) })
	t.Run("AnalyticsErrorCap", func(t *testing.T) { testAnalyticsErrorCap(t, open) })
	t.Run("AnalyticsConcurrency", func(t *testing.T) { testAnalyticsConcurrency(t, open) })
	t.Run("AnalyticsSessionCap", func(t *testing.T) { testAnalyticsSessionCap(t, open) })
	t.Run("UploadAndTranscodeStats", func(t *testing.T) { testUploadAndTranscodeStats(t, open) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, open) })
	t.Run("JobCounts", func(t *testing.T) { testJobCounts(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("RefreshFamilies", func(t *testing.T) { testRefreshFamilies(t, open) })
}

func ctx(t *testing.T) context.Context { return t.Context() }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ginflix.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
