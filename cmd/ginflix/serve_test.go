package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix/internal/testutil"
	"github.com/ginflix/ginflix/sqlite"
)

// freeAddr returns a 127.0.0.1 address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// instance is one "ginflix serve" running in a goroutine.
type instance struct {
	cancel         context.CancelFunc
	exited         chan struct{}
	err            error // set before exited closes
	stdout, stderr testutil.SyncBuffer
	client         *http.Client
}

const (
	readyTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// startServe runs "ginflix serve --addr addr --data data" with env as the
// whole environment. The test's cleanup stops it if the test does not.
func startServe(t *testing.T, addr, data string, env map[string]string, extra ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{cancel: cancel, exited: make(chan struct{}), client: &http.Client{Timeout: 5 * time.Second}}
	args := append([]string{"ginflix", "serve", "--addr", addr, "--data", data, "--shutdown-timeout", "5s"}, extra...)
	// These tests read the catalogue anonymously; identity has its own.
	if _, set := env["GINFLIX_PUBLIC_CATALOG"]; !set {
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["GINFLIX_PUBLIC_CATALOG"] = "true"
	}
	go func() {
		defer close(in.exited)
		in.err = run(ctx, args, envOf(env), strings.NewReader(""), &in.stdout, &in.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-in.exited:
		case <-time.After(stopTimeout):
			t.Errorf("cleanup: run did not return within %v of cancel", stopTimeout)
		}
		in.client.CloseIdleConnections()
	})
	return in
}

// stop cancels the context and returns run's result; it fails the test if
// run does not return within stopTimeout.
func (in *instance) stop(t *testing.T) error {
	t.Helper()
	in.cancel()
	select {
	case <-in.exited:
		return in.err
	case <-time.After(stopTimeout):
		t.Fatalf("run did not return within %v of cancel (no graceful shutdown)\nstderr:\n%s", stopTimeout, in.stderr.String())
		return nil
	}
}

// waitReady polls base/api/health until it answers 200.
func (in *instance) waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-in.exited:
			t.Fatalf("run returned before serving: %v\nstderr:\n%s", in.err, in.stderr.String())
		default:
		}
		resp, err := in.client.Get(base + "/api/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status + " " + string(body)
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/api/health not 200 within %v; last: %s\nstderr:\n%s", base, readyTimeout, last, in.stderr.String())
}

// get does a GET with optional headers and returns the response and its body.
func (in *instance) get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, body
}

func checkEmptyCatalogue(t *testing.T, in *instance, base string) {
	t.Helper()
	resp, body := in.get(t, base+"/api/videos")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/videos: %s %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET /api/videos Content-Type = %q, want application/json", ct)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatalf("GET /api/videos body is not JSON: %v: %q", err, body)
	}
	if got, want := compact.String(), `{"items":[],"next":""}`; got != want {
		t.Errorf("GET /api/videos = %s, want %s", got, want)
	}
}

func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr

	in := startServe(t, addr, data, nil)
	in.waitReady(t, base)

	resp, body := in.get(t, base+"/api/health")
	var health struct {
		Status  string            `json:"status"`
		Service string            `json:"service"`
		Checks  map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(body, &health); err != nil {
		t.Fatalf("health body %q: %v", body, err)
	}
	if resp.StatusCode != http.StatusOK || health.Status != "ok" || health.Checks["database"] != "ok" || health.Checks["objects"] != "ok" {
		t.Errorf("health = %s %s, want 200 with database and objects ok", resp.Status, body)
	}

	checkEmptyCatalogue(t, in, base)

	if out := in.stdout.String(); !strings.Contains(out, "running at "+base+" ") || !strings.Contains(out, base+"/api/videos") {
		t.Errorf("stdout does not name %s: %q", base, out)
	}

	// The client holds an idle keep-alive connection: shutdown must not
	// wait for it.
	start := time.Now()
	if err := in.stop(t); err != nil {
		t.Fatalf("run after cancel = %v, want nil\nstderr:\n%s", err, in.stderr.String())
	}
	t.Logf("graceful shutdown took %v", time.Since(start))
	if !strings.Contains(in.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no 'stopped' log line; stderr:\n%s", in.stderr.String())
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after run returned", addr)
	}

	// The database was written where the data directory says, closed
	// cleanly, and opens again.
	dbPath := filepath.Join(data, "ginflix.db")
	if _, err := os.Stat(dbPath); err != nil {
		t.Fatalf("database file: %v", err)
	}
	// sqlite.DB.Close checkpoints the WAL; SQLite removes the -wal file
	// when the last connection closes, so one left over means run
	// returned without closing the database.
	if _, err := os.Stat(dbPath + "-wal"); !os.IsNotExist(err) {
		t.Errorf("%s-wal still exists after run returned (database not closed?): %v", dbPath, err)
	}
	if st, err := os.Stat(filepath.Join(data, "objects")); err != nil || !st.IsDir() {
		t.Errorf("objects directory under the data directory: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatalf("reopening %s: %v", dbPath, err)
	}
	n, err := db.CountUsers(ctx)
	if err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1 (the first admin), nil", n, err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("closing the reopened database: %v", err)
	}

	// A second run on the same data directory starts: migrations are
	// idempotent and nothing was left locked.
	addr2 := freeAddr(t)
	base2 := "http://" + addr2
	in2 := startServe(t, addr2, data, nil)
	in2.waitReady(t, base2)
	checkEmptyCatalogue(t, in2, base2)
	if err := in2.stop(t); err != nil {
		t.Fatalf("second run after cancel = %v, want nil\nstderr:\n%s", err, in2.stderr.String())
	}
}

// With --addr HOST:0 the kernel picks the port; the URL printed names it.
func TestServePortZero(t *testing.T) {
	in := startServe(t, "127.0.0.1:0", t.TempDir(), nil)
	re := regexp.MustCompile(`running at (http://127\.0\.0\.1:(\d+)) `)
	deadline := time.Now().Add(readyTimeout)
	var m []string
	for m == nil && time.Now().Before(deadline) {
		select {
		case <-in.exited:
			t.Fatalf("run returned: %v\nstderr:\n%s", in.err, in.stderr.String())
		default:
		}
		m = re.FindStringSubmatch(in.stdout.String())
		if m == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if m == nil {
		t.Fatalf("no URL on stdout within %v: %q", readyTimeout, in.stdout.String())
	}
	if m[2] == "0" {
		t.Fatalf("printed URL %s names port 0", m[1])
	}
	in.waitReady(t, m[1])
	checkEmptyCatalogue(t, in, m[1])
	if err := in.stop(t); err != nil {
		t.Fatal(err)
	}
}

func TestServeJSONLogs(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	in := startServe(t, addr, t.TempDir(), map[string]string{"GINFLIX_LOG_FORMAT": "json"})
	in.waitReady(t, base)

	const givenID = "e2e-request-0001"
	resp, _ := in.get(t, base+"/api/videos", "X-Request-Id", givenID)
	if got := resp.Header.Get("X-Request-Id"); got != givenID {
		t.Errorf("X-Request-Id echoed as %q, want %q", got, givenID)
	}
	resp, _ = in.get(t, base+"/api/videos?limit=5")
	generatedID := resp.Header.Get("X-Request-Id")
	if generatedID == "" || generatedID == givenID {
		t.Errorf("generated X-Request-Id = %q, want a fresh id", generatedID)
	}
	resp, _ = in.get(t, base+"/api/videos/not-an-id!")
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("GET /api/videos/not-an-id! = %s, want a 4xx", resp.Status)
	}
	if err := in.stop(t); err != nil {
		t.Fatal(err)
	}

	stderr := in.stderr.String()
	seen := map[string]bool{}
	var requests []map[string]any
	for i, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line %d is not a JSON object: %v: %q", i+1, err, line)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k].(string); !ok {
				t.Errorf("stderr line %d has no string %q: %q", i+1, k, line)
			}
		}
		msg, _ := rec["msg"].(string)
		seen[msg] = true
		if msg == "request" {
			requests = append(requests, rec)
		}
	}
	for _, msg := range []string{"database", "object store", "ginflix started", "shutting down", "stopped"} {
		if !seen[msg] {
			t.Errorf("no %q log line in:\n%s", msg, stderr)
		}
	}

	find := func(id string) map[string]any {
		for _, r := range requests {
			if r["request_id"] == id {
				return r
			}
		}
		return nil
	}
	r := find(givenID)
	if r == nil {
		t.Fatalf("no request line with request_id %q in:\n%s", givenID, stderr)
	}
	if r["path"] != "/api/videos" || r["method"] != "GET" || r["status"] != float64(200) || r["level"] != "INFO" {
		t.Errorf("request line = %v, want GET /api/videos 200 at INFO", r)
	}
	if find(generatedID) == nil {
		t.Errorf("no request line with the generated request_id %q", generatedID)
	}
	for _, r := range requests {
		if id, _ := r["request_id"].(string); id == "" {
			t.Errorf("request line without request_id: %v", r)
		}
		if r["path"] == "/api/videos/not-an-id!" && r["level"] != "WARN" {
			t.Errorf("4xx request logged at %v, want WARN", r["level"])
		}
	}
}

func TestServeTextLogs(t *testing.T) {
	addr := freeAddr(t)
	in := startServe(t, addr, t.TempDir(), map[string]string{"GINFLIX_LOG_FORMAT": "text"})
	in.waitReady(t, "http://"+addr)
	in.get(t, "http://"+addr+"/api/videos", "X-Request-Id", "text-request-0001")
	if err := in.stop(t); err != nil {
		t.Fatal(err)
	}
	stderr := in.stderr.String()
	if !strings.Contains(stderr, "msg=request") || !strings.Contains(stderr, "request_id=text-request-0001") {
		t.Errorf("text log lacks the request line:\n%s", stderr)
	}
	if strings.Contains(stderr, `{"time"`) {
		t.Errorf("text format wrote JSON:\n%s", stderr)
	}
}

// A busy port is an error from run, not a hang.
func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var out, errOut testutil.SyncBuffer
	err = run(ctx, []string{"ginflix", "serve", "--addr", ln.Addr().String(), "--data", t.TempDir()}, envOf(nil), strings.NewReader(""), &out, &errOut)
	wantErr(t, err, "listen")
	if ctx.Err() != nil {
		t.Error("run only returned when the context expired")
	}
	if strings.Contains(out.String(), "running at") {
		t.Errorf("stdout claims the server runs: %q", out.String())
	}
}

func TestServeDataDirIsAFile(t *testing.T) {
	file := writeFile(t, "not-a-dir", "x")
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var out, errOut testutil.SyncBuffer
	err := run(ctx, []string{"ginflix", "serve", "--addr", freeAddr(t), "--data", file}, envOf(nil), strings.NewReader(""), &out, &errOut)
	wantErr(t, err, "data directory")
}

// TestWebRoleBesideTheAPI: all-in-one, the web apps own every path but
// the API's, the provider's and the streamer's.
func TestWebRoleBesideTheAPI(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	in := startServe(t, addr, t.TempDir(), nil)
	in.waitReady(t, base)
	for path, want := range map[string]string{
		"/":                                      "text/html",
		"/watch/some-video":                      "text/html",
		"/admin/uploads":                         "text/html",
		"/api/nope":                              "application/json",
		"/stream/health":                         "application/json",
		"/oidc/.well-known/openid-configuration": "application/json",
	} {
		res, body := in.get(t, base+path)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), want) {
			t.Errorf("%s: %s %q %.80s", path, res.Status, res.Header.Get("Content-Type"), body)
		}
	}
	if res, _ := in.get(t, base+"/api/nope"); res.StatusCode != 404 {
		t.Errorf("/api/nope: %s", res.Status)
	}
}
