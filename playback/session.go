package playback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
)

// A playback session id is the third kind of token the same keys sign. The
// backend issues one with each playback URL, and the player sends it back
// with its analytics events, so that the backend checks "the caller's own
// session of a known video, still open" from the id alone, without a
// database round trip:
//
//	s1.<kid>.<base64url(payload)>.<base64url(HMAC-SHA256)>
//	payload = {"s":"<random id>","v":"<video id>","u":"<subject>","d":<duration s>,"i":<unix ms issued>,"e":<unix expiry>,"r":["<rung>",…]}
//
// It is opaque to clients and authorises nothing but reporting: the
// streamer never accepts it (another MAC domain and version).

// DefaultSessionTTL is how long a playback session takes events: long
// enough for a film paused over an evening.
const DefaultSessionTTL = 12 * time.Hour

const (
	sessionVersion = "s1"
	sessionDomain  = "ginflix/playback-session/"
)

// Errors of VerifySession: a forged id is 403; an expired one, or one of a
// key no longer listed, is 422 (ask for a new session, not a new login).
var (
	ErrSessionMissing   = ginflix.InvalidParam("session", "The playback session is required (from POST /api/videos/{id}/playback).")
	ErrSessionMalformed = ginflix.InvalidParam("session", "The playback session is not one this server issued.")
	ErrSessionSignature = &ginflix.Error{Code: ginflix.EFORBIDDEN, Param: "session", Message: "The playback session is not valid."}
	ErrSessionExpired   = ginflix.Unprocessable("session", "The playback session has ended; start playback again for a new one.")
)

type sessionPayload struct {
	S string   `json:"s"`
	V string   `json:"v"`
	U string   `json:"u"`
	D float64  `json:"d"`
	I int64    `json:"i"`
	E int64    `json:"e"`
	R []string `json:"r,omitempty"`
}

// SignSession returns a new playback session of subject for videoID and
// what it says. Country is left for the caller (it is per request).
func (s *Signer) SignSession(videoID, subject string, duration float64, rungs []string, ttl time.Duration) (string, ginflix.PlaybackSession) {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if math.IsNaN(duration) || duration < 0 {
		duration = 0
	}
	now := s.now()
	sess := ginflix.PlaybackSession{ID: ginflix.NewID(), UserID: subject, VideoID: videoID, Duration: duration, Rungs: rungs,
		IssuedAt: time.UnixMilli(now.UnixMilli()).UTC(), Expires: time.Unix(now.Add(ttl).Unix(), 0).UTC()}
	kid, key := s.currentKey()
	payload, _ := json.Marshal(sessionPayload{S: sess.ID, V: videoID, U: subject, D: duration, I: sess.IssuedAt.UnixMilli(), E: sess.Expires.Unix(), R: rungs})
	head := sessionVersion + "." + kid + "." + b64.EncodeToString(payload)
	return head + "." + b64.EncodeToString(mac(key, sessionDomain, head)), sess
}

// VerifySession checks a session id (signature in constant time, key,
// expiry) and returns what it says.
func (s *Signer) VerifySession(tok string) (ginflix.PlaybackSession, error) {
	if tok == "" {
		return ginflix.PlaybackSession{}, ErrSessionMissing
	}
	if len(tok) > MaxTokenLen || len(tok) < 16 {
		return ginflix.PlaybackSession{}, ErrSessionMalformed
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] != sessionVersion || !validKeyID.MatchString(parts[1]) {
		return ginflix.PlaybackSession{}, ErrSessionMalformed
	}
	key, ok := s.Keys[parts[1]]
	if !ok {
		// Signed before a rotation dropped its key: long over.
		return ginflix.PlaybackSession{}, ErrSessionExpired
	}
	sig, err := b64.DecodeString(parts[3])
	if err != nil || len(sig) != sha256.Size {
		return ginflix.PlaybackSession{}, ErrSessionMalformed
	}
	head := tok[:len(tok)-len(parts[3])-1]
	if !hmac.Equal(sig, mac(key, sessionDomain, head)) {
		return ginflix.PlaybackSession{}, ErrSessionSignature
	}
	raw, err := b64.DecodeString(parts[2])
	if err != nil {
		return ginflix.PlaybackSession{}, ErrSessionMalformed
	}
	var p sessionPayload
	if err := json.Unmarshal(raw, &p); err != nil || !ginflix.ValidID(p.S) || p.V == "" || p.E <= 0 || p.I <= 0 {
		return ginflix.PlaybackSession{}, ErrSessionMalformed
	}
	sess := ginflix.PlaybackSession{ID: p.S, UserID: p.U, VideoID: p.V, Duration: p.D, Rungs: p.R,
		IssuedAt: time.UnixMilli(p.I).UTC(), Expires: time.Unix(p.E, 0).UTC()}
	if !s.now().Add(-s.ClockSkew).Before(sess.Expires) {
		return sess, ErrSessionExpired
	}
	return sess, nil
}
