package ginflix

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random identifier: 24 lowercase hex characters (96 bits),
// the same width as a MongoDB ObjectID so that both stores look alike.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ValidID reports whether s has the shape NewID produces. Handlers check it
// before touching a store so that ids can be used in object keys safely.
func ValidID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
