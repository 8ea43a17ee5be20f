package op

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ginflix/ginflix"
)

// Lifetimes and bounds of what the storage keeps in memory.
const (
	pendingAuthRequestTTL  = 15 * time.Minute // to fill in the login form
	signedInAuthRequestTTL = 2 * time.Minute  // from sign-in to the code exchange
	codeTTL                = time.Minute
	usedCodeTTL            = 10 * time.Minute // to notice a code replayed
	maxAuthRequests        = 10000
	maxParamLength         = 2048 // state, nonce, login_hint
	sweepInterval          = time.Minute
)

var (
	errUnknownClient = errors.New("unknown client")
	errBadSecret     = errors.New("invalid client credentials")
)

// storage implements zitadel's op.Storage over the user store and the
// refresh token families of the database, with auth requests, codes and
// an index of access tokens in memory (all of them short-lived).
type storage struct {
	cfg            Config
	key            *signingKey
	web            *client
	automation     *client // nil when disabled
	serviceSubject string
	log            *slog.Logger

	mu           sync.Mutex
	authRequests map[string]*authRequest
	codes        map[[32]byte]codeEntry // by SHA-256 of the code
	usedCodes    map[[32]byte]usedCode
	access       map[string]*accessRecord // access tokens, by jti
}

type codeEntry struct {
	authRequestID string
	expires       time.Time
}

type usedCode struct {
	sessionID string
	expires   time.Time
}

// A refresh token is "<family id>.<secret>" of a ginflix.RefreshFamily,
// the chain of refresh tokens of one sign-in: only its current token is
// valid, and each refresh replaces it. Only the secret's hash is kept, so
// presenting an older token of the family is told apart from a forged one:
// it means the token was stolen or replayed, and the whole sign-in is
// revoked.

// accessRecord remembers an access token until it expires, for userinfo,
// introspection and revocation (the API itself verifies the JWT offline).
type accessRecord struct {
	clientID  string
	subject   string
	sessionID string
	scopes    []string
	issued    time.Time
	expires   time.Time
	revoked   bool
}

func newStorage(cfg Config, key *signingKey) *storage {
	s := &storage{
		cfg:          cfg,
		key:          key,
		web:          newWebClient(cfg),
		log:          cfg.Logger,
		authRequests: map[string]*authRequest{},
		codes:        map[[32]byte]codeEntry{},
		usedCodes:    map[[32]byte]usedCode{},
		access:       map[string]*accessRecord{},
	}
	if cfg.AutomationClientID != "" {
		s.automation = newAutomationClient(cfg)
		s.serviceSubject = serviceAccountSubject(cfg.AutomationClientID)
	}
	return s
}

// serviceAccountSubject is the stable sub of a client's service account,
// shaped like a ginflix id.
func serviceAccountSubject(clientID string) string {
	sum := sha256.Sum256([]byte("ginflix service account\x00" + clientID))
	return hex.EncodeToString(sum[:12])
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// equalSecret compares in constant time, whatever the lengths.
func equalSecret(a, b string) bool {
	ha, hb := hashOf(a), hashOf(b)
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (s *storage) now() time.Time { return s.cfg.Now() }

func (s *storage) client(id string) *client {
	switch {
	case id == s.web.id:
		return s.web
	case s.automation != nil && id == s.automation.id:
		return s.automation
	}
	return nil
}

// sweepLoop drops expired entries every minute until ctx is done.
func (s *storage) sweepLoop(ctx context.Context, also func(time.Time)) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := s.now()
			s.mu.Lock()
			s.sweepLocked(now)
			s.mu.Unlock()
			if _, err := s.cfg.Families.DeleteExpiredRefreshFamilies(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Warn("op: deleting expired refresh tokens", "err", err)
			}
			also(now)
		}
	}
}

func (s *storage) sweepLocked(now time.Time) {
	for id, a := range s.authRequests {
		if !now.Before(a.expires) {
			delete(s.authRequests, id)
		}
	}
	for h, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, h)
		}
	}
	for h, c := range s.usedCodes {
		if !now.Before(c.expires) {
			delete(s.usedCodes, h)
		}
	}
	for id, a := range s.access {
		if !now.Before(a.expires) {
			delete(s.access, id)
		}
	}
}

// revokeSession drops the refresh tokens of a sign-in and marks its access
// tokens revoked. It takes s.mu.
func (s *storage) revokeSession(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	s.mu.Lock()
	for _, a := range s.access {
		if a.sessionID == sessionID {
			a.revoked = true
		}
	}
	s.mu.Unlock()
	// Not ctx's cancellation: a revocation must not stop half-way because
	// the client went away.
	_, err := s.cfg.Families.DeleteRefreshFamilies(context.WithoutCancel(ctx), ginflix.RefreshFamilyFilter{SessionID: sessionID})
	if err != nil {
		s.log.Error("op: revoking the refresh tokens of a session", "err", err)
	}
	return err
}

func inactiveUser() *oidc.Error {
	return oidc.ErrInvalidGrant().WithDescription("The account is disabled or no longer exists.")
}

// activeUser loads a user who may still get tokens.
func (s *storage) activeUser(ctx context.Context, id string) (*ginflix.User, error) {
	u, err := s.cfg.Users.User(ctx, id)
	switch {
	case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
		return nil, inactiveUser()
	case err != nil:
		return nil, oidc.ErrServerError().WithParent(err)
	case u.Disabled:
		return nil, inactiveUser()
	}
	return u, nil
}

// --- auth requests and codes ---

// CreateAuthRequest stores a validated authorization request. zitadel has
// checked the client, the redirect URI (exact match), the response type and
// the scopes; PKCE is enforced here, as zitadel lets a public client skip it
// at the authorization endpoint and accepts "plain".
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (zop.AuthRequest, error) {
	c := s.client(req.ClientID)
	if c == nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("Unknown client.")
	}
	if c.public {
		if req.CodeChallenge == "" {
			return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send a code_challenge with code_challenge_method=S256.")
		}
		if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
			return nil, oidc.ErrInvalidRequest().WithDescription("The code_challenge_method must be S256.")
		}
		if !validChallenge(req.CodeChallenge) {
			return nil, oidc.ErrInvalidRequest().WithDescription("The code_challenge is not a base64url SHA-256.")
		}
	}
	if len(req.State) > maxParamLength || len(req.Nonce) > maxParamLength || len(req.LoginHint) > maxParamLength {
		return nil, oidc.ErrInvalidRequest().WithDescription("A parameter is too long.")
	}
	scopes := slices.Clone([]string(req.Scopes))
	// Refresh tokens for the web apps whether or not they ask for
	// offline_access, as Keycloak gives them.
	if slices.Contains(c.grantTypes, oidc.GrantTypeRefreshToken) && !slices.Contains(scopes, oidc.ScopeOfflineAccess) {
		scopes = append(scopes, oidc.ScopeOfflineAccess)
	}
	a := &authRequest{
		id:           randomToken(24),
		clientID:     c.id,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       scopes,
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		prompt:       slices.Clone([]string(req.Prompt)),
		loginHint:    req.LoginHint,
		uiLocales:    slices.Clone([]language.Tag(req.UILocales)),
		expires:      s.now().Add(pendingAuthRequestTTL),
		tokenState:   tokenState{apiAudience: s.cfg.Audience},
	}
	if req.CodeChallenge != "" {
		a.challenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.authRequests) >= maxAuthRequests {
		s.sweepLocked(s.now())
		if len(s.authRequests) >= maxAuthRequests {
			s.log.Warn("op: too many pending sign-ins; refusing new ones until some expire")
			return nil, &oidc.Error{ErrorType: "temporarily_unavailable", Description: "Too many sign-ins in progress; try again in a few minutes."}
		}
	}
	s.authRequests[a.id] = a
	return a.clone(), nil
}

// validChallenge reports whether c looks like BASE64URL(SHA256(verifier)).
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (zop.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authRequests[id]
	if a == nil || !s.now().Before(a.expires) {
		return nil, errors.New("auth request not found or expired")
	}
	return a.clone(), nil
}

// pendingAuthRequest returns a copy of a request still waiting for a
// sign-in, or nil.
func (s *storage) pendingAuthRequest(id string) *authRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authRequests[id]
	if a == nil || a.done || !s.now().Before(a.expires) {
		return nil
	}
	return a.clone()
}

// completeAuthRequest records the sign-in of user on a pending request.
func (s *storage) completeAuthRequest(id string, u *ginflix.User) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.authRequests[id]
	if a == nil || a.done || !now.Before(a.expires) {
		return false
	}
	a.done = true
	a.subject = u.ID
	a.authTime = now
	a.sessionID = randomToken(16)
	a.expires = now.Add(signedInAuthRequestTTL)
	return true
}

func (s *storage) deleteAuthRequest(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
}

// SaveAuthCode binds a code to a signed-in request, once: the callback
// cannot be replayed to mint more codes.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.authRequests[id]
	switch {
	case a == nil || !now.Before(a.expires):
		return oidc.ErrInvalidRequest().WithDescription("The sign-in has expired; start again.")
	case !a.done:
		return oidc.ErrInteractionRequired()
	case a.codeIssued:
		return oidc.ErrInvalidRequest().WithDescription("A code was already issued for this sign-in; start again.")
	}
	a.codeIssued = true
	s.codes[hashOf(code)] = codeEntry{authRequestID: id, expires: now.Add(codeTTL)}
	return nil
}

// AuthRequestByCode redeems a code: it works once, within codeTTL, whatever
// happens next (a wrong code_verifier burns it too). A replayed code
// revokes the tokens issued for it (RFC 6749 §4.1.2).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (zop.AuthRequest, error) {
	s.mu.Lock()
	now := s.now()
	h := hashOf(code)
	ce, ok := s.codes[h]
	if !ok {
		uc, replayed := s.usedCodes[h]
		replayed = replayed && now.Before(uc.expires)
		delete(s.usedCodes, h)
		s.mu.Unlock()
		if replayed {
			s.revokeSession(ctx, uc.sessionID)
			s.log.Warn("op: an authorization code was used twice; its tokens are revoked")
		}
		return nil, errors.New("unknown or used code")
	}
	defer s.mu.Unlock()
	delete(s.codes, h)
	a := s.authRequests[ce.authRequestID]
	if !now.Before(ce.expires) || a == nil || !a.done {
		return nil, errors.New("expired code")
	}
	s.usedCodes[h] = usedCode{sessionID: a.sessionID, expires: now.Add(usedCodeTTL)}
	return a.clone(), nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.deleteAuthRequest(id)
	return nil
}

// --- tokens ---

func (s *storage) recordAccessLocked(clientID, subject, sessionID string, scopes []string, now time.Time) (string, time.Time) {
	jti := randomToken(16)
	exp := now.Add(s.cfg.AccessTokenTTL)
	s.access[jti] = &accessRecord{clientID: clientID, subject: subject, sessionID: sessionID,
		scopes: slices.Clone(scopes), issued: now, expires: exp}
	return jti, exp
}

// CreateAccessToken is called for grants without a refresh token: client
// credentials, or a code flow that did not get offline_access.
func (s *storage) CreateAccessToken(ctx context.Context, req zop.TokenRequest) (string, time.Time, error) {
	switch r := req.(type) {
	case *authRequest:
		u, err := s.activeUser(ctx, r.subject)
		if err != nil {
			return "", time.Time{}, err
		}
		r.user = u
		s.mu.Lock()
		defer s.mu.Unlock()
		jti, exp := s.recordAccessLocked(r.clientID, r.subject, r.sessionID, r.scopes, s.now())
		return jti, exp, nil
	case *serviceRequest:
		s.mu.Lock()
		defer s.mu.Unlock()
		jti, exp := s.recordAccessLocked(r.clientID, r.subject, "", r.scopes, s.now())
		return jti, exp, nil
	}
	return "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// CreateAccessAndRefreshTokens starts a refresh token family for a code
// exchange, or rotates the family's token for a refresh.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req zop.TokenRequest, current string) (string, string, time.Time, error) {
	switch r := req.(type) {
	case *authRequest:
		u, err := s.activeUser(ctx, r.subject)
		if err != nil {
			return "", "", time.Time{}, err
		}
		r.user = u
		now := s.now()
		secret := randomToken(32)
		h := hashOf(secret)
		f := &ginflix.RefreshFamily{
			ID:         randomToken(16),
			SecretHash: h[:],
			ClientID:   r.clientID,
			Subject:    r.subject,
			Scopes:     slices.Clone(r.scopes),
			AMR:        r.GetAMR(),
			AuthTime:   r.authTime,
			SessionID:  r.sessionID,
			Expires:    now.Add(s.cfg.RefreshTokenTTL),
		}
		if err := s.cfg.Families.CreateRefreshFamily(ctx, f); err != nil {
			return "", "", time.Time{}, oidc.ErrServerError().WithParent(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		jti, exp := s.recordAccessLocked(r.clientID, r.subject, r.sessionID, r.scopes, now)
		return jti, f.ID + "." + secret, exp, nil
	case *refreshRequest:
		// TokenRequestByRefreshToken loaded and checked the user.
		now := s.now()
		f, err := s.currentFamily(ctx, current, now)
		if err != nil {
			return "", "", time.Time{}, err
		}
		secret := randomToken(32)
		h := hashOf(secret)
		err = s.cfg.Families.RotateRefreshFamily(ctx, f.ID, f.SecretHash, h[:], now.Add(s.cfg.RefreshTokenTTL))
		switch ginflix.ErrorCode(err) {
		case "":
		case ginflix.ECONFLICT:
			// Another request rotated this very token first: it was
			// presented twice, which is a replay as much as a stale one.
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(s.reused(ctx, f))
		case ginflix.ENOTFOUND:
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("The refresh token was revoked.")
		default:
			return "", "", time.Time{}, oidc.ErrServerError().WithParent(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		jti, exp := s.recordAccessLocked(r.clientID, r.subject, r.sessionID, r.current, now)
		return jti, f.ID + "." + secret, exp, nil
	}
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// splitRefreshToken returns the family id and secret hash of a token of our
// shape.
func splitRefreshToken(token string) (string, [32]byte, bool) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || len(id) != 22 || len(secret) != 43 {
		return "", [32]byte{}, false
	}
	return id, hashOf(secret), true
}

// currentFamily returns the family of token when token is its current one;
// errors are oidc errors. An older token of a live family revokes its
// sign-in.
func (s *storage) currentFamily(ctx context.Context, token string, now time.Time) (*ginflix.RefreshFamily, error) {
	id, h, ok := splitRefreshToken(token)
	if !ok {
		return nil, oidc.ErrInvalidGrant().WithDescription("The refresh token is malformed.")
	}
	f, err := s.cfg.Families.RefreshFamily(ctx, id)
	switch {
	case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
		return nil, oidc.ErrInvalidGrant().WithDescription("The refresh token is unknown or revoked.")
	case err != nil:
		return nil, oidc.ErrServerError().WithParent(err)
	case !now.Before(f.Expires):
		s.cfg.Families.DeleteRefreshFamilies(context.WithoutCancel(ctx), ginflix.RefreshFamilyFilter{ID: id})
		return nil, oidc.ErrInvalidGrant().WithDescription("The refresh token has expired.")
	case subtle.ConstantTimeCompare(h[:], f.SecretHash) != 1:
		return nil, oidc.ErrInvalidGrant().WithParent(s.reused(ctx, f))
	}
	return f, nil
}

// reused revokes the sign-in of a family whose token was presented again.
func (s *storage) reused(ctx context.Context, f *ginflix.RefreshFamily) error {
	s.revokeSession(ctx, f.SessionID)
	s.cfg.Families.DeleteRefreshFamilies(context.WithoutCancel(ctx), ginflix.RefreshFamilyFilter{ID: f.ID})
	s.log.Warn("op: a rotated refresh token was reused; its session is revoked", "sub", f.Subject, "client_id", f.ClientID)
	return errors.New("reused refresh token")
}

// TokenRequestByRefreshToken checks a presented refresh token and that its
// user may still sign in; a disabled or deleted user's tokens are dropped.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (zop.RefreshTokenRequest, error) {
	f, err := s.currentFamily(ctx, token, s.now())
	if err != nil {
		return nil, err
	}
	r := &refreshRequest{
		familyID:   f.ID,
		clientID:   f.ClientID,
		subject:    f.Subject,
		scopes:     slices.Clone(f.Scopes),
		current:    slices.Clone(f.Scopes),
		authTime:   f.AuthTime,
		amr:        slices.Clone(f.AMR),
		sessionID:  f.SessionID,
		tokenState: tokenState{apiAudience: s.cfg.Audience},
	}
	u, err := s.activeUser(ctx, r.subject)
	if err != nil {
		if oe := new(oidc.Error); errors.As(err, &oe) && oe.ErrorType == oidc.InvalidGrant {
			s.revokeSession(ctx, r.sessionID)
		}
		return nil, err
	}
	r.user = u
	return r, nil
}

// TerminateSession drops the user's refresh tokens for the client (zitadel
// calls TerminateSessionFromRequest instead; kept for the interface).
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	s.mu.Lock()
	for _, a := range s.access {
		if a.subject == userID && a.clientID == clientID {
			a.revoked = true
		}
	}
	s.mu.Unlock()
	_, err := s.cfg.Families.DeleteRefreshFamilies(context.WithoutCancel(ctx), ginflix.RefreshFamilyFilter{Subject: userID, ClientID: clientID})
	return err
}

// TerminateSessionFromRequest ends the session the id_token_hint names
// (its sid): its refresh tokens are revoked. Without a hint there is no
// session to end, only the redirect.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *zop.EndSessionRequest) (string, error) {
	if req.IDTokenHintClaims != nil {
		sid, _ := req.IDTokenHintClaims.Claims["sid"].(string)
		if err := s.revokeSession(ctx, sid); err != nil {
			return "", oidc.ErrServerError().WithDescription("The sign-out could not be recorded; try again.")
		}
		if sid == "" && req.UserID != "" && req.ClientID != "" {
			_ = s.TerminateSession(ctx, req.UserID, req.ClientID)
		}
		s.log.Info("op: signed out", "sub", req.UserID, "client_id", req.ClientID)
	}
	return req.RedirectURI, nil
}

const refreshIDPrefix = "rt:"

// GetRefreshTokenInfo names the refresh token for revocation.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	id, h, ok := splitRefreshToken(token)
	if !ok {
		return "", "", zop.ErrInvalidRefreshToken
	}
	f, err := s.cfg.Families.RefreshFamily(ctx, id)
	if err != nil || f.ClientID != clientID || subtle.ConstantTimeCompare(h[:], f.SecretHash) != 1 {
		return "", "", zop.ErrInvalidRefreshToken
	}
	return f.Subject, refreshIDPrefix + id, nil
}

// RevokeToken revokes a refresh token family (named by GetRefreshTokenInfo)
// or an access token (by jti). Unknown tokens are no error (RFC 7009 §2.2).
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if userID == "" {
		return nil // not a token of ours: zitadel passes the raw value
	}
	if id, ok := strings.CutPrefix(tokenOrID, refreshIDPrefix); ok {
		f, err := s.cfg.Families.RefreshFamily(ctx, id)
		switch {
		case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
			return nil
		case err != nil:
			return oidc.ErrServerError().WithParent(err)
		case f.Subject != userID:
			return nil
		case f.ClientID != clientID:
			return oidc.ErrInvalidClient().WithDescription("The token was not issued to this client.")
		}
		if _, err := s.cfg.Families.DeleteRefreshFamilies(context.WithoutCancel(ctx), ginflix.RefreshFamilyFilter{ID: id}); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.access[tokenOrID]; a != nil && a.subject == userID {
		if a.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("The token was not issued to this client.")
		}
		a.revoked = true
	}
	return nil
}

// --- keys ---

func (s *storage) SigningKey(context.Context) (zop.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]zop.Key, error) {
	return []zop.Key{publicKey{s.key}}, nil
}

// --- clients ---

func (s *storage) GetClientByClientID(_ context.Context, id string) (zop.Client, error) {
	if c := s.client(id); c != nil {
		return c, nil
	}
	return nil, errUnknownClient
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if s.automation == nil || id != s.automation.id {
		return errUnknownClient
	}
	if !equalSecret(secret, s.cfg.AutomationClientSecret) {
		return errBadSecret
	}
	return nil
}

// clientCredentialsStorage adds the client_credentials grant, offered only
// when an automation client is configured.
type clientCredentialsStorage struct{ *storage }

var (
	_ zop.Storage                        = (*clientCredentialsStorage)(nil)
	_ zop.ClientCredentialsStorage       = (*clientCredentialsStorage)(nil)
	_ zop.CanTerminateSessionFromRequest = (*storage)(nil)
	_ zop.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ zop.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

func (s *clientCredentialsStorage) ClientCredentials(ctx context.Context, id, secret string) (zop.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, id, secret); err != nil {
		return nil, err
	}
	return s.automation, nil
}

func (s *clientCredentialsStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (zop.TokenRequest, error) {
	// Only the profile scopes mean anything to a service account.
	var granted []string
	for _, sc := range scopes {
		if (sc == oidc.ScopeProfile || sc == oidc.ScopeEmail) && !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	return &serviceRequest{clientID: id, subject: s.serviceSubject, scopes: granted, audience: s.cfg.Audience}, nil
}

// --- claims ---

func (s *storage) serviceAccountName() string { return "service-account-" + s.automation.id }

func (s *storage) isServiceAccount(sub string) bool {
	return s.automation != nil && sub == s.serviceSubject
}

// GetPrivateClaimsFromRequest adds Keycloak's claims to access tokens.
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req zop.TokenRequest, _ []string) (map[string]any, error) {
	switch r := req.(type) {
	case *authRequest:
		claims, err := s.userAccessClaims(ctx, &r.tokenState, r.subject, r.clientID, r.sessionID, r.authTime, r.scopes)
		r.accessBuilt = true
		return claims, err
	case *refreshRequest:
		claims, err := s.userAccessClaims(ctx, &r.tokenState, r.subject, r.clientID, r.sessionID, r.authTime, r.current)
		r.accessBuilt = true
		return claims, err
	case *serviceRequest:
		claims := map[string]any{
			"typ":                "Bearer",
			"azp":                r.clientID,
			"acr":                acr,
			"preferred_username": s.serviceAccountName(),
			"realm_access":       map[string]any{"roles": []string{s.cfg.AdminRole}},
		}
		if len(r.scopes) > 0 {
			claims["scope"] = strings.Join(r.scopes, " ")
		}
		return claims, nil
	}
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) userAccessClaims(ctx context.Context, t *tokenState, sub, clientID, sid string, authTime time.Time, scopes []string) (map[string]any, error) {
	if t.user == nil {
		u, err := s.activeUser(ctx, sub)
		if err != nil {
			return nil, err
		}
		t.user = u
	}
	u := t.user
	roles := slices.Clone(u.Roles)
	if roles == nil {
		roles = []string{}
	}
	claims := map[string]any{
		"typ":                "Bearer",
		"azp":                clientID,
		"acr":                acr,
		"sid":                sid,
		"scope":              strings.Join(scopes, " "),
		"email":              u.Email,
		"preferred_username": u.Email,
		"realm_access":       map[string]any{"roles": roles},
	}
	if !authTime.IsZero() {
		claims["auth_time"] = authTime.Unix()
	}
	if u.Name != "" {
		claims["name"] = u.Name
	}
	return claims, nil
}

// GetPrivateClaimsFromScopes is not called (GetPrivateClaimsFromRequest
// is); it answers for a user id alone.
func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	var t tokenState
	return s.userAccessClaims(ctx, &t, userID, clientID, "", time.Time{}, scopes)
}

// SetUserinfoFromScopes is deprecated in zitadel: SetUserinfoFromRequest
// does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func fillUserInfo(info *oidc.UserInfo, u *ginflix.User, scopes []string) {
	info.Subject = u.ID
	if scopes == nil || slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = u.Email
	}
	if scopes == nil || slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
	}
}

// SetUserinfoFromRequest fills the ID token's profile claims, with
// Keycloak's typ and sid.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req zop.IDTokenRequest, scopes []string) error {
	var t *tokenState
	var sid string
	switch r := req.(type) {
	case *authRequest:
		t, sid = &r.tokenState, r.sessionID
	case *refreshRequest:
		t, sid = &r.tokenState, r.sessionID
	default:
		t = &tokenState{}
	}
	if t.user == nil {
		u, err := s.activeUser(ctx, req.GetSubject())
		if err != nil {
			return err
		}
		t.user = u
	}
	fillUserInfo(info, t.user, scopes)
	info.AppendClaims("typ", "ID")
	if sid != "" {
		info.AppendClaims("sid", sid)
	}
	return nil
}

// accessRecordFor returns a copy of the record of an access token: nil and
// true when unknown (issued before a restart: the JWT was verified, so it
// is honoured), false when revoked or not an access token.
func (s *storage) accessRecordFor(tokenID string) (*accessRecord, bool) {
	if tokenID == "" {
		return nil, false // ID tokens have no jti
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.access[tokenID]
	if a == nil {
		return nil, true
	}
	if a.revoked {
		return nil, false
	}
	c := *a
	return &c, true
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	rec, ok := s.accessRecordFor(tokenID)
	if !ok {
		return oidc.ErrAccessDenied().WithDescription("The access token is revoked or not an access token.")
	}
	if s.isServiceAccount(subject) {
		info.Subject = subject
		info.PreferredUsername = s.serviceAccountName()
		return nil
	}
	u, err := s.activeUser(ctx, subject)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("The account is disabled or no longer exists.")
	}
	var scopes []string
	if rec != nil {
		scopes = rec.scopes
	}
	fillUserInfo(info, u, scopes)
	return nil
}

// SetIntrospectionFromToken answers the introspection endpoint (for the
// automation client, the only confidential one).
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, _ string) error {
	rec, ok := s.accessRecordFor(tokenID)
	if !ok {
		return errors.New("inactive token")
	}
	resp.Issuer = s.cfg.Issuer
	resp.JWTID = tokenID
	resp.TokenType = "Bearer"
	resp.Audience = []string{s.cfg.Audience}
	if rec != nil {
		resp.ClientID = rec.clientID
		resp.Scope = rec.scopes
		resp.IssuedAt = oidc.FromTime(rec.issued)
		resp.Expiration = oidc.FromTime(rec.expires)
	}
	if s.isServiceAccount(subject) {
		resp.Subject = subject
		resp.Username = s.serviceAccountName()
		resp.Claims = map[string]any{"realm_access": map[string]any{"roles": []string{s.cfg.AdminRole}}}
		return nil
	}
	u, err := s.activeUser(ctx, subject)
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	var scopes []string
	if rec != nil {
		scopes = rec.scopes
	}
	fillUserInfo(info, u, scopes)
	resp.SetUserInfo(info)
	resp.Username = u.Email
	roles := slices.Clone(u.Roles)
	if roles == nil {
		roles = []string{}
	}
	resp.Claims = map[string]any{"realm_access": map[string]any{"roles": roles}}
	return nil
}

// --- unsupported: JWT profile grants ---

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *storage) Health(context.Context) error { return nil }
