package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/ginflix/ginflix"
)

// TokenVerifier checks bearer tokens; the oidc package provides it.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (*ginflix.Principal, error)
}

// access is who may call a route.
type access int

const (
	public  access = iota // anyone, token or not (health, config)
	catalog               // signed-in users, or anyone when the catalogue is public
	user                  // signed-in users with the viewer or admin role
	admin                 // the admin role
)

// guard wraps h with the checks its access level needs. Tokens are
// verified here and nowhere else; handlers read the principal from the
// request context.
func (s *server) guard(level access, h http.Handler) http.Handler {
	if level == public {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, present, ok := bearerToken(r)
		if !present && level == catalog && s.current(r.Context()).PublicCatalog {
			h.ServeHTTP(w, r)
			return
		}
		if !present {
			s.challenge(w, r, "", ginflix.Errorf(ginflix.EUNAUTHORIZED, "Sign in first: this needs an access token (Authorization: Bearer …)."))
			return
		}
		if !ok {
			s.challenge(w, r, "invalid_request", ginflix.Errorf(ginflix.EUNAUTHORIZED, "The Authorization header must be \"Bearer\" followed by a token."))
			return
		}
		p, err := s.Verifier.Verify(r.Context(), raw)
		if err != nil {
			if ginflix.ErrorCode(err) == ginflix.EUNAUTHORIZED {
				s.challenge(w, r, "invalid_token", err)
			} else {
				s.writeError(w, r, err)
			}
			return
		}
		switch {
		case level == admin && !p.Admin:
			w.Header().Set("WWW-Authenticate", `Bearer realm="ginflix", error="insufficient_scope"`)
			s.writeError(w, r, ginflix.Errorf(ginflix.EFORBIDDEN, "This needs the %s role.", s.AdminRole))
			return
		case !p.Admin && !p.Viewer:
			w.Header().Set("WWW-Authenticate", `Bearer realm="ginflix", error="insufficient_scope"`)
			s.writeError(w, r, ginflix.Errorf(ginflix.EFORBIDDEN, "Your account has no access to %s yet: it needs the %s role.", s.current(r.Context()).SiteName, s.ViewerRole))
			return
		}
		h.ServeHTTP(w, r.WithContext(ginflix.NewContextWithPrincipal(r.Context(), p)))
	})
}

// challenge answers 401 with the RFC 6750 WWW-Authenticate header.
func (s *server) challenge(w http.ResponseWriter, r *http.Request, code string, err error) {
	v := `Bearer realm="ginflix"`
	if code != "" {
		v += `, error="` + code + `", error_description="` + strings.ReplaceAll(ginflix.ErrorMessage(err), `"`, `'`) + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	s.writeError(w, r, err)
}

// bearerToken reads the Authorization header: present says there is one,
// ok that it has the Bearer form.
func bearerToken(r *http.Request) (token string, present, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, false
	}
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", true, false
	}
	token = strings.TrimSpace(token)
	return token, true, token != ""
}

// productName is the configured name, the default of the site name.
func (s *server) productName() string {
	if s.Public.ProductName != "" {
		return s.Public.ProductName
	}
	return "Ginflix"
}

// principal returns the caller of a guarded route.
func principal(r *http.Request) *ginflix.Principal {
	if p := ginflix.PrincipalFrom(r.Context()); p != nil {
		return p
	}
	return &ginflix.Principal{} // a public catalogue read: nobody in particular
}
