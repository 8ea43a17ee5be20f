package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix/sqlite"
)

// TestAutomationClientOpensAdminRoutes follows the path a script takes:
// the issuer from /api/config, the token endpoint from discovery, a token
// by client credentials, then admin routes.
func TestAutomationClientOpensAdminRoutes(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	data := t.TempDir()
	in := startServe(t, addr, data, map[string]string{
		"GINFLIX_PUBLIC_CATALOG":           "false",
		"GINFLIX_AUTOMATION_CLIENT_ID":     "ginflix-automation",
		"GINFLIX_AUTOMATION_CLIENT_SECRET": "s3cret-s3cret-s3cret",
	})
	in.waitReady(t, base)

	var cfg struct{ Issuer, ClientID string }
	_, body := in.get(t, base+"/api/config")
	if err := json.Unmarshal(body, &cfg); err != nil || cfg.Issuer != base+"/oidc" || cfg.ClientID != "ginflix-web" {
		t.Fatalf("config %s (%v)", body, err)
	}
	var disco struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	_, body = in.get(t, cfg.Issuer+"/.well-known/openid-configuration")
	if err := json.Unmarshal(body, &disco); err != nil || disco.Issuer != cfg.Issuer || disco.TokenEndpoint == "" {
		t.Fatalf("discovery %s (%v)", body, err)
	}

	token := func(secret string) (int, string) {
		req, _ := http.NewRequest("POST", disco.TokenEndpoint, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("ginflix-automation", secret)
		res, err := in.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(res.Body).Decode(&tok)
		return res.StatusCode, tok.AccessToken
	}
	if status, _ := token("wrong-secret-wrong"); status < 400 {
		t.Fatalf("a wrong client secret got a token (%d)", status)
	}
	status, tok := token("s3cret-s3cret-s3cret")
	if status != 200 || tok == "" {
		t.Fatalf("client credentials: %d", status)
	}
	if res, body := in.get(t, base+"/api/admin/videos", "Authorization", "Bearer "+tok); res.StatusCode != 200 {
		t.Fatalf("admin route with the automation token: %s %s", res.Status, body)
	}
	if res, _ := in.get(t, base+"/api/admin/videos"); res.StatusCode != 401 {
		t.Fatalf("admin route without a token: %s", res.Status)
	}
	if res, _ := in.get(t, base+"/api/videos"); res.StatusCode != 401 {
		t.Fatalf("a private catalogue without a token: %s", res.Status)
	}
	if res, _ := in.get(t, base+"/api/videos", "Authorization", "Bearer "+tok); res.StatusCode != 200 {
		t.Fatalf("catalogue with the automation token: %s", res.Status)
	}

	// The first start created an admin and printed its password once.
	out := in.stdout.String()
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "admin@ginflix.local") {
		t.Fatalf("no first admin announced:\n%s", out)
	}
	if strings.Contains(in.stderr.String(), m[1]) || strings.Contains(in.stderr.String(), tok) || strings.Contains(in.stderr.String(), "s3cret-s3cret-s3cret") {
		t.Fatal("a password, secret or token reached the logs")
	}
	if err := in.stop(t); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), data+"/ginflix.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, _ := db.CountUsers(t.Context()); n != 1 {
		t.Fatalf("%d accounts after the first start, want the one admin", n)
	}
	// A second start keeps the account and prints no new password.
	in2 := startServe(t, addr, data, nil)
	in2.waitReady(t, base)
	if strings.Contains(in2.stdout.String(), "password:") {
		t.Fatal("a second start created another admin")
	}
}

// signIn drives the web app's sign-in as a browser would: authorization
// code with PKCE S256 through the built-in provider's login page.
func signIn(t *testing.T, base, issuer, email, pw string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	redirect := base + "/auth/callback"
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse // the app would take it from here
		}
		return nil
	}}
	raw := make([]byte, 32)
	rand.Read(raw)
	verifier := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {"ginflix-web"}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	res, err := browser.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("login page without %s: %s", name, page)
		}
		return html.UnescapeString(string(m[1]))
	}
	res, err = browser.PostForm(issuer+"/login", url.Values{"authRequestID": {field("authRequestID")}, "csrf": {field("csrf")}, "email": {email}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in ended with %d at %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = browser.PostForm(issuer+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "client_id": {"ginflix-web"}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token exchange: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

// TestViewerSignsInAndIsRefusedAdminRoutes: a viewer created by the admin
// signs in through the login page; their token opens the catalogue and
// their own data, and gets 403 on admin routes.
func TestViewerSignsInAndIsRefusedAdminRoutes(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	in := startServe(t, addr, t.TempDir(), map[string]string{"GINFLIX_PUBLIC_CATALOG": "false"})
	in.waitReady(t, base)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(in.stdout.String())
	if m == nil {
		t.Fatalf("no first admin password printed")
	}
	issuer := base + "/oidc"
	adminTok := signIn(t, base, issuer, "admin@ginflix.local", m[1])

	req, _ := http.NewRequest("POST", base+"/api/admin/users", strings.NewReader(`{"email": "viewer@example.org", "password": "viewer password 1"}`))
	req.Header.Set("Authorization", "Bearer "+adminTok)
	req.Header.Set("Content-Type", "application/json")
	res, err := in.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("admin creates a viewer: %s", res.Status)
	}
	viewer := signIn(t, base, issuer, "viewer@example.org", "viewer password 1")
	for path, want := range map[string]int{"/api/videos": 200, "/api/me": 200, "/api/me/continue": 200, "/api/admin/videos": 403, "/api/admin/users": 403} {
		if res, body := in.get(t, base+path, "Authorization", "Bearer "+viewer); res.StatusCode != want {
			t.Errorf("viewer GET %s: %s %s, want %d", path, res.Status, body, want)
		}
	}
	_, body := in.get(t, base+"/api/me", "Authorization", "Bearer "+viewer)
	if !strings.Contains(string(body), `"email":"viewer@example.org"`) || !strings.Contains(string(body), `"admin":false`) {
		t.Errorf("/api/me = %s", body)
	}
}
