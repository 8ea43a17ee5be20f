package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/bench/internal/synth"
	"github.com/ginflix/ginflix/sqlite"
)

// seed creates n ready videos, 10% of them drafts, and returns the
// published ones. Durations are 1 to 30 minutes, so that at 10x many
// sessions reach the end (and a new session) within a phase; every video
// has the three-rung ladder the players switch between.
func seed(ctx context.Context, db *sqlite.DB, n int) ([]videoRec, error) {
	var out []videoRec
	err := synth.Seed(ctx, db, n, 30*time.Minute, func(v *ginflix.Video) {
		if v.Published {
			out = append(out, videoRec{ID: v.ID, Duration: v.Duration})
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no published video among %d", n)
	}
	return out, nil
}
