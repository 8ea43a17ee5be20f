package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/ginflix/ginflix"
)

// settingsBody is what the settings row keeps as JSON: the values only;
// version and stamps are columns.
type settingsBody struct {
	SiteName      string `json:"siteName"`
	AutoPublish   bool   `json:"autoPublish"`
	Ladder        []int  `json:"ladder"`
	Preset        string `json:"preset"`
	MaxUploadSize int64  `json:"maxUploadSize"`
	PublicCatalog bool   `json:"publicCatalog"`
}

// Settings returns the stored settings, or ENOTFOUND.
func (db *DB) Settings(ctx context.Context) (*ginflix.Settings, error) {
	var (
		version, updated int64
		body, by         string
	)
	err := db.read.QueryRowContext(ctx, `SELECT version, body, updated_at, updated_by FROM settings WHERE id = 1`).
		Scan(&version, &body, &updated, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ginflix.Errorf(ginflix.ENOTFOUND, "No settings were saved yet.")
	}
	if err != nil {
		return nil, err
	}
	var b settingsBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return nil, err
	}
	at := fromMS(updated)
	return &ginflix.Settings{
		SiteName: b.SiteName, AutoPublish: b.AutoPublish, Ladder: b.Ladder, Preset: b.Preset,
		MaxUploadSize: b.MaxUploadSize, PublicCatalog: b.PublicCatalog,
		Version: version, UpdatedAt: &at, UpdatedBy: by,
	}, nil
}

// SaveSettings stores s if the stored version is still s.Version.
func (db *DB) SaveSettings(ctx context.Context, s *ginflix.Settings) (*ginflix.Settings, error) {
	in := s.Clone()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(settingsBody{
		SiteName: in.SiteName, AutoPublish: in.AutoPublish, Ladder: in.Ladder, Preset: in.Preset,
		MaxUploadSize: in.MaxUploadSize, PublicCatalog: in.PublicCatalog,
	})
	if err != nil {
		return nil, err
	}
	now := db.Now()
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if in.Version == 0 {
			res, err = tx.ExecContext(ctx, `INSERT INTO settings (id, version, body, updated_at, updated_by)
				VALUES (1, 1, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, string(body), ms(now), in.UpdatedBy)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE settings SET version = version + 1, body = ?, updated_at = ?, updated_by = ?
				WHERE id = 1 AND version = ?`, string(body), ms(now), in.UpdatedBy, in.Version)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ginflix.SettingsConflict()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	in.Version++
	in.UpdatedAt = &now
	return &in, nil
}
