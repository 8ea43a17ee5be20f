package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/objectstoretest"
)

const (
	testAccess = "ginflixtest"
	testSecret = "ginflixtestsecret"
	testRegion = "us-east-1"
	// testDomain is the base domain versitygw serves virtual-host
	// buckets under; the test transport resolves every name to it.
	testDomain = "s3.test"
)

// gateway is the one versitygw process the package's tests share.
var gateway struct {
	once sync.Once
	cmd  *exec.Cmd
	done chan struct{}
	dir  string
	addr string
	log  bytes.Buffer
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopGateway()
	if gateway.dir != "" {
		os.RemoveAll(gateway.dir)
	}
	os.Exit(code)
}

// gatewayAddr starts versitygw on first use and returns its host:port.
func gatewayAddr(t *testing.T) string {
	t.Helper()
	if os.Getenv("GINFLIX_SKIP_S3") == "1" {
		t.Skip("GINFLIX_SKIP_S3=1")
	}
	gateway.once.Do(func() { gateway.err = startGateway() })
	if gateway.err != nil {
		t.Fatal(gateway.err)
	}
	return gateway.addr
}

func findVersitygw() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	// make test-deps installs into the module's .cache/bin, which only
	// make puts in PATH; tests run in the package directory.
	dirs := []string{filepath.Join("..", ".cache", "bin")}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw not found in PATH nor in %s: run `make test-deps` (or set GINFLIX_SKIP_S3=1 to skip the S3 tests)", strings.Join(dirs, ", "))
}

func startGateway() error {
	bin, err := findVersitygw()
	if err != nil {
		return err
	}
	gateway.dir, err = os.MkdirTemp("", "ginflix-versitygw-")
	if err != nil {
		return err
	}
	// The port is free when we ask, not necessarily when versitygw binds
	// it; another try with another port covers that race.
	for range 3 {
		if err = runGateway(bin); err == nil {
			return nil
		}
	}
	return err
}

func runGateway(bin string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()

	gateway.log.Reset()
	cmd := exec.Command(bin,
		"--port", addr, "--access", testAccess, "--secret", testSecret,
		"--region", testRegion, "--virtual-domain", testDomain, "--quiet",
		"posix", gateway.dir)
	cmd.Stdout = &gateway.log
	cmd.Stderr = &gateway.log
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	gateway.cmd, gateway.done = cmd, done

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("versitygw exited at start: %s\n%s", cmd.ProcessState, gateway.log.String())
		default:
		}
		// Any HTTP answer, even 403, means it is serving.
		if resp, err := client.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			gateway.addr = addr
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopGateway()
	return fmt.Errorf("versitygw did not answer on %s within 20s:\n%s", addr, gateway.log.String())
}

func stopGateway() {
	if gateway.cmd != nil && gateway.cmd.Process != nil {
		gateway.cmd.Process.Kill()
		<-gateway.done
		gateway.cmd = nil
	}
}

var bucketSeq atomic.Int64

// newBucket returns a Config for a fresh, created bucket.
func newBucket(t *testing.T) Config {
	t.Helper()
	addr := gatewayAddr(t)
	return Config{
		Endpoint:     addr,
		Bucket:       fmt.Sprintf("ginflix-test-%d-%d", os.Getpid(), bucketSeq.Add(1)),
		Region:       testRegion,
		AccessKey:    testAccess,
		SecretKey:    testSecret,
		PathStyle:    true,
		CreateBucket: true,
	}
}

func newStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Empty buckets leave nothing but a directory in the gateway's tree.
	t.Cleanup(func() {
		ctx := context.Background()
		if err := s.DeletePrefix(ctx, ""); err == nil {
			s.client.RemoveBucket(ctx, s.bucket)
		}
	})
	return s
}

func TestConformancePathStyle(t *testing.T) {
	gatewayAddr(t) // fail or skip once, not in every subtest
	objectstoretest.Run(t, func(t *testing.T) ginflix.ObjectStore {
		return newStore(t, newBucket(t))
	})
}

// TestConformanceVirtualHost addresses buckets as <bucket>.s3.test; a
// transport sends every such name to the local gateway in place of DNS.
func TestConformanceVirtualHost(t *testing.T) {
	addr := gatewayAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dialer := &net.Dialer{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(a)
		if err != nil || (host != testDomain && !strings.HasSuffix(host, "."+testDomain)) {
			return nil, fmt.Errorf("test transport: unexpected address %q", a)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	objectstoretest.Run(t, func(t *testing.T) ginflix.ObjectStore {
		cfg := newBucket(t)
		cfg.Endpoint = "http://" + testDomain + ":" + port
		cfg.PathStyle = false
		cfg.transport = &hostCheck{t: t, next: tr}
		return newStore(t, cfg)
	})
}

// hostCheck fails the test if a request is not virtual-host style, which
// would mean PathStyle=false is not honoured.
type hostCheck struct {
	t    *testing.T
	next http.RoundTripper
}

func (h *hostCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	host, _, _ := net.SplitHostPort(r.URL.Host)
	// Bucket creation and listing of buckets go to the bare domain.
	if host != testDomain && !strings.HasSuffix(host, "."+testDomain) {
		h.t.Errorf("request to %s, want a host under %s", r.URL.Host, testDomain)
	}
	if host == testDomain && strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0 {
		h.t.Errorf("path-style request %s %s", r.Method, r.URL)
	}
	return h.next.RoundTrip(r)
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		useSSL   bool
		host     string
		secure   bool
		bad      bool
	}{
		{endpoint: "minio:9000", host: "minio:9000"},
		{endpoint: "minio:9000", useSSL: true, host: "minio:9000", secure: true},
		{endpoint: "http://minio:9000", host: "minio:9000"},
		{endpoint: "http://minio:9000/", host: "minio:9000"},
		{endpoint: "https://s3.amazonaws.com", host: "s3.amazonaws.com", secure: true},
		{endpoint: "https://s3.amazonaws.com", useSSL: true, host: "s3.amazonaws.com", secure: true},
		{endpoint: "http://minio:9000", useSSL: true, bad: true},
		{endpoint: "", bad: true},
		{endpoint: "minio:9000/bucket", bad: true},
		{endpoint: "http://minio:9000/bucket", bad: true},
		{endpoint: "ftp://minio:9000", bad: true},
		{endpoint: "http://", bad: true},
	} {
		host, secure, err := parseEndpoint(tc.endpoint, tc.useSSL)
		if tc.bad {
			if ginflix.ErrorCode(err) != ginflix.EINVALID {
				t.Errorf("parseEndpoint(%q, %v) = %q, %v, %v; want EINVALID", tc.endpoint, tc.useSSL, host, secure, err)
			}
			continue
		}
		if err != nil || host != tc.host || secure != tc.secure {
			t.Errorf("parseEndpoint(%q, %v) = %q, %v, %v; want %q, %v", tc.endpoint, tc.useSSL, host, secure, err, tc.host, tc.secure)
		}
	}
}

func TestNewInvalidBucket(t *testing.T) {
	for _, b := range []string{"", "A_B", "x"} {
		if _, err := New(t.Context(), Config{Endpoint: "localhost:9000", Bucket: b}); ginflix.ErrorCode(err) != ginflix.EINVALID {
			t.Errorf("New(bucket %q) = %v, want EINVALID", b, err)
		}
	}
}

// TestMissingBucket checks a misconfigured bucket shows as a fault where
// S3 lets us tell. Reads cannot: a HEAD has no body to say NoSuchBucket,
// and versitygw answers GET with NoSuchKey; Ping is there for that.
func TestMissingBucket(t *testing.T) {
	cfg := newBucket(t)
	cfg.CreateBucket = false
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping on a missing bucket succeeded")
	}
	err = s.Put(t.Context(), "videos/original/v1.mp4", strings.NewReader("x"), 1, "")
	if code := ginflix.ErrorCode(err); code != ginflix.EINTERNAL {
		t.Errorf("Put in a missing bucket: %v (code %q), want internal", err, code)
	}
}

func TestCreateBucketTwice(t *testing.T) {
	cfg := newBucket(t)
	newStore(t, cfg)
	if _, err := New(t.Context(), cfg); err != nil {
		t.Errorf("New on an existing bucket: %v", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	cfg := newBucket(t)
	newStore(t, cfg)
	cfg.SecretKey = "wrong-secret"
	cfg.CreateBucket = false
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with a wrong secret succeeded")
	}
}

// TestPutContentType checks a given type is stored as is rather than
// re-derived from the key.
func TestPutContentType(t *testing.T) {
	s := newStore(t, newBucket(t))
	key := "temp/upload.bin"
	if err := s.Put(t.Context(), key, strings.NewReader("x"), 1, "video/quicktime"); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(t.Context(), key)
	if err != nil || info.ContentType != "video/quicktime" {
		t.Errorf("Stat = %+v, %v; want video/quicktime", info, err)
	}
}

func TestExactReader(t *testing.T) {
	for _, tc := range []struct {
		data string
		size int64
		ok   bool
	}{
		{"hello", 5, true},
		{"hello", 4, false},
		{"hello", 6, false},
		{"", 0, true},
		{"x", 0, false},
	} {
		e := &exactReader{r: strings.NewReader(tc.data), left: tc.size}
		var buf bytes.Buffer
		_, err := buf.ReadFrom(e)
		if tc.ok {
			if err != nil || buf.String() != tc.data {
				t.Errorf("%q/%d: read %q, %v", tc.data, tc.size, buf.String(), err)
			}
			continue
		}
		if ginflix.ErrorCode(err) != ginflix.EINVALID {
			t.Errorf("%q/%d: err %v, want EINVALID", tc.data, tc.size, err)
		}
	}
	// A reader error is passed on as is.
	boom := errors.New("boom")
	e := &exactReader{r: &errReader{boom}, left: 5}
	if _, err := e.Read(make([]byte, 5)); !errors.Is(err, boom) {
		t.Errorf("err %v, want %v", err, boom)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestRangeRewrittenMeanwhile rewrites the object between the HEAD that
// sizes a range and the GET that reads it: the If-Match on the GET must
// make Get start over rather than mix the old size with new bytes.
func TestRangeRewrittenMeanwhile(t *testing.T) {
	cfg := newBucket(t)
	plain := newStore(t, cfg)
	key := "videos/original/v1.mp4"
	if err := plain.Put(t.Context(), key, strings.NewReader("old content"), 11, ""); err != nil {
		t.Fatal(err)
	}
	var rewrites atomic.Int32
	cfg.CreateBucket = false
	cfg.transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet && r.Header.Get("Range") != "" && rewrites.Add(1) == 1 {
			if err := plain.Put(r.Context(), key, strings.NewReader("the new, longer content"), 23, ""); err != nil {
				t.Errorf("rewrite: %v", err)
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rc, info, err := s.Get(t.Context(), key, &ginflix.ByteRange{Start: 4, End: -1})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "new, longer content" || info.Size != 23 {
		t.Errorf("Get = %q, size %d; want the new object's bytes and size", buf.String(), info.Size)
	}
	if rewrites.Load() != 2 {
		t.Errorf("%d ranged GETs, want 2 (one refused, one retried)", rewrites.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
