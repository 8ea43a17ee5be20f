package op

import (
	"log/slog"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ginflix/ginflix"
)

// acr is Keycloak's value for a password sign-in.
const acr = "1"

// authRequest is a pending or signed-in authorization request. The storage
// keeps one copy under its lock and hands zitadel clones, so per-token-
// request state (user, accessBuilt) never leaks between requests.
type authRequest struct {
	id           string
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge
	prompt       []string
	loginHint    string
	uiLocales    []language.Tag
	expires      time.Time
	codeIssued   bool

	// Set when the user signs in.
	done      bool
	subject   string
	authTime  time.Time
	sessionID string

	tokenState
}

// tokenState is what one token request learns on its way: the user, loaded
// when the tokens are created, and whether the access token's claims are
// built, after which GetAudience names the client for the ID token.
type tokenState struct {
	apiAudience string
	user        *ginflix.User
	accessBuilt bool
}

// audience answers GetAudience. zitadel asks it twice per token response:
// for the access token (CreateJWT), then for the ID token, whose at_hash
// needs the access token first. The access token's aud is the API's, as
// Keycloak's audience mapper makes it; the ID token's is the client alone,
// so that an ID token is never accepted by the API as an access token.
func (t *tokenState) audience(clientID string) []string {
	if t.accessBuilt {
		return []string{clientID}
	}
	return []string{t.apiAudience}
}

var (
	_ zop.AuthRequest    = (*authRequest)(nil)
	_ zop.LogAuthRequest = (*authRequest)(nil)
)

func (a *authRequest) clone() *authRequest {
	c := *a
	c.scopes = slices.Clone(a.scopes)
	c.prompt = slices.Clone(a.prompt)
	c.uiLocales = slices.Clone(a.uiLocales)
	c.tokenState = tokenState{apiAudience: a.apiAudience}
	return &c
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return acr }
func (a *authRequest) GetAudience() []string                 { return a.audience(a.clientID) }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

// LogValue keeps the id (a bearer of the sign-in), state and nonce out of
// zitadel's logs.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", a.clientID),
		slog.String("redirect_uri", a.redirectURI),
		slog.Any("scopes", a.scopes),
	)
}

// refreshRequest is a refresh token presented at the token endpoint.
type refreshRequest struct {
	familyID  string
	clientID  string
	subject   string
	scopes    []string // granted to the refresh token
	current   []string // asked for this time, a subset
	authTime  time.Time
	amr       []string
	sessionID string

	tokenState
}

var _ zop.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.amr }
func (r *refreshRequest) GetAudience() []string       { return r.audience(r.clientID) }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.current }
func (r *refreshRequest) GetSubject() string          { return r.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.current = slices.Clone(s) }

// serviceRequest is a client_credentials grant of the automation client.
type serviceRequest struct {
	clientID string
	subject  string
	scopes   []string
	audience string
}

var _ zop.TokenRequest = (*serviceRequest)(nil)

func (r *serviceRequest) GetSubject() string    { return r.subject }
func (r *serviceRequest) GetAudience() []string { return []string{r.audience} }
func (r *serviceRequest) GetScopes() []string   { return r.scopes }
