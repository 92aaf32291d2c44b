package token

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// ClientCredentials issues an access token to a confidential app acting on
// its own behalf (RFC 6749 §4.4): sub and client_id are the app, there is
// no session, no ID token and no refresh token.
func (s *Service) ClientCredentials(ctx context.Context, app idgate.App, scope string, actor idgate.Actor) (Response, error) {
	if !app.Type.Confidential() {
		return Response{}, &idgate.Error{Code: idgate.CodeUnauthorizedClient, Description: "only confidential clients may use client_credentials"}
	}
	for _, sc := range strings.Fields(scope) {
		if sc == "openid" || !slices.Contains(app.Scopes, sc) {
			return Response{}, &idgate.Error{Code: idgate.CodeInvalidScope, Description: "scope " + sc + " is not available to this client"}
		}
	}
	pool, err := s.store.GetPool(ctx, app.PoolID)
	if err != nil {
		return Response{}, err
	}
	now := s.now().Truncate(time.Second)
	claims := map[string]any{
		"iss": s.Issuer(pool.ID), "sub": app.ClientID, "aud": app.ClientID, "client_id": app.ClientID,
		"exp": now.Add(app.Validity.AccessToken).Unix(), "iat": now.Unix(), "jti": idgate.NewID(""),
		"scope": scope, "token_use": UseAccess, "gty": "client_credentials",
	}
	at, _, err := s.sign(ctx, pool.ID, "at+jwt", claims)
	if err != nil {
		return Response{}, err
	}
	if err := s.store.InTx(ctx, func(tx idgate.Store) error {
		return s.appendEvent(ctx, tx, pool, idgate.EventTokenIssued, actor, "", "", app.ClientID, map[string]any{"grant": "client_credentials"})
	}); err != nil {
		return Response{}, err
	}
	return Response{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(app.Validity.AccessToken / time.Second), Scope: scope}, nil
}

// Introspection is an RFC 7662 answer. Inactive tokens carry only Active.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	Sid       string   `json:"sid,omitempty"`
	TokenUse  string   `json:"token_use,omitempty"`
}

// Introspect tells whether a token of the pool (access token, ID token or
// refresh token) is active, and what it is about.
func (s *Service) Introspect(ctx context.Context, poolID, raw, hint string) (Introspection, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Introspection{}, idgate.InvalidRequest("token", "is required")
	}
	if hint != "refresh_token" && strings.Count(raw, ".") == 2 {
		v, err := s.Verify(ctx, poolID, raw)
		if err != nil {
			return Introspection{}, err
		}
		if v.Active {
			c := v.Claims
			out := Introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, Username: c.Username,
				TokenType: "Bearer", Exp: c.Expiry.Time().Unix(), Sub: c.Subject, Aud: c.Audience, Iss: c.Issuer,
				Jti: c.JTI, Sid: c.SID, TokenUse: c.TokenUse}
			if c.IssuedAt != nil {
				out.Iat = c.IssuedAt.Time().Unix()
			}
			if out.ClientID == "" && len(c.Audience) > 0 {
				out.ClientID = c.Audience[0]
			}
			if c.TokenUse == UseID {
				out.TokenType = "id_token"
			}
			return out, nil
		}
		return Introspection{}, nil
	}
	rt, sess, ok, err := s.activeRefresh(ctx, poolID, raw)
	if err != nil || !ok {
		return Introspection{}, err
	}
	return Introspection{Active: true, Scope: rt.Scope, ClientID: rt.ClientID, TokenType: "refresh_token",
		Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Sub: rt.UserSub, Aud: []string{rt.ClientID},
		Iss: s.Issuer(poolID), Sid: sess.ID}, nil
}

// activeRefresh finds a refresh token of the pool that still works.
func (s *Service) activeRefresh(ctx context.Context, poolID, raw string) (idgate.RefreshToken, idgate.Session, bool, error) {
	rt, err := s.store.GetRefreshToken(ctx, secret.Digest(raw))
	if errors.Is(err, idgate.ErrNotFound) {
		return rt, idgate.Session{}, false, nil
	}
	if err != nil {
		return rt, idgate.Session{}, false, err
	}
	sess, err := s.store.GetSession(ctx, rt.SessionID)
	if errors.Is(err, idgate.ErrNotFound) {
		return rt, sess, false, nil
	}
	if err != nil {
		return rt, sess, false, err
	}
	now := s.now()
	ok := rt.PoolID == poolID && rt.RotatedAt.IsZero() && now.Before(rt.ExpiresAt) && sess.Active(now)
	return rt, sess, ok, nil
}

// RevokeToken implements RFC 7009 for a client: revoking a refresh token or
// an access/ID token of that client ends the session it belongs to (idgate
// tokens of a session live and die together). Unknown tokens and tokens of
// other clients are ignored, as the RFC asks: the answer is the same.
func (s *Service) RevokeToken(ctx context.Context, app idgate.App, raw, hint string, actor idgate.Actor) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return idgate.InvalidRequest("token", "is required")
	}
	var sid, sub string
	if strings.Count(raw, ".") == 2 && hint != "refresh_token" {
		c, _, err := s.parse(ctx, app.PoolID, raw)
		if errors.Is(err, errBadToken) {
			return nil
		}
		if err != nil {
			return err
		}
		if c.ClientID != app.ClientID && !slices.Contains([]string(c.Audience), app.ClientID) {
			return nil
		}
		sid, sub = c.SID, c.Subject
	} else {
		rt, err := s.store.GetRefreshToken(ctx, secret.Digest(raw))
		if errors.Is(err, idgate.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if rt.ClientID != app.ClientID {
			return nil
		}
		sid, sub = rt.SessionID, rt.UserSub
	}
	if sid == "" {
		return nil // client_credentials tokens have no session to end
	}
	return s.EndSession(ctx, app.PoolID, sid, sub, app.ClientID, idgate.EndLogout, idgate.EventSessionRevoked, actor)
}

// EndSession ends one session for reason, with its event, and reports it
// to OnSessionsEnded. An already ended session is left as it is.
func (s *Service) EndSession(ctx context.Context, poolID, sid, sub, clientID, reason, eventType string, actor idgate.Actor) error {
	pool, err := s.store.GetPool(ctx, poolID)
	if err != nil {
		return err
	}
	var ended bool
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		var err error
		ended, err = tx.EndSession(ctx, sid, s.now(), reason)
		if errors.Is(err, idgate.ErrNotFound) || (err == nil && !ended) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, pool, eventType, actor, sub, sid, clientID, map[string]any{"reason": reason})
	})
	if err == nil && ended {
		s.sessionsEnded(poolID, []string{sid})
	}
	return err
}

// IDTokenHint verifies an id_token_hint for RP-initiated logout: it must
// be an ID token of the pool with a valid signature; expiry is allowed
// (OpenID Connect RP-Initiated Logout §2).
func (s *Service) IDTokenHint(ctx context.Context, poolID, raw string) (Claims, error) {
	c, _, err := s.parse(ctx, poolID, raw)
	if errors.Is(err, errBadToken) || (err == nil && c.TokenUse != UseID) {
		return Claims{}, idgate.InvalidRequest("id_token_hint", "is not an ID token issued by this provider")
	}
	return c, err
}

// LogoutToken mints an OIDC Back-Channel Logout token for a notice: iss,
// aud, iat, exp, jti, sub, sid and the back-channel logout event, and no
// nonce (Back-Channel Logout 1.0 §2.4).
func (s *Service) LogoutToken(ctx context.Context, n idgate.LogoutNotice) (string, error) {
	now := s.now().Truncate(time.Second)
	claims := map[string]any{
		"iss": s.Issuer(n.PoolID), "aud": n.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": idgate.NewID(""), "sub": n.UserSub, "sid": n.SessionID,
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
	tok, _, err := s.sign(ctx, n.PoolID, "logout+jwt", claims)
	return tok, err
}
