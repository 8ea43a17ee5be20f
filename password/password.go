// Package password hashes and checks account passwords with argon2id
// (github.com/alexedwards/argon2id), in PHC string form.
package password

import (
	"errors"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// params cost about 40 ms and 64 MiB per hash on one core: slow for an
// attacker, bearable for sign-ins.
var params = &argon2id.Params{Memory: 64 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Limits of an acceptable password.
const (
	MinLength = 10
	MaxLength = 1024 // argon2 takes any length; this bounds the work one request can ask
)

// ErrWeak is returned for passwords outside the limits.
var ErrWeak = errors.New("a password must be 10 to 1024 characters long")

// Hash returns the PHC string of pw.
func Hash(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < MinLength || len(pw) > MaxLength {
		return "", ErrWeak
	}
	return argon2id.CreateHash(pw, params)
}

// Check reports whether pw matches hash. A malformed hash never matches.
func Check(pw, hash string) bool {
	if len(pw) > MaxLength || hash == "" {
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok
}
