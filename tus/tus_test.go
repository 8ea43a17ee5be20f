package tus

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/internal/testutil"
)

const (
	testToken  = "secret-token-xyz-never-logged"
	testMarker = "GINFLIX-CONTENT-MARKER-0123456789"
	mib        = 1 << 20
)

// recorder is the Finisher of the tests: it checks the bytes at u.Path
// and derives the video id from the upload id, as the real one does.
type recorder struct {
	mu    sync.Mutex
	calls []finishCall
	fail  []error // errors to return on the next calls, in order
	delay time.Duration
}

type finishCall struct {
	U   Upload
	SHA string
	Len int64
}

func (rc *recorder) finish(ctx context.Context, u Upload) (string, error) {
	f, err := os.Open(u.Path)
	if err != nil {
		return "", err
	}
	hs := sha256.New()
	n, err := io.Copy(hs, f)
	f.Close()
	if err != nil {
		return "", err
	}
	if rc.delay > 0 {
		time.Sleep(rc.delay)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls = append(rc.calls, finishCall{U: u, SHA: hex.EncodeToString(hs.Sum(nil)), Len: n})
	if len(rc.fail) > 0 {
		err := rc.fail[0]
		rc.fail = rc.fail[1:]
		return "", err
	}
	return "vid-" + u.ID, nil
}

func (rc *recorder) snapshot() []finishCall {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.calls)
}

type fakeClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	h     *Handler
	srv   *httptest.Server
	rec   *recorder
	dir   string
	clock *fakeClock
	logs  *testutil.SyncBuffer
}

// withPrincipal stands for the admin guard: X-Test-Subject names the
// caller (default alice), X-Test-Admin: 0 drops the admin role,
// X-Test-Anonymous sends no principal.
func withPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Anonymous") != "" {
			next.ServeHTTP(w, r)
			return
		}
		sub := r.Header.Get("X-Test-Subject")
		if sub == "" {
			sub = "alice"
		}
		p := &ginflix.Principal{Subject: sub, Admin: r.Header.Get("X-Test-Admin") != "0"}
		next.ServeHTTP(w, r.WithContext(ginflix.NewContextWithPrincipal(r.Context(), p)))
	})
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, rec: &recorder{}, dir: filepath.Join(t.TempDir(), "uploads"), clock: &fakeClock{}, logs: &testutil.SyncBuffer{}}
	cfg := Config{
		BasePath:     "/api/uploads/",
		Dir:          e.dir,
		MaxSize:      8 * mib,
		AbandonAfter: time.Hour,
		Logger:       slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          e.clock.now,
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg, e.rec.finish)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	mux := http.NewServeMux()
	mux.Handle("/api/uploads/", withPrincipal(h))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.srv.Close()
		if l := e.logs.String(); strings.Contains(l, testToken) || strings.Contains(l, testMarker) {
			t.Errorf("the log shows the token or file contents:\n%s", l)
		}
	})
	return e
}

type resp struct {
	Status int
	Header http.Header
	Body   string
}

func (e *env) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return e.srv.URL + path
}

// do sends one request as a tus client would; hdr overrides the defaults
// (an empty value deletes a header).
func (e *env) do(method, path string, hdr map[string]string, body []byte) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url(path), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

func encodeMeta(meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(meta[k])))
	}
	return strings.Join(parts, ",")
}

// create POSTs a new upload and returns its URL and id.
func (e *env) create(meta map[string]string, size int64) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/api/uploads/", map[string]string{
		"Upload-Length":   strconv.FormatInt(size, 10),
		"Upload-Metadata": encodeMeta(meta),
	}, nil)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	loc := r.Header.Get("Location")
	id := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.HasPrefix(loc, e.srv.URL+"/api/uploads/") || !validUploadID(id) {
		e.t.Fatalf("Location %q", loc)
	}
	return loc, id
}

func (e *env) patch(loc string, offset int64, chunk []byte, hdr map[string]string) resp {
	e.t.Helper()
	h := map[string]string{
		"Content-Type":  "application/offset+octet-stream",
		"Upload-Offset": strconv.FormatInt(offset, 10),
	}
	for k, v := range hdr {
		h[k] = v
	}
	return e.do("PATCH", loc, h, chunk)
}

func randomFile(t *testing.T, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	copy(b, testMarker)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// files lists the names in the upload dir.
func (e *env) files() []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	sort.Strings(out)
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOptions(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("OPTIONS", "/api/uploads/", map[string]string{"Tus-Resumable": ""}, nil)
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("OPTIONS: %d %s", r.Status, r.Body)
	}
	if v := r.Header.Get("Tus-Version"); v != "1.0.0" {
		t.Errorf("Tus-Version = %q", v)
	}
	if v := r.Header.Get("Tus-Max-Size"); v != strconv.Itoa(8*mib) {
		t.Errorf("Tus-Max-Size = %q", v)
	}
	ext := strings.Split(r.Header.Get("Tus-Extension"), ",")
	for _, want := range []string{"creation", "creation-with-upload", "termination", "creation-defer-length"} {
		if !slices.Contains(ext, want) {
			t.Errorf("Tus-Extension %v lacks %s", ext, want)
		}
	}
	if slices.Contains(ext, "concatenation") {
		t.Errorf("Tus-Extension %v offers concatenation", ext)
	}

	// A browser's preflight sees the video id header exposed.
	r = e.do("PATCH", "/api/uploads/"+strings.Repeat("0", 24), map[string]string{"Origin": "https://ginflix.example"}, nil)
	if v := r.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(v, HeaderVideoID) {
		t.Errorf("Access-Control-Expose-Headers = %q", v)
	}
}

func TestFullUpload(t *testing.T) {
	e := newEnv(t, nil)
	data, sum := randomFile(t, 3*mib+12345)
	size := int64(len(data))
	loc, id := e.create(map[string]string{
		"filename":         "My Movie.MP4",
		"description":      "Line one\nline two",
		"tags":             " Action, drama,action ,",
		"ginflix_uploader": "mallory", // never trusted
		"filetype":         "video/mp4",
	}, size)

	if got := e.files(); !slices.Equal(got, []string{id, id + ".info"}) {
		t.Fatalf("files after POST: %v", got)
	}
	r := e.do("HEAD", loc, nil, nil)
	if r.Status != 200 || r.Header.Get("Upload-Offset") != "0" || r.Header.Get("Upload-Length") != strconv.FormatInt(size, 10) {
		t.Fatalf("HEAD: %d %v", r.Status, r.Header)
	}

	chunk := int64(mib + 4000)
	var last resp
	for off := int64(0); off < size; off += chunk {
		end := min(off+chunk, size)
		last = e.patch(loc, off, data[off:end], nil)
		if last.Status != http.StatusNoContent || last.Header.Get("Upload-Offset") != strconv.FormatInt(end, 10) {
			t.Fatalf("PATCH @%d: %d %s %v", off, last.Status, last.Body, last.Header)
		}
		if end < size {
			if v := last.Header.Get(HeaderVideoID); v != "" {
				t.Fatalf("intermediate PATCH carries %s: %q", HeaderVideoID, v)
			}
			if n := len(e.rec.snapshot()); n != 0 {
				t.Fatalf("finisher called before the end (%d)", n)
			}
		}
	}
	if v := last.Header.Get(HeaderVideoID); v != "vid-"+id {
		t.Fatalf("last PATCH %s = %q", HeaderVideoID, v)
	}

	calls := e.rec.snapshot()
	if len(calls) != 1 {
		t.Fatalf("finisher called %d times", len(calls))
	}
	c := calls[0]
	u := c.U
	if u.ID != id || u.Size != size || c.Len != size || c.SHA != sum {
		t.Errorf("finisher got id %s size %d len %d sha %s; want %s %d %s", u.ID, u.Size, c.Len, c.SHA, id, size, sum)
	}
	if u.Filename != "My Movie.MP4" || u.Title != "My Movie" || u.Description != "Line one\nline two" {
		t.Errorf("metadata: %+v", u)
	}
	if !slices.Equal(u.Tags, []string{"action", "drama"}) {
		t.Errorf("tags: %q", u.Tags)
	}
	if u.UploaderID != "alice" {
		t.Errorf("UploaderID = %q, want the principal's subject", u.UploaderID)
	}
	if u.Path != filepath.Join(e.dir, id) {
		t.Errorf("Path = %q", u.Path)
	}

	// The files are gone; a tombstone answers late requests.
	if got := e.files(); !slices.Equal(got, []string{id + ".done"}) {
		t.Fatalf("files after finishing: %v", got)
	}
	r = e.do("HEAD", loc, nil, nil)
	if r.Status != 200 || r.Header.Get("Upload-Offset") != strconv.FormatInt(size, 10) ||
		r.Header.Get("Upload-Length") != strconv.FormatInt(size, 10) || r.Header.Get(HeaderVideoID) != "vid-"+id {
		t.Errorf("HEAD after finishing: %d %v", r.Status, r.Header)
	}
	// A client retrying its last PATCH (the response was lost) gets the video.
	r = e.patch(loc, size, nil, nil)
	if r.Status != http.StatusNoContent || r.Header.Get(HeaderVideoID) != "vid-"+id {
		t.Errorf("PATCH retry after finishing: %d %s %v", r.Status, r.Body, r.Header)
	}
	if r = e.patch(loc, 10, nil, nil); r.Status != http.StatusConflict {
		t.Errorf("PATCH at a wrong offset after finishing: %d", r.Status)
	}
	if n := len(e.rec.snapshot()); n != 1 {
		t.Errorf("finisher called %d times in all", n)
	}
}

func TestCreationWithUpload(t *testing.T) {
	e := newEnv(t, nil)
	data, sum := randomFile(t, 100_000)
	r := e.do("POST", "/api/uploads/", map[string]string{
		"Upload-Length":   strconv.Itoa(len(data)),
		"Upload-Metadata": encodeMeta(map[string]string{"filename": "clip.webm", "title": "  A clip "}),
		"Content-Type":    "application/offset+octet-stream",
	}, data)
	if r.Status != http.StatusCreated || r.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Fatalf("POST with data: %d %s %v", r.Status, r.Body, r.Header)
	}
	loc := r.Header.Get("Location")
	id := loc[strings.LastIndex(loc, "/")+1:]
	if r.Header.Get(HeaderVideoID) != "vid-"+id {
		t.Errorf("%s = %q", HeaderVideoID, r.Header.Get(HeaderVideoID))
	}
	calls := e.rec.snapshot()
	if len(calls) != 1 || calls[0].SHA != sum || calls[0].U.Title != "A clip" {
		t.Fatalf("finisher calls: %+v", calls)
	}
}

func TestDeferredLength(t *testing.T) {
	e := newEnv(t, nil)
	data, sum := randomFile(t, 300_000)
	r := e.do("POST", "/api/uploads/", map[string]string{
		"Upload-Defer-Length": "1",
		"Upload-Metadata":     encodeMeta(map[string]string{"filename": "live.ts"}),
	}, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	loc := r.Header.Get("Location")
	if r = e.patch(loc, 0, data[:100_000], nil); r.Status != 204 {
		t.Fatalf("PATCH 1: %d %s", r.Status, r.Body)
	}
	r = e.patch(loc, 100_000, data[100_000:], map[string]string{"Upload-Length": strconv.Itoa(len(data))})
	if r.Status != 204 || !strings.HasPrefix(r.Header.Get(HeaderVideoID), "vid-") {
		t.Fatalf("PATCH 2: %d %s %v", r.Status, r.Body, r.Header)
	}
	if calls := e.rec.snapshot(); len(calls) != 1 || calls[0].SHA != sum || calls[0].U.Size != int64(len(data)) {
		t.Fatalf("finisher calls: %+v", calls)
	}
}

func TestInterruptedPatch(t *testing.T) {
	e := newEnv(t, nil)
	data, sum := randomFile(t, 2*mib)
	size := int64(len(data))
	loc, id := e.create(map[string]string{"filename": "talk.mkv"}, size)

	// Send the whole file in one PATCH but stop after sent bytes, as a
	// browser tab that closes or a network that drops does.
	const sent = 700_000
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "PATCH", loc, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", "0")
	client := &http.Client{Transport: &http.Transport{}}
	done := make(chan error, 1)
	go func() {
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	if _, err := pw.Write(data[:sent]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to store the bytes sent", func() bool {
		fi, err := os.Stat(filepath.Join(e.dir, id))
		return err == nil && fi.Size() >= sent
	})
	cancel()
	pw.CloseWithError(errors.New("connection lost"))
	if err := <-done; err == nil {
		t.Fatal("the interrupted PATCH succeeded")
	}

	r := e.do("HEAD", loc, nil, nil)
	if r.Status != 200 || r.Header.Get("Upload-Offset") != strconv.Itoa(sent) {
		t.Fatalf("HEAD after interruption: %d offset %q, want %d", r.Status, r.Header.Get("Upload-Offset"), sent)
	}
	if n := len(e.rec.snapshot()); n != 0 {
		t.Fatalf("finisher called for an unfinished upload")
	}

	// Resume from the reported offset.
	off, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	r = e.patch(loc, off, data[off:], nil)
	if r.Status != 204 || r.Header.Get(HeaderVideoID) != "vid-"+id {
		t.Fatalf("resumed PATCH: %d %s %v", r.Status, r.Body, r.Header)
	}
	if calls := e.rec.snapshot(); len(calls) != 1 || calls[0].SHA != sum || calls[0].Len != size {
		t.Fatalf("finisher calls: %+v", calls)
	}
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, nil)
	meta := encodeMeta(map[string]string{"filename": "a.mp4"})
	cases := []struct {
		name   string
		hdr    map[string]string
		status int
		body   string
	}{
		{"wrong Tus-Resumable", map[string]string{"Tus-Resumable": "0.2.2", "Upload-Length": "10", "Upload-Metadata": meta}, 412, "ERR_UNSUPPORTED_VERSION"},
		{"no Tus-Resumable", map[string]string{"Tus-Resumable": "", "Upload-Length": "10", "Upload-Metadata": meta}, 412, ""},
		{"no Upload-Length", map[string]string{"Upload-Metadata": meta}, 400, "ERR_INVALID_UPLOAD_LENGTH"},
		{"bad Upload-Length", map[string]string{"Upload-Length": "-3", "Upload-Metadata": meta}, 400, ""},
		{"over MaxSize", map[string]string{"Upload-Length": strconv.Itoa(8*mib + 1), "Upload-Metadata": meta}, 413, "ERR_MAX_SIZE_EXCEEDED"},
		{"empty file", map[string]string{"Upload-Length": "0", "Upload-Metadata": meta}, 400, "empty"},
		{"no metadata", map[string]string{"Upload-Length": "10"}, 400, `"filename" key is missing`},
		{"no filename", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"title": "x"})}, 400, "filename"},
		{"exe", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "evil.exe"})}, 400, "extension must be one of mp4"},
		{"no extension", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "movie"})}, 400, "extension"},
		{"double extension", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "movie.mp4.exe"})}, 400, "extension"},
		{"bidi override", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "evil\u202egpj.mp4"})}, 400, "control"},
		{"control character", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "a\nb.mp4"})}, 400, "control"},
		{"long filename", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": strings.Repeat("é", 126) + ".mp4"})}, 400, "255"},
		{"long title", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "a.mp4", "title": strings.Repeat("t", 301)})}, 400, "300"},
		{"bad tags", map[string]string{"Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "a.mp4", "tags": strings.Repeat("t", 65)})}, 400, "64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/uploads/", c.hdr, nil)
			if r.Status != c.status || !strings.Contains(r.Body, c.body) {
				t.Errorf("got %d %q, want %d containing %q", r.Status, r.Body, c.status, c.body)
			}
		})
	}
	if got := e.files(); len(got) != 0 {
		t.Errorf("refused creations left files: %v", got)
	}

	loc, id := e.create(map[string]string{"filename": "a.MOV"}, 1000)
	if r := e.patch(loc, 5, make([]byte, 10), nil); r.Status != http.StatusConflict {
		t.Errorf("PATCH at a wrong offset: %d %s", r.Status, r.Body)
	}
	if r := e.patch(loc, 0, make([]byte, 10), map[string]string{"Content-Type": "application/octet-stream"}); r.Status != 400 {
		t.Errorf("PATCH with a wrong Content-Type: %d", r.Status)
	}
	if r := e.patch(loc, 0, make([]byte, 10), map[string]string{"Tus-Resumable": ""}); r.Status != 412 {
		t.Errorf("PATCH without Tus-Resumable: %d", r.Status)
	}
	if r := e.patch(loc, 0, make([]byte, 1001), nil); r.Status != 413 {
		t.Errorf("PATCH past Upload-Length: %d", r.Status)
	}
	if r := e.do("HEAD", "/api/uploads/"+strings.Repeat("0", 24), nil, nil); r.Status != 404 {
		t.Errorf("HEAD of an unknown upload: %d", r.Status)
	}
	if r := e.do("HEAD", "/api/uploads/"+id+".info", nil, nil); r.Status != 404 {
		t.Errorf("HEAD of a non-id: %d", r.Status)
	}
	if r := e.do("PATCH", "/api/uploads/..%2F..%2Fetc%2Fpasswd", map[string]string{"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}, []byte("x")); r.Status != 404 {
		t.Errorf("PATCH of a path: %d", r.Status)
	}
	if r := e.do("GET", loc, nil, nil); r.Status != 405 {
		t.Errorf("GET (download) of an upload: %d", r.Status)
	}
	if r := e.do("PUT", "/api/uploads/", nil, nil); r.Status != 405 {
		t.Errorf("PUT: %d", r.Status)
	}
	if n := len(e.rec.snapshot()); n != 0 {
		t.Errorf("finisher called %d times", n)
	}
}

// TestFilenameIsNotAPath uploads a file named like a path traversal: the
// name is kept as a label, the bytes stay under Dir named by the id.
func TestFilenameIsNotAPath(t *testing.T) {
	e := newEnv(t, nil)
	data, sum := randomFile(t, 50_000)
	loc, id := e.create(map[string]string{"filename": "../../etc/passwd.mp4"}, int64(len(data)))
	if got := e.files(); !slices.Equal(got, []string{id, id + ".info"}) {
		t.Fatalf("files: %v", got)
	}
	var outside []string
	_ = filepath.WalkDir(filepath.Dir(e.dir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Dir(p) != e.dir {
			outside = append(outside, p)
		}
		return nil
	})
	if len(outside) != 0 {
		t.Fatalf("files outside the upload dir: %v", outside)
	}
	if r := e.patch(loc, 0, data, nil); r.Status != 204 {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	calls := e.rec.snapshot()
	if len(calls) != 1 {
		t.Fatalf("finisher calls: %d", len(calls))
	}
	u := calls[0].U
	if u.Filename != "../../etc/passwd.mp4" || u.Title != "passwd" || u.Path != filepath.Join(e.dir, id) || calls[0].SHA != sum {
		t.Errorf("upload: %+v", u)
	}
	for _, p := range []string{filepath.Join(e.dir, "../../etc/passwd.mp4"), filepath.Join(e.dir, "../etc")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists", p)
		}
	}
}

func TestTermination(t *testing.T) {
	e := newEnv(t, nil)
	loc, id := e.create(map[string]string{"filename": "a.avi"}, 5000)
	if r := e.patch(loc, 0, make([]byte, 1000), nil); r.Status != 204 {
		t.Fatalf("PATCH: %d", r.Status)
	}
	if r := e.do("DELETE", loc, nil, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if got := e.files(); len(got) != 0 {
		t.Errorf("files after DELETE: %v", got)
	}
	if r := e.do("HEAD", loc, nil, nil); r.Status != 404 {
		t.Errorf("HEAD after DELETE: %d", r.Status)
	}
	if r := e.patch(loc, 1000, make([]byte, 10), nil); r.Status != 404 {
		t.Errorf("PATCH after DELETE: %d", r.Status)
	}
	if r := e.do("DELETE", loc, nil, nil); r.Status != 404 {
		t.Errorf("second DELETE: %d", r.Status)
	}
	if n := len(e.rec.snapshot()); n != 0 || id == "" {
		t.Errorf("finisher called %d times", n)
	}
}

func TestAccess(t *testing.T) {
	e := newEnv(t, nil)
	loc, _ := e.create(map[string]string{"filename": "a.mp4"}, 100)
	anon := map[string]string{"X-Test-Anonymous": "1"}
	if r := e.do("POST", "/api/uploads/", map[string]string{"X-Test-Anonymous": "1", "Upload-Length": "10", "Upload-Metadata": encodeMeta(map[string]string{"filename": "a.mp4"})}, nil); r.Status != 401 {
		t.Errorf("anonymous POST: %d", r.Status)
	}
	if r := e.do("HEAD", loc, anon, nil); r.Status != 401 {
		t.Errorf("anonymous HEAD: %d", r.Status)
	}
	bob := map[string]string{"X-Test-Subject": "bob", "X-Test-Admin": "0"}
	if r := e.do("HEAD", loc, bob, nil); r.Status != 403 {
		t.Errorf("HEAD by another non-admin: %d", r.Status)
	}
	if r := e.do("DELETE", loc, bob, nil); r.Status != 403 {
		t.Errorf("DELETE by another non-admin: %d", r.Status)
	}
	if r := e.do("HEAD", loc, map[string]string{"X-Test-Subject": "bob"}, nil); r.Status != 200 {
		t.Errorf("HEAD by another admin: %d", r.Status)
	}
	if r := e.do("HEAD", loc, map[string]string{"X-Test-Admin": "0"}, nil); r.Status != 200 {
		t.Errorf("HEAD by the uploader without the admin role: %d", r.Status)
	}
	if r := e.patch(loc, 0, make([]byte, 100), bob); r.Status != 403 {
		t.Errorf("PATCH by another non-admin: %d", r.Status)
	}
	if r := e.patch(loc, 0, make([]byte, 100), nil); r.Status != 204 {
		t.Errorf("PATCH by the uploader: %d", r.Status)
	}
	if r := e.do("HEAD", loc, bob, nil); r.Status != 403 {
		t.Errorf("HEAD of a finished upload by another non-admin: %d", r.Status)
	}
}

// TestFinisherFailure: a failing Finisher answers the last PATCH with an
// error and keeps the upload; the client's retry (HEAD, then PATCH) runs
// the Finisher again with the same upload id.
func TestFinisherFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.rec.fail = []error{errors.New("object store unreachable: dial tcp"), ginflix.Errorf(ginflix.EUNAVAILABLE, "The object store is busy.")}
	data, sum := randomFile(t, 200_000)
	loc, id := e.create(map[string]string{"filename": "a.mp4"}, int64(len(data)))

	r := e.patch(loc, 0, data, nil)
	if r.Status != 500 || !strings.Contains(r.Body, "ERR_FINISH_FAILED") || !strings.Contains(r.Body, "retry") || strings.Contains(r.Body, "dial tcp") {
		t.Fatalf("last PATCH with a failing finisher: %d %q", r.Status, r.Body)
	}
	if got := e.files(); !slices.Equal(got, []string{id, id + ".info"}) {
		t.Fatalf("files after a failed finish: %v", got)
	}
	// tus-js-client retries with a HEAD: the Finisher runs again.
	if r = e.do("HEAD", loc, nil, nil); r.Status != 503 {
		t.Fatalf("HEAD, finisher failing again: %d", r.Status)
	}
	r = e.patch(loc, int64(len(data)), nil, nil)
	if r.Status != 204 || r.Header.Get(HeaderVideoID) != "vid-"+id || r.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Fatalf("PATCH retry: %d %s %v", r.Status, r.Body, r.Header)
	}
	calls := e.rec.snapshot()
	if len(calls) != 3 {
		t.Fatalf("finisher called %d times, want 3", len(calls))
	}
	for _, c := range calls {
		if c.U.ID != id || c.SHA != sum {
			t.Errorf("call: %+v", c)
		}
	}
	if got := e.files(); !slices.Equal(got, []string{id + ".done"}) {
		t.Errorf("files after finishing: %v", got)
	}

	// A permanent failure is a 4xx: clients stop retrying.
	e.rec.fail = []error{ginflix.Errorf(ginflix.EINVALID, "The file is not a video.")}
	loc, _ = e.create(map[string]string{"filename": "b.mp4"}, 10)
	r = e.patch(loc, 0, make([]byte, 10), nil)
	if r.Status != 422 || !strings.Contains(r.Body, "The file is not a video") {
		t.Errorf("invalid file: %d %q", r.Status, r.Body)
	}
	if r = e.do("HEAD", loc, nil, nil); r.Status != 200 || !strings.HasPrefix(r.Header.Get(HeaderVideoID), "vid-") {
		t.Errorf("HEAD retry: %d %v", r.Status, r.Header)
	}
}

// TestFinishTwice runs the finish path twice at once for one upload, and
// then two final PATCHes at once.
func TestFinishTwice(t *testing.T) {
	e := newEnv(t, nil)
	e.rec.fail = []error{errors.New("first try fails")}
	data, sum := randomFile(t, 100_000)
	loc, id := e.create(map[string]string{"filename": "a.mp4"}, int64(len(data)))
	if r := e.patch(loc, 0, data, nil); r.Status != 500 {
		t.Fatalf("PATCH: %d", r.Status)
	}
	up, err := e.h.store.GetUpload(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := up.GetInfo(context.Background())
	var wg sync.WaitGroup
	ids := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = e.h.complete(context.Background(), info)
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || ids[i] != "vid-"+id {
			t.Errorf("complete #%d: %q %v", i, ids[i], errs[i])
		}
	}
	for _, c := range e.rec.snapshot() {
		if c.U.ID != id || c.SHA != sum {
			t.Errorf("call: %+v", c)
		}
	}
	if got := e.files(); !slices.Equal(got, []string{id + ".done"}) {
		t.Errorf("files: %v", got)
	}

	// Two final PATCHes at once (a client retrying too early).
	e2 := newEnv(t, nil)
	e2.rec.delay = 50 * time.Millisecond
	data, sum = randomFile(t, 400_000)
	size := int64(len(data))
	loc, id = e2.create(map[string]string{"filename": "b.mp4"}, size)
	if r := e2.patch(loc, 0, data[:200_000], nil); r.Status != 204 {
		t.Fatalf("PATCH: %d", r.Status)
	}
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e2.patch(loc, 200_000, data[200_000:], nil).Status
		}()
	}
	wg.Wait()
	for _, s := range statuses {
		if s != 204 && s != 409 && s != 400 {
			t.Errorf("concurrent final PATCH: %d", s)
		}
	}
	// The client's resume logic: HEAD, then PATCH what is missing.
	var videoID string
	for range 3 {
		r := e2.do("HEAD", loc, nil, nil)
		if videoID = r.Header.Get(HeaderVideoID); videoID != "" {
			break
		}
		off, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
		e2.patch(loc, off, data[off:], nil)
	}
	if videoID != "vid-"+id {
		t.Fatalf("video id %q", videoID)
	}
	calls := e2.rec.snapshot()
	if len(calls) != 1 || calls[0].U.ID != id || calls[0].SHA != sum {
		t.Errorf("finisher calls: %+v (statuses %v)", calls, statuses)
	}
}

func TestSweep(t *testing.T) {
	e := newEnv(t, nil)
	loc, id := e.create(map[string]string{"filename": "a.mp4"}, 1000)
	if r := e.patch(loc, 0, make([]byte, 10), nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	doneLoc, doneID := e.create(map[string]string{"filename": "b.mp4"}, 10)
	if r := e.patch(doneLoc, 0, make([]byte, 10), nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	e.rec.fail = []error{errors.New("down")}
	failLoc, failID := e.create(map[string]string{"filename": "c.mp4"}, 10)
	if r := e.patch(failLoc, 0, make([]byte, 10), nil); r.Status != 500 {
		t.Fatal(r.Status)
	}
	stray := filepath.Join(e.dir, "README")
	if err := os.WriteFile(stray, []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}

	if n := e.h.sweep(context.Background()); n != 0 {
		t.Fatalf("fresh uploads swept: %d", n)
	}
	if r := e.do("HEAD", loc, nil, nil); r.Status != 200 {
		t.Fatalf("HEAD before expiry: %d", r.Status)
	}

	e.clock.advance(time.Hour + time.Minute)
	if n := e.h.sweep(context.Background()); n != 2 {
		t.Errorf("sweep deleted %d uploads, want 2 (abandoned, complete but never finished)", n)
	}
	for _, l := range []string{loc, doneLoc, failLoc} {
		if r := e.do("HEAD", l, nil, nil); r.Status != 404 {
			t.Errorf("HEAD %s after the sweep: %d", l, r.Status)
		}
	}
	if got := e.files(); !slices.Equal(got, []string{"README"}) {
		t.Errorf("files after the sweep: %v (ids %s %s %s)", got, id, doneID, failID)
	}

	// Run sweeps at once and stops with its context.
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { e.h.Run(ctx); close(stopped) }()
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestSweepLeftovers(t *testing.T) {
	e := newEnv(t, nil)
	loc, id := e.create(map[string]string{"filename": "a.mp4"}, 10)
	// A crash between the tombstone and the deletion of the files.
	if err := e.h.writeTombstone(tombstone{ID: id, VideoID: "vid-" + id, Size: 10, UploaderID: "alice", FinishedAt: e.clock.now()}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("HEAD", loc, nil, nil); r.Status != 200 || r.Header.Get(HeaderVideoID) != "vid-"+id {
		t.Errorf("HEAD: %d %v", r.Status, r.Header)
	}
	e.h.sweep(context.Background())
	if got := e.files(); !slices.Equal(got, []string{id + ".done"}) {
		t.Errorf("files: %v", got)
	}
	// A half-created upload (bytes, no .info) goes once old.
	orphan := strings.Repeat("ab", 12)
	if err := os.WriteFile(filepath.Join(e.dir, orphan), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(2 * time.Hour)
	e.h.sweep(context.Background())
	if got := e.files(); len(got) != 0 {
		t.Errorf("files after expiry: %v", got)
	}
}

func TestNewDefaults(t *testing.T) {
	if _, err := New(Config{}, func(context.Context, Upload) (string, error) { return "", nil }); err == nil {
		t.Error("New without Dir succeeded")
	}
	if _, err := New(Config{Dir: t.TempDir()}, nil); err == nil {
		t.Error("New without Finisher succeeded")
	}
	h, err := New(Config{Dir: t.TempDir(), Extensions: []string{".MP4", "mkv", "mp4"}}, func(context.Context, Upload) (string, error) { return "", nil })
	if err != nil {
		t.Fatal(err)
	}
	if h.cfg.BasePath != DefaultBasePath || h.cfg.MaxSize != DefaultMaxSize || h.cfg.AbandonAfter != DefaultAbandonAfter ||
		!slices.Equal(h.cfg.Extensions, []string{"mp4", "mkv"}) {
		t.Errorf("defaults: %+v", h.cfg)
	}
	for id, want := range map[string]bool{
		strings.Repeat("0a", 12): true, strings.Repeat("0A", 12): false, strings.Repeat("0a", 16): false,
		"../" + strings.Repeat("a", 21): false, strings.Repeat("a", 20) + ".inf": false,
	} {
		if validUploadID(id) != want {
			t.Errorf("validUploadID(%q) = %v", id, !want)
		}
	}
}
