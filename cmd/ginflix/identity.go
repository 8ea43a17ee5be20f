package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/oidc"
	"github.com/ginflix/ginflix/op"
	"github.com/ginflix/ginflix/password"
)

// identity is how the backend knows who calls it: a verifier for access
// tokens and, in all-in-one mode, the provider that issues them.
type identity struct {
	issuer   string
	verifier *oidc.Verifier
	provider http.Handler // nil with an external issuer
	// providerPath is where provider is mounted, e.g. "/oidc/".
	providerPath string
}

// webRedirectURIs are where the web apps receive the authorization code
// and finish silent renewal, under the public URL.
func webRedirectURIs(cfg Config) []string {
	base := cfg.PublicURL
	return append([]string{base + "/auth/callback", base + "/auth/silent", base + "/admin/auth/callback", base + "/admin/auth/silent"}, cfg.OIDCRedirectURIs...)
}

func newIdentity(ctx context.Context, cfg Config, store ginflix.Store, log *slog.Logger) (*identity, error) {
	id := &identity{issuer: cfg.OIDCIssuer}
	client := &http.Client{Timeout: 10 * time.Second}
	if id.issuer == "" {
		id.issuer = cfg.PublicURL + "/oidc"
		p, err := op.New(ctx, op.Config{
			Issuer:                 id.issuer,
			KeyFile:                filepath.Join(cfg.DataDir, "oidc-signing-key.pem"),
			Users:                  store,
			Families:               store,
			WebClientID:            cfg.OIDCClientID,
			WebRedirectURIs:        webRedirectURIs(cfg),
			PostLogoutRedirectURIs: []string{cfg.PublicURL + "/", cfg.PublicURL + "/admin/"},
			AutomationClientID:     cfg.AutomationClientID,
			AutomationClientSecret: cfg.AutomationClientSecret,
			Audience:               cfg.OIDCAudience,
			AdminRole:              cfg.AdminRole,
			ViewerRole:             cfg.ViewerRole,
			Logger:                 log.With("component", "oidc-provider"),
		})
		if err != nil {
			return nil, fmt.Errorf("built-in OpenID provider: %w", err)
		}
		id.provider = p.Handler()
		id.providerPath = strings.TrimSuffix(pathOf(id.issuer), "/") + "/"
		// The backend asks its own provider for keys in process: the public
		// URL may point at a proxy this machine cannot reach.
		client = &http.Client{Timeout: 10 * time.Second, Transport: inProcess{id.provider}}
	}
	v, err := oidc.NewVerifier(oidc.Config{
		Issuer: id.issuer, Audience: cfg.OIDCAudience, RolesClaim: cfg.OIDCRolesClaim,
		AdminRole: cfg.AdminRole, ViewerRole: cfg.ViewerRole, HTTPClient: client,
	})
	if err != nil {
		return nil, err
	}
	id.verifier = v
	return id, nil
}

func pathOf(rawURL string) string {
	_, rest, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(rawURL, "https://"), "http://"), "/")
	return "/" + rest
}

// inProcess is an http.RoundTripper that serves requests with a handler,
// without a network round trip.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	t.h.ServeHTTP(rec, req)
	return &http.Response{
		StatusCode: rec.status, Status: http.StatusText(rec.status), Header: rec.header,
		Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: req,
	}, nil
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// ensureFirstAdmin creates an admin with a random password on a fresh
// all-in-one start, and prints the password once: nobody is locked out of
// a new installation, and no default password exists to forget to change.
func ensureFirstAdmin(ctx context.Context, cfg Config, store ginflix.UserStore, stdout io.Writer, log *slog.Logger) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw := randomPassword()
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	u := &ginflix.User{Email: cfg.AdminEmail, Name: "Administrator", Roles: []string{cfg.AdminRole, cfg.ViewerRole}, PasswordHash: hash}
	if err := store.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("creating the first admin: %w", err)
	}
	log.Info("first admin created", "email", u.Email) // never the password
	fmt.Fprintf(stdout, "\nFirst start: an administrator account was created.\n  email:    %s\n  password: %s\nIt is shown only this once; change it or create your own with \"ginflix users create --admin\".\n\n", u.Email, pw)
	return nil
}

func randomPassword() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
