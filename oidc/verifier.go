// Package oidc verifies OpenID Connect access tokens (JWTs) from the
// configured issuer, Keycloak or the built-in provider alike, with
// github.com/coreos/go-oidc: discovery, JWKS, issuer, audience, expiry and
// signature, and turns them into a ginflix.Principal.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/ginflix/ginflix"
)

// Config says which tokens to accept and how to read their roles.
type Config struct {
	Issuer   string // exact "iss", also where discovery is fetched
	Audience string // must be in "aud"
	// RolesClaim is the dotted path of the roles array, Keycloak's
	// "realm_access.roles" by default.
	RolesClaim string
	AdminRole  string
	ViewerRole string
	// HTTPClient fetches discovery and keys; it needs timeouts.
	HTTPClient *http.Client
	// MinKeyRefresh bounds how often a token with an unknown key id can
	// make the verifier fetch the JWKS again (default 10 s).
	MinKeyRefresh time.Duration
	Now           func() time.Time
}

// Algorithms accepted for signatures: asymmetric only. "none" and HMAC are
// never accepted, so a token signed with the public key as an HMAC secret
// is refused (RFC 8725 §2.1, §3.1).
var Algorithms = []string{gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512, gooidc.PS256, gooidc.PS384, gooidc.PS512}

// clockSkew is the leeway on nbf and iat.
const clockSkew = 60 * time.Second

// Verifier checks bearer tokens. Discovery happens on first use, so the
// backend can start before its issuer answers (or, for the built-in
// provider, before its own listener is up).
type Verifier struct {
	cfg Config

	mu        sync.Mutex
	verifier  *gooidc.IDTokenVerifier
	lastTry   time.Time
	lastError error

	cache *verifiedCache
}

// NewVerifier returns a verifier for cfg; it reaches the issuer lazily.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("oidc: issuer and audience are required")
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "realm_access.roles"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MinKeyRefresh <= 0 {
		cfg.MinKeyRefresh = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg, cache: newVerifiedCache(10000, 10*time.Minute)}, nil
}

// discover fetches the issuer's metadata once; failures are retried at
// most every few seconds so an outage does not turn into a request storm.
func (v *Verifier) discover(ctx context.Context) (*gooidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	if !v.lastTry.IsZero() && time.Since(v.lastTry) < 5*time.Second {
		return nil, v.lastError
	}
	v.lastTry = time.Now()
	ctx = gooidc.ClientContext(ctx, v.cfg.HTTPClient)
	provider, err := gooidc.NewProvider(ctx, v.cfg.Issuer)
	if err != nil {
		v.lastError = fmt.Errorf("oidc discovery at %s: %w", v.cfg.Issuer, err)
		return nil, v.lastError
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKSURL == "" {
		v.lastError = fmt.Errorf("oidc discovery at %s: no jwks_uri", v.cfg.Issuer)
		return nil, v.lastError
	}
	keys := newKeySet(meta.JWKSURL, v.cfg.HTTPClient, v.cfg.MinKeyRefresh)
	v.verifier = gooidc.NewVerifier(v.cfg.Issuer, keys, &gooidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: Algorithms,
		Now:                  v.cfg.Now,
	})
	return v.verifier, nil
}

// Ping checks the issuer's discovery answers, for readiness.
func (v *Verifier) Ping(ctx context.Context) error {
	_, err := v.discover(ctx)
	return err
}

func unauthorized(format string, args ...any) error {
	return ginflix.Errorf(ginflix.EUNAUTHORIZED, format, args...)
}

// Verify checks raw and returns who it speaks for. Every failure is an
// EUNAUTHORIZED error whose message a client may see.
func (v *Verifier) Verify(ctx context.Context, raw string) (*ginflix.Principal, error) {
	if raw == "" || len(raw) > 16<<10 || strings.Count(raw, ".") != 2 {
		return nil, unauthorized("The access token is malformed.")
	}
	if p, ok := v.cache.get(raw, v.cfg.Now()); ok {
		return p, nil
	}
	verifier, err := v.discover(ctx)
	if err != nil {
		return nil, ginflix.Errorf(ginflix.EUNAVAILABLE, "The identity provider cannot be reached; try again shortly.")
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		var expired *gooidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, unauthorized("The access token has expired.")
		}
		return nil, unauthorized("The access token is not valid.")
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, unauthorized("The access token is not valid.")
	}
	now := v.cfg.Now()
	// go-oidc allows five minutes of skew on nbf and does not look at iat.
	if nbf, ok := numericDate(claims["nbf"]); ok && now.Add(clockSkew).Before(nbf) {
		return nil, unauthorized("The access token is not valid yet.")
	}
	if iat, ok := numericDate(claims["iat"]); ok && now.Add(clockSkew).Before(iat) {
		return nil, unauthorized("The access token is not valid yet.")
	}
	if tok.Subject == "" {
		return nil, unauthorized("The access token names no subject.")
	}
	p := &ginflix.Principal{
		Subject: tok.Subject,
		Email:   stringClaim(claims, "email"),
		Name:    stringClaim(claims, "name"),
		Roles:   rolesAt(claims, v.cfg.RolesClaim),
	}
	if p.Name == "" {
		p.Name = stringClaim(claims, "preferred_username")
	}
	for _, r := range p.Roles {
		p.Admin = p.Admin || r == v.cfg.AdminRole
		p.Viewer = p.Viewer || r == v.cfg.ViewerRole
	}
	v.cache.put(raw, p, tok.Expiry, now)
	return p, nil
}

func numericDate(v any) (time.Time, bool) {
	switch n := v.(type) {
	case float64:
		return time.Unix(int64(n), 0), true
	case json.Number:
		f, err := n.Float64()
		return time.Unix(int64(f), 0), err == nil
	}
	return time.Time{}, false
}

func stringClaim(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// rolesAt walks a dotted claim path ("realm_access.roles") to an array of
// strings; anything else yields no roles.
func rolesAt(claims map[string]any, path string) []string {
	var cur any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	list, _ := cur.([]any)
	var roles []string
	for _, r := range list {
		if s, ok := r.(string); ok {
			roles = append(roles, s)
		}
	}
	return roles
}
