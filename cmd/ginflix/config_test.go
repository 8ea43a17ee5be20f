package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// envOf is a getenv that sees only m, never the process environment.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	return loadConfig(args, envOf(env), io.Discard)
}

func mustLoad(t *testing.T, args []string, env map[string]string) Config {
	t.Helper()
	c, err := load(t, args, env)
	if err != nil {
		t.Fatalf("loadConfig(%q, %v): %v", args, env, err)
	}
	return c
}

// wantErr checks err is non-nil and contains every one of subs.
func wantErr(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	c := mustLoad(t, nil, nil)
	want := Config{
		Addr:                "127.0.0.1:8080",
		DataDir:             "./data",
		PublicURL:           "http://127.0.0.1:8080",
		Roles:               []string{"backend"},
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
		StreamerUnsentLimit: 128 << 10,
		Workers:             1,
		JobLeaseTTL:         time.Minute,
		FFmpegPath:          "ffmpeg",
		FFprobePath:         "ffprobe",
		FFmpegPreset:        "veryfast",
		MaxUploadSize:       20 << 30,
		UploadAbandonAfter:  24 * time.Hour,
		CatalogCacheTTL:     2 * time.Second,
		ViewThreshold:       10 * time.Second,
		EventRetention:      30 * 24 * time.Hour,
		EventsPerMinute:     30,
		EventsBurst:         10,
		LogLevel:            "info",
		LogFormat:           "auto",
		ShutdownTimeout:     30 * time.Second,
		SettingsTTL:         5 * time.Second,
	}
	want.Roles = []string{"backend", "streamer", "web"}
	if !slices.Equal(c.Roles, want.Roles) {
		t.Errorf("Roles = %q, want %q", c.Roles, want.Roles)
	}
	if !c.hasRole("backend") || !c.hasRole("web") || c.hasRole("bogus") {
		t.Errorf("hasRole: backend=%v web=%v bogus=%v, want true true false", c.hasRole("backend"), c.hasRole("web"), c.hasRole("bogus"))
	}
	c.Roles, want.Roles = nil, nil
	if len(c.sources) != 0 {
		t.Errorf("nothing was set, yet sources = %v", c.sources)
	}
	c.sources = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestConfigPublicURL(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"derived from flag addr", []string{"--addr", "127.0.0.2:9000"}, nil, "http://127.0.0.2:9000"},
		{"wildcard addr becomes localhost", []string{"--addr", "0.0.0.0:9000"}, nil, "http://localhost:9000"},
		{"empty host becomes localhost", []string{"--addr", ":9000"}, nil, "http://localhost:9000"},
		{"IPv6 addr bracketed", []string{"--addr", "[::1]:9000"}, nil, "http://[::1]:9000"},
		{"derived from env addr", nil, map[string]string{"GINFLIX_ADDR": "127.0.0.1:9001"}, "http://127.0.0.1:9001"},
		{"explicit wins over derivation", []string{"--addr", "127.0.0.1:9002", "--public-url", "https://tube.example.com"}, nil, "https://tube.example.com"},
		{"trailing slash trimmed", nil, map[string]string{"GINFLIX_PUBLIC_URL": "https://tube.example.com/"}, "https://tube.example.com"},
		{"path kept", []string{"--public-url", "https://example.com/tube/"}, nil, "https://example.com/tube"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustLoad(t, tt.args, tt.env).PublicURL; got != tt.want {
				t.Errorf("PublicURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigEnvAndFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Config) bool
		want  string
	}{
		{"env sets addr", nil, map[string]string{"GINFLIX_ADDR": "127.0.0.1:9999"},
			func(c Config) bool { return c.Addr == "127.0.0.1:9999" }, "Addr 127.0.0.1:9999"},
		{"flag overrides env", []string{"--addr", "127.0.0.1:7777"}, map[string]string{"GINFLIX_ADDR": "127.0.0.1:9999"},
			func(c Config) bool { return c.Addr == "127.0.0.1:7777" }, "Addr 127.0.0.1:7777"},
		{"flag with = form", []string{"--data=/srv/ginflix"}, map[string]string{"GINFLIX_DATA_DIR": "/env/dir"},
			func(c Config) bool { return c.DataDir == "/srv/ginflix" }, "DataDir /srv/ginflix"},
		{"single dash flag", []string{"-data", "/srv/one"}, nil,
			func(c Config) bool { return c.DataDir == "/srv/one" }, "DataDir /srv/one"},
		{"env value trimmed", nil, map[string]string{"GINFLIX_LOG_LEVEL": "  debug \n"},
			func(c Config) bool { return c.LogLevel == "debug" }, "LogLevel debug"},
		{"env sets secret directly", nil, map[string]string{"GINFLIX_MONGODB_URI": "mongodb://db:27017"},
			func(c Config) bool { return c.MongoDBURI == "mongodb://db:27017" }, "MongoDBURI mongodb://db:27017"},
		{"flag overrides env bool", []string{"--s3-path-style=false"}, map[string]string{"GINFLIX_S3_PATH_STYLE": "true"},
			func(c Config) bool { return !c.S3PathStyle }, "S3PathStyle false"},
		{"flag overrides env size", []string{"--max-upload-size", "1GiB"}, map[string]string{"GINFLIX_MAX_UPLOAD_SIZE": "5GiB"},
			func(c Config) bool { return c.MaxUploadSize == 1<<30 }, "MaxUploadSize 1GiB"},
		{"flag overrides env duration", []string{"--shutdown-timeout", "3s"}, map[string]string{"GINFLIX_SHUTDOWN_TIMEOUT": "1m"},
			func(c Config) bool { return c.ShutdownTimeout == 3*time.Second }, "ShutdownTimeout 3s"},
		{"empty env is unset", nil, map[string]string{"GINFLIX_ADDR": ""},
			func(c Config) bool { return c.Addr == "127.0.0.1:8080" }, "Addr default"},
		{"non-secret _FILE ignored", nil, map[string]string{"GINFLIX_ADDR_FILE": "/does/not/exist"},
			func(c Config) bool { return c.Addr == "127.0.0.1:8080" }, "Addr default, _FILE not read"},
		{"log format json", nil, map[string]string{"GINFLIX_LOG_FORMAT": "json"},
			func(c Config) bool { return c.LogFormat == "json" }, "LogFormat json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.args, tt.env)
			if !tt.check(c) {
				t.Errorf("want %s, got %+v", tt.want, c)
			}
		})
	}
}

func TestConfigSecretFromFile(t *testing.T) {
	tests := []struct {
		env, content, want string
		field              func(Config) string
	}{
		{"GINFLIX_S3_SECRET_KEY", "s3cr3t\n", "s3cr3t", func(c Config) string { return c.S3SecretKey }},
		{"GINFLIX_S3_SECRET_KEY", "s3cr3t\r\n", "s3cr3t", func(c Config) string { return c.S3SecretKey }},
		{"GINFLIX_S3_SECRET_KEY", "no-newline", "no-newline", func(c Config) string { return c.S3SecretKey }},
		{"GINFLIX_S3_SECRET_KEY", "two\n\n", "two", func(c Config) string { return c.S3SecretKey }},
		{"GINFLIX_S3_ACCESS_KEY", "AKID\n", "AKID", func(c Config) string { return c.S3AccessKey }},
		{"GINFLIX_MONGODB_URI", "mongodb://user:pw@db:27017/?authSource=admin\n", "mongodb://user:pw@db:27017/?authSource=admin",
			func(c Config) string { return c.MongoDBURI }},
	}
	for _, tt := range tests {
		t.Run(tt.env+"/"+strings.ReplaceAll(tt.content, "\n", `\n`), func(t *testing.T) {
			p := writeFile(t, "secret", tt.content)
			c := mustLoad(t, nil, map[string]string{tt.env + "_FILE": p})
			if got := tt.field(c); got != tt.want {
				t.Errorf("%s from file = %q, want %q", tt.env, got, tt.want)
			}
		})
	}

	t.Run("flag overrides file", func(t *testing.T) {
		p := writeFile(t, "secret", "from-file\n")
		c := mustLoad(t, []string{"--s3-secret-key", "from-flag"}, map[string]string{"GINFLIX_S3_SECRET_KEY_FILE": p})
		if c.S3SecretKey != "from-flag" {
			t.Errorf("S3SecretKey = %q, want from-flag", c.S3SecretKey)
		}
	})
}

func TestConfigSecretFileErrors(t *testing.T) {
	good := writeFile(t, "good", "value\n")
	tests := []struct {
		name string
		env  map[string]string
		subs []string
	}{
		{"both set", map[string]string{"GINFLIX_S3_SECRET_KEY": "x", "GINFLIX_S3_SECRET_KEY_FILE": good},
			[]string{"GINFLIX_S3_SECRET_KEY ", "GINFLIX_S3_SECRET_KEY_FILE"}},
		{"both set mongodb", map[string]string{"GINFLIX_MONGODB_URI": "mongodb://a", "GINFLIX_MONGODB_URI_FILE": good},
			[]string{"GINFLIX_MONGODB_URI ", "GINFLIX_MONGODB_URI_FILE"}},
		{"missing file", map[string]string{"GINFLIX_S3_SECRET_KEY_FILE": filepath.Join(t.TempDir(), "nope")},
			[]string{"GINFLIX_S3_SECRET_KEY_FILE", "nope"}},
		{"empty file", map[string]string{"GINFLIX_MONGODB_URI_FILE": writeFile(t, "empty", "")},
			[]string{"GINFLIX_MONGODB_URI_FILE", "empty"}},
		{"newline-only file", map[string]string{"GINFLIX_S3_SECRET_KEY_FILE": writeFile(t, "nl", "\n")},
			[]string{"GINFLIX_S3_SECRET_KEY_FILE", "empty"}},
		{"directory", map[string]string{"GINFLIX_S3_ACCESS_KEY_FILE": t.TempDir()},
			[]string{"GINFLIX_S3_ACCESS_KEY_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, nil, tt.env)
			wantErr(t, err, tt.subs...)
			if strings.Contains(err.Error(), "value") {
				t.Errorf("error %q leaks the secret", err)
			}
		})
	}
}

func TestConfigSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: error expected
	}{
		{"20GiB", 20 << 30},
		{"20gib", 20 << 30},
		{"500MB", 500_000_000},
		{"500MiB", 500 << 20},
		{"1048576", 1 << 20},
		{"1KiB", 1024},
		{"3KB", 3000},
		{"2TiB", 2 << 40},
		{"1TB", 1_000_000_000_000},
		{"100B", 100},
		{" 2 GiB ", 2 << 30},
		{"12XB", 0},
		{"GiB", 0},
		{"1.5GiB", 0},
		{"-1", 0},
		{"-5MB", 0},
		{"abc", 0},
		{"9999999999TiB", 0}, // overflows int64
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			for _, via := range []string{"env", "flag"} {
				var c Config
				var err error
				if via == "env" {
					c, err = load(t, nil, map[string]string{"GINFLIX_MAX_UPLOAD_SIZE": tt.in})
				} else {
					c, err = load(t, []string{"--max-upload-size", tt.in}, nil)
				}
				if tt.want == 0 {
					if err == nil {
						t.Errorf("%s %q: got %d, want an error", via, tt.in, c.MaxUploadSize)
					} else if !strings.Contains(err.Error(), tt.in) {
						t.Errorf("%s %q: error %q does not quote the value", via, tt.in, err)
					}
					if via == "env" {
						wantErr(t, err, "GINFLIX_MAX_UPLOAD_SIZE")
					}
					continue
				}
				if err != nil {
					t.Errorf("%s %q: %v", via, tt.in, err)
				} else if c.MaxUploadSize != tt.want {
					t.Errorf("%s %q: MaxUploadSize = %d, want %d", via, tt.in, c.MaxUploadSize, tt.want)
				}
			}
		})
	}

	t.Run("zero is not positive", func(t *testing.T) {
		_, err := load(t, []string{"--max-upload-size", "0"}, nil)
		wantErr(t, err, "GINFLIX_MAX_UPLOAD_SIZE must be positive")
	})
}

func TestSizeValueString(t *testing.T) {
	for n, want := range map[int64]string{20 << 30: "20GiB", 500 << 20: "500MiB", 1536: "1536", 1 << 40: "1TiB", 1000: "1000", 0: "0"} {
		v := sizeValue(n)
		if got := v.String(); got != want {
			t.Errorf("sizeValue(%d).String() = %q, want %q", n, got, want)
		}
		var back sizeValue
		if err := back.Set(v.String()); err != nil || back != v {
			t.Errorf("round trip of %q: got %d, %v; want %d", v.String(), back, err, n)
		}
	}
}

func TestConfigBools(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		pathStyle bool
		useSSL    bool
		errSubs   []string
	}{
		{"defaults", nil, nil, true, false, nil},
		{"env false", nil, map[string]string{"GINFLIX_S3_PATH_STYLE": "false"}, false, false, nil},
		{"env 0 and 1", nil, map[string]string{"GINFLIX_S3_PATH_STYLE": "0", "GINFLIX_S3_USE_SSL": "1"}, false, true, nil},
		{"env TRUE", nil, map[string]string{"GINFLIX_S3_USE_SSL": "TRUE"}, true, true, nil},
		{"bare flag", []string{"--s3-use-ssl"}, nil, true, true, nil},
		{"flag =false", []string{"--s3-path-style=false"}, nil, false, false, nil},
		{"env garbage", nil, map[string]string{"GINFLIX_S3_USE_SSL": "maybe"}, false, false, []string{"GINFLIX_S3_USE_SSL", `"maybe"`}},
		{"env yes", nil, map[string]string{"GINFLIX_S3_PATH_STYLE": "yes"}, false, false, []string{"GINFLIX_S3_PATH_STYLE", `"yes"`}},
		{"flag garbage", []string{"--s3-path-style=nope"}, nil, false, false, []string{"s3-path-style", `"nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.args, tt.env)
			if tt.errSubs != nil {
				wantErr(t, err, tt.errSubs...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.S3PathStyle != tt.pathStyle || c.S3UseSSL != tt.useSSL {
				t.Errorf("S3PathStyle, S3UseSSL = %v, %v; want %v, %v", c.S3PathStyle, c.S3UseSSL, tt.pathStyle, tt.useSSL)
			}
		})
	}
}

func TestConfigDurations(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		errSubs []string
	}{
		{"45s", 45 * time.Second, nil},
		{"5m", 5 * time.Minute, nil},
		{"1h30m", 90 * time.Minute, nil},
		{"250ms", 250 * time.Millisecond, nil},
		{"soon", 0, []string{"GINFLIX_SHUTDOWN_TIMEOUT", `"soon"`}},
		{"30", 0, []string{"GINFLIX_SHUTDOWN_TIMEOUT", `"30"`}}, // no unit
		{"0s", 0, []string{"GINFLIX_SHUTDOWN_TIMEOUT must be positive"}},
		{"-1s", 0, []string{"GINFLIX_SHUTDOWN_TIMEOUT must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := load(t, nil, map[string]string{"GINFLIX_SHUTDOWN_TIMEOUT": tt.in})
			if tt.errSubs != nil {
				wantErr(t, err, tt.errSubs...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ShutdownTimeout != tt.want {
				t.Errorf("ShutdownTimeout = %v, want %v", c.ShutdownTimeout, tt.want)
			}
		})
	}
	t.Run("catalog cache TTL", func(t *testing.T) {
		if c := mustLoad(t, nil, map[string]string{"GINFLIX_CATALOG_CACHE_TTL": "0s"}); c.CatalogCacheTTL != 0 {
			t.Errorf("CatalogCacheTTL = %v, want 0 (cache off is allowed)", c.CatalogCacheTTL)
		}
		if c := mustLoad(t, []string{"--catalog-cache-ttl", "500ms"}, nil); c.CatalogCacheTTL != 500*time.Millisecond {
			t.Errorf("CatalogCacheTTL = %v, want 500ms", c.CatalogCacheTTL)
		}
		_, err := load(t, nil, map[string]string{"GINFLIX_CATALOG_CACHE_TTL": "-1s"})
		wantErr(t, err, "GINFLIX_CATALOG_CACHE_TTL must not be negative")
	})
	t.Run("streamer unsent limit", func(t *testing.T) {
		for v, want := range map[string]int64{"0": 0, "16KiB": 16 << 10, "4MiB": 4 << 20} {
			if c := mustLoad(t, nil, map[string]string{"GINFLIX_STREAMER_UNSENT_LIMIT": v}); c.StreamerUnsentLimit != want {
				t.Errorf("GINFLIX_STREAMER_UNSENT_LIMIT=%s: StreamerUnsentLimit = %d, want %d", v, c.StreamerUnsentLimit, want)
			}
		}
		for _, v := range []string{"100", "1GiB"} {
			_, err := load(t, nil, map[string]string{"GINFLIX_STREAMER_UNSENT_LIMIT": v})
			wantErr(t, err, "GINFLIX_STREAMER_UNSENT_LIMIT must be 0")
		}
	})
	t.Run("flag error names flag", func(t *testing.T) {
		_, err := load(t, []string{"--shutdown-timeout", "later"}, nil)
		wantErr(t, err, "shutdown-timeout", `"later"`)
	})
}

func TestConfigRoles(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    []string
		errSubs []string
		notSubs []string
	}{
		{"default", nil, nil, []string{"backend", "streamer", "web"}, nil, nil},
		{"dedupe", nil, map[string]string{"GINFLIX_ROLES": "backend, streamer, backend"}, []string{"backend", "streamer"}, nil, nil},
		{"blanks dropped", nil, map[string]string{"GINFLIX_ROLES": " , backend,, streamer"}, []string{"backend", "streamer"}, nil, nil},
		{"all", nil, map[string]string{"GINFLIX_ROLES": "all"}, []string{"backend", "streamer", "web"}, nil, nil},
		{"flag", []string{"--roles", "backend,streamer"}, map[string]string{"GINFLIX_ROLES": "bogus"}, []string{"backend", "streamer"}, nil, nil},
		{"empty flag means all", []string{"--roles", ""}, nil, []string{"backend", "streamer", "web"}, nil, nil},
		{"streamer alone with keys", nil, map[string]string{"GINFLIX_ROLES": "streamer", "GINFLIX_PLAYBACK_KEYS": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, []string{"streamer"}, nil, nil},
		{"backend alone needs keys", nil, map[string]string{"GINFLIX_ROLES": "backend"}, nil, []string{"GINFLIX_PLAYBACK_KEYS"}, nil},
		{"unknown", nil, map[string]string{"GINFLIX_ROLES": "backend,transcoder"}, nil,
			[]string{"GINFLIX_ROLES", `unknown role "transcoder"`}, []string{"not part of this build"}},
		{"web alone needs no keys", []string{"--roles", "web"}, nil, []string{"web"}, nil, nil},
		{"case matters", nil, map[string]string{"GINFLIX_ROLES": "Backend"}, nil, []string{`unknown role "Backend"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.args, tt.env)
			if tt.errSubs != nil {
				wantErr(t, err, tt.errSubs...)
				for _, s := range tt.notSubs {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q should not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Roles, tt.want) {
				t.Errorf("Roles = %q, want %q", c.Roles, tt.want)
			}
		})
	}

	t.Run("both unavailable reported", func(t *testing.T) {
		_, err := load(t, nil, map[string]string{"GINFLIX_ROLES": "streamer,web,transcoder", "GINFLIX_PLAYBACK_KEYS": "bad"})
		wantErr(t, err, `unknown role "transcoder"`, "GINFLIX_PLAYBACK_KEYS")
	})
}

func TestConfigS3(t *testing.T) {
	full := func(endpoint string) map[string]string {
		return map[string]string{
			"GINFLIX_STORAGE": "s3", "GINFLIX_S3_ENDPOINT": endpoint, "GINFLIX_S3_BUCKET": "videos",
			"GINFLIX_S3_ACCESS_KEY": "AKID", "GINFLIX_S3_SECRET_KEY": "SECRET",
		}
	}

	t.Run("missing settings listed together", func(t *testing.T) {
		vars := []string{"GINFLIX_S3_ENDPOINT", "GINFLIX_S3_BUCKET", "GINFLIX_S3_ACCESS_KEY", "GINFLIX_S3_SECRET_KEY"}
		_, err := load(t, []string{"--storage", "s3"}, nil)
		wantErr(t, err, vars...)
		first := err.Error()
		if n := strings.Count(first, "is required with GINFLIX_STORAGE=s3"); n != len(vars) {
			t.Errorf("%d 'is required' lines, want %d:\n%s", n, len(vars), first)
		}
		// The message is stable from run to run (it once came from a map).
		for range 20 {
			if _, err := load(t, []string{"--storage", "s3"}, nil); err.Error() != first {
				t.Fatalf("message changed between runs:\n%s\n---\n%s", first, err)
			}
		}
	})

	t.Run("only the missing one", func(t *testing.T) {
		env := full("s3.example.com")
		delete(env, "GINFLIX_S3_BUCKET")
		_, err := load(t, nil, env)
		wantErr(t, err, "GINFLIX_S3_BUCKET is required")
		for _, v := range []string{"GINFLIX_S3_ENDPOINT", "GINFLIX_S3_ACCESS_KEY", "GINFLIX_S3_SECRET_KEY"} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("error %q names %s, which is set", err, v)
			}
		}
	})

	t.Run("filesystem needs none", func(t *testing.T) {
		mustLoad(t, []string{"--storage", "filesystem"}, nil)
	})

	t.Run("unknown storage", func(t *testing.T) {
		_, err := load(t, nil, map[string]string{"GINFLIX_STORAGE": "ftp"})
		wantErr(t, err, "GINFLIX_STORAGE", `"ftp"`)
	})

	tests := []struct {
		name, endpoint string
		useSSLEnv      string
		wantEndpoint   string
		wantSSL        bool
	}{
		{"https sets UseSSL and strips scheme", "https://s3.example.com", "", "s3.example.com", true},
		{"https with port and slash", "https://s3.example.com:9000/", "", "s3.example.com:9000", true},
		{"http clears UseSSL", "http://garage:3900", "true", "garage:3900", false},
		{"bare host keeps UseSSL false", "garage:3900", "", "garage:3900", false},
		{"bare host keeps UseSSL true", "s3.example.com", "true", "s3.example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := full(tt.endpoint)
			if tt.useSSLEnv != "" {
				env["GINFLIX_S3_USE_SSL"] = tt.useSSLEnv
			}
			c := mustLoad(t, nil, env)
			if c.S3Endpoint != tt.wantEndpoint || c.S3UseSSL != tt.wantSSL {
				t.Errorf("S3Endpoint, S3UseSSL = %q, %v; want %q, %v", c.S3Endpoint, c.S3UseSSL, tt.wantEndpoint, tt.wantSSL)
			}
			if c.S3Bucket != "videos" || c.S3AccessKey != "AKID" || c.S3SecretKey != "SECRET" || c.S3Region != "us-east-1" {
				t.Errorf("S3 settings not kept: %+v", c)
			}
		})
	}

	t.Run("secrets from files", func(t *testing.T) {
		env := full("https://s3.example.com")
		delete(env, "GINFLIX_S3_ACCESS_KEY")
		delete(env, "GINFLIX_S3_SECRET_KEY")
		env["GINFLIX_S3_ACCESS_KEY_FILE"] = writeFile(t, "ak", "AKID-FILE\n")
		env["GINFLIX_S3_SECRET_KEY_FILE"] = writeFile(t, "sk", "SECRET-FILE\n")
		c := mustLoad(t, nil, env)
		if c.S3AccessKey != "AKID-FILE" || c.S3SecretKey != "SECRET-FILE" {
			t.Errorf("keys = %q, %q; want AKID-FILE, SECRET-FILE", c.S3AccessKey, c.S3SecretKey)
		}
	})
}

func TestConfigInvalidValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		subs []string
	}{
		{"public URL without scheme", []string{"--public-url", "tube.example.com"}, nil, []string{"GINFLIX_PUBLIC_URL", `"tube.example.com"`}},
		{"public URL ftp", nil, map[string]string{"GINFLIX_PUBLIC_URL": "ftp://tube.example.com"}, []string{"GINFLIX_PUBLIC_URL", "http(s)"}},
		{"public URL without host", nil, map[string]string{"GINFLIX_PUBLIC_URL": "https://"}, []string{"GINFLIX_PUBLIC_URL"}},
		{"public URL unparsable", nil, map[string]string{"GINFLIX_PUBLIC_URL": "http://a b:%zz"}, []string{"GINFLIX_PUBLIC_URL"}},
		{"addr without port", []string{"--addr", "localhost"}, nil, []string{"GINFLIX_ADDR", `"localhost"`, "host:port"}},
		{"empty data dir", nil, map[string]string{"GINFLIX_DATA_DIR": " "}, []string{"GINFLIX_DATA_DIR is empty"}},
		{"log level", nil, map[string]string{"GINFLIX_LOG_LEVEL": "verbose"}, []string{"GINFLIX_LOG_LEVEL", `"verbose"`}},
		{"log format", []string{"--log-format", "xml"}, nil, []string{"GINFLIX_LOG_FORMAT", `"xml"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			wantErr(t, err, tt.subs...)
			wantErr(t, err, "invalid configuration")
		})
	}
}

func TestConfigMongoDBURI(t *testing.T) {
	for _, ok := range []string{"mongodb://localhost:27017", "mongodb+srv://cluster.example.com/ginflix"} {
		if c := mustLoad(t, []string{"--mongodb-uri", ok}, nil); c.MongoDBURI != ok {
			t.Errorf("MongoDBURI = %q, want %q", c.MongoDBURI, ok)
		}
	}
	for _, bad := range []string{"postgres://user:hunter2@db/ginflix", "localhost:27017"} {
		t.Run(bad, func(t *testing.T) {
			_, err := load(t, nil, map[string]string{"GINFLIX_MONGODB_URI": bad})
			wantErr(t, err, "GINFLIX_MONGODB_URI", "mongodb://")
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the URI's password", err)
			}
		})
	}
}

func TestConfigSeveralProblemsTogether(t *testing.T) {
	_, err := load(t,
		[]string{"--addr", "nohost", "--log-level", "loud", "--storage", "s3"},
		map[string]string{"GINFLIX_ROLES": "web,bogus", "GINFLIX_PUBLIC_URL": "gopher://x", "GINFLIX_MONGODB_URI": "mysql://x"})
	want := []string{
		"GINFLIX_ADDR", "GINFLIX_LOG_LEVEL", "GINFLIX_PUBLIC_URL", "GINFLIX_MONGODB_URI",
		`unknown role "bogus"`,
		"GINFLIX_S3_ENDPOINT", "GINFLIX_S3_BUCKET", "GINFLIX_S3_ACCESS_KEY", "GINFLIX_S3_SECRET_KEY",
	}
	wantErr(t, err, want...)
	// One problem a line, under the heading.
	lines := strings.Split(err.Error(), "\n")
	if lines[0] != "invalid configuration:" {
		t.Errorf("first line = %q, want the heading", lines[0])
	}
	if got := len(lines) - 1; got != len(want) {
		t.Errorf("%d problem lines, want %d:\n%s", got, len(want), err)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  ") || strings.TrimSpace(l) == "" {
			t.Errorf("problem line %q is not indented", l)
		}
	}
}

func TestConfigArguments(t *testing.T) {
	t.Run("unexpected positional argument", func(t *testing.T) {
		_, err := load(t, []string{"--addr", "127.0.0.1:1", "extra", "more"}, nil)
		wantErr(t, err, `unexpected argument "extra"`, "--help")
	})
	t.Run("unknown flag", func(t *testing.T) {
		_, err := load(t, []string{"--no-such-flag"}, nil)
		wantErr(t, err, "no-such-flag", "--help")
		if errors.Is(err, flag.ErrHelp) {
			t.Error("an unknown flag is not a help request")
		}
	})
	t.Run("flag missing its value", func(t *testing.T) {
		_, err := load(t, []string{"--addr"}, nil)
		wantErr(t, err, "addr")
	})
	t.Run("help", func(t *testing.T) {
		var out strings.Builder
		for _, arg := range []string{"--help", "-h", "-help"} {
			out.Reset()
			_, err := loadConfig([]string{arg}, envOf(nil), &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("%s: err = %v, want flag.ErrHelp", arg, err)
			}
			if !strings.Contains(out.String(), "Usage: ginflix serve") {
				t.Errorf("%s: help not printed, got %q", arg, out.String())
			}
		}
	})
	t.Run("a bad env var is reported", func(t *testing.T) {
		_, err := load(t, nil, map[string]string{"GINFLIX_MAX_UPLOAD_SIZE": "lots"})
		wantErr(t, err, "GINFLIX_MAX_UPLOAD_SIZE", `"lots"`)
	})
}

func TestConfigIdentityErrors(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GINFLIX_OIDC_ISSUER": "keycloak.example/realms/x"}, "GINFLIX_OIDC_ISSUER"},
		{map[string]string{"GINFLIX_AUTOMATION_CLIENT_ID": "bot"}, "go together"},
		{map[string]string{"GINFLIX_AUTOMATION_CLIENT_ID": "bot", "GINFLIX_AUTOMATION_CLIENT_SECRET": "short"}, "at least 16"},
		{map[string]string{"GINFLIX_OIDC_ISSUER": "https://sso.example/realms/g", "GINFLIX_AUTOMATION_CLIENT_ID": "bot", "GINFLIX_AUTOMATION_CLIENT_SECRET": "0123456789abcdef"}, "built-in provider"},
		{map[string]string{"GINFLIX_ADMIN_ROLE": "x", "GINFLIX_VIEWER_ROLE": "x"}, "must differ"},
		{map[string]string{"GINFLIX_OIDC_AUDIENCE": " "}, "GINFLIX_OIDC_AUDIENCE must not be empty"},
		{map[string]string{"GINFLIX_OIDC_REDIRECT_URIS": "/relative"}, "GINFLIX_OIDC_REDIRECT_URIS"},
		{map[string]string{"GINFLIX_STREAMER_URL": "cdn.example"}, "GINFLIX_STREAMER_URL"},
	} {
		_, err := load(t, nil, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.env, err, c.want)
		}
	}
	c := mustLoad(t, nil, map[string]string{"GINFLIX_OIDC_ISSUER": "https://sso.example/realms/ginflix/", "GINFLIX_PUBLIC_CATALOG": "true"})
	if c.OIDCIssuer != "https://sso.example/realms/ginflix" || !c.PublicCatalog {
		t.Errorf("issuer %q public %v", c.OIDCIssuer, c.PublicCatalog)
	}
}
