package streamer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
)

// The file names the pipeline writes; nothing else is ever served.
var (
	validRung    = regexp.MustCompile(`^[1-9][0-9]{0,3}p$`) // the ladder names rungs "%dp"; sources under 100 px give "98p"
	validSegment = regexp.MustCompile(`^seg_[0-9]{5,9}\.m4s$`)
	validSprite  = regexp.MustCompile(`^sprite_[0-9]{1,5}\.jpg$`)
)

// Playlists carry a viewer token: a shared cache must not keep them.
const cachePlaylist = "private, max-age=5"

// readyProbeKey is looked up by /stream/ready: not finding it proves the
// store answers.
const readyProbeKey = "thumbnails/.streamer-ready-probe"

func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady checks the object store answers (within StoreTimeout).
func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.StoreTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Objects.Stat(ctx, readyProbeKey)
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = errStoreTimeout
	}
	if err != nil && ginflix.ErrorCode(err) != ginflix.ENOTFOUND {
		s.writeError(w, r, storeError(err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) handleMaster(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ginflix.ValidID(id) {
		s.writeError(w, r, errNotFound)
		return
	}
	tok, ok := s.viewerToken(w, r, id)
	if !ok {
		return
	}
	s.serve(w, r, object{
		key: ginflix.HLSPrefix(id) + "master.m3u8", prefix: ginflix.HLSPrefix(id), kind: kindPlaylist,
		cacheControl: cachePlaylist,
		// Each viewer has their own token: nothing to share between
		// requests but the parsed template.
		rewrite: &rewriting{prepare: playlistTemplate, name: "token", value: tok},
	})
}

func (s *server) handleRendition(w http.ResponseWriter, r *http.Request) {
	id, rung, file := r.PathValue("id"), r.PathValue("rung"), r.PathValue("file")
	if !ginflix.ValidID(id) || !validRung.MatchString(rung) {
		s.writeError(w, r, errNotFound)
		return
	}
	o := object{key: ginflix.HLSPrefix(id) + rung + "/" + file, prefix: ginflix.HLSPrefix(id)}
	switch {
	case file == "index.m3u8":
		if _, ok := s.viewerToken(w, r, id); !ok {
			return
		}
		vt := s.videoToks.current(id, s.Now())
		o.kind, o.cacheControl = kindPlaylist, cachePlaylist
		// Every viewer of the window gets the same bytes: keep them.
		o.rewrite = &rewriting{prepare: playlistTemplate, name: "vt", value: vt, shared: true}
	case file == "init.mp4":
		o.kind = kindInit
	case validSegment.MatchString(file):
		o.kind = kindSegment
	default:
		s.writeError(w, r, errNotFound)
		return
	}
	if o.cacheControl == "" {
		cc, _, ok := s.videoToken(w, r, id)
		if !ok {
			return
		}
		o.cacheControl = cc
	}
	s.serve(w, r, o)
}

func (s *server) handleThumbnail(w http.ResponseWriter, r *http.Request) {
	id, file := r.PathValue("id"), r.PathValue("file")
	if !ginflix.ValidID(id) {
		s.writeError(w, r, errNotFound)
		return
	}
	o := object{key: ginflix.ThumbnailPrefix(id) + file, prefix: ginflix.ThumbnailPrefix(id), kind: kindImage}
	switch {
	case file == "poster.jpg", file == "poster.webp", validSprite.MatchString(file), file == "storyboard.vtt":
	default:
		s.writeError(w, r, errNotFound)
		return
	}
	cc, vt, ok := s.videoToken(w, r, id)
	if !ok {
		return
	}
	o.cacheControl = cc
	if file == "storyboard.vtt" {
		// The request's own token, not a fresh one: the answer is then a
		// function of the URL alone, which a CDN may share.
		o.rewrite = &rewriting{prepare: storyboardTemplate, name: "vt", value: vt, shared: true}
	}
	s.serve(w, r, o)
}

// viewerToken checks ?token= for id; on failure it has answered.
func (s *server) viewerToken(w http.ResponseWriter, r *http.Request, id string) (string, bool) {
	tok, err := queryParam(r, "token")
	if err == nil {
		err = s.viewers.verify(tok, id)
	}
	if err != nil {
		s.writeError(w, r, withParam(err, "token"))
		return "", false
	}
	s.sessions.touch(tok)
	return tok, true
}

// videoToken checks ?vt= for id and returns the Cache-Control of what it
// opens: immutable for browsers, and for shared caches (s-maxage) only as
// long as the token is valid, so a CDN does not keep serving a URL the
// streamer would refuse. On failure it has answered.
func (s *server) videoToken(w http.ResponseWriter, r *http.Request, id string) (cacheControl, vt string, ok bool) {
	vt, err := queryParam(r, "vt")
	var until time.Time
	if err == nil {
		until, err = s.videos.verify(vt, id)
	}
	if err != nil {
		s.writeError(w, r, withParam(err, "vt"))
		return "", "", false
	}
	left := max(int64(until.Sub(s.Now())/time.Second), 0)
	return "public, max-age=31536000, immutable, s-maxage=" + strconv.FormatInt(left, 10), vt, true
}

// queryParam returns the one query parameter a route takes. Any other
// parameter, or a repeated one, is refused: each object has exactly one
// URL per token, so nobody can mint cache-busting variants that a CDN
// would forward to the streamer.
func queryParam(r *http.Request, name string) (string, error) {
	raw := r.URL.RawQuery
	if !strings.ContainsAny(raw, "&;") {
		// One pair at most, the usual case: what url.ParseQuery would
		// make of it, without its map.
		if raw == "" {
			return "", nil
		}
		k, v, _ := strings.Cut(raw, "=")
		k, err := url.QueryUnescape(k)
		if err == nil {
			v, err = url.QueryUnescape(v)
		}
		if err != nil {
			return "", ginflix.InvalidParam(name, "The query string is not valid.")
		}
		if k != name {
			return "", ginflix.InvalidParam(truncate(k, 40), "Unknown query parameter; this URL takes only %s.", name)
		}
		return v, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", ginflix.InvalidParam(name, "The query string is not valid.")
	}
	for k, v := range q {
		if k != name {
			return "", ginflix.InvalidParam(truncate(k, 40), "Unknown query parameter; this URL takes only %s.", name)
		}
		if len(v) > 1 {
			return "", ginflix.InvalidParam(name, "Give %s once.", name)
		}
	}
	return q.Get(name), nil
}

func withParam(err error, param string) error {
	var e *ginflix.Error
	if errors.As(err, &e) && e.Param == "" {
		c := *e
		c.Param = param
		return &c
	}
	return err
}

// object is what a handler asks serve to send.
type object struct {
	key, prefix  string
	kind         string
	cacheControl string
	// rewrite, when set, transforms the object's bytes before sending.
	rewrite *rewriting
}

// rewriting is how an object is rewritten: prepare parses it into a
// template (once per read of the object, kept with its cache entry), and
// each request renders the template with name=value. When shared, the
// value is the same for many requests (the video token of the window) and
// the rendered bytes are kept with the entry too, by value.
type rewriting struct {
	prepare     func([]byte) *template
	name, value string
	shared      bool
}

func (s *server) policy(o object) policy {
	switch {
	case o.rewrite != nil:
		return policy{kind: o.kind, maxCached: s.CacheBytes, whole: true, prepare: o.rewrite.prepare}
	case o.kind == kindInit:
		return policy{kind: o.kind, maxCached: s.CacheBytes}
	default:
		return policy{kind: o.kind, maxCached: s.MaxCachedObject}
	}
}

// serve sends an object from the cache, or streams it from the store when
// it is too big to cache, with Range, HEAD and conditional requests.
func (s *server) serve(w http.ResponseWriter, r *http.Request, o object) {
	// The handlers built the key from checked parts; check the result too.
	if !strings.HasPrefix(o.key, o.prefix) || ginflix.ValidateKey(o.key) != nil {
		s.writeError(w, r, errNotFound)
		return
	}
	res, err := s.cache.get(r.Context(), o.key, s.policy(o))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ginflix.ContentTypeFor(o.key))
	h.Set("Cache-Control", o.cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	bw, done := s.body(w, r, o.kind)
	defer done()
	if res.data == nil {
		s.serveLarge(bw, r, o, res)
		return
	}
	body, etag, mod := res.data, res.etag, res.info.ModTime
	if o.rewrite != nil {
		// The bytes depend on the token as well as the object; the ETag
		// follows the bytes, and the object's time would mislead
		// If-Modified-Since.
		body, etag = s.rewritten(res, o.rewrite)
		mod = time.Time{}
	}
	h.Set("ETag", etag)
	http.ServeContent(bw, r, "", mod, newMemBody(body))
}

// rewritten returns the object of res rewritten by rw, and its ETag: the
// entry's copy for rw's value when there is one, else a fresh rendering
// of the object's template (kept with the entry when rw is shared).
func (s *server) rewritten(res fetched, rw *rewriting) ([]byte, string) {
	keep := rw.shared && res.ent != nil
	if keep {
		if c := res.ent.renderedFor(rw.value); c != nil {
			return c.body, c.etag
		}
	}
	t := res.tmpl
	if t == nil {
		t = rw.prepare(res.data)
	}
	body := t.render(rw.name, rw.value)
	etag := contentETag(body)
	if keep {
		s.cache.keepRendered(res.ent, &rendered{value: rw.value, body: body, etag: etag})
	}
	return body, etag
}

func contentETag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"r` + hex.EncodeToString(sum[:16]) + `"`
}

// serveLarge streams an uncached object with ranged store reads. The read
// is opened before any header goes out, so a failing store is a clean
// error response; HEAD, 304 and 416 need no read at all.
func (s *server) serveLarge(w *bodyWriter, r *http.Request, o object, res fetched) {
	if rng := r.Header.Get("Range"); strings.Contains(rng, ",") {
		// Multipart ranges of a streamed object would mean a store read
		// per part; serving the whole object is allowed instead.
		r = r.Clone(r.Context())
		r.Header.Del("Range")
	}
	for attempt := 0; ; attempt++ {
		lo := &lazyObject{s: s, ctx: r.Context(), key: o.key, size: res.info.Size, etag: res.info.ETag}
		w.Header().Set("ETag", res.etag)
		if r.Method == http.MethodGet && res.info.Size > 0 && !etagListed(r.Header.Get("If-None-Match"), res.etag) {
			start, end, open := int64(0), res.info.Size-1, true
			if rng := r.Header.Get("Range"); rng != "" && ifRangeHolds(r.Header.Get("If-Range"), res) {
				// Unsatisfiable or odd ranges are ServeContent's to refuse
				// (416, no read); a range it takes after all reads lazily.
				start, end, open = singleRange(rng, res.info.Size)
			}
			if open {
				info, err := lo.openAt(start, end)
				if errors.Is(err, errChanged) && attempt == 0 {
					// The object was rewritten since its size was noted.
					s.cache.forget(o.key)
					res = fetched{info: info, etag: quoteETag(info)}
					continue
				}
				if err != nil {
					if errors.Is(err, errChanged) {
						err = storeError(err) // changing under our feet twice: try again later
					}
					if ginflix.ErrorCode(err) == ginflix.ENOTFOUND {
						s.cache.forget(o.key)
					}
					s.writeError(w.ResponseWriter, r, err)
					return
				}
			}
		}
		http.ServeContent(w, r, "", res.info.ModTime, lo)
		lo.Close()
		return
	}
}

// singleRange parses a one-range Range header against size the way
// http.ServeContent will, to open the store at the right place; ok is
// false for no, several or unsatisfiable ranges.
func singleRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	if b == "" {
		return start, size - 1, true
	}
	end, err = strconv.ParseInt(b, 10, 64)
	if err != nil || end < start {
		return 0, 0, false
	}
	return start, min(end, size-1), true
}

// ifRangeHolds says whether ServeContent will honour Range given the
// If-Range validator: a strong ETag equal to ours, or our time to the second.
func ifRangeHolds(ir string, res fetched) bool {
	switch {
	case ir == "":
		return true
	case strings.HasPrefix(ir, `"`):
		return ir == res.etag
	case strings.HasPrefix(ir, "W/"):
		return false
	}
	t, err := http.ParseTime(ir)
	return err == nil && !res.info.ModTime.IsZero() && res.info.ModTime.Unix() == t.Unix()
}

// etagListed reports whether an If-None-Match list names etag (weak
// comparison, as the header's semantics say).
func etagListed(list, etag string) bool {
	if list == "" {
		return false
	}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}
