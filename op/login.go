package op

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/password"
)

// The login page. It is a plain form (no JavaScript) posting the email and
// password with the auth request id and a CSRF token.
//
// CSRF: the first GET sets a random cookie (HttpOnly, SameSite=Strict,
// path <issuer>/login, Secure over https); the form carries
// HMAC(server key, cookie ‖ authRequestID). A POST must present both and
// they must match: a cross-site form has neither the cookie (SameSite) nor
// a way to compute the token, and a token is good for one auth request
// only. The page is never framed (frame-ancestors 'none', X-Frame-Options).
const (
	csrfCookieName = "ginflix_login"
	maxFormBytes   = 64 << 10
	maxEmailLength = 320
)

type loginHandler struct {
	p       *Provider
	limits  *loginLimits
	csrfKey []byte
	matcher language.Matcher

	dummyOnce sync.Once
	dummyHash string
}

func newLoginHandler(p *Provider) (*loginHandler, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("op: %w", err)
	}
	return &loginHandler{
		p:       p,
		limits:  newLoginLimits(),
		csrfKey: key,
		matcher: language.NewMatcher([]language.Tag{language.French, language.English}),
	}, nil
}

type messages struct {
	Lang, Title, Heading, Email, Password, Submit          string
	Invalid, Expired, FormExpired, ServerError, BadRequest string
	LoggedOutTitle, LoggedOut, Home                        string
	tooMany                                                func(secs int) string
}

var (
	french = &messages{
		Lang:           "fr",
		Title:          "Connexion – Ginflix",
		Heading:        "Connexion à Ginflix",
		Email:          "Adresse e-mail",
		Password:       "Mot de passe",
		Submit:         "Se connecter",
		Invalid:        "Adresse e-mail ou mot de passe incorrect.",
		Expired:        "Cette demande de connexion est inconnue ou a expiré. Retournez à l’application pour recommencer.",
		FormExpired:    "Le formulaire a expiré. Saisissez à nouveau vos identifiants.",
		ServerError:    "Une erreur est survenue. Réessayez dans quelques instants.",
		BadRequest:     "La demande est invalide.",
		LoggedOutTitle: "Déconnexion – Ginflix",
		LoggedOut:      "Vous êtes déconnecté.",
		Home:           "Retour à l’accueil",
		tooMany: func(secs int) string {
			return "Trop de tentatives de connexion. Réessayez dans " + frenchDuration(secs) + "."
		},
	}
	english = &messages{
		Lang:           "en",
		Title:          "Sign in – Ginflix",
		Heading:        "Sign in to Ginflix",
		Email:          "Email address",
		Password:       "Password",
		Submit:         "Sign in",
		Invalid:        "Email or password incorrect.",
		Expired:        "This sign-in request is unknown or has expired. Go back to the application to start again.",
		FormExpired:    "The form has expired. Please enter your credentials again.",
		ServerError:    "Something went wrong. Please try again in a moment.",
		BadRequest:     "The request is invalid.",
		LoggedOutTitle: "Signed out – Ginflix",
		LoggedOut:      "You are signed out.",
		Home:           "Back to the home page",
		tooMany: func(secs int) string {
			return "Too many sign-in attempts. Try again in " + englishDuration(secs) + "."
		},
	}
)

func frenchDuration(secs int) string {
	if secs < 60 {
		return plural(secs, "seconde", "secondes")
	}
	return plural((secs+59)/60, "minute", "minutes")
}

func englishDuration(secs int) string {
	if secs < 60 {
		return plural(secs, "second", "seconds")
	}
	return plural((secs+59)/60, "minute", "minutes")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// messagesFor picks French, or English when the auth request's ui_locales
// or else the browser's Accept-Language prefer it.
func (h *loginHandler) messagesFor(r *http.Request, a *authRequest) *messages {
	if a != nil {
		for _, t := range a.uiLocales {
			switch b, _ := t.Base(); b.String() {
			case "fr":
				return french
			case "en":
				return english
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return french
	}
	if _, i, conf := h.matcher.Match(tags...); conf != language.No && i == 1 {
		return english
	}
	return french
}

type pageData struct {
	T        *messages
	Title    string
	Nonce    string
	Error    string
	Info     string
	Form     *formData
	HomeLink bool
}

type formData struct {
	Action        string
	AuthRequestID string
	CSRF          string
	Email         string
	Invalid       bool
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.T.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;color:#111;background:#fff}
main{max-width:24rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin-top:1rem;font-weight:600}
input{display:block;width:100%;box-sizing:border-box;margin-top:.25rem;padding:.5rem;font-size:1rem;border:1px solid #555;border-radius:4px;color:inherit;background:inherit}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:4px;background:#1a5fb4;color:#fff;cursor:pointer}
.alert{border:2px solid #a51d2d;color:#a51d2d;padding:.5rem .75rem;border-radius:4px}
a{color:#1a5fb4}
@media (prefers-color-scheme:dark){body{color:#eee;background:#111}input{border-color:#aaa}.alert{color:#ff7b72;border-color:#ff7b72}a{color:#78aeed}}
</style>
</head>
<body>
<main>
<h1>{{if .Form}}{{.T.Heading}}{{else}}{{.Title}}{{end}}</h1>
{{if .Error}}<p class="alert" role="alert" id="form-error">{{.Error}}</p>{{end}}
{{if .Info}}<p role="status">{{.Info}}</p>{{end}}
{{with .Form}}<form method="post" action="{{.Action}}">
<input type="hidden" name="authRequestID" value="{{.AuthRequestID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="email">{{$.T.Email}}</label>
<input id="email" name="email" type="email" inputmode="email" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="320" value="{{.Email}}"{{if .Invalid}} aria-invalid="true" aria-describedby="form-error"{{end}}{{if not .Email}} autofocus{{end}}>
<label for="password">{{$.T.Password}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"{{if .Invalid}} aria-invalid="true" aria-describedby="form-error"{{end}}{{if .Email}} autofocus{{end}}>
<button type="submit">{{$.T.Submit}}</button>
</form>{{end}}
{{if .HomeLink}}<p><a href="/">{{.T.Home}}</a></p>{{end}}
</main>
</body>
</html>
`))

func (h *loginHandler) render(w http.ResponseWriter, status int, d pageData) {
	if d.Title == "" {
		d.Title = d.T.Title
	}
	d.Nonce = randomToken(16)
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		h.p.cfg.Logger.Error("op: login page", "error", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", d.T.Lang)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+d.Nonce+"'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer") // the URL names the auth request
	hd.Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (h *loginHandler) newForm(id, cookie, email string) *formData {
	return &formData{
		Action:        h.p.issuerPath + loginPath,
		AuthRequestID: id,
		CSRF:          h.csrfToken(cookie, id),
		Email:         email,
	}
}

// form serves GET <issuer>/login?authRequestID=…
func (h *loginHandler) form(w http.ResponseWriter, r *http.Request) {
	a := h.p.store.pendingAuthRequest(r.URL.Query().Get("authRequestID"))
	t := h.messagesFor(r, a)
	if a == nil {
		h.render(w, http.StatusBadRequest, pageData{T: t, Error: t.Expired})
		return
	}
	if slices.Contains(a.prompt, oidc.PromptNone) {
		// No single sign-on session here: every sign-in asks for the
		// password, so prompt=none can only fail.
		h.p.store.deleteAuthRequest(a.id)
		zop.AuthRequestError(w, r, a, oidc.ErrLoginRequired(), h.p.op)
		return
	}
	cookie := h.csrfCookie(w, r)
	h.render(w, http.StatusOK, pageData{T: t, Form: h.newForm(a.id, cookie, a.loginHint)})
}

// submit serves POST <issuer>/login.
func (h *loginHandler) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.render(w, http.StatusBadRequest, pageData{T: h.messagesFor(r, nil), Error: h.messagesFor(r, nil).BadRequest})
		return
	}
	id := r.PostForm.Get("authRequestID")
	a := h.p.store.pendingAuthRequest(id)
	t := h.messagesFor(r, a)
	if a == nil {
		h.render(w, http.StatusBadRequest, pageData{T: t, Error: t.Expired})
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	pw := r.PostForm.Get("password")
	if !h.checkCSRF(r, id) {
		cookie := h.csrfCookie(w, r)
		h.render(w, http.StatusForbidden, pageData{T: t, Error: t.FormExpired, Form: h.newForm(id, cookie, email)})
		return
	}
	cookie, _ := r.Cookie(csrfCookieName) // checkCSRF saw it
	form := h.newForm(id, cookie.Value, email)
	log := h.p.cfg.Logger
	now := h.p.cfg.Now()
	account, address := strings.ToLower(email), clientAddress(r)
	if wait := h.limits.wait(account, address, now); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		log.Info("op: sign-in throttled", "address", address, "retry_after", secs)
		h.render(w, http.StatusTooManyRequests, pageData{T: t, Error: t.tooMany(secs), Form: form})
		return
	}
	u, err := h.authenticate(r.Context(), email, pw)
	if err != nil {
		log.Error("op: sign-in", "error", err)
		h.render(w, http.StatusInternalServerError, pageData{T: t, Error: t.ServerError, Form: form})
		return
	}
	if u == nil {
		h.limits.failed(account, address, now)
		log.Info("op: sign-in failed", "address", address)
		form.Invalid = true
		h.render(w, http.StatusOK, pageData{T: t, Error: t.Invalid, Form: form})
		return
	}
	h.limits.succeeded(account)
	if !h.p.store.completeAuthRequest(id, u) {
		h.render(w, http.StatusBadRequest, pageData{T: t, Error: t.Expired})
		return
	}
	log.Info("op: signed in", "sub", u.ID, "client_id", a.clientID, "address", address)
	ctx := zop.ContextWithIssuer(r.Context(), h.p.cfg.Issuer)
	http.Redirect(w, r, zop.AuthCallbackURL(h.p.op)(ctx, id), http.StatusSeeOther)
}

// loggedOut is where end_session lands without a post_logout_redirect_uri.
func (h *loginHandler) loggedOut(w http.ResponseWriter, r *http.Request) {
	t := h.messagesFor(r, nil)
	h.render(w, http.StatusOK, pageData{T: t, Title: t.LoggedOutTitle, Info: t.LoggedOut, HomeLink: true})
}

// authenticate returns the user whose email and password these are, or
// nil. Unknown accounts cost a hash check too, and a disabled account is
// told only after its password is checked, so that timing says nothing.
func (h *loginHandler) authenticate(ctx context.Context, email, pw string) (*ginflix.User, error) {
	if email == "" || pw == "" || len(email) > maxEmailLength {
		return nil, nil
	}
	u, err := h.p.cfg.Users.UserByEmail(ctx, email)
	switch {
	case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
		password.Check(pw, h.dummy())
		return nil, nil
	case err != nil:
		return nil, err
	case u.PasswordHash == "":
		password.Check(pw, h.dummy())
		return nil, nil
	}
	if !password.Check(pw, u.PasswordHash) || u.Disabled {
		return nil, nil
	}
	return u, nil
}

// dummy is a hash no password matches, checked for unknown accounts.
func (h *loginHandler) dummy() string {
	h.dummyOnce.Do(func() {
		h.dummyHash, _ = password.Hash(randomToken(24))
	})
	return h.dummyHash
}

func validCookieValue(v string) bool {
	if len(v) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// csrfCookie returns the browser's CSRF cookie, setting a new one when it
// has none.
func (h *loginHandler) csrfCookie(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookieName); err == nil && validCookieValue(c.Value) {
		return c.Value
	}
	v := randomToken(32)
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookieName,
		Value:    v,
		Path:     h.p.issuerPath + loginPath,
		HttpOnly: true,
		Secure:   h.p.secure,
		SameSite: http.SameSiteStrictMode,
	})
	return v
}

func (h *loginHandler) csrfToken(cookie, authRequestID string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte("login\x00" + cookie + "\x00" + authRequestID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *loginHandler) checkCSRF(r *http.Request, authRequestID string) bool {
	c, err := r.Cookie(csrfCookieName)
	if err != nil || !validCookieValue(c.Value) {
		return false
	}
	want := h.csrfToken(c.Value, authRequestID)
	return hmac.Equal([]byte(want), []byte(r.PostForm.Get("csrf")))
}
