package api

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestCache(ttl time.Duration, max int) (*pageCache, *fakeClock) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newPageCache(ttl, max)
	c.now = clock.now
	return c, clock
}

func TestPageCacheHitsUntilExpiry(t *testing.T) {
	c, clock := newTestCache(2*time.Second, 10)
	var computed atomic.Int32
	compute := func() (any, error) { computed.Add(1); return map[string]int32{"n": computed.Load()}, nil }

	e1, hit, err := c.get("k", compute)
	if err != nil || hit {
		t.Fatalf("first get: hit=%v err=%v", hit, err)
	}
	e2, hit, _ := c.get("k", compute)
	if !hit || string(e2.body) != string(e1.body) || e2.etag != e1.etag {
		t.Fatalf("second get within TTL must hit the same answer")
	}
	clock.advance(2 * time.Second)
	e3, hit, _ := c.get("k", compute)
	if hit || computed.Load() != 2 || e3.etag == e1.etag {
		t.Fatalf("after the TTL the answer is computed again: hit=%v computed=%d", hit, computed.Load())
	}
}

func TestPageCacheSingleFlight(t *testing.T) {
	c, _ := newTestCache(time.Minute, 10)
	var computed atomic.Int32
	release := make(chan struct{})
	compute := func() (any, error) {
		computed.Add(1)
		<-release
		return "page", nil
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e, _, err := c.get("k", compute); err != nil || string(e.body) != "\"page\"\n" {
				t.Errorf("got %v, %v", e, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let every goroutine reach the cache
	close(release)
	wg.Wait()
	if n := computed.Load(); n != 1 {
		t.Fatalf("50 concurrent misses computed the page %d times, want 1", n)
	}
}

func TestPageCacheDoesNotKeepErrors(t *testing.T) {
	c, _ := newTestCache(time.Minute, 10)
	boom := errors.New("database down")
	if _, _, err := c.get("k", func() (any, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	e, hit, err := c.get("k", func() (any, error) { return 1, nil })
	if err != nil || hit || string(e.body) != "1\n" {
		t.Fatalf("an error was cached: hit=%v err=%v", hit, err)
	}
}

func TestPageCacheInvalidate(t *testing.T) {
	c, _ := newTestCache(time.Minute, 10)
	c.get("k", func() (any, error) { return "old", nil })
	c.invalidate()
	e, hit, _ := c.get("k", func() (any, error) { return "new", nil })
	if hit || string(e.body) != "\"new\"\n" {
		t.Fatalf("invalidate kept the old answer")
	}
	// An answer computed across an invalidation is served once, not kept.
	c.get("slow", func() (any, error) { c.invalidate(); return "stale", nil })
	e, hit, _ = c.get("slow", func() (any, error) { return "fresh", nil })
	if hit || string(e.body) != "\"fresh\"\n" {
		t.Fatalf("an answer computed before an invalidation was kept")
	}
}

func TestPageCacheIsBounded(t *testing.T) {
	c, _ := newTestCache(time.Minute, 3)
	for _, k := range []string{"a", "b", "c"} {
		c.get(k, func() (any, error) { return k, nil })
	}
	c.get("a", func() (any, error) { return "a", nil }) // a is now the most recent
	c.get("d", func() (any, error) { return "d", nil }) // evicts b, the least recent
	if len(c.entries) != 3 || c.lru.Len() != 3 {
		t.Fatalf("%d entries, want 3", len(c.entries))
	}
	if _, ok := c.entries["b"]; ok {
		t.Fatal("the least recently used entry was kept")
	}
	if _, ok := c.entries["a"]; !ok {
		t.Fatal("a recently used entry was evicted")
	}
}

func TestETagMatches(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{`"abc"`, true}, {`W/"abc"`, true}, {`"x", "abc"`, true}, {`*`, true}, {`"abcd"`, false}, {``, false},
	} {
		if got := etagMatches(c.header, `"abc"`); got != c.want {
			t.Errorf("etagMatches(%q) = %v", c.header, got)
		}
	}
}
