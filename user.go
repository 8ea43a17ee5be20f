package ginflix

import (
	"context"
	"net/mail"
	"strings"
	"time"
)

// Role names as they appear in tokens; configurable at the edges, these
// are the defaults (Keycloak realm roles).
const (
	RoleAdmin  = "ginflix-admin"
	RoleViewer = "ginflix-user"
)

// User is an account of the built-in identity provider. With an external
// provider (Keycloak) users live there and this store only sees subjects.
type User struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	// PasswordHash is an argon2id PHC string; never serialised.
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// HasRole reports whether u holds role.
func (u *User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Validate checks u and normalises its email to lower case.
func (u *User) Validate() error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.Name = strings.TrimSpace(u.Name)
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
		return InvalidParam("email", "%q is not an email address.", u.Email)
	}
	return (&UserUpdate{Name: &u.Name}).Validate()
}

// PrepareCreate validates a new account and fills its id and timestamps.
func (u *User) PrepareCreate(now time.Time) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = NewID()
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	u.CreatedAt, u.UpdatedAt = now, now
	return nil
}

// UserUpdate lists the fields to change; nil means unchanged.
type UserUpdate struct {
	Name         *string
	Roles        *[]string
	PasswordHash *string
	Disabled     *bool
}

// Validate checks the fields u sets and trims the name.
func (u *UserUpdate) Validate() error {
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if len(name) > 200 {
			return InvalidParam("name", "The name is longer than 200 characters.")
		}
		u.Name = &name
	}
	return nil
}

// Apply copies the set fields of up onto u and validates the result.
func (up UserUpdate) Apply(u *User, now time.Time) error {
	if err := up.Validate(); err != nil {
		return err
	}
	if up.Name != nil {
		u.Name = *up.Name
	}
	if up.Roles != nil {
		u.Roles = *up.Roles
	}
	if up.PasswordHash != nil {
		u.PasswordHash = *up.PasswordHash
	}
	if up.Disabled != nil {
		u.Disabled = *up.Disabled
	}
	u.UpdatedAt = now
	return u.Validate()
}

// UserStore keeps the built-in provider's accounts.
type UserStore interface {
	// CreateUser stores u; ECONFLICT when the email is taken.
	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	UpdateUser(ctx context.Context, id string, u UserUpdate) (*User, error)
	// Users lists accounts by email.
	Users(ctx context.Context) ([]*User, error)
	CountUsers(ctx context.Context) (int, error)
}
