package password

import (
	"strings"
	"testing"
)

func TestHashAndCheck(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q is not an argon2id PHC string", h)
	}
	if !Check("correct horse battery", h) {
		t.Fatal("the right password does not match")
	}
	for _, wrong := range []string{"", "correct horse batter", "Correct horse battery", strings.Repeat("x", MaxLength+1)} {
		if Check(wrong, h) {
			t.Fatalf("%q matches", wrong)
		}
	}
	if Check("anything at all", "") || Check("anything at all", "$argon2id$garbage") {
		t.Fatal("a malformed hash matched")
	}
	h2, _ := Hash("correct horse battery")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestWeakPasswords(t *testing.T) {
	for _, pw := range []string{"", "short", "123456789", strings.Repeat("a", MaxLength+1)} {
		if _, err := Hash(pw); err != ErrWeak {
			t.Fatalf("Hash(%q) err = %v, want ErrWeak", pw, err)
		}
	}
}
