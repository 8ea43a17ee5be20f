package tus_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/tus"
)

const clientTestToken = "client-token-never-shown-0123"

// finished is one call of the test Finisher.
type finished struct {
	U   tus.Upload
	SHA string
}

// tusServer is the real Handler behind a stand-in for the admin guard,
// which also counts PATCH bytes and can inject faults.
type tusServer struct {
	t   *testing.T
	h   *tus.Handler
	srv *httptest.Server

	mu       sync.Mutex
	finishes []finished
	patches  int
	// fault, if set, is asked before each PATCH (n counts from 1):
	// "" passes it, "503" answers 503, "drop" closes the connection
	// before reading, "lose" handles it and then closes the connection
	// instead of answering, "cut" stores the first half of the chunk, calls
	// onCut and closes the connection: what the server sees of a client
	// interrupted mid-chunk, without tusd meeting a disconnect (tusd
	// v2.9.1 has a data race on that path, which -race reports).
	fault func(n int) string
	onCut func()

	patchBytes atomic.Int64
	requests   atomic.Int64
	inflight   atomic.Int64
	byAgent    map[string]*atomic.Int64
}

// quiesce waits until no request has been handled for 100 ms: a
// cancelled client returns before the server is done with what it sent.
func (s *tusServer) quiesce() {
	deadline := time.Now().Add(10 * time.Second)
	for idle := 0; idle < 20 && time.Now().Before(deadline); {
		n := s.requests.Load()
		time.Sleep(5 * time.Millisecond)
		if s.inflight.Load() == 0 && s.requests.Load() == n {
			idle++
		} else {
			idle = 0
		}
	}
}

// sentBy is how many PATCH bytes requests with this User-Agent carried.
func (s *tusServer) sentBy(ua string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byAgent[ua].Load()
}

func newTusServer(t *testing.T, mod func(*tus.Config)) *tusServer {
	t.Helper()
	s := &tusServer{t: t}
	cfg := tus.Config{Dir: filepath.Join(t.TempDir(), "uploads"), MaxSize: 64 << 20, AbandonAfter: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&cfg)
	}
	h, err := tus.New(cfg, func(ctx context.Context, u tus.Upload) (string, error) {
		b, err := os.ReadFile(u.Path)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		s.mu.Lock()
		s.finishes = append(s.finishes, finished{U: u, SHA: hex.EncodeToString(sum[:])})
		s.mu.Unlock()
		return "vid-" + u.ID, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	mux := http.NewServeMux()
	mux.Handle("/api/uploads/", s)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *tusServer) setFault(fault func(n int) string, onCut func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.onCut = fault, onCut
}

func (s *tusServer) endpoint() string { return s.srv.URL + "/api/uploads/" }

func (s *tusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if r.Header.Get("Authorization") != "Bearer "+clientTestToken {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"Sign in first."}}`)
		return
	}
	r = r.WithContext(ginflix.NewContextWithPrincipal(r.Context(), &ginflix.Principal{Subject: "importer", Admin: true}))
	if r.Method != http.MethodPatch {
		s.h.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	s.patches++
	n, fault, onCut := s.patches, s.fault, s.onCut
	s.mu.Unlock()
	var what string
	if fault != nil {
		what = fault(n)
	}
	s.mu.Lock()
	if s.byAgent == nil {
		s.byAgent = map[string]*atomic.Int64{}
	}
	ua := s.byAgent[r.UserAgent()]
	if ua == nil {
		ua = new(atomic.Int64)
		s.byAgent[r.UserAgent()] = ua
	}
	s.mu.Unlock()
	r.Body = &countBody{ReadCloser: r.Body, n: &s.patchBytes, ua: ua}
	switch what {
	case "503":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":"unavailable","message":"Try again later."}}`)
	case "drop":
		s.hijackClose(w)
	case "lose":
		s.h.ServeHTTP(httptest.NewRecorder(), r)
		s.hijackClose(w)
	case "cut":
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(r.Body, r.ContentLength/2), r.Body}
		s.h.ServeHTTP(httptest.NewRecorder(), r)
		if onCut != nil {
			onCut()
		}
		s.hijackClose(w)
	default:
		s.h.ServeHTTP(w, r)
	}
}

func (s *tusServer) hijackClose(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		s.t.Error(err)
		return
	}
	conn.Close()
}

func (s *tusServer) finished() []finished {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.finishes)
}

type countBody struct {
	io.ReadCloser
	n, ua *atomic.Int64
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	b.ua.Add(int64(n))
	return n, err
}

// sourceFile writes n random bytes to dir/name and returns the path and
// the SHA-256.
func sourceFile(t *testing.T, name string, n int) (string, string) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

// logSink collects Logf output.
type logSink struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (s *tusServer) client(stateFile string, logs *logSink, tokenCalls *atomic.Int64) *tus.Client {
	c := &tus.Client{
		Endpoint:    s.endpoint(),
		HTTPClient:  s.srv.Client(),
		ChunkSize:   256 << 10,
		RetryDelays: []time.Duration{time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond},
		StateFile:   stateFile,
		Token: func(ctx context.Context) (string, error) {
			if tokenCalls != nil {
				tokenCalls.Add(1)
			}
			return clientTestToken, nil
		},
	}
	if logs != nil {
		c.Logf = logs.logf
		s.t.Cleanup(func() {
			if strings.Contains(logs.String(), clientTestToken) {
				s.t.Errorf("the token reached the client's log:\n%s", logs)
			}
		})
	}
	return c
}

func stateEntries(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), `"url"`)
}

func TestClientFullUpload(t *testing.T) {
	s := newTusServer(t, nil)
	src, sum := sourceFile(t, "Démo «test».mp4", 1<<20+12345)
	state := filepath.Join(t.TempDir(), "state", "uploads.json")
	var tokens atomic.Int64
	logs := &logSink{}
	c := s.client(state, logs, &tokens)

	var calls [][2]int64
	vid, err := c.Upload(t.Context(), src, tus.Metadata{Title: "Démo", Description: "Une\nligne", Tags: []string{"test", " démo "}},
		func(sent, total int64) { calls = append(calls, [2]int64{sent, total}) })
	if err != nil {
		t.Fatal(err)
	}
	f := s.finished()
	if len(f) != 1 {
		t.Fatalf("%d finisher calls, want 1", len(f))
	}
	u := f[0].U
	if vid != "vid-"+u.ID {
		t.Errorf("video id %q, want vid-%s", vid, u.ID)
	}
	if f[0].SHA != sum || u.Size != 1<<20+12345 {
		t.Errorf("the server got %d bytes with SHA-256 %s, want %s", u.Size, f[0].SHA, sum)
	}
	if u.Filename != "Démo «test».mp4" || u.Title != "Démo" || u.Description != "Une\nligne" || !slices.Equal(u.Tags, []string{"test", "démo"}) {
		t.Errorf("metadata: %+v", u)
	}
	if got := s.patchBytes.Load(); got != u.Size {
		t.Errorf("%d bytes sent for a %d-byte file", got, u.Size)
	}
	if n := tokens.Load(); n != s.requests.Load() {
		t.Errorf("Token called %d times for %d requests", n, s.requests.Load())
	}
	last := calls[len(calls)-1]
	if last != [2]int64{u.Size, u.Size} || calls[0][0] != 0 {
		t.Errorf("progress from %v to %v", calls[0], last)
	}
	if n := stateEntries(t, state); n != 0 {
		t.Errorf("%d uploads still remembered after success", n)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an empty state file is left behind: %v", err)
	}
}

func TestClientResumesAcrossRuns(t *testing.T) {
	s := newTusServer(t, nil)
	const size = 4 << 20
	src, sum := sourceFile(t, "long.mkv", size)
	state := filepath.Join(t.TempDir(), "uploads.json")
	logs := &logSink{}

	// First run: interrupted (as by Ctrl-C) in the middle of the ninth chunk.
	ctx, cancel := context.WithCancel(t.Context())
	s.setFault(func(n int) string {
		if n == 9 {
			return "cut"
		}
		return ""
	}, cancel)
	run1 := s.client(state, logs, nil)
	run1.UserAgent = "run1"
	_, err := run1.Upload(ctx, src, tus.Metadata{}, nil)
	cancel()
	s.setFault(nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted upload: %v", err)
	}
	if n := stateEntries(t, state); n != 1 {
		t.Fatalf("%d uploads remembered after the interruption, want 1", n)
	}
	if len(s.finished()) != 0 {
		t.Fatal("an interrupted upload was finished")
	}
	// Second run, a new Client as a new process would make.
	var startAt int64 = -1
	run2 := s.client(state, logs, nil)
	run2.UserAgent = "run2"
	vid, err := run2.Upload(t.Context(), src, tus.Metadata{}, func(sent, total int64) {
		if startAt < 0 {
			startAt = sent
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	s.quiesce()
	first, second := s.sentBy("run1"), s.sentBy("run2")
	f := s.finished()
	if len(f) != 1 || vid != "vid-"+f[0].U.ID {
		t.Fatalf("finisher calls %+v, video %q", f, vid)
	}
	if f[0].SHA != sum {
		t.Errorf("the resumed upload's SHA-256 is %s, want %s", f[0].SHA, sum)
	}
	// The server kept 8.5 chunks of the first run; the second sent the rest only.
	if want := int64(8<<18 + 1<<17); first != want || startAt != want || second != size-want {
		t.Errorf("the first run sent %d bytes, the second started at %d and sent %d; want %d, %d, %d",
			first, startAt, second, want, want, size-want)
	}
	if f[0].U.Filename != "long.mkv" || f[0].U.Title != "long" {
		t.Errorf("metadata: %+v", f[0].U)
	}
	if n := stateEntries(t, state); n != 0 {
		t.Errorf("%d uploads still remembered after success", n)
	}

	// A third run is a new upload (the state was forgotten).
	if _, err := s.client(state, nil, nil).Upload(t.Context(), src, tus.Metadata{}, nil); err != nil {
		t.Fatal(err)
	}
	if f := s.finished(); len(f) != 2 || f[1].U.ID == f[0].U.ID {
		t.Errorf("a third upload of the file did not start afresh: %+v", f)
	}
}

func TestClientRetriesTransientFailures(t *testing.T) {
	s := newTusServer(t, nil)
	src, sum := sourceFile(t, "clip.mp4", 1<<20) // 4 chunks
	s.setFault(func(n int) string {
		switch n {
		case 2:
			return "503"
		case 3:
			return "drop"
		case 6: // the last chunk (after the two failures): stored and finished, but the answer is lost
			return "lose"
		}
		return ""
	}, nil)
	logs := &logSink{}
	vid, err := s.client("", logs, nil).Upload(t.Context(), src, tus.Metadata{}, nil)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, logs)
	}
	f := s.finished()
	if len(f) != 1 || vid != "vid-"+f[0].U.ID || f[0].SHA != sum {
		t.Fatalf("video %q, finisher calls %+v", vid, f)
	}
	if l := logs.String(); !strings.Contains(l, "503") || strings.Count(l, "retrying") != 3 {
		t.Errorf("retries not logged as expected:\n%s", l)
	}
}

func TestClientGivesUpAfterRetries(t *testing.T) {
	s := newTusServer(t, nil)
	src, _ := sourceFile(t, "clip.mp4", 100_000)
	s.setFault(func(int) string { return "503" }, nil)
	state := filepath.Join(t.TempDir(), "uploads.json")
	_, err := s.client(state, nil, nil).Upload(t.Context(), src, tus.Metadata{}, nil)
	var ue *tus.UploadError
	if !errors.As(err, &ue) || ue.Status != 503 || !strings.Contains(err.Error(), "Try again later.") || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Fatalf("error %v", err)
	}
	// The upload is remembered for the next run.
	if n := stateEntries(t, state); n != 1 {
		t.Errorf("%d uploads remembered, want 1", n)
	}
	s.setFault(nil, nil)
	if _, err := s.client(state, nil, nil).Upload(t.Context(), src, tus.Metadata{}, nil); err != nil {
		t.Fatal(err)
	}
	if len(s.finished()) != 1 {
		t.Error("the next run did not finish the upload")
	}
}

func TestClientRefusals(t *testing.T) {
	s := newTusServer(t, func(c *tus.Config) { c.MaxSize = 1 << 20 })
	state := filepath.Join(t.TempDir(), "uploads.json")
	for _, tc := range []struct {
		name       string
		size       int
		status     int
		msg        string
		notRetried bool
	}{
		{"notes.txt", 1000, 400, `"notes.txt" is not an accepted video file`, true},
		{"big.mp4", 1<<20 + 1, 413, "", true},
	} {
		src, _ := sourceFile(t, tc.name, tc.size)
		before := s.requests.Load()
		_, err := s.client(state, nil, nil).Upload(t.Context(), src, tus.Metadata{}, nil)
		var ue *tus.UploadError
		if !errors.As(err, &ue) || ue.Status != tc.status || !strings.Contains(err.Error(), tc.msg) || ue.Op != "create" {
			t.Errorf("%s: error %v", tc.name, err)
			continue
		}
		if n := s.requests.Load() - before; n != 1 {
			t.Errorf("%s: %d requests for a final refusal", tc.name, n)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	if n := stateEntries(t, state); n != 0 {
		t.Errorf("refused uploads remembered: %d", n)
	}

	// A wrong token: 401 with the API's JSON message, no retry.
	src, _ := sourceFile(t, "clip.mp4", 1000)
	c := s.client(state, nil, nil)
	c.Token = func(context.Context) (string, error) { return "wrong", nil }
	_, err := c.Upload(t.Context(), src, tus.Metadata{}, nil)
	var ue *tus.UploadError
	if !errors.As(err, &ue) || ue.Status != 401 || ue.Message != "Sign in first." || ue.Code != "unauthorized" {
		t.Errorf("wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the token: %v", err)
	}
	// A Token function that fails stops the upload with its error.
	c.Token = func(context.Context) (string, error) { return "", errors.New("no credentials") }
	if _, err := c.Upload(t.Context(), src, tus.Metadata{}, nil); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("failing Token: %v", err)
	}
	// Files that cannot be uploaded fail before any request.
	empty := filepath.Join(t.TempDir(), "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	for _, p := range []string{empty, filepath.Join(t.TempDir(), "missing.mp4"), t.TempDir()} {
		before := s.requests.Load()
		if _, err := s.client(state, nil, nil).Upload(t.Context(), p, tus.Metadata{}, nil); err == nil || s.requests.Load() != before {
			t.Errorf("%s: error %v after %d requests", p, err, s.requests.Load()-before)
		}
	}
}

// TestClientStartsOverWhenTheServerForgot: a remembered upload the server
// deleted (404 on HEAD) is forgotten and the file sent afresh.
func TestClientStartsOverWhenTheServerForgot(t *testing.T) {
	s := newTusServer(t, nil)
	src, sum := sourceFile(t, "clip.webm", 1<<20)
	state := filepath.Join(t.TempDir(), "uploads.json")
	ctx, cancel := context.WithCancel(t.Context())
	s.setFault(func(n int) string { return map[bool]string{true: "cut"}[n == 2] }, cancel)
	var loc string
	_, err := s.client(state, nil, nil).Upload(ctx, src, tus.Metadata{}, nil)
	cancel()
	s.setFault(nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(state)
	if i := bytes.Index(b, []byte(`"url": "`)); i >= 0 {
		loc, _, _ = strings.Cut(string(b[i+8:]), `"`)
	}
	if !strings.HasPrefix(loc, s.endpoint()) {
		t.Fatalf("state file %s", b)
	}
	req, _ := http.NewRequest(http.MethodDelete, loc, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+clientTestToken)
	res, err := s.srv.Client().Do(req)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("DELETE: %v %v", res, err)
	}
	res.Body.Close()

	sentBefore := s.patchBytes.Load()
	vid, err := s.client(state, nil, nil).Upload(t.Context(), src, tus.Metadata{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := s.finished()
	if len(f) != 1 || vid != "vid-"+f[0].U.ID || f[0].SHA != sum || strings.HasSuffix(loc, f[0].U.ID) {
		t.Fatalf("video %q, finisher calls %+v", vid, f)
	}
	if got := s.patchBytes.Load() - sentBefore; got != 1<<20 {
		t.Errorf("sent %d bytes after the server forgot, want the whole file", got)
	}
	if n := stateEntries(t, state); n != 0 {
		t.Errorf("%d uploads remembered", n)
	}
}

// TestClientStateKey: a changed file is not resumed into the old upload.
func TestClientStateKey(t *testing.T) {
	s := newTusServer(t, nil)
	src, _ := sourceFile(t, "clip.mp4", 1<<20)
	state := filepath.Join(t.TempDir(), "uploads.json")
	ctx, cancel := context.WithCancel(t.Context())
	s.setFault(func(n int) string { return map[bool]string{true: "cut"}[n == 2] }, cancel)
	_, err := s.client(state, nil, nil).Upload(ctx, src, tus.Metadata{}, nil)
	cancel()
	s.setFault(nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// Same size, new contents and modification time.
	b := make([]byte, 1<<20)
	rand.Read(b)
	os.WriteFile(src, b, 0o644)
	later := time.Now().Add(time.Minute)
	os.Chtimes(src, later, later)
	sum := sha256.Sum256(b)
	if _, err := s.client(state, nil, nil).Upload(t.Context(), src, tus.Metadata{}, nil); err != nil {
		t.Fatal(err)
	}
	if f := s.finished(); len(f) != 1 || f[0].SHA != hex.EncodeToString(sum[:]) {
		t.Fatalf("finisher calls %+v", f)
	}
	// The entry of the old file is left to expire (StateTTL); the new one is gone.
	if n := stateEntries(t, state); n != 1 {
		t.Errorf("%d uploads remembered, want the old file's one", n)
	}
}

func TestDefaultStateFile(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if p, _ := tus.DefaultStateFile(env(map[string]string{"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"})); p != "/x/state/ginflix/uploads.json" {
		t.Errorf("with XDG_STATE_HOME: %s", p)
	}
	if p, _ := tus.DefaultStateFile(env(map[string]string{"XDG_STATE_HOME": "relative", "HOME": "/home/u"})); p != "/home/u/.local/state/ginflix/uploads.json" {
		t.Errorf("with HOME: %s", p)
	}
}
