package playback

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
)

const (
	// DefaultViewerTTL is how long a viewer token lives when SignViewer is
	// given no TTL and the Signer sets none.
	DefaultViewerTTL = 15 * time.Minute
	// DefaultWindow is the length of a video token window.
	DefaultWindow = time.Hour
	// MinKeyBytes is the shortest secret ParseKeys accepts.
	MinKeyBytes = 32
	// MaxTokenLen bounds the tokens Verify* look at; longer is malformed.
	MaxTokenLen = 1024

	version       = "v1"
	videoMACBytes = 16 // truncated HMAC-SHA256: 128 bits, shorter URLs
)

// Domain separation: the same keys sign both kinds, so each MAC input
// starts with its kind and a viewer MAC can never pass as a video MAC.
const (
	viewerDomain = "ginflix/viewer-token/"
	videoDomain  = "ginflix/video-token/"
)

// b64 is strict so that a token has exactly one spelling: otherwise the
// same token with other trailing bits would be another CDN cache key.
var b64 = base64.RawURLEncoding.Strict()

var validKeyID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Errors of Verify*. Missing, expired and unknown-key tokens are 401 (the
// client should get a new one); malformed, tampered and other-video tokens
// are 403.
var (
	ErrMissing = &ginflix.Error{Code: ginflix.EUNAUTHORIZED, Message: "A playback token is required."}
	ErrExpired = &ginflix.Error{Code: ginflix.EUNAUTHORIZED, Message: "The playback token has expired; request a new one."}
	// ErrUnknownKey is a token signed by a key this server no longer (or
	// not yet) has: after a rotation that means an old token.
	ErrUnknownKey = &ginflix.Error{Code: ginflix.EUNAUTHORIZED, Message: "The playback token was signed with a key that is not accepted any more; request a new one."}
	ErrMalformed  = &ginflix.Error{Code: ginflix.EFORBIDDEN, Message: "The playback token is not valid."}
	ErrSignature  = &ginflix.Error{Code: ginflix.EFORBIDDEN, Message: "The playback token is not valid."}
	ErrOtherVideo = &ginflix.Error{Code: ginflix.EFORBIDDEN, Message: "The playback token is for another video."}
)

// Signer signs and verifies both kinds of token. Keys maps key ids to
// secrets; Current names the one that signs. The zero values of the
// durations mean their defaults; Now defaults to time.Now.
type Signer struct {
	Keys    map[string][]byte
	Current string
	Now     func() time.Time
	// ViewerTTL is the viewer token lifetime when SignViewer's ttl is 0.
	ViewerTTL time.Duration
	// Window is the video token window; a token is valid in its window
	// and the next.
	Window time.Duration
	// ClockSkew is tolerated between the signing and verifying clocks
	// (backend and streamer): expiry and windows are stretched by it.
	ClockSkew time.Duration
}

// Claims are what a valid viewer token says.
type Claims struct {
	VideoID string
	Subject string
	Expires time.Time
	KeyID   string
}

type viewerPayload struct {
	V string `json:"v"`
	U string `json:"u"`
	E int64  `json:"e"`
}

// ParseKeys reads "kid1:base64secret,kid2:base64secret" (standard or URL
// base64, padded or not) into a Signer whose current key is the first.
// Secrets must have at least MinKeyBytes bytes; key ids are 1–32 of
// [A-Za-z0-9_-]. Error messages never include the secrets.
func ParseKeys(s string) (Signer, error) {
	sg := Signer{Keys: map[string][]byte{}, ClockSkew: 30 * time.Second}
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kid, secret, ok := strings.Cut(item, ":")
		kid, secret = strings.TrimSpace(kid), strings.TrimSpace(secret)
		if !ok || !validKeyID.MatchString(kid) {
			return Signer{}, ginflix.Errorf(ginflix.EINVALID, "Playback key %d: write it as kid:base64secret, the kid being 1 to 32 letters, digits, - or _.", i+1)
		}
		if _, dup := sg.Keys[kid]; dup {
			return Signer{}, ginflix.Errorf(ginflix.EINVALID, "Playback key id %q is listed twice.", kid)
		}
		key, err := decodeSecret(secret)
		if err != nil {
			return Signer{}, ginflix.Errorf(ginflix.EINVALID, "Playback key %q: the secret is not base64.", kid)
		}
		if len(key) < MinKeyBytes {
			return Signer{}, ginflix.Errorf(ginflix.EINVALID, "Playback key %q: the secret has %d bytes; use at least %d random bytes (e.g. openssl rand -base64 32).", kid, len(key), MinKeyBytes)
		}
		sg.Keys[kid] = key
		if sg.Current == "" {
			sg.Current = kid
		}
	}
	if sg.Current == "" {
		return Signer{}, ginflix.Errorf(ginflix.EINVALID, "No playback key is configured: give at least one as kid:base64secret.")
	}
	return sg, nil
}

func decodeSecret(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

// NewKey returns a fresh key spec "kid:base64secret" for configuration.
func NewKey(kid string) string {
	b := make([]byte, MinKeyBytes)
	_, _ = rand.Read(b)
	return kid + ":" + base64.StdEncoding.EncodeToString(b)
}

// Validate reports whether the Signer can sign: a hand-built one may not.
func (s *Signer) Validate() error {
	if s == nil {
		return ginflix.Errorf(ginflix.EINVALID, "No playback signer.")
	}
	key, ok := s.Keys[s.Current]
	if !ok || !validKeyID.MatchString(s.Current) {
		return ginflix.Errorf(ginflix.EINVALID, "The current playback key %q is not among the keys.", s.Current)
	}
	if len(key) < MinKeyBytes {
		return ginflix.Errorf(ginflix.EINVALID, "Playback key %q is shorter than %d bytes.", s.Current, MinKeyBytes)
	}
	for kid, k := range s.Keys {
		if !validKeyID.MatchString(kid) || len(k) < MinKeyBytes {
			return ginflix.Errorf(ginflix.EINVALID, "Playback key %q is invalid.", kid)
		}
	}
	return nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Signer) window() time.Duration {
	if s.Window >= time.Second {
		return s.Window.Truncate(time.Second)
	}
	return DefaultWindow
}

// TTL is the viewer token lifetime SignViewer uses for ttl 0.
func (s *Signer) TTL() time.Duration {
	if s.ViewerTTL > 0 {
		return s.ViewerTTL
	}
	return DefaultViewerTTL
}

func (s *Signer) currentKey() (string, []byte) {
	key, ok := s.Keys[s.Current]
	if !ok {
		// A configuration error that Validate or ParseKeys reports first.
		panic("playback: the current key " + strconv.Quote(s.Current) + " is not among the keys")
	}
	return s.Current, key
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// SignViewer returns a viewer token for videoID and subject that expires
// after ttl (the Signer's TTL when ttl ≤ 0).
func (s *Signer) SignViewer(videoID, subject string, ttl time.Duration) string {
	if ttl <= 0 {
		ttl = s.TTL()
	}
	kid, key := s.currentKey()
	payload, _ := json.Marshal(viewerPayload{V: videoID, U: subject, E: s.now().Add(ttl).Unix()})
	head := version + "." + kid + "." + b64.EncodeToString(payload)
	return head + "." + b64.EncodeToString(mac(key, viewerDomain, head))
}

// VerifyViewer checks a viewer token for videoID: signature (in constant
// time), key id, expiry and video. The errors are the Err* of this package.
func (s *Signer) VerifyViewer(tok, videoID string) (Claims, error) {
	if tok == "" {
		return Claims{}, ErrMissing
	}
	if len(tok) > MaxTokenLen || len(tok) < 16 {
		return Claims{}, ErrMalformed
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] != version || !validKeyID.MatchString(parts[1]) {
		return Claims{}, ErrMalformed
	}
	key, ok := s.Keys[parts[1]]
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	sig, err := b64.DecodeString(parts[3])
	if err != nil || len(sig) != sha256.Size {
		return Claims{}, ErrMalformed
	}
	head := tok[:len(tok)-len(parts[3])-1]
	if !hmac.Equal(sig, mac(key, viewerDomain, head)) {
		return Claims{}, ErrSignature
	}
	// Past the MAC the payload is ours; still decode it strictly.
	raw, err := b64.DecodeString(parts[2])
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var p viewerPayload
	if err := json.Unmarshal(raw, &p); err != nil || p.V == "" || p.E <= 0 {
		return Claims{}, ErrMalformed
	}
	c := Claims{VideoID: p.V, Subject: p.U, Expires: time.Unix(p.E, 0), KeyID: parts[1]}
	if p.V != videoID {
		return c, ErrOtherVideo
	}
	if !s.now().Add(-s.ClockSkew).Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// windowOffset shifts one video's windows by a stable amount below one
// window, so that CDN URLs of all videos do not turn over together.
func windowOffset(videoID string, secs int64) int64 {
	h := sha256.Sum256([]byte("ginflix/window/" + videoID))
	return int64(binary.BigEndian.Uint64(h[:8]) % uint64(secs))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (s *Signer) windowIndex(videoID string, t time.Time) int64 {
	secs := int64(s.window() / time.Second)
	return floorDiv(t.Unix()+windowOffset(videoID, secs), secs)
}

// windowEnd is when a token of window w stops being valid: the end of
// the window after it.
func (s *Signer) windowEnd(videoID string, w int64) time.Time {
	secs := int64(s.window() / time.Second)
	return time.Unix((w+2)*secs-windowOffset(videoID, secs), 0)
}

// VideoToken returns the video token of videoID for the window holding
// now: the same string for every caller during that window.
func (s *Signer) VideoToken(videoID string, now time.Time) string {
	kid, key := s.currentKey()
	w := strconv.FormatInt(s.windowIndex(videoID, now), 10)
	sum := mac(key, videoDomain, version, ".", kid, ".", w, ".", videoID)
	return version + "." + kid + "." + w + "." + b64.EncodeToString(sum[:videoMACBytes])
}

// VerifyVideo checks a video token for videoID and returns when it stops
// being valid. The errors are the Err* of this package; a token of another
// video fails its MAC and is ErrSignature.
func (s *Signer) VerifyVideo(tok, videoID string) (time.Time, error) {
	if tok == "" {
		return time.Time{}, ErrMissing
	}
	if len(tok) > 128 || len(tok) < 16 {
		return time.Time{}, ErrMalformed
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] != version || !validKeyID.MatchString(parts[1]) {
		return time.Time{}, ErrMalformed
	}
	w, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || strconv.FormatInt(w, 10) != parts[2] {
		return time.Time{}, ErrMalformed
	}
	key, ok := s.Keys[parts[1]]
	if !ok {
		return time.Time{}, ErrUnknownKey
	}
	sig, err := b64.DecodeString(parts[3])
	if err != nil || len(sig) != videoMACBytes {
		return time.Time{}, ErrMalformed
	}
	sum := mac(key, videoDomain, version, ".", parts[1], ".", parts[2], ".", videoID)
	if !hmac.Equal(sig, sum[:videoMACBytes]) {
		return time.Time{}, ErrSignature
	}
	now := s.now()
	lo := s.windowIndex(videoID, now.Add(-s.ClockSkew)) - 1
	hi := s.windowIndex(videoID, now.Add(s.ClockSkew))
	switch {
	case w < lo:
		return time.Time{}, ErrExpired
	case w > hi:
		// Signed for a window still to come: not ours to accept.
		return time.Time{}, ErrMalformed
	}
	return s.windowEnd(videoID, w), nil
}
