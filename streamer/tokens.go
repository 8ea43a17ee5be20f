package streamer

import (
	"crypto/subtle"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/ginflix/ginflix/playback"
)

// maxVerifiedBytes bounds the memory of the verified viewer tokens
// (about 250 bytes each for a real token: some 30 000 of them).
const maxVerifiedBytes = 8 << 20

// verifiedOverhead is what an entry costs beside its strings, roughly.
const verifiedOverhead = 96

// verifiedViewers remembers viewer tokens that passed
// playback.Signer.VerifyViewer, until they expire, so that the playlists
// of one playback session (the master, then one media playlist per
// rendition, again on every switch) check the MAC and decode the payload
// once. Only successes are kept; a token found here is still checked for
// its video and expiry on every request, exactly as VerifyViewer checks
// them, and anything else (another video, expired, unknown) goes to
// VerifyViewer, whose errors are the answer. Entries are found by a
// seeded hash and the token compared in constant time; memory is bounded
// by maxVerifiedBytes whatever the traffic.
type verifiedViewers struct {
	signer *playback.Signer
	seed   maphash.Seed

	mu        sync.Mutex
	m         map[uint64]verifiedViewer
	bytes     int64
	max       int64
	lastSweep time.Time
}

type verifiedViewer struct {
	tok, videoID string
	expires      time.Time // the token's expiry, as in its Claims
}

func (v verifiedViewer) cost() int64 { return int64(len(v.tok)+len(v.videoID)) + verifiedOverhead }

func newVerifiedViewers(signer *playback.Signer, maxBytes int64) *verifiedViewers {
	return &verifiedViewers{signer: signer, seed: maphash.MakeSeed(), m: map[uint64]verifiedViewer{}, max: maxBytes}
}

// now is the signer's clock, the one VerifyViewer judges expiry by.
func (c *verifiedViewers) now() time.Time {
	if c.signer.Now != nil {
		return c.signer.Now()
	}
	return time.Now()
}

// valid is VerifyViewer's expiry test.
func (c *verifiedViewers) valid(expires time.Time, now time.Time) bool {
	return now.Add(-c.signer.ClockSkew).Before(expires)
}

// verify is VerifyViewer(tok, videoID) for the error it returns.
func (c *verifiedViewers) verify(tok, videoID string) error {
	h := maphash.String(c.seed, tok)
	c.mu.Lock()
	v, ok := c.m[h]
	c.mu.Unlock()
	if ok && v.videoID == videoID && equalTokens(v.tok, tok) && c.valid(v.expires, c.now()) {
		return nil
	}
	claims, err := c.signer.VerifyViewer(tok, videoID)
	if err != nil {
		return err
	}
	// Copies: the strings point into the request line otherwise.
	c.add(h, verifiedViewer{tok: strings.Clone(tok), videoID: strings.Clone(videoID), expires: claims.Expires})
	return nil
}

func (c *verifiedViewers) add(h uint64, v verifiedViewer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[h]; ok {
		c.bytes -= old.cost()
		delete(c.m, h)
	}
	if c.bytes+v.cost() > c.max {
		now := c.now()
		if now.Sub(c.lastSweep) >= time.Second { // at most one O(n) sweep a second
			c.lastSweep = now
			for k, e := range c.m {
				if !c.valid(e.expires, now) {
					c.bytes -= e.cost()
					delete(c.m, k)
				}
			}
		}
		// Still full: drop arbitrary entries (map order), which at worst
		// costs them one more VerifyViewer.
		for k, e := range c.m {
			if c.bytes+v.cost() <= c.max {
				break
			}
			c.bytes -= e.cost()
			delete(c.m, k)
		}
		if c.bytes+v.cost() > c.max {
			return
		}
	}
	c.m[h] = v
	c.bytes += v.cost()
}

// equalTokens compares two tokens in time that depends on their length only.
func equalTokens(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var x byte
	for i := range len(a) {
		x |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(x, 0) == 1
}

// len is for tests.
func (c *verifiedViewers) len() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.bytes
}

// maxVideoTokens bounds the remembered video tokens (one per video,
// about 150 bytes each).
const maxVideoTokens = 20_000

// videoTokenHorizons are how far ahead a remembered video token is
// proven current, longest first.
var videoTokenHorizons = []time.Duration{10 * time.Second, time.Second}

// videoTokens remembers the current video token of each video for a few
// seconds, so that media playlists do not compute an HMAC each. A token
// is remembered from t0 to t0+h only once VideoToken(id, t0+h) is found
// to be the same string: window indices never decrease with time, so the
// token is then the current one throughout, and what a request gets is
// exactly VideoToken(id, now). Near a window's turn no horizon holds and
// every request computes the token.
type videoTokens struct {
	signer *playback.Signer

	mu        sync.Mutex
	m         map[string]videoToken
	lastSweep time.Time
}

type videoToken struct {
	tok      string
	from, to time.Time // VideoToken(id, t) is tok for t in [from, to]
}

func newVideoTokens(signer *playback.Signer) *videoTokens {
	return &videoTokens{signer: signer, m: map[string]videoToken{}}
}

// current is s.Signer.VideoToken(id, now).
func (c *videoTokens) current(id string, now time.Time) string {
	c.mu.Lock()
	v, ok := c.m[id]
	c.mu.Unlock()
	if ok && !now.Before(v.from) && !now.After(v.to) {
		return v.tok
	}
	tok := c.signer.VideoToken(id, now)
	for _, h := range videoTokenHorizons {
		if c.signer.VideoToken(id, now.Add(h)) == tok {
			c.add(strings.Clone(id), videoToken{tok: tok, from: now, to: now.Add(h)})
			break
		}
	}
	return tok
}

func (c *videoTokens) add(id string, v videoToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= maxVideoTokens {
		if v.from.Sub(c.lastSweep) >= time.Second || v.from.Before(c.lastSweep) {
			c.lastSweep = v.from
			for k, e := range c.m {
				if v.from.After(e.to) || v.from.Before(e.from) {
					delete(c.m, k)
				}
			}
		}
		for k := range c.m {
			if len(c.m) < maxVideoTokens {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[id] = v
}

// maxVerifiedVideoTokens bounds the remembered video tokens that passed
// VerifyVideo: a handful per video (this window's, the last one's).
const maxVerifiedVideoTokens = 20_000

// verifiedVideos remembers video tokens that passed
// playback.Signer.VerifyVideo with the end of validity it returned, so
// that segment requests (every viewer of a video sends the same token for
// a window) check the MAC once. A remembered token is accepted only from
// the time it was verified until the returned end, by the signer's clock:
// a token that verified at t0 was not from a future window then and
// cannot be later, and VerifyVideo accepts it until that end (and for the
// clock skew past it). Outside that span, or for a token or video not
// remembered, VerifyVideo answers. Failures are never remembered.
type verifiedVideos struct {
	signer *playback.Signer
	seed   maphash.Seed

	mu        sync.Mutex
	m         map[uint64]verifiedVideo
	lastSweep time.Time
}

type verifiedVideo struct {
	tok, videoID string
	from, until  time.Time
}

func newVerifiedVideos(signer *playback.Signer) *verifiedVideos {
	return &verifiedVideos{signer: signer, seed: maphash.MakeSeed(), m: map[uint64]verifiedVideo{}}
}

func (c *verifiedVideos) now() time.Time {
	if c.signer.Now != nil {
		return c.signer.Now()
	}
	return time.Now()
}

// verify is VerifyVideo(tok, videoID).
func (c *verifiedVideos) verify(tok, videoID string) (time.Time, error) {
	h := maphash.String(c.seed, tok)
	c.mu.Lock()
	v, ok := c.m[h]
	c.mu.Unlock()
	if ok && v.videoID == videoID && equalTokens(v.tok, tok) {
		if now := c.now(); !now.Before(v.from) && now.Before(v.until) {
			return v.until, nil
		}
	}
	until, err := c.signer.VerifyVideo(tok, videoID)
	// Read after VerifyVideo's own clock: from then on the token's window
	// cannot be a future one.
	from := c.now()
	if err != nil || c.signer.ClockSkew < 0 || !from.Before(until) {
		return until, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; !ok && len(c.m) >= maxVerifiedVideoTokens {
		if from.Sub(c.lastSweep) >= time.Second || from.Before(c.lastSweep) { // at most one O(n) sweep a second
			c.lastSweep = from
			for k, e := range c.m {
				if !from.Before(e.until) || from.Before(e.from) {
					delete(c.m, k)
				}
			}
		}
		for k := range c.m {
			if len(c.m) < maxVerifiedVideoTokens {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[h] = verifiedVideo{tok: strings.Clone(tok), videoID: strings.Clone(videoID), from: from, until: until}
	return until, nil
}
