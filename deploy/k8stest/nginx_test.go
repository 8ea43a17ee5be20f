package k8stest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	userHost  = "ginflix27.gin-telecom.ovh"
	adminHost = "admin.ginflix27.gin-telecom.ovh"
	nginxApt  = "apt-get install nginx (Debian 12: nginx 1.22), or scripts/apt-install.sh nginx=nginx"
)

// nginxDir is a scratch prefix the nginx workers (nobody, when the test
// runs as root) can read.
func nginxDir(t *testing.T) string {
	d := t.TempDir()
	for _, p := range []string{filepath.Dir(d), d} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readDeploy(t *testing.T, parts ...string) string {
	b, err := os.ReadFile(deployPath(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// selfSigned writes a certificate for both hosts and returns its pool.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: userHost},
		DNSNames: []string{userHost, adminHost}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// mainConf is what Debian's /etc/nginx/nginx.conf provides around a site:
// modules, mime types, and here the scratch paths.
func mainConf(dir, include string, extraMain ...string) string {
	return fmt.Sprintf(`%s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path %[2]s/client_temp;
    proxy_temp_path %[2]s/proxy_temp;
    fastcgi_temp_path %[2]s/fastcgi_temp;
    uwsgi_temp_path %[2]s/uwsgi_temp;
    scgi_temp_path %[2]s/scgi_temp;
    access_log off;
    include %[3]s;
}
`, strings.Join(extraMain, "\n"), dir, include)
}

// nginxTest runs nginx -t on a configuration and fails on errors and on
// warnings.
func nginxTest(t *testing.T, nginx, dir, conf string) {
	t.Helper()
	out, err := run(t, dir, nginx, "-t", "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	all := string(out) + string(log)
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, all)
	}
	for _, line := range strings.Split(all, "\n") {
		if strings.Contains(line, "[warn]") || strings.Contains(line, "[emerg]") {
			t.Errorf("nginx -t: %s", line)
		}
	}
}

// startNginx runs nginx in the foreground until the test ends.
func startNginx(t *testing.T, nginx, dir, conf string, ports ...int) {
	t.Helper()
	cmd := exec.Command(nginx, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s%s", out.String(), log)
		}
	})
	for _, p := range ports {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				t.Fatalf("nginx exited:\n%s%s", out.String(), log)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("nginx does not listen on %d", p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// upstream is a fake backend that records what nginx forwards.
type upstream struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	// received reports body bytes as they arrive, for streaming checks.
	received chan int
	// handle, when set, answers instead of the default 200 "name".
	handle func(w http.ResponseWriter, r *http.Request)
}

func newUpstream(t *testing.T, name string) *upstream {
	u := &upstream{name: name, received: make(chan int, 1024)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, r.Clone(context.Background()))
		h := u.handle
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		n, buf := 0, make([]byte, 32<<10)
		for {
			k, err := r.Body.Read(buf)
			n += k
			if k > 0 {
				select {
				case u.received <- n:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		w.Header().Set("X-Upstream", name)
		fmt.Fprintf(w, "%s %d", name, n)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) port() string { return u.srv.Listener.Addr().(*net.TCPAddr).AddrPort().String() }

func (u *upstream) last(t *testing.T) *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatalf("%s received nothing", u.name)
	}
	return u.reqs[len(u.reqs)-1]
}

// proxySite is deploy/nginx/ginflix.conf with its paths in dir, its
// listeners on loopback ports, and its upstreams replaced.
func proxySite(t *testing.T, dir, certFile, keyFile, countrySnippet string, http80, https443 int, ups map[string]string) string {
	site := readDeploy(t, "nginx", "ginflix.conf")
	site = regexp.MustCompile(`/etc/letsencrypt/live/[^/]+/fullchain\.pem`).ReplaceAllString(site, certFile)
	site = regexp.MustCompile(`/etc/letsencrypt/live/[^/]+/privkey\.pem`).ReplaceAllString(site, keyFile)
	site = strings.ReplaceAll(site, "/etc/nginx/snippets/", dir+"/snippets/")
	site = strings.ReplaceAll(site, "/var/www/letsencrypt", dir+"/acme")
	site = strings.ReplaceAll(site, "listen [::]:80;", "")
	site = strings.ReplaceAll(site, "listen [::]:443 ssl http2;", "")
	site = strings.ReplaceAll(site, "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", http80))
	site = strings.ReplaceAll(site, "listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", https443))
	for from, to := range ups {
		if !strings.Contains(site, "server "+from+";") {
			t.Fatalf("ginflix.conf has no upstream server %s", from)
		}
		site = strings.ReplaceAll(site, "server "+from+";", "server "+to+";")
	}
	writeFile(t, filepath.Join(dir, "snippets", "ginflix-common.conf"), readDeploy(t, "nginx", "ginflix-common.conf"))
	writeFile(t, filepath.Join(dir, "snippets", "ginflix-country.conf"), countrySnippet)
	writeFile(t, filepath.Join(dir, "site.conf"), site)
	return filepath.Join(dir, "site.conf")
}

func TestTLSProxyConfig(t *testing.T) {
	nginx := requireTool(t, "nginx", nginxApt)
	site := readDeploy(t, "nginx", "ginflix.conf") + readDeploy(t, "nginx", "ginflix-common.conf")
	if regexp.MustCompile(`(?m)^\s*http2\s+on\s*;`).MatchString(site) {
		t.Error("`http2 on;` is nginx 1.25.1+: Debian 12's nginx 1.22 wants `listen 443 ssl http2;`")
	}
	for _, c := range []struct {
		name, snippet string
		modules       []string
	}{
		{"country from a CDN header", readDeploy(t, "nginx", "ginflix-country.conf"), nil},
		{"country from GeoIP", readDeploy(t, "nginx", "ginflix-country-geoip.conf"), []string{"/usr/lib/nginx/modules/ngx_http_geoip_module.so", "/usr/share/GeoIP/GeoIP.dat"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var load []string
			for _, m := range c.modules {
				if _, err := os.Stat(m); err != nil {
					t.Skipf("%s is missing: apt-get install libnginx-mod-http-geoip geoip-database", m)
				}
				if strings.HasSuffix(m, ".so") {
					load = append(load, "load_module "+m+";")
				}
			}
			dir := nginxDir(t)
			cert, key, _ := selfSigned(t, dir)
			s := proxySite(t, dir, cert, key, c.snippet, 80, 443, nil)
			// The real addresses and ports: nginx -t binds nothing.
			s2, _ := os.ReadFile(s)
			s3 := strings.ReplaceAll(strings.ReplaceAll(string(s2), "listen 127.0.0.1:80;", "listen 80;\n    listen [::]:80;"),
				"listen 127.0.0.1:443 ssl http2;", "listen 443 ssl http2;\n    listen [::]:443 ssl http2;")
			writeFile(t, s, s3)
			writeFile(t, filepath.Join(dir, "nginx.conf"), mainConf(dir, s, load...))
			nginxTest(t, nginx, dir, filepath.Join(dir, "nginx.conf"))
		})
	}
}

// The proxy, running: nginx with deploy/nginx/ginflix.conf in front of
// fake upstreams on loopback, spoken to over TLS by an HTTP/2 client.
func TestTLSProxyBehaviour(t *testing.T) {
	nginx := requireTool(t, "nginx", nginxApt)
	front, admin, api, uploads, stream := newUpstream(t, "frontend"), newUpstream(t, "frontend-admin"), newUpstream(t, "api"), newUpstream(t, "uploads"), newUpstream(t, "streamer")
	ups := map[string]string{
		"172.18.255.201:80": front.port(), "172.18.255.202:80": admin.port(), "172.18.255.203:8080": api.port(),
		"172.18.255.206:8080": uploads.port(), "172.18.255.204:8080": stream.port(),
	}
	// A CDN at 127.0.0.2 is trusted for its country header; the client at
	// 127.0.0.1 is not.
	country := strings.Replace(readDeploy(t, "nginx", "ginflix-country.conf"), "# 173.245.48.0/20 1;", "127.0.0.2/32 1;", 1)
	dir := nginxDir(t)
	cert, key, pool := selfSigned(t, dir)
	p80, p443 := freePort(t), freePort(t)
	s := proxySite(t, dir, cert, key, country, p80, p443, ups)
	writeFile(t, filepath.Join(dir, "nginx.conf"), mainConf(dir, s))
	startNginx(t, nginx, dir, filepath.Join(dir, "nginx.conf"), p80, p443)

	client := func(from string) *http.Client { return proxyClient(t, pool, from, p80, p443) }
	c := client("127.0.0.1")
	get := func(url string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	t.Run("HTTP redirects to HTTPS", func(t *testing.T) {
		for _, h := range []string{userHost, adminHost} {
			r := get("http://" + h + "/watch/42?t=10")
			if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "https://"+h+"/watch/42?t=10" {
				t.Errorf("http://%s: %d %s", h, r.StatusCode, r.Header.Get("Location"))
			}
		}
		if r := get("http://" + userHost + "/.well-known/acme-challenge/token"); r.StatusCode == http.StatusMovedPermanently {
			t.Error("ACME challenges are redirected: certbot's HTTP-01 check would fail")
		}
	})
	t.Run("hosts, HTTP/2, HSTS", func(t *testing.T) {
		for _, x := range []struct {
			url string
			up  *upstream
		}{{"https://" + userHost + "/", front}, {"https://" + userHost + "/admin/videos", admin}, {"https://" + adminHost + "/", admin},
			{"https://" + userHost + "/oidc/.well-known/openid-configuration", api}, {"https://" + adminHost + "/oidc/authorize", api}} {
			r := get(x.url)
			if r.Header.Get("X-Upstream") != x.up.name {
				t.Errorf("%s went to %q, want %s", x.url, r.Header.Get("X-Upstream"), x.up.name)
			}
			if r.ProtoMajor != 2 {
				t.Errorf("%s: %s, want HTTP/2", x.url, r.Proto)
			}
			if !regexp.MustCompile(`^max-age=(\d{8,}); includeSubDomains$`).MatchString(r.Header.Get("Strict-Transport-Security")) {
				t.Errorf("%s: HSTS %q", x.url, r.Header.Get("Strict-Transport-Security"))
			}
		}
	})
	t.Run("forwarded headers, country", func(t *testing.T) {
		get("https://"+userHost+"/api/videos?q=x", "X-Forwarded-For", "6.6.6.6", "X-Ginflix-Country", "FR", "CF-IPCountry", "DE", "X-Forwarded-Proto", "http")
		r := api.last(t)
		for h, want := range map[string]string{
			"X-Forwarded-Proto": "https", "X-Forwarded-Host": userHost, "X-Forwarded-For": "127.0.0.1",
			"X-Real-Ip": "127.0.0.1", "X-Ginflix-Country": "", "X-Forwarded-Port": fmt.Sprint(p443),
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		if r.Host != userHost || r.URL.RequestURI() != "/api/videos?q=x" {
			t.Errorf("upstream got Host %s URI %s", r.Host, r.URL.RequestURI())
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r.Header.Get("X-Request-Id")) {
			t.Errorf("X-Request-Id %q", r.Header.Get("X-Request-Id"))
		}
		cdn := client("127.0.0.2")
		req, _ := http.NewRequest("GET", "https://"+adminHost+"/api/admin/jobs", nil)
		req.Header.Set("CF-IPCountry", "DE")
		resp, err := cdn.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := api.last(t).Header.Get("X-Ginflix-Country"); got != "DE" {
			t.Errorf("from the trusted CDN: X-Ginflix-Country %q, want DE", got)
		}
	})
	t.Run("uploads stream to the affinity upstream", func(t *testing.T) {
		const size = 8 << 20
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("PATCH", "https://"+adminHost+"/api/uploads/abc", pr)
		req.ContentLength = size
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Offset", "0")
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		type result struct {
			resp *http.Response
			err  error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := c.Do(req)
			done <- result{resp, err}
		}()
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		// The backend sees the first MiB while the client still holds the
		// rest: nginx does not buffer the body.
		deadline := time.After(10 * time.Second)
	wait:
		for {
			select {
			case n := <-uploads.received:
				if n >= 512<<10 {
					break wait
				}
			case <-deadline:
				pw.CloseWithError(io.ErrUnexpectedEOF)
				t.Fatal("the upload upstream received nothing before the body was complete: request buffering is on")
			}
		}
		for i := 1; i < size>>20; i++ {
			pw.Write(chunk)
		}
		pw.Close()
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		body, _ := io.ReadAll(r.resp.Body)
		r.resp.Body.Close()
		if string(body) != fmt.Sprintf("uploads %d", size) {
			t.Errorf("upload answered %d %q", r.resp.StatusCode, body)
		}
		for _, x := range []struct {
			path string
			size int
			want int
		}{
			{"/api/uploads/abc", 17 << 20, http.StatusRequestEntityTooLarge},
			{"/api/videos", 2 << 20, http.StatusRequestEntityTooLarge},
			{"/api/videos", 512 << 10, http.StatusOK},
		} {
			req, _ := http.NewRequest("PATCH", "https://"+userHost+x.path, bytes.NewReader(make([]byte, x.size)))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != x.want {
				t.Errorf("PATCH %s with %d bytes: %d, want %d", x.path, x.size, resp.StatusCode, x.want)
			}
		}
	})
	t.Run("segments are not buffered", func(t *testing.T) {
		release := make(chan struct{})
		stream.mu.Lock()
		stream.handle = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "video/iso.segment")
			w.Write(bytes.Repeat([]byte("a"), 1024))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(15 * time.Second):
			}
			w.Write(bytes.Repeat([]byte("b"), 1024))
		}
		stream.mu.Unlock()
		resp, err := c.Get("https://" + userHost + "/stream/videos/0123456789abcdef01234567/720p/seg_00001.m4s?vt=x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		first := make(chan error, 1)
		go func() {
			_, err := io.ReadFull(resp.Body, make([]byte, 1024))
			first <- err
		}()
		select {
		case err := <-first:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Error("the first bytes of a segment did not reach the player before the streamer finished: the proxy buffers")
		}
		close(release)
		rest, _ := io.ReadAll(resp.Body)
		if len(rest) != 1024 {
			t.Errorf("rest of the segment: %d bytes", len(rest))
		}

		// A player that reads slowly holds the streamer back: the proxy
		// does not absorb the response into memory or a temporary file
		// (which a buffering proxy does, letting the upstream finish).
		const big = 64 << 20
		finished := make(chan struct{})
		stream.mu.Lock()
		stream.handle = func(w http.ResponseWriter, r *http.Request) {
			defer close(finished)
			w.Header().Set("Content-Length", fmt.Sprint(big))
			chunk := make([]byte, 1<<20)
			for i := 0; i < big>>20; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
		stream.mu.Unlock()
		resp, err = c.Get("https://" + userHost + "/stream/videos/0123456789abcdef01234567/1080p/seg_00002.m4s?vt=x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		select {
		case <-finished:
			t.Error("the proxy took a whole 64 MiB response while the player read nothing: it buffers")
		case <-time.After(3 * time.Second):
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || n != big {
			t.Errorf("segment: %d bytes, %v", n, err)
		}
	})
}
