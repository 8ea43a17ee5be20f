package op

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/internal/testutil"
	"github.com/ginflix/ginflix/password"
	"github.com/ginflix/ginflix/sqlite"
)

const (
	webClientID      = "ginflix-web"
	automationID     = "ginflix-automation"
	automationSecret = "s3cret-automation-0123456789"
	alicePassword    = "alice-correct-horse"
	bobPassword      = "bob-battery-staple"
	carolPassword    = "carol-password-123"
)

// Hashing costs ~40 ms and 64 MiB: do it once for the package.
var (
	hashOnce   sync.Once
	hashes     map[string]string
	hashFailed error
)

func passwordHash(t *testing.T, pw string) string {
	t.Helper()
	hashOnce.Do(func() {
		hashes = map[string]string{}
		for _, p := range []string{alicePassword, bobPassword, carolPassword} {
			h, err := password.Hash(p)
			if err != nil {
				hashFailed = err
				return
			}
			hashes[p] = h
		}
	})
	if hashFailed != nil {
		t.Fatal(hashFailed)
	}
	return hashes[pw]
}

type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type testEnv struct {
	t          *testing.T
	ctx        context.Context
	srv        *httptest.Server
	issuer     string
	redirect   string
	postLogout string
	keyFile    string
	db         *sqlite.DB
	p          *Provider
	clock      *testClock
	logs       *testutil.SyncBuffer
	alice      *ginflix.User
	bob        *ginflix.User // disabled
	carol      *ginflix.User
	// restart replaces the provider with a new one on the same database
	// and key file, as a restarted process has.
	restart func()
}

// newEnv starts a real sqlite store, an httptest server on 127.0.0.1 and
// a provider whose issuer is the server's URL + "/oidc".
func newEnv(t *testing.T, mods ...func(*Config)) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ginflix.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	var mu sync.Mutex
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	e := &testEnv{
		t: t, ctx: ctx, srv: srv, db: db,
		issuer:     srv.URL + "/oidc",
		redirect:   srv.URL + "/app/callback",
		postLogout: srv.URL + "/app/logged-out",
		keyFile:    filepath.Join(dir, "keys", "oidc.pem"),
		clock:      &testClock{},
		logs:       &testutil.SyncBuffer{},
	}
	e.alice = e.createUser("Alice@Example.com", "Alice Liddell", alicePassword, []string{ginflix.RoleAdmin, ginflix.RoleViewer}, false)
	e.bob = e.createUser("bob@example.com", "Bob", bobPassword, []string{ginflix.RoleViewer}, true)
	e.carol = e.createUser("carol@example.com", "", carolPassword, nil, false)

	cfg := e.config()
	for _, m := range mods {
		m(&cfg)
	}
	e.restart = func() {
		t.Helper()
		p, err := New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/oidc/", p.Handler())
		mux.HandleFunc("/app/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })
		mu.Lock()
		e.p, handler = p, mux
		mu.Unlock()
	}
	e.restart()
	return e
}

func (e *testEnv) config() Config {
	return Config{
		Issuer:                 e.issuer,
		KeyFile:                e.keyFile,
		Users:                  e.db,
		Families:               e.db,
		WebClientID:            webClientID,
		WebRedirectURIs:        []string{e.redirect},
		PostLogoutRedirectURIs: []string{e.postLogout},
		AutomationClientID:     automationID,
		AutomationClientSecret: automationSecret,
		Audience:               "ginflix",
		Logger:                 slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:                    e.clock.Now,
	}
}

func (e *testEnv) createUser(email, name, pw string, roles []string, disabled bool) *ginflix.User {
	e.t.Helper()
	u := &ginflix.User{Email: email, Name: name, Roles: roles, PasswordHash: passwordHash(e.t, pw), Disabled: disabled}
	if err := e.db.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser is a user agent with a cookie jar that follows redirects until
// they reach the web app.
func (e *testEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), e.srv.URL+"/app/") || len(via) > 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeParams are those of the web app's request, PKCE S256 included.
func (e *testEnv) authorizeParams(challenge string) url.Values {
	return url.Values{
		"client_id":             {webClientID},
		"redirect_uri":          {e.redirect},
		"response_type":         {"code"},
		"scope":                 {"openid profile email offline_access"},
		"state":                 {"state-123"},
		"nonce":                 {"nonce-456"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	authRequestIDField = regexp.MustCompile(`name="authRequestID" value="([^"]*)"`)
	csrfField          = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
)

type loginForm struct {
	authRequestID, csrf string
	page                string
}

// startLogin GETs the authorize endpoint and follows to the login page.
func (e *testEnv) startLogin(c *http.Client, params url.Values, header http.Header) loginForm {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/authorize?"+params.Encode(), nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body := readBody(e.t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), e.issuer+"/login?authRequestID=") {
		e.t.Fatalf("authorize ended at %s with %d: %s", resp.Request.URL, resp.StatusCode, body)
	}
	id, csrf := authRequestIDField.FindStringSubmatch(body), csrfField.FindStringSubmatch(body)
	if id == nil || csrf == nil {
		e.t.Fatalf("no login form: %s", body)
	}
	return loginForm{authRequestID: html.UnescapeString(id[1]), csrf: html.UnescapeString(csrf[1]), page: body}
}

func (e *testEnv) postLogin(c *http.Client, f loginForm, email, pw string) (*http.Response, string) {
	e.t.Helper()
	form := url.Values{"authRequestID": {f.authRequestID}, "csrf": {f.csrf}, "email": {email}, "password": {pw}}
	resp, err := c.PostForm(e.issuer+"/login", form)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, readBody(e.t, resp)
}

// codeFrom checks resp is the redirect to the web app with a code.
func (e *testEnv) codeFrom(resp *http.Response, body string) string {
	e.t.Helper()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("sign-in answered %d, not a redirect to the app: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), e.redirect+"?") {
		e.t.Fatalf("redirected to %q, want %s", resp.Header.Get("Location"), e.redirect)
	}
	if got := loc.Query().Get("state"); got != "state-123" {
		e.t.Fatalf("state = %q", got)
	}
	code := loc.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", loc)
	}
	return code
}

// signIn runs the browser part of the code flow and returns the code and
// its PKCE verifier.
func (e *testEnv) signIn(email, pw string) (code, verifier string) {
	e.t.Helper()
	verifier, challenge := pkce()
	c := e.browser()
	f := e.startLogin(c, e.authorizeParams(challenge), nil)
	resp, body := e.postLogin(c, f, email, pw)
	return e.codeFrom(resp, body), verifier
}

type tokenResponse struct {
	status           int
	AccessToken      string `json:"access_token"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func (e *testEnv) token(form url.Values, basicUser, basicPass string) tokenResponse {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body := readBody(e.t, resp)
	var tr tokenResponse
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		e.t.Fatalf("token endpoint answered %d: %s", resp.StatusCode, body)
	}
	tr.status = resp.StatusCode
	return tr
}

func (e *testEnv) exchange(code, verifier string) tokenResponse {
	e.t.Helper()
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {e.redirect},
		"client_id":    {webClientID},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return e.token(form, "", "")
}

func (e *testEnv) refresh(rt string) tokenResponse {
	e.t.Helper()
	return e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {webClientID}}, "", "")
}

// tokens signs in and exchanges the code.
func (e *testEnv) tokens(email, pw string) tokenResponse {
	e.t.Helper()
	code, verifier := e.signIn(email, pw)
	tr := e.exchange(code, verifier)
	if tr.status != http.StatusOK || tr.AccessToken == "" || tr.IDToken == "" || tr.RefreshToken == "" {
		e.t.Fatalf("code exchange: %+v", tr)
	}
	return tr
}

func (e *testEnv) getJSON(u string, v any) int {
	e.t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	body := readBody(e.t, resp)
	if err := json.Unmarshal([]byte(body), v); err != nil {
		e.t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return resp.StatusCode
}

type jwks struct {
	Keys []struct {
		Kty, Kid, Alg, Use, N, E string
	} `json:"keys"`
}

func (e *testEnv) keys() jwks {
	e.t.Helper()
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	e.getJSON(e.issuer+"/.well-known/openid-configuration", &disc)
	var ks jwks
	if status := e.getJSON(disc.JWKSURI, &ks); status != http.StatusOK || len(ks.Keys) == 0 {
		e.t.Fatalf("jwks: %d %+v", status, ks)
	}
	return ks
}

// verifyJWT checks an RS256 signature with the provider's JWKS and
// returns the claims.
func (e *testEnv) verifyJWT(token string) map[string]any {
	e.t.Helper()
	claims, err := verifyWith(e.keys(), token)
	if err != nil {
		e.t.Fatal(err)
	}
	return claims
}

func verifyWith(ks jwks, token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWS compact serialisation")
	}
	var hdr struct{ Alg, Kid, Typ string }
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return nil, err
	}
	if hdr.Alg != "RS256" {
		return nil, errors.New("alg " + hdr.Alg)
	}
	for _, k := range ks.Keys {
		if k.Kid != hdr.Kid {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		eb, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			return nil, errors.New("bad JWK")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(eb).Int64())}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			return nil, err
		}
		var claims map[string]any
		return claims, decodeSegment(parts[1], &claims)
	}
	return nil, errors.New("no key " + hdr.Kid)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, s := range x {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func roles(claims map[string]any) []string {
	ra, _ := claims["realm_access"].(map[string]any)
	return stringList(ra["roles"])
}
