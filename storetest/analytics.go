package storetest

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func ev(typ ginflix.PlaybackEventType, at time.Time, pos float64, rung string, value float64, detail string) ginflix.PlaybackEvent {
	return ginflix.PlaybackEvent{Type: typ, At: at, Position: pos, Rung: rung, Value: value, Detail: detail}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func session(v *ginflix.Video, user, country string, issued time.Time) ginflix.PlaybackSession {
	return ginflix.PlaybackSession{ID: ginflix.NewID(), UserID: user, VideoID: v.ID, Duration: v.Duration, Country: country,
		IssuedAt: issued, Expires: issued.Add(12 * time.Hour)}
}

func record(t *testing.T, s ginflix.Store, ps ginflix.PlaybackSession, events ...ginflix.PlaybackEvent) ginflix.PlaybackOutcome {
	t.Helper()
	out, err := s.RecordPlayback(ctx(t), ps, events, ginflix.AnalyticsRules{ViewThreshold: 10 * time.Second})
	must(t, err)
	return out
}

func oneHour(t *testing.T, s ginflix.Store, videoID string, hour time.Time) *ginflix.HourlyStats {
	t.Helper()
	hs, err := s.VideoHourly(ctx(t), videoID, hour, hour.Add(time.Hour))
	must(t, err)
	if len(hs) != 1 || !hs[0].Hour.Equal(hour) {
		t.Fatalf("VideoHourly(%s) = %d hours, want the one of %s", videoID, len(hs), hour)
	}
	return hs[0]
}

func testAnalytics(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	v := create(t, s, &ginflix.Video{Title: "Film", Status: ginflix.StatusReady, Published: true, Duration: 100})
	t0 := clock.Now()
	hour := t0.Truncate(time.Hour)
	ps := session(v, "u1", "FR", t0)

	// 5 s watched: under the threshold, no view yet.
	out := record(t, s, ps,
		ev(ginflix.EventStart, t0, 0, "720p", 850, ""),
		ev(ginflix.EventHeartbeat, t0.Add(5*time.Second), 5, "720p", 0, ""))
	if len(out.Applied) != 2 || out.Ignored != 0 || out.ViewCounted {
		t.Fatalf("first batch: %+v", out)
	}
	h := oneHour(t, s, v.ID, hour)
	if h.Views != 0 || h.Sessions != 1 || !near(h.WatchSeconds, 5) || h.StartupCount != 1 || h.StartupMsSum != 850 ||
		h.Startup[ginflix.StartupBucket(850)] != 1 || h.Reached[0] != 1 || h.Reached[1] != 1 || !near(h.RungSeconds["720p"], 5) {
		t.Fatalf("after 5 s: %+v", h)
	}

	// Sent out of order: the store applies them in time order.
	batch2 := []ginflix.PlaybackEvent{
		ev(ginflix.EventEnd, t0.Add(30*time.Second), 50, "", 0, ""),
		ev(ginflix.EventHeartbeat, t0.Add(10*time.Second), 10, "720p", 0, ""),
		ev(ginflix.EventRebufferStart, t0.Add(12*time.Second), 12, "", 0, ""),
		ev(ginflix.EventRebufferEnd, t0.Add(14*time.Second), 12, "", 1800, ""),
		ev(ginflix.EventQuality, t0.Add(20*time.Second), 18, "1080p", 0, ""),
		ev(ginflix.EventError, t0.Add(21*time.Second), 19, "", 0, "networkError:   fragLoadError"),
		ev(ginflix.EventStart, t0.Add(22*time.Second), 20, "1080p", 9999, ""), // a second start is no startup
	}
	out = record(t, s, ps, batch2...)
	if len(out.Applied) != 7 || !out.ViewCounted {
		t.Fatalf("second batch: %+v", out)
	}
	h = oneHour(t, s, v.ID, hour)
	// 5 + 5 + 2 + 0 (stall) + 6 + 1 + 1 + 8 (a seek forward adds the wall time only)
	if h.Views != 1 || h.UniqueViewers != 1 || !near(h.WatchSeconds, 28) || h.RebufferCount != 1 || !near(h.RebufferSeconds, 1.8) ||
		h.Errors != 1 || h.ErrorDetails["networkError: fragLoadError"] != 1 || h.StartupCount != 1 ||
		!near(h.RungSeconds["720p"], 18) || !near(h.RungSeconds["1080p"], 10) || h.Reached[10] != 1 || h.Reached[11] != 0 ||
		!near(h.PercentSum, 50) {
		t.Fatalf("after the second batch: %+v", h)
	}
	got, err := s.Video(ctx(t), v.ID)
	must(t, err)
	if got.Views != 1 {
		t.Fatalf("the video's view count is %d, want 1", got.Views)
	}

	// A retried batch is a replay: nothing counts twice.
	out = record(t, s, ps, batch2...)
	if len(out.Applied) != 0 || out.Ignored != 7 || out.ViewCounted {
		t.Fatalf("replayed batch: %+v", out)
	}
	if again := oneHour(t, s, v.ID, hour); again.Views != 1 || !near(again.WatchSeconds, 28) || again.Errors != 1 {
		t.Fatalf("a replay changed the aggregates: %+v", again)
	}
	stored, err := s.SessionEvents(ctx(t), ps.ID)
	must(t, err)
	if len(stored) != 9 || stored[0].UserID != "u1" || stored[0].VideoID != v.ID || stored[0].Country != "FR" || stored[8].Type != ginflix.EventEnd {
		t.Fatalf("raw events: %d %+v", len(stored), stored)
	}

	// The same user an hour later, from nowhere known; another user too.
	t1 := t0.Add(time.Hour)
	clock.Advance(time.Hour)
	for _, u := range []string{"u1", "u2"} {
		p := session(v, u, "", t1)
		record(t, s, p, ev(ginflix.EventStart, t1, 0, "480p", 3000, ""), ev(ginflix.EventHeartbeat, t1.Add(10*time.Second), 10, "480p", 0, ""))
	}
	if h := oneHour(t, s, v.ID, hour.Add(time.Hour)); h.Views != 2 || h.UniqueViewers != 2 || h.Sessions != 2 {
		t.Fatalf("second hour: %+v", h)
	}
	from, to := hour, hour.Add(2*time.Hour)
	uv, err := s.UniqueViewers(ctx(t), v.ID, from, to)
	must(t, err)
	if uv != 2 {
		t.Fatalf("unique viewers over both hours = %d, want 2 (u1 counts once)", uv)
	}
	hs, err := s.VideoHourly(ctx(t), v.ID, from.Add(30*time.Minute), to) // from inside an hour: that hour is in
	must(t, err)
	if len(hs) != 2 || !hs[0].Hour.Before(hs[1].Hour) {
		t.Fatalf("VideoHourly over two hours: %d", len(hs))
	}
	tot, err := s.Totals(ctx(t), from, to)
	must(t, err)
	if tot.Views != 3 || !near(tot.WatchSeconds, 48) || tot.UniqueViewers != 2 {
		t.Fatalf("Totals = %+v", tot)
	}
	if tot, err := s.Totals(ctx(t), to, to.Add(time.Hour)); err != nil || tot.Views != 0 || tot.UniqueViewers != 0 {
		t.Fatalf("Totals of an empty window = %+v, %v", tot, err)
	}

	other := create(t, s, &ginflix.Video{Title: "Autre", Status: ginflix.StatusReady, Published: true, Duration: 60})
	p := session(other, "u3", "DE", t1)
	record(t, s, p, ev(ginflix.EventStart, t1, 0, "", 100, ""), ev(ginflix.EventHeartbeat, t1.Add(30*time.Second), 40, "", 0, ""))
	top, err := s.TopVideos(ctx(t), from, to, 10)
	must(t, err)
	if len(top) != 2 || top[0].VideoID != v.ID || top[0].Views != 3 || top[0].UniqueViewers != 2 || top[1].VideoID != other.ID ||
		top[1].Views != 1 || !near(top[1].WatchSeconds, 30) {
		t.Fatalf("TopVideos = %+v", top)
	}
	if top, _ := s.TopVideos(ctx(t), from, to, 1); len(top) != 1 {
		t.Fatalf("TopVideos limit 1 = %+v", top)
	}
	countries, err := s.Countries(ctx(t), from, to)
	must(t, err)
	if len(countries) != 2 || countries[0].Country != "DE" || countries[0].Views != 1 || !near(countries[0].WatchSeconds, 30) ||
		countries[1].Country != "FR" || !near(countries[1].WatchSeconds, 28) {
		t.Fatalf("Countries = %+v", countries)
	}

	n, err := s.ActiveSessions(ctx(t), t1)
	must(t, err)
	if n != 3 {
		t.Fatalf("ActiveSessions = %d, want the three of the second hour", n)
	}

	// The sweep takes raw events and sessions, never the aggregates.
	swept, err := s.SweepPlayback(ctx(t), t1)
	must(t, err)
	if swept != 10 { // 9 events + 1 session
		t.Fatalf("SweepPlayback removed %d, want 10", swept)
	}
	if n, _ := s.ActiveSessions(ctx(t), t0.Add(-time.Hour)); n != 3 {
		t.Fatalf("after the sweep %d sessions are left, want 3", n)
	}
	if ev, _ := s.SessionEvents(ctx(t), ps.ID); len(ev) != 0 {
		t.Fatalf("swept session still has %d events", len(ev))
	}
	if h := oneHour(t, s, v.ID, hour); h.Views != 1 || !near(h.WatchSeconds, 28) {
		t.Fatalf("the sweep changed the aggregates: %+v", h)
	}
}

// Error details are client text: a video's hour keeps a bounded number.
func testAnalyticsErrorCap(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	v := create(t, s, &ginflix.Video{Title: "Cassé", Status: ginflix.StatusReady, Published: true, Duration: 100})
	t0 := clock.Now()
	ps := session(v, "u1", "", t0)
	var events []ginflix.PlaybackEvent
	for i := range ginflix.MaxErrorDetailsPerHour + 5 {
		events = append(events, ev(ginflix.EventError, t0.Add(time.Duration(i)*time.Millisecond), 0, "", 0, fmt.Sprintf("mediaError: e%d", i)))
	}
	record(t, s, ps, events...)
	h := oneHour(t, s, v.ID, t0.Truncate(time.Hour))
	if len(h.ErrorDetails) != ginflix.MaxErrorDetailsPerHour+1 || h.ErrorDetails[ginflix.OtherErrorDetail] != 5 || h.Errors != int64(len(events)) {
		t.Fatalf("error details: %d kept, other %d, errors %d", len(h.ErrorDetails), h.ErrorDetails[ginflix.OtherErrorDetail], h.Errors)
	}
}

// Several replicas receive the batches of one session at once (a client
// retrying, a load balancer going round-robin): the view counts once and
// the watch time once; and concurrent sessions lose no increment.
func testAnalyticsConcurrency(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	v := create(t, s, &ginflix.Video{Title: "Foule", Status: ginflix.StatusReady, Published: true, Duration: 100})
	t0 := clock.Now()
	shared := session(v, "u-shared", "FR", t0)
	batch := []ginflix.PlaybackEvent{
		ev(ginflix.EventStart, t0, 0, "720p", 500, ""),
		ev(ginflix.EventHeartbeat, t0.Add(10*time.Second), 10, "720p", 0, ""),
		ev(ginflix.EventHeartbeat, t0.Add(20*time.Second), 20, "720p", 0, ""),
	}
	const replicas, perReplica, sessions = 2, 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, replicas*perReplica+sessions)
	views := make(chan bool, replicas*perReplica)
	for range replicas * perReplica {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.RecordPlayback(ctx(t), shared, batch, ginflix.AnalyticsRules{ViewThreshold: 10 * time.Second})
			errs <- err
			views <- out.ViewCounted
		}()
	}
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := session(v, fmt.Sprintf("u%d", i), "DE", t0)
			_, err := s.RecordPlayback(ctx(t), p, batch, ginflix.AnalyticsRules{ViewThreshold: 10 * time.Second})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	close(views)
	for err := range errs {
		must(t, err)
	}
	counted := 0
	for c := range views {
		if c {
			counted++
		}
	}
	if counted != 1 {
		t.Fatalf("%d concurrent posts of one session counted a view, want 1", counted)
	}
	h := oneHour(t, s, v.ID, t0.Truncate(time.Hour))
	want := int64(sessions + 1)
	if h.Views != want || h.Sessions != want || h.UniqueViewers != want || !near(h.WatchSeconds, float64(want)*20) ||
		h.StartupCount != want || h.Reached[4] != want || !near(h.RungSeconds["720p"], float64(want)*20) {
		t.Fatalf("concurrent aggregates: %+v, want %d sessions of 20 s", h, want)
	}
	if got, _ := s.Video(ctx(t), v.ID); got.Views != want {
		t.Fatalf("video views = %d, want %d", got.Views, want)
	}
	if stored, _ := s.SessionEvents(ctx(t), shared.ID); len(stored) != len(batch) {
		t.Fatalf("the shared session stored %d events, want %d", len(stored), len(batch))
	}
	countries, err := s.Countries(ctx(t), t0.Truncate(time.Hour), t0.Add(time.Hour))
	must(t, err)
	if len(countries) != 2 || countries[0].Country != "DE" || countries[0].Views != sessions || countries[1].Views != 1 {
		t.Fatalf("countries = %+v", countries)
	}
}

// Per-session cap: a session stores at most MaxSessionEvents events.
func testAnalyticsSessionCap(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	v := create(t, s, &ginflix.Video{Title: "Long", Status: ginflix.StatusReady, Published: true, Duration: 100})
	t0 := clock.Now()
	ps := session(v, "u1", "", t0)
	// The cap is the domain's rule; the store must keep the count across
	// batches for it to hold.
	out := record(t, s, ps, ev(ginflix.EventStart, t0, 0, "", 0, ""))
	if len(out.Applied) != 1 {
		t.Fatalf("first event: %+v", out)
	}
	var batch []ginflix.PlaybackEvent
	sent := 1
	for sent < ginflix.MaxSessionEvents+10 {
		batch = batch[:0]
		for range ginflix.MaxEventsPerBatch {
			batch = append(batch, ev(ginflix.EventHeartbeat, t0.Add(time.Duration(sent)*time.Millisecond), 0, "", 0, ""))
			sent++
		}
		out = record(t, s, ps, batch...)
	}
	if out.Ignored != len(batch) {
		t.Fatalf("past the cap: %+v", out)
	}
	stored, err := s.SessionEvents(ctx(t), ps.ID)
	must(t, err)
	if len(stored) != ginflix.MaxSessionEvents {
		t.Fatalf("the session stored %d events, want the cap %d", len(stored), ginflix.MaxSessionEvents)
	}
}

func testUploadAndTranscodeStats(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	t0 := clock.Now()
	a := create(t, s, newVideo("a"))
	create(t, s, newVideo("b"))
	clock.Advance(2 * time.Hour)
	create(t, s, newVideo("c"))
	got, err := s.UploadsPerHour(ctx(t), t0.Add(-time.Hour), clock.Now().Add(time.Second))
	must(t, err)
	if len(got) != 2 || !got[0].Hour.Equal(t0.Truncate(time.Hour)) || got[0].Count != 2 || got[1].Count != 1 ||
		!got[1].Hour.Equal(t0.Add(2*time.Hour).Truncate(time.Hour)) {
		t.Fatalf("UploadsPerHour = %+v", got)
	}

	for _, took := range []time.Duration{30 * time.Second, 90 * time.Second} {
		j, err := s.EnqueueJob(ctx(t), &ginflix.Job{ID: ginflix.NewID(), VideoID: a.ID, Kind: ginflix.JobKindTranscode})
		must(t, err)
		l, err := s.LeaseJob(ctx(t), "w1", time.Hour)
		must(t, err)
		if l.ID != j.ID {
			t.Fatalf("leased %s, want %s", l.ID, j.ID)
		}
		clock.Advance(took)
		must(t, s.CompleteJob(ctx(t), j.ID, "w1"))
	}
	// A failed job is no transcoding time.
	j, err := s.EnqueueJob(ctx(t), &ginflix.Job{ID: ginflix.NewID(), VideoID: a.ID, Kind: ginflix.JobKindTranscode})
	must(t, err)
	_, err = s.LeaseJob(ctx(t), "w1", time.Hour)
	must(t, err)
	_, err = s.FailJob(ctx(t), j.ID, "w1", "broken", false, 0)
	must(t, err)
	secs, err := s.TranscodeSeconds(ctx(t), t0, clock.Now().Add(time.Second), 100)
	must(t, err)
	if len(secs) != 2 || secs[0] != 90 || secs[1] != 30 {
		t.Fatalf("TranscodeSeconds = %v, want [90 30] (latest first)", secs)
	}
	if secs, _ := s.TranscodeSeconds(ctx(t), t0, clock.Now().Add(time.Second), 1); len(secs) != 1 {
		t.Fatalf("limit 1: %v", secs)
	}
}
