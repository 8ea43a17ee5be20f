package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRuntimeSettingsEndToEnd changes the settings through a real
// "ginflix serve" and sees each consumer apply them without a restart: the
// web apps' config, the catalogue's access check and the upload limit.
// The system page shows the configuration with its secrets masked.
func TestRuntimeSettingsEndToEnd(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	in := startServe(t, addr, t.TempDir(), map[string]string{
		"GINFLIX_AUTOMATION_CLIENT_ID": "ginflix-automation", "GINFLIX_AUTOMATION_CLIENT_SECRET": "s3cret-s3cret-s3cret",
		"GINFLIX_PUBLIC_CATALOG": "false", "GINFLIX_PRODUCT_NAME": "Configured", "GINFLIX_WORKERS": "0",
	})
	in.waitReady(t, base)
	tok := automationToken(t, in, base)
	do := func(method, path, body string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := in.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	publicConfig := func() (c struct {
		ProductName   string
		PublicCatalog bool
	}) {
		_, body := in.get(t, base+"/api/config")
		if err := json.Unmarshal(body, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := publicConfig(); c.ProductName != "Configured" || c.PublicCatalog {
		t.Fatalf("config before: %+v", c)
	}
	if res, _ := in.get(t, base+"/api/videos"); res.StatusCode != 401 {
		t.Fatalf("anonymous catalogue before: %s", res.Status)
	}

	res, body := do("PUT", "/api/admin/settings", `{"siteName": "Médiathèque", "autoPublish": true, "ladder": [720, 360],
		"preset": "fast", "maxUploadSize": 1048576, "publicCatalog": true, "version": 0}`)
	if res.StatusCode != 200 {
		t.Fatalf("PUT settings: %s %s", res.Status, body)
	}
	if c := publicConfig(); c.ProductName != "Médiathèque" || !c.PublicCatalog {
		t.Fatalf("config after: %+v", c)
	}
	if res, _ := in.get(t, base+"/api/videos"); res.StatusCode != 200 {
		t.Fatalf("anonymous catalogue after: %s", res.Status)
	}
	res, _ = do("OPTIONS", "/api/uploads/", "")
	if got := res.Header.Get("Tus-Max-Size"); got != "1048576" {
		t.Fatalf("Tus-Max-Size %q after lowering the limit", got)
	}
	meta := "filename " + base64.StdEncoding.EncodeToString([]byte("big.mp4"))
	if res, _ := do("POST", "/api/uploads/", "", "Tus-Resumable", "1.0.0", "Upload-Length", "2097152", "Upload-Metadata", meta); res.StatusCode != 413 {
		t.Fatalf("an upload over the new limit: %s", res.Status)
	}
	if res, _ := do("POST", "/api/uploads/", "", "Tus-Resumable", "1.0.0", "Upload-Length", "1000", "Upload-Metadata", meta); res.StatusCode != 201 {
		t.Fatalf("an upload within it: %s", res.Status)
	}

	var sys struct {
		Config []struct {
			Name, Value, Source string
			Secret              bool
		}
		Versions struct{ Ginflix, Go string }
		Health   struct{ Database, Objects, Queue struct{ Status string } }
	}
	res, body = do("GET", "/api/admin/system", "")
	if err := json.Unmarshal(body, &sys); res.StatusCode != 200 || err != nil {
		t.Fatalf("system: %s %v %s", res.Status, err, body)
	}
	if strings.Contains(string(body), "s3cret-s3cret") {
		t.Fatalf("the system page shows a secret: %s", body)
	}
	byName := map[string]int{}
	for i, e := range sys.Config {
		byName[e.Name] = i
	}
	if e := sys.Config[byName["automation-client-secret"]]; !e.Secret || e.Value == "" || e.Source != "env" {
		t.Fatalf("the automation secret: %+v", e)
	}
	if e := sys.Config[byName["product-name"]]; e.Value != "Médiathèque" || e.Source != "settings" {
		t.Fatalf("the product name: %+v", e)
	}
	if sys.Health.Database.Status != "ok" || sys.Health.Objects.Status != "ok" || sys.Health.Queue.Status != "ok" || sys.Versions.Go == "" {
		t.Fatalf("system: %+v", sys)
	}

	var audit struct {
		Items []struct{ Action, Detail string }
	}
	_, body = do("GET", "/api/admin/audit", "")
	if err := json.Unmarshal(body, &audit); err != nil || len(audit.Items) != 2 ||
		audit.Items[0].Action != "upload.created" || audit.Items[1].Action != "settings.updated" ||
		!strings.Contains(audit.Items[1].Detail, `"Configured" → "Médiathèque"`) {
		t.Fatalf("audit log: %s", body)
	}
}
