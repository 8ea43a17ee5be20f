package mongo

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

type userDoc struct {
	ID           string    `bson:"_id"`
	Email        string    `bson:"email"`
	Name         string    `bson:"name"`
	Roles        []string  `bson:"roles"`
	PasswordHash string    `bson:"password_hash"`
	Disabled     bool      `bson:"disabled"`
	CreatedAt    time.Time `bson:"created_at"`
	UpdatedAt    time.Time `bson:"updated_at"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (d *userDoc) user() *ginflix.User {
	return &ginflix.User{
		ID: d.ID, Email: d.Email, Name: d.Name, Roles: nonNil(d.Roles), PasswordHash: d.PasswordHash,
		Disabled: d.Disabled, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

// CreateUser validates and stores u; ECONFLICT when its email is taken.
func (db *DB) CreateUser(ctx context.Context, u *ginflix.User) error {
	now := db.now()
	if err := u.PrepareCreate(now); err != nil {
		return err
	}
	_, err := db.users.InsertOne(ctx, &userDoc{
		ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, PasswordHash: u.PasswordHash,
		Disabled: u.Disabled, CreatedAt: now, UpdatedAt: now,
	})
	if mongo.IsDuplicateKeyError(err) {
		return ginflix.Errorf(ginflix.ECONFLICT, "An account with this email exists.")
	}
	return wrap(err)
}

// User returns one account or ENOTFOUND.
func (db *DB) User(ctx context.Context, id string) (*ginflix.User, error) {
	return db.findUser(ctx, bson.D{{Key: "_id", Value: id}})
}

// UserByEmail returns the account of an email, compared case-insensitively.
func (db *DB) UserByEmail(ctx context.Context, email string) (*ginflix.User, error) {
	return db.findUser(ctx, bson.D{{Key: "email", Value: strings.ToLower(strings.TrimSpace(email))}})
}

func (db *DB) findUser(ctx context.Context, filter bson.D) (*ginflix.User, error) {
	var d userDoc
	if err := db.users.FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, notFound(err, "User not found.")
	}
	return d.user(), nil
}

// UpdateUser sets the fields of u and returns the updated account.
func (db *DB) UpdateUser(ctx context.Context, id string, u ginflix.UserUpdate) (*ginflix.User, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	set := bson.D{{Key: "updated_at", Value: db.now()}}
	if u.Name != nil {
		set = append(set, bson.E{Key: "name", Value: *u.Name})
	}
	if u.Roles != nil {
		set = append(set, bson.E{Key: "roles", Value: nonNil(*u.Roles)})
	}
	if u.PasswordHash != nil {
		set = append(set, bson.E{Key: "password_hash", Value: *u.PasswordHash})
	}
	if u.Disabled != nil {
		set = append(set, bson.E{Key: "disabled", Value: *u.Disabled})
	}
	defer db.serialize()()
	var d userDoc
	err := db.users.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err != nil {
		return nil, notFound(err, "User %s not found.", id)
	}
	return d.user(), nil
}

// Users lists every account by email.
func (db *DB) Users(ctx context.Context) ([]*ginflix.User, error) {
	docs, err := findAll[userDoc](ctx, db.users, bson.D{},
		options.Find().SetSort(bson.D{{Key: "email", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]*ginflix.User, len(docs))
	for i := range docs {
		out[i] = docs[i].user()
	}
	return out, nil
}

// CountUsers counts accounts.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	n, err := db.users.CountDocuments(ctx, bson.D{})
	return int(n), wrap(err)
}
