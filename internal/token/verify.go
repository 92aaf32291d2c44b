package token

import (
	"context"
	"errors"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Verification is the verdict on a token: the booleans say whether it is
// signed by the pool, expired, revoked and, all told, active.
type Verification struct {
	SignatureVerified bool
	Expired           bool
	Revoked           bool
	Active            bool
	Claims            Claims
	Raw               map[string]any
}

// Verify checks a token (access or ID) of the pool: signature, issuer,
// expiry, and whether its session is still alive. Revocation is immediate:
// once the session ended, the token is refused whatever its exp says.
func (s *Service) Verify(ctx context.Context, poolID, raw string) (Verification, error) {
	c, all, err := s.parse(ctx, poolID, raw)
	if errors.Is(err, errBadToken) {
		return Verification{}, nil
	}
	if err != nil {
		return Verification{}, err
	}
	v := Verification{SignatureVerified: true, Claims: c, Raw: all}
	now := s.now()
	v.Expired = !now.Before(c.Expiry.Time())
	var revoked bool
	if c.GrantType == "client_credentials" && c.SID == "" {
		revoked, err = s.clientGone(ctx, poolID, c.ClientID)
	} else {
		revoked, err = s.sessionEnded(ctx, poolID, c.SID, now)
	}
	if err != nil {
		return Verification{}, err
	}
	v.Revoked = revoked
	v.Active = !v.Expired && !v.Revoked
	if v.Active && c.SID != "" {
		s.seen.mark(c.SID, now)
	}
	return v, nil
}

// sessionEnded reports whether the session named by a token is gone.
func (s *Service) sessionEnded(ctx context.Context, poolID, sid string, now time.Time) (bool, error) {
	if sid == "" {
		return true, nil
	}
	sess, err := s.store.GetSession(ctx, sid)
	if errors.Is(err, idgate.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	// A token never outlives its session: ended, or past the session's
	// absolute lifetime (the refresh token's), it is refused.
	return sess.PoolID != poolID || !sess.Active(now), nil
}

func isNotFound(err error) bool { return errors.Is(err, idgate.ErrNotFound) }

// clientGone reports whether the app a client_credentials token was issued
// to no longer exists in the pool.
func (s *Service) clientGone(ctx context.Context, poolID, clientID string) (bool, error) {
	app, err := s.store.GetApp(ctx, clientID)
	if errors.Is(err, idgate.ErrNotFound) {
		return true, nil
	}
	return err == nil && app.PoolID != poolID, err
}

// UserInfo returns the claims of the user an active access token belongs
// to, read fresh from the store.
func (s *Service) UserInfo(ctx context.Context, poolID, raw string) (map[string]any, error) {
	v, err := s.Verify(ctx, poolID, raw)
	if err != nil {
		return nil, err
	}
	if !v.Active {
		return nil, idgate.InvalidToken("the access token is not active")
	}
	u, err := s.store.GetUser(ctx, poolID, v.Claims.Subject)
	if errors.Is(err, idgate.ErrNotFound) {
		return nil, idgate.InvalidToken("the access token is not active")
	}
	if err != nil {
		return nil, err
	}
	out := userClaims(u)
	out["sub"] = u.Sub
	out["auth_time"] = claimsTime(v.Claims.AuthTime).Unix()
	out["exp"] = v.Claims.Expiry.Time().Unix()
	return out, nil
}

// Revocation scopes.
const (
	ScopeGlobal  = "global"
	ScopeSession = "session"
)

// RevokeRequest asks to end the session of a token, or all the user's
// sessions (global sign-out).
type RevokeRequest struct {
	PoolID string
	Token  string
	Scope  string // ScopeGlobal (default) or ScopeSession
	Actor  idgate.Actor
}

// Revoke ends the token's session (scope session) or every session of its
// user in the pool (scope global), and returns how many sessions it ended.
// Every token of an ended session fails verification at once. A token whose
// session already ended ends nothing (so an old, revoked token cannot sign
// the user out of newer sessions) and is not an error.
func (s *Service) Revoke(ctx context.Context, r RevokeRequest) (int, error) {
	switch r.Scope {
	case "":
		r.Scope = ScopeGlobal
	case ScopeGlobal, ScopeSession:
	default:
		return 0, idgate.InvalidRequest("scope", "must be %q or %q", ScopeGlobal, ScopeSession)
	}
	c, _, err := s.parse(ctx, r.PoolID, r.Token)
	if errors.Is(err, errBadToken) {
		return 0, idgate.InvalidToken("the token is not a valid token of this user pool")
	}
	if err != nil {
		return 0, err
	}
	now := s.now()
	if !now.Before(c.Expiry.Time()) {
		return 0, idgate.InvalidToken("the token has expired")
	}
	if gone, err := s.sessionEnded(ctx, r.PoolID, c.SID, now); err != nil || gone {
		return 0, err // an ended session's token cannot end the user's newer sessions
	}
	pool, err := s.store.GetPool(ctx, r.PoolID)
	if err != nil {
		return 0, err
	}
	var ended []string
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if r.Scope == ScopeSession {
			ok, err := tx.EndSession(ctx, c.SID, now, idgate.EndLogout)
			if err != nil && !errors.Is(err, idgate.ErrNotFound) {
				return err
			}
			if ok {
				ended = []string{c.SID}
			}
			return s.appendEvent(ctx, tx, pool, idgate.EventSessionRevoked, r.Actor, c.Subject, c.SID, c.ClientID, nil)
		}
		ids, err := tx.EndUserSessions(ctx, r.PoolID, c.Subject, now, idgate.EndGlobalSignOut, "")
		if err != nil {
			return err
		}
		ended = ids
		return s.appendEvent(ctx, tx, pool, idgate.EventGlobalSignOut, r.Actor, c.Subject, "", c.ClientID,
			map[string]any{"sessions": len(ids)})
	})
	if err != nil {
		return 0, err
	}
	s.sessionsEnded(r.PoolID, ended)
	return len(ended), nil
}
