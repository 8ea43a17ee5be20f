package ginflix

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Settings are what an admin may change at run time, without a restart.
// Until an admin first saves them, the process's configuration provides
// them (Version 0); once stored, the database wins.
type Settings struct {
	// SiteName is the product name the web apps show.
	SiteName string `json:"siteName"`
	// AutoPublish publishes a video as soon as it is transcoded.
	AutoPublish bool `json:"autoPublish"`
	// Ladder lists the rungs to encode by their short side, highest first
	// (a source still never gets a rung above its own size).
	Ladder []int `json:"ladder"`
	// Preset is the libx264 preset of new encodes.
	Preset string `json:"preset"`
	// MaxUploadSize bounds new uploads, in bytes.
	MaxUploadSize int64 `json:"maxUploadSize"`
	// PublicCatalog lets anonymous visitors browse the catalogue.
	PublicCatalog bool `json:"publicCatalog"`

	// Version counts saves: 0 for settings never stored. A save names the
	// version it was made from, so that two admins cannot silently
	// overwrite each other.
	Version   int64      `json:"version"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
	// UpdatedBy names who saved last (name or email, for display).
	UpdatedBy string `json:"updatedBy,omitempty"`
}

// Limits of the settings, checked by Validate.
const (
	MaxSiteNameLen = 60
	MaxLadderRungs = 8
	// Rungs are short sides in pixels: 144p is the smallest that still
	// shows a picture, 2160p (4K) the largest the encoder is tuned for.
	MinRungHeight = 144
	MaxRungHeight = 2160
	// MinUploadLimit and MaxUploadLimit bound MaxUploadSize: below 1 MiB
	// no real video fits, above 1 TiB is a typo rather than a policy.
	MinUploadLimit = 1 << 20
	MaxUploadLimit = 1 << 40
)

// X264Presets are libx264's presets, fastest first.
var X264Presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}

// DefaultLadder is the encoder's default ladder (ffmpeg.DefaultRungs).
func DefaultLadder() []int { return []int{1080, 720, 480, 360, 240} }

// DefaultSettings are the settings of a configuration that sets nothing.
func DefaultSettings() Settings {
	return Settings{
		SiteName:      "Ginflix",
		Ladder:        DefaultLadder(),
		Preset:        "veryfast",
		MaxUploadSize: 20 << 30,
	}
}

// Clone returns a deep copy of s: the ladder is not shared.
func (s Settings) Clone() Settings {
	s.Ladder = slices.Clone(s.Ladder)
	if s.UpdatedAt != nil {
		t := *s.UpdatedAt
		s.UpdatedAt = &t
	}
	return s
}

// Validate checks s and trims the site name. Each error names the field
// at fault (Param), so a form can show it next to that field.
func (s *Settings) Validate() error {
	s.SiteName = strings.TrimSpace(s.SiteName)
	switch {
	case s.SiteName == "":
		return InvalidParam("siteName", "The site name is empty.")
	case utf8.RuneCountInString(s.SiteName) > MaxSiteNameLen:
		return InvalidParam("siteName", "The site name is longer than %d characters.", MaxSiteNameLen)
	case !utf8.ValidString(s.SiteName) || strings.ContainsFunc(s.SiteName, unicode.IsControl):
		return InvalidParam("siteName", "The site name contains control characters.")
	case !slices.Contains(X264Presets, s.Preset):
		return InvalidParam("preset", "Unknown preset %q: use one of %s.", s.Preset, strings.Join(X264Presets, ", "))
	case s.MaxUploadSize < MinUploadLimit:
		return InvalidParam("maxUploadSize", "The upload limit must be at least 1 MiB.")
	case s.MaxUploadSize > MaxUploadLimit:
		return InvalidParam("maxUploadSize", "The upload limit must be at most 1 TiB.")
	case s.Version < 0:
		return InvalidParam("version", "The version must not be negative.")
	}
	return ValidateLadder(s.Ladder)
}

// ValidateLadder checks a ladder: 1 to MaxLadderRungs even short sides
// within [MinRungHeight, MaxRungHeight], each listed once, highest first.
func ValidateLadder(l []int) error {
	switch {
	case len(l) == 0:
		return InvalidParam("ladder", "The ladder needs at least one rung.")
	case len(l) > MaxLadderRungs:
		return InvalidParam("ladder", "The ladder has at most %d rungs.", MaxLadderRungs)
	}
	for i, h := range l {
		switch {
		case h < MinRungHeight || h > MaxRungHeight:
			return InvalidParam("ladder", "The rung %dp is out of range: rungs are %dp to %dp.", h, MinRungHeight, MaxRungHeight)
		case h%2 != 0:
			return InvalidParam("ladder", "The rung %dp is odd: H.264 in 4:2:0 needs even sizes.", h)
		case slices.Contains(l[:i], h):
			return InvalidParam("ladder", "The rung %dp is listed twice.", h)
		case i > 0 && h > l[i-1]:
			return InvalidParam("ladder", "List the rungs highest first: %dp comes after %dp.", h, l[i-1])
		}
	}
	return nil
}

// Diff describes what changed from old to s, one "field: old → new" per
// changed field, for the audit log. Empty when nothing changed.
func (s Settings) Diff(old Settings) []string {
	var out []string
	add := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			out = append(out, fmt.Sprintf("%s: %v → %v", name, a, b))
		}
	}
	add("siteName", fmt.Sprintf("%q", old.SiteName), fmt.Sprintf("%q", s.SiteName))
	add("autoPublish", old.AutoPublish, s.AutoPublish)
	add("ladder", old.Ladder, s.Ladder)
	add("preset", old.Preset, s.Preset)
	add("maxUploadSize", old.MaxUploadSize, s.MaxUploadSize)
	add("publicCatalog", old.PublicCatalog, s.PublicCatalog)
	return out
}

// SettingsConflict is the error of a save made from a stale version; both
// stores return it, worded once.
func SettingsConflict() error {
	return Errorf(ECONFLICT, "The settings were changed by someone else since you loaded them: reload them, then make your change again.")
}

// SettingsStore keeps the runtime settings: one record, versioned.
type SettingsStore interface {
	// Settings returns the stored settings, ENOTFOUND when none were ever
	// saved (the configuration's then apply).
	Settings(ctx context.Context) (*Settings, error)
	// SaveSettings stores s if the stored version is still s.Version (0:
	// nothing stored yet), stamping UpdatedAt and returning the result with
	// Version+1. Another save in between makes it ECONFLICT.
	SaveSettings(ctx context.Context, s *Settings) (*Settings, error)
}

// SettingsCache serves the current settings to code that reads them on
// every request (the catalogue's access check, /api/config, new uploads,
// each transcoding job) without a database round trip each time. It reads
// the store at most once per TTL; a save through this process replaces
// the cached value at once, and other replicas pick it up within the TTL.
// When the store cannot be read it keeps serving the last value it had
// (the configuration's at first) and tries again one TTL later.
type SettingsCache struct {
	store    SettingsStore
	defaults Settings
	ttl      time.Duration
	now      func() time.Time
	// Logger reports failed reads; nil for slog.Default.
	Logger *slog.Logger

	mu         sync.Mutex
	cur        Settings
	fetched    time.Time // zero: never read
	refreshing bool
	// gen counts Sets, so that a read begun before a save cannot put the
	// older value back once it returns.
	gen uint64
}

// DefaultSettingsTTL is how long a replica trusts its cached settings.
const DefaultSettingsTTL = 5 * time.Second

// NewSettingsCache returns a cache over store whose value is defaults
// until the store holds settings. ttl <= 0 means DefaultSettingsTTL.
func NewSettingsCache(store SettingsStore, defaults Settings, ttl time.Duration) *SettingsCache {
	if ttl <= 0 {
		ttl = DefaultSettingsTTL
	}
	defaults = defaults.Clone()
	defaults.Version, defaults.UpdatedAt, defaults.UpdatedBy = 0, nil, ""
	return &SettingsCache{store: store, defaults: defaults, ttl: ttl, now: time.Now, cur: defaults.Clone()}
}

// Defaults returns the settings the configuration gives.
func (c *SettingsCache) Defaults() Settings { return c.defaults.Clone() }

// TTL is how long a value is reused before the store is read again.
func (c *SettingsCache) TTL() time.Duration { return c.ttl }

// Current returns the settings in force. The first call, and the first
// after each TTL, reads the store; callers arriving while that read runs
// get the previous value rather than waiting for it.
func (c *SettingsCache) Current(ctx context.Context) Settings {
	c.mu.Lock()
	fresh := !c.fetched.IsZero() && c.now().Sub(c.fetched) < c.ttl
	if fresh || (c.refreshing && !c.fetched.IsZero()) {
		s := c.cur.Clone()
		c.mu.Unlock()
		return s
	}
	c.refreshing = true
	c.mu.Unlock()
	s, _ := c.Refresh(ctx)
	return s
}

// Refresh reads the store now and returns what is in force afterwards;
// the error says the read failed (the previous value then stays).
func (c *SettingsCache) Refresh(ctx context.Context) (Settings, error) {
	// A read that outlives a slow request would still be worth having,
	// but must not hang: bound it, detached from the caller's cancel.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	stored, err := c.store.Settings(rctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	c.fetched = c.now()
	switch {
	case gen != c.gen:
		// Saved meanwhile: what Set put there is newer than this read.
		err = nil
	case err == nil:
		c.cur = stored.Clone()
	case ErrorCode(err) == ENOTFOUND:
		c.cur = c.defaults.Clone()
		err = nil
	default:
		log := c.Logger
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "reading the runtime settings failed; keeping the previous ones", "err", err, "retry_in", c.ttl.String())
	}
	return c.cur.Clone(), err
}

// Set replaces the cached value with s, just saved by this process.
func (c *SettingsCache) Set(s Settings) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur, c.fetched = s.Clone(), c.now()
	c.gen++
}
