package k8stest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The front-end images' nginx configuration (deploy/docker/nginx), run by
// Debian's nginx with the paths of the image moved to a scratch directory
// and the Services' names replaced by fake upstreams. (The image runs
// nginx 1.28; nothing here is newer than 1.22.)
func TestFrontendNginx(t *testing.T) {
	nginx := requireTool(t, "nginx", nginxApt)
	for _, app := range []string{"frontend", "frontend-admin"} {
		t.Run(app, func(t *testing.T) {
			backend, uploads, stream := newUpstream(t, "backend"), newUpstream(t, "backend-uploads"), newUpstream(t, "streamer")
			dir := nginxDir(t)
			port := freePort(t)
			html := filepath.Join(dir, "html")
			// The pod's emptyDir at /var/cache/nginx.
			if err := os.MkdirAll(filepath.Join(dir, "cache"), 0o755); err != nil {
				t.Fatal(err)
			}
			base := "/"
			if app == "frontend-admin" {
				base = "/admin/"
			}
			writeFile(t, filepath.Join(html, base, "index.html"), "<!doctype html><title>"+app+"</title>")
			writeFile(t, filepath.Join(html, base, "assets", "index-abc123.js"), "console.log(1)")
			fix := func(s string) string {
				r := strings.NewReplacer(
					"/etc/nginx/ginflix/", dir+"/",
					"/var/cache/nginx/", dir+"/cache/",
					"pid /tmp/nginx.pid;", "pid "+dir+"/nginx.pid;",
					"/usr/share/nginx/html", html,
					"listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port),
					"server backend:8080;", "server "+backend.port()+";",
					"server backend-uploads:8080;", "server "+uploads.port()+";",
					"server streamer:8080;", "server "+stream.port()+";",
					"error_log /dev/stderr warn;", "error_log "+dir+"/error.log warn;",
					"access_log /dev/stdout ginflix;", "access_log off;",
				)
				return r.Replace(s)
			}
			writeFile(t, filepath.Join(dir, "nginx.conf"), fix(readDeploy(t, "docker", "nginx", "nginx.conf")))
			writeFile(t, filepath.Join(dir, "common.conf"), fix(readDeploy(t, "docker", "nginx", "common.conf")))
			writeFile(t, filepath.Join(dir, "site.conf"), fix(readDeploy(t, "docker", "nginx", app+".conf")))
			nginxTest(t, nginx, dir, filepath.Join(dir, "nginx.conf"))
			startNginx(t, nginx, dir, filepath.Join(dir, "nginx.conf"), port)

			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func(method, path string, body []byte) (*http.Response, string) {
				t.Helper()
				req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), bytes.NewReader(body))
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp, string(b)
			}
			if r, b := do("GET", "/health", nil); r.StatusCode != 200 || !strings.Contains(b, `"ok"`) || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("/health: %d %s %q", r.StatusCode, r.Header.Get("Content-Type"), b)
			}
			if r, b := do("GET", base+"videos/42", nil); r.StatusCode != 200 || !strings.Contains(b, app) || r.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("an app route: %d %q cache %q, want the app's index.html, not cached", r.StatusCode, b, r.Header.Get("Cache-Control"))
			}
			if r, _ := do("GET", base+"assets/index-abc123.js", nil); r.StatusCode != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") ||
				!strings.Contains(r.Header.Get("Content-Type"), "javascript") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("an asset: %d %v", r.StatusCode, r.Header)
			}
			if r, _ := do("GET", base+"assets/missing.js", nil); r.StatusCode != 404 {
				t.Errorf("a missing asset: %d, want 404 (not the app's HTML)", r.StatusCode)
			}
			if r, _ := do("GET", "/api/videos", nil); r.Header.Get("X-Upstream") != "backend" {
				t.Errorf("/api/ went to %q", r.Header.Get("X-Upstream"))
			}
			if r, _ := do("GET", "/stream/videos/x/master.m3u8", nil); r.Header.Get("X-Upstream") != "streamer" {
				t.Errorf("/stream/ went to %q", r.Header.Get("X-Upstream"))
			}
			if r := backend.last(t); r.Header.Get("X-Forwarded-For") == "" || r.Host == "" {
				t.Errorf("backend got no forwarded headers: %v", r.Header)
			}
			if app == "frontend-admin" {
				if r, _ := do("GET", "/", nil); r.StatusCode != 302 || r.Header.Get("Location") != "/admin/" {
					t.Errorf("/: %d %s, want a redirect to /admin/", r.StatusCode, r.Header.Get("Location"))
				}
				if r, b := do("PATCH", "/api/uploads/abc", make([]byte, 8<<20)); r.Header.Get("X-Upstream") != "backend-uploads" || b != fmt.Sprintf("backend-uploads %d", 8<<20) {
					t.Errorf("an 8 MiB tus chunk: %d %q, want it whole at backend-uploads", r.StatusCode, b)
				}
				if r, _ := do("PATCH", "/api/uploads/abc", make([]byte, 17<<20)); r.StatusCode != 413 {
					t.Errorf("a 17 MiB chunk: %d, want 413", r.StatusCode)
				}
			}
		})
	}
}
