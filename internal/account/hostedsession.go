package account

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// ErrNoHostedSession: the browser has no usable hosted session (none,
// expired, ended, of another pool, its user gone or disabled, or ended for
// this app by a global sign-out).
var ErrNoHostedSession = errors.New("no hosted session")

// StartHostedSession opens the hosted (SSO) session of a completed sign-in
// and returns the cookie value and when it expires (the pool's
// HostedSessionTTL, or the default).
func (h *Hosted) StartHostedSession(ctx context.Context, pool idgate.Pool, o Outcome, actor idgate.Actor) (string, time.Time, error) {
	ttl := pool.HostedSessionTTL
	if ttl <= 0 {
		ttl = h.lim.HostedSession
	}
	token := idgate.NewSecret("")
	now := h.now()
	hs := idgate.HostedSession{Hash: secret.Digest(token), PoolID: pool.ID, UserSub: o.User.Sub, AuthTime: o.AuthTime,
		AMR: o.AMR, IP: actor.IP, UserAgent: actor.UserAgent, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	err := h.store.InTx(ctx, func(tx idgate.Store) error {
		e := &idgate.Event{ProjectID: pool.ProjectID, PoolID: pool.ID, Type: idgate.EventHostedSessionStarted,
			ActorType: actor.Type, ActorID: actor.ID, UserSub: o.User.Sub, IP: actor.IP, UserAgent: actor.UserAgent,
			Data: map[string]any{"amr": o.AMR, "ttl_seconds": int(ttl / time.Second)}, CreatedAt: now}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		hs.StartSeq = e.Seq
		return tx.CreateHostedSession(ctx, hs)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, hs.ExpiresAt, nil
}

// HostedSession returns the browser's active hosted session of the pool
// and its user, for single sign-on into app (nil for the account page).
// A global sign-out recorded after the session started ends it, except for
// an app with HostedSessionSurvivesGlobalSignOut (SPEC §2.4).
func (h *Hosted) HostedSession(ctx context.Context, pool idgate.Pool, token string, app *idgate.App) (idgate.HostedSession, idgate.User, error) {
	if token == "" {
		return idgate.HostedSession{}, idgate.User{}, ErrNoHostedSession
	}
	hs, err := h.store.GetHostedSession(ctx, secret.Digest(token))
	if errors.Is(err, idgate.ErrNotFound) {
		return hs, idgate.User{}, ErrNoHostedSession
	}
	if err != nil {
		return hs, idgate.User{}, err
	}
	if hs.PoolID != pool.ID || !hs.Active(h.now()) {
		return hs, idgate.User{}, ErrNoHostedSession
	}
	u, err := h.store.GetUser(ctx, pool.ID, hs.UserSub)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && u.Status != idgate.StatusConfirmed) {
		return hs, idgate.User{}, ErrNoHostedSession
	}
	if err != nil {
		return hs, idgate.User{}, err
	}
	if pool.MFAPolicy == idgate.MFARequired && !slices.Contains(hs.AMR, "otp") && !slices.Contains(hs.AMR, "mfa") {
		return hs, u, ErrNoHostedSession // signed in before MFA became required
	}
	if app == nil || !app.HostedSessionSurvivesGlobalSignOut {
		evs, err := h.store.ListEvents(ctx, idgate.EventFilter{ProjectID: pool.ProjectID, UserSub: u.Sub,
			Type: idgate.EventGlobalSignOut, AfterSeq: hs.StartSeq, Limit: 1})
		if err != nil {
			return hs, u, err
		}
		if len(evs) > 0 {
			return hs, u, ErrNoHostedSession
		}
	}
	return hs, u, nil
}

// SignedInWithHostedSession records a sign-in into an app that the hosted
// session granted without asking for credentials.
func (h *Hosted) SignedInWithHostedSession(ctx context.Context, pool idgate.Pool, u idgate.User, clientID string, actor idgate.Actor) error {
	return h.logEvent(ctx, pool, idgate.EventLoginSucceeded, actor, u.Sub, map[string]any{"method": "hosted_session", "client_id": clientID})
}

// EndHostedSession ends the browser's hosted session (sign-out); an
// unknown or ended one is not an error.
func (h *Hosted) EndHostedSession(ctx context.Context, pool idgate.Pool, token string, actor idgate.Actor) error {
	if token == "" {
		return nil
	}
	hash := secret.Digest(token)
	hs, err := h.store.GetHostedSession(ctx, hash)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && (hs.PoolID != pool.ID || !hs.EndedAt.IsZero())) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.EndHostedSession(ctx, hash, h.now(), idgate.EndLogout); err != nil {
			return err
		}
		return h.event(ctx, tx, pool, idgate.EventHostedSessionEnded, actor, hs.UserSub, map[string]any{"reason": idgate.EndLogout})
	})
}

// Purge removes hosted-login records that expired more than a day ago.
func (h *Hosted) Purge(ctx context.Context) (int64, error) {
	return h.store.PurgeHosted(ctx, h.now().Add(-24*time.Hour))
}
