package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/playback"
)

func newSigner(t *testing.T) *playback.Signer {
	t.Helper()
	s, err := playback.ParseKeys(playback.NewKey("k1"))
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

func withAnalytics(signer *playback.Signer, cfg api.AnalyticsConfig) option {
	return func(d *api.Deps) { d.Playback, d.Analytics = signer, cfg }
}

// startSession asks for playback as the holder of token and returns the
// session it got.
func (f *fixture) startSession(t *testing.T, token, videoID string) string {
	t.Helper()
	var p struct{ URL, Session string }
	if res := f.do(t, "POST", "/api/videos/"+videoID+"/playback", token, "", &p); res.StatusCode != 200 || p.Session == "" || p.URL == "" {
		t.Fatalf("playback: %d %+v", res.StatusCode, p)
	}
	return p.Session
}

type evJSON map[string]any

func batch(session string, events ...evJSON) string {
	var parts []string
	for _, e := range events {
		var fields []string
		for k, v := range e {
			switch v := v.(type) {
			case string:
				fields = append(fields, fmt.Sprintf("%q: %q", k, v))
			default:
				fields = append(fields, fmt.Sprintf("%q: %v", k, v))
			}
		}
		parts = append(parts, "{"+strings.Join(fields, ", ")+"}")
	}
	return fmt.Sprintf(`{"session": %q, "events": [%s]}`, session, strings.Join(parts, ", "))
}

func at(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

type accepted struct {
	Accepted, Ignored int
	ViewCounted       bool
}

func (f *fixture) post(t *testing.T, token, body string) (*http.Response, accepted, errorBody) {
	t.Helper()
	var raw struct {
		accepted
		Error struct{ Code, Message, Param, RequestID string }
	}
	res := f.do(t, "POST", "/api/playback/events", token, body, &raw)
	return res, raw.accepted, errorBody{Error: raw.Error}
}

func TestPlaybackEventsValidation(t *testing.T) {
	signer := newSigner(t)
	f := newFixture(t, withAnalytics(signer, api.AnalyticsConfig{BatchesPerMinute: 6000, BatchBurst: 1000}))
	v := f.add(t, &ginflix.Video{Title: "Film", Published: true, Duration: 100})
	sess := f.startSession(t, f.viewer, v.ID)
	now := time.Now()
	hb := func(extra evJSON) evJSON {
		e := evJSON{"type": "heartbeat", "at": at(now), "position": 1, "rung": "720p"}
		for k, x := range extra {
			if x == nil {
				delete(e, k)
			} else {
				e[k] = x
			}
		}
		return e
	}
	many := make([]evJSON, ginflix.MaxEventsPerBatch+1)
	for i := range many {
		many[i] = hb(nil)
	}
	other := f.startSession(t, f.iss.Token("viewer-2", ginflix.RoleViewer), v.ID)
	old := *signer
	old.Now = func() time.Time { return now.Add(-13 * time.Hour) }
	expired, _ := old.SignSession(v.ID, "viewer-1", 100, nil, 0)
	// Signed by a key of the same id that is not the server's.
	evil := newSigner(t)
	forged, _ := evil.SignSession(v.ID, "viewer-1", 100, nil, 0)

	for _, c := range []struct {
		name, body  string
		status      int
		code, param string
	}{
		{"not JSON", "{", 400, "invalid", "body"},
		{"unknown field", `{"session": "` + sess + `", "events": [], "extra": 1}`, 400, "invalid", "body"},
		{"unknown event field", batch(sess, hb(evJSON{"speed": 2})), 400, "invalid", "body"},
		{"position as text", batch(sess, hb(evJSON{"position": `"1"`})), 400, "invalid", "body"},
		{"no session", batch("", hb(nil)), 400, "invalid", "session"},
		{"malformed session", batch("s1.nope", hb(nil)), 400, "invalid", "session"},
		{"forged session", batch(forged, hb(nil)), 403, "forbidden", "session"},
		{"someone else's session", batch(other, hb(nil)), 403, "forbidden", "session"},
		{"expired session", batch(expired, hb(nil)), 422, "unprocessable", "session"},
		{"no events", batch(sess), 400, "invalid", "events"},
		{"too many events", batch(sess, many...), 400, "invalid", "events"},
		{"too large", batch(sess, hb(evJSON{"rung": strings.Repeat("a", 33<<10)})), 413, "too_large", "body"},
		{"unknown type", batch(sess, hb(evJSON{"type": "pause"})), 400, "invalid", "events[0].type"},
		{"no time", batch(sess, hb(evJSON{"at": nil})), 400, "invalid", "events[0].at"},
		{"time not RFC 3339", batch(sess, hb(evJSON{"at": "yesterday"})), 400, "invalid", "events[0].at"},
		{"time in the future", batch(sess, hb(nil), hb(evJSON{"at": at(now.Add(5 * time.Minute))})), 422, "unprocessable", "events[1].at"},
		{"time before the session", batch(sess, hb(evJSON{"at": at(now.Add(-10 * time.Minute))})), 422, "unprocessable", "events[0].at"},
		{"no position", batch(sess, hb(evJSON{"position": nil})), 400, "invalid", "events[0].position"},
		{"negative position", batch(sess, hb(evJSON{"position": -1})), 422, "unprocessable", "events[0].position"},
		{"position past the end", batch(sess, hb(evJSON{"position": 200})), 422, "unprocessable", "events[0].position"},
		{"bad rung", batch(sess, hb(evJSON{"rung": "72 0p"})), 400, "invalid", "events[0].rung"},
		{"value on a heartbeat", batch(sess, hb(evJSON{"value": 3})), 400, "invalid", "events[0].value"},
		{"startup too long", batch(sess, hb(evJSON{"type": "start", "value": 600001})), 422, "unprocessable", "events[0].value"},
		{"negative stall", batch(sess, hb(evJSON{"type": "rebuffer_end", "value": -5})), 422, "unprocessable", "events[0].value"},
		{"detail on a heartbeat", batch(sess, hb(evJSON{"detail": "x"})), 400, "invalid", "events[0].detail"},
		{"detail too long", batch(sess, hb(evJSON{"type": "error", "detail": strings.Repeat("é", 201)})), 400, "invalid", "events[0].detail"},
	} {
		res, _, e := f.post(t, f.viewer, c.body)
		if res.StatusCode != c.status || e.Error.Code != c.code || e.Error.Param != c.param || e.Error.Message == "" {
			t.Errorf("%s: %d %+v; want %d %s naming %s", c.name, res.StatusCode, e.Error, c.status, c.code, c.param)
		}
	}
	// Nothing of the refused batches was kept, and the good one is.
	id, err := signer.VerifySession(sess)
	if err != nil {
		t.Fatal(err)
	}
	if evs, _ := f.store.SessionEvents(t.Context(), id.ID); len(evs) != 0 {
		t.Fatalf("refused batches stored %d events", len(evs))
	}
	if res, a, e := f.post(t, f.viewer, batch(sess, hb(evJSON{"type": "error", "detail": strings.Repeat("é", 200)}))); res.StatusCode != 202 || a.Accepted != 1 {
		t.Fatalf("a valid batch: %d %+v %+v", res.StatusCode, a, e)
	}
	// A video with a ladder counts other rung names as "other".
	laddered := f.add(t, &ginflix.Video{Title: "Échelle", Published: true, Duration: 100,
		Renditions: []ginflix.Rendition{{Name: "720p", Width: 1280, Height: 720}, {Name: "360p", Width: 640, Height: 360}}})
	ls := f.startSession(t, f.viewer, laddered.ID)
	if res, a, e := f.post(t, f.viewer, batch(ls, hb(evJSON{"rung": "1076p"}), hb(evJSON{"rung": "360p"}))); res.StatusCode != 202 || a.Accepted != 2 {
		t.Fatalf("rungs: %d %+v %+v", res.StatusCode, a, e)
	}
	lsID, _ := signer.VerifySession(ls)
	if evs, _ := f.store.SessionEvents(t.Context(), lsID.ID); len(evs) != 2 || evs[0].Rung+evs[1].Rung != "other360p" && evs[0].Rung+evs[1].Rung != "360pother" {
		t.Fatalf("stored rungs: %+v", evs)
	}
	// Signed-in users only.
	if res, _, _ := f.post(t, "", batch(sess, hb(nil))); res.StatusCode != 401 {
		t.Fatalf("anonymous: %d", res.StatusCode)
	}
}

// A session counts one view once its watched time passes the threshold,
// never before and never twice; the analytics API then shows it.
func TestPlaybackEventsCountOneView(t *testing.T) {
	signer := newSigner(t)
	f := newFixture(t, withAnalytics(signer, api.AnalyticsConfig{ViewThreshold: 10 * time.Second}))
	v := f.add(t, &ginflix.Video{Title: "Film", Published: true, Duration: 100})
	sess := f.startSession(t, f.viewer, v.ID)
	t0 := time.Now().Add(-50 * time.Second) // within the clock skew of the session's start

	views := func() int64 {
		t.Helper()
		var a struct{ Views int64 }
		if res := f.do(t, "GET", "/api/admin/analytics/videos/"+v.ID, f.admin, "", &a); res.StatusCode != 200 {
			t.Fatalf("video analytics: %d", res.StatusCode)
		}
		got, err := f.store.Video(t.Context(), v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Views != a.Views {
			t.Fatalf("catalogue views %d, analytics views %d", got.Views, a.Views)
		}
		return a.Views
	}
	step := func(body string, wantAccepted int, wantView bool) {
		t.Helper()
		res, a, e := f.post(t, f.viewer, body)
		if res.StatusCode != 202 || a.Accepted != wantAccepted || a.ViewCounted != wantView {
			t.Fatalf("batch: %d %+v %+v; want %d accepted, view %v", res.StatusCode, a, e, wantAccepted, wantView)
		}
	}
	step(batch(sess,
		evJSON{"type": "start", "at": at(t0), "position": 0, "rung": "720p", "value": 850},
		evJSON{"type": "heartbeat", "at": at(t0.Add(5 * time.Second)), "position": 5, "rung": "720p"}), 2, false)
	step(batch(sess, evJSON{"type": "heartbeat", "at": at(t0.Add(9 * time.Second)), "position": 9, "rung": "720p"}), 1, false)
	if n := views(); n != 0 {
		t.Fatalf("9 s watched counted %d views", n)
	}
	tenth := batch(sess, evJSON{"type": "heartbeat", "at": at(t0.Add(10 * time.Second)), "position": 10, "rung": "720p"})
	step(tenth, 1, true)
	if n := views(); n != 1 {
		t.Fatalf("10 s watched: %d views, want 1", n)
	}
	step(batch(sess,
		evJSON{"type": "rebuffer_start", "at": at(t0.Add(12 * time.Second)), "position": 12},
		evJSON{"type": "rebuffer_end", "at": at(t0.Add(14 * time.Second)), "position": 12, "value": 2000},
		evJSON{"type": "heartbeat", "at": at(t0.Add(20 * time.Second)), "position": 18, "rung": "1080p"},
		evJSON{"type": "error", "at": at(t0.Add(21 * time.Second)), "position": 19, "detail": "networkError: fragLoadError"},
		evJSON{"type": "end", "at": at(t0.Add(22 * time.Second)), "position": 20}), 5, false)
	res, a, _ := f.post(t, f.viewer, tenth) // a retry of an old batch
	if res.StatusCode != 202 || a.Accepted != 0 || a.Ignored != 1 || a.ViewCounted {
		t.Fatalf("replay: %d %+v", res.StatusCode, a)
	}
	if n := views(); n != 1 {
		t.Fatalf("after more watching: %d views, want still 1", n)
	}
	// A second session of the same user is a second view, not a second viewer.
	sess2 := f.startSession(t, f.viewer, v.ID)
	step(batch(sess2,
		evJSON{"type": "start", "at": at(t0), "position": 50, "value": 400},
		evJSON{"type": "heartbeat", "at": at(t0.Add(10 * time.Second)), "position": 60}), 2, true)

	var va struct {
		Views, Sessions, UniqueViewers      int64
		WatchSeconds, AveragePercentWatched float64
		RebufferCount                       int64
		RebufferSeconds, RebufferRatio      float64
		DurationSeconds                     float64
		Title                               string
		Series                              []struct{ Views int64 }
		Retention                           []struct {
			Percent int
			Viewers float64
		}
		Startup struct {
			P50Ms, P95Ms float64
			Count        int64
		}
		Rungs []struct {
			Rung    string
			Seconds float64
		}
		Errors []struct {
			Detail string
			Count  int64
		}
	}
	if res := f.do(t, "GET", "/api/admin/analytics/videos/"+v.ID, f.admin, "", &va); res.StatusCode != 200 {
		t.Fatalf("video analytics: %d", res.StatusCode)
	}
	var seriesViews int64
	for _, p := range va.Series {
		seriesViews += p.Views
	}
	// Watched: 5 + 4 + 1 + 2 + 0 (stall) + 6 + 1 + 1, then 10.
	if va.Views != 2 || va.Sessions != 2 || va.UniqueViewers != 1 || seriesViews != 2 || len(va.Series) < 7*24 ||
		va.Title != "Film" || va.DurationSeconds != 100 || va.RebufferCount != 1 || va.RebufferSeconds != 2 ||
		!near(va.WatchSeconds, 30) || !near(va.RebufferRatio, 2.0/32) || va.Startup.Count != 2 ||
		va.Startup.P50Ms <= 250 || va.Startup.P50Ms > 1000 || len(va.Retention) != 21 || va.Retention[0].Viewers != 1 ||
		va.Retention[20].Percent != 100 || va.Retention[12].Viewers != 0.5 || va.Retention[13].Viewers != 0 ||
		len(va.Errors) != 1 || va.Errors[0].Detail != "networkError: fragLoadError" || len(va.Rungs) != 2 ||
		va.Rungs[0].Rung != "720p" || !near(va.Rungs[0].Seconds, 18) || !near(va.AveragePercentWatched, 40) {
		t.Fatalf("video analytics: %+v", va)
	}

	var pop struct {
		Items []struct {
			VideoID, Title       string
			Views, UniqueViewers int64
			WatchSeconds         float64
		}
	}
	if res := f.do(t, "GET", "/api/admin/analytics/popular?limit=5", f.admin, "", &pop); res.StatusCode != 200 ||
		len(pop.Items) != 1 || pop.Items[0].VideoID != v.ID || pop.Items[0].Title != "Film" || pop.Items[0].Views != 2 || pop.Items[0].UniqueViewers != 1 {
		t.Fatalf("popular: %d %+v", res.StatusCode, pop)
	}
	var ov struct {
		ViewersNow     int64
		Periods        map[string]struct{ Views, UniqueViewers int64 }
		UploadsPerHour []struct {
			Hour  time.Time
			Count int64
		}
		Storage []struct{ Prefix string }
		Errors  []struct {
			Service          string
			Requests, Errors int64
		}
	}
	if res := f.do(t, "GET", "/api/admin/analytics/overview", f.admin, "", &ov); res.StatusCode != 200 {
		t.Fatalf("overview: %d", res.StatusCode)
	}
	var uploads int64
	for _, u := range ov.UploadsPerHour {
		uploads += u.Count
	}
	if ov.ViewersNow != 2 || ov.Periods["7d"].Views != 2 || ov.Periods["30d"].UniqueViewers != 1 || uploads != 1 ||
		len(ov.Storage) != 6 || len(ov.Errors) != 2 || ov.Errors[0].Service != "backend" || ov.Errors[0].Requests == 0 {
		t.Fatalf("overview: %+v", ov)
	}

	body, _ := io.ReadAll(must(http.Get(f.srv.URL + "/metrics")).Body)
	for _, want := range []string{
		"ginflix_playback_startup_seconds_count 2", "ginflix_playback_views_total 2",
		"ginflix_playback_rebuffers_total 1", "ginflix_playback_rebuffer_seconds_total 2",
		`ginflix_playback_errors_total{code="networkError"} 1`, `ginflix_playback_events_total{result="accepted"} 11`,
		`ginflix_playback_events_total{result="ignored"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func TestPlaybackEventsRateLimit(t *testing.T) {
	signer := newSigner(t)
	f := newFixture(t, withAnalytics(signer, api.AnalyticsConfig{BatchesPerMinute: 1, BatchBurst: 2}))
	v := f.add(t, &ginflix.Video{Title: "Film", Published: true, Duration: 100})
	sess := f.startSession(t, f.viewer, v.ID)
	now := time.Now()
	for i := range 2 {
		body := batch(sess, evJSON{"type": "heartbeat", "at": at(now.Add(time.Duration(i) * time.Millisecond)), "position": 1})
		if res, _, e := f.post(t, f.viewer, body); res.StatusCode != 202 {
			t.Fatalf("batch %d within the burst: %d %+v", i, res.StatusCode, e)
		}
	}
	res, _, e := f.post(t, f.viewer, batch(sess, evJSON{"type": "heartbeat", "at": at(now.Add(time.Second)), "position": 2}))
	wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != 429 || e.Error.Code != "rate_limited" || wait < 1 || wait > 60 {
		t.Fatalf("over the rate: %d %+v Retry-After %q", res.StatusCode, e, res.Header.Get("Retry-After"))
	}
	// The bucket is the user's: another user still reports.
	other := f.iss.Token("viewer-2", ginflix.RoleViewer)
	sess2 := f.startSession(t, other, v.ID)
	if res, _, e := f.post(t, other, batch(sess2, evJSON{"type": "heartbeat", "at": at(now), "position": 1})); res.StatusCode != 202 {
		t.Fatalf("another user: %d %+v", res.StatusCode, e)
	}
}

// The country header counts only from a trusted proxy, with one value of
// two letters.
func TestPlaybackCountryHeader(t *testing.T) {
	for _, c := range []struct {
		name    string
		proxies []netip.Prefix
		values  []string
		want    string
	}{
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []string{"fr"}, "FR"},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []string{"FR"}, ""},
		{"two values", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, []string{"FR", "DE"}, ""},
		{"not a code", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, []string{"F1"}, ""},
		{"unknown marker", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, []string{"XX"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, withAnalytics(newSigner(t), api.AnalyticsConfig{CountryHeader: "X-Country", TrustedProxies: c.proxies}))
			v := f.add(t, &ginflix.Video{Title: "Film", Published: true, Duration: 100})
			sess := f.startSession(t, f.viewer, v.ID)
			t0 := time.Now().Add(-30 * time.Second)
			req, _ := http.NewRequest("POST", f.srv.URL+"/api/playback/events", strings.NewReader(batch(sess,
				evJSON{"type": "start", "at": at(t0), "position": 0, "value": 300},
				evJSON{"type": "heartbeat", "at": at(t0.Add(10 * time.Second)), "position": 10})))
			req.Header.Set("Authorization", "Bearer "+f.viewer)
			req.Header.Set("Content-Type", "application/json")
			for _, v := range c.values {
				req.Header.Add("X-Country", v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 202 {
				t.Fatalf("status %d", res.StatusCode)
			}
			var geo struct {
				Items []struct {
					Country string
					Views   int64
				}
				Unknown struct{ Views int64 }
			}
			if res := f.do(t, "GET", "/api/admin/analytics/geography", f.admin, "", &geo); res.StatusCode != 200 {
				t.Fatalf("geography: %d", res.StatusCode)
			}
			switch {
			case c.want == "" && (len(geo.Items) != 0 || geo.Unknown.Views != 1):
				t.Fatalf("the header must be ignored: %+v", geo)
			case c.want != "" && (len(geo.Items) != 1 || geo.Items[0].Country != c.want || geo.Items[0].Views != 1 || geo.Unknown.Views != 0):
				t.Fatalf("geography = %+v, want one view from %s", geo, c.want)
			}
		})
	}
}

func TestAnalyticsAPIParameters(t *testing.T) {
	f := newFixture(t, withAnalytics(newSigner(t), api.AnalyticsConfig{}))
	v := f.add(t, &ginflix.Video{Title: "Film", Published: true, Duration: 100})
	for _, c := range []struct{ path, param string }{
		{"/api/admin/analytics/overview?from=yesterday", "from"},
		{"/api/admin/analytics/popular?to=2026-13-01T00:00:00Z", "to"},
		{"/api/admin/analytics/popular?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
		{"/api/admin/analytics/geography?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
		{"/api/admin/analytics/popular?limit=0", "limit"},
		{"/api/admin/analytics/popular?limit=101", "limit"},
		{"/api/admin/analytics/videos/nope", "id"},
	} {
		var e errorBody
		if res := f.do(t, "GET", c.path, f.admin, "", &e); res.StatusCode != 400 || e.Error.Param != c.param {
			t.Errorf("%s: %d %+v, want 400 naming %s", c.path, res.StatusCode, e.Error, c.param)
		}
	}
	var e errorBody
	if res := f.do(t, "GET", "/api/admin/analytics/videos/"+ginflix.NewID(), f.admin, "", &e); res.StatusCode != 404 {
		t.Fatalf("unknown video: %d", res.StatusCode)
	}
	if res := f.get(t, "GET", "/api/admin/analytics/overview", nil); res.StatusCode != 403 {
		t.Fatalf("a viewer reads the overview: %d", res.StatusCode)
	}
	// An explicit window, with no data: hourly series of zeros.
	var va struct {
		Series    []struct{ Hour time.Time }
		Retention []struct{ Viewers float64 }
		Rungs     []any
		Errors    []any
	}
	res := f.do(t, "GET", "/api/admin/analytics/videos/"+v.ID+"?from=2026-01-01T00:30:00Z&to=2026-01-02T00:00:00Z", f.admin, "", &va)
	if res.StatusCode != 200 || len(va.Series) != 24 || !va.Series[0].Hour.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		len(va.Retention) != 21 || va.Rungs == nil || va.Errors == nil {
		t.Fatalf("empty window: %d %+v", res.StatusCode, va)
	}
}

// gatedStore holds every RecordPlayback until open is closed.
type gatedStore struct {
	ginflix.Store
	entered chan struct{}
	open    chan struct{}
}

func (g gatedStore) RecordPlayback(ctx context.Context, s ginflix.PlaybackSession, events []ginflix.PlaybackEvent, rules ginflix.AnalyticsRules) (ginflix.PlaybackOutcome, error) {
	g.entered <- struct{}{}
	<-g.open
	return g.Store.RecordPlayback(ctx, s, events, rules)
}

// While every writer is busy, a batch waits a bounded time, then is told
// to come back (503 with Retry-After) instead of queueing without end; the
// held batches go through once the store answers.
func TestPlaybackEventsBoundedWriters(t *testing.T) {
	signer := newSigner(t)
	gate := gatedStore{entered: make(chan struct{}, 64), open: make(chan struct{})}
	f := newFixture(t, withAnalytics(signer, api.AnalyticsConfig{BatchesPerMinute: 6000, BatchBurst: 100}),
		func(d *api.Deps) { gate.Store = d.Store; d.Store = gate })
	v := f.add(t, &ginflix.Video{Title: "Film", Published: true, Duration: 100})
	sess := f.startSession(t, f.viewer, v.ID)
	now := time.Now()
	writers := max(1, runtime.GOMAXPROCS(0)/2)
	held := make(chan int, writers)
	for i := range writers {
		go func() {
			res, _, _ := f.post(t, f.viewer, batch(sess, evJSON{"type": "heartbeat", "at": at(now.Add(time.Duration(i) * time.Millisecond)), "position": 1}))
			held <- res.StatusCode
		}()
		<-gate.entered
	}
	res, _, e := f.post(t, f.viewer, batch(sess, evJSON{"type": "heartbeat", "at": at(now.Add(time.Second)), "position": 2}))
	if res.StatusCode != 503 || e.Error.Code != "unavailable" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("with every writer busy: %d %+v Retry-After %q", res.StatusCode, e, res.Header.Get("Retry-After"))
	}
	close(gate.open)
	for range writers {
		if code := <-held; code != 202 {
			t.Fatalf("a held batch ended %d", code)
		}
	}
}
