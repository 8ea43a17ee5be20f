package streamer

import (
	"hash/maphash"
	"sync"
	"time"
)

// sessions counts the distinct viewer tokens seen within a window. It
// keeps a 64-bit hash and a time per token, at most max of them: past
// that, new tokens are not counted until old ones age out, so memory is
// bounded whatever the traffic. Only verified tokens are recorded.
//
// Players fetch a VOD playlist once per rendition, so this counts the
// sessions that started or switched rendition in the window; the backend's
// progress reports are the measure of who is still watching.
type sessions struct {
	mu        sync.Mutex
	seed      maphash.Seed
	seen      map[uint64]int64 // hash → unix nanos last seen
	window    time.Duration
	max       int
	now       func() time.Time
	lastSweep time.Time
}

func newSessions(window time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{seed: maphash.MakeSeed(), seen: map[uint64]int64{}, window: window, max: max, now: now}
}

func (s *sessions) touch(token string) {
	h := maphash.String(s.seed, token)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.lastSweep) >= time.Second { // amortised: at most one O(n) sweep a second
		s.sweepLocked(now)
	}
	if _, ok := s.seen[h]; ok || len(s.seen) < s.max {
		s.seen[h] = now.UnixNano()
	}
}

func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.now())
	return len(s.seen)
}

func (s *sessions) sweepLocked(now time.Time) {
	s.lastSweep = now
	cutoff := now.Add(-s.window).UnixNano()
	for h, t := range s.seen {
		if t <= cutoff {
			delete(s.seen, h)
		}
	}
}
