package account

import (
	"context"
	"errors"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// SessionView is a session as people see it (account page, console, admin
// API): the device described, the app, when, and how it ended.
type SessionView struct {
	ID         string     `json:"sid"`
	ClientID   string     `json:"clientId"`
	Device     string     `json:"device"`
	IP         string     `json:"ip"`
	UserAgent  string     `json:"userAgent"`
	AMR        []string   `json:"amr"`
	SignedInAt time.Time  `json:"signedInAt"`
	LastSeenAt time.Time  `json:"lastSeenAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	Active     bool       `json:"active"`
	EndedAt    *time.Time `json:"endedAt,omitempty"`
	EndReason  string     `json:"endReason,omitempty"`
}

// ViewSession presents a session at now.
func ViewSession(s idgate.Session, now time.Time) SessionView {
	v := SessionView{ID: s.ID, ClientID: s.ClientID, Device: DescribeUserAgent(s.UserAgent), IP: s.IP, UserAgent: s.UserAgent,
		AMR: s.AMR, SignedInAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, Active: s.Active(now), EndReason: s.EndReason}
	if v.AMR == nil {
		v.AMR = []string{}
	}
	if !s.EndedAt.IsZero() {
		t := s.EndedAt
		v.EndedAt = &t
	} else if !v.Active {
		v.EndReason = idgate.EndExpired
		t := s.ExpiresAt
		v.EndedAt = &t
	}
	return v
}

// userInPool loads a user and the pool, answering not_found for either.
func (s *Service) userInPool(ctx context.Context, poolID, sub string) (idgate.Pool, idgate.User, error) {
	pool, err := s.store.GetPool(ctx, poolID)
	if errors.Is(err, idgate.ErrNotFound) {
		return pool, idgate.User{}, idgate.NotFoundError("no user pool " + poolID)
	}
	if err != nil {
		return pool, idgate.User{}, err
	}
	u, err := s.store.GetUser(ctx, poolID, sub)
	if errors.Is(err, idgate.ErrNotFound) {
		return pool, u, idgate.NotFoundError("no such user in the pool")
	}
	return pool, u, err
}

// Sessions lists a user's sessions, active and ended, newest first.
func (s *Service) Sessions(ctx context.Context, poolID, sub string) ([]SessionView, error) {
	if _, _, err := s.userInPool(ctx, poolID, sub); err != nil {
		return nil, err
	}
	list, err := s.store.ListSessions(ctx, poolID, sub)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]SessionView, 0, len(list))
	for _, se := range list {
		out = append(out, ViewSession(se, now))
	}
	return out, nil
}

// RevokeSession ends one of the user's sessions (reason admin_revoked, or
// logout when the user ends it from the account page).
func (s *Service) RevokeSession(ctx context.Context, poolID, sub, sid, reason string, actor idgate.Actor) error {
	pool, _, err := s.userInPool(ctx, poolID, sub)
	if err != nil {
		return err
	}
	se, err := s.store.GetSession(ctx, sid)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && (se.PoolID != poolID || se.UserSub != sub)) {
		return idgate.NotFoundError("no such session of this user")
	}
	if err != nil {
		return err
	}
	var ended bool
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		var err error
		if ended, err = tx.EndSession(ctx, sid, s.now(), reason); err != nil || !ended {
			return err
		}
		return s.event(ctx, tx, pool, idgate.EventSessionRevoked, actor, sub, map[string]any{"sid": sid, "reason": reason})
	})
	if err == nil && ended {
		s.sessionsEnded(poolID, []string{sid})
	}
	return err
}

func (s *Service) sessionsEnded(poolID string, ids []string) {
	if s.OnSessionsEnded != nil && len(ids) > 0 {
		s.OnSessionsEnded(poolID, ids)
	}
}

// endEverything ends every session and hosted (browser) session of the
// user with reason and records typ, in one transaction.
func (s *Service) endEverything(ctx context.Context, tx idgate.Store, pool idgate.Pool, sub, reason, typ string, actor idgate.Actor, data map[string]any) ([]string, error) {
	now := s.now()
	ids, err := tx.EndUserSessions(ctx, pool.ID, sub, now, reason, "")
	if err != nil {
		return nil, err
	}
	if _, err := tx.EndUserHostedSessions(ctx, pool.ID, sub, now, reason); err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["sessions"] = len(ids)
	return ids, s.event(ctx, tx, pool, typ, actor, sub, data)
}

// GlobalSignOut ends all the user's sessions on every device and app, and
// their hosted login sessions (the administrator's "sign out everywhere").
func (s *Service) GlobalSignOut(ctx context.Context, poolID, sub string, actor idgate.Actor) (int, error) {
	pool, _, err := s.userInPool(ctx, poolID, sub)
	if err != nil {
		return 0, err
	}
	var ids []string
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		ids, err = s.endEverything(ctx, tx, pool, sub, idgate.EndGlobalSignOut, idgate.EventGlobalSignOut, actor, nil)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.sessionsEnded(poolID, ids)
	return len(ids), nil
}

// SetDisabled disables a user (every session ends at once and sign-in is
// refused) or enables them again (CONFIRMED when the email is verified,
// UNCONFIRMED otherwise).
func (s *Service) SetDisabled(ctx context.Context, poolID, sub string, disabled bool, actor idgate.Actor) (idgate.User, error) {
	pool, _, err := s.userInPool(ctx, poolID, sub)
	if err != nil {
		return idgate.User{}, err
	}
	var u idgate.User
	var ids []string
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		u, err = tx.UpdateUser(ctx, poolID, sub, func(u idgate.User) (idgate.User, error) {
			switch {
			case disabled:
				u.Status = idgate.StatusDisabled
			case u.EmailVerified:
				u.Status = idgate.StatusConfirmed
			default:
				u.Status = idgate.StatusUnconfirmed
			}
			u.UpdatedAt = s.now()
			return u, nil
		})
		if err != nil {
			return err
		}
		if !disabled {
			return s.event(ctx, tx, pool, idgate.EventUserEnabled, actor, sub, nil)
		}
		ids, err = s.endEverything(ctx, tx, pool, sub, idgate.EndUserDisabled, idgate.EventUserDisabled, actor, nil)
		return err
	})
	if err != nil {
		return idgate.User{}, err
	}
	s.sessionsEnded(poolID, ids)
	return u, nil
}

// Export is everything idgate stores about a user (GDPR art. 15/20):
// attributes, sessions and events. Secrets (password hash, TOTP secret,
// recovery codes) are not exported; that they exist is.
type Export struct {
	ExportedAt time.Time        `json:"exportedAt"`
	User       map[string]any   `json:"user"`
	Sessions   []SessionView    `json:"sessions"`
	Events     []map[string]any `json:"events"`
}

// ExportUser collects a user's data.
func (s *Service) ExportUser(ctx context.Context, poolID, sub string, claims func(idgate.User) map[string]any) (Export, error) {
	pool, u, err := s.userInPool(ctx, poolID, sub)
	if err != nil {
		return Export{}, err
	}
	sessions, err := s.Sessions(ctx, poolID, sub)
	if err != nil {
		return Export{}, err
	}
	user := claims(u)
	user["sub"], user["status"], user["userPoolId"] = u.Sub, u.Status, u.PoolID
	user["createdAt"], user["mfaEnrolled"] = u.CreatedAt, len(u.TOTPSecret) > 0
	out := Export{ExportedAt: s.now(), User: user, Sessions: sessions, Events: []map[string]any{}}
	f := idgate.EventFilter{ProjectID: pool.ProjectID, UserSub: sub, Limit: 1000}
	for {
		evs, err := s.store.ListEvents(ctx, f)
		if err != nil {
			return Export{}, err
		}
		for _, e := range evs {
			out.Events = append(out.Events, map[string]any{"id": e.ID, "type": e.Type, "at": e.CreatedAt, "ip": e.IP,
				"userAgent": e.UserAgent, "clientId": e.ClientID, "sid": e.SessionID, "actorType": e.ActorType, "details": e.Data})
		}
		if len(evs) < f.Limit {
			break
		}
		f.AfterSeq = evs[len(evs)-1].Seq
	}
	return out, nil
}
