package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/totp"
)

// pendingAAD binds a flow's sealed pending value to the flow and its use.
func pendingAAD(flowHash, use string) string { return "hosted-pending:" + use + ":" + flowHash }

// newHandle returns a fresh flow handle and its digest.
func newHandle() (handle, hash string) {
	handle = idgate.NewSecret("")
	return handle, secret.Digest(handle)
}

// createFlow stores a flow under the handle.
func (h *Hosted) createFlow(ctx context.Context, handle string, f idgate.LoginFlow) (idgate.LoginFlow, error) {
	now := h.now()
	f.Hash, f.CreatedAt, f.ExpiresAt = secret.Digest(handle), now, now.Add(h.lim.FlowTTL)
	if err := h.store.CreateLoginFlow(ctx, f); err != nil {
		return f, fmt.Errorf("create flow: %w", err)
	}
	return f, nil
}

// StartSignUp begins a sign-up: it checks the email and the pool's password
// policy, emails a 6-digit code and returns the flow waiting for it. The
// account is created only once the code proves the address, so an address
// that is already registered goes through the very same steps (and only
// its owner, reading the code, learns that it is taken).
func (h *Hosted) StartSignUp(ctx context.Context, pool idgate.Pool, email, password, request string, actor idgate.Actor) (Outcome, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return Outcome{}, err
	}
	if err := CheckPassword(pool, password); err != nil {
		return Outcome{}, err
	}
	if h.sealer == nil {
		return Outcome{}, ErrMFAUnavailable
	}
	hash, err := h.svc.hasher.Hash(ctx, password)
	if err != nil {
		return Outcome{}, err
	}
	handle, flowHash := newHandle()
	code, now := newCode(), h.now()
	f, err := h.createFlow(ctx, handle, idgate.LoginFlow{
		PoolID: pool.ID, Purpose: idgate.FlowSignUp, Step: idgate.StepVerifyEmail, Email: email, Request: request,
		CodeHash: codeHash(flowHash, code), CodeSentAt: now, CodeExpiresAt: now.Add(h.lim.CodeTTL),
		PendingSecret: h.sealer.Seal([]byte(hash), pendingAAD(flowHash, "password")),
	})
	if err != nil {
		return Outcome{}, err
	}
	if err := h.deliverCode(ctx, pool, f, code); err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: handle, Step: f.Step, Request: request}, nil
}

// VerifyEmail checks the emailed code of a sign-up. On success the account
// exists, confirmed, and the flow moves on per the pool's MFA policy:
// enrolment (required), an offer to enrol (optional), or done (off).
func (h *Hosted) VerifyEmail(ctx context.Context, pool idgate.Pool, handle, code string, actor idgate.Actor) (Outcome, error) {
	f, err := h.flow(ctx, pool.ID, handle, idgate.StepVerifyEmail)
	if err != nil {
		return Outcome{}, err
	}
	if f.Purpose != idgate.FlowSignUp {
		return Outcome{}, ErrFlowGone
	}
	f, err = h.checkCode(ctx, f, totp.Normalize(code))
	if err != nil {
		var ie *idgate.Error
		if errors.As(err, &ie) {
			_ = h.logEvent(ctx, pool, idgate.EventEmailCodeFailed, actor, "", map[string]any{"reason": codeFailure(err), "purpose": f.Purpose})
		}
		return Outcome{}, err
	}
	raw, err := h.sealer.Open(f.PendingSecret, pendingAAD(f.Hash, "password"))
	if err != nil {
		return Outcome{}, fmt.Errorf("open pending password: %w", err)
	}
	user, err := h.confirmAccount(ctx, pool, f.Email, string(raw), actor)
	if err != nil {
		if errors.Is(err, ErrEmailTaken) {
			_ = h.store.DeleteLoginFlow(ctx, f.Hash)
		}
		return Outcome{}, err
	}
	now := h.now()
	f, err = h.store.UpdateLoginFlow(ctx, f.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		old.UserSub, old.AuthTime, old.AMR, old.PendingSecret, old.Attempts = user.Sub, now, []string{"pwd"}, nil, 0
		return old, nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return h.afterPassword(ctx, pool, handle, f, user)
}

// codeFailure names a code failure for the audit event.
func codeFailure(err error) string {
	switch {
	case errors.Is(err, ErrCodeExpired):
		return "expired"
	case errors.Is(err, ErrTooManyAttempts):
		return "too_many_attempts"
	}
	return "wrong_code"
}

// confirmAccount creates the verified account, or confirms an unconfirmed
// one an administrator created with that address (its owner just proved
// the address and chose the password). A confirmed or disabled account
// with the address makes the sign-up fail with ErrEmailTaken.
func (h *Hosted) confirmAccount(ctx context.Context, pool idgate.Pool, email, passwordHash string, actor idgate.Actor) (idgate.User, error) {
	now := h.now()
	var user idgate.User
	err := h.store.InTx(ctx, func(tx idgate.Store) error {
		old, err := tx.GetUserByEmail(ctx, pool.ID, email)
		switch {
		case errors.Is(err, idgate.ErrNotFound):
			user = idgate.User{Sub: idgate.NewUUID(), PoolID: pool.ID, Email: email, EmailVerified: true,
				PasswordHash: passwordHash, Status: idgate.StatusConfirmed, CreatedAt: now, UpdatedAt: now}
			user.Username = user.Sub
			if err := tx.CreateUser(ctx, user); err != nil {
				return err
			}
			if err := h.event(ctx, tx, pool, idgate.EventSignUp, actor, user.Sub, nil); err != nil {
				return err
			}
		case err != nil:
			return err
		case old.Status != idgate.StatusUnconfirmed:
			return ErrEmailTaken
		default:
			user, err = tx.UpdateUser(ctx, pool.ID, old.Sub, func(u idgate.User) (idgate.User, error) {
				u.PasswordHash, u.Status, u.EmailVerified, u.UpdatedAt = passwordHash, idgate.StatusConfirmed, true, now
				return u, nil
			})
			if err != nil {
				return err
			}
		}
		return h.event(ctx, tx, pool, idgate.EventEmailVerified, actor, user.Sub, nil)
	})
	if errors.Is(err, idgate.ErrConflict) {
		return idgate.User{}, ErrEmailTaken
	}
	return user, err
}

// afterPassword decides what follows a proven password (sign-in) or a
// verified sign-up: the MFA challenge when the user has an authenticator,
// enrolment when the pool requires one, an offer when it is optional (at
// sign-up only), otherwise the sign-in is complete.
func (h *Hosted) afterPassword(ctx context.Context, pool idgate.Pool, handle string, f idgate.LoginFlow, u idgate.User) (Outcome, error) {
	next := ""
	switch {
	case len(u.TOTPSecret) > 0 && pool.MFAPolicy != idgate.MFAOff:
		next = idgate.StepMFA
	case pool.MFAPolicy == idgate.MFARequired:
		next = idgate.StepEnrolTOTP
	case pool.MFAPolicy == idgate.MFAOptional && f.Purpose == idgate.FlowSignUp:
		next = idgate.StepOfferMFA
	default:
		return h.done(ctx, f, u, []string{"pwd"})
	}
	if next == idgate.StepEnrolTOTP && h.sealer == nil {
		return Outcome{}, ErrMFAUnavailable
	}
	f, err := h.store.UpdateLoginFlow(ctx, f.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		old.Step, old.Attempts = next, 0
		if next == idgate.StepEnrolTOTP {
			old.PendingSecret = h.sealer.Seal([]byte(totp.NewSecret()), pendingAAD(old.Hash, "totp"))
		}
		return old, nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: handle, Step: f.Step, User: u, Request: f.Request}, nil
}

// ChooseMFA answers the optional-MFA offer: enrol now, or skip and finish
// the sign-in (the account page offers enrolment later).
func (h *Hosted) ChooseMFA(ctx context.Context, pool idgate.Pool, handle string, enrol bool) (Outcome, error) {
	f, err := h.flow(ctx, pool.ID, handle, idgate.StepOfferMFA)
	if err != nil {
		return Outcome{}, err
	}
	u, err := h.store.GetUser(ctx, pool.ID, f.UserSub)
	if err != nil {
		return Outcome{}, ErrFlowGone
	}
	if !enrol {
		return h.done(ctx, f, u, f.AMR)
	}
	if h.sealer == nil {
		return Outcome{}, ErrMFAUnavailable
	}
	f, err = h.store.UpdateLoginFlow(ctx, f.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		old.Step, old.Attempts = idgate.StepEnrolTOTP, 0
		old.PendingSecret = h.sealer.Seal([]byte(totp.NewSecret()), pendingAAD(old.Hash, "totp"))
		return old, nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: handle, Step: f.Step, User: u, Request: f.Request}, nil
}

// StartEnrolment begins the enrolment of an authenticator (or its
// replacement) for a signed-in user, from the account page.
func (h *Hosted) StartEnrolment(ctx context.Context, pool idgate.Pool, u idgate.User) (Outcome, error) {
	if h.sealer == nil {
		return Outcome{}, ErrMFAUnavailable
	}
	handle, flowHash := newHandle()
	f, err := h.createFlow(ctx, handle, idgate.LoginFlow{
		PoolID: pool.ID, Purpose: idgate.FlowEnrol, Step: idgate.StepEnrolTOTP, UserSub: u.Sub, Email: u.Email,
		PendingSecret: h.sealer.Seal([]byte(totp.NewSecret()), pendingAAD(flowHash, "totp")),
		AuthTime:      h.now(), AMR: []string{"pwd"},
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: handle, Step: f.Step, User: u}, nil
}
