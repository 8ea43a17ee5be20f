package api

import (
	"bytes"
	"container/list"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"
	"time"
)

// pageCache keeps encoded catalogue answers for a few seconds. Catalogue
// pages are the same for every viewer and read far more than written, so
// a short TTL (micro-caching, as a CDN would do) turns a burst of identical
// requests into one store query. Misses are single-flight: concurrent
// requests for a missing page wait for the one computing it. Admin writes
// made through this process call invalidate, so they show at once here;
// other replicas show them within the TTL.
type pageCache struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu       sync.Mutex
	entries  map[string]*list.Element // of *cacheEntry, most recent at front
	lru      *list.List
	inflight map[string]*cacheCall
	gen      uint64
}

type cacheEntry struct {
	key     string
	body    []byte
	etag    string
	expires time.Time
}

type cacheCall struct {
	done  chan struct{}
	entry *cacheEntry
	err   error
}

func newPageCache(ttl time.Duration, maxEntries int) *pageCache {
	return &pageCache{
		ttl: ttl, maxEntries: maxEntries, now: time.Now,
		entries: map[string]*list.Element{}, lru: list.New(), inflight: map[string]*cacheCall{},
	}
}

// invalidate drops every entry; answers being computed are not stored.
func (c *pageCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]*list.Element{}
	c.lru.Init()
}

// get returns the cached answer for key, computing it once on a miss.
func (c *pageCache) get(key string, compute func() (any, error)) (*cacheEntry, bool, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e, true, nil
		}
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	if call, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		<-call.done
		return call.entry, true, call.err
	}
	call := &cacheCall{done: make(chan struct{})}
	c.inflight[key] = call
	gen := c.gen
	c.mu.Unlock()

	call.entry, call.err = encodeEntry(key, compute)
	c.mu.Lock()
	delete(c.inflight, key)
	if call.err == nil && gen == c.gen {
		call.entry.expires = c.now().Add(c.ttl)
		c.entries[key] = c.lru.PushFront(call.entry)
		for c.lru.Len() > c.maxEntries {
			old := c.lru.Remove(c.lru.Back()).(*cacheEntry)
			delete(c.entries, old.key)
		}
	}
	c.mu.Unlock()
	close(call.done)
	return call.entry, false, call.err
}

func encodeEntry(key string, compute func() (any, error)) (*cacheEntry, error) {
	v, err := compute()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write(buf.Bytes())
	return &cacheEntry{key: key, body: buf.Bytes(), etag: fmt.Sprintf(`"%016x"`, h.Sum64())}, nil
}

// writeCachedJSON answers r with the cached answer for key, honouring
// If-None-Match. Without a cache (TTL 0) it computes every time.
func (s *server) writeCachedJSON(w http.ResponseWriter, r *http.Request, key string, compute func() (any, error)) {
	var (
		e   *cacheEntry
		err error
	)
	if s.cache != nil {
		var hit bool
		e, hit, err = s.cache.get(key, compute)
		s.Metrics.CountCache(hit)
	} else {
		e, err = encodeEntry(key, compute)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", e.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: cheap with the ETag
	h.Set("Vary", "Authorization")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(e.body)
}

func etagMatches(header, etag string) bool {
	for _, part := range bytes.Split([]byte(header), []byte(",")) {
		p := string(bytes.TrimSpace(part))
		if p == "*" || p == etag || p == "W/"+etag {
			return true
		}
	}
	return false
}
