package account

import (
	"context"
	"errors"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/totp"
)

// StartReset begins a password reset: when the email belongs to an account
// that can sign in, a code is emailed (in the background). Either way the
// same flow is returned after the same work, so neither the page nor its
// timing reveals whether the address is registered.
func (h *Hosted) StartReset(ctx context.Context, pool idgate.Pool, email, request string, actor idgate.Actor) (Outcome, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return Outcome{}, err
	}
	u, err := h.store.GetUserByEmail(ctx, pool.ID, email)
	if err != nil && !errors.Is(err, idgate.ErrNotFound) {
		return Outcome{}, err
	}
	if u.Status == idgate.StatusDisabled {
		u = idgate.User{} // a disabled account cannot reset its way back in
	}
	handle, flowHash := newHandle()
	code, now := newCode(), h.now()
	stored := codeHash(flowHash, code)
	if u.Sub == "" {
		stored = codeHash(flowHash, idgate.NewSecret("")) // a decoy no code matches
	}
	f, err := h.createFlow(ctx, handle, idgate.LoginFlow{
		PoolID: pool.ID, Purpose: idgate.FlowReset, Step: idgate.StepResetCode, UserSub: u.Sub, Email: email,
		Request: request, CodeHash: stored, CodeSentAt: now, CodeExpiresAt: now.Add(h.lim.CodeTTL),
	})
	if err != nil {
		return Outcome{}, err
	}
	// Recorded for unknown addresses too (without a user): the same work
	// either way.
	if err := h.logEvent(ctx, pool, idgate.EventPasswordResetAsked, actor, u.Sub, map[string]any{"known": u.Sub != ""}); err != nil {
		return Outcome{}, err
	}
	if err := h.deliverCode(ctx, pool, f, code); err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: handle, Step: f.Step, Request: request}, nil
}

// ResetResult is a completed password reset: the sessions it ended (for
// revocation feeds) and the authorization request to return to.
type ResetResult struct {
	EndedSessions []string
	Email         string
	Request       string
}

// CompleteReset checks the emailed code and sets the new password. All the
// user's sessions end (reason password_changed), hosted sessions too, and
// the account's failure record is cleared. Wrong codes count per flow and
// against the account.
func (h *Hosted) CompleteReset(ctx context.Context, pool idgate.Pool, handle, code, password string, actor idgate.Actor) (ResetResult, error) {
	f, err := h.flow(ctx, pool.ID, handle, idgate.StepResetCode)
	if err != nil {
		return ResetResult{}, err
	}
	if err := CheckPassword(pool, password); err != nil {
		return ResetResult{}, err
	}
	f, err = h.checkCode(ctx, f, totp.Normalize(code))
	if err != nil {
		var ie *idgate.Error
		if errors.As(err, &ie) {
			_ = h.logEvent(ctx, pool, idgate.EventEmailCodeFailed, actor, f.UserSub, map[string]any{"reason": codeFailure(err), "purpose": f.Purpose})
			if errors.Is(err, ErrCodeWrong) || errors.Is(err, ErrTooManyAttempts) {
				if ferr := h.recordFailure(ctx, pool, f.Email, f.UserSub, actor); ferr != nil {
					return ResetResult{}, ferr
				}
			}
		}
		return ResetResult{}, err
	}
	hash, err := h.svc.hasher.Hash(ctx, password)
	if err != nil {
		return ResetResult{}, err
	}
	now := h.now()
	var ended []string
	err = h.store.InTx(ctx, func(tx idgate.Store) error {
		u, err := tx.UpdateUser(ctx, pool.ID, f.UserSub, func(u idgate.User) (idgate.User, error) {
			if u.Status == idgate.StatusDisabled {
				return u, ErrFlowGone
			}
			u.PasswordHash, u.UpdatedAt = hash, now
			if u.Status == idgate.StatusUnconfirmed { // the code proved the address
				u.Status, u.EmailVerified = idgate.StatusConfirmed, true
			}
			return u, nil
		})
		if errors.Is(err, idgate.ErrNotFound) {
			return ErrFlowGone
		}
		if err != nil {
			return err
		}
		if ended, err = tx.EndUserSessions(ctx, pool.ID, u.Sub, now, idgate.EndPasswordChanged, ""); err != nil {
			return err
		}
		hosted, err := tx.EndUserHostedSessions(ctx, pool.ID, u.Sub, now, idgate.EndPasswordChanged)
		if err != nil {
			return err
		}
		if _, err := tx.UpdateLoginThrottle(ctx, pool.ID, throttleKey(u.Email), func(idgate.LoginThrottle) (idgate.LoginThrottle, error) {
			return idgate.LoginThrottle{}, nil
		}); err != nil {
			return err
		}
		if err := tx.DeleteLoginFlow(ctx, f.Hash); err != nil {
			return err
		}
		return h.event(ctx, tx, pool, idgate.EventPasswordReset, actor, u.Sub,
			map[string]any{"sessions_ended": len(ended), "hosted_sessions_ended": hosted})
	})
	if err != nil {
		return ResetResult{}, err
	}
	if h.svc.OnSessionsEnded != nil && len(ended) > 0 {
		h.svc.OnSessionsEnded(pool.ID, ended)
	}
	return ResetResult{EndedSessions: ended, Email: f.Email, Request: f.Request}, nil
}
