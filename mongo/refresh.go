package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

type refreshFamilyDoc struct {
	ID         string    `bson:"_id"`
	SecretHash []byte    `bson:"secret_hash"` // BSON binary, subtype 0
	ClientID   string    `bson:"client_id"`
	Subject    string    `bson:"subject"`
	Scopes     []string  `bson:"scopes"`
	AMR        []string  `bson:"amr"`
	AuthTime   time.Time `bson:"auth_time"`
	SessionID  string    `bson:"session_id"`
	Expires    time.Time `bson:"expires"`
}

func (d *refreshFamilyDoc) family() *ginflix.RefreshFamily {
	return &ginflix.RefreshFamily{
		ID: d.ID, SecretHash: d.SecretHash, ClientID: d.ClientID, Subject: d.Subject,
		Scopes: nonNil(d.Scopes), AMR: nonNil(d.AMR), AuthTime: d.AuthTime.UTC(),
		SessionID: d.SessionID, Expires: d.Expires.UTC(),
	}
}

// hashValue is a secret hash as BSON binary, also when it is nil.
func hashValue(h []byte) bson.Binary {
	if h == nil {
		h = []byte{}
	}
	return bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: h}
}

// CreateRefreshFamily stores a new family; ECONFLICT when its id exists.
// Nil scopes and amr are stored, and read back, as empty lists.
func (db *DB) CreateRefreshFamily(ctx context.Context, f *ginflix.RefreshFamily) error {
	if f.ID == "" || len(f.SecretHash) == 0 {
		return ginflix.Errorf(ginflix.EINVALID, "A refresh token family needs an id and a secret hash.")
	}
	_, err := db.refresh.InsertOne(ctx, refreshFamilyDoc{
		ID: f.ID, SecretHash: f.SecretHash, ClientID: f.ClientID, Subject: f.Subject,
		Scopes: nonNil(f.Scopes), AMR: nonNil(f.AMR), AuthTime: f.AuthTime.UTC().Truncate(time.Millisecond),
		SessionID: f.SessionID, Expires: f.Expires.UTC().Truncate(time.Millisecond),
	})
	if mongo.IsDuplicateKeyError(err) {
		return ginflix.Errorf(ginflix.ECONFLICT, "A refresh token family with id %q exists.", f.ID)
	}
	return wrap(err)
}

// RefreshFamily returns a family, expired or not; ENOTFOUND when none.
func (db *DB) RefreshFamily(ctx context.Context, id string) (*ginflix.RefreshFamily, error) {
	var d refreshFamilyDoc
	if err := db.refresh.FindOne(ctx, m{kv("_id", id)}).Decode(&d); err != nil {
		return nil, notFound(err, "No refresh token family with id %q.", id)
	}
	return d.family(), nil
}

// RotateRefreshFamily replaces the secret hash and the expiry if the
// stored hash is still old: one update filtered on the id and the old
// hash. When it matched nothing, a read tells a family gone (ENOTFOUND)
// from one rotated first (ECONFLICT).
func (db *DB) RotateRefreshFamily(ctx context.Context, id string, old, new []byte, expires time.Time) error {
	if len(new) == 0 {
		return ginflix.Errorf(ginflix.EINVALID, "A refresh token family needs a secret hash.")
	}
	// A compare-and-swap: FerretDB would let two rotations from one hash win.
	defer db.serialize()()
	res, err := db.refresh.UpdateOne(ctx, m{kv("_id", id), kv("secret_hash", hashValue(old))},
		m{kv("$set", m{kv("secret_hash", hashValue(new)), kv("expires", expires.UTC().Truncate(time.Millisecond))})})
	if err != nil {
		return wrap(err)
	}
	if res.MatchedCount > 0 {
		return nil
	}
	var d struct {
		ID string `bson:"_id"`
	}
	err = db.refresh.FindOne(ctx, m{kv("_id", id)}, options.FindOne().SetProjection(m{kv("_id", 1)})).Decode(&d)
	if err != nil {
		return notFound(err, "No refresh token family with id %q.", id)
	}
	return ginflix.Errorf(ginflix.ECONFLICT, "The refresh token was replaced already.")
}

// DeleteRefreshFamilies deletes the families f names and says how many;
// EINVALID, deleting nothing, when f names none of id, session, subject.
func (db *DB) DeleteRefreshFamilies(ctx context.Context, f ginflix.RefreshFamilyFilter) (int, error) {
	if f.ID == "" && f.SessionID == "" && f.Subject == "" {
		return 0, ginflix.Errorf(ginflix.EINVALID, "Name the refresh token families to delete: an id, a session or a subject.")
	}
	filter := m{}
	for _, c := range []struct{ key, v string }{
		{"_id", f.ID}, {"session_id", f.SessionID}, {"subject", f.Subject}, {"client_id", f.ClientID},
	} {
		if c.v != "" {
			filter = append(filter, kv(c.key, c.v))
		}
	}
	res, err := db.refresh.DeleteMany(ctx, filter)
	if err != nil {
		return 0, wrap(err)
	}
	return int(res.DeletedCount), nil
}

// DeleteExpiredRefreshFamilies deletes the families whose expiry is at or
// before now.
func (db *DB) DeleteExpiredRefreshFamilies(ctx context.Context, now time.Time) (int, error) {
	res, err := db.refresh.DeleteMany(ctx, m{kv("expires", m{kv("$lte", now.UTC().Truncate(time.Millisecond))})})
	if err != nil {
		return 0, wrap(err)
	}
	return int(res.DeletedCount), nil
}
