package ginflix

import (
	"context"
	"time"
)

// PlaybackEventType is what the player reports.
type PlaybackEventType string

const (
	EventStart         PlaybackEventType = "start"          // Value: startup time in ms
	EventHeartbeat     PlaybackEventType = "heartbeat"      // Position, Rung
	EventRebufferStart PlaybackEventType = "rebuffer_start" //
	EventRebufferEnd   PlaybackEventType = "rebuffer_end"   // Value: stall in ms
	EventQuality       PlaybackEventType = "quality"        // Rung switched to
	EventError         PlaybackEventType = "error"          // Detail
	EventEnd           PlaybackEventType = "end"
)

// PlaybackEvent is one report of one playback session.
type PlaybackEvent struct {
	ID        string            `json:"id"`
	SessionID string            `json:"sessionId"`
	UserID    string            `json:"userId"`
	VideoID   string            `json:"videoId"`
	Type      PlaybackEventType `json:"type"`
	Position  float64           `json:"position"`
	Rung      string            `json:"rung,omitempty"`
	Value     float64           `json:"value,omitempty"`
	Detail    string            `json:"detail,omitempty"`
	Country   string            `json:"country,omitempty"`
	At        time.Time         `json:"at"`
}

// PrepareEvents assigns missing ids and stamps missing times with now, at
// the millisecond both stores keep.
func PrepareEvents(events []PlaybackEvent, now time.Time) {
	for i := range events {
		e := &events[i]
		if e.ID == "" {
			e.ID = NewID()
		}
		if e.At.IsZero() {
			e.At = now
		}
		e.At = e.At.UTC().Truncate(time.Millisecond)
	}
}

// EventStore keeps raw playback events for a bounded retention.
type EventStore interface {
	// AppendEvents stores a batch, assigning missing IDs (written back into
	// events) and stamping a zero At with the store's clock.
	AppendEvents(ctx context.Context, events []PlaybackEvent) error
	// SessionEvents returns one session's events in time order.
	SessionEvents(ctx context.Context, sessionID string) ([]PlaybackEvent, error)
	// DeleteEventsBefore sweeps events older than t and says how many went.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
}
