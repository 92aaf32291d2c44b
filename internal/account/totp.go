package account

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/totp"
)

// Recovery codes.
const (
	recoveryCodeCount = 10
	// recoveryAlphabet leaves out look-alikes (0/o, 1/l/i).
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
)

// totpAAD binds a user's sealed TOTP secret to the user.
func totpAAD(poolID, sub string) string { return "totp:" + poolID + ":" + sub }

// Enrolment is what the enrolment page shows: the secret for manual entry
// and the otpauth URI the QR code encodes.
type Enrolment struct {
	Secret string
	URI    string
	Email  string
}

// EnrolmentKey returns the pending authenticator of a flow at the
// enrolment step.
func (h *Hosted) EnrolmentKey(ctx context.Context, pool idgate.Pool, handle string) (Enrolment, error) {
	f, err := h.flow(ctx, pool.ID, handle, idgate.StepEnrolTOTP)
	if err != nil {
		return Enrolment{}, err
	}
	raw, err := h.sealer.Open(f.PendingSecret, pendingAAD(f.Hash, "totp"))
	if err != nil {
		return Enrolment{}, fmt.Errorf("open pending totp secret: %w", err)
	}
	issuer := h.svc.brandName(ctx, pool)
	return Enrolment{Secret: string(raw), URI: otpauthURI(issuer, f.Email, string(raw)), Email: f.Email}, nil
}

// otpauthURI is the Key URI Format authenticator apps scan.
func otpauthURI(issuer, account, secretB32 string) string {
	q := url.Values{"secret": {secretB32}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: q.Encode()}
	return u.String()
}

// ConfirmEnrolment checks the first code of the pending authenticator. On
// success the secret is stored (sealed, bound to the user), its step is
// remembered (the same code cannot sign in again), and ten new recovery
// codes replace any old ones; they are returned once, in the Outcome.
func (h *Hosted) ConfirmEnrolment(ctx context.Context, pool idgate.Pool, handle, code string, actor idgate.Actor) (Outcome, error) {
	f, err := h.flow(ctx, pool.ID, handle, idgate.StepEnrolTOTP)
	if err != nil {
		return Outcome{}, err
	}
	if f.Attempts >= h.lim.CodeAttempts {
		_ = h.store.DeleteLoginFlow(ctx, f.Hash)
		return Outcome{}, ErrTooManyAttempts
	}
	raw, err := h.sealer.Open(f.PendingSecret, pendingAAD(f.Hash, "totp"))
	if err != nil {
		return Outcome{}, fmt.Errorf("open pending totp secret: %w", err)
	}
	now := h.now()
	step, ok := totp.Match(string(raw), totp.Normalize(code), now)
	if !ok {
		return Outcome{}, h.mfaFailed(ctx, pool, f, "", "wrong_enrolment_code", ErrMFAWrong, actor)
	}
	codes, hashes := newRecoveryCodes(f.UserSub)
	var user idgate.User
	err = h.store.InTx(ctx, func(tx idgate.Store) error {
		user, err = tx.UpdateUser(ctx, pool.ID, f.UserSub, func(u idgate.User) (idgate.User, error) {
			u.TOTPSecret, u.UpdatedAt = h.sealer.Seal(raw, totpAAD(pool.ID, u.Sub)), now
			return u, nil
		})
		if err != nil {
			return err
		}
		if err := tx.UseTOTPStep(ctx, pool.ID, f.UserSub, step); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, pool.ID, f.UserSub, hashes, now); err != nil {
			return err
		}
		return h.event(ctx, tx, pool, idgate.EventMFAEnrolled, actor, f.UserSub, map[string]any{"method": "totp", "recovery_codes": len(codes)})
	})
	if errors.Is(err, idgate.ErrUsed) {
		return Outcome{}, ErrMFAReplayed
	}
	if err != nil {
		return Outcome{}, err
	}
	amr := []string{"pwd", "otp"}
	if f.Purpose == idgate.FlowEnrol {
		amr = f.AMR
	}
	out, err := h.done(ctx, f, user, amr)
	out.RecoveryCodes = codes
	return out, err
}

// newRecoveryCodes returns fresh recovery codes ("xxxxx-xxxxx", about 49
// bits each) and their digests bound to the user.
func newRecoveryCodes(sub string) (codes, hashes []string) {
	for range recoveryCodeCount {
		c := idgate.RandomString(recoveryAlphabet, 10)
		c = c[:5] + "-" + c[5:]
		codes = append(codes, c)
		hashes = append(hashes, recoveryHash(sub, c))
	}
	return codes, hashes
}

// recoveryHash is the stored form of a recovery code, as typed or not.
func recoveryHash(sub, code string) string {
	c := strings.ToLower(totp.Normalize(code))
	if len(c) == 10 {
		c = c[:5] + "-" + c[5:]
	}
	return secret.Digest("recovery:" + sub + ":" + c)
}

// RenewRecoveryCodes replaces the user's recovery codes (account page) and
// returns the new ones, to be shown once.
func (h *Hosted) RenewRecoveryCodes(ctx context.Context, pool idgate.Pool, u idgate.User, actor idgate.Actor) ([]string, error) {
	if len(u.TOTPSecret) == 0 {
		return nil, &idgate.Error{Code: idgate.CodeConflict, Description: "Set up an authenticator app first."}
	}
	codes, hashes := newRecoveryCodes(u.Sub)
	err := h.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.ReplaceRecoveryCodes(ctx, pool.ID, u.Sub, hashes, h.now()); err != nil {
			return err
		}
		return h.event(ctx, tx, pool, idgate.EventRecoveryCodesRenewed, actor, u.Sub, nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RecoveryCodesLeft returns how many unused recovery codes the user has.
func (h *Hosted) RecoveryCodesLeft(ctx context.Context, poolID, sub string) (int, error) {
	return h.store.CountRecoveryCodes(ctx, poolID, sub)
}

// mfaFailed counts a wrong code in the flow, records the failure and, from
// an unknown device, counts it against the account. It returns verdict, or
// ErrTooManyAttempts once the flow is void.
func (h *Hosted) mfaFailed(ctx context.Context, pool idgate.Pool, f idgate.LoginFlow, device, reason string, verdict error, actor idgate.Actor) error {
	f, err := h.store.UpdateLoginFlow(ctx, f.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		old.Attempts++
		return old, nil
	})
	if err != nil {
		return err
	}
	if err := h.logEvent(ctx, pool, idgate.EventMFAFailed, actor, f.UserSub, map[string]any{"reason": reason}); err != nil {
		return err
	}
	if f.Purpose == idgate.FlowLogin && !h.knownDevice(ctx, pool.ID, f.UserSub, device) {
		if err := h.recordFailure(ctx, pool, f.Email, f.UserSub, actor); err != nil {
			return err
		}
	}
	if f.Attempts >= h.lim.CodeAttempts {
		_ = h.store.DeleteLoginFlow(ctx, f.Hash)
		return ErrTooManyAttempts
	}
	return verdict
}
