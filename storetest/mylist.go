package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func testMyList(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	a, b := create(t, s, newVideo("A")), create(t, s, newVideo("B"))

	_, err := s.MyListEntry(ctx(t), "u1", a.ID)
	wantCode(t, err, ginflix.ENOTFOUND)
	first, err := s.AddToMyList(ctx(t), "u1", a.ID)
	must(t, err)
	if first.VideoID != a.ID || !first.AddedAt.Equal(clock.Now()) {
		t.Fatalf("added %+v", first)
	}
	clock.Advance(time.Minute)
	_, err = s.AddToMyList(ctx(t), "u1", b.ID)
	must(t, err)
	again, err := s.AddToMyList(ctx(t), "u1", a.ID) // saving twice keeps the first date
	must(t, err)
	if !again.AddedAt.Equal(first.AddedAt) {
		t.Fatalf("re-adding moved AddedAt to %v", again.AddedAt)
	}
	_, err = s.AddToMyList(ctx(t), "u2", b.ID)
	must(t, err)

	list, err := s.MyList(ctx(t), "u1", 0)
	must(t, err)
	var ids []string
	for _, e := range list {
		ids = append(ids, e.VideoID)
	}
	if want := []string{b.ID, a.ID}; !slices.Equal(ids, want) {
		t.Fatalf("MyList = %q, want %q (newest first, nobody else's)", ids, want)
	}
	if one, err := s.MyList(ctx(t), "u1", 1); err != nil || len(one) != 1 {
		t.Fatalf("limit: %d %v", len(one), err)
	}
	must(t, s.RemoveFromMyList(ctx(t), "u1", b.ID))
	must(t, s.RemoveFromMyList(ctx(t), "u1", b.ID)) // idempotent
	if _, err := s.MyListEntry(ctx(t), "u2", b.ID); err != nil {
		t.Fatalf("removing from u1's list touched u2's: %v", err)
	}
	must(t, s.DeleteVideo(ctx(t), a.ID))
	list, err = s.MyList(ctx(t), "u1", 0)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("a deleted video stays in lists: %+v", list)
	}
	_, err = s.AddToMyList(ctx(t), "", b.ID)
	wantCode(t, err, ginflix.EINVALID)
}
