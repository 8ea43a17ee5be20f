package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func testSettings(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)

	_, err := s.Settings(ctx(t))
	wantCode(t, err, ginflix.ENOTFOUND)

	first := ginflix.DefaultSettings()
	first.SiteName, first.PublicCatalog, first.Ladder = "  Médiathèque  ", true, []int{720, 360}
	first.UpdatedBy = "Ada"
	saved, err := s.SaveSettings(ctx(t), &first)
	must(t, err)
	if saved.Version != 1 || saved.SiteName != "Médiathèque" || saved.UpdatedAt == nil || !saved.UpdatedAt.Equal(clock.Now()) || saved.UpdatedBy != "Ada" {
		t.Fatalf("first save = %+v", saved)
	}
	if first.Version != 0 {
		t.Fatalf("SaveSettings changed its argument: %+v", first)
	}
	got, err := s.Settings(ctx(t))
	must(t, err)
	if !reflect.DeepEqual(got, saved) {
		t.Fatalf("Settings() = %+v, want %+v", got, saved)
	}

	// A second "first" save lost the race: conflict, nothing changed.
	other := ginflix.DefaultSettings()
	other.SiteName = "Autre"
	_, err = s.SaveSettings(ctx(t), &other)
	wantCode(t, err, ginflix.ECONFLICT)

	clock.Advance(time.Minute)
	next := got.Clone()
	next.AutoPublish, next.Preset, next.MaxUploadSize, next.UpdatedBy = true, "slow", 5<<30, "Bob"
	saved2, err := s.SaveSettings(ctx(t), &next)
	must(t, err)
	if saved2.Version != 2 || !saved2.AutoPublish || saved2.Preset != "slow" || saved2.MaxUploadSize != 5<<30 ||
		!slices.Equal(saved2.Ladder, []int{720, 360}) || !saved2.UpdatedAt.Equal(clock.Now()) || saved2.UpdatedBy != "Bob" {
		t.Fatalf("second save = %+v", saved2)
	}
	// Saving from the version both admins loaded: the slower one loses.
	stale := got.Clone()
	stale.SiteName = "Écrasé"
	_, err = s.SaveSettings(ctx(t), &stale)
	wantCode(t, err, ginflix.ECONFLICT)
	got, err = s.Settings(ctx(t))
	must(t, err)
	if !reflect.DeepEqual(got, saved2) {
		t.Fatalf("after a conflict Settings() = %+v, want %+v", got, saved2)
	}

	// The store refuses what Validate refuses.
	bad := got.Clone()
	bad.Ladder = []int{360, 720}
	_, err = s.SaveSettings(ctx(t), &bad)
	wantCode(t, err, ginflix.EINVALID)

	// Concurrent saves from one version: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := got.Clone()
			c.SiteName = fmt.Sprint("Site ", i)
			if _, err := s.SaveSettings(ctx(t), &c); err == nil {
				wins <- i
			} else if ginflix.ErrorCode(err) != ginflix.ECONFLICT {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	var winners []int
	for i := range wins {
		winners = append(winners, i)
	}
	if len(winners) != 1 {
		t.Fatalf("%d concurrent saves from one version won, want 1", len(winners))
	}
	got, err = s.Settings(ctx(t))
	must(t, err)
	if got.Version != 3 || got.SiteName != fmt.Sprint("Site ", winners[0]) {
		t.Fatalf("after the race Settings() = %+v, winner %d", got, winners[0])
	}
}

func testAudit(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)

	page, next, err := s.FindAudit(ctx(t), ginflix.AuditFilter{})
	must(t, err)
	if len(page) != 0 || next != "" {
		t.Fatalf("fresh store: %d entries, next %q", len(page), next)
	}
	wantCode(t, s.AppendAudit(ctx(t), &ginflix.AuditEntry{Action: "video.exploded", TargetType: ginflix.TargetVideo}), ginflix.EINVALID)
	wantCode(t, s.AppendAudit(ctx(t), &ginflix.AuditEntry{Action: ginflix.AuditVideoDeleted, TargetType: "planet"}), ginflix.EINVALID)

	videoA, videoB, user := ginflix.NewID(), ginflix.NewID(), ginflix.NewID()
	var all []*ginflix.AuditEntry // oldest first
	add := func(action ginflix.AuditAction, typ, id, detail string) *ginflix.AuditEntry {
		t.Helper()
		e := &ginflix.AuditEntry{ActorID: "admin-1", ActorName: "Ada", ActorEmail: "ada@example.org",
			Action: action, TargetType: typ, TargetID: id, Detail: detail}
		must(t, s.AppendAudit(ctx(t), e))
		all = append(all, e)
		return e
	}
	e := add(ginflix.AuditUploadFinished, ginflix.TargetVideo, videoA, "  Électricité  ")
	if !ginflix.ValidID(e.ID) || !e.At.Equal(clock.Now()) || e.Detail != "Électricité" {
		t.Fatalf("appended %+v", e)
	}
	clock.Advance(time.Second)
	add(ginflix.AuditVideoPublished, ginflix.TargetVideo, videoA, "")
	// Several entries in one millisecond: ties go by id, in both stores.
	for range 4 {
		add(ginflix.AuditVideoUpdated, ginflix.TargetVideo, videoB, "title")
	}
	clock.Advance(time.Second)
	add(ginflix.AuditUserRoleChanged, ginflix.TargetUser, user, "roles: ginflix-user → ginflix-admin")
	clock.Advance(time.Second)
	long := add(ginflix.AuditSettingsUpdated, ginflix.TargetSettings, "site", strings.Repeat("é", 3000))
	if n := len([]rune(long.Detail)); n > ginflix.MaxAuditDetailLen {
		t.Fatalf("detail kept %d characters", n)
	}
	clock.Advance(time.Second)
	add(ginflix.AuditVideoDeleted, ginflix.TargetVideo, videoA, "Électricité")

	newest := slices.Clone(all)
	slices.SortStableFunc(newest, func(a, b *ginflix.AuditEntry) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	ids := func(es []*ginflix.AuditEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}

	page, next, err = s.FindAudit(ctx(t), ginflix.AuditFilter{})
	must(t, err)
	if !slices.Equal(ids(page), ids(newest)) || next != "" {
		t.Fatalf("FindAudit = %v next %q, want %v", ids(page), next, ids(newest))
	}
	if !reflect.DeepEqual(page[0], newest[0]) {
		t.Fatalf("entry read back %+v, want %+v", page[0], newest[0])
	}

	// Pages of 3 visit every entry once, in order, even with entries
	// appended between pages (they are newer: they go before page one).
	var paged []*ginflix.AuditEntry
	var added *ginflix.AuditEntry
	cursor := ""
	for i := 0; ; i++ {
		page, next, err := s.FindAudit(ctx(t), ginflix.AuditFilter{Limit: 3, After: cursor})
		must(t, err)
		if len(page) > 3 {
			t.Fatalf("page of %d", len(page))
		}
		paged = append(paged, page...)
		if i == 0 {
			clock.Advance(time.Second)
			added = &ginflix.AuditEntry{ActorID: "admin-2", Action: ginflix.AuditUserCreated, TargetType: ginflix.TargetUser, TargetID: ginflix.NewID()}
			must(t, s.AppendAudit(ctx(t), added))
		}
		if next == "" {
			break
		}
		cursor = next
		if i > 10 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(ids(paged), ids(newest)) {
		t.Fatalf("paged = %v, want %v", ids(paged), ids(newest))
	}
	newest = append([]*ginflix.AuditEntry{added}, newest...)

	where := func(keep func(*ginflix.AuditEntry) bool) []string {
		var out []string
		for _, e := range newest {
			if keep(e) {
				out = append(out, e.ID)
			}
		}
		return out
	}
	updated := where(func(e *ginflix.AuditEntry) bool { return e.Action == ginflix.AuditVideoUpdated })
	for _, c := range []struct {
		f    ginflix.AuditFilter
		want []string
	}{
		{ginflix.AuditFilter{Action: ginflix.AuditVideoUpdated}, updated},
		{ginflix.AuditFilter{TargetType: ginflix.TargetVideo, TargetID: videoA}, where(func(e *ginflix.AuditEntry) bool { return e.TargetID == videoA })},
		{ginflix.AuditFilter{TargetType: ginflix.TargetSettings}, []string{long.ID}},
		{ginflix.AuditFilter{TargetType: ginflix.TargetUser}, where(func(e *ginflix.AuditEntry) bool { return e.TargetType == ginflix.TargetUser })},
		{ginflix.AuditFilter{Action: ginflix.AuditVideoUpdated, TargetType: ginflix.TargetVideo, TargetID: videoB, Limit: 2}, updated[:2]},
	} {
		page, _, err := s.FindAudit(ctx(t), c.f)
		must(t, err)
		if !slices.Equal(ids(page), c.want) {
			t.Errorf("FindAudit(%+v) = %v, want %v", c.f, ids(page), c.want)
		}
	}
	page, _, err = s.FindAudit(ctx(t), ginflix.AuditFilter{Action: ginflix.AuditUserCreated})
	must(t, err)
	if len(page) != 1 || page[0].ActorID != "admin-2" {
		t.Fatalf("the entry appended while paging: %+v", page)
	}

	for _, f := range []ginflix.AuditFilter{
		{Limit: ginflix.MaxAuditPage + 1},
		{Action: "nope"},
		{TargetType: "planet"},
		{TargetID: videoA},
		{After: "garbage"},
	} {
		_, _, err := s.FindAudit(ctx(t), f)
		wantCode(t, err, ginflix.EINVALID)
	}
}

func testJobCounts(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	counts, err := s.CountJobs(ctx(t))
	must(t, err)
	want := map[ginflix.JobState]int{ginflix.JobQueued: 0, ginflix.JobRunning: 0, ginflix.JobSucceeded: 0, ginflix.JobFailed: 0}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("empty queue counts %v", counts)
	}
	for range 3 {
		enqueue(t, s, ginflix.NewID())
	}
	a := lease(t, s, "w1")
	b := lease(t, s, "w1")
	must(t, s.CompleteJob(ctx(t), a.ID, "w1"))
	_, err = s.FailJob(ctx(t), b.ID, "w1", "broken", false, 0)
	must(t, err)
	lease(t, s, "w2")
	enqueue(t, s, ginflix.NewID())
	counts, err = s.CountJobs(ctx(t))
	must(t, err)
	want = map[ginflix.JobState]int{ginflix.JobQueued: 1, ginflix.JobRunning: 1, ginflix.JobSucceeded: 1, ginflix.JobFailed: 1}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
}
