// Package op is the built-in OpenID Provider of the all-in-one mode, on
// github.com/zitadel/oidc/v3/pkg/op: discovery, JWKS, authorization code
// with PKCE for the web apps, refresh tokens, client credentials for
// automation, userinfo, introspection, revocation, logout, and a plain HTML
// login page checking the accounts of a ginflix.UserStore.
//
// Access tokens are RS256 JWTs shaped like Keycloak's (realm_access.roles,
// azp, scope, typ, sid…), so the backend verifies them the same way whichever
// issuer is configured. Refresh tokens live in the database
// (Config.Families) and the signing key in Config.KeyFile, so sign-ins
// survive a restart; auth requests, codes and the index of access tokens
// are short-lived and live in memory.
package op

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ginflix/ginflix"
)

// Config configures the provider.
type Config struct {
	// Issuer is the public URL of the issuer, e.g. "http://127.0.0.1:8080/oidc"
	// (a trailing slash is dropped). Handler serves the paths under its
	// path. It must be https, except on a loopback host (127.0.0.0/8, ::1,
	// localhost) for development and the all-in-one default.
	Issuer string
	// KeyFile keeps the RSA signing key (PKCS#8 PEM, mode 0600): generated
	// on first start, reused after.
	KeyFile string
	Users   ginflix.UserStore
	// Families keeps the refresh token families, so that sign-ins outlive
	// a restart (the database store).
	Families ginflix.RefreshFamilyStore
	// WebClientID is the public client of the web apps: authorization code
	// with PKCE S256 required, no secret, refresh tokens.
	WebClientID string
	// WebRedirectURIs are the exact redirect URIs registered for it.
	WebRedirectURIs        []string
	PostLogoutRedirectURIs []string
	// AutomationClientID and AutomationClientSecret name a confidential
	// client allowed the client_credentials grant only; disabled when the
	// id is empty. The secret must be at least 16 characters.
	AutomationClientID, AutomationClientSecret string
	// Audience is put in the aud of every access token (e.g. "ginflix").
	Audience string
	// AdminRole is the role of the automation client's service account
	// (default ginflix-admin). ViewerRole (default ginflix-user) is kept for
	// symmetry: users' roles come from the store as they are.
	AdminRole, ViewerRole string
	// AccessTokenTTL (default 5 min) also bounds ID tokens. RefreshTokenTTL
	// (default 30 days) slides: each refresh rotates the refresh token and
	// restarts its lifetime.
	AccessTokenTTL, RefreshTokenTTL time.Duration
	Logger                          *slog.Logger
	// Now is the clock, for tests (default time.Now).
	Now func() time.Time
}

const (
	defaultAccessTokenTTL  = 5 * time.Minute
	defaultRefreshTokenTTL = 30 * 24 * time.Hour
	minSecretLength        = 16
)

// Provider is the OpenID Provider; Handler serves it.
type Provider struct {
	cfg        Config
	issuerPath string // "" or e.g. "/oidc"
	secure     bool   // https issuer: cookies are Secure
	store      *storage
	op         *zop.Provider
	login      *loginHandler
	handler    http.Handler
}

// New checks cfg, loads or creates the signing key and returns the
// provider. Background sweeping of expired requests and tokens stops when
// ctx is done.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	issuer, _ := url.Parse(cfg.Issuer)
	key, err := loadOrCreateKey(cfg.KeyFile, cfg.Logger)
	if err != nil {
		return nil, err
	}
	st := newStorage(cfg, key)

	var cryptoKey [32]byte // encrypts authorization codes; codes never outlive the process
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("op: %w", err)
	}
	opConfig := &zop.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: cfg.Issuer + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.French, language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "acr", "amr",
			"at_hash", "c_hash", "azp", "client_id", "sid", "typ", "scope", "name", "preferred_username", "email", "realm_access"},
	}
	opts := []zop.Option{zop.WithCORSOptions(corsOptions(cfg))}
	if issuer.Scheme == "http" {
		opts = append(opts, zop.WithAllowInsecure()) // loopback only, checked by normalize
	}
	var s zop.Storage = st
	if cfg.AutomationClientID != "" {
		// The client_credentials grant is offered only when the storage
		// implements it.
		s = &clientCredentialsStorage{st}
	}
	provider, err := zop.NewProvider(opConfig, s, zop.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("op: %w", err)
	}
	p := &Provider{
		cfg:        cfg,
		issuerPath: strings.TrimSuffix(issuer.EscapedPath(), "/"),
		secure:     issuer.Scheme == "https",
		store:      st,
		op:         provider,
	}
	p.login, err = newLoginHandler(p)
	if err != nil {
		return nil, err
	}
	p.handler = p.routes()
	go st.sweepLoop(ctx, p.login.limits.sweep)
	return p, nil
}

// Handler serves everything under the issuer's path, which it expects
// unstripped: mount it as mux.Handle(issuerPath+"/", p.Handler()).
// Discovery is at <issuer>/.well-known/openid-configuration, then
// /keys, /authorize, /oauth/token, /userinfo, /end_session, /revoke,
// /oauth/introspect, and the login page at /login.
func (p *Provider) Handler() http.Handler { return p.handler }

const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
)

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, p.login.form)
	mux.HandleFunc("POST "+loginPath, p.login.submit)
	mux.HandleFunc("GET "+loggedOutPath, p.login.loggedOut)
	mux.Handle("/", p.op)
	if p.issuerPath == "" {
		return mux
	}
	return http.StripPrefix(p.issuerPath, mux)
}

// normalize fills the defaults and checks cfg.
func (c *Config) normalize() error {
	c.Issuer = strings.TrimSuffix(strings.TrimSpace(c.Issuer), "/")
	u, err := url.Parse(c.Issuer)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("op: issuer %q is not an absolute http(s) URL", c.Issuer)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("op: issuer %q must have no query, fragment or user info", c.Issuer)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("op: issuer %q must be https (plain http is allowed on loopback hosts only)", c.Issuer)
	}
	if c.KeyFile == "" {
		return errors.New("op: KeyFile is required")
	}
	if c.Users == nil {
		return errors.New("op: Users is required")
	}
	if c.Families == nil {
		return errors.New("op: Families is required")
	}
	if c.WebClientID == "" {
		return errors.New("op: WebClientID is required")
	}
	if len(c.WebRedirectURIs) == 0 {
		return errors.New("op: WebRedirectURIs must name at least one redirect URI")
	}
	c.WebRedirectURIs = slices.Clone(c.WebRedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	for _, list := range [][]string{c.WebRedirectURIs, c.PostLogoutRedirectURIs} {
		for _, raw := range list {
			if err := checkRedirectURI(raw); err != nil {
				return err
			}
		}
	}
	switch {
	case c.AutomationClientID == "" && c.AutomationClientSecret != "":
		return errors.New("op: AutomationClientSecret is set without AutomationClientID")
	case c.AutomationClientID != "" && len(c.AutomationClientSecret) < minSecretLength:
		return fmt.Errorf("op: AutomationClientSecret must be at least %d characters", minSecretLength)
	case c.AutomationClientID != "" && c.AutomationClientID == c.WebClientID:
		return errors.New("op: AutomationClientID and WebClientID must differ")
	}
	if c.Audience == "" {
		return errors.New("op: Audience is required")
	}
	if c.AdminRole == "" {
		c.AdminRole = ginflix.RoleAdmin
	}
	if c.ViewerRole == "" {
		c.ViewerRole = ginflix.RoleViewer
	}
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = defaultAccessTokenTTL
	}
	if c.RefreshTokenTTL <= 0 {
		c.RefreshTokenTTL = defaultRefreshTokenTTL
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// checkRedirectURI accepts absolute https URIs, and http ones on loopback
// hosts; zitadel then matches them exactly.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("op: redirect URI %q is not an absolute http(s) URL", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("op: redirect URI %q must have no fragment", raw)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("op: redirect URI %q must be https (plain http is allowed on loopback hosts only)", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// corsOptions lets the web apps' origins call the endpoints (token,
// userinfo, revoke…) from the browser. No credentials: none of them use
// cookies, and the login page is not under CORS at all.
func corsOptions(cfg Config) *cors.Options {
	var origins []string
	for _, raw := range append(slices.Clone(cfg.WebRedirectURIs), cfg.PostLogoutRedirectURIs...) {
		u, _ := url.Parse(raw) // checked by normalize
		if o := u.Scheme + "://" + u.Host; !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return &cors.Options{
		AllowedOrigins: origins, // never empty: WebRedirectURIs is required
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
		AllowedHeaders: []string{"Accept", "Accept-Language", "Authorization", "Content-Type"},
		MaxAge:         600,
	}
}
