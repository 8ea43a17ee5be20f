package playback

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

const (
	videoA = "0123456789abcdef01234567"
	videoB = "fedcba9876543210fedcba98"
)

func secret(c byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(c), 32)))
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newSigner(t *testing.T, spec string) (*Signer, *clock) {
	t.Helper()
	s, err := ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	s.ClockSkew = 0
	return &s, c
}

func TestParseKeys(t *testing.T) {
	s, err := ParseKeys(" new:" + secret('n') + " , old:" + strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(strings.Repeat("o", 40))), "="))
	if err != nil {
		t.Fatal(err)
	}
	if s.Current != "new" || len(s.Keys) != 2 || len(s.Keys["old"]) != 40 {
		t.Fatalf("got current %q, %d keys", s.Current, len(s.Keys))
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	short := base64.StdEncoding.EncodeToString([]byte("too short"))
	for name, spec := range map[string]string{
		"empty":      "",
		"no colon":   "k1" + secret('a'),
		"short":      "k1:" + short,
		"not base64": "k1:!!!not-base64!!!",
		"bad kid":    "k.1:" + secret('a'),
		"long kid":   strings.Repeat("k", 33) + ":" + secret('a'),
		"duplicate":  "k1:" + secret('a') + ",k1:" + secret('b'),
	} {
		if _, err := ParseKeys(spec); ginflix.ErrorCode(err) != ginflix.EINVALID {
			t.Errorf("%s: got %v, want an invalid error", name, err)
		} else if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), secret('a')) {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
	if _, err := ParseKeys(NewKey("fresh")); err != nil {
		t.Fatalf("NewKey does not parse: %v", err)
	}
}

func TestViewerToken(t *testing.T) {
	s, clk := newSigner(t, "k1:"+secret('a'))
	tok := s.SignViewer(videoA, "user-1", 0)
	if len(tok) > 200 || strings.ContainsAny(tok, "+/=?&% ") {
		t.Fatalf("token %q is not compact and URL-safe", tok)
	}
	c, err := s.VerifyViewer(tok, videoA)
	if err != nil {
		t.Fatal(err)
	}
	if c.VideoID != videoA || c.Subject != "user-1" || c.KeyID != "k1" || !c.Expires.Equal(clk.t.Add(DefaultViewerTTL)) {
		t.Fatalf("claims %+v", c)
	}

	check := func(name, tok, video string, want error) {
		t.Helper()
		_, err := s.VerifyViewer(tok, video)
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
	}
	check("missing", "", videoA, ErrMissing)
	check("other video", tok, videoB, ErrOtherVideo)

	parts := strings.Split(tok, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	check("tampered signature", strings.Join([]string{parts[0], parts[1], parts[2], flip(parts[3])}, "."), videoA, ErrSignature)
	// A payload naming video B with A's signature.
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"v":"` + videoB + `","u":"user-1","e":9999999999}`))
	check("tampered payload", strings.Join([]string{parts[0], parts[1], forged, parts[3]}, "."), videoB, ErrSignature)
	check("unknown kid", strings.Join([]string{parts[0], "k9", parts[2], parts[3]}, "."), videoA, ErrUnknownKey)
	check("bad version", "v2"+tok[2:], videoA, ErrMalformed)
	check("tiny", "v1.k1", videoA, ErrMalformed)
	check("huge", tok+strings.Repeat("A", MaxTokenLen), videoA, ErrMalformed)
	check("extra part", tok+".x", videoA, ErrMalformed)
	check("garbage", strings.Repeat("x", 40), videoA, ErrMalformed)
	// Non-canonical base64 of the same MAC: same bits, other spelling.
	last := parts[3]
	alt := last[:len(last)-1] + string(rune(last[len(last)-1]+1))
	if _, err := s.VerifyViewer(strings.Join([]string{parts[0], parts[1], parts[2], alt}, "."), videoA); err == nil {
		t.Error("a second spelling of the token is accepted")
	}

	clk.t = clk.t.Add(DefaultViewerTTL - time.Second)
	check("just before expiry", tok, videoA, nil)
	clk.t = clk.t.Add(time.Second)
	check("expired", tok, videoA, ErrExpired)

	// The error codes the streamer maps to 401 and 403.
	for err, code := range map[error]string{ErrMissing: ginflix.EUNAUTHORIZED, ErrExpired: ginflix.EUNAUTHORIZED, ErrUnknownKey: ginflix.EUNAUTHORIZED,
		ErrSignature: ginflix.EFORBIDDEN, ErrOtherVideo: ginflix.EFORBIDDEN, ErrMalformed: ginflix.EFORBIDDEN} {
		if ginflix.ErrorCode(err) != code {
			t.Errorf("%v: code %s, want %s", err, ginflix.ErrorCode(err), code)
		}
	}
}

func TestViewerTokenTTLAndSkew(t *testing.T) {
	s, clk := newSigner(t, "k1:"+secret('a'))
	s.ViewerTTL = time.Minute
	tok := s.SignViewer(videoA, "u", 0)
	custom := s.SignViewer(videoA, "u", time.Hour)
	clk.t = clk.t.Add(2 * time.Minute)
	if _, err := s.VerifyViewer(tok, videoA); !errors.Is(err, ErrExpired) {
		t.Fatalf("configured TTL: %v", err)
	}
	if _, err := s.VerifyViewer(custom, videoA); err != nil {
		t.Fatalf("explicit TTL: %v", err)
	}
	s.ClockSkew = 90 * time.Second
	if _, err := s.VerifyViewer(tok, videoA); err != nil {
		t.Fatalf("within the clock skew: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	old, clk := newSigner(t, "old:"+secret('o'))
	oldViewer := old.SignViewer(videoA, "u", 0)
	oldVideo := old.VideoToken(videoA, clk.t)

	// The new key goes first; the old one stays to verify.
	rotated, _ := newSigner(t, "new:"+secret('n')+",old:"+secret('o'))
	rotated.Now = clk.Now
	if _, err := rotated.VerifyViewer(oldViewer, videoA); err != nil {
		t.Fatalf("old viewer token after rotation: %v", err)
	}
	if _, err := rotated.VerifyVideo(oldVideo, videoA); err != nil {
		t.Fatalf("old video token after rotation: %v", err)
	}
	if nt := rotated.SignViewer(videoA, "u", 0); !strings.HasPrefix(nt, "v1.new.") {
		t.Fatalf("signs with %q", nt)
	}
	if vt := rotated.VideoToken(videoA, clk.t); !strings.HasPrefix(vt, "v1.new.") || vt == oldVideo {
		t.Fatalf("video token %q", vt)
	}

	// Once the old key is dropped, its tokens are unknown (401).
	dropped, _ := newSigner(t, "new:"+secret('n'))
	dropped.Now = clk.Now
	if _, err := dropped.VerifyViewer(oldViewer, videoA); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("dropped key: %v", err)
	}
	if _, err := dropped.VerifyVideo(oldVideo, videoA); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("dropped key: %v", err)
	}
	// A different secret under the same kid is a forgery.
	other, _ := newSigner(t, "old:"+secret('x'))
	if _, err := other.VerifyViewer(oldViewer, videoA); !errors.Is(err, ErrSignature) {
		t.Fatalf("other secret: %v", err)
	}
}

func TestVideoToken(t *testing.T) {
	s, clk := newSigner(t, "k1:"+secret('a'))
	now := clk.t
	vt := s.VideoToken(videoA, now)
	if vt != s.VideoToken(videoA, now) {
		t.Fatal("video token is not deterministic")
	}
	if vt == s.VideoToken(videoB, now) {
		t.Fatal("two videos share a token")
	}
	if len(vt) > 64 || url.QueryEscape(vt) != vt {
		t.Fatalf("token %q is not short and URL-safe", vt)
	}
	// Everyone in the same window gets the same token.
	w := s.windowIndex(videoA, now)
	same := 0
	for d := -DefaultWindow; d <= DefaultWindow; d += time.Minute {
		if s.windowIndex(videoA, now.Add(d)) == w {
			if s.VideoToken(videoA, now.Add(d)) != vt {
				t.Fatal("token differs within a window")
			}
			same++
		}
	}
	if same != 60 {
		t.Fatalf("%d minutes share the window, want 60", same)
	}

	until, err := s.VerifyVideo(vt, videoA)
	if err != nil {
		t.Fatal(err)
	}
	if left := until.Sub(now); left <= DefaultWindow || left > 2*DefaultWindow {
		t.Fatalf("valid for %v more, want between one and two windows", left)
	}
	if _, err := s.VerifyVideo(vt, videoB); !errors.Is(err, ErrSignature) {
		t.Fatalf("other video: %v", err)
	}
	if _, err := s.VerifyVideo("", videoA); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing: %v", err)
	}

	prev := s.VideoToken(videoA, now.Add(-DefaultWindow))
	if _, err := s.VerifyVideo(prev, videoA); err != nil {
		t.Fatalf("previous window refused: %v", err)
	}
	old := s.VideoToken(videoA, now.Add(-2*DefaultWindow))
	if _, err := s.VerifyVideo(old, videoA); !errors.Is(err, ErrExpired) {
		t.Fatalf("two windows old: %v", err)
	}
	future := s.VideoToken(videoA, now.Add(DefaultWindow))
	if _, err := s.VerifyVideo(future, videoA); !errors.Is(err, ErrMalformed) {
		t.Fatalf("next window: %v", err)
	}
	// The token of the current window stays valid until its expiry.
	clk.t = until.Add(-time.Second)
	if _, err := s.VerifyVideo(vt, videoA); err != nil {
		t.Fatalf("a second before the end: %v", err)
	}
	clk.t = until
	if _, err := s.VerifyVideo(vt, videoA); !errors.Is(err, ErrExpired) {
		t.Fatalf("at the end: %v", err)
	}

	parts := strings.Split(vt, ".")
	for name, bad := range map[string]string{
		"tampered window": strings.Join([]string{parts[0], parts[1], "0" + parts[2], parts[3]}, "."),
		"plus window":     strings.Join([]string{parts[0], parts[1], "+" + parts[2], parts[3]}, "."),
		"other kid":       strings.Join([]string{parts[0], "zz", parts[2], parts[3]}, "."),
		"short mac":       strings.Join([]string{parts[0], parts[1], parts[2], parts[3][:10]}, "."),
		"viewer as video": s.SignViewer(videoA, "u", 0),
		"huge":            vt + strings.Repeat("A", 200),
	} {
		clk.t = now
		if _, err := s.VerifyVideo(bad, videoA); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// And a video token is no viewer token.
	if _, err := s.VerifyViewer(vt, videoA); err == nil {
		t.Error("video token accepted as a viewer token")
	}
}

func TestWindowsAreOffsetPerVideo(t *testing.T) {
	s, _ := newSigner(t, "k1:"+secret('a'))
	secs := int64(DefaultWindow / time.Second)
	offsets := map[int64]bool{}
	for _, id := range []string{videoA, videoB, "00000000000000000000000a", "00000000000000000000000b"} {
		offsets[windowOffset(id, secs)] = true
	}
	if len(offsets) < 3 {
		t.Fatalf("offsets %v: videos turn over together", offsets)
	}
	s.Window = 10 * time.Minute
	if s.window() != 10*time.Minute {
		t.Fatal("configured window ignored")
	}
}

func TestURLs(t *testing.T) {
	got := MasterURL("https://cdn.example.org/stream/", videoA, "v1.k.p.s")
	if got != "https://cdn.example.org/stream/videos/"+videoA+"/master.m3u8?token=v1.k.p.s" {
		t.Fatal(got)
	}
	got = ThumbnailURL("https://media.example.org/stream", videoA, "poster.webp", "v1.k.1.m")
	if got != "https://media.example.org/stream/thumbnails/"+videoA+"/poster.webp?vt=v1.k.1.m" {
		t.Fatal(got)
	}
}

func TestValidate(t *testing.T) {
	var nilSigner *Signer
	if nilSigner.Validate() == nil {
		t.Error("nil signer is valid")
	}
	if (&Signer{Keys: map[string][]byte{"a": []byte("short")}, Current: "a"}).Validate() == nil {
		t.Error("short key is valid")
	}
	if (&Signer{Keys: map[string][]byte{"a": make([]byte, 32)}, Current: "b"}).Validate() == nil {
		t.Error("missing current key is valid")
	}
}
