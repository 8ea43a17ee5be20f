package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/ginflix/ginflix"
)

// CreateRefreshFamily stores a new family; ECONFLICT when its id exists.
// Nil scopes and amr are stored, and read back, as empty lists.
func (db *DB) CreateRefreshFamily(ctx context.Context, f *ginflix.RefreshFamily) error {
	if f.ID == "" || len(f.SecretHash) == 0 {
		return ginflix.Errorf(ginflix.EINVALID, "A refresh token family needs an id and a secret hash.")
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO refresh_families (id, secret_hash, client_id, subject, scopes, amr, auth_time, session_id, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.SecretHash, f.ClientID, f.Subject, encodeStrings(f.Scopes), encodeStrings(f.AMR), ms(f.AuthTime), f.SessionID, ms(f.Expires))
	if isUniqueViolation(err) {
		return ginflix.Errorf(ginflix.ECONFLICT, "A refresh token family with id %q exists.", f.ID)
	}
	return err
}

// RefreshFamily returns a family, expired or not; ENOTFOUND when none.
func (db *DB) RefreshFamily(ctx context.Context, id string) (*ginflix.RefreshFamily, error) {
	var (
		f                 ginflix.RefreshFamily
		scopes, amr       string
		authTime, expires int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, secret_hash, client_id, subject, scopes, amr, auth_time, session_id, expires
		FROM refresh_families WHERE id = ?`, id).
		Scan(&f.ID, &f.SecretHash, &f.ClientID, &f.Subject, &scopes, &amr, &authTime, &f.SessionID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, refreshFamilyNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &f.Scopes); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(amr), &f.AMR); err != nil {
		return nil, err
	}
	if f.Scopes == nil { // a "null" written by some other tool
		f.Scopes = []string{}
	}
	if f.AMR == nil {
		f.AMR = []string{}
	}
	f.AuthTime, f.Expires = fromMS(authTime), fromMS(expires)
	return &f, nil
}

// RotateRefreshFamily replaces the secret hash and the expiry if the
// stored hash is still old: one conditional update, so of two rotations
// from the same hash exactly one changes the row. When none changed, a
// read tells a family gone (ENOTFOUND) from one rotated first (ECONFLICT).
func (db *DB) RotateRefreshFamily(ctx context.Context, id string, old, new []byte, expires time.Time) error {
	if len(new) == 0 {
		return ginflix.Errorf(ginflix.EINVALID, "A refresh token family needs a secret hash.")
	}
	res, err := db.write.ExecContext(ctx, `UPDATE refresh_families SET secret_hash = ?, expires = ? WHERE id = ? AND secret_hash = ?`,
		new, ms(expires), id, old)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	var one int
	err = db.read.QueryRowContext(ctx, `SELECT 1 FROM refresh_families WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return refreshFamilyNotFound(id)
	}
	if err != nil {
		return err
	}
	return refreshFamilyRotated()
}

// DeleteRefreshFamilies deletes the families f names and says how many;
// EINVALID, deleting nothing, when f names none of id, session, subject.
func (db *DB) DeleteRefreshFamilies(ctx context.Context, f ginflix.RefreshFamilyFilter) (int, error) {
	if f.ID == "" && f.SessionID == "" && f.Subject == "" {
		return 0, refreshFilterEmpty()
	}
	q, args := `DELETE FROM refresh_families WHERE 1 = 1`, []any{}
	for _, c := range []struct{ col, v string }{
		{"id", f.ID}, {"session_id", f.SessionID}, {"subject", f.Subject}, {"client_id", f.ClientID},
	} {
		if c.v != "" {
			q, args = q+` AND `+c.col+` = ?`, append(args, c.v)
		}
	}
	return db.deleteCount(ctx, q, args...)
}

// DeleteExpiredRefreshFamilies deletes the families whose expiry is at or
// before now.
func (db *DB) DeleteExpiredRefreshFamilies(ctx context.Context, now time.Time) (int, error) {
	return db.deleteCount(ctx, `DELETE FROM refresh_families WHERE expires <= ?`, ms(now))
}

func (db *DB) deleteCount(ctx context.Context, q string, args ...any) (int, error) {
	res, err := db.write.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func refreshFamilyNotFound(id string) error {
	return ginflix.Errorf(ginflix.ENOTFOUND, "No refresh token family with id %q.", id)
}

func refreshFamilyRotated() error {
	return ginflix.Errorf(ginflix.ECONFLICT, "The refresh token was replaced already.")
}

func refreshFilterEmpty() error {
	return ginflix.Errorf(ginflix.EINVALID, "Name the refresh token families to delete: an id, a session or a subject.")
}
