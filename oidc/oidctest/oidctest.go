// Package oidctest is an OpenID issuer for tests: discovery and a JWKS
// served over HTTP on 127.0.0.1, and Keycloak-shaped access tokens signed
// with its own keys, so the production verification path runs without
// Keycloak itself.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer serves /.well-known/openid-configuration and /jwks.
type Issuer struct {
	URL      string
	Audience string
	// JWKSFetches counts downloads of the key set.
	JWKSFetches atomic.Int32

	t    testing.TB
	mu   sync.Mutex
	keys []signingKey // newest, the one that signs, first
}

type signingKey struct {
	key       *rsa.PrivateKey
	kid       string
	published bool // listed in the JWKS
}

// NewIssuer starts an issuer with one RSA key; it stops with the test.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{t: t, Audience: "ginflix"}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss.URL = srv.URL + "/realms/ginflix"
	mux.HandleFunc("GET /realms/ginflix/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/protocol/openid-connect/certs",
			"authorization_endpoint":                iss.URL + "/protocol/openid-connect/auth",
			"token_endpoint":                        iss.URL + "/protocol/openid-connect/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /realms/ginflix/protocol/openid-connect/certs", func(w http.ResponseWriter, r *http.Request) {
		iss.JWKSFetches.Add(1)
		iss.mu.Lock()
		defer iss.mu.Unlock()
		var set jose.JSONWebKeySet
		for _, k := range iss.keys {
			if k.published {
				set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.key.Public(), KeyID: k.kid, Algorithm: "RS256", Use: "sig"})
			}
		}
		json.NewEncoder(w).Encode(set)
	})
	iss.Rotate()
	return iss
}

// Rotate adds a new signing key, served in the JWKS and used from now on.
func (iss *Issuer) Rotate() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		iss.t.Fatal(err)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	kid := fmt.Sprintf("key-%d", len(iss.keys)+1)
	iss.keys = append([]signingKey{{key: key, kid: kid, published: true}}, iss.keys...)
}

// Unpublish drops the signing key from the JWKS while it goes on signing:
// its tokens carry a key id the issuer no longer lists.
func (iss *Issuer) Unpublish() {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys[0].published = false
}

// PublicKey returns the current signing key's public half.
func (iss *Issuer) PublicKey() *rsa.PublicKey {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return &iss.keys[0].key.PublicKey
}

// Claims returns a valid Keycloak-shaped access token's claims for a user
// with roles, issued now for five minutes.
func (iss *Issuer) Claims(sub string, roles ...string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": iss.URL, "sub": sub, "aud": []string{iss.Audience, "account"}, "azp": "ginflix-web",
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "jti": fmt.Sprint(now.UnixNano()),
		"typ": "Bearer", "scope": "openid profile email", "email": sub + "@example.org", "name": "User " + sub,
		"preferred_username": sub, "realm_access": map[string]any{"roles": roles},
	}
}

// Sign signs claims with the current key, as the issuer would.
func (iss *Issuer) Sign(claims map[string]any) string {
	iss.mu.Lock()
	k := iss.keys[0]
	iss.mu.Unlock()
	return SignWith(iss.t, jose.RS256, k.key, k.kid, claims)
}

// Token returns a signed valid token for sub with roles.
func (iss *Issuer) Token(sub string, roles ...string) string {
	return iss.Sign(iss.Claims(sub, roles...))
}

// SignWith signs claims with any key and algorithm, for forged tokens.
func SignWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
