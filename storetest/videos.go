package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func newVideo(title string) *ginflix.Video {
	return &ginflix.Video{Title: title, Status: ginflix.StatusReady, Published: true}
}

func create(t *testing.T, s ginflix.Store, v *ginflix.Video) *ginflix.Video {
	t.Helper()
	must(t, s.CreateVideo(ctx(t), v))
	return v
}

func testVideos(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)

	t.Run("RoundTrip", func(t *testing.T) {
		v := &ginflix.Video{
			Title: "  Électricité pour tous ", Description: "Ampères, volts\net ohms.",
			Tags: []string{"Science", "science", " physique "}, Category: "Éducation", Language: "fr",
			Status: ginflix.StatusReady, Published: true, Duration: 754.25, Width: 1920, Height: 1080,
			Renditions: []ginflix.Rendition{
				{Name: "1080p", Width: 1920, Height: 1080, Bandwidth: 5_500_000, AverageBandwidth: 5_000_000, Codecs: "avc1.640028,mp4a.40.2", FrameRate: 29.97, PlaylistKey: "videos/hls/x/1080p.m3u8"},
				{Name: "360p", Width: 640, Height: 360, Bandwidth: 900_000, AverageBandwidth: 800_000, Codecs: "avc1.64001e,mp4a.40.2", FrameRate: 29.97, PlaylistKey: "videos/hls/x/360p.m3u8"},
			},
			SourceKey: "videos/original/x.mp4", PosterKey: "thumbnails/x/poster.webp",
			StoryboardKey: "thumbnails/x/storyboard.webp", StoryboardVTTKey: "thumbnails/x/storyboard.vtt",
			UploaderID: "u1",
		}
		must(t, s.CreateVideo(ctx(t), v))
		if !ginflix.ValidID(v.ID) {
			t.Fatalf("CreateVideo assigned id %q", v.ID)
		}
		if !v.CreatedAt.Equal(clock.Now()) || !v.UpdatedAt.Equal(clock.Now()) {
			t.Fatalf("timestamps = %v %v, want %v", v.CreatedAt, v.UpdatedAt, clock.Now())
		}
		if v.Title != "Électricité pour tous" || !slices.Equal(v.Tags, []string{"science", "physique"}) {
			t.Fatalf("not normalised: title %q tags %q", v.Title, v.Tags)
		}
		got, err := s.Video(ctx(t), v.ID)
		must(t, err)
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("Video() =\n%+v\nwant\n%+v", got, v)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Fatalf("times must come back in UTC, got %v", got.CreatedAt.Location())
		}
		listed, _, err := s.FindVideos(ctx(t), ginflix.VideoFilter{Query: "electricite"})
		must(t, err)
		if len(listed) != 1 || listed[0].Renditions != nil {
			t.Fatalf("a listed video carries no ladder: %+v", listed)
		}
		listed[0].Renditions = got.Renditions
		if !reflect.DeepEqual(listed[0], got) {
			t.Fatalf("listed video differs from Video():\n%+v\n%+v", listed[0], got)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		v := create(t, s, &ginflix.Video{Title: "Bare", Status: ginflix.StatusUploading})
		got, err := s.Video(ctx(t), v.ID)
		must(t, err)
		if got.Tags == nil || got.Renditions == nil {
			t.Fatalf("empty lists come back as nil: %+v", got)
		}
		if got.PublishedAt != nil {
			t.Fatalf("PublishedAt = %v for an unpublished video", got.PublishedAt)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		wantCode(t, s.CreateVideo(ctx(t), &ginflix.Video{Title: " ", Status: ginflix.StatusReady}), ginflix.EINVALID)
		wantCode(t, s.CreateVideo(ctx(t), &ginflix.Video{Title: "x", Status: "bogus"}), ginflix.EINVALID)
		wantCode(t, s.CreateVideo(ctx(t), &ginflix.Video{ID: "../etc", Title: "x", Status: ginflix.StatusReady}), ginflix.EINVALID)
		v := &ginflix.Video{ID: ginflix.NewID(), Title: "Given id", Status: ginflix.StatusReady}
		want := v.ID
		must(t, s.CreateVideo(ctx(t), v))
		if v.ID != want {
			t.Fatalf("a valid given id was replaced: %q", v.ID)
		}
		wantCode(t, s.CreateVideo(ctx(t), &ginflix.Video{ID: want, Title: "Twin", Status: ginflix.StatusReady}), ginflix.ECONFLICT)
	})

	t.Run("NotFound", func(t *testing.T) {
		_, err := s.Video(ctx(t), ginflix.NewID())
		wantCode(t, err, ginflix.ENOTFOUND)
		_, err = s.UpdateVideo(ctx(t), ginflix.NewID(), ginflix.VideoUpdate{})
		wantCode(t, err, ginflix.ENOTFOUND)
		wantCode(t, s.DeleteVideo(ctx(t), ginflix.NewID()), ginflix.ENOTFOUND)
		wantCode(t, s.AddVideoViews(ctx(t), ginflix.NewID(), 1), ginflix.ENOTFOUND)
	})

	t.Run("Update", func(t *testing.T) {
		v := create(t, s, &ginflix.Video{Title: "Draft", Status: ginflix.StatusProcessing, Tags: []string{"a"}})
		clock.Advance(time.Minute)
		title, pub, status := "Final", true, ginflix.StatusReady
		rs := []ginflix.Rendition{{Name: "240p", Width: 426, Height: 240, Bandwidth: 400_000, Codecs: "avc1.4d4015"}}
		got, err := s.UpdateVideo(ctx(t), v.ID, ginflix.VideoUpdate{Title: &title, Published: &pub, Status: &status, Renditions: &rs})
		must(t, err)
		if got.Title != "Final" || !got.Published || got.Status != ginflix.StatusReady || len(got.Renditions) != 1 {
			t.Fatalf("update not applied: %+v", got)
		}
		if !got.UpdatedAt.Equal(clock.Now()) || got.CreatedAt.Equal(clock.Now()) {
			t.Fatalf("UpdatedAt %v CreatedAt %v", got.UpdatedAt, got.CreatedAt)
		}
		if got.PublishedAt == nil || !got.PublishedAt.Equal(clock.Now()) {
			t.Fatalf("PublishedAt = %v, want %v", got.PublishedAt, clock.Now())
		}
		if !slices.Equal(got.Tags, []string{"a"}) {
			t.Fatalf("untouched field changed: tags %q", got.Tags)
		}
		again, err := s.Video(ctx(t), v.ID)
		must(t, err)
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("stored %+v\nreturned %+v", again, got)
		}
		empty := ""
		_, err = s.UpdateVideo(ctx(t), v.ID, ginflix.VideoUpdate{Title: &empty})
		wantCode(t, err, ginflix.EINVALID)
	})

	t.Run("ConcurrentUpdates", func(t *testing.T) {
		v := create(t, s, newVideo("Race"))
		errs := make(chan error, 2)
		d1, d2 := "one", "two"
		go func() { _, err := s.UpdateVideo(ctx(t), v.ID, ginflix.VideoUpdate{Description: &d1}); errs <- err }()
		go func() { _, err := s.UpdateVideo(ctx(t), v.ID, ginflix.VideoUpdate{Category: &d2}); errs <- err }()
		must(t, <-errs)
		must(t, <-errs)
		got, err := s.Video(ctx(t), v.ID)
		must(t, err)
		if got.Description != "one" || got.Category != "two" {
			t.Fatalf("a concurrent update was lost: %+v", got)
		}
	})

	t.Run("Views", func(t *testing.T) {
		v := create(t, s, newVideo("Viewed"))
		for range 3 {
			must(t, s.AddVideoViews(ctx(t), v.ID, 2))
		}
		got, err := s.Video(ctx(t), v.ID)
		must(t, err)
		if got.Views != 6 {
			t.Fatalf("Views = %d, want 6", got.Views)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		v := create(t, s, newVideo("Doomed"))
		other := create(t, s, newVideo("Kept"))
		must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "u", VideoID: v.ID, Position: 3}))
		must(t, s.SaveProgress(ctx(t), &ginflix.WatchProgress{UserID: "u", VideoID: other.ID, Position: 4}))
		must(t, s.DeleteVideo(ctx(t), v.ID))
		_, err := s.Video(ctx(t), v.ID)
		wantCode(t, err, ginflix.ENOTFOUND)
		_, err = s.Progress(ctx(t), "u", v.ID)
		wantCode(t, err, ginflix.ENOTFOUND)
		if _, err := s.Progress(ctx(t), "u", other.ID); err != nil {
			t.Fatalf("deleting a video lost another video's progress: %v", err)
		}
		res, _, err := s.FindVideos(ctx(t), ginflix.VideoFilter{Query: "doomed"})
		must(t, err)
		if len(res) != 0 {
			t.Fatalf("deleted video still found by search")
		}
	})
}

func titles(vs []*ginflix.Video) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Title
	}
	return out
}

func find(t *testing.T, s ginflix.Store, f ginflix.VideoFilter) []string {
	t.Helper()
	vs, _, err := s.FindVideos(ctx(t), f)
	must(t, err)
	return titles(vs)
}

func wantTitles(t *testing.T, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func testFindVideos(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	f := false
	add := func(v *ginflix.Video) {
		create(t, s, v)
		clock.Advance(time.Second)
	}
	add(&ginflix.Video{Title: "Bravo", Status: ginflix.StatusReady, Published: true, Tags: []string{"b", "common"}, Category: "Docs", UploaderID: "u1"})
	add(&ginflix.Video{Title: "alpha", Status: ginflix.StatusReady, Published: true, Tags: []string{"a", "common"}, Category: "Films"})
	add(&ginflix.Video{Title: "Hidden", Status: ginflix.StatusReady, Published: false, Tags: []string{"common"}, Category: "Docs"})
	add(&ginflix.Video{Title: "Processing", Status: ginflix.StatusProcessing, Published: true, Category: "Docs"})
	add(&ginflix.Video{Title: "Échec", Status: ginflix.StatusFailed, Category: "Films", UploaderID: "u1"})
	add(&ginflix.Video{Title: "Charlie", Status: ginflix.StatusReady, Published: true, Category: "Docs"})

	t.Run("PlayableOnly", func(t *testing.T) {
		wantTitles(t, find(t, s, ginflix.VideoFilter{PlayableOnly: true}), "Charlie", "alpha", "Bravo")
	})
	t.Run("All", func(t *testing.T) {
		wantTitles(t, find(t, s, ginflix.VideoFilter{}), "Charlie", "Échec", "Processing", "Hidden", "alpha", "Bravo")
	})
	t.Run("Status", func(t *testing.T) {
		wantTitles(t, find(t, s, ginflix.VideoFilter{Status: ginflix.StatusFailed}), "Échec")
		wantTitles(t, find(t, s, ginflix.VideoFilter{Published: &f}), "Échec", "Hidden")
	})
	t.Run("Tag", func(t *testing.T) {
		wantTitles(t, find(t, s, ginflix.VideoFilter{PlayableOnly: true, Tag: "common"}), "alpha", "Bravo")
		wantTitles(t, find(t, s, ginflix.VideoFilter{Tag: " COMMON "}), "Hidden", "alpha", "Bravo")
		wantTitles(t, find(t, s, ginflix.VideoFilter{Tag: "comm"}))
	})
	t.Run("Category", func(t *testing.T) {
		wantTitles(t, find(t, s, ginflix.VideoFilter{PlayableOnly: true, Category: "Docs"}), "Charlie", "Bravo")
		wantTitles(t, find(t, s, ginflix.VideoFilter{Category: "Doc"}))
	})
	t.Run("Uploader", func(t *testing.T) {
		wantTitles(t, find(t, s, ginflix.VideoFilter{UploaderID: "u1"}), "Échec", "Bravo")
	})
	t.Run("SortTitle", func(t *testing.T) {
		// Folded order: case and accents do not decide.
		wantTitles(t, find(t, s, ginflix.VideoFilter{Sort: ginflix.SortTitle}), "alpha", "Bravo", "Charlie", "Échec", "Hidden", "Processing")
	})
	t.Run("SortMostViewed", func(t *testing.T) {
		all, _, err := s.FindVideos(ctx(t), ginflix.VideoFilter{PlayableOnly: true})
		must(t, err)
		views := map[string]int64{"alpha": 5, "Bravo": 9, "Charlie": 5}
		for _, v := range all {
			must(t, s.AddVideoViews(ctx(t), v.ID, views[v.Title]))
		}
		// Ties broken by id, descending, so the order is total.
		got := find(t, s, ginflix.VideoFilter{PlayableOnly: true, Sort: ginflix.SortMostViewed})
		if got[0] != "Bravo" || len(got) != 3 {
			t.Fatalf("most viewed = %q", got)
		}
	})
	t.Run("BadFilter", func(t *testing.T) {
		for _, f := range []ginflix.VideoFilter{
			{Sort: "random"}, {Limit: -1}, {Limit: ginflix.MaxPageSize + 1}, {Status: "nope"}, {After: "%%%"}, {After: "eyJzIjoibmV3ZXN0In0"},
		} {
			_, _, err := s.FindVideos(ctx(t), f)
			wantCode(t, err, ginflix.EINVALID)
		}
		vs, next, err := s.FindVideos(ctx(t), ginflix.VideoFilter{Limit: 1})
		must(t, err)
		if len(vs) != 1 || next == "" {
			t.Fatalf("limit 1: %d videos, next %q", len(vs), next)
		}
		_, _, err = s.FindVideos(ctx(t), ginflix.VideoFilter{After: next, Sort: ginflix.SortTitle})
		wantCode(t, err, ginflix.EINVALID)
	})
}

func testSearch(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	add := func(title, desc string, tags ...string) {
		create(t, s, &ginflix.Video{Title: title, Description: desc, Tags: tags, Status: ginflix.StatusReady, Published: true, Category: "Sciences"})
		clock.Advance(time.Second)
	}
	add("Électricité statique", "Les charges s'accumulent.")
	add("Le Moteur électrique", "Bobines et aimants.", "énergie")
	add("Cuisine du monde", "Recettes faciles, sans électricité.")
	add("Jardinage", "Planter des tomates.", "potager", "été")
	add("C++ et Go: l'œuvre", "Programmation système.")

	cases := []struct {
		q    string
		want []string
	}{
		{"electricite", []string{"Cuisine du monde", "Électricité statique"}},
		{"ÉLECTRICITÉ", []string{"Cuisine du monde", "Électricité statique"}},
		{"electri", []string{"Cuisine du monde", "Le Moteur électrique", "Électricité statique"}},
		{"moteur electrique", []string{"Le Moteur électrique"}},
		{"electrique moteur", []string{"Le Moteur électrique"}},
		{"bobine", []string{"Le Moteur électrique"}},
		{"energie", []string{"Le Moteur électrique"}},
		{"ete", []string{"Jardinage"}},
		{"tomate potager", []string{"Jardinage"}},
		{"tomate cuisine", nil},
		{"zzz", nil},
		{"oeuvre", nil}, // œ is a letter of its own, not "oe"
		{"œuvre", []string{"C++ et Go: l'œuvre"}},
		{"go", []string{"C++ et Go: l'œuvre"}},
		{"statique\"", []string{"Électricité statique"}},
		{`"*( -:^ )`, nil},   // no words at all: no filter
		{`NEAR OR AND`, nil}, // FTS operators are plain words here
		{"s'accumulent", []string{"Électricité statique"}},
		{"sciences", []string{"C++ et Go: l'œuvre", "Jardinage", "Cuisine du monde", "Le Moteur électrique", "Électricité statique"}},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			got := find(t, s, ginflix.VideoFilter{PlayableOnly: true, Query: c.q})
			if c.q == `"*( -:^ )` {
				if len(got) != 5 {
					t.Fatalf("a query with no words must not filter: got %q", got)
				}
				return
			}
			wantTitles(t, got, c.want...)
		})
	}
	t.Run("WithFilters", func(t *testing.T) {
		wantTitles(t, find(t, s, ginflix.VideoFilter{Query: "electri", Sort: ginflix.SortTitle, Limit: 2}), "Cuisine du monde", "Électricité statique")
		wantTitles(t, find(t, s, ginflix.VideoFilter{Query: "electri", Tag: "énergie"}), "Le Moteur électrique")
	})
	t.Run("FollowsUpdates", func(t *testing.T) {
		vs, _, err := s.FindVideos(ctx(t), ginflix.VideoFilter{Query: "jardinage"})
		must(t, err)
		title := "Horticulture"
		_, err = s.UpdateVideo(ctx(t), vs[0].ID, ginflix.VideoUpdate{Title: &title})
		must(t, err)
		wantTitles(t, find(t, s, ginflix.VideoFilter{Query: "jardinage"}))
		wantTitles(t, find(t, s, ginflix.VideoFilter{Query: "horti"}), "Horticulture")
	})
}

func testPagination(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	for i := range 25 {
		// Several videos per millisecond: ties in time are broken by id.
		create(t, s, newVideo(fmt.Sprintf("Video %02d", i)))
		if i%3 == 0 {
			clock.Advance(time.Millisecond)
		}
	}
	for _, sort := range []ginflix.VideoSort{ginflix.SortNewest, ginflix.SortTitle, ginflix.SortMostViewed} {
		t.Run(string(sort), func(t *testing.T) {
			all, next, err := s.FindVideos(ctx(t), ginflix.VideoFilter{Sort: sort, Limit: 100})
			must(t, err)
			if len(all) < 25 || next != "" {
				t.Fatalf("one page: %d videos, next %q", len(all), next)
			}
			var paged []*ginflix.Video
			after := ""
			for page := 0; ; page++ {
				vs, next, err := s.FindVideos(ctx(t), ginflix.VideoFilter{Sort: sort, Limit: 7, After: after})
				must(t, err)
				paged = append(paged, vs...)
				if page == 1 && sort == ginflix.SortNewest {
					// Videos added while a client pages are newer than its
					// cursor: they neither shift nor repeat later pages.
					clock.Advance(time.Second)
					create(t, s, newVideo("Late arrival"))
				}
				if next == "" {
					break
				}
				if page > 10 {
					t.Fatal("pagination does not end")
				}
				after = next
			}
			wantTitles(t, titles(paged), titles(all)...)
		})
	}
	t.Run("ExactPage", func(t *testing.T) {
		vs, next, err := s.FindVideos(ctx(t), ginflix.VideoFilter{Sort: ginflix.SortTitle, Limit: 26})
		must(t, err)
		if len(vs) != 26 || next != "" {
			t.Fatalf("a page that ends the list exactly: %d videos, next %q", len(vs), next)
		}
	})
}

func testCategories(t *testing.T, open Opener) {
	s := open(t, NewClock().Now)
	for _, v := range []*ginflix.Video{
		{Title: "1", Category: "Films", Status: ginflix.StatusReady, Published: true},
		{Title: "2", Category: "Films", Status: ginflix.StatusReady, Published: true},
		{Title: "3", Category: "Docs", Status: ginflix.StatusReady, Published: true},
		{Title: "4", Category: "Docs", Status: ginflix.StatusProcessing},
		{Title: "5", Category: "Archives", Status: ginflix.StatusReady},
		{Title: "6", Status: ginflix.StatusReady, Published: true},
	} {
		create(t, s, v)
	}
	got, err := s.Categories(ctx(t), true)
	must(t, err)
	if want := []ginflix.Category{{Name: "Docs", Count: 1}, {Name: "Films", Count: 2}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("playable categories = %v, want %v", got, want)
	}
	got, err = s.Categories(ctx(t), false)
	must(t, err)
	if want := []ginflix.Category{{Name: "Archives", Count: 1}, {Name: "Docs", Count: 2}, {Name: "Films", Count: 2}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("all categories = %v, want %v", got, want)
	}
}
