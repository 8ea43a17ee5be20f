package oidc

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/ginflix/ginflix"
)

// verifiedCache remembers tokens that passed every check, until they
// expire (at most maxAge), so a client's many requests with one token cost
// one signature verification: RSA verification was a sixth of the API's
// CPU under the playback-events load. A verified JWT stays valid until its
// exp whatever we do, so remembering it changes no answer.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verified
	max     int
	maxAge  time.Duration
}

type verified struct {
	p     ginflix.Principal
	until time.Time
}

func newVerifiedCache(max int, maxAge time.Duration) *verifiedCache {
	return &verifiedCache{entries: make(map[[sha256.Size]byte]verified), max: max, maxAge: maxAge}
}

// get returns a copy of raw's principal if it was verified and is still
// within its lifetime at now.
func (c *verifiedCache) get(raw string, now time.Time) (*ginflix.Principal, bool) {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.until) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	p := e.p
	p.Roles = append([]string(nil), e.p.Roles...)
	return &p, true
}

// put remembers raw's principal until expiry (or maxAge from now). When
// full, expired entries go first, then arbitrary ones: the cache is an
// optimisation, a miss only costs a verification.
func (c *verifiedCache) put(raw string, p *ginflix.Principal, expiry, now time.Time) {
	until := now.Add(c.maxAge)
	if expiry.Before(until) {
		until = expiry
	}
	if !now.Before(until) {
		return
	}
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, key)
			}
		}
		for key := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, key)
		}
	}
	stored := *p
	stored.Roles = append([]string(nil), p.Roles...)
	c.entries[k] = verified{p: stored, until: until}
}
