package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix/api"
)

// The system page's configuration says where each value came from and
// never shows a secret.
func TestConfigEffective(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secretFile, []byte("s3cr3t-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, []string{"--workers=3", "--product-name=Médiathèque"}, map[string]string{
		"GINFLIX_STORAGE": "s3", "GINFLIX_S3_ENDPOINT": "s3.example.org", "GINFLIX_S3_BUCKET": "b",
		"GINFLIX_S3_ACCESS_KEY": "AKIA-from-env", "GINFLIX_S3_SECRET_KEY_FILE": secretFile,
		"GINFLIX_MONGODB_URI": "mongodb://user:pw@db:27017", "GINFLIX_WORKERS": "2", "GINFLIX_SETTINGS_TTL": "2s",
	})
	byName := map[string]api.ConfigEntry{}
	for _, e := range c.Effective() {
		byName[e.Name] = e
		if e.Env == "" || !strings.HasPrefix(e.Env, "GINFLIX_") {
			t.Errorf("%s has no variable: %+v", e.Name, e)
		}
	}
	for name, want := range map[string]api.ConfigEntry{
		"addr":            {Value: "127.0.0.1:8080", Source: "default"},
		"workers":         {Value: "3", Source: "flag"},
		"storage":         {Value: "s3", Source: "env"},
		"s3-access-key":   {Value: api.MaskedValue, Source: "env", Secret: true},
		"s3-secret-key":   {Value: api.MaskedValue, Source: "file", Secret: true},
		"mongodb-uri":     {Value: api.MaskedValue, Source: "env", Secret: true},
		"playback-keys":   {Value: "", Source: "default", Secret: true},
		"product-name":    {Value: "Médiathèque", Source: "flag", Setting: "siteName"},
		"max-upload-size": {Value: "20GiB", Source: "default", Setting: "maxUploadSize"},
		"settings-ttl":    {Value: "2s", Source: "env"},
	} {
		got := byName[name]
		if got.Value != want.Value || got.Source != want.Source || got.Secret != want.Secret || got.Setting != want.Setting {
			t.Errorf("%s = %+v, want %+v", name, got, want)
		}
	}
	for _, e := range c.Effective() {
		for _, secret := range []string{"s3cr3t", "AKIA", "user:pw"} {
			if strings.Contains(e.Value, secret) {
				t.Errorf("%s shows a secret: %q", e.Name, e.Value)
			}
		}
	}
	d := c.RuntimeDefaults()
	if d.SiteName != "Médiathèque" || d.MaxUploadSize != 20<<30 || d.Preset != "veryfast" || d.Version != 0 || len(d.Ladder) != 5 {
		t.Fatalf("runtime defaults %+v", d)
	}
	if c.SettingsTTL != 2*time.Second {
		t.Fatalf("SettingsTTL = %v", c.SettingsTTL)
	}
	_, err := load(t, []string{"--settings-ttl=1ms"}, nil)
	wantErr(t, err, "GINFLIX_SETTINGS_TTL")
}
