package playback

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func TestSession(t *testing.T) {
	s, c := newSigner(t, "k2:"+secret('b')+",k1:"+secret('a'))
	tok, issued := s.SignSession(videoA, "user-1", 120.5, []string{"720p", "360p"}, time.Hour)
	if !ginflix.ValidID(issued.ID) || !issued.IssuedAt.Equal(c.t) || !issued.Expires.Equal(c.t.Add(time.Hour)) {
		t.Fatalf("issued %+v", issued)
	}
	got, err := s.VerifySession(tok)
	if err != nil || !reflect.DeepEqual(got, issued) || len(got.Rungs) != 2 {
		t.Fatalf("VerifySession = %+v, %v; want %+v", got, err, issued)
	}
	if tok2, again := s.SignSession(videoA, "user-1", 120.5, nil, time.Hour); tok2 == tok || again.ID == issued.ID {
		t.Fatal("two sessions of the same user and video must differ")
	}

	// Tampering with any part, or a viewer token of the same keys, fails.
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + parts[1] + "." + b64.EncodeToString([]byte(`{"s":"`+issued.ID+`","v":"`+videoA+`","u":"user-2","d":1,"i":1,"e":9999999999}`)) + "." + parts[3]
	viewer := "s1" + strings.TrimPrefix(s.SignViewer(videoA, "user-1", time.Hour), "v1")
	for name, c := range map[string]struct {
		tok  string
		code string
	}{
		"empty":        {"", ginflix.EINVALID},
		"garbage":      {"not a session at all", ginflix.EINVALID},
		"viewer token": {s.SignViewer(videoA, "user-1", time.Hour), ginflix.EINVALID},
		"viewer mac":   {viewer, ginflix.EFORBIDDEN},
		"forged":       {forged, ginflix.EFORBIDDEN},
		"other kid":    {parts[0] + ".k1." + parts[2] + "." + parts[3], ginflix.EFORBIDDEN},
		"unknown kid":  {parts[0] + ".k9." + parts[2] + "." + parts[3], ginflix.EUNPROCESSABLE},
	} {
		if _, err := s.VerifySession(c.tok); ginflix.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}

	c.t = c.t.Add(time.Hour)
	if _, err := s.VerifySession(tok); ginflix.ErrorCode(err) != ginflix.EUNPROCESSABLE {
		t.Fatalf("expired session: %v", err)
	}
	// The default lifetime.
	c.t = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, sess := s.SignSession(videoA, "u", 0, nil, 0); !sess.Expires.Equal(c.t.Add(DefaultSessionTTL)) {
		t.Fatalf("default TTL: %+v", sess)
	}
}
