package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

type auditDoc struct {
	ID         string    `bson:"_id"`
	At         time.Time `bson:"at"`
	ActorID    string    `bson:"actor_id"`
	ActorName  string    `bson:"actor_name"`
	ActorEmail string    `bson:"actor_email"`
	Action     string    `bson:"action"`
	TargetType string    `bson:"target_type"`
	TargetID   string    `bson:"target_id"`
	Detail     string    `bson:"detail"`
}

func (d *auditDoc) entry() *ginflix.AuditEntry {
	return &ginflix.AuditEntry{
		ID: d.ID, At: d.At.UTC(), ActorID: d.ActorID, ActorName: d.ActorName, ActorEmail: d.ActorEmail,
		Action: ginflix.AuditAction(d.Action), TargetType: d.TargetType, TargetID: d.TargetID, Detail: d.Detail,
	}
}

// AppendAudit stores one audit entry.
func (db *DB) AppendAudit(ctx context.Context, e *ginflix.AuditEntry) error {
	if err := e.PrepareAppend(db.now()); err != nil {
		return err
	}
	_, err := db.audit.InsertOne(ctx, auditDoc{
		ID: e.ID, At: e.At, ActorID: e.ActorID, ActorName: e.ActorName, ActorEmail: e.ActorEmail,
		Action: string(e.Action), TargetType: e.TargetType, TargetID: e.TargetID, Detail: e.Detail,
	})
	if mongo.IsDuplicateKeyError(err) {
		return ginflix.Errorf(ginflix.ECONFLICT, "An audit entry with id %q exists.", e.ID)
	}
	return wrap(err)
}

// FindAudit returns a page of the audit log, newest first.
func (db *DB) FindAudit(ctx context.Context, f ginflix.AuditFilter) ([]*ginflix.AuditEntry, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	var and bson.A
	eq := func(k string, v any) { and = append(and, m{kv(k, v)}) }
	if f.Action != "" {
		eq("action", string(f.Action))
	}
	if f.TargetType != "" {
		eq("target_type", f.TargetType)
	}
	if f.TargetID != "" {
		eq("target_id", f.TargetID)
	}
	if f.After != "" {
		c, err := ginflix.DecodeAuditCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		at := time.UnixMilli(c.Time).UTC()
		and = append(and, m{kv("$or", bson.A{
			m{kv("at", m{kv("$lt", at)})},
			m{kv("at", at), kv("_id", m{kv("$lt", c.ID)})},
		})})
	}
	filter := m{}
	if len(and) > 0 {
		filter = m{kv("$and", and)}
	}
	docs, err := findAll[auditDoc](ctx, db.audit, filter,
		options.Find().SetSort(m{kv("at", -1), kv("_id", -1)}).SetLimit(int64(f.Limit+1)))
	if err != nil {
		return nil, "", err
	}
	more := len(docs) > f.Limit
	if more {
		docs = docs[:f.Limit]
	}
	out := make([]*ginflix.AuditEntry, len(docs))
	for i := range docs {
		out[i] = docs[i].entry()
	}
	next := ""
	if more {
		next = ginflix.AuditCursorAfter(out[len(out)-1])
	}
	return out, next, nil
}
