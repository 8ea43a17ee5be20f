package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

// familyID returns an id shaped as package op makes them: 22 characters.
func familyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// secretHash returns the SHA-256 of a fresh random secret.
func secretHash() []byte {
	var b [32]byte
	_, _ = rand.Read(b[:])
	h := sha256.Sum256(b[:])
	return h[:]
}

// sameFamily fails unless got is want as the store keeps it: times at
// millisecond precision in UTC, nil lists as empty lists.
func sameFamily(t *testing.T, got, want *ginflix.RefreshFamily) {
	t.Helper()
	ms := func(x time.Time) time.Time { return x.UTC().Truncate(time.Millisecond) }
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	if got.ID != want.ID || !bytes.Equal(got.SecretHash, want.SecretHash) || got.ClientID != want.ClientID ||
		got.Subject != want.Subject || got.SessionID != want.SessionID ||
		!slices.Equal(got.Scopes, list(want.Scopes)) || got.Scopes == nil ||
		!slices.Equal(got.AMR, list(want.AMR)) || got.AMR == nil ||
		!got.AuthTime.Equal(ms(want.AuthTime)) || got.AuthTime.Location() != time.UTC ||
		!got.Expires.Equal(ms(want.Expires)) || got.Expires.Location() != time.UTC {
		t.Fatalf("refresh family = %+v, want %+v", got, want)
	}
}

func testRefreshFamilies(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	now := clock.Now()
	later := now.Add(30 * 24 * time.Hour) // outlives every expiry swept below

	exists := func(id string) bool {
		t.Helper()
		_, err := s.RefreshFamily(ctx(t), id)
		if ginflix.ErrorCode(err) == ginflix.ENOTFOUND {
			return false
		}
		must(t, err)
		return true
	}
	create := func(subject, client, session string, expires time.Time) *ginflix.RefreshFamily {
		t.Helper()
		f := &ginflix.RefreshFamily{ID: familyID(), SecretHash: secretHash(), ClientID: client, Subject: subject,
			Scopes: []string{"openid"}, AuthTime: now, SessionID: session, Expires: expires}
		must(t, s.CreateRefreshFamily(ctx(t), f))
		return f
	}

	// Every field reads back; sub-millisecond parts and the zone do not.
	paris := time.FixedZone("CET", 3600)
	f := &ginflix.RefreshFamily{
		ID: familyID(), SecretHash: secretHash(), ClientID: "client-a", Subject: ginflix.NewID(),
		Scopes: []string{"openid", "profile", "offline_access"}, AMR: []string{"pwd", "otp"},
		AuthTime:  now.Add(-time.Hour + 123_456*time.Nanosecond).In(paris),
		SessionID: familyID(), Expires: later.Add(987_654 * time.Nanosecond).In(paris),
	}
	in := *f
	must(t, s.CreateRefreshFamily(ctx(t), f))
	got, err := s.RefreshFamily(ctx(t), f.ID)
	must(t, err)
	sameFamily(t, got, &in)

	// Nil lists come back as empty lists, in every store.
	bare := &ginflix.RefreshFamily{ID: familyID(), SecretHash: secretHash(), ClientID: "client-a", Subject: "bare",
		AuthTime: now, Expires: later}
	must(t, s.CreateRefreshFamily(ctx(t), bare))
	got, err = s.RefreshFamily(ctx(t), bare.ID)
	must(t, err)
	sameFamily(t, got, bare)

	dup := in
	dup.SecretHash, dup.Subject = secretHash(), "someone else"
	wantCode(t, s.CreateRefreshFamily(ctx(t), &dup), ginflix.ECONFLICT)
	got, err = s.RefreshFamily(ctx(t), f.ID)
	must(t, err)
	sameFamily(t, got, &in) // the duplicate changed nothing
	_, err = s.RefreshFamily(ctx(t), familyID())
	wantCode(t, err, ginflix.ENOTFOUND)

	// Rotation replaces the hash and the expiry, nothing else.
	h2, exp2 := secretHash(), later.Add(time.Hour+555*time.Microsecond)
	must(t, s.RotateRefreshFamily(ctx(t), f.ID, in.SecretHash, h2, exp2))
	got, err = s.RefreshFamily(ctx(t), f.ID)
	must(t, err)
	want := in
	want.SecretHash, want.Expires = h2, exp2
	sameFamily(t, got, &want)
	// The old token again (a replay, or the slower of two refreshes).
	wantCode(t, s.RotateRefreshFamily(ctx(t), f.ID, in.SecretHash, secretHash(), later), ginflix.ECONFLICT)
	got, err = s.RefreshFamily(ctx(t), f.ID)
	must(t, err)
	sameFamily(t, got, &want)
	wantCode(t, s.RotateRefreshFamily(ctx(t), familyID(), h2, secretHash(), later), ginflix.ENOTFOUND)

	// Two refreshes racing with the same token: exactly one wins, and its
	// hash is the one kept.
	current := h2
	for round := range 5 {
		hashes := [2][]byte{secretHash(), secretHash()}
		errs := [2]error{}
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				errs[i] = s.RotateRefreshFamily(ctx(t), f.ID, current, hashes[i], later)
			}()
		}
		start.Done()
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch ginflix.ErrorCode(err) {
			case "":
				if winner >= 0 {
					t.Fatalf("round %d: both concurrent rotations from one hash won", round)
				}
				winner = i
			case ginflix.ECONFLICT:
			default:
				t.Fatalf("round %d: concurrent rotation: %v", round, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no concurrent rotation won: %v", round, errs)
		}
		got, err = s.RefreshFamily(ctx(t), f.ID)
		must(t, err)
		if !bytes.Equal(got.SecretHash, hashes[winner]) {
			t.Fatalf("round %d: stored hash is not the winner's", round)
		}
		current = hashes[winner]
	}

	// Deleting: a filter naming nothing is refused and deletes nothing.
	for _, empty := range []ginflix.RefreshFamilyFilter{{}, {ClientID: "client-a"}} {
		n, err := s.DeleteRefreshFamilies(ctx(t), empty)
		wantCode(t, err, ginflix.EINVALID)
		if n != 0 || !exists(f.ID) || !exists(bare.ID) {
			t.Fatalf("DeleteRefreshFamilies(%+v) deleted %d", empty, n)
		}
	}

	// By id: that family only.
	n, err := s.DeleteRefreshFamilies(ctx(t), ginflix.RefreshFamilyFilter{ID: bare.ID})
	must(t, err)
	if n != 1 || exists(bare.ID) || !exists(f.ID) {
		t.Fatalf("delete by id: %d deleted", n)
	}
	n, err = s.DeleteRefreshFamilies(ctx(t), ginflix.RefreshFamilyFilter{ID: bare.ID})
	must(t, err)
	if n != 0 {
		t.Fatalf("delete by id again: %d deleted", n)
	}

	// By session: every family of the sign-in, at any client, and no other.
	alice, bob := ginflix.NewID(), ginflix.NewID()
	sessA, sessB := familyID(), familyID()
	a1, a2 := create(alice, "client-a", sessA, later), create(alice, "client-b", sessA, later)
	b1 := create(alice, "client-a", sessB, later)
	n, err = s.DeleteRefreshFamilies(ctx(t), ginflix.RefreshFamilyFilter{SessionID: sessA})
	must(t, err)
	if n != 2 || exists(a1.ID) || exists(a2.ID) || !exists(b1.ID) || !exists(f.ID) {
		t.Fatalf("delete by session: %d deleted", n)
	}

	// By subject and client: not the same user's families at another
	// client, nor another user's at the same client.
	c1, c2 := create(alice, "client-a", familyID(), later), create(alice, "client-b", familyID(), later)
	d1 := create(bob, "client-a", familyID(), later)
	n, err = s.DeleteRefreshFamilies(ctx(t), ginflix.RefreshFamilyFilter{Subject: alice, ClientID: "client-a"})
	must(t, err)
	if n != 2 || exists(b1.ID) || exists(c1.ID) || !exists(c2.ID) || !exists(d1.ID) || !exists(f.ID) {
		t.Fatalf("delete by subject and client: %d deleted", n)
	}
	// By subject alone: the user's families at every client.
	c3 := create(alice, "client-c", familyID(), later)
	n, err = s.DeleteRefreshFamilies(ctx(t), ginflix.RefreshFamilyFilter{Subject: alice})
	must(t, err)
	if n != 2 || exists(c2.ID) || exists(c3.ID) || !exists(d1.ID) || !exists(f.ID) {
		t.Fatalf("delete by subject: %d deleted", n)
	}

	// Expiry: at or before now goes, after now stays. An expired family
	// can still be read until it is swept.
	past := create(bob, "client-a", familyID(), now.Add(-time.Hour))
	atNow := create(bob, "client-a", familyID(), now)
	justAfter := create(bob, "client-a", familyID(), now.Add(time.Millisecond))
	if !exists(past.ID) {
		t.Fatal("an expired family cannot be read before the sweep")
	}
	n, err = s.DeleteExpiredRefreshFamilies(ctx(t), now)
	must(t, err)
	if n != 2 || exists(past.ID) || exists(atNow.ID) || !exists(justAfter.ID) || !exists(d1.ID) || !exists(f.ID) {
		t.Fatalf("DeleteExpiredRefreshFamilies deleted %d, want 2", n)
	}
	n, err = s.DeleteExpiredRefreshFamilies(ctx(t), now)
	must(t, err)
	if n != 0 {
		t.Fatalf("second sweep deleted %d", n)
	}
	n, err = s.DeleteExpiredRefreshFamilies(ctx(t), now.Add(time.Millisecond))
	must(t, err)
	if n != 1 || exists(justAfter.ID) || !exists(f.ID) {
		t.Fatalf("sweep a millisecond later deleted %d, want 1", n)
	}

	// The store refuses a family it could not match a token against.
	wantCode(t, s.CreateRefreshFamily(ctx(t), &ginflix.RefreshFamily{ID: familyID(), Subject: bob, Expires: later}), ginflix.EINVALID)
	wantCode(t, s.CreateRefreshFamily(ctx(t), &ginflix.RefreshFamily{SecretHash: secretHash(), Subject: bob, Expires: later}), ginflix.EINVALID)
}
