package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/playback"
	"github.com/ginflix/ginflix/streamer"
)

// Config is every setting of "ginflix serve", from flags and GINFLIX_*
// environment variables (flags win). Secrets also read VAR_FILE.
type Config struct {
	Addr      string
	DataDir   string
	PublicURL string
	Roles     []string

	MongoDBURI      string
	MongoDBDatabase string

	Storage     string // "filesystem" or "s3"
	S3Endpoint  string
	S3Bucket    string
	S3Region    string
	S3AccessKey string
	S3SecretKey string
	S3PathStyle bool
	S3UseSSL    bool

	// Identity: an external issuer (Keycloak), or the built-in provider.
	OIDCIssuer             string
	OIDCAudience           string
	OIDCClientID           string
	OIDCRolesClaim         string
	OIDCRedirectURIs       []string
	AdminRole              string
	ViewerRole             string
	PublicCatalog          bool
	AutomationClientID     string
	AutomationClientSecret string
	AdminEmail             string

	// Transcoding workers (backend role).
	Workers      int
	JobLeaseTTL  time.Duration
	AutoPublish  bool
	Demo         bool
	FFmpegPath   string
	FFprobePath  string
	FFmpegPreset string
	TempDir      string

	// Streamer role and playback tokens.
	PlaybackKeys      string
	StreamerCacheSize int64
	StreamerRateLimit int64
	// StreamerUnsentLimit is the TCP_NOTSENT_LOWAT of the connections the
	// streamer role accepts (streamer.Listener).
	StreamerUnsentLimit int64
	CORSOrigins         []string

	ProductName        string
	StreamerURL        string
	MaxUploadSize      int64
	UploadExtensions   []string
	UploadAbandonAfter time.Duration
	TrustForwarded     bool
	CatalogCacheTTL    time.Duration
	ViewThreshold      time.Duration // playback analytics: analytics.go
	EventRetention     time.Duration
	EventsPerMinute    int
	EventsBurst        int
	CountryHeader      string
	TrustedProxies     []string
	LogLevel           string
	LogFormat          string
	ShutdownTimeout    time.Duration
	// SettingsTTL is how long a backend reuses the runtime settings before
	// reading them again: a change made through another replica applies
	// here within this long.
	SettingsTTL time.Duration

	// sources records where each setting came from, by flag name: env,
	// file or flag (default when absent).
	sources map[string]string
}

// knownRoles are the roles a process can take, one-to-one with the seed's
// Deployments: backend (API + transcoding), streamer, web (front ends).
var knownRoles = []string{"backend", "streamer", "web"}

// setting binds one flag and its environment variable to a Config field.
type setting struct {
	flag, env, usage string
	secret           bool
	value            flag.Value
}

func (c *Config) settings() []setting {
	return []setting{
		{"addr", "GINFLIX_ADDR", "address to listen on", false, (*stringValue)(&c.Addr)},
		{"data", "GINFLIX_DATA_DIR", "data directory: SQLite database and local object store", false, (*stringValue)(&c.DataDir)},
		{"public-url", "GINFLIX_PUBLIC_URL", "URL users reach Ginflix at (default http://ADDR)", false, (*stringValue)(&c.PublicURL)},
		{"roles", "GINFLIX_ROLES", "comma-separated roles to run: backend, streamer, web (default: all)", false, (*listValue)(&c.Roles)},
		{"mongodb-uri", "GINFLIX_MONGODB_URI", "MongoDB connection string; empty uses the embedded SQLite database", true, (*stringValue)(&c.MongoDBURI)},
		{"mongodb-database", "GINFLIX_MONGODB_DATABASE", "MongoDB database name", false, (*stringValue)(&c.MongoDBDatabase)},
		{"storage", "GINFLIX_STORAGE", "object store: filesystem (under the data directory) or s3", false, (*stringValue)(&c.Storage)},
		{"s3-endpoint", "GINFLIX_S3_ENDPOINT", "S3 endpoint, host:port or URL (https:// turns TLS on)", false, (*stringValue)(&c.S3Endpoint)},
		{"s3-bucket", "GINFLIX_S3_BUCKET", "S3 bucket", false, (*stringValue)(&c.S3Bucket)},
		{"s3-region", "GINFLIX_S3_REGION", "S3 region", false, (*stringValue)(&c.S3Region)},
		{"s3-access-key", "GINFLIX_S3_ACCESS_KEY", "S3 access key id", true, (*stringValue)(&c.S3AccessKey)},
		{"s3-secret-key", "GINFLIX_S3_SECRET_KEY", "S3 secret access key", true, (*stringValue)(&c.S3SecretKey)},
		{"s3-path-style", "GINFLIX_S3_PATH_STYLE", "path-style bucket addressing (Garage, most self-hosted S3); false for virtual-host style", false, (*boolValue)(&c.S3PathStyle)},
		{"s3-use-ssl", "GINFLIX_S3_USE_SSL", "use TLS to reach S3 when the endpoint has no scheme", false, (*boolValue)(&c.S3UseSSL)},
		{"oidc-issuer", "GINFLIX_OIDC_ISSUER", "external OpenID issuer URL (Keycloak: https://HOST/realms/ginflix); empty runs the built-in provider at PUBLIC_URL/oidc", false, (*stringValue)(&c.OIDCIssuer)},
		{"oidc-audience", "GINFLIX_OIDC_AUDIENCE", "audience access tokens must carry", false, (*stringValue)(&c.OIDCAudience)},
		{"oidc-client-id", "GINFLIX_OIDC_CLIENT_ID", "public client the web apps sign in with (code + PKCE)", false, (*stringValue)(&c.OIDCClientID)},
		{"oidc-roles-claim", "GINFLIX_OIDC_ROLES_CLAIM", "dotted path of the roles array in access tokens", false, (*stringValue)(&c.OIDCRolesClaim)},
		{"oidc-redirect-uris", "GINFLIX_OIDC_REDIRECT_URIS", "built-in provider: extra redirect URIs of the web client, comma-separated", false, (*listValue)(&c.OIDCRedirectURIs)},
		{"admin-role", "GINFLIX_ADMIN_ROLE", "role that administers Ginflix", false, (*stringValue)(&c.AdminRole)},
		{"viewer-role", "GINFLIX_VIEWER_ROLE", "role that may watch", false, (*stringValue)(&c.ViewerRole)},
		{"public-catalog", "GINFLIX_PUBLIC_CATALOG", "let anonymous visitors browse the catalogue", false, (*boolValue)(&c.PublicCatalog)},
		{"automation-client-id", "GINFLIX_AUTOMATION_CLIENT_ID", "built-in provider: confidential client for scripts (client credentials, admin role)", false, (*stringValue)(&c.AutomationClientID)},
		{"automation-client-secret", "GINFLIX_AUTOMATION_CLIENT_SECRET", "its secret", true, (*stringValue)(&c.AutomationClientSecret)},
		{"admin-email", "GINFLIX_ADMIN_EMAIL", "built-in provider: email of the admin created on a first start", false, (*stringValue)(&c.AdminEmail)},
		{"workers", "GINFLIX_WORKERS", "transcoding jobs run at once by this process (0: none, an API-only backend)", false, (*intValue)(&c.Workers)},
		{"job-lease-ttl", "GINFLIX_JOB_LEASE_TTL", "how long a job stays with a worker that stopped answering before another takes it", false, (*durationValue)(&c.JobLeaseTTL)},
		{"demo", "GINFLIX_DEMO", "on a first start with an empty catalogue, add and publish a few generated sample videos", false, (*boolValue)(&c.Demo)},
		{"auto-publish", "GINFLIX_AUTO_PUBLISH", "publish videos as soon as they are ready, instead of holding them as drafts", false, (*boolValue)(&c.AutoPublish)},
		{"ffmpeg", "GINFLIX_FFMPEG", "FFmpeg executable", false, (*stringValue)(&c.FFmpegPath)},
		{"ffprobe", "GINFLIX_FFPROBE", "ffprobe executable", false, (*stringValue)(&c.FFprobePath)},
		{"ffmpeg-preset", "GINFLIX_FFMPEG_PRESET", "libx264 preset (ultrafast … veryslow)", false, (*stringValue)(&c.FFmpegPreset)},
		{"temp-dir", "GINFLIX_TEMP_DIR", "scratch space for transcoding (default DATA/tmp)", false, (*stringValue)(&c.TempDir)},
		{"playback-keys", "GINFLIX_PLAYBACK_KEYS", "HMAC keys shared by backend and streamer, \"kid:base64secret,...\", the first signs (default: one generated in the data directory)", true, (*stringValue)(&c.PlaybackKeys)},
		{"streamer-cache-size", "GINFLIX_STREAMER_CACHE_SIZE", "memory the streamer caches playlists, segments and images in", false, (*sizeValue)(&c.StreamerCacheSize)},
		{"streamer-rate-limit", "GINFLIX_STREAMER_RATE_LIMIT", "bytes per second one connection may receive from the streamer (0: no cap)", false, (*sizeValue)(&c.StreamerRateLimit)},
		{"streamer-unsent-limit", "GINFLIX_STREAMER_UNSENT_LIMIT", "bytes a connection may hold written but not yet sent (TCP_NOTSENT_LOWAT, Linux; 0: the kernel's default)", false, (*sizeValue)(&c.StreamerUnsentLimit)},
		{"cors-origins", "GINFLIX_CORS_ORIGINS", "origins of the web apps allowed to read the streamer (default: the public URL's)", false, (*listValue)(&c.CORSOrigins)},
		{"product-name", "GINFLIX_PRODUCT_NAME", "name the web apps show", false, (*stringValue)(&c.ProductName)},
		{"streamer-url", "GINFLIX_STREAMER_URL", "base URL of the streamer or of a CDN in front of it (default PUBLIC_URL/stream)", false, (*stringValue)(&c.StreamerURL)},
		{"max-upload-size", "GINFLIX_MAX_UPLOAD_SIZE", "largest accepted upload, e.g. 20GiB, 500MB", false, (*sizeValue)(&c.MaxUploadSize)},
		{"upload-extensions", "GINFLIX_UPLOAD_EXTENSIONS", "accepted containers by file extension, comma-separated (default mp4, mov, mkv, webm, ...)", false, (*listValue)(&c.UploadExtensions)},
		{"upload-abandon-after", "GINFLIX_UPLOAD_ABANDON_AFTER", "an unfinished upload with no progress for this long is deleted", false, (*durationValue)(&c.UploadAbandonAfter)},
		{"trust-forwarded", "GINFLIX_TRUST_FORWARDED", "trust X-Forwarded-Host/-Proto from the proxy in front (never when clients reach Ginflix directly)", false, (*boolValue)(&c.TrustForwarded)},
		{"catalog-cache-ttl", "GINFLIX_CATALOG_CACHE_TTL", "how long catalogue answers are reused (0 turns the cache off)", false, (*durationValue)(&c.CatalogCacheTTL)},
		{"view-threshold", "GINFLIX_VIEW_THRESHOLD", "watched time after which a playback session counts one view", false, (*durationValue)(&c.ViewThreshold)},
		{"event-retention", "GINFLIX_EVENT_RETENTION", "how long raw playback events and sessions are kept (hourly aggregates are kept forever)", false, (*durationValue)(&c.EventRetention)},
		{"playback-events-per-minute", "GINFLIX_PLAYBACK_EVENTS_PER_MINUTE", "event batches one user may post per minute, per backend (token bucket rate)", false, (*intValue)(&c.EventsPerMinute)},
		{"playback-events-burst", "GINFLIX_PLAYBACK_EVENTS_BURST", "event batches one user may post at once (token bucket size)", false, (*intValue)(&c.EventsBurst)},
		{"country-header", "GINFLIX_COUNTRY_HEADER", "header the proxy or CDN sets to the viewer's ISO country code, e.g. CF-IPCountry (empty: no geography)", false, (*stringValue)(&c.CountryHeader)},
		{"trusted-proxies", "GINFLIX_TRUSTED_PROXIES", "addresses or CIDRs of the proxies whose country header is believed, comma-separated", false, (*listValue)(&c.TrustedProxies)},
		{"log-level", "GINFLIX_LOG_LEVEL", "debug, info, warn or error", false, (*stringValue)(&c.LogLevel)},
		{"log-format", "GINFLIX_LOG_FORMAT", "json, text, or auto (text on a terminal, JSON otherwise)", false, (*stringValue)(&c.LogFormat)},
		{"shutdown-timeout", "GINFLIX_SHUTDOWN_TIMEOUT", "how long in-flight requests get to finish on SIGTERM", false, (*durationValue)(&c.ShutdownTimeout)},
		{"settings-ttl", "GINFLIX_SETTINGS_TTL", "how long a backend reuses the runtime settings an admin changes before reading them again (other replicas apply a change within this)", false, (*durationValue)(&c.SettingsTTL)},
	}
}

func defaultConfig() Config {
	return Config{
		Addr:                "127.0.0.1:8080",
		DataDir:             "./data",
		MongoDBDatabase:     "ginflix",
		Storage:             "filesystem",
		S3Region:            "us-east-1",
		S3PathStyle:         true,
		OIDCAudience:        "ginflix",
		OIDCClientID:        "ginflix-web",
		OIDCRolesClaim:      "realm_access.roles",
		AdminRole:           "ginflix-admin",
		ViewerRole:          "ginflix-user",
		AdminEmail:          "admin@ginflix.local",
		ProductName:         "Ginflix",
		StreamerCacheSize:   256 << 20,
		StreamerUnsentLimit: streamer.DefaultUnsentLimit,
		Workers:             1,
		JobLeaseTTL:         time.Minute,
		FFmpegPath:          "ffmpeg",
		FFprobePath:         "ffprobe",
		FFmpegPreset:        "veryfast",
		MaxUploadSize:       20 << 30,
		UploadAbandonAfter:  24 * time.Hour,
		CatalogCacheTTL:     2 * time.Second,
		ViewThreshold:       ginflix.DefaultViewThreshold,
		EventRetention:      ginflix.DefaultEventRetention,
		EventsPerMinute:     api.DefaultBatchesPerMinute,
		EventsBurst:         api.DefaultBatchBurst,
		LogLevel:            "info",
		LogFormat:           "auto",
		ShutdownTimeout:     30 * time.Second,
		SettingsTTL:         ginflix.DefaultSettingsTTL,
	}
}

// loadConfig reads defaults, then the environment, then flags, and
// validates the result. --help prints the settings and returns flag.ErrHelp.
func loadConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	c := defaultConfig()
	c.sources = map[string]string{}
	settings := c.settings()
	fs := flag.NewFlagSet("ginflix serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	defaults := map[string]string{}
	var envErrs []error // reported with the validation errors, all at once
	for _, s := range settings {
		defaults[s.flag] = s.value.String()
		if src, err := s.fromEnv(getenv); err != nil {
			envErrs = append(envErrs, err)
		} else if src != "" {
			c.sources[s.flag] = src
		}
		fs.Var(s.value, s.flag, s.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, settings, defaults)
			return c, err
		}
		return c, fmt.Errorf("%w (see ginflix serve --help)", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (see ginflix serve --help)", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { c.sources[f.Name] = "flag" })
	return c, c.validate(envErrs...)
}

// fromEnv sets s from VAR, or for a secret from the file VAR_FILE names,
// and says which ("env", "file"; "" when neither is set).
func (s setting) fromEnv(getenv func(string) string) (string, error) {
	v, file := getenv(s.env), ""
	if s.secret {
		file = getenv(s.env + "_FILE")
	}
	src := "env"
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("both %s and %s_FILE are set: set one", s.env, s.env)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", s.env, err)
		}
		v = strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_FILE: %s is empty", s.env, file)
		}
		src = "file"
	case v == "":
		return "", nil
	}
	if err := s.value.Set(v); err != nil {
		return "", fmt.Errorf("%s: %w", s.env, err)
	}
	return src, nil
}

func printHelp(w io.Writer, settings []setting, defaults map[string]string) {
	fmt.Fprint(w, "Usage: ginflix serve [flags]\n\nRuns Ginflix. Every flag has an environment variable; flags win.\nSecrets (marked *) can also be read from a file named by VAR_FILE.\n\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, s := range settings {
		env := s.env
		if s.secret {
			env += " *"
		}
		def := defaults[s.flag]
		if s.secret || def == "" {
			def = ""
		} else {
			def = " (default " + def + ")"
		}
		fmt.Fprintf(tw, "  --%s\t%s\t%s%s\n", s.flag, env, s.usage, def)
	}
	tw.Flush()
}

func (c *Config) validate(errs ...error) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("GINFLIX_ADDR %q is not host:port", c.Addr))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("GINFLIX_DATA_DIR is empty"))
	}
	if host, port, err := net.SplitHostPort(c.Addr); err == nil && c.PublicURL == "" {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "localhost" // listening everywhere: this machine at least reaches it so
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("GINFLIX_PUBLIC_URL %q is not an http(s) URL", c.PublicURL))
	} else {
		c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	}
	if len(c.Roles) == 0 || slices.Equal(c.Roles, []string{"all"}) {
		c.Roles = slices.Clone(knownRoles)
	}
	for _, r := range c.Roles {
		if !slices.Contains(knownRoles, r) {
			errs = append(errs, fmt.Errorf("GINFLIX_ROLES: unknown role %q (roles: %s)", r, strings.Join(knownRoles, ", ")))
		}
	}
	if c.MongoDBURI != "" && !strings.HasPrefix(c.MongoDBURI, "mongodb://") && !strings.HasPrefix(c.MongoDBURI, "mongodb+srv://") {
		errs = append(errs, errors.New("GINFLIX_MONGODB_URI must start with mongodb:// or mongodb+srv://"))
	}
	switch c.Storage {
	case "filesystem":
	case "s3":
		// A slice, not a map: the message lists them in a stable order.
		for _, r := range []struct{ env, v string }{{"GINFLIX_S3_ENDPOINT", c.S3Endpoint}, {"GINFLIX_S3_BUCKET", c.S3Bucket},
			{"GINFLIX_S3_ACCESS_KEY", c.S3AccessKey}, {"GINFLIX_S3_SECRET_KEY", c.S3SecretKey}} {
			if r.v == "" {
				errs = append(errs, fmt.Errorf("%s is required with GINFLIX_STORAGE=s3", r.env))
			}
		}
		if strings.HasPrefix(c.S3Endpoint, "https://") {
			c.S3UseSSL, c.S3Endpoint = true, strings.TrimPrefix(c.S3Endpoint, "https://")
		} else if strings.HasPrefix(c.S3Endpoint, "http://") {
			c.S3UseSSL, c.S3Endpoint = false, strings.TrimPrefix(c.S3Endpoint, "http://")
		}
		c.S3Endpoint = strings.TrimSuffix(c.S3Endpoint, "/")
	default:
		errs = append(errs, fmt.Errorf("GINFLIX_STORAGE %q: use filesystem or s3", c.Storage))
	}
	for env, v := range map[string]string{"GINFLIX_OIDC_ISSUER": c.OIDCIssuer, "GINFLIX_STREAMER_URL": c.StreamerURL} {
		if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", env, v))
		}
	}
	c.OIDCIssuer, c.StreamerURL = strings.TrimSuffix(c.OIDCIssuer, "/"), strings.TrimSuffix(c.StreamerURL, "/")
	for _, uri := range c.OIDCRedirectURIs {
		if u, err := url.Parse(uri); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("GINFLIX_OIDC_REDIRECT_URIS: %q is not an absolute http(s) URL without fragment", uri))
		}
	}
	for env, v := range map[string]string{"GINFLIX_OIDC_AUDIENCE": c.OIDCAudience, "GINFLIX_OIDC_CLIENT_ID": c.OIDCClientID,
		"GINFLIX_OIDC_ROLES_CLAIM": c.OIDCRolesClaim, "GINFLIX_ADMIN_ROLE": c.AdminRole, "GINFLIX_VIEWER_ROLE": c.ViewerRole} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty", env))
		}
	}
	if c.AdminRole != "" && c.AdminRole == c.ViewerRole {
		errs = append(errs, errors.New("GINFLIX_ADMIN_ROLE and GINFLIX_VIEWER_ROLE must differ"))
	}
	if (c.AutomationClientID == "") != (c.AutomationClientSecret == "") {
		errs = append(errs, errors.New("GINFLIX_AUTOMATION_CLIENT_ID and GINFLIX_AUTOMATION_CLIENT_SECRET go together"))
	}
	if c.AutomationClientSecret != "" && len(c.AutomationClientSecret) < 16 {
		errs = append(errs, errors.New("GINFLIX_AUTOMATION_CLIENT_SECRET must be at least 16 characters"))
	}
	if c.OIDCIssuer != "" && c.AutomationClientID != "" {
		errs = append(errs, errors.New("GINFLIX_AUTOMATION_CLIENT_ID is for the built-in provider; with GINFLIX_OIDC_ISSUER, create the client in that provider"))
	}
	if c.JobLeaseTTL < time.Second {
		errs = append(errs, errors.New("GINFLIX_JOB_LEASE_TTL must be at least 1s"))
	}
	if c.Workers < 0 || c.Workers > 64 {
		errs = append(errs, errors.New("GINFLIX_WORKERS must be between 0 and 64"))
	}
	if !slices.Contains(ginflix.X264Presets, c.FFmpegPreset) {
		errs = append(errs, fmt.Errorf("GINFLIX_FFMPEG_PRESET %q is not a libx264 preset", c.FFmpegPreset))
	}
	if c.UploadAbandonAfter < time.Minute {
		errs = append(errs, errors.New("GINFLIX_UPLOAD_ABANDON_AFTER must be at least 1m"))
	}
	for _, ext := range c.UploadExtensions {
		if strings.ContainsAny(ext, "./\\ ") || ext == "" {
			errs = append(errs, fmt.Errorf("GINFLIX_UPLOAD_EXTENSIONS: %q is not an extension like mp4", ext))
		}
	}
	if c.PlaybackKeys != "" {
		if _, err := playback.ParseKeys(c.PlaybackKeys); err != nil {
			errs = append(errs, fmt.Errorf("GINFLIX_PLAYBACK_KEYS: %w", err))
		}
	} else if c.hasRole("backend") != c.hasRole("streamer") {
		errs = append(errs, errors.New("GINFLIX_PLAYBACK_KEYS must be set, the same on backend and streamer, when they run as separate processes"))
	}
	if c.MaxUploadSize <= 0 {
		errs = append(errs, errors.New("GINFLIX_MAX_UPLOAD_SIZE must be positive"))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		errs = append(errs, fmt.Errorf("GINFLIX_LOG_LEVEL %q: use debug, info, warn or error", c.LogLevel))
	}
	if !slices.Contains([]string{"auto", "json", "text"}, c.LogFormat) {
		errs = append(errs, fmt.Errorf("GINFLIX_LOG_FORMAT %q: use auto, json or text", c.LogFormat))
	}
	errs = append(errs, c.validateAnalytics()...)
	if c.CatalogCacheTTL < 0 {
		errs = append(errs, errors.New("GINFLIX_CATALOG_CACHE_TTL must not be negative"))
	}
	if c.StreamerUnsentLimit != 0 && (c.StreamerUnsentLimit < 4<<10 || c.StreamerUnsentLimit > 64<<20) {
		errs = append(errs, errors.New("GINFLIX_STREAMER_UNSENT_LIMIT must be 0 (the kernel's default) or between 4KiB and 64MiB"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("GINFLIX_SHUTDOWN_TIMEOUT must be positive"))
	}
	if c.SettingsTTL < 100*time.Millisecond || c.SettingsTTL > 10*time.Minute {
		errs = append(errs, errors.New("GINFLIX_SETTINGS_TTL must be between 100ms and 10m"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %w", joinIndented(errs))
	}
	return nil
}

// runtimeSettings maps the settings an admin may change at run time (see
// ginflix.Settings) to the configuration that gives their default.
var runtimeSettings = map[string]string{
	"product-name":    "siteName",
	"auto-publish":    "autoPublish",
	"ffmpeg-preset":   "preset",
	"max-upload-size": "maxUploadSize",
	"public-catalog":  "publicCatalog",
}

// RuntimeDefaults are the runtime settings this configuration gives, in
// force until an admin saves some (the database wins from then on).
func (c *Config) RuntimeDefaults() ginflix.Settings {
	s := ginflix.DefaultSettings()
	s.SiteName, s.AutoPublish, s.Preset = c.ProductName, c.AutoPublish, c.FFmpegPreset
	s.MaxUploadSize, s.PublicCatalog = c.MaxUploadSize, c.PublicCatalog
	return s
}

// Effective lists every setting with its value and where it came from,
// for the admin's system page. Secrets are masked here, so they never
// reach the API.
func (c *Config) Effective() []api.ConfigEntry {
	settings := c.settings()
	out := make([]api.ConfigEntry, 0, len(settings))
	for _, s := range settings {
		e := api.ConfigEntry{Name: s.flag, Env: s.env, Value: s.value.String(), Source: "default", Secret: s.secret,
			Setting: runtimeSettings[s.flag]}
		if src := c.sources[s.flag]; src != "" {
			e.Source = src
		}
		if s.secret && e.Value != "" {
			e.Value = api.MaskedValue
		}
		out = append(out, e)
	}
	return out
}

func joinIndented(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

func (c *Config) hasRole(r string) bool { return slices.Contains(c.Roles, r) }

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(strings.TrimSpace(s)); return nil }

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 5m", s)
	}
	*v = durationValue(d)
	return nil
}

type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	*v = out
	return nil
}

// sizeValue parses byte sizes: 1048576, 500MB, 20GiB.
type sizeValue int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (v *sizeValue) String() string {
	n := int64(*v)
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

func (v *sizeValue) Set(s string) error {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size like 20GiB or 500MB", s)
	}
	*v = sizeValue(n * mult)
	return nil
}
