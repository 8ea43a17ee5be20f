package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ginflix/ginflix"
)

const videoColumns = `id, title, description, tags, category, language, status, published, duration,
	width, height, renditions, source_key, poster_key, storyboard_key, storyboard_vtt_key,
	uploader_id, error, views, created_at, updated_at, published_at`

// renditionRow is how a rendition is kept in the JSON column: every field,
// including the playlist key the API does not show.
type renditionRow struct {
	ginflix.Rendition
	PlaylistKey string `json:"playlistKey"`
}

func encodeRenditions(rs []ginflix.Rendition) string {
	rows := make([]renditionRow, len(rs))
	for i, r := range rs {
		rows[i] = renditionRow{Rendition: r, PlaylistKey: r.PlaylistKey}
	}
	b, _ := json.Marshal(rows)
	return string(b)
}

func decodeRenditions(s string) ([]ginflix.Rendition, error) {
	var rows []renditionRow
	if err := json.Unmarshal([]byte(s), &rows); err != nil {
		return nil, err
	}
	out := make([]ginflix.Rendition, len(rows))
	for i, r := range rows {
		out[i] = r.Rendition
		out[i].PlaylistKey = r.PlaylistKey
	}
	return out, nil
}

func encodeStrings(ss []string) string {
	if ss == nil {
		ss = []string{}
	}
	b, _ := json.Marshal(ss)
	return string(b)
}

type scanner interface{ Scan(dest ...any) error }

func scanVideo(row scanner) (*ginflix.Video, error) {
	var (
		v                ginflix.Video
		tags, renditions string
		created, updated int64
		published        sql.NullInt64
	)
	err := row.Scan(&v.ID, &v.Title, &v.Description, &tags, &v.Category, &v.Language, &v.Status, &v.Published,
		&v.Duration, &v.Width, &v.Height, &renditions, &v.SourceKey, &v.PosterKey, &v.StoryboardKey,
		&v.StoryboardVTTKey, &v.UploaderID, &v.Error, &v.Views, &created, &updated, &published)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &v.Tags); err != nil {
		return nil, fmt.Errorf("video %s tags: %w", v.ID, err)
	}
	if v.Renditions, err = decodeRenditions(renditions); err != nil {
		return nil, fmt.Errorf("video %s renditions: %w", v.ID, err)
	}
	v.CreatedAt, v.UpdatedAt, v.PublishedAt = fromMS(created), fromMS(updated), fromMSPtr(published)
	return &v, nil
}

// CreateVideo stores v, assigning its id and timestamps.
func (db *DB) CreateVideo(ctx context.Context, v *ginflix.Video) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if v.ID == "" {
		v.ID = ginflix.NewID()
	}
	now := db.Now()
	v.CreatedAt, v.UpdatedAt = now, now
	if v.Published && v.PublishedAt == nil {
		v.PublishedAt = &now
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.Renditions == nil {
		v.Renditions = []ginflix.Rendition{}
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO videos (`+videoColumns+`, title_key)
		VALUES (`+placeholders(23)+`)`,
		v.ID, v.Title, v.Description, encodeStrings(v.Tags), v.Category, v.Language, v.Status, v.Published,
		v.Duration, v.Width, v.Height, encodeRenditions(v.Renditions), v.SourceKey, v.PosterKey, v.StoryboardKey,
		v.StoryboardVTTKey, v.UploaderID, v.Error, v.Views, ms(v.CreatedAt), ms(v.UpdatedAt), msPtr(v.PublishedAt),
		ginflix.FoldText(v.Title))
	if isUniqueViolation(err) {
		return ginflix.Errorf(ginflix.ECONFLICT, "A video with id %q exists.", v.ID)
	}
	return err
}

// Video returns one video.
func (db *DB) Video(ctx context.Context, id string) (*ginflix.Video, error) {
	v, err := scanVideo(db.read.QueryRowContext(ctx, `SELECT `+videoColumns+` FROM videos WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("video", id)
	}
	return v, err
}

// UpdateVideo reads, changes and writes a video in one transaction; the
// single writer connection makes the read-modify-write atomic.
func (db *DB) UpdateVideo(ctx context.Context, id string, u ginflix.VideoUpdate) (*ginflix.Video, error) {
	var v *ginflix.Video
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = scanVideo(tx.QueryRowContext(ctx, `SELECT `+videoColumns+` FROM videos WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("video", id)
		} else if err != nil {
			return err
		}
		if err := u.Apply(v, db.Now()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE videos SET title = ?, title_key = ?, description = ?, tags = ?,
			category = ?, language = ?, status = ?, published = ?, duration = ?, width = ?, height = ?,
			renditions = ?, source_key = ?, poster_key = ?, storyboard_key = ?, storyboard_vtt_key = ?,
			error = ?, updated_at = ?, published_at = ? WHERE id = ?`,
			v.Title, ginflix.FoldText(v.Title), v.Description, encodeStrings(v.Tags), v.Category, v.Language,
			v.Status, v.Published, v.Duration, v.Width, v.Height, encodeRenditions(v.Renditions), v.SourceKey,
			v.PosterKey, v.StoryboardKey, v.StoryboardVTTKey, v.Error, ms(v.UpdatedAt), msPtr(v.PublishedAt), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DeleteVideo removes a video with its progress, events and jobs.
func (db *DB) DeleteVideo(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM videos WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("video", id)
		}
		for _, q := range []string{
			`DELETE FROM watch_progress WHERE video_id = ?`,
			`DELETE FROM playback_events WHERE video_id = ?`,
			`DELETE FROM jobs WHERE video_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddVideoViews adds n views.
func (db *DB) AddVideoViews(ctx context.Context, id string, n int64) error {
	res, err := db.write.ExecContext(ctx, `UPDATE videos SET views = views + ? WHERE id = ?`, n, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("video", id)
	}
	return nil
}

// FindVideos returns one page of videos and the next page's cursor.
func (db *DB) FindVideos(ctx context.Context, f ginflix.VideoFilter) ([]*ginflix.Video, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	var (
		where []string
		args  []any
	)
	if f.PlayableOnly {
		where = append(where, `published = 1 AND status = 'ready'`)
	}
	if f.Status != "" {
		where, args = append(where, `status = ?`), append(args, f.Status)
	}
	if f.Published != nil {
		where, args = append(where, `published = ?`), append(args, *f.Published)
	}
	if f.Category != "" {
		where, args = append(where, `category = ?`), append(args, f.Category)
	}
	if f.UploaderID != "" {
		where, args = append(where, `uploader_id = ?`), append(args, f.UploaderID)
	}
	if f.Tag != "" {
		where, args = append(where, `seq IN (SELECT video_seq FROM video_tags WHERE tag = ?)`), append(args, f.Tag)
	}
	if q := ftsQuery(f.Query); q != "" {
		where, args = append(where, `seq IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)`), append(args, q)
	}
	var order string
	switch f.Sort {
	case ginflix.SortNewest:
		order = `created_at DESC, id DESC`
	case ginflix.SortMostViewed:
		order = `views DESC, id DESC`
	case ginflix.SortTitle:
		order = `title_key, id`
	}
	if f.After != "" {
		c, err := ginflix.DecodeCursor(f.After, f.Sort)
		if err != nil {
			return nil, "", err
		}
		switch f.Sort {
		case ginflix.SortNewest:
			where, args = append(where, `(created_at, id) < (?, ?)`), append(args, c.Time, c.ID)
		case ginflix.SortMostViewed:
			where, args = append(where, `(views, id) < (?, ?)`), append(args, c.Views, c.ID)
		case ginflix.SortTitle:
			where, args = append(where, `(title_key, id) > (?, ?)`), append(args, c.Title, c.ID)
		}
	}
	q := `SELECT ` + videoColumns + ` FROM videos`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY ` + order + ` LIMIT ?`
	args = append(args, f.Limit+1)

	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	videos := make([]*ginflix.Video, 0, f.Limit)
	for rows.Next() {
		v, err := scanVideo(rows)
		if err != nil {
			return nil, "", err
		}
		videos = append(videos, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(videos) > f.Limit {
		videos = videos[:f.Limit]
		next = ginflix.CursorAfter(f.Sort, videos[len(videos)-1]).Encode()
	}
	return videos, next, nil
}

// ftsQuery turns free text into an FTS5 query: every word, as a quoted
// prefix, must match. Words hold only letters and digits, so the quotes
// cannot be broken out of.
func ftsQuery(text string) string {
	words := ginflix.SearchWords(text)
	if len(words) > ginflix.MaxSearchWords {
		words = words[:ginflix.MaxSearchWords]
	}
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = `"` + w + `"*`
	}
	return strings.Join(terms, " AND ")
}

// Categories counts videos per non-empty category.
func (db *DB) Categories(ctx context.Context, playableOnly bool) ([]ginflix.Category, error) {
	q := `SELECT category, COUNT(*) FROM videos WHERE category != ''`
	if playableOnly {
		q += ` AND published = 1 AND status = 'ready'`
	}
	rows, err := db.read.QueryContext(ctx, q+` GROUP BY category ORDER BY category`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ginflix.Category{}
	for rows.Next() {
		var c ginflix.Category
		if err := rows.Scan(&c.Name, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
