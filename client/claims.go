package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims are the claims of a verified idgate access token (RFC 9068 plus
// idgate's RBAC lists).
type Claims struct {
	Issuer    string
	Subject   string // the user's sub
	Audience  []string
	ClientID  string
	Expiry    time.Time
	IssuedAt  time.Time
	AuthTime  time.Time
	JTI       string
	SessionID string // sid: the session the token belongs to
	Scope     string // space-separated
	Username  string
	TokenUse  string // "access"
	GrantType string // "client_credentials" for an app's own tokens
	Roles     []string
	Groups    []string
	Actions   []string
}

// Scopes returns the token's scopes.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the token carries the scope.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes(), s) }

// HasRole reports whether the user has the role.
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.Roles, r) }

// HasGroup reports whether the user is in the group.
func (c *Claims) HasGroup(g string) bool { return slices.Contains(c.Groups, g) }

// HasAction reports whether the user may perform the action.
func (c *Claims) HasAction(a string) bool { return slices.Contains(c.Actions, a) }

// wireClaims is the JSON form of an access token's claims.
type wireClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	ClientID  string           `json:"client_id"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	AuthTime  *jwt.NumericDate `json:"auth_time"`
	JTI       string           `json:"jti"`
	SID       string           `json:"sid"`
	Scope     string           `json:"scope"`
	Username  string           `json:"username"`
	TokenUse  string           `json:"token_use"`
	GrantType string           `json:"gty"`
	Roles     []string         `json:"roles"`
	Groups    []string         `json:"groups"`
	Actions   []string         `json:"actions"`
}

func numericTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time()
}

func (w *wireClaims) claims() *Claims {
	return &Claims{
		Issuer: w.Issuer, Subject: w.Subject, Audience: []string(w.Audience), ClientID: w.ClientID,
		Expiry: numericTime(w.Expiry), IssuedAt: numericTime(w.IssuedAt), AuthTime: numericTime(w.AuthTime),
		JTI: w.JTI, SessionID: w.SID, Scope: w.Scope, Username: w.Username, TokenUse: w.TokenUse,
		GrantType: w.GrantType, Roles: w.Roles, Groups: w.Groups, Actions: w.Actions,
	}
}

type claimsKey struct{}

// WithClaims returns ctx carrying c, as Middleware does for the handlers
// it protects (useful in tests of those handlers).
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the verified claims Middleware put in the request
// context.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// unverifiedExpiry reads a JWT's exp without verifying it: only to
// schedule a refresh of a token the application received from idgate
// itself.
func unverifiedExpiry(raw string) (time.Time, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp *jwt.NumericDate `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Exp == nil {
		return time.Time{}, false
	}
	return c.Exp.Time(), true
}
