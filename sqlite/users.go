package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/ginflix/ginflix"
)

const userColumns = `id, email, name, roles, password_hash, disabled, created_at, updated_at`

func scanUser(row scanner) (*ginflix.User, error) {
	var (
		u                ginflix.User
		roles            string
		created, updated int64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &roles, &u.PasswordHash, &u.Disabled, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return &u, nil
}

// CreateUser stores u; ECONFLICT when the email is taken.
func (db *DB) CreateUser(ctx context.Context, u *ginflix.User) error {
	now := db.Now()
	if err := u.PrepareCreate(now); err != nil {
		return err
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (`+placeholders(8)+`)`,
		u.ID, u.Email, u.Name, encodeStrings(u.Roles), u.PasswordHash, u.Disabled, ms(now), ms(now))
	if isUniqueViolation(err) {
		return ginflix.Errorf(ginflix.ECONFLICT, "A user with email %q exists.", u.Email)
	}
	return err
}

func (db *DB) userWhere(ctx context.Context, q string, arg any) (*ginflix.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ginflix.Errorf(ginflix.ENOTFOUND, "No such user.")
	}
	return u, err
}

// User returns one user by id.
func (db *DB) User(ctx context.Context, id string) (*ginflix.User, error) {
	return db.userWhere(ctx, `id = ?`, id)
}

// UserByEmail returns one user by email, case-insensitively.
func (db *DB) UserByEmail(ctx context.Context, email string) (*ginflix.User, error) {
	return db.userWhere(ctx, `email = ?`, strings.ToLower(strings.TrimSpace(email)))
}

// UpdateUser changes the set fields of a user.
func (db *DB) UpdateUser(ctx context.Context, id string, up ginflix.UserUpdate) (*ginflix.User, error) {
	var u *ginflix.User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ginflix.Errorf(ginflix.ENOTFOUND, "No such user.")
		} else if err != nil {
			return err
		}
		if err := up.Apply(u, db.Now()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET name = ?, roles = ?, password_hash = ?, disabled = ?, updated_at = ? WHERE id = ?`,
			u.Name, encodeStrings(u.Roles), u.PasswordHash, u.Disabled, ms(u.UpdatedAt), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Users lists every user by email.
func (db *DB) Users(ctx context.Context) ([]*ginflix.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ginflix.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers counts accounts.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}
