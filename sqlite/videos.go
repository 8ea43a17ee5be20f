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
	width, height, source_key, poster_key, storyboard_key, storyboard_vtt_key,
	uploader_id, error, views, created_at, updated_at, published_at`

func encodeStrings(ss []string) string {
	if ss == nil {
		ss = []string{}
	}
	b, _ := json.Marshal(ss)
	return string(b)
}

type scanner interface{ Scan(dest ...any) error }

// qualifiedVideoColumns names videoColumns unambiguously in joins.
var qualifiedVideoColumns = "videos." + strings.Join(strings.Split(strings.Join(strings.Fields(videoColumns), " "), ", "), ", videos.")

// scanVideo reads a row of videoColumns, preceded by seq when seq is not nil.
func scanVideo(row scanner, seq *int64) (*ginflix.Video, error) {
	var (
		v                ginflix.Video
		tags             string
		created, updated int64
		published        sql.NullInt64
	)
	dest := []any{&v.ID, &v.Title, &v.Description, &tags, &v.Category, &v.Language, &v.Status, &v.Published,
		&v.Duration, &v.Width, &v.Height, &v.SourceKey, &v.PosterKey, &v.StoryboardKey,
		&v.StoryboardVTTKey, &v.UploaderID, &v.Error, &v.Views, &created, &updated, &published}
	if seq != nil {
		dest = append([]any{seq}, dest...)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &v.Tags); err != nil {
		return nil, fmt.Errorf("video %s tags: %w", v.ID, err)
	}
	v.Renditions = []ginflix.Rendition{}
	v.CreatedAt, v.UpdatedAt, v.PublishedAt = fromMS(created), fromMS(updated), fromMSPtr(published)
	return &v, nil
}

// CreateVideo stores v, assigning its id and timestamps.
func (db *DB) CreateVideo(ctx context.Context, v *ginflix.Video) error {
	if err := v.PrepareCreate(db.Now()); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `INSERT INTO videos (`+videoColumns+`, title_key)
			VALUES (`+placeholders(22)+`) RETURNING seq`,
			v.ID, v.Title, v.Description, encodeStrings(v.Tags), v.Category, v.Language, v.Status, v.Published,
			v.Duration, v.Width, v.Height, v.SourceKey, v.PosterKey, v.StoryboardKey,
			v.StoryboardVTTKey, v.UploaderID, v.Error, v.Views, ms(v.CreatedAt), ms(v.UpdatedAt), msPtr(v.PublishedAt),
			ginflix.FoldText(v.Title)).Scan(&seq)
		if isUniqueViolation(err) {
			return ginflix.Errorf(ginflix.ECONFLICT, "A video with id %q exists.", v.ID)
		} else if err != nil {
			return err
		}
		return writeRenditions(ctx, tx, seq, v.Renditions)
	})
}

func writeRenditions(ctx context.Context, tx *sql.Tx, seq int64, rs []ginflix.Rendition) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM video_renditions WHERE video_seq = ?`, seq); err != nil {
		return err
	}
	for i, r := range rs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO video_renditions (video_seq, position, name, width, height,
			bandwidth, average_bandwidth, codecs, frame_rate, playlist_key) VALUES (`+placeholders(10)+`)`,
			seq, i, r.Name, r.Width, r.Height, r.Bandwidth, r.AverageBandwidth, r.Codecs, r.FrameRate, r.PlaylistKey); err != nil {
			return err
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadRenditions reads the ladder of the video at seq, in rung order.
func loadRenditions(ctx context.Context, q querier, seq int64) ([]ginflix.Rendition, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, width, height, bandwidth, average_bandwidth, codecs,
		frame_rate, playlist_key FROM video_renditions WHERE video_seq = ? ORDER BY position`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ginflix.Rendition{}
	for rows.Next() {
		var r ginflix.Rendition
		if err := rows.Scan(&r.Name, &r.Width, &r.Height, &r.Bandwidth, &r.AverageBandwidth, &r.Codecs,
			&r.FrameRate, &r.PlaylistKey); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// videoByID reads one whole video through q (the read pool or a transaction).
func videoByID(ctx context.Context, q interface {
	querier
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, id string) (*ginflix.Video, int64, error) {
	var seq int64
	v, err := scanVideo(q.QueryRowContext(ctx, `SELECT seq, `+videoColumns+` FROM videos WHERE id = ?`, id), &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, notFound("video", id)
	} else if err != nil {
		return nil, 0, err
	}
	if v.Renditions, err = loadRenditions(ctx, q, seq); err != nil {
		return nil, 0, err
	}
	return v, seq, nil
}

// Video returns one video.
func (db *DB) Video(ctx context.Context, id string) (*ginflix.Video, error) {
	v, _, err := videoByID(ctx, db.read, id)
	return v, err
}

// UpdateVideo reads, changes and writes a video in one transaction; the
// single writer connection makes the read-modify-write atomic.
func (db *DB) UpdateVideo(ctx context.Context, id string, u ginflix.VideoUpdate) (*ginflix.Video, error) {
	var v *ginflix.Video
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var (
			seq int64
			err error
		)
		v, seq, err = videoByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := u.Apply(v, db.Now()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE videos SET title = ?, title_key = ?, description = ?, tags = ?,
			category = ?, language = ?, status = ?, published = ?, duration = ?, width = ?, height = ?,
			source_key = ?, poster_key = ?, storyboard_key = ?, storyboard_vtt_key = ?,
			error = ?, updated_at = ?, published_at = ? WHERE seq = ?`,
			v.Title, ginflix.FoldText(v.Title), v.Description, encodeStrings(v.Tags), v.Category, v.Language,
			v.Status, v.Published, v.Duration, v.Width, v.Height, v.SourceKey,
			v.PosterKey, v.StoryboardKey, v.StoryboardVTTKey, v.Error, ms(v.UpdatedAt), msPtr(v.PublishedAt), seq)
		if err != nil {
			return err
		}
		if u.Renditions != nil {
			return writeRenditions(ctx, tx, seq, v.Renditions)
		}
		return nil
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
			`DELETE FROM my_list WHERE video_id = ?`,
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
//
// Newest is insertion order (seq, the rowid), which is creation order and
// which the FTS index and the tag table both keep: a search or a tag page
// walks its index newest first and stops after one page, however many
// videos match, instead of collecting every match and sorting it.
func (db *DB) FindVideos(ctx context.Context, f ginflix.VideoFilter) ([]*ginflix.Video, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	var (
		where []string
		args  []any
		from  = `videos`
		seq   = `videos.seq` // the driving table's copy of seq
	)
	fts := ftsQuery(f.Query)
	switch {
	case fts != "" && f.Sort == ginflix.SortNewest:
		from, seq = `videos_fts CROSS JOIN videos ON videos.seq = videos_fts.rowid`, `videos_fts.rowid`
		where, args = append(where, `videos_fts MATCH ?`), append(args, fts)
	case fts != "":
		where, args = append(where, `videos.seq IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)`), append(args, fts)
	}
	if f.Tag != "" {
		if from == `videos` && f.Sort == ginflix.SortNewest {
			from, seq = `video_tags CROSS JOIN videos ON videos.seq = video_tags.video_seq`, `video_tags.video_seq`
			where, args = append(where, `video_tags.tag = ?`), append(args, f.Tag)
		} else {
			where, args = append(where, `videos.seq IN (SELECT video_seq FROM video_tags WHERE tag = ?)`), append(args, f.Tag)
		}
	}
	if f.PlayableOnly {
		where = append(where, `videos.published = 1 AND videos.status = 'ready'`)
	}
	if f.Status != "" {
		where, args = append(where, `videos.status = ?`), append(args, f.Status)
	}
	if f.Published != nil {
		where, args = append(where, `videos.published = ?`), append(args, *f.Published)
	}
	if f.Category != "" {
		where, args = append(where, `videos.category = ?`), append(args, f.Category)
	}
	if f.UploaderID != "" {
		where, args = append(where, `videos.uploader_id = ?`), append(args, f.UploaderID)
	}
	var order string
	switch f.Sort {
	case ginflix.SortNewest:
		order = seq + ` DESC`
	case ginflix.SortMostViewed:
		order = `videos.views DESC, videos.id DESC`
	case ginflix.SortTitle:
		order = `videos.title_key, videos.id`
	}
	if f.After != "" {
		c, err := ginflix.DecodeCursor(f.After, f.Sort)
		if err != nil {
			return nil, "", err
		}
		switch f.Sort {
		case ginflix.SortNewest:
			if c.Pos <= 0 {
				return nil, "", ginflix.InvalidParam("cursor", "The cursor is not one this server made.")
			}
			where, args = append(where, seq+` < ?`), append(args, c.Pos)
		case ginflix.SortMostViewed:
			where, args = append(where, `(videos.views, videos.id) < (?, ?)`), append(args, c.Views, c.ID)
		case ginflix.SortTitle:
			where, args = append(where, `(videos.title_key, videos.id) > (?, ?)`), append(args, c.Title, c.ID)
		}
	}
	q := `SELECT videos.seq, ` + qualifiedVideoColumns + ` FROM ` + from
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY ` + order + ` LIMIT ?`
	args = append(args, f.Limit+1)

	stmt, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, "", err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	videos := make([]*ginflix.Video, 0, f.Limit+1)
	var seqs []int64
	for rows.Next() {
		var s int64
		v, err := scanVideo(rows, &s)
		if err != nil {
			return nil, "", err
		}
		videos, seqs = append(videos, v), append(seqs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	for _, v := range videos {
		v.Renditions = nil // lists leave the ladder out
	}
	if len(videos) <= f.Limit {
		return videos, "", nil
	}
	// The extra row says there is a next page; it starts after the last shown.
	videos = videos[:f.Limit]
	c := ginflix.CursorAfter(f.Sort, videos[f.Limit-1])
	if f.Sort == ginflix.SortNewest {
		c.Pos = seqs[f.Limit-1]
	}
	return videos, c.Encode(), nil
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
