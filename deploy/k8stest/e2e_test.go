package k8stest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ginflix/ginflix/internal/testutil"
	"github.com/ginflix/ginflix/tus"
)

const ffmpegApt = "apt-get install ffmpeg, or make system-deps"

// proxyClient speaks to the proxy as a browser would to the real hosts:
// https://HOST (and http://HOST) dial nginx's loopback ports, the
// generated CA is trusted, HTTP/2 is offered. Redirects are not followed.
func proxyClient(t *testing.T, pool *x509.CertPool, from string, p80, p443 int) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			p := p80
			if port == "443" || port == strconv.Itoa(p443) {
				p = p443
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", p))
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// role is one `ginflix serve --roles=NAME` process.
type role struct {
	name, addr string
	out        *testutil.SyncBuffer
	exited     chan struct{}
	err        error
}

// startRole runs one role until the test ends, stopped with SIGTERM as
// Kubernetes stops a pod, and waits until it answers probe on its port.
func startRole(t *testing.T, bin, name, probe string, env map[string]string) *role {
	t.Helper()
	r := &role{name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), out: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(bin, "serve", "--roles="+name, "--addr="+r.addr)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GINFLIX_LOG_FORMAT=json"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-r.exited
		}
		if t.Failed() {
			t.Logf("ginflix serve --roles=%s:\n%s", name, r.out.String())
		}
	})
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.Get("http://" + r.addr + probe)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-r.exited:
			t.Fatalf("ginflix serve --roles=%s exited (%v):\n%s", name, r.err, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ginflix serve --roles=%s: %s not ready in 30 s (%v):\n%s", name, probe, err, r.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The distributed form on one machine: nginx with deploy/nginx in front of
// separate backend, streamer and web processes, spoken to over TLS. A
// clip uploaded through the proxy becomes a video that streams through it.
func TestTLSProxyEndToEnd(t *testing.T) {
	nginx := requireTool(t, "nginx", nginxApt)
	ffmpeg := requireTool(t, "ffmpeg", ffmpegApt)
	requireTool(t, "ffprobe", ffmpegApt)
	bin := ginflixBinary(t)

	clip := filepath.Join(t.TempDir(), "clip.mp4")
	gen := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2",
		"-f", "lavfi", "-i", "sine=duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", clip)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}

	public := "https://" + userHost
	secret := make([]byte, 32)
	rand.Read(secret)
	const clientID, clientSecret = "ginflix-automation", "e2e-secret-e2e-secret"
	common := map[string]string{
		"GINFLIX_PUBLIC_URL": public,
		// One key on both sides: the streamer checks what the backend signs.
		"GINFLIX_PLAYBACK_KEYS": "k1:" + base64.StdEncoding.EncodeToString(secret),
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	// The backend owns the database and writes the filesystem object
	// store; the streamer reads the same directory (on Kubernetes both
	// reach one S3 bucket instead).
	shared := t.TempDir()
	backend := startRole(t, bin, "backend", "/api/health", with(map[string]string{
		"GINFLIX_DATA_DIR": shared, "GINFLIX_AUTOMATION_CLIENT_ID": clientID, "GINFLIX_AUTOMATION_CLIENT_SECRET": clientSecret,
		"GINFLIX_AUTO_PUBLISH": "true", "GINFLIX_FFMPEG_PRESET": "ultrafast", "GINFLIX_TRUST_FORWARDED": "true",
	}))
	streamer := startRole(t, bin, "streamer", "/stream/ready", with(map[string]string{"GINFLIX_DATA_DIR": shared}))
	web := startRole(t, bin, "web", "/health", with(map[string]string{"GINFLIX_DATA_DIR": t.TempDir()}))

	dir := nginxDir(t)
	cert, key, pool := selfSigned(t, dir)
	p80, p443 := freePort(t), freePort(t)
	site := proxySite(t, dir, cert, key, readDeploy(t, "nginx", "ginflix-country.conf"), p80, p443, map[string]string{
		"172.18.255.201:80": web.addr, "172.18.255.202:80": web.addr,
		"172.18.255.203:8080": backend.addr, "172.18.255.206:8080": backend.addr,
		"172.18.255.204:8080": streamer.addr,
	})
	writeFile(t, filepath.Join(dir, "nginx.conf"), mainConf(dir, site))
	startNginx(t, nginx, dir, filepath.Join(dir, "nginx.conf"), p80, p443)
	c := proxyClient(t, pool, "127.0.0.1", p80, p443)

	do := func(method, u, token string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		if res.ProtoMajor != 2 {
			t.Errorf("%s %s: %s, want HTTP/2 from the proxy", method, u, res.Proto)
		}
		return res, body
	}
	want := func(res *http.Response, body []byte, status int, contentType string) {
		t.Helper()
		if res.StatusCode != status || !strings.HasPrefix(res.Header.Get("Content-Type"), contentType) {
			t.Fatalf("%s %s: %s %s, want %d %s\n%.500s", res.Request.Method, res.Request.URL, res.Status,
				res.Header.Get("Content-Type"), status, contentType, body)
		}
	}

	t.Run("web apps", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(repoRoot(t), "web", "dist", "user", "index.html")); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("web/dist is not built, and CI is set: make test builds the web apps before the Go tests")
			}
			t.Skip("web/dist is not built (CI unset, so skipping): make web")
		}
		for _, app := range []struct{ host, path string }{{userHost, "/"}, {userHost, "/admin/"}, {adminHost, "/admin/"}} {
			base := "https://" + app.host
			res, body := do("GET", base+app.path, "")
			want(res, body, http.StatusOK, "text/html")
			asset := regexp.MustCompile(`(?:src|href)="(` + regexp.QuoteMeta(app.path) + `assets/[^"]+-[A-Za-z0-9_-]{8}\.(?:js|css))"`).FindSubmatch(body)
			if asset == nil {
				t.Fatalf("%s%s: no hashed asset in\n%s", base, app.path, body)
			}
			res, body = do("GET", base+string(asset[1]), "")
			if res.StatusCode != http.StatusOK || len(body) == 0 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
				t.Errorf("%s: %s, %d bytes, Cache-Control %q", asset[1], res.Status, len(body), res.Header.Get("Cache-Control"))
			}
		}
		// A client-side route is the app, not a 404.
		res, body := do("GET", public+"/watch/0123456789abcdef01234567", "")
		want(res, body, http.StatusOK, "text/html")
	})

	res, body := do("GET", public+"/api/health", "")
	want(res, body, http.StatusOK, "application/json")
	res, body = do("GET", public+"/api/config", "")
	want(res, body, http.StatusOK, "application/json")
	var cfg struct{ Issuer, StreamerURL string }
	if err := json.Unmarshal(body, &cfg); err != nil || cfg.Issuer != public+"/oidc" || cfg.StreamerURL != public+"/stream" {
		t.Fatalf("/api/config: %v %s", err, body)
	}

	// The automation client, as `ginflix import` does it: discovery and
	// client credentials at the built-in provider, through the proxy.
	res, body = do("GET", cfg.Issuer+"/.well-known/openid-configuration", "")
	want(res, body, http.StatusOK, "application/json")
	var disco struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal(body, &disco); err != nil || !strings.HasPrefix(disco.TokenEndpoint, public+"/oidc/") {
		t.Fatalf("discovery: %v %s", err, body)
	}
	req, _ := http.NewRequest("POST", disco.TokenEndpoint, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	tres, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(tres.Body).Decode(&tok)
	tres.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("client credentials: %s %v", tres.Status, err)
	}

	// A small chunk size makes the upload several PATCHes through the
	// proxy's unbuffered /api/uploads/ location.
	up := &tus.Client{
		Endpoint: public + tus.DefaultBasePath, HTTPClient: c, ChunkSize: 64 << 10,
		Token: func(context.Context) (string, error) { return tok.AccessToken, nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	videoID, err := up.Upload(ctx, clip, tus.Metadata{Title: "Through the proxy"}, nil)
	if err != nil {
		t.Fatalf("upload through the proxy: %v", err)
	}
	var v struct {
		Status, Error string
		Published     bool
	}
	for deadline := time.Now().Add(90 * time.Second); ; {
		res, body := do("GET", public+"/api/admin/videos/"+url.PathEscape(videoID), tok.AccessToken)
		want(res, body, http.StatusOK, "application/json")
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		if v.Status != "processing" || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if v.Status != "ready" || !v.Published {
		t.Fatalf("video %s after transcoding: %+v", videoID, v)
	}

	res, body = do("POST", public+"/api/videos/"+videoID+"/playback", tok.AccessToken)
	want(res, body, http.StatusOK, "application/json")
	var pb struct{ URL string }
	if err := json.Unmarshal(body, &pb); err != nil || !strings.HasPrefix(pb.URL, public+"/stream/videos/"+videoID+"/master.m3u8?") {
		t.Fatalf("playback: %v %s", err, body)
	}

	// What hls.js fetches, all from the streamer process through nginx.
	resolve := func(from, ref string) string {
		u, _ := url.Parse(from)
		r, err := url.Parse(ref)
		if err != nil {
			t.Fatalf("URI %q: %v", ref, err)
		}
		return u.ResolveReference(r).String()
	}
	firstURI := func(playlist []byte) string {
		for _, line := range strings.Split(string(playlist), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				return line
			}
		}
		t.Fatalf("no URI in\n%s", playlist)
		return ""
	}
	const m3u8 = "application/vnd.apple.mpegurl"
	res, master := do("GET", pb.URL, "")
	want(res, master, http.StatusOK, m3u8)
	mediaURL := resolve(pb.URL, firstURI(master))
	res, media := do("GET", mediaURL, "")
	want(res, media, http.StatusOK, m3u8)
	if !bytes.Contains(media, []byte("#EXT-X-ENDLIST")) {
		t.Fatalf("media playlist %s:\n%s", mediaURL, media)
	}
	m := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindSubmatch(media)
	if m == nil {
		t.Fatalf("no EXT-X-MAP in\n%s", media)
	}
	initURL := resolve(mediaURL, string(m[1]))
	res, init := do("GET", initURL, "")
	want(res, init, http.StatusOK, "video/mp4")
	if len(init) < 8 || string(init[4:8]) != "ftyp" {
		t.Errorf("init segment %s does not start with an ftyp box: % x", initURL, init[:min(len(init), 16)])
	}
	segURL := resolve(mediaURL, firstURI(media))
	res, seg := do("GET", segURL, "")
	want(res, seg, http.StatusOK, "video/iso.segment")
	if len(seg) < 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("segment %s: %d bytes, Cache-Control %q", segURL, len(seg), res.Header.Get("Cache-Control"))
	}
	// A player seeking inside a segment, or resuming a cut download.
	res, part := do("GET", segURL, "", "Range", "bytes=100-199")
	if res.StatusCode != http.StatusPartialContent || res.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(seg)) ||
		!bytes.Equal(part, seg[100:200]) {
		t.Errorf("Range bytes=100-199: %s Content-Range %q, %d bytes", res.Status, res.Header.Get("Content-Range"), len(part))
	}
	// The token is what lets a segment out.
	res, _ = do("GET", strings.SplitN(pb.URL, "?", 2)[0], "")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("master without a token: %s", res.Status)
	}
	t.Logf("video %s streamed through nginx: %s, init %d B, %s %d B", videoID,
		strings.SplitN(mediaURL, "?", 2)[0], len(init), strings.SplitN(segURL, "?", 2)[0], len(seg))
}
