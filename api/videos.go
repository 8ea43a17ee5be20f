package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
)

// videoJSON is a video as clients see it: no object keys, no internals.
type videoJSON struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Tags        []string        `json:"tags"`
	Category    string          `json:"category"`
	Language    string          `json:"language"`
	Status      string          `json:"status"`
	Published   bool            `json:"published"`
	Duration    float64         `json:"duration"`
	Width       int             `json:"width"`
	Height      int             `json:"height"`
	Renditions  []renditionJSON `json:"renditions,omitempty"` // with one video, not in lists
	Views       int64           `json:"views"`
	PosterURL   string          `json:"posterUrl,omitempty"`
	PosterWebP  string          `json:"posterWebpUrl,omitempty"`
	Error       string          `json:"error,omitempty"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	PublishedAt *time.Time      `json:"publishedAt,omitempty"`
}

type renditionJSON struct {
	Name      string  `json:"name"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	Bandwidth int     `json:"bandwidth"`
	FrameRate float64 `json:"frameRate"`
}

func (s *server) toVideoJSON(v *ginflix.Video) videoJSON {
	out := videoJSON{
		ID: v.ID, Title: v.Title, Description: v.Description, Tags: v.Tags, Category: v.Category,
		Language: v.Language, Status: string(v.Status), Published: v.Published, Duration: v.Duration,
		Width: v.Width, Height: v.Height, Views: v.Views, Error: v.Error,
		CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, PublishedAt: v.PublishedAt,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	out.PosterURL, out.PosterWebP = s.posterURLs(v)
	if v.Renditions != nil {
		out.Renditions = make([]renditionJSON, len(v.Renditions))
	}
	for i, r := range v.Renditions {
		out.Renditions[i] = renditionJSON{Name: r.Name, Width: r.Width, Height: r.Height, Bandwidth: r.Bandwidth, FrameRate: r.FrameRate}
	}
	return out
}

// page is the shape of every paginated answer.
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// videoFilterFrom reads the catalogue query parameters.
func videoFilterFrom(r *http.Request) (ginflix.VideoFilter, error) {
	q := r.URL.Query()
	f := ginflix.VideoFilter{
		Query:    q.Get("q"),
		Tag:      q.Get("tag"),
		Category: q.Get("category"),
		Sort:     ginflix.VideoSort(q.Get("sort")),
		After:    q.Get("cursor"),
	}
	for name, vs := range q {
		if len(vs) > 1 {
			return f, ginflix.InvalidParam(name, "Parameter %s is given %d times; give it once.", name, len(vs))
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return f, ginflix.InvalidParam("limit", "limit must be a whole number from 1 to %d, got %q.", ginflix.MaxPageSize, s)
		}
		f.Limit = n
	}
	return f, f.Normalize()
}

func (s *server) handleListVideos(w http.ResponseWriter, r *http.Request) {
	f, err := videoFilterFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.PlayableOnly = true
	// Queries that differ only in case, accents or punctuation share a page.
	key := fmt.Sprintf("videos|%q|%q|%q|%s|%s|%d", strings.Join(ginflix.SearchWords(f.Query), " "),
		f.Tag, f.Category, f.Sort, f.After, f.Limit)
	s.writeCachedJSON(w, r, key, func() (any, error) {
		videos, next, err := s.Store.FindVideos(r.Context(), f)
		if err != nil {
			return nil, err
		}
		out := page[videoJSON]{Items: make([]videoJSON, len(videos)), Next: next}
		for i, v := range videos {
			out.Items[i] = s.toVideoJSON(v)
		}
		return out, nil
	})
}

func (s *server) handleGetVideo(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCachedJSON(w, r, "video|"+id, func() (any, error) {
		v, err := s.Store.Video(r.Context(), id)
		if err == nil && !v.Playable() {
			// Viewers cannot tell an unpublished video from a missing one.
			err = ginflix.Errorf(ginflix.ENOTFOUND, "No video with id %q.", id)
		}
		if err != nil {
			return nil, err
		}
		return s.toVideoJSON(v), nil
	})
}

func (s *server) handleCategories(w http.ResponseWriter, r *http.Request) {
	s.writeCachedJSON(w, r, "categories", func() (any, error) {
		cats, err := s.Store.Categories(r.Context(), true)
		if err != nil {
			return nil, err
		}
		return page[ginflix.Category]{Items: cats}, nil
	})
}
