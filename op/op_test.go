package op

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	e := newEnv(t)
	var disc map[string]any
	if status := e.getJSON(e.issuer+"/.well-known/openid-configuration", &disc); status != http.StatusOK {
		t.Fatalf("discovery: %d", status)
	}
	if disc["issuer"] != e.issuer {
		t.Errorf("issuer = %v, want %s", disc["issuer"], e.issuer)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "end_session_endpoint",
		"revocation_endpoint", "introspection_endpoint", "jwks_uri"} {
		if s, _ := disc[k].(string); !strings.HasPrefix(s, e.issuer+"/") {
			t.Errorf("%s = %v, want under the issuer", k, disc[k])
		}
	}
	if got := stringList(disc["code_challenge_methods_supported"]); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v", got)
	}
	grants := stringList(disc["grant_types_supported"])
	for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
		if !slices.Contains(grants, g) {
			t.Errorf("grant_types_supported %v lacks %s", grants, g)
		}
	}
	ks := e.keys()
	if len(ks.Keys) != 1 || ks.Keys[0].Kty != "RSA" || ks.Keys[0].Alg != "RS256" || ks.Keys[0].Use != "sig" || ks.Keys[0].Kid == "" {
		t.Errorf("jwks = %+v", ks)
	}
	if ks.Keys[0].Kid != e.p.store.key.id {
		t.Errorf("kid %s, want %s", ks.Keys[0].Kid, e.p.store.key.id)
	}

	// Without an automation client, no client_credentials.
	e2 := newEnv(t, func(c *Config) { c.AutomationClientID, c.AutomationClientSecret = "", "" })
	var disc2 map[string]any
	e2.getJSON(e2.issuer+"/.well-known/openid-configuration", &disc2)
	if slices.Contains(stringList(disc2["grant_types_supported"]), "client_credentials") {
		t.Error("client_credentials offered without an automation client")
	}
}

func TestAuthorizationCodeFlow(t *testing.T) {
	e := newEnv(t)
	tr := e.tokens("alice@example.com", alicePassword)
	if tr.TokenType != "Bearer" || tr.ExpiresIn < 290 || tr.ExpiresIn > 300 {
		t.Errorf("token_type %q, expires_in %d", tr.TokenType, tr.ExpiresIn)
	}

	at := e.verifyJWT(tr.AccessToken)
	want := map[string]any{
		"iss": e.issuer, "sub": e.alice.ID, "azp": webClientID, "typ": "Bearer",
		"email": "alice@example.com", "name": "Alice Liddell", "preferred_username": "alice@example.com",
	}
	for k, v := range want {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	if aud := stringList(at["aud"]); !slices.Contains(aud, "ginflix") {
		t.Errorf("access token aud = %v", aud)
	}
	if got := roles(at); !slices.Equal(got, []string{ginflix.RoleAdmin, ginflix.RoleViewer}) {
		t.Errorf("realm_access.roles = %v", got)
	}
	scope, _ := at["scope"].(string)
	for _, s := range []string{"openid", "profile", "email", "offline_access"} {
		if !slices.Contains(strings.Fields(scope), s) {
			t.Errorf("scope %q lacks %s", scope, s)
		}
	}
	for _, k := range []string{"exp", "iat", "jti", "sid"} {
		if at[k] == nil || at[k] == "" {
			t.Errorf("access token lacks %s", k)
		}
	}
	exp, _ := at["exp"].(float64)
	iat, _ := at["iat"].(float64)
	if d := exp - iat; d < 290 || d > 301 {
		t.Errorf("access token lives %v s", d)
	}

	id := e.verifyJWT(tr.IDToken)
	if aud := stringList(id["aud"]); !slices.Equal(aud, []string{webClientID}) {
		t.Errorf("ID token aud = %v, want only the client (never the API's audience)", aud)
	}
	for k, v := range map[string]any{"iss": e.issuer, "sub": e.alice.ID, "nonce": "nonce-456", "typ": "ID", "azp": webClientID,
		"email": "alice@example.com", "name": "Alice Liddell", "preferred_username": "alice@example.com", "sid": at["sid"]} {
		if id[k] != v {
			t.Errorf("ID token %s = %v, want %v", k, id[k], v)
		}
	}

	// userinfo takes the access token, not the ID token.
	if status, info := e.userinfo(tr.AccessToken); status != http.StatusOK || info["email"] != "alice@example.com" || info["sub"] != e.alice.ID {
		t.Errorf("userinfo: %d %v", status, info)
	}
	if status, _ := e.userinfo(tr.IDToken); status == http.StatusOK {
		t.Error("userinfo accepted an ID token")
	}

	// The automation client may introspect.
	form := url.Values{"token": {tr.AccessToken}}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(automationID, automationSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var intro map[string]any
	json.Unmarshal([]byte(readBody(t, resp)), &intro)
	if intro["active"] != true || intro["sub"] != e.alice.ID || intro["client_id"] != webClientID {
		t.Errorf("introspection: %v", intro)
	}

	// A refresh token can be revoked by the public client.
	req, _ = http.NewRequest(http.MethodPost, e.issuer+"/revoke",
		strings.NewReader(url.Values{"token": {tr.RefreshToken}, "client_id": {webClientID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if r := e.refresh(tr.RefreshToken); r.status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Errorf("revoked refresh token: %+v", r)
	}

	// Nothing secret in the logs.
	logs := e.logs.String()
	for _, secret := range []string{alicePassword, tr.AccessToken, tr.IDToken, tr.RefreshToken, automationSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret is in the logs:\n%s", logs)
		}
	}
	if !strings.Contains(logs, "signed in") {
		t.Errorf("no sign-in in the logs:\n%s", logs)
	}
}

func (e *testEnv) userinfo(token string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	var info map[string]any
	json.Unmarshal([]byte(readBody(e.t, resp)), &info)
	return resp.StatusCode, info
}

func TestPKCEAndRedirectURI(t *testing.T) {
	e := newEnv(t)

	// Without a code_challenge, or with plain: refused before any login,
	// with the error sent back to the (registered) redirect URI.
	for name, mod := range map[string]func(url.Values){
		"missing":  func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") },
		"plain":    func(v url.Values) { v.Set("code_challenge_method", "plain") },
		"nomethod": func(v url.Values) { v.Del("code_challenge_method") },
		"short":    func(v url.Values) { v.Set("code_challenge", "abc") },
	} {
		_, challenge := pkce()
		params := e.authorizeParams(challenge)
		mod(params)
		resp, err := e.browser().Get(e.issuer + "/authorize?" + params.Encode())
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), e.redirect) ||
			loc.Query().Get("error") != "invalid_request" || loc.Query().Get("code") != "" {
			t.Errorf("%s challenge: %d %s", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// An unregistered redirect URI is refused without redirecting.
	for _, uri := range []string{e.redirect + "/x", e.redirect + "?a=1", "https://evil.example/callback", strings.ToUpper(e.redirect)} {
		_, challenge := pkce()
		params := e.authorizeParams(challenge)
		params.Set("redirect_uri", uri)
		resp, err := e.browser().Get(e.issuer + "/authorize?" + params.Encode())
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("redirect_uri %s: %d %s", uri, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// A wrong verifier is refused, and burns the code.
	code, verifier := e.signIn("alice@example.com", alicePassword)
	other, _ := pkce()
	if tr := e.exchange(code, other); tr.status != http.StatusBadRequest || tr.Error != "invalid_grant" || tr.AccessToken != "" {
		t.Errorf("wrong verifier: %+v", tr)
	}
	if tr := e.exchange(code, verifier); tr.status != http.StatusBadRequest || tr.AccessToken != "" {
		t.Errorf("code after a wrong verifier: %+v", tr)
	}

	// No verifier at all.
	code, _ = e.signIn("alice@example.com", alicePassword)
	if tr := e.exchange(code, ""); tr.status != http.StatusBadRequest || tr.AccessToken != "" {
		t.Errorf("no verifier: %+v", tr)
	}

	// A code works once; replayed, it also revokes what it gave.
	code, verifier = e.signIn("alice@example.com", alicePassword)
	first := e.exchange(code, verifier)
	if first.status != http.StatusOK {
		t.Fatalf("exchange: %+v", first)
	}
	if tr := e.exchange(code, verifier); tr.status != http.StatusBadRequest || tr.Error != "invalid_grant" || tr.AccessToken != "" {
		t.Errorf("code reuse: %+v", tr)
	}
	if tr := e.refresh(first.RefreshToken); tr.status != http.StatusBadRequest {
		t.Errorf("refresh token of a replayed code still works: %+v", tr)
	}

	// A code is short-lived.
	code, verifier = e.signIn("alice@example.com", alicePassword)
	e.clock.advance(codeTTL + time.Second)
	if tr := e.exchange(code, verifier); tr.status != http.StatusBadRequest || tr.AccessToken != "" {
		t.Errorf("expired code: %+v", tr)
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	_, challenge := pkce()
	f := e.startLogin(c, e.authorizeParams(challenge), nil)
	if !strings.Contains(f.page, `lang="fr"`) || !strings.Contains(f.page, "Connexion à Ginflix") ||
		!strings.Contains(f.page, `autocomplete="username"`) || !strings.Contains(f.page, `autocomplete="current-password"`) ||
		!strings.Contains(f.page, `<label for="email">`) || !strings.Contains(f.page, `<label for="password">`) {
		t.Errorf("login page:\n%s", f.page)
	}
	const msg = "Adresse e-mail ou mot de passe incorrect."
	for name, creds := range map[string][2]string{
		"wrong password": {"alice@example.com", "not-the-password"},
		"disabled":       {"bob@example.com", bobPassword},
		"unknown":        {"nobody@example.com", alicePassword},
		"empty":          {"alice@example.com", ""},
	} {
		resp, body := e.postLogin(c, f, creds[0], creds[1])
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, msg) ||
			resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	// The same form still signs in with the right password.
	resp, body := e.postLogin(c, f, "ALICE@example.com ", alicePassword)
	e.codeFrom(resp, body)
	// Once used, the auth request is gone.
	if resp, body := e.postLogin(c, f, "alice@example.com", alicePassword); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("reused auth request: %d %s", resp.StatusCode, body)
	}
}

func TestLoginLanguageAndPrompt(t *testing.T) {
	e := newEnv(t)
	_, challenge := pkce()
	f := e.startLogin(e.browser(), e.authorizeParams(challenge), http.Header{"Accept-Language": {"en-GB,en;q=0.9,fr;q=0.5"}})
	if !strings.Contains(f.page, `lang="en"`) || !strings.Contains(f.page, "Sign in to Ginflix") {
		t.Errorf("English page:\n%s", f.page)
	}
	c := e.browser()
	enParams := e.authorizeParams(challenge)
	enParams.Set("ui_locales", "en")
	resp, body := e.postLogin(c, e.startLogin(c, enParams, nil), "alice@example.com", "wrong-password")
	if !strings.Contains(body, "Email or password incorrect.") {
		t.Errorf("English error: %d %s", resp.StatusCode, body)
	}
	f = e.startLogin(e.browser(), e.authorizeParams(challenge), http.Header{"Accept-Language": {"de-DE,de;q=0.9"}})
	if !strings.Contains(f.page, `lang="fr"`) {
		t.Errorf("default language is not French:\n%s", f.page)
	}
	params := e.authorizeParams(challenge)
	params.Set("ui_locales", "en")
	if f = e.startLogin(e.browser(), params, nil); !strings.Contains(f.page, `lang="en"`) {
		t.Errorf("ui_locales=en ignored")
	}
	params.Set("login_hint", "alice@example.com")
	if f = e.startLogin(e.browser(), params, nil); !strings.Contains(f.page, `value="alice@example.com"`) {
		t.Errorf("login_hint not prefilled:\n%s", f.page)
	}

	// prompt=none cannot succeed without a session.
	params = e.authorizeParams(challenge)
	params.Set("prompt", "none")
	resp, err := e.browser().Get(e.issuer + "/authorize?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "state-123" {
		t.Errorf("prompt=none: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLoginCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	_, challenge := pkce()
	f := e.startLogin(c, e.authorizeParams(challenge), nil)
	g := e.startLogin(c, e.authorizeParams(challenge), nil)

	// No cookie (another browser), a wrong token, another request's token.
	for name, try := range map[string]func() (*http.Response, string){
		"no cookie": func() (*http.Response, string) {
			return e.postLogin(e.browser(), f, "alice@example.com", alicePassword)
		},
		"wrong token": func() (*http.Response, string) {
			return e.postLogin(c, loginForm{authRequestID: f.authRequestID, csrf: "x"}, "alice@example.com", alicePassword)
		},
		"other token": func() (*http.Response, string) {
			return e.postLogin(c, loginForm{authRequestID: f.authRequestID, csrf: g.csrf}, "alice@example.com", alicePassword)
		},
	} {
		resp, body := try()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `role="alert"`) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	resp, body := e.postLogin(c, f, "alice@example.com", alicePassword)
	e.codeFrom(resp, body)

	// The cookie is scoped and SameSite=Strict; the page is never framed.
	req := httptest.NewRequest(http.MethodGet, e.issuer+"/login?authRequestID="+url.QueryEscape(g.authRequestID), nil)
	rec := httptest.NewRecorder()
	e.p.Handler().ServeHTTP(rec, req)
	set := rec.Header().Get("Set-Cookie")
	if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") || !strings.Contains(set, "Path=/oidc/login") {
		t.Errorf("cookie: %s", set)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP: %s", csp)
	}
}

func TestLoginEscaping(t *testing.T) {
	e := newEnv(t)
	const hostile = `"><script>alert(1)</script>`
	resp, err := e.browser().Get(e.issuer + "/login?authRequestID=" + url.QueryEscape(hostile))
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<script>") || !strings.Contains(body, `role="alert"`) {
		t.Errorf("hostile authRequestID: %d %s", resp.StatusCode, body)
	}

	c := e.browser()
	_, challenge := pkce()
	f := e.startLogin(c, e.authorizeParams(challenge), nil)
	resp, body = e.postLogin(c, f, hostile+"@example.com", "whatever-password")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("hostile email echo: %d %s", resp.StatusCode, body)
	}
	// A hostile id posted is not echoed either.
	resp, body = e.postLogin(c, loginForm{authRequestID: hostile, csrf: f.csrf}, "a@example.com", "whatever-password")
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<script>") {
		t.Errorf("hostile posted id: %d %s", resp.StatusCode, body)
	}

	// login_hint is escaped too.
	params := e.authorizeParams(challenge)
	params.Set("login_hint", hostile)
	if f := e.startLogin(e.browser(), params, nil); strings.Contains(f.page, "<script>") {
		t.Errorf("hostile login_hint:\n%s", f.page)
	}
}

func TestLoginThrottlingPerAccount(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	_, challenge := pkce()
	f := e.startLogin(c, e.authorizeParams(challenge), nil)
	for i := 0; i < accountFailures; i++ {
		if resp, body := e.postLogin(c, f, "alice@example.com", "wrong-password"); resp.StatusCode != http.StatusOK {
			t.Fatalf("failure %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Locked: even the right password is not checked.
	resp, body := e.postLogin(c, f, "alice@example.com", alicePassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("after %d failures: %d Retry-After %q %s", accountFailures, resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Another account from the same address is not locked.
	resp, body = e.postLogin(c, f, "carol@example.com", "wrong-password")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("other account: %d", resp.StatusCode)
	}
	// After the lockout, one more failure locks for twice as long.
	e.clock.advance(31 * time.Second)
	if resp, _ := e.postLogin(c, f, "alice@example.com", "wrong-password"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the lockout: %d", resp.StatusCode)
	}
	resp, _ = e.postLogin(c, f, "alice@example.com", alicePassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("second lockout: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A success resets the account.
	e.clock.advance(61 * time.Second)
	resp, body = e.postLogin(c, f, "Alice@example.com", alicePassword)
	e.codeFrom(resp, body)
	f = e.startLogin(c, e.authorizeParams(challenge), nil)
	for i := 0; i < accountFailures-1; i++ {
		if resp, _ := e.postLogin(c, f, "alice@example.com", "wrong-password"); resp.StatusCode != http.StatusOK {
			t.Fatalf("after a success, failure %d: %d", i, resp.StatusCode)
		}
	}
	// And the window forgets old failures.
	e.clock.advance(failureWindow + time.Second)
	f = e.startLogin(c, e.authorizeParams(challenge), nil)
	for i := 0; i < accountFailures-1; i++ {
		e.postLogin(c, f, "alice@example.com", "wrong-password")
	}
	resp, body = e.postLogin(c, f, "alice@example.com", alicePassword)
	e.codeFrom(resp, body)
}

func TestLoginThrottlingPerAddress(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	_, challenge := pkce()
	f := e.startLogin(c, e.authorizeParams(challenge), nil)
	for i := 0; i < addressFailures; i++ {
		email := "nobody" + string(rune('a'+i)) + "@example.com"
		if resp, _ := e.postLogin(c, f, email, "wrong-password"); resp.StatusCode != http.StatusOK {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	resp, _ := e.postLogin(c, f, "alice@example.com", alicePassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("address after %d failures: %d Retry-After %q", addressFailures, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another address still signs in.
	form := url.Values{"authRequestID": {f.authRequestID}, "csrf": {f.csrf}, "email": {"alice@example.com"}, "password": {alicePassword}}
	req := httptest.NewRequest(http.MethodPost, e.issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, _ := url.Parse(e.issuer)
	for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "http", Host: u.Host, Path: "/oidc/login"}) {
		req.AddCookie(ck)
	}
	req.RemoteAddr = "192.0.2.7:4242"
	rec := httptest.NewRecorder()
	e.p.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Errorf("other address: %d %s", rec.Code, rec.Body)
	}
}

func TestClientAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"127.0.0.1:1234":             "127.0.0.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"garbage":                    "garbage",
	} {
		if got := clientAddress(&http.Request{RemoteAddr: remote}); got != want {
			t.Errorf("clientAddress(%s) = %s, want %s", remote, got, want)
		}
	}
}

func TestRefresh(t *testing.T) {
	e := newEnv(t)
	tr := e.tokens("alice@example.com", alicePassword)
	sid := e.verifyJWT(tr.AccessToken)["sid"]

	r1 := e.refresh(tr.RefreshToken)
	if r1.status != http.StatusOK || r1.RefreshToken == "" || r1.RefreshToken == tr.RefreshToken || r1.AccessToken == "" {
		t.Fatalf("refresh: %+v", r1)
	}
	at := e.verifyJWT(r1.AccessToken)
	if at["sub"] != e.alice.ID || at["sid"] != sid || !slices.Contains(roles(at), ginflix.RoleAdmin) {
		t.Errorf("refreshed access token: %v", at)
	}
	if id := e.verifyJWT(r1.IDToken); !slices.Equal(stringList(id["aud"]), []string{webClientID}) {
		t.Errorf("refreshed ID token aud %v", id["aud"])
	}
	r2 := e.refresh(r1.RefreshToken)
	if r2.status != http.StatusOK {
		t.Fatalf("second refresh: %+v", r2)
	}
	// An already rotated token is refused, and revokes its family.
	if r := e.refresh(tr.RefreshToken); r.status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Errorf("rotated token: %+v", r)
	}
	if r := e.refresh(r2.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("family still alive after a reuse: %+v", r)
	}
	if r := e.refresh("garbage"); r.status != http.StatusBadRequest {
		t.Errorf("garbage token: %+v", r)
	}

	// Roles changes show at the next refresh; a disabled user is refused.
	tr = e.tokens("carol@example.com", carolPassword)
	if got := roles(e.verifyJWT(tr.AccessToken)); len(got) != 0 {
		t.Errorf("carol's roles %v", got)
	}
	newRoles := []string{ginflix.RoleViewer}
	if _, err := e.db.UpdateUser(e.ctx, e.carol.ID, ginflix.UserUpdate{Roles: &newRoles}); err != nil {
		t.Fatal(err)
	}
	r := e.refresh(tr.RefreshToken)
	if got := roles(e.verifyJWT(r.AccessToken)); !slices.Equal(got, newRoles) {
		t.Errorf("roles after refresh %v", got)
	}
	disabled := true
	if _, err := e.db.UpdateUser(e.ctx, e.carol.ID, ginflix.UserUpdate{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if r := e.refresh(r.RefreshToken); r.status != http.StatusBadRequest || r.Error != "invalid_grant" || r.AccessToken != "" {
		t.Errorf("disabled user's refresh: %+v", r)
	}

	// Refresh tokens expire.
	tr = e.tokens("alice@example.com", alicePassword)
	e.clock.advance(defaultRefreshTokenTTL + time.Minute)
	if r := e.refresh(tr.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("expired refresh token: %+v", r)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	tr := e.tokens("alice@example.com", alicePassword)
	other := e.tokens("alice@example.com", alicePassword) // another session
	c := e.browser()

	params := url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {e.postLogout + "?x=1"}}
	resp, err := c.Get(e.issuer + "/end_session?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered post_logout_redirect_uri: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	params.Set("post_logout_redirect_uri", e.postLogout)
	params.Set("state", "bye")
	resp, err = c.Get(e.issuer + "/end_session?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != e.postLogout+"?state=bye" {
		t.Fatalf("end_session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := e.refresh(tr.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("refresh after logout: %+v", r)
	}
	if status, _ := e.userinfo(tr.AccessToken); status == http.StatusOK {
		t.Error("userinfo after logout")
	}
	if r := e.refresh(other.RefreshToken); r.status != http.StatusOK {
		t.Errorf("the other session was signed out too: %+v", r)
	}

	// Without a registered redirect, the provider's own page.
	resp, err = c.Get(e.issuer + "/end_session")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != e.issuer+loggedOutPath || !strings.Contains(body, "Vous êtes déconnecté.") {
		t.Errorf("logged out page: %d %s %s", resp.StatusCode, resp.Request.URL, body)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	check := func(name string, tr tokenResponse) {
		t.Helper()
		if tr.status != http.StatusOK || tr.AccessToken == "" || tr.RefreshToken != "" || tr.IDToken != "" {
			t.Fatalf("%s: %+v", name, tr)
		}
		at := e.verifyJWT(tr.AccessToken)
		sub, _ := at["sub"].(string)
		if !ginflix.ValidID(sub) || sub != serviceAccountSubject(automationID) {
			t.Errorf("%s: sub %q", name, sub)
		}
		if at["preferred_username"] != "service-account-"+automationID || at["azp"] != automationID || at["iss"] != e.issuer {
			t.Errorf("%s: claims %v", name, at)
		}
		if !slices.Equal(roles(at), []string{ginflix.RoleAdmin}) || !slices.Contains(stringList(at["aud"]), "ginflix") {
			t.Errorf("%s: roles %v aud %v", name, roles(at), at["aud"])
		}
	}
	check("basic", e.token(url.Values{"grant_type": {"client_credentials"}}, automationID, automationSecret))
	tr := e.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {automationID}, "client_secret": {automationSecret}, "scope": {"profile bogus"}}, "", "")
	check("post", tr)
	if at := e.verifyJWT(tr.AccessToken); at["scope"] != "profile" {
		t.Errorf("scope %v", at["scope"])
	}
	if status, info := e.userinfo(tr.AccessToken); status != http.StatusOK || info["preferred_username"] != "service-account-"+automationID {
		t.Errorf("service account userinfo: %d %v", status, info)
	}

	for name, tr := range map[string]tokenResponse{
		"wrong secret (basic)": e.token(url.Values{"grant_type": {"client_credentials"}}, automationID, automationSecret+"x"),
		"wrong secret (post)":  e.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {automationID}, "client_secret": {"nope"}}, "", ""),
		"no secret":            e.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {automationID}}, "", ""),
		"web client":           e.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {webClientID}}, "", ""),
		"web client, basic":    e.token(url.Values{"grant_type": {"client_credentials"}}, webClientID, ""),
		"unknown client":       e.token(url.Values{"grant_type": {"client_credentials"}}, "someone", automationSecret),
	} {
		if tr.status < 400 || tr.AccessToken != "" {
			t.Errorf("%s: %+v", name, tr)
		}
	}
	// The automation client cannot run the code flow.
	_, challenge := pkce()
	params := e.authorizeParams(challenge)
	params.Set("client_id", automationID)
	resp, err := e.browser().Get(e.issuer + "/authorize?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("automation client authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestKeyPersisted(t *testing.T) {
	e := newEnv(t)
	fi, err := os.Stat(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	kid := e.keys().Keys[0].Kid

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p2, err := New(ctx, e.config())
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p2.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, e.issuer+"/keys", nil))
	var ks jwks
	if err := json.Unmarshal(rec.Body.Bytes(), &ks); err != nil || len(ks.Keys) != 1 || ks.Keys[0].Kid != kid {
		t.Errorf("second provider's keys: %s (want kid %s)", rec.Body, kid)
	}
	// A token of the first verifies with the second's keys.
	tr := e.tokens("alice@example.com", alicePassword)
	if _, err := verifyWith(ks, tr.AccessToken); err != nil {
		t.Error(err)
	}

	// A broken key file is an error, not a silent new key.
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	cfg := e.config()
	cfg.KeyFile = bad
	if _, err := New(ctx, cfg); err == nil {
		t.Error("New accepted a broken key file")
	}
}

func TestConfigChecks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, mod := range map[string]func(*Config){
		"http issuer off loopback":   func(c *Config) { c.Issuer = "http://ginflix.example/oidc" },
		"issuer with query":          func(c *Config) { c.Issuer += "?a=b" },
		"no key file":                func(c *Config) { c.KeyFile = "" },
		"no users":                   func(c *Config) { c.Users = nil },
		"no redirect":                func(c *Config) { c.WebRedirectURIs = nil },
		"http redirect off loopback": func(c *Config) { c.WebRedirectURIs = []string{"http://ginflix.example/cb"} },
		"short secret":               func(c *Config) { c.AutomationClientSecret = "short" },
		"secret without id":          func(c *Config) { c.AutomationClientID = "" },
		"no audience":                func(c *Config) { c.Audience = "" },
	} {
		cfg := e.config()
		mod(&cfg)
		if _, err := New(ctx, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := e.config()
	cfg.Issuer = "https://ginflix.example/oidc/"
	cfg.WebRedirectURIs = []string{"https://ginflix.example/callback"}
	cfg.Logger = slog.New(slog.DiscardHandler)
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.Issuer != "https://ginflix.example/oidc" || !p.secure || p.cfg.AccessTokenTTL != defaultAccessTokenTTL || p.cfg.AdminRole != ginflix.RoleAdmin {
		t.Errorf("normalized config %+v", p.cfg)
	}
}

func TestMemoryBounded(t *testing.T) {
	e := newEnv(t)
	_, challenge := pkce()
	e.startLogin(e.browser(), e.authorizeParams(challenge), nil)
	e.tokens("alice@example.com", alicePassword)
	s := e.p.store
	s.mu.Lock()
	if len(s.authRequests) != 1 || len(s.access) != 1 || len(s.usedCodes) != 1 {
		t.Errorf("before the sweep: %d requests, %d access, %d used codes", len(s.authRequests), len(s.access), len(s.usedCodes))
	}
	s.sweepLocked(e.clock.Now().Add(defaultRefreshTokenTTL + time.Hour))
	if n := len(s.authRequests) + len(s.codes) + len(s.usedCodes) + len(s.access); n != 0 {
		t.Errorf("%d entries left after the sweep", n)
	}
	s.mu.Unlock()
	// The refresh token family is in the database, swept there.
	if n, err := e.db.DeleteExpiredRefreshFamilies(e.ctx, e.clock.Now().Add(defaultRefreshTokenTTL+time.Hour)); err != nil || n != 1 {
		t.Errorf("expired families deleted: %d, %v; want 1", n, err)
	}
}

// A sign-in outlives a restart: the refresh token still works with the
// new process, rotation and reuse detection included.
func TestRefreshAfterRestart(t *testing.T) {
	e := newEnv(t)
	tr := e.tokens("alice@example.com", alicePassword)
	sid := e.verifyJWT(tr.AccessToken)["sid"]
	e.restart()
	r1 := e.refresh(tr.RefreshToken)
	if r1.status != http.StatusOK || r1.RefreshToken == "" || r1.RefreshToken == tr.RefreshToken {
		t.Fatalf("refresh after a restart: %+v", r1)
	}
	if at := e.verifyJWT(r1.AccessToken); at["sub"] != e.alice.ID || at["sid"] != sid {
		t.Errorf("access token after the restart: %v", at)
	}
	e.restart()
	if r := e.refresh(tr.RefreshToken); r.status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Errorf("the token rotated before the restart: %+v", r)
	}
	if r := e.refresh(r1.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("its family survived the reuse: %+v", r)
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t)
	old := slog.Default() // zitadel logs there
	slog.SetDefault(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)

	verifier, challenge := pkce()
	c := e.browser()
	f := e.startLogin(c, e.authorizeParams(challenge), nil)
	e.postLogin(c, f, "alice@example.com", bobPassword)
	resp, body := e.postLogin(c, f, "alice@example.com", alicePassword)
	code := e.codeFrom(resp, body)
	tr := e.exchange(code, verifier)
	r1 := e.refresh(tr.RefreshToken)
	e.refresh(tr.RefreshToken) // reused
	e.exchange(code, verifier) // replayed
	e.token(url.Values{"grant_type": {"client_credentials"}}, automationID, automationSecret+"x")
	cc := e.token(url.Values{"grant_type": {"client_credentials"}}, automationID, automationSecret)
	e.userinfo(tr.IDToken)

	logs := e.logs.String()
	for name, secret := range map[string]string{
		"password": alicePassword, "wrong password": bobPassword, "code": code, "verifier": verifier,
		"access token": tr.AccessToken, "ID token": tr.IDToken, "refresh token": tr.RefreshToken,
		"rotated refresh token": r1.RefreshToken, "client secret": automationSecret, "service token": cc.AccessToken,
		"auth request id": f.authRequestID, "csrf token": f.csrf,
	} {
		if secret == "" {
			t.Fatalf("no %s", name)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the logs", name)
		}
	}
	for _, want := range []string{"signed in", "sign-in failed", "used twice", "reused"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %q in the logs:\n%s", want, logs)
		}
	}
}
