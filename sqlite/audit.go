package sqlite

import (
	"context"
	"fmt"

	"github.com/ginflix/ginflix"
)

// AppendAudit stores one audit entry.
func (db *DB) AppendAudit(ctx context.Context, e *ginflix.AuditEntry) error {
	if err := e.PrepareAppend(db.Now()); err != nil {
		return err
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_id, actor_name, actor_email, action, target_type, target_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, ms(e.At), e.ActorID, e.ActorName, e.ActorEmail, string(e.Action), e.TargetType, e.TargetID, e.Detail)
	if isUniqueViolation(err) {
		return ginflix.Errorf(ginflix.ECONFLICT, "An audit entry with id %q exists.", e.ID)
	}
	return err
}

// FindAudit returns a page of the audit log, newest first.
func (db *DB) FindAudit(ctx context.Context, f ginflix.AuditFilter) ([]*ginflix.AuditEntry, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	q, args := `SELECT id, at, actor_id, actor_name, actor_email, action, target_type, target_id, detail FROM audit_log WHERE 1 = 1`, []any{}
	if f.Action != "" {
		q, args = q+` AND action = ?`, append(args, string(f.Action))
	}
	if f.TargetType != "" {
		q, args = q+` AND target_type = ?`, append(args, f.TargetType)
	}
	if f.TargetID != "" {
		q, args = q+` AND target_id = ?`, append(args, f.TargetID)
	}
	if f.After != "" {
		c, err := ginflix.DecodeAuditCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		// Row values compare lexicographically: strictly after the cursor
		// in (at DESC, id DESC) order, on the index.
		q, args = q+` AND (at, id) < (?, ?)`, append(args, c.Time, c.ID)
	}
	// One more than asked tells whether a next page exists.
	rows, err := db.read.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT %d`, f.Limit+1), args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []*ginflix.AuditEntry{}
	for rows.Next() {
		var (
			e      ginflix.AuditEntry
			at     int64
			action string
		)
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorName, &e.ActorEmail, &action, &e.TargetType, &e.TargetID, &e.Detail); err != nil {
			return nil, "", err
		}
		e.At, e.Action = fromMS(at), ginflix.AuditAction(action)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = ginflix.AuditCursorAfter(out[len(out)-1])
	}
	return out, next, nil
}
