package streamer

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginflix/ginflix"
)

// maxRewritten bounds objects read whole for rewriting (playlists and
// storyboards) when the cache cannot hold them: a real one is kilobytes.
const maxRewritten = 16 << 20

// entryOverhead is what an entry costs beside its bytes: key, struct,
// list element and map slot, roughly.
const entryOverhead = 160

// policy says how the cache treats one kind of object.
type policy struct {
	kind string
	// maxCached is the largest object kept in memory.
	maxCached int64
	// whole is true for objects the server needs in memory (to rewrite
	// them) even when the cache cannot keep them.
	whole bool
	// prepare, when set, parses an object for rewriting once, when it is
	// read; the template is kept with the entry (and counted in its cost).
	prepare func([]byte) *template
}

// entry is a cached object, or, with data nil, a note that the object is
// too big to cache, so that later requests stream it without a fill.
type entry struct {
	key     string
	data    []byte
	info    ginflix.ObjectInfo
	etag    string // quoted, ready for the header
	expires time.Time
	cost    int64 // everything below included; changed under the cache's lock
	elem    *list.Element

	// reserved is what read set aside for the entry before reading.
	reserved int64
	// tmpl is the object parsed for rewriting (policy.prepare), if any.
	tmpl *template
	// rendered holds the last rewritten copies of a rewritten object
	// whose parameter is shared by all requests of a window (media
	// playlists, storyboards: the video token), by parameter value. They
	// belong to this entry, so to this version of the object (its store
	// ETag): a re-read object starts with none, and they go with the
	// entry. Stored under the cache's lock (keepRendered), read without.
	rendered atomic.Pointer[renderedSet]
}

// rendered is one rewritten copy of an object and the ETag of its bytes.
type rendered struct {
	value string // the parameter's value it was rendered with
	body  []byte
	etag  string
}

func (r *rendered) cost() int64 { return int64(len(r.value)+len(r.body)+len(r.etag)) + 64 }

// renderedPerEntry bounds the copies an entry keeps: the current video
// token's and the previous one's, which requests may still carry around a
// window's turn.
const renderedPerEntry = 2

// renderedSet is an immutable list of copies, the most recent first.
type renderedSet struct {
	copies [renderedPerEntry]*rendered
}

// renderedFor returns e's copy rendered with value, or nil.
func (e *entry) renderedFor(value string) *rendered {
	set := e.rendered.Load()
	if set == nil {
		return nil
	}
	for _, r := range set.copies {
		if r != nil && r.value == value {
			return r
		}
	}
	return nil
}

// fetched is the outcome of a cache lookup: an object in memory (data set)
// or the description of one to stream from the store.
type fetched struct {
	data []byte
	info ginflix.ObjectInfo
	etag string
	tmpl *template // the object parsed for rewriting, when its policy asks
	ent  *entry    // the cache entry the object came from, nil if none
}

// flight is one object store read that concurrent lookups share.
type flight struct {
	done chan struct{}
	res  fetched
	err  error
}

type cacheConfig struct {
	maxBytes  int64
	ttl       time.Duration
	waitLimit time.Duration // how long a lookup waits for a fill
	now       func() time.Time
	metrics   Metrics
	open      func(context.Context, string, *ginflix.ByteRange) (*storeBody, ginflix.ObjectInfo, error)
}

// cache is a byte-bounded LRU with single-flight fills. Fills run detached
// from the request that started them, so a client that leaves cannot cut
// a fill short, and a fill stores its entry only once it has every byte.
// Errors are never cached: the next lookup after a failure reads again.
type cache struct {
	cacheConfig

	mu      sync.Mutex
	used    int64 // entries' cost plus reservations of fills in progress
	lru     *list.List
	items   map[string]*entry
	flights map[string]*flight

	joined atomic.Int64 // lookups that waited on a flight, for tests
	fills  sync.WaitGroup
}

func newCache(c cacheConfig) *cache {
	return &cache{cacheConfig: c, lru: list.New(), items: map[string]*entry{}, flights: map[string]*flight{}}
}

// get returns key's object: from memory, from a fill in progress, or from
// a new fill it starts.
func (c *cache) get(ctx context.Context, key string, pol policy) (fetched, error) {
	c.mu.Lock()
	if e, ok := c.items[key]; ok {
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(e.elem)
			res := fetched{data: e.data, info: e.info, etag: e.etag, tmpl: e.tmpl, ent: e}
			c.mu.Unlock()
			c.metrics.CacheHit(pol.kind)
			return res, nil
		}
		c.removeLocked(e)
	}
	f, ok := c.flights[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		c.flights[key] = f
		c.fills.Add(1)
		go c.fill(key, pol, f)
	}
	c.mu.Unlock()
	if ok {
		c.metrics.CacheHit(pol.kind)
	} else {
		c.metrics.CacheMiss(pol.kind)
	}
	c.joined.Add(1)
	timer := time.NewTimer(c.waitLimit)
	defer timer.Stop()
	select {
	case <-f.done:
		return f.res, f.err
	case <-ctx.Done():
		return fetched{}, ctx.Err()
	case <-timer.C:
		return fetched{}, storeError(errStoreTimeout)
	}
}

// fill reads key from the store, detached from any request, and keeps it
// when its policy and the cache's room allow.
func (c *cache) fill(key string, pol policy, f *flight) {
	defer c.fills.Done()
	res, e, err := c.read(key, pol)
	c.mu.Lock()
	if e != nil {
		if old, ok := c.items[key]; ok {
			c.removeLocked(old)
		}
		e.elem = c.lru.PushFront(e)
		c.items[key] = e
		c.used += e.cost - e.reserved // the reservation becomes the entry
		// A note costs its overhead only, a template comes on top of the
		// reservation: make room for them like for any entry.
		c.evictLocked(0)
		if c.items[key] == e {
			res.ent = e
		}
	}
	delete(c.flights, key)
	c.metrics.CacheBytes(c.used)
	f.res, f.err = res, err
	c.mu.Unlock()
	close(f.done)
}

func (c *cache) read(key string, pol policy) (fetched, *entry, error) {
	body, info, err := c.open(context.Background(), key, nil)
	if err != nil {
		return fetched{}, nil, err
	}
	defer body.Close()
	etag := quoteETag(info)
	cost := info.Size + int64(len(key)) + entryOverhead
	keep := info.Size <= pol.maxCached && c.reserve(cost)
	if !keep && !pol.whole {
		note := &entry{key: key, info: info, etag: etag, expires: c.now().Add(c.ttl), cost: int64(len(key)) + entryOverhead}
		return fetched{info: info, etag: etag}, note, nil
	}
	if !keep && info.Size > maxRewritten {
		return fetched{}, nil, ginflix.Errorf(ginflix.ETOOLARGE, "The object is too large to serve.")
	}
	data := make([]byte, info.Size)
	_, err = io.ReadFull(body, data)
	if err != nil {
		if keep {
			c.release(cost)
		}
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("object %q ended early: %w", key, err)
		}
		return fetched{}, nil, storeError(err)
	}
	if info.ETag == "" {
		sum := sha256.Sum256(data)
		etag = `"` + hex.EncodeToString(sum[:16]) + `"`
	}
	res := fetched{data: data, info: info, etag: etag}
	if pol.prepare != nil {
		res.tmpl = pol.prepare(data)
	}
	if !keep {
		return res, nil, nil
	}
	e := &entry{key: key, data: data, info: info, etag: etag, expires: c.now().Add(c.ttl), cost: cost, reserved: cost, tmpl: res.tmpl}
	if e.tmpl != nil {
		e.cost += e.tmpl.cost()
	}
	return res, e, nil
}

// keepRendered adds a rewritten copy to e, counting it in the cache's
// bytes, unless e has left the cache (evicted, expired or replaced by a
// newer read) or already holds a copy for the same value. The oldest copy
// past renderedPerEntry makes way.
func (c *cache) keepRendered(e *entry, r *rendered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items[e.key] != e || e.renderedFor(r.value) != nil {
		return
	}
	var set renderedSet
	set.copies[0] = r
	delta := r.cost()
	if old := e.rendered.Load(); old != nil {
		copy(set.copies[1:], old.copies[:])
		if dropped := old.copies[renderedPerEntry-1]; dropped != nil {
			delta -= dropped.cost()
		}
	}
	e.rendered.Store(&set)
	e.cost += delta
	c.used += delta
	c.evictLocked(0)
	c.metrics.CacheBytes(c.used)
}

// reserve sets n bytes aside for a fill, evicting what it must; it fails
// when even an empty cache (fills in progress aside) could not hold n.
func (c *cache) reserve(n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.evictLocked(n) {
		return false
	}
	c.used += n
	c.metrics.CacheBytes(c.used)
	return true
}

func (c *cache) release(n int64) {
	c.mu.Lock()
	c.used -= n
	c.metrics.CacheBytes(c.used)
	c.mu.Unlock()
}

// evictLocked drops least recently used entries until n more bytes fit.
func (c *cache) evictLocked(n int64) bool {
	for c.used+n > c.maxBytes {
		back := c.lru.Back()
		if back == nil {
			return false
		}
		c.removeLocked(back.Value.(*entry))
		c.metrics.CacheEviction()
	}
	return true
}

func (c *cache) removeLocked(e *entry) {
	c.lru.Remove(e.elem)
	delete(c.items, e.key)
	c.used -= e.cost
}

// forget drops key's entry, if any.
func (c *cache) forget(key string) {
	c.mu.Lock()
	if e, ok := c.items[key]; ok {
		c.removeLocked(e)
		c.metrics.CacheBytes(c.used)
	}
	c.mu.Unlock()
}

// stats are for tests and the health answer.
func (c *cache) stats() (entries int, used int64, inFlight int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.used, len(c.flights)
}

// peek returns key's entry without touching the LRU order.
func (c *cache) peek(key string) (data []byte, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	return e.data, true
}

// quoteETag makes a strong ETag header value from the store's tag, or
// from size and time when the store gives none or one unfit for a header.
func quoteETag(info ginflix.ObjectInfo) string {
	tag := info.ETag
	ok := tag != ""
	for i := 0; i < len(tag) && ok; i++ {
		// etagc = %x21 / %x23-7E
		if c := tag[i]; c != 0x21 && (c < 0x23 || c > 0x7e) {
			ok = false
		}
	}
	if ok && len(tag) <= 128 {
		return `"` + tag + `"`
	}
	if tag != "" {
		sum := sha256.Sum256([]byte(tag))
		return `"` + hex.EncodeToString(sum[:16]) + `"`
	}
	return fmt.Sprintf(`"%x-%x"`, info.Size, info.ModTime.UnixNano())
}
