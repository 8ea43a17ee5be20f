package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

// settingsID is the _id of the one settings document.
const settingsID = "site"

type settingsDoc struct {
	ID            string    `bson:"_id"`
	Version       int64     `bson:"version"`
	SiteName      string    `bson:"site_name"`
	AutoPublish   bool      `bson:"auto_publish"`
	Ladder        []int     `bson:"ladder"`
	Preset        string    `bson:"preset"`
	MaxUploadSize int64     `bson:"max_upload_size"`
	PublicCatalog bool      `bson:"public_catalog"`
	UpdatedAt     time.Time `bson:"updated_at"`
	UpdatedBy     string    `bson:"updated_by"`
}

func (d *settingsDoc) settings() *ginflix.Settings {
	at := d.UpdatedAt.UTC()
	ladder := d.Ladder
	if ladder == nil {
		ladder = []int{}
	}
	return &ginflix.Settings{
		SiteName: d.SiteName, AutoPublish: d.AutoPublish, Ladder: ladder, Preset: d.Preset,
		MaxUploadSize: d.MaxUploadSize, PublicCatalog: d.PublicCatalog,
		Version: d.Version, UpdatedAt: &at, UpdatedBy: d.UpdatedBy,
	}
}

// Settings returns the stored settings, or ENOTFOUND.
func (db *DB) Settings(ctx context.Context) (*ginflix.Settings, error) {
	var d settingsDoc
	if err := db.settings.FindOne(ctx, m{kv("_id", settingsID)}).Decode(&d); err != nil {
		return nil, notFound(err, "No settings were saved yet.")
	}
	return d.settings(), nil
}

// SaveSettings stores s if the stored version is still s.Version: an
// insert for version 0 (a second insert is a duplicate key), else an
// update guarded by the version.
func (db *DB) SaveSettings(ctx context.Context, s *ginflix.Settings) (*ginflix.Settings, error) {
	in := s.Clone()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	// The version guard is a compare-and-swap: FerretDB would let two win.
	defer db.serialize()()
	now := db.now()
	d := settingsDoc{
		ID: settingsID, Version: in.Version + 1, SiteName: in.SiteName, AutoPublish: in.AutoPublish,
		Ladder: in.Ladder, Preset: in.Preset, MaxUploadSize: in.MaxUploadSize, PublicCatalog: in.PublicCatalog,
		UpdatedAt: now, UpdatedBy: in.UpdatedBy,
	}
	if in.Version == 0 {
		if _, err := db.settings.InsertOne(ctx, d); err != nil {
			if mongo.IsDuplicateKeyError(err) {
				return nil, ginflix.SettingsConflict()
			}
			return nil, wrap(err)
		}
		return d.settings(), nil
	}
	var out settingsDoc
	err := db.settings.FindOneAndReplace(ctx, m{kv("_id", settingsID), kv("version", in.Version)}, d,
		options.FindOneAndReplace().SetReturnDocument(options.After)).Decode(&out)
	if err == mongo.ErrNoDocuments {
		return nil, ginflix.SettingsConflict()
	}
	if err != nil {
		return nil, wrap(err)
	}
	return out.settings(), nil
}
