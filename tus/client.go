package tus

// This file is the client side: a tus 1.0 uploader for scripts and the
// ginflix import command, speaking to a Handler (or any tus 1.0 server
// with the creation extension).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client defaults.
const (
	DefaultChunkSize = 8 << 20
	// DefaultStateTTL is how long a remembered upload is kept in the state
	// file: longer than the server's DefaultAbandonAfter, after which the
	// server has forgotten it anyway.
	DefaultStateTTL = 7 * 24 * time.Hour
)

// DefaultRetryDelays are the waits between attempts after a transient
// failure (about two minutes in all); the count starts again whenever the
// upload makes progress.
var DefaultRetryDelays = []time.Duration{
	500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
	8 * time.Second, 15 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second,
}

// Metadata describes the video an upload becomes (Upload-Metadata).
type Metadata struct {
	Filename    string // default: the base name of the uploaded file
	Title       string // default (server side): Filename without extension
	Description string
	Tags        []string
}

// Client uploads files with the tus 1.0 protocol (core and creation):
// POST to create, PATCH in chunks, HEAD to resume after a failure.
//
// Transient failures (network errors, 5xx, 423 Locked, 429, 409 offset
// mismatch, tusd's ERR_UPLOAD_INTERRUPTED) are retried with RetryDelays,
// resuming from the offset a HEAD reports; any other 4xx ends the upload
// with an *UploadError that carries the server's message. A 401 is final
// too: Token should renew the token before it expires.
//
// With StateFile set, the URL of each upload in progress is remembered
// there, keyed by the file's absolute path, size and modification time and
// by Endpoint, so that an interrupted run (Ctrl-C, a crash, a network
// failure that outlasted the retries) continues where it stopped the next
// time the same file is uploaded. The entry is forgotten when the upload
// finishes or when the server no longer knows it (404, 410).
//
// A Client is safe for concurrent use once configured.
type Client struct {
	// Endpoint is the creation URL, e.g. https://ginflix.example/api/uploads/.
	Endpoint string
	// HTTPClient sends the requests (default http.DefaultClient). Give it
	// no overall Timeout shorter than a chunk takes to send plus the
	// server's finishing of the last one.
	HTTPClient *http.Client
	// Token returns the bearer token; it is called for every request, so
	// it should cache the token and renew it before it expires. Nil sends
	// no Authorization header. The token is never logged nor put in errors.
	Token func(ctx context.Context) (string, error)
	// ChunkSize is the most bytes one PATCH carries (default DefaultChunkSize).
	ChunkSize int64
	// RetryDelays are the waits between attempts (default
	// DefaultRetryDelays); its length bounds the attempts in a row that
	// make no progress. An empty non-nil slice disables retries.
	RetryDelays []time.Duration
	// StateFile remembers uploads in progress across runs (JSON, mode
	// 0600); empty means nothing is remembered beyond one Upload call.
	// DefaultStateFile gives the conventional place.
	StateFile string
	// StateTTL drops remembered uploads older than this (default DefaultStateTTL).
	StateTTL time.Duration
	// Logf, if set, receives notices: retries, an upload started over,
	// a state file that cannot be read or written.
	Logf func(format string, args ...any)
	// UserAgent is sent as User-Agent when set.
	UserAgent string
}

// UploadError is a refusal by the server that retrying does not help, or
// a transient failure that outlasted the retries.
type UploadError struct {
	Op      string // what was being done: "create", "resume", "send"
	Status  int    // HTTP status
	Code    string // the server's error code when it gave one (ERR_..., invalid, ...)
	Message string // the server's message, or the status text
}

func (e *UploadError) Error() string {
	what := map[string]string{"create": "creating the upload", "resume": "checking the upload", "send": "sending"}[e.Op]
	if what == "" {
		what = e.Op
	}
	return fmt.Sprintf("%s: the server answered %d %s: %s", what, e.Status, http.StatusText(e.Status), e.Message)
}

// Gone reports whether the server no longer knows the upload.
func (e *UploadError) Gone() bool {
	return e.Status == http.StatusNotFound || e.Status == http.StatusGone
}

// DefaultStateFile is $XDG_STATE_HOME/ginflix/uploads.json, or
// ~/.local/state/ginflix/uploads.json. getenv may be nil (os.Getenv).
func DefaultStateFile(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "ginflix", "uploads.json"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("no place for the upload state file: %w", err)
		}
	}
	return filepath.Join(home, ".local", "state", "ginflix", "uploads.json"), nil
}

// Upload sends the file at path and returns the id of the video the
// server made of it (the Ginflix-Video-Id header of the last response).
// progress, if not nil, is called with the bytes the server has (or is
// being sent: it moves back after a failed chunk) and the file's size. It
// may be called from the HTTP transport's goroutine, but never by two
// goroutines at once, and not after Upload returns.
//
// When ctx ends the upload stops; with a StateFile the next Upload of the
// same file continues it.
func (c *Client) Upload(ctx context.Context, path string, meta Metadata, progress func(sent, total int64)) (string, error) {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if c.Endpoint == "" {
		return "", errors.New("tus client: no Endpoint")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() == 0 {
		return "", fmt.Errorf("%s is empty", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if meta.Filename == "" {
		meta.Filename = filepath.Base(path)
	}
	key := stateEntry{Server: c.Endpoint, Path: abs, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	up := &clientUpload{c: c, f: f, size: fi.Size()}
	up.progress = func(sent, total int64) {
		up.mu.Lock()
		defer up.mu.Unlock()
		progress(sent, total)
	}

	if loc := c.recall(key); loc != "" {
		off, vid, err := up.headRetrying(ctx, loc)
		var ue *UploadError
		switch {
		case err == nil && vid != "":
			c.forget(key)
			progress(up.size, up.size)
			return vid, nil
		case err == nil:
			up.loc, up.offset = loc, off // progress's first call shows it
		case errors.As(err, &ue) && (ue.Gone() || ue.Status == http.StatusForbidden || ue.Code == codeLengthMismatch):
			// Expired, swept, made by someone else, or another file: start over.
			c.forget(key)
		default:
			return "", err // the entry stays for the next run
		}
	}
	for restarted := false; ; restarted = true {
		if up.loc == "" {
			loc, err := up.create(ctx, meta)
			if err != nil {
				return "", err
			}
			up.loc, up.offset = loc, 0
			c.remember(key, loc)
		}
		vid, err := up.send(ctx)
		if err == nil {
			c.forget(key)
			return vid, nil
		}
		var ue *UploadError
		if errors.As(err, &ue) && ue.Gone() {
			c.forget(key)
			if !restarted && ctx.Err() == nil {
				c.logf("the server forgot the upload of %s; starting over", filepath.Base(path))
				up.loc = ""
				continue
			}
		}
		return "", err
	}
}

const codeLengthMismatch = "length_mismatch"

// clientUpload is one Upload call's progress.
type clientUpload struct {
	c        *Client
	f        *os.File
	size     int64
	loc      string
	offset   int64
	progress func(sent, total int64) // serialised by mu
	mu       sync.Mutex
}

// send PATCHes from offset to the end and returns the video id, retrying
// transient failures and resynchronising with HEAD after each.
func (u *clientUpload) send(ctx context.Context) (string, error) {
	delays := u.c.retryDelays()
	fails := 0
	needHead := false
	u.progress(u.offset, u.size)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		var err error
		switch {
		case needHead || u.offset >= u.size:
			off, vid, herr := u.head(ctx, u.loc, "send")
			if herr == nil {
				if off > u.offset {
					fails = 0
				}
				u.offset, needHead = off, false
				u.progress(off, u.size)
				if vid != "" {
					return vid, nil
				}
				if off >= u.size {
					return "", &UploadError{Op: "send", Status: http.StatusOK, Code: "no_video",
						Message: "the server has the whole file but named no video (is it a Ginflix server?)"}
				}
				continue
			}
			err = herr
		default:
			off, vid, perr := u.patch(ctx)
			if perr == nil {
				if off > u.offset {
					fails = 0
				}
				u.offset = off
				u.progress(off, u.size)
				if vid != "" {
					return vid, nil
				}
				continue // at the end without a video id, HEAD asks for it
			}
			err = perr
			needHead = true
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !retryable(err) {
			return "", err
		}
		if fails >= len(delays) {
			return "", fmt.Errorf("%w (gave up after %d attempts)", err, fails+1)
		}
		d := retryAfter(err, delays[fails])
		fails++
		u.c.logf("%v; retrying in %v", err, d)
		if err := sleepCtx(ctx, d); err != nil {
			return "", err
		}
	}
}

// headRetrying is head with the retries of transient failures.
func (u *clientUpload) headRetrying(ctx context.Context, loc string) (int64, string, error) {
	delays := u.c.retryDelays()
	for fails := 0; ; fails++ {
		off, vid, err := u.head(ctx, loc, "resume")
		if err == nil || ctx.Err() != nil || !retryable(err) {
			if ctx.Err() != nil {
				return 0, "", ctx.Err()
			}
			return off, vid, err
		}
		if fails >= len(delays) {
			return 0, "", fmt.Errorf("%w (gave up after %d attempts)", err, fails+1)
		}
		d := retryAfter(err, delays[fails])
		u.c.logf("%v; retrying in %v", err, d)
		if err := sleepCtx(ctx, d); err != nil {
			return 0, "", err
		}
	}
}

// create POSTs a new upload and returns its absolute URL.
func (u *clientUpload) create(ctx context.Context, meta Metadata) (string, error) {
	delays := u.c.retryDelays()
	for fails := 0; ; fails++ {
		loc, err := u.createOnce(ctx, meta)
		if err == nil || ctx.Err() != nil || !retryable(err) {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return loc, err
		}
		if fails >= len(delays) {
			return "", fmt.Errorf("%w (gave up after %d attempts)", err, fails+1)
		}
		d := retryAfter(err, delays[fails])
		u.c.logf("%v; retrying in %v", err, d)
		if err := sleepCtx(ctx, d); err != nil {
			return "", err
		}
	}
}

func (u *clientUpload) createOnce(ctx context.Context, meta Metadata) (string, error) {
	req, err := u.c.newRequest(ctx, http.MethodPost, u.c.Endpoint, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Upload-Length", strconv.FormatInt(u.size, 10))
	req.Header.Set("Upload-Metadata", encodeMetadata(meta))
	res, err := u.c.httpClient().Do(req)
	if err != nil {
		return "", netError{err}
	}
	defer drain(res)
	if res.StatusCode != http.StatusCreated {
		return "", responseError("create", res)
	}
	loc := res.Header.Get("Location")
	if loc == "" {
		return "", &UploadError{Op: "create", Status: res.StatusCode, Code: "no_location", Message: "the server gave the new upload no Location"}
	}
	base, err := url.Parse(u.c.Endpoint)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return "", &UploadError{Op: "create", Status: res.StatusCode, Code: "bad_location", Message: "the server gave an invalid Location"}
	}
	return base.ResolveReference(ref).String(), nil
}

// head asks the server for the upload's offset (and video id once finished).
func (u *clientUpload) head(ctx context.Context, loc, op string) (int64, string, error) {
	req, err := u.c.newRequest(ctx, http.MethodHead, loc, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := u.c.httpClient().Do(req)
	if err != nil {
		return 0, "", netError{err}
	}
	defer drain(res)
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return 0, "", responseError(op, res)
	}
	if l := res.Header.Get("Upload-Length"); l != "" && l != strconv.FormatInt(u.size, 10) {
		return 0, "", &UploadError{Op: op, Status: res.StatusCode, Code: codeLengthMismatch,
			Message: fmt.Sprintf("the upload on the server is %s bytes long, the file %d", l, u.size)}
	}
	off, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off < 0 || off > u.size {
		return 0, "", &UploadError{Op: op, Status: res.StatusCode, Code: "bad_offset", Message: "the server reported no valid Upload-Offset"}
	}
	return off, res.Header.Get(HeaderVideoID), nil
}

// patch sends one chunk from offset and returns the new offset.
func (u *clientUpload) patch(ctx context.Context) (int64, string, error) {
	n := min(u.c.chunkSize(), u.size-u.offset)
	body := &countingReader{r: io.NewSectionReader(u.f, u.offset, n), base: u.offset, total: u.size, progress: u.progress}
	defer body.stop() // a transport still reading must not report after this
	req, err := u.c.newRequest(ctx, http.MethodPatch, u.loc, body)
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(u.offset, 10))
	res, err := u.c.httpClient().Do(req)
	if err != nil {
		return 0, "", netError{err}
	}
	defer drain(res)
	if res.StatusCode != http.StatusNoContent && res.StatusCode != http.StatusOK {
		return 0, "", responseError("send", res)
	}
	off, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off <= u.offset || off > u.offset+n {
		// Resynchronise with HEAD rather than trust it.
		return 0, "", &UploadError{Op: "send", Status: http.StatusConflict, Code: "bad_offset", Message: "the server reported an unexpected Upload-Offset"}
	}
	return off, res.Header.Get(HeaderVideoID), nil
}

func (c *Client) newRequest(ctx context.Context, method, target string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.Token != nil {
		tok, err := c.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("getting an access token: %w", err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	return req, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Client) chunkSize() int64 {
	if c.ChunkSize > 0 {
		return c.ChunkSize
	}
	return DefaultChunkSize
}

func (c *Client) retryDelays() []time.Duration {
	if c.RetryDelays != nil {
		return c.RetryDelays
	}
	return DefaultRetryDelays
}

func (c *Client) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// encodeMetadata builds Upload-Metadata: key base64(value) pairs.
func encodeMetadata(m Metadata) string {
	var parts []string
	add := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	add(metaFilename, m.Filename)
	add(metaTitle, m.Title)
	add(metaDescription, m.Description)
	var tags []string
	for _, t := range m.Tags {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	add(metaTags, strings.Join(tags, ","))
	return strings.Join(parts, ",")
}

// countingReader reports the bytes of a chunk as the transport reads them.
type countingReader struct {
	r           io.Reader
	base, total int64
	n           int64
	progress    func(sent, total int64)
	mu          sync.Mutex
	stopped     bool
}

func (r *countingReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return 0, io.ErrUnexpectedEOF
	}
	n, err := r.r.Read(p)
	if n > 0 {
		r.n += int64(n)
		r.progress(r.base+r.n, r.total)
	}
	return n, err
}

func (r *countingReader) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// netError marks a failure to get a response: always worth a retry.
type netError struct{ err error }

func (e netError) Error() string { return e.err.Error() }
func (e netError) Unwrap() error { return e.err }

// retryable: network errors, 5xx, 409 (offset mismatch: resynchronise),
// 423 (locked by a request still running), 429, and tusd's 400
// ERR_UPLOAD_INTERRUPTED (another request for the upload, such as one
// an earlier run left behind, took its lock).
func retryable(err error) bool {
	var ne netError
	if errors.As(err, &ne) {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	var ue *UploadError
	if errors.As(err, &ue) {
		return ue.Status >= 500 || ue.Status == http.StatusConflict || ue.Status == http.StatusLocked ||
			ue.Status == http.StatusTooManyRequests || ue.Code == "ERR_UPLOAD_INTERRUPTED"
	}
	return false
}

// retryAfterError carries a Retry-After the server sent.
type retryAfterError struct {
	*UploadError
	after time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.UploadError }

func retryAfter(err error, d time.Duration) time.Duration {
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.after > d {
		return min(ra.after, 5*time.Minute)
	}
	return d
}

// responseError turns a refusal into an *UploadError with the server's
// message: JSON {"error": {"code", "message"}} from the API, or tusd's
// plain "ERR_CODE: message".
func responseError(op string, res *http.Response) error {
	e := &UploadError{Op: op, Status: res.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 16<<10))
	var body struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	var obj struct{ Code, Message string }
	var str string
	text := strings.TrimSpace(string(b))
	switch {
	case json.Unmarshal(b, &body) == nil && json.Unmarshal(body.Error, &obj) == nil && obj.Message != "":
		e.Code, e.Message = obj.Code, obj.Message
	case json.Unmarshal(b, &body) == nil && json.Unmarshal(body.Error, &str) == nil && str != "":
		e.Code, e.Message = str, cmpOr(body.Desc, str)
	case strings.HasPrefix(text, "ERR_") && strings.Contains(text, ": "):
		e.Code, e.Message, _ = strings.Cut(text, ": ")
	case text != "" && len(text) < 500 && !strings.ContainsAny(text, "<{"):
		e.Message = text
	default:
		e.Message = http.StatusText(res.StatusCode)
	}
	if e.Message == "" {
		e.Message = "no message"
	}
	if s := res.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return &retryAfterError{UploadError: e, after: time.Duration(n) * time.Second}
		}
	}
	return e
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func drain(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// The state file.

// stateEntry is one remembered upload; all but URL and Created identify it.
type stateEntry struct {
	Server  string    `json:"server"`
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime int64     `json:"mtimeNs"`
	URL     string    `json:"url,omitempty"`
	Created time.Time `json:"created"`
}

func (e stateEntry) same(o stateEntry) bool {
	return e.Server == o.Server && e.Path == o.Path && e.Size == o.Size && e.ModTime == o.ModTime
}

type stateDoc struct {
	Uploads []stateEntry `json:"uploads"`
}

// stateMu serialises this process's read-modify-write of state files;
// other processes race only to the last rename (an entry may be lost,
// which costs a fresh upload, never a wrong one).
var stateMu sync.Mutex

func (c *Client) recall(key stateEntry) string {
	if c.StateFile == "" {
		return ""
	}
	stateMu.Lock()
	defer stateMu.Unlock()
	doc, err := c.readState()
	if err != nil {
		c.logf("ignoring the upload state file: %v", err)
		return ""
	}
	for _, e := range doc.Uploads {
		if e.same(key) && e.URL != "" {
			return e.URL
		}
	}
	return ""
}

func (c *Client) remember(key stateEntry, loc string) {
	c.editState(func(doc *stateDoc) {
		key.URL, key.Created = loc, time.Now().UTC()
		doc.Uploads = append(doc.Uploads, key)
	}, key)
}

func (c *Client) forget(key stateEntry) { c.editState(nil, key) }

// editState drops key's entry (and expired ones), applies add, and writes
// the file back atomically.
func (c *Client) editState(add func(*stateDoc), key stateEntry) {
	if c.StateFile == "" {
		return
	}
	stateMu.Lock()
	defer stateMu.Unlock()
	doc, err := c.readState()
	if err != nil {
		c.logf("rewriting the upload state file: %v", err)
		doc = stateDoc{}
	}
	ttl := c.StateTTL
	if ttl <= 0 {
		ttl = DefaultStateTTL
	}
	before := len(doc.Uploads)
	doc.Uploads = slices.DeleteFunc(doc.Uploads, func(e stateEntry) bool {
		return e.same(key) || time.Since(e.Created) > ttl
	})
	if add != nil {
		add(&doc)
	} else if len(doc.Uploads) == before {
		return // nothing to forget
	}
	if err := c.writeState(doc); err != nil {
		c.logf("the upload state file cannot be written (an interrupted upload will start over): %v", err)
	}
}

func (c *Client) readState() (stateDoc, error) {
	var doc stateDoc
	b, err := os.ReadFile(c.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return doc, nil
	}
	if err != nil {
		return doc, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return stateDoc{}, fmt.Errorf("%s: %w", c.StateFile, err)
	}
	return doc, nil
}

func (c *Client) writeState(doc stateDoc) error {
	dir := filepath.Dir(c.StateFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if len(doc.Uploads) == 0 {
		err := os.Remove(c.StateFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(c.StateFile)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, c.StateFile); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
