package mongo

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

type videoDoc struct {
	ID               string         `bson:"_id"`
	Title            string         `bson:"title"`
	TitleKey         string         `bson:"title_key"`
	Description      string         `bson:"description"`
	Tags             []string       `bson:"tags"`
	Category         string         `bson:"category"`
	Language         string         `bson:"language"`
	Status           string         `bson:"status"`
	Published        bool           `bson:"published"`
	Duration         float64        `bson:"duration"`
	Width            int            `bson:"width"`
	Height           int            `bson:"height"`
	Renditions       []renditionDoc `bson:"renditions"`
	SourceKey        string         `bson:"source_key"`
	PosterKey        string         `bson:"poster_key"`
	StoryboardKey    string         `bson:"storyboard_key"`
	StoryboardVTTKey string         `bson:"storyboard_vtt_key"`
	UploaderID       string         `bson:"uploader_id"`
	Error            string         `bson:"error"`
	Views            int64          `bson:"views"`
	SearchWords      []string       `bson:"search_words"`
	CreatedAt        time.Time      `bson:"created_at"`
	UpdatedAt        time.Time      `bson:"updated_at"`
	PublishedAt      *time.Time     `bson:"published_at"`
	// Version counts writes, for UpdateVideo's compare-and-swap.
	Version int64 `bson:"version"`
}

type renditionDoc struct {
	Name             string  `bson:"name"`
	Width            int     `bson:"width"`
	Height           int     `bson:"height"`
	Bandwidth        int     `bson:"bandwidth"`
	AverageBandwidth int     `bson:"average_bandwidth"`
	Codecs           string  `bson:"codecs"`
	FrameRate        float64 `bson:"frame_rate"`
	PlaylistKey      string  `bson:"playlist_key"`
}

// searchWords are the words a video is found by: title, description,
// tags and category, folded, deduplicated.
func searchWords(v *ginflix.Video) []string {
	w := ginflix.SearchWords(v.Title + " " + v.Description + " " + strings.Join(v.Tags, " ") + " " + v.Category)
	if w == nil {
		w = []string{}
	}
	return w
}

func toVideoDoc(v *ginflix.Video) *videoDoc {
	d := &videoDoc{
		ID: v.ID, Title: v.Title, TitleKey: ginflix.FoldText(v.Title), Description: v.Description,
		Tags: v.Tags, Category: v.Category, Language: v.Language, Status: string(v.Status),
		Published: v.Published, Duration: v.Duration, Width: v.Width, Height: v.Height,
		Renditions: make([]renditionDoc, len(v.Renditions)),
		SourceKey:  v.SourceKey, PosterKey: v.PosterKey, StoryboardKey: v.StoryboardKey,
		StoryboardVTTKey: v.StoryboardVTTKey, UploaderID: v.UploaderID, Error: v.Error,
		Views: v.Views, SearchWords: searchWords(v),
		CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC(), PublishedAt: msPtr(v.PublishedAt),
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	for i, r := range v.Renditions {
		d.Renditions[i] = renditionDoc(r)
	}
	return d
}

func (d *videoDoc) video() *ginflix.Video {
	v := &ginflix.Video{
		ID: d.ID, Title: d.Title, Description: d.Description, Tags: d.Tags, Category: d.Category,
		Language: d.Language, Status: ginflix.VideoStatus(d.Status), Published: d.Published,
		Duration: d.Duration, Width: d.Width, Height: d.Height,
		Renditions: make([]ginflix.Rendition, len(d.Renditions)),
		SourceKey:  d.SourceKey, PosterKey: d.PosterKey, StoryboardKey: d.StoryboardKey,
		StoryboardVTTKey: d.StoryboardVTTKey, UploaderID: d.UploaderID, Error: d.Error,
		Views: d.Views, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		PublishedAt: utcPtr(d.PublishedAt),
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	for i, r := range d.Renditions {
		v.Renditions[i] = ginflix.Rendition(r)
	}
	return v
}

// CreateVideo validates and stores v, assigning its ID when empty and its
// timestamps.
func (db *DB) CreateVideo(ctx context.Context, v *ginflix.Video) error {
	if err := v.PrepareCreate(db.now()); err != nil {
		return err
	}
	v.PublishedAt = msPtr(v.PublishedAt)
	d := toVideoDoc(v)
	d.Version = 1
	if _, err := db.videos.InsertOne(ctx, d); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return ginflix.Errorf(ginflix.ECONFLICT, "A video with id %s exists.", v.ID)
		}
		return wrap(err)
	}
	return nil
}

// Video returns one video or ENOTFOUND.
func (db *DB) Video(ctx context.Context, id string) (*ginflix.Video, error) {
	var d videoDoc
	if err := db.videos.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, notFound(err, "Video %s not found.", id)
	}
	return d.video(), nil
}

// UpdateVideo applies u to the stored video with a compare-and-swap on the
// document's version, retried while concurrent writers win. The view count
// is never written back, so concurrent AddVideoViews are kept.
func (db *DB) UpdateVideo(ctx context.Context, id string, u ginflix.VideoUpdate) (*ginflix.Video, error) {
	for {
		v, err, done := db.tryUpdateVideo(ctx, id, u)
		if done {
			return v, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (db *DB) tryUpdateVideo(ctx context.Context, id string, u ginflix.VideoUpdate) (*ginflix.Video, error, bool) {
	defer db.serialize()()
	var old videoDoc
	if err := db.videos.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&old); err != nil {
		return nil, notFound(err, "Video %s not found.", id), true
	}
	v := old.video()
	if err := u.Apply(v, db.now()); err != nil {
		return nil, err, true
	}
	set, err := setOf(toVideoDoc(v), "_id", "views", "version", "created_at")
	if err != nil {
		return nil, wrap(err), true
	}
	// A document written by something else than this package may have no
	// version yet: it is matched by the field's absence, and gets one.
	version := bson.E{Key: "version", Value: old.Version}
	if old.Version == 0 {
		version.Value = bson.D{{Key: "$in", Value: bson.A{int64(0), nil}}}
	}
	var d videoDoc
	err = db.videos.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: id}, version},
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err == mongo.ErrNoDocuments {
		return nil, nil, false // lost the race: reload and apply again
	}
	if err != nil {
		return nil, wrap(err), true
	}
	return d.video(), nil, true
}

// setOf is the $set document of every field of doc but the skipped ones.
func setOf(doc any, skip ...string) (bson.D, error) {
	b, err := bson.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var all bson.D
	if err := bson.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	out := all[:0]
next:
	for _, e := range all {
		for _, s := range skip {
			if e.Key == s {
				continue next
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteVideo removes a video, then its watch progress, jobs and events.
func (db *DB) DeleteVideo(ctx context.Context, id string) error {
	res, err := db.videos.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return wrap(err)
	}
	// Sweep dependents even when the video was already gone, so that a
	// delete interrupted half-way is finished by the next one.
	byVideo := bson.D{{Key: "video_id", Value: id}}
	for _, c := range []*mongo.Collection{db.progress, db.myList, db.jobs, db.events} {
		if _, err := c.DeleteMany(ctx, byVideo); err != nil {
			return wrap(err)
		}
	}
	if res.DeletedCount == 0 {
		return ginflix.Errorf(ginflix.ENOTFOUND, "Video %s not found.", id)
	}
	return nil
}

// AddVideoViews adds n to a video's view count.
func (db *DB) AddVideoViews(ctx context.Context, id string, n int64) error {
	defer db.serialize()()
	res, err := db.videos.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "views", Value: n}}}})
	if err != nil {
		return wrap(err)
	}
	if res.MatchedCount == 0 {
		return ginflix.Errorf(ginflix.ENOTFOUND, "Video %s not found.", id)
	}
	return nil
}

// sortSpec is the order of a sort and the keyset condition of the videos
// after cursor c in it.
func sortSpec(s ginflix.VideoSort, c *ginflix.Cursor) (order bson.D, after bson.D) {
	var field string
	var dir int
	var val any
	switch s {
	case ginflix.SortMostViewed:
		field, dir = "views", -1
		if c != nil {
			val = c.Views
		}
	case ginflix.SortTitle:
		field, dir = "title_key", 1
		if c != nil {
			val = c.Title
		}
	default:
		field, dir = "created_at", -1
		if c != nil {
			val = time.UnixMilli(c.Time).UTC()
		}
	}
	order = bson.D{{Key: field, Value: dir}, {Key: "_id", Value: dir}}
	if c == nil {
		return order, nil
	}
	op := "$gt"
	if dir < 0 {
		op = "$lt"
	}
	after = bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: field, Value: bson.D{{Key: op, Value: val}}}},
		bson.D{{Key: field, Value: val}, {Key: "_id", Value: bson.D{{Key: op, Value: c.ID}}}},
	}}}
	return order, after
}

// FindVideos returns a page of videos in the filter's order and the cursor
// of the next page.
func (db *DB) FindVideos(ctx context.Context, f ginflix.VideoFilter) ([]*ginflix.Video, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	var cur *ginflix.Cursor
	if f.After != "" {
		c, err := ginflix.DecodeCursor(f.After, f.Sort)
		if err != nil {
			return nil, "", err
		}
		cur = &c
	}
	var and bson.A
	eq := func(k string, v any) { and = append(and, bson.D{{Key: k, Value: v}}) }
	if f.PlayableOnly {
		eq("published", true)
		eq("status", string(ginflix.StatusReady))
	}
	if f.Status != "" {
		eq("status", string(f.Status))
	}
	if f.Published != nil {
		eq("published", *f.Published)
	}
	if f.Tag != "" {
		eq("tags", f.Tag)
	}
	if f.Category != "" {
		eq("category", f.Category)
	}
	if f.UploaderID != "" {
		eq("uploader_id", f.UploaderID)
	}
	words := ginflix.SearchWords(f.Query)
	if len(words) > ginflix.MaxSearchWords {
		words = words[:ginflix.MaxSearchWords]
	}
	for _, w := range words {
		eq("search_words", bson.D{{Key: "$regex", Value: "^" + regexp.QuoteMeta(w)}})
	}
	order, after := sortSpec(f.Sort, cur)
	if after != nil {
		and = append(and, after)
	}
	filter := bson.D{}
	if len(and) > 0 {
		filter = bson.D{{Key: "$and", Value: and}}
	}
	docs, err := findAll[videoDoc](ctx, db.videos, filter,
		options.Find().SetSort(order).SetLimit(int64(f.Limit+1)).SetProjection(bson.D{{Key: "renditions", Value: 0}}))
	if err != nil {
		return nil, "", err
	}
	more := len(docs) > f.Limit
	if more {
		docs = docs[:f.Limit]
	}
	out := make([]*ginflix.Video, len(docs))
	for i := range docs {
		out[i] = docs[i].video()
		out[i].Renditions = nil
	}
	next := ""
	if more {
		next = ginflix.CursorAfter(f.Sort, out[len(out)-1]).Encode()
	}
	return out, next, nil
}

// Categories lists non-empty categories with their video counts, by name.
func (db *DB) Categories(ctx context.Context, playableOnly bool) ([]ginflix.Category, error) {
	match := bson.D{{Key: "category", Value: bson.D{{Key: "$ne", Value: ""}}}}
	if playableOnly {
		match = append(match,
			bson.E{Key: "published", Value: true},
			bson.E{Key: "status", Value: string(ginflix.StatusReady)})
	}
	cur, err := db.videos.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: match}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: "$category"},
			{Key: "count", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
	})
	if err != nil {
		return nil, wrap(err)
	}
	var rows []struct {
		Name  string        `bson:"_id"`
		Count bson.RawValue `bson:"count"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, wrap(err)
	}
	out := make([]ginflix.Category, 0, len(rows))
	for _, r := range rows {
		n, ok := r.Count.AsInt64OK()
		if !ok {
			f, ok := r.Count.DoubleOK()
			if !ok {
				return nil, fmt.Errorf("mongo: category count of type %s", r.Count.Type)
			}
			n = int64(f)
		}
		out = append(out, ginflix.Category{Name: r.Name, Count: int(n)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
