package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
)

// initSettings gives the server its settings cache and auditor when the
// caller did not share its own.
func (s *server) initSettings() {
	if s.Settings == nil {
		def := ginflix.DefaultSettings()
		def.SiteName, def.PublicCatalog = s.productName(), s.PublicCatalog
		s.Settings = ginflix.NewSettingsCache(s.Store, def, 0)
		s.Settings.Logger = s.Logger
	}
	if s.Audit == nil {
		reg, _ := s.Metrics.(Registerer)
		s.Audit = NewAuditor(s.Store, s.Logger, reg)
	}
}

// current is the runtime settings in force, from the cache: no database
// round trip on the request path (see ginflix.SettingsCache).
func (s *server) current(ctx context.Context) ginflix.Settings {
	if s.Settings == nil { // Routes() builds a server without dependencies
		return ginflix.DefaultSettings()
	}
	return s.Settings.Current(ctx)
}

// settingsJSON is the settings as the API reads and writes them.
type settingsJSON struct {
	SiteName      string     `json:"siteName"`
	AutoPublish   bool       `json:"autoPublish"`
	Ladder        []int      `json:"ladder"`
	Preset        string     `json:"preset"`
	MaxUploadSize int64      `json:"maxUploadSize"`
	PublicCatalog bool       `json:"publicCatalog"`
	Version       int64      `json:"version"`
	UpdatedAt     *time.Time `json:"updatedAt,omitempty"`
	UpdatedBy     string     `json:"updatedBy,omitempty"`
}

func toSettingsJSON(st ginflix.Settings) settingsJSON {
	l := st.Ladder
	if l == nil {
		l = []int{}
	}
	return settingsJSON{SiteName: st.SiteName, AutoPublish: st.AutoPublish, Ladder: l, Preset: st.Preset,
		MaxUploadSize: st.MaxUploadSize, PublicCatalog: st.PublicCatalog, Version: st.Version,
		UpdatedAt: st.UpdatedAt, UpdatedBy: st.UpdatedBy}
}

// settingsLimits tells a form what Validate accepts, so it can check
// before sending.
type settingsLimits struct {
	MaxSiteNameLength int      `json:"maxSiteNameLength"`
	MinRungHeight     int      `json:"minRungHeight"`
	MaxRungHeight     int      `json:"maxRungHeight"`
	MaxLadderRungs    int      `json:"maxLadderRungs"`
	MinUploadSize     int64    `json:"minUploadSize"`
	MaxUploadSize     int64    `json:"maxUploadSize"`
	Presets           []string `json:"presets"`
}

type settingsPage struct {
	Settings settingsJSON `json:"settings"`
	// Defaults are the configuration's values, in force while nothing is
	// stored (version 0).
	Defaults settingsJSON   `json:"defaults"`
	Limits   settingsLimits `json:"limits"`
	// RefreshSeconds is how long other replicas may take to apply a change.
	RefreshSeconds float64 `json:"refreshSeconds"`
}

func (s *server) settingsPage(st ginflix.Settings) settingsPage {
	return settingsPage{
		Settings: toSettingsJSON(st),
		Defaults: toSettingsJSON(s.Settings.Defaults()),
		Limits: settingsLimits{
			MaxSiteNameLength: ginflix.MaxSiteNameLen, MinRungHeight: ginflix.MinRungHeight, MaxRungHeight: ginflix.MaxRungHeight,
			MaxLadderRungs: ginflix.MaxLadderRungs, MinUploadSize: ginflix.MinUploadLimit, MaxUploadSize: ginflix.MaxUploadLimit,
			Presets: ginflix.X264Presets,
		},
		RefreshSeconds: s.Settings.TTL().Seconds(),
	}
}

// handleAdminGetSettings reads the store, not the cache: an admin about
// to edit must start from the latest version.
func (s *server) handleAdminGetSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.Settings.Refresh(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.settingsPage(st))
}

// handleAdminPutSettings replaces the settings, if they are still at the
// version the admin loaded (409 otherwise), and records what changed.
func (s *server) handleAdminPutSettings(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SiteName      *string `json:"siteName"`
		AutoPublish   *bool   `json:"autoPublish"`
		Ladder        *[]int  `json:"ladder"`
		Preset        *string `json:"preset"`
		MaxUploadSize *int64  `json:"maxUploadSize"`
		PublicCatalog *bool   `json:"publicCatalog"`
		Version       *int64  `json:"version"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Every field is required: a PUT is the whole form, so a client that
	// forgot one does not reset it silently.
	for _, f := range []struct {
		name string
		set  bool
	}{{"siteName", body.SiteName != nil}, {"autoPublish", body.AutoPublish != nil}, {"ladder", body.Ladder != nil},
		{"preset", body.Preset != nil}, {"maxUploadSize", body.MaxUploadSize != nil}, {"publicCatalog", body.PublicCatalog != nil},
		{"version", body.Version != nil}} {
		if !f.set {
			s.writeError(w, r, ginflix.InvalidParam(f.name, "The field %s is missing.", f.name))
			return
		}
	}
	p := principal(r)
	next := ginflix.Settings{
		SiteName: *body.SiteName, AutoPublish: *body.AutoPublish, Ladder: *body.Ladder, Preset: *body.Preset,
		MaxUploadSize: *body.MaxUploadSize, PublicCatalog: *body.PublicCatalog, Version: *body.Version,
		UpdatedBy: actorName(p),
	}
	if err := next.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	old, err := s.Settings.Refresh(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if old.Version != next.Version {
		s.writeError(w, r, ginflix.SettingsConflict())
		return
	}
	changes := next.Diff(old)
	if len(changes) == 0 {
		writeJSON(w, http.StatusOK, s.settingsPage(old))
		return
	}
	saved, err := s.Store.SaveSettings(r.Context(), &next)
	if err != nil {
		if ginflix.ErrorCode(err) == ginflix.ECONFLICT {
			s.Settings.Refresh(r.Context()) // the next read should be the winner's
		}
		s.writeError(w, r, err)
		return
	}
	s.Settings.Set(*saved)
	s.Audit.Record(r.Context(), p, ginflix.AuditSettingsUpdated, ginflix.TargetSettings, "site", strings.Join(changes, "; "))
	s.Logger.InfoContext(r.Context(), "settings updated", "version", saved.Version, "changes", changes, "by", p.Subject)
	writeJSON(w, http.StatusOK, s.settingsPage(*saved))
}

// actorName is how the audit log and the settings name who acted.
func actorName(p *ginflix.Principal) string {
	switch {
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	default:
		return p.Subject
	}
}
