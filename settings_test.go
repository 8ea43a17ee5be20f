package ginflix

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestSettingsValidate(t *testing.T) {
	ok := DefaultSettings()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, c := range []struct {
		name  string
		mod   func(*Settings)
		param string
	}{
		{"empty name", func(s *Settings) { s.SiteName = " \t" }, "siteName"},
		{"long name", func(s *Settings) { s.SiteName = string(make([]rune, 61)) }, "siteName"},
		{"control in name", func(s *Settings) { s.SiteName = "a\u0007b" }, "siteName"},
		{"unknown preset", func(s *Settings) { s.Preset = "placebo" }, "preset"},
		{"zero upload", func(s *Settings) { s.MaxUploadSize = 0 }, "maxUploadSize"},
		{"tiny upload", func(s *Settings) { s.MaxUploadSize = 1000 }, "maxUploadSize"},
		{"absurd upload", func(s *Settings) { s.MaxUploadSize = MaxUploadLimit + 1 }, "maxUploadSize"},
		{"no rung", func(s *Settings) { s.Ladder = nil }, "ladder"},
		{"too many rungs", func(s *Settings) { s.Ladder = []int{2160, 1440, 1080, 900, 720, 540, 480, 360, 240} }, "ladder"},
		{"rung too small", func(s *Settings) { s.Ladder = []int{720, 120} }, "ladder"},
		{"rung too large", func(s *Settings) { s.Ladder = []int{4320} }, "ladder"},
		{"odd rung", func(s *Settings) { s.Ladder = []int{721} }, "ladder"},
		{"duplicate rung", func(s *Settings) { s.Ladder = []int{720, 720, 360} }, "ladder"},
		{"unsorted", func(s *Settings) { s.Ladder = []int{360, 720} }, "ladder"},
		{"negative version", func(s *Settings) { s.Version = -1 }, "version"},
	} {
		s := DefaultSettings()
		c.mod(&s)
		err := s.Validate()
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || e.Param != c.param || e.Message == "" {
			t.Errorf("%s: %v, want EINVALID naming %s", c.name, err, c.param)
		}
	}
	s := DefaultSettings()
	s.SiteName, s.Ladder = "  Vidéothèque ", []int{2160, 144}
	if err := s.Validate(); err != nil || s.SiteName != "Vidéothèque" {
		t.Fatalf("edge values: %v %q", err, s.SiteName)
	}
}

func TestSettingsDiff(t *testing.T) {
	a := DefaultSettings()
	b := a.Clone()
	if d := b.Diff(a); len(d) != 0 {
		t.Fatalf("no change: %q", d)
	}
	b.Ladder[0] = 720 // a clone shares nothing
	if a.Ladder[0] != 1080 {
		t.Fatal("Clone shares the ladder")
	}
	b.Ladder, b.PublicCatalog = []int{720}, true
	d := b.Diff(a)
	if len(d) != 2 || d[0] != "ladder: [1080 720 480 360 240] → [720]" || d[1] != "publicCatalog: false → true" {
		t.Fatalf("diff %q", d)
	}
}

// fakeSettingsStore counts reads and can fail.
type fakeSettingsStore struct {
	reads  atomic.Int32
	stored atomic.Pointer[Settings]
	fail   atomic.Bool
}

func (f *fakeSettingsStore) Settings(context.Context) (*Settings, error) {
	f.reads.Add(1)
	if f.fail.Load() {
		return nil, errors.New("database down")
	}
	if s := f.stored.Load(); s != nil {
		c := s.Clone()
		return &c, nil
	}
	return nil, Errorf(ENOTFOUND, "none")
}

func (f *fakeSettingsStore) SaveSettings(context.Context, *Settings) (*Settings, error) {
	panic("not used")
}

func TestSettingsCache(t *testing.T) {
	store := &fakeSettingsStore{}
	def := DefaultSettings()
	def.SiteName = "Configured"
	c := NewSettingsCache(store, def, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	if got := c.Current(ctx); got.SiteName != "Configured" || got.Version != 0 {
		t.Fatalf("nothing stored: %+v", got)
	}
	for range 100 {
		c.Current(ctx)
	}
	if n := store.reads.Load(); n != 1 {
		t.Fatalf("%d store reads within one TTL, want 1", n)
	}
	stored := DefaultSettings()
	stored.SiteName, stored.Version = "Stored", 3
	store.stored.Store(&stored)
	if got := c.Current(ctx); got.SiteName != "Configured" {
		t.Fatalf("read again before the TTL: %+v", got)
	}
	now = now.Add(time.Minute)
	if got := c.Current(ctx); got.SiteName != "Stored" || got.Version != 3 {
		t.Fatalf("after the TTL: %+v", got)
	}
	// A failed read keeps the last value and waits a TTL before trying again.
	store.fail.Store(true)
	now = now.Add(time.Minute)
	before := store.reads.Load()
	for range 10 {
		if got := c.Current(ctx); got.SiteName != "Stored" {
			t.Fatalf("during an outage: %+v", got)
		}
	}
	if n := store.reads.Load() - before; n != 1 {
		t.Fatalf("%d reads during an outage within one TTL, want 1", n)
	}
	// Set applies at once, and a value handed out is a copy.
	saved := stored.Clone()
	saved.SiteName, saved.Version = "Saved", 4
	c.Set(saved)
	got := c.Current(ctx)
	got.Ladder[0] = 2
	if again := c.Current(ctx); again.SiteName != "Saved" || again.Ladder[0] != 1080 {
		t.Fatalf("after Set: %+v", again)
	}
	if d := c.Defaults(); d.SiteName != "Configured" {
		t.Fatalf("defaults %+v", d)
	}
}

// A read that began before a save must not put the older value back.
func TestSettingsCacheSetDuringRefresh(t *testing.T) {
	old := DefaultSettings()
	old.SiteName, old.Version = "Old", 1
	store := &blockingStore{release: make(chan struct{}), started: make(chan struct{}), s: old}
	c := NewSettingsCache(store, DefaultSettings(), time.Minute)
	done := make(chan struct{})
	go func() { c.Refresh(context.Background()); close(done) }()
	<-store.started
	saved := old.Clone()
	saved.SiteName, saved.Version = "New", 2
	c.Set(saved)
	close(store.release)
	<-done
	if got := c.Current(context.Background()); got.SiteName != "New" {
		t.Fatalf("a stale read overwrote the save: %+v", got)
	}
}

type blockingStore struct {
	started, release chan struct{}
	s                Settings
}

func (b *blockingStore) Settings(context.Context) (*Settings, error) {
	close(b.started)
	<-b.release
	s := b.s.Clone()
	return &s, nil
}

func (b *blockingStore) SaveSettings(context.Context, *Settings) (*Settings, error) {
	panic("not used")
}

func TestAuditPrepareAndCursor(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 26, 53, 589_123_000, time.UTC)
	var prev string
	for range 1000 {
		e := &AuditEntry{Action: AuditVideoDeleted, TargetType: TargetVideo}
		if err := e.PrepareAppend(now); err != nil {
			t.Fatal(err)
		}
		if !ValidID(e.ID) || e.ID <= prev {
			t.Fatalf("id %q after %q: ids must grow in call order", e.ID, prev)
		}
		prev = e.ID
		if !e.At.Equal(now.Truncate(time.Millisecond)) {
			t.Fatalf("at %v", e.At)
		}
	}
	e := &AuditEntry{ID: NewID(), At: now, Action: AuditUserCreated, TargetType: TargetUser}
	c, err := DecodeAuditCursor(AuditCursorAfter(e))
	if err != nil || c.ID != e.ID || c.Time != now.UnixMilli() {
		t.Fatalf("cursor round trip: %+v %v", c, err)
	}
	if _, err := DecodeAuditCursor("bm9wZQ"); ErrorCode(err) != EINVALID {
		t.Fatalf("foreign cursor: %v", err)
	}
}
