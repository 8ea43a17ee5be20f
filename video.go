package ginflix

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// VideoStatus is where a video is in its life: uploaded bytes arriving,
// being transcoded, playable, or failed with a readable error.
type VideoStatus string

const (
	StatusUploading  VideoStatus = "uploading"
	StatusProcessing VideoStatus = "processing"
	StatusReady      VideoStatus = "ready"
	StatusFailed     VideoStatus = "failed"
)

// Valid reports whether s is one of the known statuses.
func (s VideoStatus) Valid() bool {
	switch s {
	case StatusUploading, StatusProcessing, StatusReady, StatusFailed:
		return true
	}
	return false
}

// Video is one item of the catalogue.
type Video struct {
	ID          string      `json:"id"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Tags        []string    `json:"tags"`
	Category    string      `json:"category"`
	Language    string      `json:"language"`
	Status      VideoStatus `json:"status"`
	Published   bool        `json:"published"`
	// Duration in seconds, as probed from the source.
	Duration   float64     `json:"duration"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
	Renditions []Rendition `json:"renditions"`
	// Object keys of what the pipeline produced; empty until it did.
	SourceKey        string `json:"-"`
	PosterKey        string `json:"posterKey,omitempty"`
	StoryboardKey    string `json:"storyboardKey,omitempty"`
	StoryboardVTTKey string `json:"storyboardVttKey,omitempty"`
	UploaderID       string `json:"uploaderId,omitempty"`
	// Error is the admin-readable reason of a failed video.
	Error       string     `json:"error,omitempty"`
	Views       int64      `json:"views"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
}

// Rendition is one rung of a video's HLS ladder.
type Rendition struct {
	Name             string  `json:"name"` // "720p"
	Width            int     `json:"width"`
	Height           int     `json:"height"`
	Bandwidth        int     `json:"bandwidth"`        // peak bits/s
	AverageBandwidth int     `json:"averageBandwidth"` // bits/s
	Codecs           string  `json:"codecs"`           // RFC 6381
	FrameRate        float64 `json:"frameRate"`
	PlaylistKey      string  `json:"-"`
}

// Limits on what a client may write, checked by Validate.
const (
	MaxTitleLen       = 300
	MaxDescriptionLen = 20000
	MaxTags           = 50
	MaxTagLen         = 64
	MaxCategoryLen    = 64
	MaxLanguageLen    = 35 // BCP 47 tags fit
)

// Validate checks the client-editable fields of v and normalises its tags.
func (v *Video) Validate() error {
	v.Title = strings.TrimSpace(v.Title)
	v.Category = strings.TrimSpace(v.Category)
	v.Language = strings.TrimSpace(v.Language)
	switch {
	case v.ID != "" && !ValidID(v.ID):
		return InvalidParam("id", "%q is not a valid video id.", v.ID)
	case v.Title == "":
		return InvalidParam("title", "A video needs a title.")
	case utf8.RuneCountInString(v.Title) > MaxTitleLen:
		return InvalidParam("title", "The title is longer than %d characters.", MaxTitleLen)
	case utf8.RuneCountInString(v.Description) > MaxDescriptionLen:
		return InvalidParam("description", "The description is longer than %d characters.", MaxDescriptionLen)
	case utf8.RuneCountInString(v.Category) > MaxCategoryLen:
		return InvalidParam("category", "The category is longer than %d characters.", MaxCategoryLen)
	case utf8.RuneCountInString(v.Language) > MaxLanguageLen:
		return InvalidParam("language", "The language is longer than %d characters.", MaxLanguageLen)
	case !v.Status.Valid():
		return InvalidParam("status", "Unknown video status %q.", v.Status)
	}
	tags, err := NormalizeTags(v.Tags)
	if err != nil {
		return err
	}
	v.Tags = tags
	return nil
}

// PrepareCreate validates a new video and fills what a store assigns: the
// id when empty, timestamps, the publication time, empty lists.
func (v *Video) PrepareCreate(now time.Time) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if v.ID == "" {
		v.ID = NewID()
	}
	v.CreatedAt, v.UpdatedAt = now, now
	if v.Published && v.PublishedAt == nil {
		t := now
		v.PublishedAt = &t
	}
	if v.Renditions == nil {
		v.Renditions = []Rendition{}
	}
	return nil
}

// NormalizeTags trims, lowercases and de-duplicates tags, keeping their order.
func NormalizeTags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || seen[t] {
			continue
		}
		if utf8.RuneCountInString(t) > MaxTagLen {
			return nil, InvalidParam("tags", "The tag %q is longer than %d characters.", t, MaxTagLen)
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, InvalidParam("tags", "A video has at most %d tags.", MaxTags)
	}
	return out, nil
}

// Playable reports whether viewers may stream the video.
func (v *Video) Playable() bool { return v.Published && v.Status == StatusReady }

// VideoUpdate lists the fields to change; nil means unchanged.
type VideoUpdate struct {
	Title            *string
	Description      *string
	Tags             *[]string
	Category         *string
	Language         *string
	Status           *VideoStatus
	Published        *bool
	Duration         *float64
	Width            *int
	Height           *int
	Renditions       *[]Rendition
	SourceKey        *string
	PosterKey        *string
	StoryboardKey    *string
	StoryboardVTTKey *string
	Error            *string
}

// Apply copies the set fields of u onto v and validates the result.
func (u VideoUpdate) Apply(v *Video, now time.Time) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&v.Title, u.Title)
	set(&v.Description, u.Description)
	set(&v.Category, u.Category)
	set(&v.Language, u.Language)
	set(&v.SourceKey, u.SourceKey)
	set(&v.PosterKey, u.PosterKey)
	set(&v.StoryboardKey, u.StoryboardKey)
	set(&v.StoryboardVTTKey, u.StoryboardVTTKey)
	set(&v.Error, u.Error)
	if u.Tags != nil {
		v.Tags = *u.Tags
	}
	if u.Status != nil {
		v.Status = *u.Status
	}
	if u.Published != nil {
		if *u.Published && !v.Published {
			t := now
			v.PublishedAt = &t
		}
		v.Published = *u.Published
	}
	if u.Duration != nil {
		v.Duration = *u.Duration
	}
	if u.Width != nil {
		v.Width = *u.Width
	}
	if u.Height != nil {
		v.Height = *u.Height
	}
	if u.Renditions != nil {
		v.Renditions = *u.Renditions
	}
	v.UpdatedAt = now
	return v.Validate()
}

// VideoSort is an order of a video list.
type VideoSort string

const (
	SortNewest     VideoSort = "newest"
	SortMostViewed VideoSort = "most_viewed"
	SortTitle      VideoSort = "title"
)

// Valid reports whether s is a known sort.
func (s VideoSort) Valid() bool {
	switch s {
	case SortNewest, SortMostViewed, SortTitle:
		return true
	}
	return false
}

// VideoFilter selects and orders a page of videos.
type VideoFilter struct {
	// PlayableOnly keeps published, ready videos: what viewers may see.
	PlayableOnly bool
	Status       VideoStatus // "" for any
	Published    *bool
	Query        string // free text; words match as accent- and case-insensitive prefixes
	Tag          string
	Category     string
	UploaderID   string
	Sort         VideoSort // "" means newest
	// After is the opaque cursor of the previous page, "" for the first.
	After string
	Limit int
}

// Limits of a page of videos.
const (
	DefaultPageSize = 24
	MaxPageSize     = 100
	MaxQueryLen     = 200
)

// Normalize fills defaults and checks the filter.
func (f *VideoFilter) Normalize() error {
	if f.Sort == "" {
		f.Sort = SortNewest
	}
	if !f.Sort.Valid() {
		return InvalidParam("sort", "Unknown sort %q: use newest, most_viewed or title.", f.Sort)
	}
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	if f.Limit < 1 || f.Limit > MaxPageSize {
		return InvalidParam("limit", "limit must be between 1 and %d.", MaxPageSize)
	}
	if f.Status != "" && !f.Status.Valid() {
		return InvalidParam("status", "Unknown video status %q.", f.Status)
	}
	if utf8.RuneCountInString(f.Query) > MaxQueryLen {
		return InvalidParam("q", "The search is longer than %d characters.", MaxQueryLen)
	}
	f.Tag = strings.ToLower(strings.TrimSpace(f.Tag))
	f.Category = strings.TrimSpace(f.Category)
	return nil
}

// Category is a category name with how many videos it holds.
type Category struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// VideoStore keeps the catalogue.
type VideoStore interface {
	// CreateVideo stores v, assigning ID (when empty) and timestamps.
	CreateVideo(ctx context.Context, v *Video) error
	// Video returns one video or ENOTFOUND.
	Video(ctx context.Context, id string) (*Video, error)
	// UpdateVideo applies u atomically and returns the updated video.
	UpdateVideo(ctx context.Context, id string, u VideoUpdate) (*Video, error)
	// DeleteVideo removes a video and what the store keeps about it.
	DeleteVideo(ctx context.Context, id string) error
	// FindVideos returns a page in the filter's order and the cursor of the
	// next page ("" at the end). Keyset pagination: pages stay correct
	// while videos are added. Listed videos leave Renditions nil: a list
	// shows cards, and the ladder is read with Video.
	FindVideos(ctx context.Context, f VideoFilter) ([]*Video, string, error)
	// Categories lists categories with their counts of playable videos
	// (all videos when playableOnly is false), by name.
	Categories(ctx context.Context, playableOnly bool) ([]Category, error)
	// AddVideoViews adds n to a video's view count.
	AddVideoViews(ctx context.Context, id string, n int64) error
}
