package ginflix

import "context"

// Principal is who a request acts for, as a verified token says: a signed-in
// user, or an automation client's service account. Handlers read it from the
// context; they never parse tokens themselves.
type Principal struct {
	Subject string
	Name    string
	Email   string
	Roles   []string
	// Admin and Viewer are the configured role names, resolved once.
	Admin  bool
	Viewer bool
}

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of ctx, or nil for an anonymous request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
