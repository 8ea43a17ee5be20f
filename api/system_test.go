package api_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/internal/testutil"
	"github.com/ginflix/ginflix/oidc"
	"github.com/ginflix/ginflix/prometheus"
	"github.com/ginflix/ginflix/tus"
)

type settingsPage struct {
	Settings, Defaults struct {
		SiteName      string
		AutoPublish   bool
		Ladder        []int
		Preset        string
		MaxUploadSize int64
		PublicCatalog bool
		Version       int64
		UpdatedBy     string
		UpdatedAt     *time.Time
	}
	Limits struct {
		MinRungHeight, MaxRungHeight int
		Presets                      []string
	}
	RefreshSeconds float64
}

type auditList struct {
	Items []struct {
		ID, ActorID, ActorName, ActorEmail, Action, TargetType, TargetID, Detail string
		At                                                                       time.Time
	}
	Next string
}

func (l auditList) actions() []string {
	var out []string
	for _, e := range l.Items {
		out = append(out, e.Action)
	}
	return out
}

// settingsBody is a PUT body; mod changes the defaults' JSON fields.
func settingsBody(version int64, mod map[string]string) string {
	fields := map[string]string{
		"siteName": `"Ginflix"`, "autoPublish": "false", "ladder": "[1080, 720, 480, 360, 240]", "preset": `"veryfast"`,
		"maxUploadSize": "21474836480", "publicCatalog": "false", "version": fmt.Sprint(version),
	}
	for k, v := range mod {
		if v == "" {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	var parts []string
	for k, v := range fields {
		parts = append(parts, fmt.Sprintf("%q: %s", k, v))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

// adminToken is an admin with the name and email a real token carries.
func (f *fixture) adminToken(sub, name, email string) string {
	c := f.iss.Claims(sub, ginflix.RoleAdmin)
	c["name"], c["email"] = name, email
	return f.iss.Sign(c)
}

func TestAdminSystemRoutesNeedTheAdminRole(t *testing.T) {
	f := newFixture(t)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/admin/system", ""},
		{"GET", "/api/admin/settings", ""},
		{"PUT", "/api/admin/settings", settingsBody(0, map[string]string{"siteName": `"Pirate"`})},
		{"GET", "/api/admin/audit", ""},
	} {
		var e errorBody
		if res := f.do(t, r.method, r.path, f.viewer, r.body, &e); res.StatusCode != 403 || e.Error.Code != "forbidden" {
			t.Errorf("%s %s as a viewer: %d %+v", r.method, r.path, res.StatusCode, e)
		}
		if res := f.do(t, r.method, r.path, "", r.body, nil); res.StatusCode != 401 {
			t.Errorf("%s %s anonymously: %d", r.method, r.path, res.StatusCode)
		}
	}
	if _, err := f.store.Settings(t.Context()); ginflix.ErrorCode(err) != ginflix.ENOTFOUND {
		t.Fatalf("a refused PUT stored settings: %v", err)
	}
}

func TestAdminSettings(t *testing.T) {
	f := newFixture(t)
	f.add(t, &ginflix.Video{Title: "Open", Published: true})
	ada := f.adminToken("admin-ada", "Ada Lovelace", "ada@example.org")

	var p settingsPage
	if res := f.do(t, "GET", "/api/admin/settings", ada, "", &p); res.StatusCode != 200 {
		t.Fatalf("GET settings: %d", res.StatusCode)
	}
	if p.Settings.Version != 0 || p.Settings.SiteName != "Ginflix" || p.Settings.PublicCatalog || p.Settings.Preset != "veryfast" ||
		!slices.Equal(p.Settings.Ladder, []int{1080, 720, 480, 360, 240}) || p.Settings.MaxUploadSize != 20<<30 ||
		p.Defaults.SiteName != "Ginflix" || p.Limits.MinRungHeight != 144 || len(p.Limits.Presets) != 9 || p.RefreshSeconds <= 0 {
		t.Fatalf("settings before any save: %+v", p)
	}

	for _, c := range []struct {
		mod   map[string]string
		param string
	}{
		{map[string]string{"siteName": `"  "`}, "siteName"},
		{map[string]string{"siteName": `"` + strings.Repeat("x", 61) + `"`}, "siteName"},
		{map[string]string{"preset": `"turbo"`}, "preset"},
		{map[string]string{"ladder": "[360, 720]"}, "ladder"},
		{map[string]string{"ladder": "[720, 720]"}, "ladder"},
		{map[string]string{"ladder": "[100]"}, "ladder"},
		{map[string]string{"ladder": "[4320]"}, "ladder"},
		{map[string]string{"ladder": "[]"}, "ladder"},
		{map[string]string{"maxUploadSize": "0"}, "maxUploadSize"},
		{map[string]string{"maxUploadSize": "-5"}, "maxUploadSize"},
		{map[string]string{"maxUploadSize": "9007199254740991"}, "maxUploadSize"},
		{map[string]string{"publicCatalog": ""}, "publicCatalog"},
		{map[string]string{"version": ""}, "version"},
		{map[string]string{"colour": `"red"`}, "body"},
		{map[string]string{"ladder": `"720p"`}, "body"},
	} {
		var e errorBody
		res := f.do(t, "PUT", "/api/admin/settings", ada, settingsBody(0, c.mod), &e)
		if res.StatusCode != 400 || e.Error.Code != "invalid" || e.Error.Param != c.param || e.Error.Message == "" {
			t.Errorf("PUT %v: %d %+v; want 400 naming %s", c.mod, res.StatusCode, e.Error, c.param)
		}
	}

	// Anonymous visitors are refused until an admin opens the catalogue.
	if res := f.do(t, "GET", "/api/videos", "", "", nil); res.StatusCode != 401 {
		t.Fatalf("anonymous catalogue before: %d", res.StatusCode)
	}
	p = settingsPage{}
	res := f.do(t, "PUT", "/api/admin/settings", ada, settingsBody(0, map[string]string{
		"siteName": `" Médiathèque "`, "publicCatalog": "true", "ladder": "[720, 360]", "autoPublish": "true",
	}), &p)
	if res.StatusCode != 200 || p.Settings.Version != 1 || p.Settings.SiteName != "Médiathèque" || !p.Settings.PublicCatalog ||
		p.Settings.UpdatedBy != "Ada Lovelace" || p.Settings.UpdatedAt == nil || p.Defaults.SiteName != "Ginflix" {
		t.Fatalf("PUT: %d %+v", res.StatusCode, p)
	}
	// Applied at once, no restart: the apps' config and the access check.
	var c api.PublicConfig
	f.do(t, "GET", "/api/config", "", "", &c)
	if c.ProductName != "Médiathèque" || !c.PublicCatalog {
		t.Fatalf("config after the change: %+v", c)
	}
	var l videoList
	if res := f.do(t, "GET", "/api/videos", "", "", &l); res.StatusCode != 200 || len(l.Items) != 1 {
		t.Fatalf("anonymous catalogue after opening it: %d %+v", res.StatusCode, l)
	}

	// A second admin who loaded version 0 cannot overwrite it.
	var e errorBody
	if res := f.do(t, "PUT", "/api/admin/settings", f.admin, settingsBody(0, map[string]string{"siteName": `"Écrasé"`}), &e); res.StatusCode != 409 || e.Error.Code != "conflict" {
		t.Fatalf("stale PUT: %d %+v", res.StatusCode, e)
	}
	if res := f.do(t, "PUT", "/api/admin/settings", f.admin, settingsBody(7, nil), &e); res.StatusCode != 409 {
		t.Fatalf("PUT from a future version: %d %+v", res.StatusCode, e)
	}
	f.do(t, "GET", "/api/config", "", "", &c)
	if c.ProductName != "Médiathèque" {
		t.Fatalf("a refused PUT changed the name: %+v", c)
	}

	// Closing it again applies at once too.
	p = settingsPage{}
	if res := f.do(t, "PUT", "/api/admin/settings", f.admin, settingsBody(1, map[string]string{
		"siteName": `"Médiathèque"`, "ladder": "[720, 360]", "autoPublish": "true",
	}), &p); res.StatusCode != 200 || p.Settings.Version != 2 || p.Settings.PublicCatalog || p.Settings.UpdatedBy != "User admin-1" {
		t.Fatalf("second PUT: %d %+v", res.StatusCode, p)
	}
	if res := f.do(t, "GET", "/api/videos", "", "", nil); res.StatusCode != 401 {
		t.Fatalf("anonymous catalogue after closing it: %d", res.StatusCode)
	}
	// Saving what is stored changes nothing and records nothing.
	if res := f.do(t, "PUT", "/api/admin/settings", f.admin, settingsBody(2, map[string]string{
		"siteName": `"Médiathèque"`, "ladder": "[720, 360]", "autoPublish": "true",
	}), &p); res.StatusCode != 200 || p.Settings.Version != 2 {
		t.Fatalf("PUT of the same values: %d %+v", res.StatusCode, p)
	}

	var a auditList
	f.do(t, "GET", "/api/admin/audit?action=settings.updated", f.admin, "", &a)
	if len(a.Items) != 2 {
		t.Fatalf("settings changes in the audit log: %+v", a)
	}
	first := a.Items[1]
	if first.ActorID != "admin-ada" || first.ActorName != "Ada Lovelace" || first.ActorEmail != "ada@example.org" ||
		first.TargetType != "settings" || !strings.Contains(first.Detail, `siteName: "Ginflix" → "Médiathèque"`) ||
		!strings.Contains(first.Detail, "publicCatalog: false → true") || !strings.Contains(first.Detail, "ladder: [1080 720 480 360 240] → [720 360]") ||
		strings.Contains(first.Detail, "preset") {
		t.Fatalf("first change recorded as %+v", first)
	}
	if a.Items[0].Detail != "publicCatalog: true → false" {
		t.Fatalf("second change recorded as %q", a.Items[0].Detail)
	}
}

// Every backend replica reads the store again within the cache's TTL, so
// a change made through one applies on the others without a restart.
func TestSettingsReachOtherReplicas(t *testing.T) {
	const ttl = 100 * time.Millisecond
	f := newFixture(t, func(d *api.Deps) {
		d.Settings = ginflix.NewSettingsCache(d.Store, ginflix.DefaultSettings(), ttl)
	})
	f.add(t, &ginflix.Video{Title: "Open", Published: true})
	// A second replica on the same database.
	verifier, err := oidc.NewVerifier(oidc.Config{Issuer: f.iss.URL, Audience: f.iss.Audience, AdminRole: ginflix.RoleAdmin, ViewerRole: ginflix.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(api.NewServer(api.Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: f.store, Objects: f.objects, Metrics: prometheus.New("test"),
		Verifier: verifier, AdminRole: ginflix.RoleAdmin, ViewerRole: ginflix.RoleViewer,
		Settings: ginflix.NewSettingsCache(f.store, ginflix.DefaultSettings(), ttl),
	}))
	t.Cleanup(other.Close)
	anonymous := func() int {
		res, err := http.Get(other.URL + "/api/videos")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := anonymous(); got != 401 {
		t.Fatalf("other replica before: %d", got)
	}
	if res := f.do(t, "PUT", "/api/admin/settings", f.admin, settingsBody(0, map[string]string{"publicCatalog": "true"}), nil); res.StatusCode != 200 {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
	deadline := time.Now().Add(10 * ttl)
	for anonymous() != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("the other replica still refuses anonymous reads %v after the change (TTL %v)", 10*ttl, ttl)
		}
		time.Sleep(ttl / 5)
	}
}

func TestAdminSystem(t *testing.T) {
	f := newFixture(t, func(d *api.Deps) {
		d.Version = "1.2.3"
		d.FFmpegVersion = func(context.Context) (string, error) { return "5.1.6-test", nil }
		d.SystemConfig = []api.ConfigEntry{
			{Name: "addr", Env: "GINFLIX_ADDR", Value: "127.0.0.1:8080", Source: "default"},
			{Name: "s3-secret-key", Env: "GINFLIX_S3_SECRET_KEY", Value: "hunter2-should-never-show", Source: "file", Secret: true},
			{Name: "product-name", Env: "GINFLIX_PRODUCT_NAME", Value: "Ginflix", Source: "default", Setting: "siteName"},
			{Name: "max-upload-size", Env: "GINFLIX_MAX_UPLOAD_SIZE", Value: "20GiB", Source: "env", Setting: "maxUploadSize"},
		}
	})
	for range 2 {
		if _, err := f.store.EnqueueJob(t.Context(), &ginflix.Job{VideoID: ginflix.NewID(), Kind: ginflix.JobKindTranscode}); err != nil {
			t.Fatal(err)
		}
	}
	type system struct {
		Config []struct {
			Name, Env, Value, Source, Setting string
			Secret                            bool
		}
		Versions struct{ Ginflix, Go, FFmpeg string }
		Health   struct {
			Database, Objects struct{ Status string }
			Queue             struct {
				Status string
				Counts map[string]int
			}
		}
	}
	var s system
	res := f.do(t, "GET", "/api/admin/system", f.admin, "", &s)
	if res.StatusCode != 200 || s.Versions.Ginflix != "1.2.3" || !strings.HasPrefix(s.Versions.Go, "go") || s.Versions.FFmpeg != "5.1.6-test" {
		t.Fatalf("system: %d %+v", res.StatusCode, s.Versions)
	}
	if s.Health.Database.Status != "ok" || s.Health.Objects.Status != "ok" || s.Health.Queue.Status != "ok" ||
		s.Health.Queue.Counts["queued"] != 2 || s.Health.Queue.Counts["failed"] != 0 {
		t.Fatalf("health: %+v", s.Health)
	}
	if len(s.Config) != 4 || s.Config[1].Value != api.MaskedValue || !s.Config[1].Secret || s.Config[0].Value != "127.0.0.1:8080" {
		t.Fatalf("config: %+v", s.Config)
	}
	// Stored settings override the configuration: the table says so.
	if res := f.do(t, "PUT", "/api/admin/settings", f.admin, settingsBody(0, map[string]string{"siteName": `"Vidéothèque"`, "maxUploadSize": "536870912"}), nil); res.StatusCode != 200 {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
	s = system{}
	f.do(t, "GET", "/api/admin/system", f.admin, "", &s)
	if c := s.Config[2]; c.Value != "Vidéothèque" || c.Source != "settings" || c.Setting != "siteName" {
		t.Fatalf("overridden product name: %+v", c)
	}
	if c := s.Config[3]; c.Value != "512MiB" || c.Source != "settings" {
		t.Fatalf("overridden upload size: %+v", c)
	}
	if c := s.Config[0]; c.Source != "default" {
		t.Fatalf("a setting no runtime setting overrides: %+v", c)
	}

	// A dependency that fails is reported, not an error.
	f.store.Close()
	s = system{}
	if res := f.do(t, "GET", "/api/admin/system", f.admin, "", &s); res.StatusCode != 200 || s.Health.Database.Status != "unreachable" || s.Health.Queue.Status != "unreachable" || s.Health.Objects.Status != "ok" {
		t.Fatalf("system with a closed database: %d %+v", res.StatusCode, s.Health)
	}
}

func TestAuditLog(t *testing.T) {
	f := newFixture(t, func(d *api.Deps) {
		h, err := tus.New(tus.Config{Dir: filepath.Join(t.TempDir(), "uploads"), Logger: d.Logger},
			func(ctx context.Context, u tus.Upload) (string, error) { return u.ID, nil })
		if err != nil {
			t.Fatal(err)
		}
		d.Uploads = h
	})
	ada := f.adminToken("admin-ada", "Ada", "ada@example.org")

	// An upload created through the API.
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/uploads/", nil)
	req.Header.Set("Authorization", "Bearer "+ada)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", "1000")
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte("Électricité.mp4")))
	res := must(http.DefaultClient.Do(req))
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("tus POST: %d", res.StatusCode)
	}
	uploadID := filepath.Base(res.Header.Get("Location"))

	v := f.add(t, &ginflix.Video{Title: "Ready"})
	failed := f.add(t, &ginflix.Video{Title: "Broken", Status: ginflix.StatusFailed, SourceKey: "videos/original/b.mp4"})
	steps := []struct{ method, path, body string }{
		{"PATCH", "/api/admin/videos/" + v.ID, `{"title": "Renamed", "tags": ["a"]}`},
		{"PATCH", "/api/admin/videos/" + v.ID, `{"published": true}`},
		{"PATCH", "/api/admin/videos/" + v.ID, `{"published": false}`},
		{"POST", "/api/admin/videos/" + failed.ID + "/retry", ""},
		{"POST", "/api/admin/users", `{"email": "bob@example.org", "password": "correct horse battery", "roles": ["ginflix-user"]}`},
	}
	for _, s := range steps {
		if res := f.do(t, s.method, s.path, ada, s.body, nil); res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", s.method, s.path, res.StatusCode)
		}
	}
	bob, err := f.store.UserByEmail(t.Context(), "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"disabled": true}`, `{"disabled": false}`, `{"roles": ["ginflix-admin"]}`, `{"name": "Bob"}`} {
		if res := f.do(t, "PATCH", "/api/admin/users/"+bob.ID, ada, body, nil); res.StatusCode != 200 {
			t.Fatalf("PATCH user %s: %d", body, res.StatusCode)
		}
	}
	if res := f.do(t, "DELETE", "/api/admin/videos/"+v.ID, ada, "", nil); res.StatusCode != 204 {
		t.Fatalf("DELETE: %d", res.StatusCode)
	}
	// Refused actions are not recorded.
	f.do(t, "PATCH", "/api/admin/videos/"+failed.ID, ada, `{"published": true}`, nil)
	f.do(t, "PATCH", "/api/admin/users/"+bob.ID, ada, `{"roles": ["pirate"]}`, nil)

	var a auditList
	if res := f.do(t, "GET", "/api/admin/audit", f.admin, "", &a); res.StatusCode != 200 || a.Next != "" {
		t.Fatalf("GET audit: %d next %q", res.StatusCode, a.Next)
	}
	want := []string{"video.deleted", "user.role_changed", "user.enabled", "user.disabled", "user.created", "video.retried",
		"video.unpublished", "video.published", "video.updated", "upload.created"}
	if got := a.actions(); !slices.Equal(got, want) {
		t.Fatalf("audit log = %q\nwant       %q", got, want)
	}
	byAction := map[string]int{}
	for i, e := range a.Items {
		byAction[e.Action] = i
		if e.ActorID != "admin-ada" || e.ActorName != "Ada" || e.ActorEmail != "ada@example.org" || e.At.IsZero() {
			t.Fatalf("entry %+v", e)
		}
	}
	for action, want := range map[string][3]string{
		"upload.created":    {"upload", uploadID, "Électricité.mp4 (1000 bytes)"},
		"video.updated":     {"video", v.ID, `Renamed — title, tags (was "Ready")`},
		"video.published":   {"video", v.ID, "Renamed"},
		"video.retried":     {"video", failed.ID, "Broken"},
		"user.created":      {"user", bob.ID, "bob@example.org, roles: ginflix-user"},
		"user.role_changed": {"user", bob.ID, "bob@example.org, roles: ginflix-user → ginflix-admin"},
		"video.deleted":     {"video", v.ID, "Renamed"},
	} {
		e := a.Items[byAction[action]]
		if e.TargetType != want[0] || e.TargetID != want[1] || e.Detail != want[2] {
			t.Errorf("%s: %s %s %q, want %q", action, e.TargetType, e.TargetID, e.Detail, want)
		}
	}

	// Filters and pages.
	a = auditList{}
	f.do(t, "GET", "/api/admin/audit?target="+url.QueryEscape("user:"+bob.ID), f.admin, "", &a)
	if got := a.actions(); !slices.Equal(got, []string{"user.role_changed", "user.enabled", "user.disabled", "user.created"}) {
		t.Fatalf("by target: %q", got)
	}
	a = auditList{}
	f.do(t, "GET", "/api/admin/audit?target=video&action=video.published", f.admin, "", &a)
	if got := a.actions(); !slices.Equal(got, []string{"video.published"}) {
		t.Fatalf("by type and action: %q", got)
	}
	var paged []string
	cursor := ""
	for range 10 {
		a = auditList{}
		f.do(t, "GET", "/api/admin/audit?limit=3&cursor="+url.QueryEscape(cursor), f.admin, "", &a)
		paged = append(paged, a.actions()...)
		if a.Next == "" {
			break
		}
		cursor = a.Next
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged = %q", paged)
	}
	for _, q := range []struct{ query, param string }{
		{"action=video.exploded", "action"},
		{"target=planet", "target"},
		{"target=video:", "target"},
		{"limit=0", "limit"},
		{"limit=201", "limit"},
		{"cursor=garbage", "cursor"},
		{"action=video.deleted&action=user.created", "action"},
	} {
		var e errorBody
		if res := f.do(t, "GET", "/api/admin/audit?"+q.query, f.admin, "", &e); res.StatusCode != 400 || e.Error.Param != q.param {
			t.Errorf("%s: %d %+v; want 400 naming %s", q.query, res.StatusCode, e.Error, q.param)
		}
	}
}

// failingAudit is a store whose audit log is down.
type failingAudit struct{ ginflix.Store }

func (failingAudit) AppendAudit(context.Context, *ginflix.AuditEntry) error {
	return errors.New("disk full")
}

// An audit write that fails loses neither the action nor its record: the
// action stands, the entry goes to the log, and a counter says so.
func TestAuditFailureKeepsTheAction(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	f := newFixture(t, func(d *api.Deps) {
		d.Store = failingAudit{d.Store}
		d.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	v := f.add(t, &ginflix.Video{Title: "Ready"})
	if res := f.do(t, "PATCH", "/api/admin/videos/"+v.ID, f.admin, `{"published": true}`, nil); res.StatusCode != 200 {
		t.Fatalf("PATCH with the audit log down: %d", res.StatusCode)
	}
	if got, _ := f.store.Video(t.Context(), v.ID); !got.Published {
		t.Fatal("the action was lost")
	}
	l := logs.String()
	if !strings.Contains(l, `"msg":"audit write failed"`) || !strings.Contains(l, `"action":"video.published"`) || !strings.Contains(l, v.ID) {
		t.Fatalf("the failed entry is not in the log:\n%s", l)
	}
	body, _ := io.ReadAll(must(http.Get(f.srv.URL + "/metrics")).Body)
	if !strings.Contains(string(body), "ginflix_audit_write_failures_total 1") {
		t.Fatalf("the failure is not counted:\n%s", body)
	}
}
