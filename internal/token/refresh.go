package token

import (
	"context"
	"errors"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// RefreshRequest is the refresh grant.
type RefreshRequest struct {
	PoolID       string
	RefreshToken string
	ClientID     string
	ClientSecret string
	Actor        idgate.Actor
}

func successorAAD(oldHash string) string { return "refresh-successor:" + oldHash }

var errRefreshInvalid = idgate.InvalidGrant("the refresh token is invalid, expired or revoked")

// Refresh exchanges a refresh token for new ID and access tokens carrying
// the user's current attributes. Confidential apps keep their refresh token
// for its whole (absolute) lifetime. Public apps get a new one each time;
// presenting a rotated-away token again ends the session
// (refresh_token_reuse), except within the grace window, where the retry
// receives the same successor.
func (s *Service) Refresh(ctx context.Context, r RefreshRequest) (Response, error) {
	if r.RefreshToken == "" {
		return Response{}, idgate.InvalidRequest("refreshToken", "is required")
	}
	app, err := s.AuthenticateClient(ctx, r.PoolID, r.ClientID, r.ClientSecret)
	if err != nil {
		return Response{}, err
	}
	now := s.now()
	hash := secret.Digest(r.RefreshToken)
	rt, err := s.store.GetRefreshToken(ctx, hash)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && rt.ClientID != app.ClientID) {
		return Response{}, errRefreshInvalid
	}
	if err != nil {
		return Response{}, err
	}
	sess, err := s.store.GetSession(ctx, rt.SessionID)
	if errors.Is(err, idgate.ErrNotFound) {
		return Response{}, errRefreshInvalid
	}
	if err != nil {
		return Response{}, err
	}
	if !sess.Active(now) || !now.Before(rt.ExpiresAt) {
		return Response{}, errRefreshInvalid
	}
	pool, err := s.store.GetPool(ctx, rt.PoolID)
	if err != nil {
		return Response{}, err
	}
	user, err := s.store.GetUser(ctx, pool.ID, rt.UserSub)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && user.Status == idgate.StatusDisabled) {
		return Response{}, errRefreshInvalid
	}
	if err != nil {
		return Response{}, err
	}

	var successor string
	if !app.Type.Confidential() {
		successor, err = s.rotate(ctx, pool, rt, sess, r.Actor)
		if err != nil {
			return Response{}, err
		}
	} else {
		// The session's last-seen time is coalesced like verification's;
		// the event is the one write.
		s.seen.mark(sess.ID, now)
		err = s.store.InTx(ctx, func(tx idgate.Store) error {
			return s.appendEvent(ctx, tx, pool, idgate.EventTokenRefreshed, r.Actor, user.Sub, sess.ID, app.ClientID, nil)
		})
		if err != nil {
			return Response{}, err
		}
	}
	m, err := s.mint(ctx, mintInput{pool: pool, app: app, user: user, session: sess, scope: rt.Scope, now: now, validity: app.Validity})
	if err != nil {
		return Response{}, err
	}
	return Response{IDToken: m.id, AccessToken: m.access, RefreshToken: successor, ExpiresIn: m.expiresIn, TokenType: "Bearer", Scope: rt.Scope}, nil
}

// rotate replaces a public app's refresh token and returns the successor.
func (s *Service) rotate(ctx context.Context, pool idgate.Pool, rt idgate.RefreshToken, sess idgate.Session, actor idgate.Actor) (string, error) {
	now := s.now()
	if rt.RotatedAt.IsZero() {
		successor := idgate.NewSecret("")
		next := idgate.RefreshToken{
			Hash: secret.Digest(successor), SessionID: rt.SessionID, ClientID: rt.ClientID, PoolID: rt.PoolID,
			UserSub: rt.UserSub, Scope: rt.Scope, CreatedAt: now, ExpiresAt: rt.ExpiresAt,
		}
		err := s.store.InTx(ctx, func(tx idgate.Store) error {
			sealed := s.sealer.Seal([]byte(successor), successorAAD(rt.Hash))
			if err := tx.RotateRefreshToken(ctx, rt.Hash, now, next, sealed); err != nil {
				return err
			}
			if err := tx.TouchSession(ctx, sess.ID, now); err != nil {
				return err
			}
			return s.appendEvent(ctx, tx, pool, idgate.EventTokenRefreshed, actor, rt.UserSub, sess.ID, rt.ClientID, map[string]any{"rotated": true})
		})
		if err == nil {
			return successor, nil
		}
		if !errors.Is(err, idgate.ErrConflict) {
			return "", err
		}
		// A concurrent refresh rotated it first: treat this one as its retry.
		if rt, err = s.store.GetRefreshToken(ctx, rt.Hash); err != nil {
			return "", err
		}
	}
	if now.Sub(rt.RotatedAt) <= s.grace && len(rt.SuccessorSealed) > 0 {
		if next, err := s.store.GetRefreshToken(ctx, rt.SuccessorHash); err == nil && next.RotatedAt.IsZero() {
			plain, err := s.sealer.Open(rt.SuccessorSealed, successorAAD(rt.Hash))
			if err != nil {
				return "", err
			}
			return string(plain), nil
		}
	}
	// Reuse of a rotated-away token: assume theft and end the session.
	var ended bool
	err := s.store.InTx(ctx, func(tx idgate.Store) error {
		var err error
		if ended, err = tx.EndSession(ctx, sess.ID, now, idgate.EndRefreshTokenReuse); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, pool, idgate.EventRefreshReuse, actor, rt.UserSub, sess.ID, rt.ClientID, nil)
	})
	if err != nil {
		return "", err
	}
	if ended {
		s.sessionsEnded(pool.ID, []string{sess.ID})
	}
	return "", errRefreshInvalid
}
