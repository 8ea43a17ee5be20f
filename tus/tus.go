// Package tus takes resumable uploads (tus 1.0, as tus-js-client speaks it)
// with tusd v2's handler, its filestore and an in-memory locker, and hands
// each finished upload to a Finisher that turns it into a video.
//
// # Protocol
//
// Handler serves, under Config.BasePath:
//
//	OPTIONS            Tus-Version, Tus-Extension (creation, creation-with-upload,
//	                   termination, creation-defer-length), Tus-Max-Size
//	POST   BasePath    create an upload (Upload-Length or Upload-Defer-Length: 1,
//	                   Upload-Metadata); 201 with Location BasePath<id>
//	HEAD   BasePath<id> Upload-Offset, Upload-Length, Upload-Metadata
//	PATCH  BasePath<id> append a chunk at Upload-Offset
//	DELETE BasePath<id> terminate (delete) an unfinished upload
//
// Concatenation and GET downloads are off. Errors are tusd's plain-text
// "ERR_CODE: message" bodies: 400 for bad metadata or headers, 404 for an
// unknown upload, 409 for a PATCH at the wrong offset, 412 for a wrong
// Tus-Resumable, 413 for an Upload-Length over the limit (Config.MaxSize,
// or Config.MaxSizeFunc's at the time).
//
// # Metadata
//
// Upload-Metadata keys: filename (required; its extension, case-insensitive,
// must be in Config.Extensions; at most 255 bytes; no control characters),
// title (default: the file's base name without extension; at most
// ginflix.MaxTitleLen characters), description, tags (comma-separated,
// normalised with ginflix.NormalizeTags). Other keys are dropped. The
// uploader (ginflix.PrincipalFrom(ctx).Subject) is recorded server-side in
// the upload's .info file; a client cannot set it. The filename is a label
// only: the bytes live in Config.Dir under the upload id, which this
// package draws with ginflix.NewID (so it is a valid video id too).
//
// # Finishing
//
// When the last byte of an upload is stored, the Finisher runs
// synchronously inside tusd's PreFinishResponseCallback, while tusd holds
// the upload's lock, so the response to that last PATCH (or to a POST with
// creation-with-upload that carries everything) has the header
// Ginflix-Video-Id. The Finisher runs on a context that does not end when
// the client disconnects (bounded by Config.FinishTimeout), and the
// connection's deadlines are lifted meanwhile, so a long copy of a large
// file is not cut short.
//
// Once the Finisher succeeds, this package writes a small tombstone
// (<id>.done: video id, size, uploader, time) and deletes the upload's
// files: the Finisher must have copied (or moved) the bytes away before
// it returns. Later HEAD/PATCH requests for that id are answered from the
// tombstone (offset = length, Ginflix-Video-Id set), so a client whose last
// response got lost sees a complete upload and the same video instead of a
// 404 that would make tus-js-client start again from zero. Tombstones are
// swept after Config.AbandonAfter.
//
// When the Finisher fails, the last PATCH answers 500 (422 for
// ginflix.EINVALID, 413 for ETOOLARGE, 403 for EFORBIDDEN, 503 for
// EUNAVAILABLE) with the client-safe message, and the upload is kept,
// complete. tusd itself would then consider the upload done: a HEAD reports
// offset = length (tus-js-client would call it a success without a video)
// and a PATCH is answered 204 without calling anything. So this package
// intercepts HEAD and PATCH of a complete but unfinished upload and runs
// the Finisher again under the upload's lock: success gives the normal
// answer plus Ginflix-Video-Id, failure the same error again.
// tus-js-client retries 5xx (and 409/423) with its retryDelays, HEAD first,
// so a transient failure heals by itself; 4xx stop the client with the
// message. An upload whose Finisher never succeeds is deleted by the
// sweep after Config.AbandonAfter.
//
// The Finisher can thus run more than once for one upload (a failure then
// a retry; a crash after it returned but before the tombstone was
// written), always with the same Upload.ID: it must be idempotent, which
// the caller gets by deriving the video id from Upload.ID. Two requests
// cannot finish the same upload at once: both paths hold the upload's
// lock, and the tombstone is checked under it.
//
// # Access
//
// Every request except OPTIONS needs a principal in its context (401
// otherwise); the router mounts this handler behind the admin guard. HEAD,
// PATCH and DELETE of an upload are allowed to its uploader (same subject)
// or to any admin (403 otherwise).
//
// # Several replicas
//
// The filestore is a local folder and the lock lives in memory, so every
// request of one upload — the POST that creates it and each HEAD, PATCH
// and DELETE after it — must reach the same replica. Hashing on the URI
// alone does not do it (the POST's URI is BasePath, the others' are
// BasePath<id>); use affinity on the client instead, for example nginx
//
//	upstream ginflix_api { hash $binary_remote_addr consistent; server ...; }
//
// or a sticky cookie (ingress-nginx: nginx.ingress.kubernetes.io/affinity:
// "cookie"; Kubernetes Service: sessionAffinity: ClientIP), scoped to
// BasePath. A replica that goes away takes its partial uploads with it;
// clients then get 404 on resume and tus-js-client starts over. Sharing
// Dir between replicas (a ReadWriteMany volume) would also need a
// distributed lock in place of memorylocker.
//
// Behind a TLS proxy, set Config.TrustForwardedHeaders so that the
// Location of a new upload uses the public scheme and host.
package tus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
)

// HeaderVideoID names the response header that carries the id of the video
// a finished upload became.
const HeaderVideoID = "Ginflix-Video-Id"

// ExposeHeaders lists the response headers a browser client must be able
// to read; a CORS middleware in front of a Handler built with DisableCORS
// must expose them.
const ExposeHeaders = "Upload-Offset, Location, Upload-Length, Tus-Version, Tus-Resumable, Tus-Max-Size, Tus-Extension, Upload-Metadata, Upload-Defer-Length, " + HeaderVideoID

// Defaults of Config.
const (
	DefaultBasePath      = "/api/uploads/"
	DefaultMaxSize       = 20 << 30
	DefaultAbandonAfter  = 24 * time.Hour
	DefaultSweepInterval = 5 * time.Minute
	DefaultFinishTimeout = time.Hour
)

// Config configures a Handler; zero values take the defaults.
type Config struct {
	BasePath string // "/api/uploads/"
	// Dir is where partial uploads live (filestore): <id> holds the bytes,
	// <id>.info the state, <id>.done the tombstone of a finished upload.
	// It is created if missing and should hold nothing else.
	Dir string
	// MaxSize bounds Upload-Length, in bytes (default 20 GiB); a bigger
	// one is refused with 413.
	MaxSize int64
	// MaxSizeFunc, when set, gives the limit in force for each new upload
	// (an admin's runtime setting), and MaxSize is only the ceiling tusd
	// enforces by itself (default ginflix.MaxUploadLimit then). Uploads
	// created under a higher limit may finish under a lower one.
	MaxSizeFunc func(ctx context.Context) int64
	// Extensions are the accepted containers by filename extension,
	// without dot, case-insensitive (default DefaultExtensions).
	Extensions []string
	// AbandonAfter: an unfinished upload with no progress for this long is
	// deleted by Run (default 24h); so are tombstones this old.
	AbandonAfter time.Duration
	// SweepInterval is how often Run sweeps (default 5 min, at most
	// AbandonAfter/2).
	SweepInterval time.Duration
	// FinishTimeout bounds one Finisher call (default 1h).
	FinishTimeout time.Duration
	// TrustForwardedHeaders makes tusd build the Location of new uploads
	// from X-Forwarded-Host/-Proto and Forwarded: set it behind a proxy
	// that sets them, never when clients reach the backend directly.
	TrustForwardedHeaders bool
	// DisableCORS leaves CORS to a middleware in front (which must expose
	// ExposeHeaders); otherwise tusd answers CORS for any origin, without
	// credentials (the bearer token is a header, not a cookie).
	DisableCORS bool
	Logger      *slog.Logger
	Now         func() time.Time // optional, tests
}

// Upload is a finished upload handed to the finisher.
type Upload struct {
	// ID is the upload's id, made by ginflix.NewID at creation: a valid
	// video id, so that the Finisher can use it as is (idempotence for free).
	ID                           string
	Size                         int64
	Filename, Title, Description string
	Tags                         []string
	// UploaderID is ginflix.PrincipalFrom(ctx).Subject at creation, stored
	// server-side with the upload.
	UploaderID string
	// Path is the local file holding the bytes. It is valid during the
	// Finisher call only: the handler deletes it once the Finisher
	// succeeds (a Finisher may also rename it away; a missing file is
	// fine then). It must not be moved or changed if the Finisher fails.
	Path string
}

// Finisher turns a finished upload into a video and returns its id. It must
// be idempotent: it may be called again for the same Upload.ID (see the
// package documentation), and must then return the same video id.
type Finisher func(ctx context.Context, u Upload) (videoID string, err error)

// Handler serves the tus protocol; see the package documentation.
type Handler struct {
	cfg    Config
	exts   map[string]bool
	dir    string
	finish Finisher
	log    *slog.Logger
	now    func() time.Time

	store  filestore.FileStore
	locker *memorylocker.MemoryLocker
	tusd   *handler.UnroutedHandler
	serve  http.Handler

	// finishing serialises complete per upload id. tusd's lock already
	// does on the request paths; this also covers the sweep and any
	// caller that reaches complete without it.
	finishing sync.Map // id → *sync.Mutex
}

// New builds a Handler storing uploads in cfg.Dir.
func New(cfg Config, finish Finisher) (*Handler, error) {
	if finish == nil {
		return nil, errors.New("tus: a Finisher is required")
	}
	if cfg.Dir == "" {
		return nil, errors.New("tus: Config.Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("tus: upload dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("tus: upload dir: %w", err)
	}
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	if !strings.HasPrefix(cfg.BasePath, "/") {
		cfg.BasePath = "/" + cfg.BasePath
	}
	if !strings.HasSuffix(cfg.BasePath, "/") {
		cfg.BasePath += "/"
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
		if cfg.MaxSizeFunc != nil {
			cfg.MaxSize = ginflix.MaxUploadLimit
		}
	}
	if len(cfg.Extensions) == 0 {
		cfg.Extensions = DefaultExtensions
	}
	exts := make(map[string]bool, len(cfg.Extensions))
	norm := make([]string, 0, len(cfg.Extensions))
	for _, e := range cfg.Extensions {
		e = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "."))
		if e != "" && !exts[e] {
			exts[e] = true
			norm = append(norm, e)
		}
	}
	cfg.Extensions = norm
	if cfg.AbandonAfter <= 0 {
		cfg.AbandonAfter = DefaultAbandonAfter
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.SweepInterval > cfg.AbandonAfter/2 {
		cfg.SweepInterval = max(cfg.AbandonAfter/2, time.Second)
	}
	if cfg.FinishTimeout <= 0 {
		cfg.FinishTimeout = DefaultFinishTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	h := &Handler{
		cfg:    cfg,
		exts:   exts,
		dir:    dir,
		finish: finish,
		log:    cfg.Logger.With("component", "uploads"),
		now:    cfg.Now,
		store:  filestore.New(dir),
		locker: memorylocker.New(),
	}
	h.store.DirModePerm, h.store.FileModePerm = 0o750, 0o640

	composer := handler.NewStoreComposer()
	composer.UseCore(h.store)
	composer.UseTerminater(h.store)
	composer.UseLengthDeferrer(h.store)
	h.locker.UseIn(composer)

	cors := handler.DefaultCorsConfig
	cors.ExposeHeaders += ", " + HeaderVideoID
	cors.Disable = cfg.DisableCORS

	h.tusd, err = handler.NewUnroutedHandler(handler.Config{
		StoreComposer:             composer,
		MaxSize:                   cfg.MaxSize,
		BasePath:                  cfg.BasePath,
		DisableDownload:           true,
		DisableConcatenation:      true,
		Cors:                      &cors,
		Logger:                    newTusdLogger(cfg.Logger),
		RespectForwardedHeaders:   cfg.TrustForwardedHeaders,
		PreUploadCreateCallback:   h.preCreate,
		PreFinishResponseCallback: h.preFinish,
	})
	if err != nil {
		return nil, fmt.Errorf("tus: %w", err)
	}
	h.serve = h.tusd.Middleware(http.HandlerFunc(h.route))
	return h, nil
}

type respCtlKey struct{}

// ServeHTTP serves the tus protocol under Config.BasePath. Mount it on the
// BasePath subtree as is (http.StripPrefix works too).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The finish path lifts the connection's deadlines through this.
	ctx := context.WithValue(r.Context(), respCtlKey{}, http.NewResponseController(w))
	if r.Method == http.MethodOptions && h.cfg.MaxSizeFunc != nil {
		// tusd announces its own ceiling; clients must see the limit in force.
		w = &maxSizeHeader{ResponseWriter: w, size: h.maxSize(ctx)}
	}
	h.serve.ServeHTTP(w, r.WithContext(ctx))
}

// maxSize is the limit for uploads created now.
func (h *Handler) maxSize(ctx context.Context) int64 {
	if h.cfg.MaxSizeFunc == nil {
		return h.cfg.MaxSize
	}
	return min(h.cfg.MaxSizeFunc(ctx), h.cfg.MaxSize)
}

// maxSizeHeader rewrites Tus-Max-Size as the response goes out.
type maxSizeHeader struct {
	http.ResponseWriter
	size int64
}

func (m *maxSizeHeader) WriteHeader(status int) {
	if m.Header().Get("Tus-Max-Size") != "" {
		m.Header().Set("Tus-Max-Size", strconv.FormatInt(m.size, 10))
	}
	m.ResponseWriter.WriteHeader(status)
}

func (m *maxSizeHeader) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// checkDeferredSize refuses a PATCH that would take an upload of deferred
// length over the limit in force: its length was not known at creation,
// so this is where the limit applies.
func (h *Handler) checkDeferredSize(r *http.Request, info handler.FileInfo) error {
	if !info.SizeIsDeferred || h.cfg.MaxSizeFunc == nil {
		return nil
	}
	limit := h.maxSize(r.Context())
	if l := r.Header.Get("Upload-Length"); l != "" {
		if n, err := strconv.ParseInt(l, 10, 64); err == nil && n > limit {
			return handler.ErrMaxSizeExceeded
		}
	}
	if r.ContentLength > 0 && info.Offset+r.ContentLength > limit {
		return handler.ErrMaxSizeExceeded
	}
	if r.ContentLength < 0 {
		// Chunked: no length to check up front, so cut the body at the limit.
		r.Body = http.MaxBytesReader(nil, r.Body, max(limit-info.Offset, 0))
	}
	return nil
}

var (
	errUnauthorized  = handler.NewError("ERR_UNAUTHORIZED", "sign in first: uploads need an access token", http.StatusUnauthorized)
	errForbidden     = handler.NewError("ERR_FORBIDDEN", "only the uploader or an admin may access this upload", http.StatusForbidden)
	errEmpty         = handler.NewError("ERR_EMPTY_UPLOAD", "the file is empty", http.StatusBadRequest)
	errNoMethod      = handler.NewError("ERR_METHOD_NOT_ALLOWED", "method not allowed", http.StatusMethodNotAllowed)
	errInternalStore = handler.NewError("ERR_INTERNAL_SERVER_ERROR", "the upload store failed", http.StatusInternalServerError)
)

// route runs inside tusd's middleware (CORS, Tus-Resumable, OPTIONS,
// X-HTTP-Method-Override are done) and dispatches on the id.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	rest := r.URL.Path
	base := strings.TrimSuffix(h.cfg.BasePath, "/")
	if rest == base || strings.HasPrefix(rest, base+"/") {
		rest = rest[len(base):]
	}
	rest = strings.Trim(rest, "/")

	p := ginflix.PrincipalFrom(r.Context())
	if p == nil {
		writeError(w, r, errUnauthorized)
		return
	}

	// tusd takes the id from the request's path: give it the id alone.
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = "/"+rest, ""
	r2.URL = &u

	if rest == "" {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeError(w, r, errNoMethod)
			return
		}
		h.tusd.PostFile(w, r2)
		return
	}
	if !validUploadID(rest) {
		writeError(w, r, handler.ErrNotFound)
		return
	}
	switch r.Method {
	case http.MethodHead, http.MethodPatch, http.MethodDelete:
		h.serveUpload(w, r2, rest, p)
	default:
		w.Header().Set("Allow", "HEAD, PATCH, DELETE")
		writeError(w, r, errNoMethod)
	}
}

// validUploadID accepts the ids preCreate gives uploads: ginflix.NewID's
// 24 lowercase hex digits. Anything else (dots, slashes) never reaches
// the store.
func validUploadID(id string) bool { return ginflix.ValidID(id) }

// serveUpload checks access to an existing upload and either answers
// itself (finished upload, or complete one whose Finisher must run again)
// or passes the request to tusd.
func (h *Handler) serveUpload(w http.ResponseWriter, r *http.Request, id string, p *ginflix.Principal) {
	ctx := r.Context()
	if t, ok := h.readTombstone(id); ok {
		h.serveFinished(w, r, t, p)
		return
	}
	unlock, err := h.lock(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	upload, err := h.store.GetUpload(ctx, id)
	if err != nil {
		unlock()
		// It may have been finished while we waited for the lock.
		if t, ok := h.readTombstone(id); ok {
			h.serveFinished(w, r, t, p)
			return
		}
		writeError(w, r, storeError(err))
		return
	}
	info, err := upload.GetInfo(ctx)
	if err != nil {
		unlock()
		writeError(w, r, storeError(err))
		return
	}
	if !p.Admin && p.Subject != info.MetaData[metaUploader] {
		unlock()
		writeError(w, r, errForbidden)
		return
	}
	complete := !info.SizeIsDeferred && info.Offset == info.Size
	if !complete || r.Method == http.MethodDelete {
		// tusd takes the lock again: release ours first. A request racing
		// in between only meets tusd's ordinary answers.
		unlock()
		switch r.Method {
		case http.MethodHead:
			h.tusd.HeadFile(w, r)
		case http.MethodPatch:
			if err := h.checkDeferredSize(r, info); err != nil {
				writeError(w, r, err)
				return
			}
			h.tusd.PatchFile(w, r)
		case http.MethodDelete:
			h.tusd.DelFile(w, r)
		}
		return
	}
	defer unlock()

	// Complete but not finished: the Finisher failed (or the process
	// stopped) before. Run it again, holding the lock.
	if r.Method == http.MethodPatch {
		if err := checkPatch(r, info.Size); err != nil {
			writeError(w, r, err)
			return
		}
	}
	videoID, err := h.complete(ctx, info)
	if err != nil {
		writeError(w, r, finishError(err))
		return
	}
	h.writeFinished(w, r, tombstone{ID: id, VideoID: videoID, Size: info.Size, UploaderID: info.MetaData[metaUploader]}, info.MetaData)
}

// checkPatch applies tusd's checks to a PATCH of a complete upload.
func checkPatch(r *http.Request, size int64) error {
	if r.Header.Get("Content-Type") != "application/offset+octet-stream" {
		return handler.ErrInvalidContentType
	}
	off, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off < 0 {
		return handler.ErrInvalidOffset
	}
	if off != size {
		return handler.ErrMismatchOffset
	}
	return nil
}

func (h *Handler) serveFinished(w http.ResponseWriter, r *http.Request, t tombstone, p *ginflix.Principal) {
	if !p.Admin && p.Subject != t.UploaderID {
		writeError(w, r, errForbidden)
		return
	}
	switch r.Method {
	case http.MethodPatch:
		if err := checkPatch(r, t.Size); err != nil {
			writeError(w, r, err)
			return
		}
	case http.MethodDelete:
		// The video exists on its own; forgetting the upload is harmless.
		if err := os.Remove(h.tombstonePath(t.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			h.log.Error("removing upload tombstone", "upload", t.ID, "error", err)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.writeFinished(w, r, t, nil)
}

// writeFinished answers HEAD (200) or PATCH (204) of a finished upload.
func (h *Handler) writeFinished(w http.ResponseWriter, r *http.Request, t tombstone, meta handler.MetaData) {
	hd := w.Header()
	size := strconv.FormatInt(t.Size, 10)
	hd.Set("Upload-Offset", size)
	hd.Set(HeaderVideoID, t.VideoID)
	if r.Method == http.MethodHead {
		hd.Set("Cache-Control", "no-store")
		hd.Set("Upload-Length", size)
		if len(meta) > 0 {
			hd.Set("Upload-Metadata", handler.SerializeMetadataHeader(meta))
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e handler.Error
	if !errors.As(err, &e) {
		e = errInternalStore
	}
	for k, v := range e.HTTPResponse.Header {
		w.Header().Set(k, v)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(e.HTTPResponse.StatusCode)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(e.HTTPResponse.Body)))
	w.WriteHeader(e.HTTPResponse.StatusCode)
	_, _ = w.Write([]byte(e.HTTPResponse.Body))
}

func storeError(err error) error {
	var e handler.Error
	if errors.As(err, &e) {
		return e
	}
	return errInternalStore
}

// lock takes the upload's lock, as tusd's requests do. If a tusd request
// holds it, tusd is asked to stop (as a HEAD from tusd itself would); our
// own holders ignore such requests, so a running Finisher is waited for
// (up to 20 s, then 500 ERR_LOCK_TIMEOUT, which clients retry).
func (h *Handler) lock(ctx context.Context, id string) (func(), error) {
	l, err := h.locker.NewLock(id)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := l.Lock(lctx, func() {}); err != nil {
		return nil, err
	}
	return func() { _ = l.Unlock() }, nil
}

// preCreate validates a new upload's metadata and records its uploader.
func (h *Handler) preCreate(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
	p := ginflix.PrincipalFrom(ev.Context)
	if p == nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, errUnauthorized
	}
	if !ev.Upload.SizeIsDeferred && ev.Upload.Size == 0 {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, errEmpty
	}
	if !ev.Upload.SizeIsDeferred && ev.Upload.Size > h.maxSize(ev.Context) {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, handler.ErrMaxSizeExceeded
	}
	meta, err := h.cleanMetadata(ev.Upload.MetaData, p.Subject)
	if err != nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, err
	}
	// The id has the shape of a video id (ginflix.NewID), so that the
	// Finisher may use it as the video's id as is.
	return handler.HTTPResponse{}, handler.FileInfoChanges{ID: ginflix.NewID(), MetaData: meta}, nil
}

// preFinish runs the Finisher when tusd stored the last byte, under tusd's
// lock, and puts the video id in the response.
func (h *Handler) preFinish(ev handler.HookEvent) (handler.HTTPResponse, error) {
	videoID, err := h.complete(ev.Context, ev.Upload)
	if err != nil {
		return handler.HTTPResponse{}, finishError(err)
	}
	return handler.HTTPResponse{Header: handler.HTTPHeader{HeaderVideoID: videoID}}, nil
}

// complete finishes a complete upload: the tombstone if there is one,
// else the Finisher, then the tombstone and the deletion of the files.
// Callers hold the upload's lock; without it (tests) it is still safe,
// the Finisher being idempotent.
func (h *Handler) complete(ctx context.Context, info handler.FileInfo) (string, error) {
	mu, _ := h.finishing.LoadOrStore(info.ID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if t, ok := h.readTombstone(info.ID); ok {
		return t.VideoID, nil
	}
	// A long Finisher must outlive the connection's deadlines and the
	// client's patience: it is not cancelled with the request.
	if rc, ok := ctx.Value(respCtlKey{}).(*http.ResponseController); ok {
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		defer func() { _ = rc.SetWriteDeadline(time.Now().Add(time.Minute)) }()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.FinishTimeout)
	defer cancel()

	u := h.uploadFrom(info)
	start := time.Now()
	videoID, err := h.finish(fctx, u)
	if err == nil && videoID == "" {
		err = errors.New("the finisher returned no video id")
	}
	if err != nil {
		h.log.Error("finishing upload failed; it is kept for a retry",
			"upload", u.ID, "size", u.Size, "uploader", u.UploaderID, "error", err)
		return "", err
	}
	h.log.Info("upload finished", "upload", u.ID, "size", u.Size, "uploader", u.UploaderID,
		"video", videoID, "finish_duration", time.Since(start))

	t := tombstone{ID: u.ID, VideoID: videoID, Size: u.Size, UploaderID: u.UploaderID, FinishedAt: h.now()}
	if err := h.writeTombstone(t); err != nil {
		// Without a tombstone a deleted upload would look unknown to a
		// retrying client: keep the files, a retry re-runs the
		// (idempotent) Finisher and the sweep removes them in time.
		h.log.Error("writing upload tombstone; keeping the upload's files", "upload", u.ID, "error", err)
		return videoID, nil
	}
	if err := h.removeFiles(ctx, u.ID); err != nil {
		h.log.Error("deleting finished upload; the sweep will retry", "upload", u.ID, "error", err)
	}
	// Later callers find the tombstone; the entry need not outlive it.
	h.finishing.Delete(u.ID)
	return videoID, nil
}

func (h *Handler) removeFiles(ctx context.Context, id string) error {
	up, err := h.store.GetUpload(context.WithoutCancel(ctx), id)
	if errors.Is(err, handler.ErrNotFound) {
		// GetUpload needs both files: remove whichever is left.
		for _, p := range []string{h.binPath(id), h.infoPath(id)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	return h.store.AsTerminatableUpload(up).Terminate(context.WithoutCancel(ctx))
}

// finishError is the answer to a failed Finisher: a client-safe message,
// 5xx when a retry may help (clients retry those), 4xx when it cannot.
func finishError(err error) error {
	status := http.StatusInternalServerError
	switch ginflix.ErrorCode(err) {
	case ginflix.EINVALID:
		status = http.StatusUnprocessableEntity
	case ginflix.ETOOLARGE:
		status = http.StatusRequestEntityTooLarge
	case ginflix.EFORBIDDEN:
		status = http.StatusForbidden
	case ginflix.EUNAVAILABLE:
		status = http.StatusServiceUnavailable
	}
	msg := strings.TrimSuffix(ginflix.ErrorMessage(err), ".")
	if status >= 500 {
		msg = "the upload is complete but the video could not be created (" + msg + "); the upload is kept: retry to finish it"
	} else {
		msg = "the upload is complete but the video could not be created: " + msg
	}
	return handler.NewError("ERR_FINISH_FAILED", msg, status)
}

// Files of an upload in Dir.
func (h *Handler) binPath(id string) string       { return filepath.Join(h.dir, id) }
func (h *Handler) infoPath(id string) string      { return filepath.Join(h.dir, id+".info") }
func (h *Handler) tombstonePath(id string) string { return filepath.Join(h.dir, id+".done") }

// tombstone records a finished upload after its files are deleted.
type tombstone struct {
	ID         string    `json:"id"`
	VideoID    string    `json:"videoId"`
	Size       int64     `json:"size"`
	UploaderID string    `json:"uploaderId"`
	FinishedAt time.Time `json:"finishedAt"`
}

func (h *Handler) readTombstone(id string) (tombstone, bool) {
	b, err := os.ReadFile(h.tombstonePath(id))
	if err != nil {
		return tombstone{}, false
	}
	var t tombstone
	if json.Unmarshal(b, &t) != nil || t.ID != id || t.VideoID == "" {
		return tombstone{}, false
	}
	return t, true
}

func (h *Handler) writeTombstone(t tombstone) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	final := h.tombstonePath(t.ID)
	f, err := os.CreateTemp(h.dir, t.ID+".done.*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
