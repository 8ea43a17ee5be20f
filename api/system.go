package api

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ginflix/ginflix"
)

// ConfigEntry is one setting of the process's configuration as it runs.
type ConfigEntry struct {
	Name  string `json:"name"` // the flag: "max-upload-size"
	Env   string `json:"env"`  // GINFLIX_MAX_UPLOAD_SIZE
	Value string `json:"value"`
	// Source is where the value came from: default, env, file (VAR_FILE),
	// flag, or settings when a runtime setting overrides it.
	Source string `json:"source"`
	// Secret values are masked: "••••••" when set, "" when not.
	Secret bool `json:"secret"`
	// Setting names the runtime setting that overrides this one, if any.
	Setting string `json:"setting,omitempty"`
}

// MaskedValue is what a set secret shows.
const MaskedValue = "••••••"

type componentHealth struct {
	Status    string  `json:"status"` // ok or unreachable
	LatencyMS float64 `json:"latencyMs"`
}

type queueHealth struct {
	componentHealth
	Counts map[ginflix.JobState]int `json:"counts"`
}

type systemJSON struct {
	Config   []ConfigEntry `json:"config"`
	Versions struct {
		Ginflix string `json:"ginflix"`
		Go      string `json:"go"`
		FFmpeg  string `json:"ffmpeg"` // "" when unknown
	} `json:"versions"`
	Health struct {
		Database componentHealth `json:"database"`
		Objects  componentHealth `json:"objects"`
		Queue    queueHealth     `json:"queue"`
	} `json:"health"`
	SettingsRefreshSeconds float64 `json:"settingsRefreshSeconds"`
}

// systemInfo caches what does not change while the process runs.
type systemInfo struct {
	mu     sync.Mutex
	ffmpeg string
}

// ffmpegVersion asks once it answered: the binary does not change under
// a running process, but a failed probe is tried again next time.
func (s *server) ffmpegVersion(ctx context.Context) string {
	if s.FFmpegVersion == nil {
		return ""
	}
	s.sys.mu.Lock()
	defer s.sys.mu.Unlock()
	if s.sys.ffmpeg == "" {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		v, err := s.FFmpegVersion(ctx)
		if err != nil {
			s.Logger.WarnContext(ctx, "asking FFmpeg its version", "err", err)
			return ""
		}
		s.sys.ffmpeg = v
	}
	return s.sys.ffmpeg
}

func timed(ctx context.Context, f func(context.Context) error) componentHealth {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	h := componentHealth{Status: "ok", LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		h.Status = "unreachable"
	}
	return h
}

// handleAdminSystem shows the configuration, versions and the health of
// what the backend depends on. Failures of a dependency are part of the
// answer, not an error: this page is where an admin looks when things break.
func (s *server) handleAdminSystem(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var out systemJSON
	out.Versions.Ginflix, out.Versions.Go, out.Versions.FFmpeg = s.Version, runtime.Version(), s.ffmpegVersion(ctx)
	out.SettingsRefreshSeconds = s.Settings.TTL().Seconds()

	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); out.Health.Database = timed(ctx, s.Store.Ping) }()
	go func() { defer wg.Done(); out.Health.Objects = timed(ctx, s.Objects.Ping) }()
	go func() {
		defer wg.Done()
		out.Health.Queue.componentHealth = timed(ctx, func(ctx context.Context) error {
			c, err := s.Store.CountJobs(ctx)
			out.Health.Queue.Counts = c
			return err
		})
	}()
	wg.Wait()
	for name, h := range map[string]componentHealth{"database": out.Health.Database, "objects": out.Health.Objects, "queue": out.Health.Queue.componentHealth} {
		if h.Status != "ok" {
			s.Logger.WarnContext(ctx, "system check failed", "check", name)
		}
	}
	if out.Health.Queue.Counts == nil {
		out.Health.Queue.Counts = map[ginflix.JobState]int{}
	}

	cur := s.current(ctx)
	out.Config = make([]ConfigEntry, len(s.SystemConfig))
	for i, e := range s.SystemConfig {
		if e.Secret && e.Value != "" {
			e.Value = MaskedValue // whatever the caller passed, a secret never leaves
		}
		if v, ok := settingValue(cur, e.Setting); ok && cur.Version > 0 {
			e.Value, e.Source = v, "settings"
		}
		out.Config[i] = e
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// settingValue formats the runtime setting name as the configuration
// table shows values.
func settingValue(st ginflix.Settings, name string) (string, bool) {
	switch name {
	case "siteName":
		return st.SiteName, true
	case "autoPublish":
		return strconv.FormatBool(st.AutoPublish), true
	case "preset":
		return st.Preset, true
	case "maxUploadSize":
		return formatSize(st.MaxUploadSize), true
	case "publicCatalog":
		return strconv.FormatBool(st.PublicCatalog), true
	}
	return "", false
}

// formatSize writes n as the configuration writes sizes: 20GiB, 500MiB.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
