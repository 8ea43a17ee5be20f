package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/password"
)

type userJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func toUserJSON(u *ginflix.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// managesUsers refuses account management when an external identity
// provider (Keycloak) owns the accounts.
func (s *server) managesUsers(w http.ResponseWriter, r *http.Request) bool {
	if !s.ManagesUsers {
		s.writeError(w, r, ginflix.Errorf(ginflix.ENOTIMPLEMENTED,
			"Accounts are managed by the identity provider at %s; manage them there.", s.Public.Issuer))
		return false
	}
	return true
}

// checkRoles accepts only the roles Ginflix knows.
func (s *server) checkRoles(roles []string) error {
	for _, r := range roles {
		if r != s.AdminRole && r != s.ViewerRole {
			return ginflix.InvalidParam("roles", "Unknown role %q: use %s or %s.", r, s.AdminRole, s.ViewerRole)
		}
	}
	return nil
}

func (s *server) handleAdminListUsers(w http.ResponseWriter, r *http.Request) {
	if !s.managesUsers(w, r) {
		return
	}
	users, err := s.Store.Users(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := page[userJSON]{Items: make([]userJSON, len(users))}
	for i, u := range users {
		out.Items[i] = toUserJSON(u)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) handleAdminCreateUser(w http.ResponseWriter, r *http.Request) {
	if !s.managesUsers(w, r) {
		return
	}
	var body struct {
		Email    string   `json:"email"`
		Name     string   `json:"name"`
		Password string   `json:"password"`
		Roles    []string `json:"roles"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Roles == nil {
		body.Roles = []string{s.ViewerRole}
	}
	if err := s.checkRoles(body.Roles); err != nil {
		s.writeError(w, r, err)
		return
	}
	hash, err := password.Hash(body.Password)
	if errors.Is(err, password.ErrWeak) {
		s.writeError(w, r, ginflix.InvalidParam("password", "The password must be %d to %d characters long.", password.MinLength, password.MaxLength))
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := &ginflix.User{Email: body.Email, Name: body.Name, Roles: body.Roles, PasswordHash: hash}
	if err := s.Store.CreateUser(r.Context(), u); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Audit.Record(r.Context(), principal(r), ginflix.AuditUserCreated, ginflix.TargetUser, u.ID,
		fmt.Sprintf("%s, roles: %s", u.Email, strings.Join(u.Roles, ", ")))
	s.Logger.InfoContext(r.Context(), "user created", "user_id", u.ID, "roles", u.Roles, "by", principal(r).Subject)
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

func (s *server) handleAdminPatchUser(w http.ResponseWriter, r *http.Request) {
	if !s.managesUsers(w, r) {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body struct {
		Name     *string   `json:"name"`
		Roles    *[]string `json:"roles"`
		Disabled *bool     `json:"disabled"`
		Password *string   `json:"password"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	up := ginflix.UserUpdate{Name: body.Name, Roles: body.Roles, Disabled: body.Disabled}
	if body.Roles != nil {
		if err := s.checkRoles(*body.Roles); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	// An admin cannot lock themselves out: someone must remain able to undo it.
	if id == principal(r).Subject && ((body.Disabled != nil && *body.Disabled) || (body.Roles != nil && !slices.Contains(*body.Roles, s.AdminRole))) {
		s.writeError(w, r, ginflix.Errorf(ginflix.ECONFLICT, "You cannot disable your own account or drop your own admin role."))
		return
	}
	if body.Password != nil {
		hash, err := password.Hash(*body.Password)
		if err != nil {
			s.writeError(w, r, ginflix.InvalidParam("password", "The password must be %d to %d characters long.", password.MinLength, password.MaxLength))
			return
		}
		up.PasswordHash = &hash
	}
	before, err := s.Store.User(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.Store.UpdateUser(r.Context(), id, up)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditUserPatch(r, before, u)
	s.Logger.InfoContext(r.Context(), "user updated", "user_id", id, "roles", u.Roles, "disabled", u.Disabled, "by", principal(r).Subject)
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// auditUserPatch records the account changes the audit log tracks.
func (s *server) auditUserPatch(r *http.Request, before, after *ginflix.User) {
	p := principal(r)
	switch {
	case after.Disabled && !before.Disabled:
		s.Audit.Record(r.Context(), p, ginflix.AuditUserDisabled, ginflix.TargetUser, after.ID, after.Email)
	case !after.Disabled && before.Disabled:
		s.Audit.Record(r.Context(), p, ginflix.AuditUserEnabled, ginflix.TargetUser, after.ID, after.Email)
	}
	if !slices.Equal(before.Roles, after.Roles) {
		s.Audit.Record(r.Context(), p, ginflix.AuditUserRoleChanged, ginflix.TargetUser, after.ID,
			fmt.Sprintf("%s, roles: %s → %s", after.Email, strings.Join(before.Roles, ", "), strings.Join(after.Roles, ", ")))
	}
}
