package ginflix

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of playback reporting. They keep one request's work and one
// session's storage bounded whatever a client sends.
const (
	MaxEventsPerBatch  = 50
	MaxEventBatchBytes = 32 << 10
	// MaxSessionEvents caps what one session stores: a six-hour session at
	// one heartbeat every 10 s is 2160 events.
	MaxSessionEvents  = 5000
	MaxErrorDetailLen = 200
	// MaxErrorDetailsPerHour bounds the distinct error details kept per
	// video and hour (the rest count under OtherErrorDetail): details are
	// client text, and aggregates are kept forever.
	MaxErrorDetailsPerHour = 20
	OtherErrorDetail       = "other"
	OtherRung              = "other"
	// EventClockSkew is how far an event's time may be ahead of the
	// server's clock, or before its session was issued: browsers' clocks
	// drift.
	EventClockSkew = time.Minute
	MaxStartupMs   = 10 * 60 * 1000
	MaxStallMs     = 60 * 60 * 1000
	// MaxCreditGap bounds the watch time one interval between two reports
	// adds: heartbeats come every 10 s, so a longer gap is a paused or
	// backgrounded player, not proof of watching.
	MaxCreditGap = 30 * time.Second

	DefaultViewThreshold  = 10 * time.Second
	DefaultEventRetention = 30 * 24 * time.Hour
	// ActiveViewerWindow: a session with an event this recent is watching
	// now (heartbeats come every 10 s).
	ActiveViewerWindow = time.Minute

	// RetentionStep is the resolution of audience retention, in percent of
	// the duration; RetentionSteps counts 0, 5, …, 100.
	RetentionStep  = 5
	RetentionSteps = 100/RetentionStep + 1

	// MaxAnalyticsRange bounds the window of one analytics query.
	MaxAnalyticsRange = 92 * 24 * time.Hour
)

// StartupBucketsMs are the upper bounds (inclusive) of the startup time
// histogram kept per video and hour; one more bucket holds the slower
// starts. Fixed, so that hours can be summed and percentiles read.
var StartupBucketsMs = []float64{250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000}

// StartupBucket is the histogram bucket of a startup time.
func StartupBucket(ms float64) int { return sort.SearchFloat64s(StartupBucketsMs, ms) }

// HistogramPercentile estimates the q-quantile (0..1) of the startup
// histogram counts by linear interpolation inside its bucket; the open last
// bucket answers its lower bound. 0 when empty.
func HistogramPercentile(counts []int64, q float64) float64 {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = StartupBucketsMs[i-1]
			}
			if i >= len(StartupBucketsMs) {
				return lo
			}
			return lo + (StartupBucketsMs[i]-lo)*(rank-seen)/float64(c)
		}
		seen += float64(c)
	}
	return StartupBucketsMs[len(StartupBucketsMs)-1]
}

// PlaybackSession is what a signed playback-session id says: who plays
// what, since when and until when. Country comes from the trusted proxy.
type PlaybackSession struct {
	ID       string
	UserID   string
	VideoID  string
	Duration float64 // seconds, of the video when the session was issued
	// Rungs are the names of the video's ladder: other names count as
	// OtherRung, so that a client cannot grow the per-rung aggregates.
	// Empty keeps any well-formed name.
	Rungs    []string
	Country  string
	IssuedAt time.Time
	Expires  time.Time
}

// AnalyticsRules are the configurable counting rules.
type AnalyticsRules struct {
	// ViewThreshold is the watch time after which a session counts one view.
	ViewThreshold time.Duration
}

func (r AnalyticsRules) threshold() float64 {
	if r.ViewThreshold <= 0 {
		return DefaultViewThreshold.Seconds()
	}
	return r.ViewThreshold.Seconds()
}

var validRung = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Unprocessable is for well-formed input the rules refuse (422).
func Unprocessable(param, format string, args ...any) *Error {
	return &Error{Code: EUNPROCESSABLE, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ValidateEvents checks a batch of s against the rules: shape (400) and
// bounds (422). It renames rungs the session's ladder lacks to OtherRung,
// so that the per-rung aggregates stay as small as the ladder.
func ValidateEvents(s PlaybackSession, events []PlaybackEvent, now time.Time) error {
	if len(events) == 0 || len(events) > MaxEventsPerBatch {
		return InvalidParam("events", "Send 1 to %d events per batch.", MaxEventsPerBatch)
	}
	maxPos := 24 * 3600.0 // a video of unknown duration
	if s.Duration > 0 {
		maxPos = s.Duration + max(5, s.Duration/100)
	}
	for i := range events {
		e := &events[i]
		p := fmt.Sprintf("events[%d]", i)
		switch e.Type {
		case EventStart, EventHeartbeat, EventRebufferStart, EventRebufferEnd, EventQuality, EventError, EventEnd:
		default:
			return InvalidParam(p+".type", "Event %d: unknown type %q.", i, e.Type)
		}
		switch {
		case e.At.IsZero():
			return InvalidParam(p+".at", "Event %d: at (an RFC 3339 time) is required.", i)
		case e.At.After(now.Add(EventClockSkew)):
			return Unprocessable(p+".at", "Event %d: at is in the future.", i)
		case e.At.Before(s.IssuedAt.Add(-EventClockSkew)):
			return Unprocessable(p+".at", "Event %d: at is before the playback session began.", i)
		case e.At.After(s.Expires.Add(EventClockSkew)):
			return Unprocessable(p+".at", "Event %d: at is after the playback session ended.", i)
		case math.IsNaN(e.Position) || e.Position < 0 || e.Position > maxPos:
			return Unprocessable(p+".position", "Event %d: position %g is outside the video (0 to %.0f s).", i, e.Position, maxPos)
		case e.Rung != "" && !validRung.MatchString(e.Rung):
			return InvalidParam(p+".rung", "Event %d: rung must be 1 to 32 letters, digits, - or _.", i)
		case math.IsNaN(e.Value) || e.Value < 0:
			return Unprocessable(p+".value", "Event %d: value must be a positive number.", i)
		}
		switch e.Type {
		case EventStart:
			if e.Value > MaxStartupMs {
				return Unprocessable(p+".value", "Event %d: a startup time is at most %d ms.", i, MaxStartupMs)
			}
		case EventRebufferEnd:
			if e.Value > MaxStallMs {
				return Unprocessable(p+".value", "Event %d: a stall is at most %d ms.", i, MaxStallMs)
			}
		default:
			if e.Value != 0 {
				return InvalidParam(p+".value", "Event %d: value is for start and rebuffer_end events only.", i)
			}
		}
		if e.Rung != "" && len(s.Rungs) > 0 && !slices.Contains(s.Rungs, e.Rung) {
			// Players name rungs their own way at times (a native player
			// only knows the frame height): counted, under one name.
			e.Rung = OtherRung
		}
		if e.Type != EventError && e.Detail != "" {
			return InvalidParam(p+".detail", "Event %d: detail is for error events only.", i)
		}
		if e.Type == EventError {
			if !utf8.ValidString(e.Detail) || utf8.RuneCountInString(e.Detail) > MaxErrorDetailLen ||
				strings.IndexFunc(e.Detail, unicode.IsControl) >= 0 {
				return InvalidParam(p+".detail", "Event %d: detail is at most %d characters of text.", i, MaxErrorDetailLen)
			}
		}
	}
	return nil
}

// ErrorKey is the aggregate key of an error detail: trimmed, spaces
// collapsed, "unknown" when empty.
func ErrorKey(detail string) string {
	k := strings.Join(strings.Fields(detail), " ")
	if k == "" {
		return "unknown"
	}
	return k
}

// errorCodes are the error classes hls.js reports (ErrorTypes): the only
// values the Prometheus label takes, so clients cannot grow its series.
var errorCodes = map[string]bool{"networkError": true, "mediaError": true, "keySystemError": true, "muxError": true, "otherError": true}

// PlaybackErrorCode is the bounded class of an error detail
// ("networkError: fragLoadError" → "networkError"), "other" for anything else.
func PlaybackErrorCode(detail string) string {
	code, _, _ := strings.Cut(strings.TrimSpace(detail), ":")
	if errorCodes[code] {
		return code
	}
	return "other"
}

// SessionState is what the database keeps of one session between batches,
// so that any replica can take the next one.
type SessionState struct {
	ID, UserID, VideoID, Country string
	Duration                     float64
	// FirstAt and LastAt are the times of its first and latest applied
	// events; zero before any.
	FirstAt, LastAt time.Time
	LastPosition    float64
	Rung            string
	Watched         float64 // seconds credited
	// MaxStep is the highest retention step reached, -1 before any.
	MaxStep    int
	MaxPercent float64
	Started    bool
	Viewed     bool
	Events     int
	// Version is the store's compare-and-swap counter (0: not stored).
	Version int64
}

// NewSessionState is the state of a session before its first batch.
func NewSessionState(s PlaybackSession) *SessionState {
	return &SessionState{ID: s.ID, UserID: s.UserID, VideoID: s.VideoID, Country: s.Country, Duration: s.Duration, MaxStep: -1}
}

// HourlyDelta is what one batch adds to one video's hour.
type HourlyDelta struct {
	Hour            time.Time
	Views           int64
	Sessions        int64
	WatchSeconds    float64
	PercentSum      float64
	StartupCount    int64
	StartupMsSum    float64
	Startup         map[int]int64 // bucket → startups
	RebufferCount   int64
	RebufferSeconds float64
	Errors          int64
	ErrorDetails    map[string]int64
	RungSeconds     map[string]float64
	Reached         map[int]int64 // retention step → sessions newly reaching it
	// Viewer: the session's view was counted in this hour, so its user is
	// one of the video's viewers of the hour.
	Viewer bool
}

// PlaybackOutcome is what applying a batch did.
type PlaybackOutcome struct {
	// Applied are the events counted and stored, in time order.
	Applied []PlaybackEvent
	// Ignored counts replays (not after what the session already has) and
	// events past MaxSessionEvents: neither stored nor counted.
	Ignored     int
	ViewCounted bool
	// Deltas, by hour.
	Deltas []*HourlyDelta
}

// Apply folds a validated batch into the session and says what it adds
// to the hourly aggregates. It is deterministic: the store runs it under
// its compare-and-swap, so concurrent batches of a session count once.
//
// Watch time: between two consecutive reports, the lesser of the wall
// time and the position's advance (so pauses, stalls and backward seeks
// add nothing, and nothing adds more than the time that passed), capped at
// MaxCreditGap; it goes to the rung current during the interval.
func (st *SessionState) Apply(events []PlaybackEvent, rules AnalyticsRules) PlaybackOutcome {
	sorted := make([]PlaybackEvent, len(events))
	copy(sorted, events)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	var out PlaybackOutcome
	byHour := map[time.Time]*HourlyDelta{}
	delta := func(t time.Time) *HourlyDelta {
		h := t.UTC().Truncate(time.Hour)
		d := byHour[h]
		if d == nil {
			d = &HourlyDelta{Hour: h, Startup: map[int]int64{}, ErrorDetails: map[string]int64{}, RungSeconds: map[string]float64{}, Reached: map[int]int64{}}
			byHour[h] = d
			out.Deltas = append(out.Deltas, d)
		}
		return d
	}
	floor := st.LastAt
	for _, e := range sorted {
		if st.Events >= MaxSessionEvents || (!floor.IsZero() && !e.At.After(floor)) {
			out.Ignored++
			continue
		}
		d := delta(e.At)
		if st.FirstAt.IsZero() {
			st.FirstAt = e.At
			d.Sessions++
		} else {
			gap := e.At.Sub(st.LastAt).Seconds()
			credit := min(gap, e.Position-st.LastPosition, MaxCreditGap.Seconds())
			if credit > 0 {
				st.Watched += credit
				d.WatchSeconds += credit
				if st.Rung != "" {
					d.RungSeconds[st.Rung] += credit
				}
			}
		}
		if st.Duration > 0 {
			pct := min(100, e.Position/st.Duration*100)
			if step := int(pct / RetentionStep); step > st.MaxStep {
				for b := st.MaxStep + 1; b <= step; b++ {
					d.Reached[b]++
				}
				st.MaxStep = step
			}
			if pct > st.MaxPercent {
				d.PercentSum += pct - st.MaxPercent
				st.MaxPercent = pct
			}
		}
		switch e.Type {
		case EventStart:
			if !st.Started { // a replay's start is not a startup
				st.Started = true
				d.StartupCount++
				d.StartupMsSum += e.Value
				d.Startup[StartupBucket(e.Value)]++
			}
		case EventRebufferEnd:
			d.RebufferCount++
			d.RebufferSeconds += e.Value / 1000
		case EventError:
			d.Errors++
			d.ErrorDetails[ErrorKey(e.Detail)]++
		}
		if e.Rung != "" {
			st.Rung = e.Rung
		}
		st.LastAt, st.LastPosition = e.At, e.Position
		st.Events++
		if !st.Viewed && st.Watched >= rules.threshold() {
			st.Viewed = true
			d.Views++
			d.Viewer = true
			out.ViewCounted = true
		}
		out.Applied = append(out.Applied, e)
	}
	return out
}

// HourlyStats is one video's aggregate of one hour, kept forever.
type HourlyStats struct {
	VideoID       string
	Hour          time.Time
	Views         int64
	Sessions      int64
	UniqueViewers int64
	WatchSeconds  float64
	// PercentSum adds each session's furthest position in percent of the
	// duration: over Reached[0] it is the average percentage watched.
	PercentSum      float64
	StartupCount    int64
	StartupMsSum    float64
	Startup         []int64 // len(StartupBucketsMs)+1 buckets
	RebufferCount   int64
	RebufferSeconds float64
	Errors          int64
	ErrorDetails    map[string]int64
	RungSeconds     map[string]float64
	// Reached[i] counts the sessions whose furthest position reached
	// i×RetentionStep percent of the duration.
	Reached []int64 // RetentionSteps
}

// NewHourlyStats is an empty hour with its slices and maps made.
func NewHourlyStats(videoID string, hour time.Time) *HourlyStats {
	return &HourlyStats{VideoID: videoID, Hour: hour, Startup: make([]int64, len(StartupBucketsMs)+1),
		Reached: make([]int64, RetentionSteps), ErrorDetails: map[string]int64{}, RungSeconds: map[string]float64{}}
}

// VideoTotals are one video's (or all videos') sums over a window.
type VideoTotals struct {
	VideoID       string
	Views         int64
	WatchSeconds  float64
	UniqueViewers int64
}

// CountryTotals are the views of one country over a window.
type CountryTotals struct {
	Country      string
	Views        int64
	WatchSeconds float64
}

// HourCount is a count in one hour.
type HourCount struct {
	Hour  time.Time
	Count int64
}

// AnalyticsStore keeps playback sessions (for the event retention) and
// the hourly aggregates (forever). Windows are [from, to) on hour
// buckets: an hour is in when it starts at or after from truncated to the
// hour, and before to.
type AnalyticsStore interface {
	// RecordPlayback applies a validated batch of session s atomically:
	// the session's state, its raw events (those applied), the hourly
	// aggregates and, once per session, the video's view count. Batches
	// of one session from several replicas at once count once.
	RecordPlayback(ctx context.Context, s PlaybackSession, events []PlaybackEvent, rules AnalyticsRules) (PlaybackOutcome, error)
	// ActiveSessions counts sessions with an event at or after since.
	ActiveSessions(ctx context.Context, since time.Time) (int64, error)
	// VideoHourly returns one video's hours with data in the window, in order.
	VideoHourly(ctx context.Context, videoID string, from, to time.Time) ([]*HourlyStats, error)
	// UniqueViewers counts the distinct users with a counted view of the
	// video ("" for any video) in the window.
	UniqueViewers(ctx context.Context, videoID string, from, to time.Time) (int64, error)
	// TopVideos ranks videos by views, then watch time, in the window.
	TopVideos(ctx context.Context, from, to time.Time, limit int) ([]VideoTotals, error)
	// Totals sums all videos in the window (VideoID empty).
	Totals(ctx context.Context, from, to time.Time) (VideoTotals, error)
	// Countries sums views by viewer country in the window, most first;
	// views of unknown country are not in it.
	Countries(ctx context.Context, from, to time.Time) ([]CountryTotals, error)
	// UploadsPerHour counts videos created per hour in the window.
	UploadsPerHour(ctx context.Context, from, to time.Time) ([]HourCount, error)
	// TranscodeSeconds returns the run times of the transcoding jobs that
	// succeeded in the window, the latest limit of them.
	TranscodeSeconds(ctx context.Context, from, to time.Time, limit int) ([]float64, error)
	// SweepPlayback deletes raw events and sessions older than before and
	// says how many records went. Aggregates stay.
	SweepPlayback(ctx context.Context, before time.Time) (int64, error)
}

// ServiceRequests are the requests one service answered and how many
// failed on the server's side (5xx), as one process counted them.
type ServiceRequests struct {
	Service  string
	Requests int64
	Errors   int64
}
