package storetest

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func testUsers(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)

	n, err := s.CountUsers(ctx(t))
	must(t, err)
	if n != 0 {
		t.Fatalf("fresh store has %d users", n)
	}
	u := &ginflix.User{Email: " Ada@Example.ORG ", Name: "Ada", Roles: []string{ginflix.RoleAdmin, ginflix.RoleViewer}, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA"}
	must(t, s.CreateUser(ctx(t), u))
	if !ginflix.ValidID(u.ID) || u.Email != "ada@example.org" {
		t.Fatalf("created %+v", u)
	}
	got, err := s.User(ctx(t), u.ID)
	must(t, err)
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("User() = %+v, want %+v", got, u)
	}
	got, err = s.UserByEmail(ctx(t), "ADA@example.org")
	must(t, err)
	if got.ID != u.ID {
		t.Fatalf("UserByEmail found %+v", got)
	}
	wantCode(t, s.CreateUser(ctx(t), &ginflix.User{Email: "ada@example.org"}), ginflix.ECONFLICT)
	wantCode(t, s.CreateUser(ctx(t), &ginflix.User{Email: "not an email"}), ginflix.EINVALID)
	_, err = s.User(ctx(t), ginflix.NewID())
	wantCode(t, err, ginflix.ENOTFOUND)
	_, err = s.UserByEmail(ctx(t), "nobody@example.org")
	wantCode(t, err, ginflix.ENOTFOUND)

	must(t, s.CreateUser(ctx(t), &ginflix.User{Email: "bob@example.org", Roles: []string{ginflix.RoleViewer}}))
	must(t, s.CreateUser(ctx(t), &ginflix.User{Email: "aaron@example.org"}))

	clock.Advance(time.Hour)
	disabled, roles, hash := true, []string{ginflix.RoleViewer}, "$argon2id$new"
	got, err = s.UpdateUser(ctx(t), u.ID, ginflix.UserUpdate{Disabled: &disabled, Roles: &roles, PasswordHash: &hash})
	must(t, err)
	if !got.Disabled || !slices.Equal(got.Roles, roles) || got.PasswordHash != hash || got.Name != "Ada" || !got.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("UpdateUser = %+v", got)
	}
	_, err = s.UpdateUser(ctx(t), ginflix.NewID(), ginflix.UserUpdate{Disabled: &disabled})
	wantCode(t, err, ginflix.ENOTFOUND)

	all, err := s.Users(ctx(t))
	must(t, err)
	var emails []string
	for _, u := range all {
		emails = append(emails, u.Email)
		if u.Roles == nil {
			t.Fatalf("roles of %s came back nil", u.Email)
		}
	}
	if want := []string{"aaron@example.org", "ada@example.org", "bob@example.org"}; !slices.Equal(emails, want) {
		t.Fatalf("Users() = %q, want %q", emails, want)
	}
	n, err = s.CountUsers(ctx(t))
	must(t, err)
	if n != 3 {
		t.Fatalf("CountUsers = %d", n)
	}
}

func testProgress(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	a, b, c := create(t, s, newVideo("A")), create(t, s, newVideo("B")), create(t, s, newVideo("C"))

	_, err := s.Progress(ctx(t), "u1", a.ID)
	wantCode(t, err, ginflix.ENOTFOUND)

	must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "u1", VideoID: a.ID, Position: 10, Duration: 100}))
	clock.Advance(time.Second)
	must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "u1", VideoID: b.ID, Position: 20, Duration: 100}))
	clock.Advance(time.Second)
	must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "u1", VideoID: c.ID, Position: 99, Duration: 100, Completed: true}))
	must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "u2", VideoID: a.ID, Position: 5, Duration: 100}))
	clock.Advance(time.Second)
	// Saving again moves the same record, it does not add one.
	must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "u1", VideoID: a.ID, Position: 42.5, Duration: 100}))

	p, err := s.Progress(ctx(t), "u1", a.ID)
	must(t, err)
	want := &ginflix.WatchProgress{UserID: "u1", VideoID: a.ID, Position: 42.5, Duration: 100, UpdatedAt: clock.Now()}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("Progress = %+v, want %+v", p, want)
	}
	list, err := s.ContinueWatching(ctx(t), "u1", 10)
	must(t, err)
	var ids []string
	for _, p := range list {
		ids = append(ids, p.VideoID)
	}
	if want := []string{a.ID, b.ID}; !slices.Equal(ids, want) {
		t.Fatalf("ContinueWatching = %q, want %q (most recent first, completed left out)", ids, want)
	}
	list, err = s.ContinueWatching(ctx(t), "u1", 1)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("limit ignored: %d", len(list))
	}
	for i := range ginflix.DefaultContinueWatching + 5 {
		must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "many", VideoID: fmt.Sprint("v", i), Position: 1}))
	}
	list, err = s.ContinueWatching(ctx(t), "many", 0)
	must(t, err)
	if len(list) != ginflix.DefaultContinueWatching {
		t.Fatalf("no limit: %d entries, want the default %d", len(list), ginflix.DefaultContinueWatching)
	}
	for _, bad := range []ginflix.WatchProgress{
		{VideoID: a.ID, Position: 1}, {UserID: "u1", Position: 1},
		{UserID: "u1", VideoID: a.ID, Position: -1}, {UserID: "u1", VideoID: a.ID, Position: math.NaN()},
		{UserID: "u1", VideoID: a.ID, Position: 1, Duration: math.Inf(1)},
	} {
		wantCode(t, s.SaveProgress(ctx(t), &bad), ginflix.EINVALID)
	}
}

func testEvents(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	t0 := clock.Now()
	ev := func(session string, typ ginflix.PlaybackEventType, at time.Duration) ginflix.PlaybackEvent {
		return ginflix.PlaybackEvent{SessionID: session, UserID: "u1", VideoID: "v1", Type: typ, Position: at.Seconds(), At: t0.Add(at)}
	}
	must(t, s.AppendEvents(ctx(t), []ginflix.PlaybackEvent{
		ev("s1", ginflix.EventHeartbeat, 10*time.Second),
		ev("s1", ginflix.EventStart, 0),
		ev("s2", ginflix.EventStart, time.Hour),
	}))
	e := ev("s1", ginflix.EventQuality, 5*time.Second)
	e.Rung, e.Value, e.Detail, e.Country = "720p", 1.5, "auto", "FR"
	must(t, s.AppendEvents(ctx(t), []ginflix.PlaybackEvent{e}))
	must(t, s.AppendEvents(ctx(t), nil))
	unstamped := []ginflix.PlaybackEvent{{SessionID: "s3", UserID: "u1", VideoID: "v1", Type: ginflix.EventEnd}}
	must(t, s.AppendEvents(ctx(t), unstamped))
	if unstamped[0].ID == "" {
		t.Fatal("AppendEvents did not write the new id back")
	}
	got3, err := s.SessionEvents(ctx(t), "s3")
	must(t, err)
	if len(got3) != 1 || !got3[0].At.Equal(clock.Now()) || got3[0].ID != unstamped[0].ID {
		t.Fatalf("an event without a time is stamped with the store's clock: %+v", got3)
	}

	got, err := s.SessionEvents(ctx(t), "s1")
	must(t, err)
	var types []ginflix.PlaybackEventType
	for _, g := range got {
		types = append(types, g.Type)
		if g.ID == "" {
			t.Fatal("AppendEvents did not assign an id")
		}
	}
	if want := []ginflix.PlaybackEventType{ginflix.EventStart, ginflix.EventQuality, ginflix.EventHeartbeat}; !slices.Equal(types, want) {
		t.Fatalf("SessionEvents types = %q, want %q", types, want)
	}
	q := got[1]
	q.ID = ""
	if !reflect.DeepEqual(q, e) {
		t.Fatalf("event = %+v, want %+v", q, e)
	}
	n, err := s.DeleteEventsBefore(ctx(t), t0.Add(time.Minute))
	must(t, err)
	if n != 4 {
		t.Fatalf("DeleteEventsBefore removed %d, want 3", n)
	}
	got, err = s.SessionEvents(ctx(t), "s2")
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("the newer session lost events: %d", len(got))
	}
}
