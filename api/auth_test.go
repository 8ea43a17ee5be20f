package api_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/playback"
)

func TestRoutesNeedTheRightToken(t *testing.T) {
	f := newFixture(t)
	v := f.add(t, &ginflix.Video{Title: "Public", Published: true})
	noRole := f.iss.Token("stranger")
	expired := func() string {
		c := f.iss.Claims("viewer-1", ginflix.RoleViewer)
		c["exp"] = c["iat"].(int64) - 10
		return f.iss.Sign(c)
	}()
	otherIssuer := func() string {
		c := f.iss.Claims("viewer-1", ginflix.RoleAdmin)
		c["iss"] = "https://keycloak.evil.example/realms/ginflix"
		return f.iss.Sign(c)
	}()
	cases := []struct {
		method, path, token string
		want                int
		challenge           string // expected in WWW-Authenticate
	}{
		{"GET", "/api/videos", "", 401, `Bearer realm="ginflix"`},
		{"GET", "/api/videos/" + v.ID, "", 401, `Bearer`},
		{"GET", "/api/categories", "", 401, `Bearer`},
		{"GET", "/api/videos", "not-a-jwt", 401, `error="invalid_token"`},
		{"GET", "/api/videos", expired, 401, `error="invalid_token"`},
		{"GET", "/api/videos", otherIssuer, 401, `error="invalid_token"`},
		{"GET", "/api/videos", noRole, 403, `insufficient_scope`},
		{"GET", "/api/videos", f.viewer, 200, ""},
		{"GET", "/api/videos", f.admin, 200, ""},
		{"GET", "/api/me", "", 401, `Bearer`},
		{"GET", "/api/me", f.viewer, 200, ""},
		{"GET", "/api/admin/videos", "", 401, `Bearer`},
		{"GET", "/api/admin/videos", f.viewer, 403, `insufficient_scope`},
		{"GET", "/api/admin/videos", noRole, 403, ""},
		{"GET", "/api/admin/videos", f.admin, 200, ""},
		{"DELETE", "/api/admin/videos/" + v.ID, f.viewer, 403, ""},
		{"PATCH", "/api/admin/videos/" + v.ID, f.viewer, 403, ""},
		{"GET", "/api/admin/users", f.viewer, 403, ""},
		{"POST", "/api/admin/users", "", 401, ""},
		{"GET", "/api/config", "", 200, ""},
		{"GET", "/health", "", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path+" "+c.token[:min(len(c.token), 10)], func(t *testing.T) {
			var e errorBody
			res := f.do(t, c.method, c.path, c.token, "", &e)
			if res.StatusCode != c.want {
				t.Fatalf("status %d (%+v), want %d", res.StatusCode, e.Error, c.want)
			}
			if got := res.Header.Get("WWW-Authenticate"); !strings.Contains(got, c.challenge) {
				t.Fatalf("WWW-Authenticate %q lacks %q", got, c.challenge)
			}
			if c.want >= 400 && e.Error.Message == "" {
				t.Fatal("an error without a message")
			}
		})
	}
	// A header that is not Bearer.
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/videos", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_request") {
		t.Fatalf("Basic auth: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
}

func TestPublicCatalog(t *testing.T) {
	f := newFixture(t, func(d *api.Deps) { d.PublicCatalog = true })
	f.add(t, &ginflix.Video{Title: "Open", Published: true})
	var l videoList
	if res := f.do(t, "GET", "/api/videos", "", "", &l); res.StatusCode != 200 || len(l.Items) != 1 {
		t.Fatalf("anonymous read of a public catalogue: %d", res.StatusCode)
	}
	// A bad token is still refused: it is a client bug to surface, not to hide.
	if res := f.do(t, "GET", "/api/videos", "garbage", "", nil); res.StatusCode != 401 {
		t.Fatalf("bad token on a public catalogue: %d", res.StatusCode)
	}
	if res := f.do(t, "GET", "/api/me", "", "", nil); res.StatusCode != 401 {
		t.Fatalf("/api/me stays private: %d", res.StatusCode)
	}
	var c struct{ PublicCatalog bool }
	f.do(t, "GET", "/api/config", "", "", &c)
	if !c.PublicCatalog {
		t.Fatal("config does not say the catalogue is public")
	}
}

func TestConfig(t *testing.T) {
	f := newFixture(t)
	var c api.PublicConfig
	res := f.do(t, "GET", "/api/config", "", "", &c)
	if res.StatusCode != 200 || c.Issuer != f.iss.URL || c.ClientID != "ginflix-web" || c.ProductName != "Ginflix" ||
		c.StreamerURL == "" || len(c.Scopes) == 0 || !c.ManagesUsers {
		t.Fatalf("config %+v", c)
	}
}

func TestOwnDataStaysOwn(t *testing.T) {
	f := newFixture(t)
	v := f.add(t, &ginflix.Video{Title: "Shared", Published: true, Duration: 600})
	draft := f.add(t, &ginflix.Video{Title: "Draft", Duration: 60})
	alice, bob := f.iss.Token("alice", ginflix.RoleViewer), f.iss.Token("bob", ginflix.RoleViewer)

	var p struct {
		VideoID   string
		Position  float64
		Completed bool
	}
	res := f.do(t, "PUT", "/api/me/progress/"+v.ID, alice, `{"position": 754.5, "duration": 600}`, nil)
	if res.StatusCode != 400 {
		t.Fatalf("a position past the end: %d", res.StatusCode)
	}
	if res := f.do(t, "PUT", "/api/me/progress/"+v.ID, alice, `{"position": 123.5, "duration": 600}`, &p); res.StatusCode != 200 || p.Position != 123.5 {
		t.Fatalf("save progress: %d %+v", res.StatusCode, p)
	}
	if res := f.do(t, "GET", "/api/me/progress/"+v.ID, alice, "", &p); res.StatusCode != 200 || p.Position != 123.5 {
		t.Fatalf("read own progress: %d %+v", res.StatusCode, p)
	}
	if res := f.do(t, "GET", "/api/me/progress/"+v.ID, bob, "", nil); res.StatusCode != 404 {
		t.Fatalf("bob reads alice's progress: %d", res.StatusCode)
	}
	var cont struct {
		Items []struct {
			VideoID  string
			Position float64
			Video    struct{ Title string }
		}
	}
	f.do(t, "GET", "/api/me/continue", alice, "", &cont)
	if len(cont.Items) != 1 || cont.Items[0].Video.Title != "Shared" {
		t.Fatalf("alice's continue watching: %+v", cont)
	}
	cont.Items = nil
	f.do(t, "GET", "/api/me/continue", bob, "", &cont)
	if len(cont.Items) != 0 {
		t.Fatalf("bob sees alice's continue watching: %+v", cont)
	}
	// Own data only refers to videos the user may watch.
	if res := f.do(t, "PUT", "/api/me/progress/"+draft.ID, alice, `{"position": 1}`, nil); res.StatusCode != 404 {
		t.Fatalf("progress on a draft: %d", res.StatusCode)
	}
	for _, body := range []string{`{"position": -1}`, `{"position": "x"}`, `{}`, `{"position": 1, "userId": "bob"}`, `[1]`, `{"position": 1} {}`} {
		if res := f.do(t, "PUT", "/api/me/progress/"+v.ID, alice, body, nil); res.StatusCode != 400 {
			t.Fatalf("body %s: %d", body, res.StatusCode)
		}
	}
	big := `{"position": 1, "duration": 1` + strings.Repeat(" ", 70000) + `}`
	if res := f.do(t, "PUT", "/api/me/progress/"+v.ID, alice, big, nil); res.StatusCode != 413 {
		t.Fatalf("huge body: %d", res.StatusCode)
	}

	// My list.
	if res := f.do(t, "PUT", "/api/me/list/"+v.ID, alice, "", nil); res.StatusCode != 200 {
		t.Fatalf("add to list: %d", res.StatusCode)
	}
	if res := f.do(t, "GET", "/api/me/list/"+v.ID, alice, "", nil); res.StatusCode != 200 {
		t.Fatalf("in list: %d", res.StatusCode)
	}
	if res := f.do(t, "GET", "/api/me/list/"+v.ID, bob, "", nil); res.StatusCode != 404 {
		t.Fatalf("bob sees alice's list: %d", res.StatusCode)
	}
	if res := f.do(t, "DELETE", "/api/me/list/"+v.ID, bob, "", nil); res.StatusCode != 204 {
		t.Fatalf("bob's delete: %d", res.StatusCode)
	}
	var l struct{ Items []struct{ VideoID string } }
	f.do(t, "GET", "/api/me/list", alice, "", &l)
	if len(l.Items) != 1 || l.Items[0].VideoID != v.ID {
		t.Fatalf("bob's delete touched alice's list: %+v", l)
	}
	if res := f.do(t, "PUT", "/api/me/list/"+draft.ID, alice, "", nil); res.StatusCode != 404 {
		t.Fatalf("a draft in a list: %d", res.StatusCode)
	}
	if res := f.do(t, "DELETE", "/api/me/list/"+v.ID, alice, "", nil); res.StatusCode != 204 {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	l.Items = nil
	f.do(t, "GET", "/api/me/list", alice, "", &l)
	if len(l.Items) != 0 {
		t.Fatalf("removed entry still listed: %+v", l)
	}
}

func TestAdminVideos(t *testing.T) {
	f := newFixture(t)
	ready := f.add(t, &ginflix.Video{Title: "Ready", SourceKey: "videos/original/x.mp4"})
	failed := f.add(t, &ginflix.Video{Title: "Broken", Status: ginflix.StatusFailed, Error: "no video track"})
	other := f.add(t, &ginflix.Video{Title: "Other", Published: true})

	var l struct {
		Items []struct{ ID, Title, Status, Error string }
		Next  string
	}
	f.do(t, "GET", "/api/admin/videos?status=failed", f.admin, "", &l)
	if len(l.Items) != 1 || l.Items[0].ID != failed.ID || l.Items[0].Error != "no video track" {
		t.Fatalf("failed videos: %+v", l)
	}
	l.Items = nil
	f.do(t, "GET", "/api/admin/videos?published=false", f.admin, "", &l)
	if len(l.Items) != 2 {
		t.Fatalf("unpublished videos: %+v", l)
	}
	if res := f.do(t, "GET", "/api/admin/videos?published=maybe", f.admin, "", nil); res.StatusCode != 400 {
		t.Fatalf("bad published: %d", res.StatusCode)
	}

	var v struct {
		Title     string
		Tags      []string
		Published bool
	}
	res := f.do(t, "PATCH", "/api/admin/videos/"+ready.ID, f.admin, `{"title": "Renamed", "tags": ["A", "b"], "published": true}`, &v)
	if res.StatusCode != 200 || v.Title != "Renamed" || !v.Published || len(v.Tags) != 2 || v.Tags[0] != "a" {
		t.Fatalf("patch: %d %+v", res.StatusCode, v)
	}
	var viewerSees videoList
	f.get(t, "GET", "/api/videos", &viewerSees)
	if len(viewerSees.Items) != 2 {
		t.Fatalf("a published video is not listed: %v", viewerSees.titles())
	}
	var e errorBody
	if res := f.do(t, "PATCH", "/api/admin/videos/"+failed.ID, f.admin, `{"published": true}`, &e); res.StatusCode != 409 {
		t.Fatalf("publishing a failed video: %d %+v", res.StatusCode, e)
	}
	for _, body := range []string{`{"title": ""}`, `{"status": "ready"}`, `{"views": 1000000}`, `not json`} {
		if res := f.do(t, "PATCH", "/api/admin/videos/"+ready.ID, f.admin, body, nil); res.StatusCode != 400 {
			t.Fatalf("patch %s: %d", body, res.StatusCode)
		}
	}
	if res := f.do(t, "PATCH", "/api/admin/videos/"+ginflix.NewID(), f.admin, `{"title": "x"}`, nil); res.StatusCode != 404 {
		t.Fatalf("patch a missing video: %d", res.StatusCode)
	}

	// Deleting removes the video's objects and only them.
	ctx := t.Context()
	put := func(key string) {
		if err := f.objects.Put(ctx, key, bytes.NewReader([]byte("x")), 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"videos/original/x.mp4", "videos/hls/" + ready.ID + "/master.m3u8", "videos/hls/" + ready.ID + "/720p/seg1.m4s",
		"thumbnails/" + ready.ID + "/poster.jpg", "videos/hls/" + other.ID + "/master.m3u8", "thumbnails/" + other.ID + "/poster.jpg"} {
		put(k)
	}
	if res := f.do(t, "DELETE", "/api/admin/videos/"+ready.ID, f.admin, "", nil); res.StatusCode != 204 {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	for _, k := range []string{"videos/original/x.mp4", "videos/hls/" + ready.ID + "/master.m3u8", "thumbnails/" + ready.ID + "/poster.jpg"} {
		if _, err := f.objects.Stat(ctx, k); ginflix.ErrorCode(err) != ginflix.ENOTFOUND {
			t.Fatalf("%s survived the delete: %v", k, err)
		}
	}
	for _, k := range []string{"videos/hls/" + other.ID + "/master.m3u8", "thumbnails/" + other.ID + "/poster.jpg"} {
		if _, err := f.objects.Stat(ctx, k); err != nil {
			t.Fatalf("deleting one video removed another's %s: %v", k, err)
		}
	}
	if res := f.do(t, "GET", "/api/admin/videos/"+ready.ID, f.admin, "", nil); res.StatusCode != 404 {
		t.Fatalf("deleted video still there: %d", res.StatusCode)
	}
}

func TestAdminUsers(t *testing.T) {
	f := newFixture(t)
	var u struct {
		ID, Email string
		Roles     []string
		Disabled  bool
	}
	res := f.do(t, "POST", "/api/admin/users", f.admin, `{"email": "Zoe@Example.org", "name": "Zoé", "password": "a long enough password"}`, &u)
	if res.StatusCode != 201 || u.Email != "zoe@example.org" || len(u.Roles) != 1 || u.Roles[0] != ginflix.RoleViewer {
		t.Fatalf("create: %d %+v", res.StatusCode, u)
	}
	stored, err := f.store.User(t.Context(), u.ID)
	if err != nil || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Fatalf("stored %+v %v", stored, err)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"email": "zoe@example.org", "password": "a long enough password"}`, 409},
		{`{"email": "x@example.org", "password": "short"}`, 400},
		{`{"email": "nope", "password": "a long enough password"}`, 400},
		{`{"email": "y@example.org", "password": "a long enough password", "roles": ["root"]}`, 400},
	} {
		if res := f.do(t, "POST", "/api/admin/users", f.admin, c.body, nil); res.StatusCode != c.want {
			t.Fatalf("create %s: %d, want %d", c.body, res.StatusCode, c.want)
		}
	}
	res = f.do(t, "PATCH", "/api/admin/users/"+u.ID, f.admin, `{"roles": ["ginflix-admin"], "disabled": true}`, &u)
	if res.StatusCode != 200 || !u.Disabled || u.Roles[0] != ginflix.RoleAdmin {
		t.Fatalf("patch: %d %+v", res.StatusCode, u)
	}
	var list struct{ Items []struct{ Email string } }
	f.do(t, "GET", "/api/admin/users", f.admin, "", &list)
	if len(list.Items) != 1 {
		t.Fatalf("users: %+v", list)
	}
	// An admin cannot lock themselves out.
	self := f.iss.Token(u.ID, ginflix.RoleAdmin)
	if res := f.do(t, "PATCH", "/api/admin/users/"+u.ID, self, `{"roles": ["ginflix-user"]}`, nil); res.StatusCode != 409 {
		t.Fatalf("dropping one's own admin role: %d", res.StatusCode)
	}

	kc := newFixture(t, func(d *api.Deps) { d.ManagesUsers = false })
	var e errorBody
	if res := kc.do(t, "GET", "/api/admin/users", kc.admin, "", &e); res.StatusCode != 501 || !strings.Contains(e.Error.Message, "identity provider") {
		t.Fatalf("with Keycloak: %d %+v", res.StatusCode, e)
	}
}

func TestAdminJobsAndRetry(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	v := f.add(t, &ginflix.Video{Title: "Broken", Status: ginflix.StatusProcessing, SourceKey: "videos/original/b.mp4"})
	job, err := f.store.EnqueueJob(ctx, &ginflix.Job{VideoID: v.ID, Kind: ginflix.JobKindTranscode, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res := f.do(t, "POST", "/api/admin/videos/"+v.ID+"/retry", f.admin, "", nil); res.StatusCode != 409 {
		t.Fatalf("retrying a processing video: %d", res.StatusCode)
	}
	if _, err := f.store.LeaseJob(ctx, "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := f.store.HeartbeatJob(ctx, job.ID, "w", time.Minute, 0.5); err != nil {
		t.Fatal(err)
	}
	var l struct {
		Items []struct {
			ID, State  string
			Progress   float64
			ETASeconds *float64
			Attempts   int
		}
	}
	f.do(t, "GET", "/api/admin/jobs?state=running", f.admin, "", &l)
	if len(l.Items) != 1 || l.Items[0].Progress != 50 || l.Items[0].ETASeconds == nil || l.Items[0].Attempts != 1 {
		t.Fatalf("running jobs: %+v", l)
	}
	if _, err := f.store.FailJob(ctx, job.ID, "w", "the file has no video track", false, 0); err != nil {
		t.Fatal(err)
	}
	status, msg := ginflix.StatusFailed, "the file has no video track"
	if _, err := f.store.UpdateVideo(ctx, v.ID, ginflix.VideoUpdate{Status: &status, Error: &msg}); err != nil {
		t.Fatal(err)
	}
	var j struct{ ID, State string }
	if res := f.do(t, "POST", "/api/admin/videos/"+v.ID+"/retry", f.admin, "", &j); res.StatusCode != 202 || j.ID != job.ID || j.State != "queued" {
		t.Fatalf("retry: %d %+v", res.StatusCode, j)
	}
	got, _ := f.store.Video(ctx, v.ID)
	if got.Status != ginflix.StatusProcessing || got.Error != "" {
		t.Fatalf("after retry the video is %s %q", got.Status, got.Error)
	}
	if res := f.do(t, "GET", "/api/admin/jobs?state=bogus", f.admin, "", nil); res.StatusCode != 400 {
		t.Fatalf("bad state: %d", res.StatusCode)
	}
	if res := f.do(t, "POST", "/api/admin/videos/"+v.ID+"/retry", f.viewer, "", nil); res.StatusCode != 403 {
		t.Fatalf("viewer retry: %d", res.StatusCode)
	}
}

func TestPlaybackAuthorisation(t *testing.T) {
	signer, err := playback.ParseKeys("k1:" + strings.Repeat("A", 44))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(d *api.Deps) { d.Playback = &signer })
	v := f.add(t, &ginflix.Video{Title: "Film", Published: true, PosterKey: "thumbnails/x/poster.jpg", StoryboardVTTKey: "thumbnails/x/storyboard.vtt"})
	draft := f.add(t, &ginflix.Video{Title: "Draft"})
	busy := f.add(t, &ginflix.Video{Title: "Busy", Status: ginflix.StatusProcessing})

	var p struct{ URL, PosterURL, StoryboardURL string }
	res := f.do(t, "POST", "/api/videos/"+v.ID+"/playback", f.viewer, "", &p)
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("playback: %d", res.StatusCode)
	}
	u, err := url.Parse(p.URL)
	if err != nil || !strings.HasSuffix(u.Path, "/stream/videos/"+v.ID+"/master.m3u8") {
		t.Fatalf("url %q", p.URL)
	}
	claims, err := signer.VerifyViewer(u.Query().Get("token"), v.ID)
	if err != nil || claims.Subject != "viewer-1" {
		t.Fatalf("token: %+v %v", claims, err)
	}
	if _, err := signer.VerifyViewer(u.Query().Get("token"), draft.ID); err == nil {
		t.Fatal("a token for one video opens another")
	}
	if !strings.Contains(p.PosterURL, "/thumbnails/"+v.ID+"/poster.jpg?vt=") || !strings.Contains(p.StoryboardURL, "storyboard.vtt?vt=") {
		t.Fatalf("image urls %+v", p)
	}
	if res := f.do(t, "POST", "/api/videos/"+draft.ID+"/playback", f.viewer, "", nil); res.StatusCode != 404 {
		t.Fatalf("a viewer plays a draft: %d", res.StatusCode)
	}
	if res := f.do(t, "POST", "/api/videos/"+draft.ID+"/playback", f.admin, "", nil); res.StatusCode != 200 {
		t.Fatalf("an admin previews a ready draft: %d", res.StatusCode)
	}
	if res := f.do(t, "POST", "/api/videos/"+busy.ID+"/playback", f.admin, "", nil); res.StatusCode != 409 {
		t.Fatalf("playing a video still processing: %d", res.StatusCode)
	}
	if res := f.do(t, "POST", "/api/videos/"+v.ID+"/playback", "", "", nil); res.StatusCode != 401 {
		t.Fatalf("anonymous playback: %d", res.StatusCode)
	}
	var l struct {
		Items []struct{ PosterURL, PosterWebpURL string }
	}
	f.get(t, "GET", "/api/videos", &l)
	if len(l.Items) != 1 || !strings.Contains(l.Items[0].PosterURL, "poster.jpg?vt=") || !strings.Contains(l.Items[0].PosterWebpURL, "poster.webp?vt=") {
		t.Fatalf("catalogue poster urls: %+v", l)
	}
}
