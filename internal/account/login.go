package account

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/totp"
)

// SignIn checks an email and password on the hosted login page. device is
// the browser's known-device cookie value (may be empty).
//
// Throttling (SPEC §6): failures from devices that never completed a
// sign-in of the account count against it (unknown and registered
// addresses alike); after ThrottleAfter of them, such devices must wait
// (ThrottleBase, doubling per further failure, at most ThrottleMax) and get
// a *WaitError, while a known device of the user still signs in. Unknown
// emails and wrong passwords cost the same argon2id work and get the same
// ErrBadCredentials.
func (h *Hosted) SignIn(ctx context.Context, pool idgate.Pool, email, password, device, request string, actor idgate.Actor) (Outcome, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := h.store.GetUserByEmail(ctx, pool.ID, email)
	if err != nil && !errors.Is(err, idgate.ErrNotFound) {
		return Outcome{}, err
	}
	known := u.Sub != "" && h.knownDevice(ctx, pool.ID, u.Sub, device)
	if !known {
		if err := h.checkThrottle(ctx, pool, email); err != nil {
			_ = h.logEvent(ctx, pool, idgate.EventLoginFailed, actor, u.Sub, map[string]any{"reason": "throttled"})
			return Outcome{}, err
		}
	}
	ok, verr := h.svc.hasher.Verify(ctx, password, u.PasswordHash) // empty hash: dummy work, false
	if verr != nil && !errors.Is(verr, secret.ErrMalformedHash) {
		return Outcome{}, verr
	}
	reason := ""
	switch {
	case u.Sub == "":
		reason = "unknown_user"
	case !ok:
		reason = "wrong_password"
	case u.Status == idgate.StatusDisabled:
		reason = "disabled"
	case u.Status == idgate.StatusUnconfirmed:
		reason = "unconfirmed"
	}
	if reason != "" {
		if err := h.logEvent(ctx, pool, idgate.EventLoginFailed, actor, u.Sub, map[string]any{"reason": reason, "known_device": known}); err != nil {
			return Outcome{}, err
		}
		if !known && (reason == "unknown_user" || reason == "wrong_password") {
			if err := h.recordFailure(ctx, pool, email, u.Sub, actor); err != nil {
				return Outcome{}, err
			}
		}
		switch reason {
		case "unconfirmed":
			return Outcome{}, &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "this account's email address is not verified yet"}
		case "disabled":
			return Outcome{}, &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "this account is disabled"}
		}
		return Outcome{}, ErrBadCredentials
	}
	handle, _ := newHandle()
	f, err := h.createFlow(ctx, handle, idgate.LoginFlow{
		PoolID: pool.ID, Purpose: idgate.FlowLogin, Step: idgate.StepMFA, UserSub: u.Sub, Email: u.Email,
		Request: request, AuthTime: h.now(), AMR: []string{"pwd"},
	})
	if err != nil {
		return Outcome{}, err
	}
	out, err := h.afterPassword(ctx, pool, handle, f, u)
	if err != nil || !out.Done() {
		return out, err // failures are forgotten only once the whole sign-in succeeds
	}
	if err := h.forgetFailures(ctx, pool, email); err != nil {
		return Outcome{}, err
	}
	return out, h.logEvent(ctx, pool, idgate.EventLoginSucceeded, actor, u.Sub, map[string]any{"method": "pwd", "amr": out.AMR})
}

// VerifyMFA checks the second factor of a sign-in: a 6-digit TOTP code
// (refused when its time step was used before) or a recovery code (single
// use). Wrong codes count per flow and, from unknown devices, against the
// account.
func (h *Hosted) VerifyMFA(ctx context.Context, pool idgate.Pool, handle, code, device string, actor idgate.Actor) (Outcome, error) {
	f, err := h.flow(ctx, pool.ID, handle, idgate.StepMFA)
	if err != nil {
		return Outcome{}, err
	}
	if f.Attempts >= h.lim.CodeAttempts {
		_ = h.store.DeleteLoginFlow(ctx, f.Hash)
		return Outcome{}, ErrTooManyAttempts
	}
	u, err := h.store.GetUser(ctx, pool.ID, f.UserSub)
	if err != nil || len(u.TOTPSecret) == 0 || u.Status != idgate.StatusConfirmed {
		return Outcome{}, ErrFlowGone
	}
	if h.sealer == nil {
		return Outcome{}, ErrMFAUnavailable
	}
	code = totp.Normalize(code)
	if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
		raw, err := h.sealer.Open(u.TOTPSecret, totpAAD(pool.ID, u.Sub))
		if err != nil {
			return Outcome{}, err
		}
		step, ok := totp.Match(string(raw), code, h.now())
		if !ok {
			return Outcome{}, h.mfaFailed(ctx, pool, f, device, "wrong_code", ErrMFAWrong, actor)
		}
		err = h.store.UseTOTPStep(ctx, pool.ID, u.Sub, step)
		if errors.Is(err, idgate.ErrUsed) {
			return Outcome{}, h.mfaFailed(ctx, pool, f, device, "replayed_code", ErrMFAReplayed, actor)
		}
		if err != nil {
			return Outcome{}, err
		}
		return h.mfaPassed(ctx, pool, f, u, []string{"pwd", "otp"}, actor, nil)
	}
	err = h.store.UseRecoveryCode(ctx, pool.ID, u.Sub, recoveryHash(u.Sub, code), h.now())
	if errors.Is(err, idgate.ErrNotFound) || errors.Is(err, idgate.ErrUsed) {
		return Outcome{}, h.mfaFailed(ctx, pool, f, device, "wrong_recovery_code", ErrMFAWrong, actor)
	}
	if err != nil {
		return Outcome{}, err
	}
	left, err := h.store.CountRecoveryCodes(ctx, pool.ID, u.Sub)
	if err != nil {
		return Outcome{}, err
	}
	return h.mfaPassed(ctx, pool, f, u, []string{"pwd", "mfa"}, actor, map[string]any{"recovery_codes_left": left})
}

// mfaPassed completes a sign-in after its second factor.
func (h *Hosted) mfaPassed(ctx context.Context, pool idgate.Pool, f idgate.LoginFlow, u idgate.User, amr []string, actor idgate.Actor, recovery map[string]any) (Outcome, error) {
	err := h.store.InTx(ctx, func(tx idgate.Store) error {
		if recovery != nil {
			if err := h.event(ctx, tx, pool, idgate.EventRecoveryCodeUsed, actor, u.Sub, recovery); err != nil {
				return err
			}
		}
		return h.event(ctx, tx, pool, idgate.EventLoginSucceeded, actor, u.Sub, map[string]any{"method": "pwd", "amr": amr})
	})
	if err != nil {
		return Outcome{}, err
	}
	if err := h.forgetFailures(ctx, pool, f.Email); err != nil {
		return Outcome{}, err
	}
	return h.done(ctx, f, u, amr)
}

// throttleKey identifies an email's failure record (its digest: the
// record holds no address).
func throttleKey(email string) string {
	return secret.Digest("login-throttle:" + strings.ToLower(strings.TrimSpace(email)))
}

// checkThrottle returns a *WaitError while the email is locked for unknown
// devices.
func (h *Hosted) checkThrottle(ctx context.Context, pool idgate.Pool, email string) error {
	t, err := h.store.GetLoginThrottle(ctx, pool.ID, throttleKey(email))
	if errors.Is(err, idgate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if wait := t.LockedUntil.Sub(h.now()); wait > 0 {
		return waitMessage("Too many failed sign-in attempts for this account.", wait)
	}
	return nil
}

// lockFor is the lock after n failures: none below ThrottleAfter, then
// ThrottleBase doubling with each further failure, at most ThrottleMax.
func (h *Hosted) lockFor(n int) time.Duration {
	if n < h.lim.ThrottleAfter {
		return 0
	}
	d := h.lim.ThrottleBase
	for i := h.lim.ThrottleAfter; i < n && d < h.lim.ThrottleMax; i++ {
		d *= 2
	}
	return min(d, h.lim.ThrottleMax)
}

// recordFailure counts a failure against the email and records a lockout
// event when it starts or extends a lock.
func (h *Hosted) recordFailure(ctx context.Context, pool idgate.Pool, email, sub string, actor idgate.Actor) error {
	now := h.now()
	t, err := h.store.UpdateLoginThrottle(ctx, pool.ID, throttleKey(email), func(old idgate.LoginThrottle) (idgate.LoginThrottle, error) {
		if now.Sub(old.LastFailureAt) > h.lim.ThrottleWindow {
			old.Failures = 0
		}
		old.Failures++
		old.LastFailureAt = now
		if d := h.lockFor(old.Failures); d > 0 {
			old.LockedUntil = now.Add(d)
		}
		return old, nil
	})
	if err != nil {
		return err
	}
	if d := h.lockFor(t.Failures); d > 0 {
		return h.logEvent(ctx, pool, idgate.EventLockout, actor, sub, map[string]any{"failures": t.Failures, "locked_seconds": int(d / time.Second)})
	}
	return nil
}

// forgetFailures clears the email's failures after a complete sign-in.
// A lock in force stays: a known device signing in during an attack must
// not hand the attacker a fresh set of attempts.
func (h *Hosted) forgetFailures(ctx context.Context, pool idgate.Pool, email string) error {
	now := h.now()
	t, err := h.store.GetLoginThrottle(ctx, pool.ID, throttleKey(email))
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && t.LockedUntil.After(now)) {
		return nil // nothing to forget (the common case: no write), or a lock in force
	}
	if err != nil {
		return err
	}
	_, err = h.store.UpdateLoginThrottle(ctx, pool.ID, throttleKey(email), func(old idgate.LoginThrottle) (idgate.LoginThrottle, error) {
		if old.LockedUntil.After(now) {
			return old, nil
		}
		return idgate.LoginThrottle{}, nil
	})
	return err
}

// knownDevice reports whether the device cookie value belongs to a device
// that completed a sign-in of the user and has not expired.
func (h *Hosted) knownDevice(ctx context.Context, poolID, sub, device string) bool {
	if device == "" || sub == "" {
		return false
	}
	d, err := h.store.GetKnownDevice(ctx, poolID, sub, secret.Digest(device))
	return err == nil && h.now().Before(d.ExpiresAt)
}

// RememberDevice records the browser as a known device of the user after a
// completed sign-in and returns the device cookie value to keep (device,
// or a new one when it was empty). A sign-in from a browser the user has
// not used before, by a user who has signed in before, raises a
// login.new_device event and, when the pool has NewDeviceAlerts, emails
// the user "new sign-in to your account" with a link to accountURL.
func (h *Hosted) RememberDevice(ctx context.Context, pool idgate.Pool, u idgate.User, device, accountURL string, actor idgate.Actor) (string, error) {
	known := h.knownDevice(ctx, pool.ID, u.Sub, device)
	if device == "" {
		device = idgate.NewSecret("")
	}
	now := h.now()
	if err := h.store.RememberDevice(ctx, idgate.KnownDevice{Hash: secret.Digest(device), PoolID: pool.ID, UserSub: u.Sub,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(h.lim.DeviceTTL)}); err != nil {
		return "", err
	}
	if known {
		return device, nil
	}
	prior, err := h.store.ListSessions(ctx, pool.ID, u.Sub)
	if err != nil || len(prior) == 0 {
		return device, err // first sign-in ever: nothing to compare with
	}
	browser := DescribeUserAgent(actor.UserAgent)
	if err := h.logEvent(ctx, pool, idgate.EventNewDevice, actor, u.Sub, map[string]any{"device": browser, "alerted": pool.NewDeviceAlerts}); err != nil {
		return device, err
	}
	if pool.NewDeviceAlerts {
		h.alertNewDevice(ctx, pool, u, browser, actor.IP, accountURL, now)
	}
	return device, nil
}

// alertNewDevice emails the new-sign-in alert; a mail failure is logged,
// the sign-in goes on.
func (h *Hosted) alertNewDevice(ctx context.Context, pool idgate.Pool, u idgate.User, browser, ip, accountURL string, at time.Time) {
	if h.svc.mailer == nil || h.svc.emails == nil {
		return
	}
	msg, err := h.svc.emails.Render(notify.TemplateNewSignin, notify.NewSigninData{
		Brand: notify.Brand{AppName: h.svc.brandName(ctx, pool)}, SignedInAt: at, Browser: browser, IP: ip, AccountURL: accountURL})
	if err == nil {
		msg.To, msg.ProjectID = u.Email, pool.ProjectID
		err = h.svc.mailer.Send(ctx, msg)
	}
	if err != nil {
		slog.ErrorContext(ctx, "new sign-in alert not sent", "pool", pool.ID, "err", err.Error())
	}
}
