package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
)

// HostedLimits are the user-visible numbers of the hosted login (written
// down in docs/hosted-login.md). DefaultHostedLimits gives the defaults.
type HostedLimits struct {
	FlowTTL        time.Duration // a multi-step flow must finish within this
	CodeTTL        time.Duration // an emailed code is valid this long
	CodeAttempts   int           // wrong emailed or MFA codes per flow before it is void
	ResendCooldown time.Duration // minimum time between two emailed codes of a flow
	ThrottleAfter  int           // failures from unknown devices before the account is throttled
	ThrottleBase   time.Duration // first lock; it doubles with every further failure
	ThrottleMax    time.Duration // the longest lock
	ThrottleWindow time.Duration // failures older than this are forgotten
	DeviceTTL      time.Duration // how long a browser stays a known device without signing in
	HostedSession  time.Duration // hosted session lifetime when the pool sets none
}

// DefaultHostedLimits returns the defaults: flows 30 minutes, codes 15
// minutes, 5 attempts, 60 s resend cooldown, throttling after 5 failures
// with locks of 1 minute doubling up to 1 hour, failures forgotten after
// 24 hours, known devices for 180 days, hosted sessions of 1 hour.
func DefaultHostedLimits() HostedLimits {
	return HostedLimits{
		FlowTTL: 30 * time.Minute, CodeTTL: 15 * time.Minute, CodeAttempts: 5, ResendCooldown: time.Minute,
		ThrottleAfter: 5, ThrottleBase: time.Minute, ThrottleMax: time.Hour, ThrottleWindow: 24 * time.Hour,
		DeviceTTL: 180 * 24 * time.Hour, HostedSession: time.Hour,
	}
}

// Hosted implements the use-cases behind the hosted login pages: sign-up
// with email verification, password sign-in with TOTP or a recovery code,
// TOTP enrolment, password reset, hosted (SSO) sessions, known devices and
// per-account throttling. Multi-step state lives in the store (LoginFlow);
// callers hold only the flow's random handle.
type Hosted struct {
	svc    *Service
	store  idgate.Store
	sealer *secret.Sealer
	lim    HostedLimits
}

// Hosted returns the hosted-login use-cases over the service's store,
// hasher and mailer. sealer (the master key) encrypts TOTP secrets and
// pending values; zero fields of lim take the defaults.
func (s *Service) Hosted(sealer *secret.Sealer, lim HostedLimits) *Hosted {
	def := DefaultHostedLimits()
	pick := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	lim.FlowTTL, lim.CodeTTL = pick(lim.FlowTTL, def.FlowTTL), pick(lim.CodeTTL, def.CodeTTL)
	lim.ResendCooldown = pick(lim.ResendCooldown, def.ResendCooldown)
	lim.ThrottleBase, lim.ThrottleMax = pick(lim.ThrottleBase, def.ThrottleBase), pick(lim.ThrottleMax, def.ThrottleMax)
	lim.ThrottleWindow, lim.DeviceTTL = pick(lim.ThrottleWindow, def.ThrottleWindow), pick(lim.DeviceTTL, def.DeviceTTL)
	lim.HostedSession = pick(lim.HostedSession, def.HostedSession)
	if lim.CodeAttempts <= 0 {
		lim.CodeAttempts = def.CodeAttempts
	}
	if lim.ThrottleAfter <= 0 {
		lim.ThrottleAfter = def.ThrottleAfter
	}
	return &Hosted{svc: s, store: s.store, sealer: sealer, lim: lim}
}

// Limits returns the limits in force.
func (h *Hosted) Limits() HostedLimits { return h.lim }

func (h *Hosted) now() time.Time { return h.svc.now() }

// The user-facing errors of the hosted flows. Their descriptions are shown
// on the pages as they are.
var (
	// ErrFlowGone: the flow handle is unknown, expired, or at another step.
	ErrFlowGone = &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "This step has expired or was already completed. Please start again."}
	// ErrCodeWrong: the emailed code does not match.
	ErrCodeWrong = &idgate.Error{Code: idgate.CodeInvalidGrant, Field: "code", Description: "That code is not correct. Check the email and try again."}
	// ErrCodeExpired: the emailed code is too old.
	ErrCodeExpired = &idgate.Error{Code: idgate.CodeInvalidGrant, Field: "code", Description: "This code has expired. Send a new code and try again."}
	// ErrTooManyAttempts: the flow saw too many wrong codes and is void.
	ErrTooManyAttempts = &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "Too many incorrect codes. Please start again."}
	// ErrMFAWrong: the TOTP or recovery code does not match.
	ErrMFAWrong = &idgate.Error{Code: idgate.CodeInvalidGrant, Field: "code", Description: "That code is not correct. Try the current code from your authenticator app."}
	// ErrMFAReplayed: the TOTP code's time step was used before.
	ErrMFAReplayed = &idgate.Error{Code: idgate.CodeInvalidGrant, Field: "code", Description: "That code was already used. Wait for the next code from your authenticator app."}
	// ErrEmailTaken: a verified sign-up found the address registered. Only
	// the mailbox owner (who got the code) ever sees it.
	ErrEmailTaken = &idgate.Error{Code: idgate.CodeConflict, Description: "An account with this email address already exists. Sign in, or reset your password."}
	// ErrMFAUnavailable: the server has no master key for TOTP secrets.
	ErrMFAUnavailable = &idgate.Error{Code: idgate.CodeUnavailable, Description: "Two-factor authentication is not available on this server."}
)

// WaitError asks the caller to wait: a throttled account or a resend
// within the cooldown. Description is shown to the user.
type WaitError struct {
	Wait        time.Duration
	Description string
}

// Error returns the description shown to the user.
func (e *WaitError) Error() string { return e.Description }

// waitMessage renders a wait in words ("1 minute", "3 minutes").
func waitMessage(prefix string, d time.Duration) *WaitError {
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	unit := strconv.Itoa(secs) + " seconds"
	if secs >= 90 {
		unit = strconv.Itoa((secs+59)/60) + " minutes"
	} else if secs == 1 {
		unit = "1 second"
	}
	return &WaitError{Wait: time.Duration(secs) * time.Second, Description: prefix + " Try again in " + unit + "."}
}

// Outcome is where a hosted step left the person: either a next step of
// the flow (Handle and Step set) or, when Step is empty, a completed
// sign-in of User with AuthTime and AMR, for the authorization Request.
type Outcome struct {
	Handle   string
	Step     string
	User     idgate.User
	AuthTime time.Time
	AMR      []string
	Request  string
	// RecoveryCodes are shown once, right after an enrolment.
	RecoveryCodes []string
}

// Done reports whether the sign-in is complete.
func (o Outcome) Done() bool { return o.Step == "" }

func (h *Hosted) event(ctx context.Context, tx idgate.Store, pool idgate.Pool, typ string, actor idgate.Actor, sub string, data map[string]any) error {
	return h.svc.event(ctx, tx, pool, typ, actor, sub, data)
}

// logEvent records an event outside any other change (failures).
func (h *Hosted) logEvent(ctx context.Context, pool idgate.Pool, typ string, actor idgate.Actor, sub string, data map[string]any) error {
	return h.store.InTx(ctx, func(tx idgate.Store) error { return h.event(ctx, tx, pool, typ, actor, sub, data) })
}

// flow loads a live flow of the pool at one of the steps.
func (h *Hosted) flow(ctx context.Context, poolID, handle string, steps ...string) (idgate.LoginFlow, error) {
	if handle == "" {
		return idgate.LoginFlow{}, ErrFlowGone
	}
	f, err := h.store.GetLoginFlow(ctx, secret.Digest(handle))
	if errors.Is(err, idgate.ErrNotFound) {
		return f, ErrFlowGone
	}
	if err != nil {
		return f, err
	}
	if f.PoolID != poolID || !h.now().Before(f.ExpiresAt) {
		return f, ErrFlowGone
	}
	for _, s := range steps {
		if f.Step == s {
			return f, nil
		}
	}
	return f, ErrFlowGone
}

// FlowStep returns the step a live flow is at, its email and request (for
// showing the page of that step).
func (h *Hosted) FlowStep(ctx context.Context, poolID, handle string) (step, email, request string, err error) {
	f, err := h.flow(ctx, poolID, handle, idgate.StepVerifyEmail, idgate.StepMFA, idgate.StepEnrolTOTP,
		idgate.StepOfferMFA, idgate.StepResetCode)
	return f.Step, f.Email, f.Request, err
}

// codeHash binds an emailed code to its flow.
func codeHash(flowHash, code string) string { return secret.Digest(flowHash + ":" + code) }

// newCode returns a fresh 6-digit code.
func newCode() string { return idgate.RandomString("0123456789", 6) }

// checkCode verifies an emailed code of f and counts a wrong one. It
// returns the updated flow.
func (h *Hosted) checkCode(ctx context.Context, f idgate.LoginFlow, code string) (idgate.LoginFlow, error) {
	var verdict error
	f, err := h.store.UpdateLoginFlow(ctx, f.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		switch {
		case old.Attempts >= h.lim.CodeAttempts:
			verdict = ErrTooManyAttempts
		case !h.now().Before(old.CodeExpiresAt):
			verdict = ErrCodeExpired
		case old.CodeHash == "" || subtle.ConstantTimeCompare([]byte(codeHash(old.Hash, code)), []byte(old.CodeHash)) != 1:
			old.Attempts++
			verdict = ErrCodeWrong
			if old.Attempts >= h.lim.CodeAttempts {
				verdict = ErrTooManyAttempts
			}
		default:
			old.CodeHash = "" // single use
		}
		return old, nil
	})
	if err != nil {
		return f, err
	}
	return f, verdict
}

// sendCode renders and sends an emailed code. A failure to send is logged
// and reported, since the user cannot go on without the code.
func (h *Hosted) sendCode(ctx context.Context, pool idgate.Pool, template, email, code string) error {
	if h.svc.mailer == nil || h.svc.emails == nil {
		return errors.New("no mailer configured")
	}
	brand := notify.Brand{AppName: h.svc.brandName(ctx, pool)}
	var data any = notify.VerifyEmailData{Brand: brand, Code: code, ValidFor: h.lim.CodeTTL}
	if template == notify.TemplatePasswordReset {
		data = notify.PasswordResetData{Brand: brand, Code: code, ValidFor: h.lim.CodeTTL}
	}
	msg, err := h.svc.emails.Render(template, data)
	if err == nil {
		msg.To, msg.ProjectID = email, pool.ProjectID
		err = h.svc.mailer.Send(ctx, msg)
	}
	if err != nil {
		slog.ErrorContext(ctx, "email code not sent", "pool", pool.ID, "template", template, "err", err.Error())
		return fmt.Errorf("send %s: %w", template, err)
	}
	return nil
}

// ResendCode sends a new code for a flow waiting on one (sign-up
// verification or password reset), at most once per cooldown. The old code
// stops working; wrong attempts keep counting.
func (h *Hosted) ResendCode(ctx context.Context, pool idgate.Pool, handle string, actor idgate.Actor) error {
	f, err := h.flow(ctx, pool.ID, handle, idgate.StepVerifyEmail, idgate.StepResetCode)
	if err != nil {
		return err
	}
	now := h.now()
	if wait := f.CodeSentAt.Add(h.lim.ResendCooldown).Sub(now); wait > 0 {
		return waitMessage("A code was sent moments ago; check your inbox and spam folder.", wait)
	}
	if f.Attempts >= h.lim.CodeAttempts {
		return ErrTooManyAttempts
	}
	code := newCode()
	if _, err := h.store.UpdateLoginFlow(ctx, f.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		old.CodeHash, old.CodeSentAt, old.CodeExpiresAt = codeHash(old.Hash, code), now, now.Add(h.lim.CodeTTL)
		return old, nil
	}); err != nil {
		return err
	}
	return h.deliverCode(ctx, pool, f, code)
}

// deliverCode sends the flow's code to its address. A reset code is sent
// in the background (a failure is logged): answering only after the SMTP
// round trip, or reporting its failure, would tell registered addresses
// from others. Decoy reset flows (no account) send nothing.
func (h *Hosted) deliverCode(ctx context.Context, pool idgate.Pool, f idgate.LoginFlow, code string) error {
	switch {
	case f.Purpose == idgate.FlowSignUp:
		return h.sendCode(ctx, pool, notify.TemplateVerifyEmail, f.Email, code)
	case f.Purpose == idgate.FlowReset && f.UserSub != "":
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = h.sendCode(ctx, pool, notify.TemplatePasswordReset, f.Email, code) // logged by sendCode
		}()
	}
	return nil
}

// done finishes a flow: it is deleted and the outcome carries the user.
func (h *Hosted) done(ctx context.Context, f idgate.LoginFlow, u idgate.User, amr []string) (Outcome, error) {
	if err := h.store.DeleteLoginFlow(ctx, f.Hash); err != nil {
		return Outcome{}, err
	}
	at := f.AuthTime
	if at.IsZero() {
		at = h.now()
	}
	return Outcome{User: u, AuthTime: at, AMR: amr, Request: f.Request}, nil
}
