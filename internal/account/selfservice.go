package account

import (
	"context"

	"github.com/idgate/idgate/internal/idgate"
)

// Self-service on the account page (SPEC §5): the signed-in user ends
// their other sessions, changes their password, reads their security log.

// EndOtherSessions ends the user's sessions for which keep is false (the
// ones on this device are kept) and their hosted sessions in other
// browsers, and returns how many token sessions it ended.
func (s *Service) EndOtherSessions(ctx context.Context, pool idgate.Pool, sub, hostedHash string, keep func(idgate.Session) bool, actor idgate.Actor) (int, error) {
	ids, err := s.endOthers(ctx, pool, sub, hostedHash, keep, idgate.EndLogout, idgate.EventSessionRevoked, actor, map[string]any{"scope": "others"})
	return len(ids), err
}

func (s *Service) endOthers(ctx context.Context, pool idgate.Pool, sub, hostedHash string, keep func(idgate.Session) bool, reason, typ string, actor idgate.Actor, data map[string]any) ([]string, error) {
	list, err := s.store.ListSessions(ctx, pool.ID, sub)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var ended []string
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		ended = ended[:0]
		for _, se := range list {
			if !se.Active(now) || keep(se) {
				continue
			}
			ok, err := tx.EndSession(ctx, se.ID, now, reason)
			if err != nil {
				return err
			}
			if ok {
				ended = append(ended, se.ID)
			}
		}
		if _, err := tx.EndOtherHostedSessions(ctx, pool.ID, sub, hostedHash, now, reason); err != nil {
			return err
		}
		data["sessions"] = len(ended)
		return s.event(ctx, tx, pool, typ, actor, sub, data)
	})
	if err != nil {
		return nil, err
	}
	s.sessionsEnded(pool.ID, ended)
	return ended, nil
}

// ErrWrongPassword is the answer to a password change with a wrong
// current password.
var ErrWrongPassword = &idgate.Error{Code: idgate.CodeInvalidGrant, Field: "current", Description: "the current password is not correct"}

// ChangePassword replaces the user's password after checking the current
// one and the pool's policy. Every other session ends (reason
// password_changed); the ones on this device (keep) and this browser's
// hosted session stay.
func (s *Service) ChangePassword(ctx context.Context, pool idgate.Pool, u idgate.User, current, next, hostedHash string, keep func(idgate.Session) bool, actor idgate.Actor) (int, error) {
	ok, err := s.hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		return 0, err
	}
	if !ok {
		_ = s.store.InTx(ctx, func(tx idgate.Store) error {
			return s.event(ctx, tx, pool, idgate.EventLoginFailed, actor, u.Sub, map[string]any{"reason": "wrong_password", "during": "password_change"})
		})
		return 0, ErrWrongPassword
	}
	if err := CheckPassword(pool, next); err != nil {
		return 0, err
	}
	if next == current {
		return 0, idgate.InvalidRequest("password", "must differ from the current password")
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return 0, err
	}
	if _, err := s.store.UpdateUser(ctx, pool.ID, u.Sub, func(x idgate.User) (idgate.User, error) {
		x.PasswordHash, x.UpdatedAt = hash, s.now()
		return x, nil
	}); err != nil {
		return 0, err
	}
	ids, err := s.endOthers(ctx, pool, u.Sub, hostedHash, keep, idgate.EndPasswordChanged, idgate.EventPasswordChanged, actor, map[string]any{})
	return len(ids), err
}

// SecurityLog returns the user's most recent events, newest first.
func (s *Service) SecurityLog(ctx context.Context, pool idgate.Pool, sub string, limit int) ([]idgate.Event, error) {
	var all []idgate.Event
	f := idgate.EventFilter{ProjectID: pool.ProjectID, UserSub: sub, Limit: 1000}
	for {
		evs, err := s.store.ListEvents(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
		if len(all) > limit {
			all = all[len(all)-limit:]
		}
		if len(evs) < f.Limit {
			break
		}
		f.AfterSeq = evs[len(evs)-1].Seq
	}
	out := make([]idgate.Event, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		out = append(out, all[i])
	}
	return out, nil
}
