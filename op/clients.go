package op

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// client is one of the two registered clients: the web apps' public client
// or the automation client.
type client struct {
	id              string
	public          bool // no secret: PKCE S256 is required
	redirectURIs    []string
	postLogoutURIs  []string
	appType         zop.ApplicationType
	authMethod      oidc.AuthMethod
	responseTypes   []oidc.ResponseType
	grantTypes      []oidc.GrantType
	loginURL        string // without the request id
	devMode         bool
	idTokenLifetime time.Duration
}

var _ zop.Client = (*client)(nil)

func newWebClient(cfg Config) *client {
	// zitadel refuses http redirect URIs of a browser client unless in dev
	// mode; dev mode changes nothing else (URIs still match exactly), and
	// normalize only lets http through on loopback hosts.
	dev := false
	for _, u := range append(slices.Clone(cfg.WebRedirectURIs), cfg.PostLogoutRedirectURIs...) {
		dev = dev || strings.HasPrefix(u, "http://")
	}
	return &client{
		id:              cfg.WebClientID,
		public:          true,
		redirectURIs:    cfg.WebRedirectURIs,
		postLogoutURIs:  cfg.PostLogoutRedirectURIs,
		appType:         zop.ApplicationTypeUserAgent,
		authMethod:      oidc.AuthMethodNone,
		responseTypes:   []oidc.ResponseType{oidc.ResponseTypeCode},
		grantTypes:      []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken},
		loginURL:        cfg.Issuer + loginPath + "?authRequestID=",
		devMode:         dev,
		idTokenLifetime: cfg.AccessTokenTTL,
	}
}

func newAutomationClient(cfg Config) *client {
	return &client{
		id:              cfg.AutomationClientID,
		appType:         zop.ApplicationTypeWeb,
		authMethod:      oidc.AuthMethodBasic, // client_secret_post works as well
		grantTypes:      []oidc.GrantType{oidc.GrantTypeClientCredentials},
		idTokenLifetime: cfg.AccessTokenTTL,
	}
}

func (c *client) GetID() string                        { return c.id }
func (c *client) RedirectURIs() []string               { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string     { return c.postLogoutURIs }
func (c *client) ApplicationType() zop.ApplicationType { return c.appType }
func (c *client) AuthMethod() oidc.AuthMethod          { return c.authMethod }
func (c *client) ResponseTypes() []oidc.ResponseType   { return c.responseTypes }
func (c *client) GrantTypes() []oidc.GrantType         { return c.grantTypes }
func (c *client) LoginURL(id string) string            { return c.loginURL + url.QueryEscape(id) }
func (c *client) AccessTokenType() zop.AccessTokenType { return zop.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return c.idTokenLifetime }
func (c *client) DevMode() bool                        { return c.devMode }
func (c *client) IsScopeAllowed(string) bool           { return false } // the standard scopes only
func (c *client) ClockSkew() time.Duration             { return 0 }

// IDTokenUserinfoClaimsAssertion puts the profile and email claims in ID
// tokens too, as Keycloak does.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
