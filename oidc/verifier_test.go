package oidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/oidc"
	"github.com/ginflix/ginflix/oidc/oidctest"
)

func newVerifier(t *testing.T, iss *oidctest.Issuer, mod ...func(*oidc.Config)) *oidc.Verifier {
	t.Helper()
	cfg := oidc.Config{Issuer: iss.URL, Audience: "ginflix", AdminRole: ginflix.RoleAdmin, ViewerRole: ginflix.RoleViewer, MinKeyRefresh: time.Hour}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := oidc.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantRefused(t *testing.T, v *oidc.Verifier, token, why string) {
	t.Helper()
	p, err := v.Verify(t.Context(), token)
	if err == nil {
		t.Fatalf("%s: accepted as %+v", why, p)
	}
	if code := ginflix.ErrorCode(err); code != ginflix.EUNAUTHORIZED {
		t.Fatalf("%s: code %q (%v), want unauthorized", why, code, err)
	}
}

func TestKeycloakShapedTokenAccepted(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss)
	p, err := v.Verify(t.Context(), iss.Token("alice", "ginflix-user", "offline_access"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "alice" || p.Email != "alice@example.org" || p.Name != "User alice" || !p.Viewer || p.Admin ||
		!slices.Equal(p.Roles, []string{"ginflix-user", "offline_access"}) {
		t.Fatalf("principal %+v", p)
	}
	admin, err := v.Verify(t.Context(), iss.Token("root", "ginflix-admin"))
	if err != nil || !admin.Admin || admin.Viewer {
		t.Fatalf("admin principal %+v, %v", admin, err)
	}
}

func TestRolesClaimAndNamesConfigurable(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss, func(c *oidc.Config) {
		c.RolesClaim = "resource_access.ginflix.roles"
		c.AdminRole, c.ViewerRole = "boss", "watcher"
	})
	claims := iss.Claims("bob")
	claims["resource_access"] = map[string]any{"ginflix": map[string]any{"roles": []string{"boss"}}}
	claims["realm_access"] = map[string]any{"roles": []string{"ginflix-admin"}}
	p, err := v.Verify(t.Context(), iss.Sign(claims))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Admin || p.Viewer || !slices.Equal(p.Roles, []string{"boss"}) {
		t.Fatalf("principal %+v: roles must come from the configured claim only", p)
	}
	delete(claims, "resource_access")
	p, err = v.Verify(t.Context(), iss.Sign(claims))
	if err != nil || p.Admin || len(p.Roles) != 0 {
		t.Fatalf("no roles claim: %+v %v", p, err)
	}
}

func TestAttacksRefused(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss)
	good := iss.Claims("mallory", "ginflix-admin")
	with := func(k string, val any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	pubDER, _ := x509.MarshalPKIXPublicKey(iss.PublicKey())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()

	cases := map[string]string{
		"empty":                 "",
		"not a jwt":             "hello",
		"garbage segments":      "a.b.c",
		"huge":                  strings.Repeat("a", 20000) + ".b.c",
		"alg none":              b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(good) + ".",
		"alg none, kid":         b64(map[string]string{"alg": "none", "kid": "key-1"}) + "." + b64(good) + ".",
		"HS256 with public DER": oidctest.SignWith(t, jose.HS256, pubDER, "key-1", good),
		"HS256 with public PEM": oidctest.SignWith(t, jose.HS256, pubPEM, "key-1", good),
		"other key, same kid":   oidctest.SignWith(t, jose.RS256, otherKey, "key-1", good),
		"other key, no kid":     oidctest.SignWith(t, jose.RS256, otherKey, "", good),
		"EC key not in JWKS":    oidctest.SignWith(t, jose.ES256, ecKey, "key-1", good),
		"wrong issuer":          iss.Sign(with("iss", "https://evil.example/realms/ginflix")),
		"issuer missing":        iss.Sign(with("iss", nil)),
		"wrong audience":        iss.Sign(with("aud", []string{"account", "other-api"})),
		"audience missing":      iss.Sign(with("aud", nil)),
		"expired":               iss.Sign(with("exp", now.Add(-time.Second).Unix())),
		"expiry missing":        iss.Sign(with("exp", nil)),
		"not yet valid (nbf)":   iss.Sign(with("nbf", now.Add(3*time.Minute).Unix())), // within go-oidc's own 5 min leeway
		"issued in the future":  iss.Sign(with("iat", now.Add(3*time.Minute).Unix())),
		"no subject":            iss.Sign(with("sub", nil)),
		"tampered payload": func() string {
			parts := strings.Split(iss.Sign(good), ".")
			return parts[0] + "." + b64(with("sub", "someone-else")) + "." + parts[2]
		}(),
		"signature stripped": func() string {
			parts := strings.Split(iss.Sign(good), ".")
			return parts[0] + "." + parts[1] + "."
		}(),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) { wantRefused(t, v, tok, name) })
	}
	if _, err := v.Verify(t.Context(), iss.Sign(good)); err != nil {
		t.Fatalf("the untampered token must pass: %v", err)
	}
}

func TestExpiredSaysSo(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss)
	c := iss.Claims("a")
	c["exp"] = time.Now().Add(-time.Minute).Unix()
	_, err := v.Verify(t.Context(), iss.Sign(c))
	if !strings.Contains(ginflix.ErrorMessage(err), "expired") {
		t.Fatalf("message %q should say the token expired, so clients refresh", ginflix.ErrorMessage(err))
	}
}

func TestKeyRotation(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss, func(c *oidc.Config) { c.MinKeyRefresh = 50 * time.Millisecond })
	if _, err := v.Verify(t.Context(), iss.Token("a", "ginflix-user")); err != nil {
		t.Fatal(err)
	}
	fetches := iss.JWKSFetches.Load()
	time.Sleep(60 * time.Millisecond)
	iss.Rotate() // Keycloak rotates: a new kid appears in the JWKS
	if _, err := v.Verify(t.Context(), iss.Token("a", "ginflix-user")); err != nil {
		t.Fatalf("a token signed by the rotated key: %v", err)
	}
	if got := iss.JWKSFetches.Load(); got != fetches+1 {
		t.Fatalf("rotation fetched the JWKS %d times, want once", got-fetches)
	}
}

func TestUnknownKidNotInRefreshedJWKS(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := newVerifier(t, iss, func(c *oidc.Config) { c.MinKeyRefresh = time.Hour })
	if _, err := v.Verify(t.Context(), iss.Token("a")); err != nil {
		t.Fatal(err)
	}
	iss.Rotate()
	iss.Unpublish() // signs with a key the JWKS does not list
	before := iss.JWKSFetches.Load()
	for range 20 {
		wantRefused(t, v, iss.Token("a", "ginflix-admin"), "unknown kid")
	}
	// Forged kids must not turn into a flood of JWKS downloads.
	if got := iss.JWKSFetches.Load() - before; got > 1 {
		t.Fatalf("20 tokens with an unknown kid fetched the JWKS %d times, want at most 1", got)
	}
	// Nor must bad signatures on a known kid.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	before = iss.JWKSFetches.Load()
	for range 20 {
		wantRefused(t, v, oidctest.SignWith(t, jose.RS256, other, "key-1", iss.Claims("a")), "forged signature")
	}
	if got := iss.JWKSFetches.Load() - before; got != 0 {
		t.Fatalf("forged signatures fetched the JWKS %d times", got)
	}
}

func TestIssuerDownIsUnavailableNotUnauthorized(t *testing.T) {
	v, err := oidc.NewVerifier(oidc.Config{Issuer: "http://127.0.0.1:1/realms/none", Audience: "ginflix"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(t.Context(), "a.b.c")
	if ginflix.ErrorCode(err) != ginflix.EUNAVAILABLE {
		t.Fatalf("code %q, want unavailable", ginflix.ErrorCode(err))
	}
	if v.Ping(t.Context()) == nil {
		t.Fatal("Ping succeeded with the issuer down")
	}
}

// A token verified once is remembered, but only for what it is: the same
// bytes, until their exp; a tampered copy or the same token past its
// expiry is refused as before.
func TestVerifiedTokensRemembered(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	now := time.Now()
	v := newVerifier(t, iss, func(c *oidc.Config) { c.Now = func() time.Time { return now } })
	c := iss.Claims("a")
	c["exp"] = now.Add(2 * time.Minute).Unix()
	c["realm_access"] = map[string]any{"roles": []string{ginflix.RoleViewer}}
	tok := iss.Sign(c)
	p, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	p.Roles[0] = ginflix.RoleAdmin // a caller's change must not reach the next caller
	again, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if again.Admin || !again.Viewer || again.Roles[0] != ginflix.RoleViewer || again.Subject != "a" {
		t.Fatalf("remembered principal %+v", again)
	}
	// A different signature on the same claims is a different token.
	sig := tok[strings.LastIndex(tok, ".")+1:]
	flipped := []byte(sig)
	flipped[5] ^= 1
	wantRefused(t, v, tok[:strings.LastIndex(tok, ".")+1]+string(flipped), "tampered copy of a remembered token")

	now = now.Add(3 * time.Minute)
	if _, err := v.Verify(t.Context(), tok); !strings.Contains(ginflix.ErrorMessage(err), "expired") {
		t.Fatalf("a remembered token past its exp: %v, want expired", err)
	}
}
