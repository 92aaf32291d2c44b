// Package console implements the use-cases of the admin console's
// administrators: the one-time setup of the first administrator,
// invitations for the next ones, sign-in with a password and a TOTP code,
// short-lived sessions with a CSRF token, and the TOTP re-entry that
// destructive actions require. What administrators do to projects and users
// goes through the tenant and account packages, like the admin API.
package console

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/totp"
)

// Limits are the console's lifetimes and thresholds.
type Limits struct {
	// IdleTimeout ends a session not used for that long.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session that long after sign-in, used or not.
	AbsoluteTimeout time.Duration
	// ReauthWindow is how long a TOTP re-entry covers destructive actions.
	ReauthWindow time.Duration
	// SetupTTL and InviteTTL are how long a setup link and an invitation
	// stay valid; SignInTTL how long a sign-in waits for its TOTP code.
	SetupTTL, InviteTTL, SignInTTL time.Duration
	// MaxFailures failed sign-ins in a row lock the account for Lockout.
	MaxFailures int
	Lockout     time.Duration
}

// DefaultLimits: 30 minutes idle, 8 hours absolute, a 5-minute
// re-authentication window, setup links for 24 hours, invitations for 72.
func DefaultLimits() Limits {
	return Limits{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 8 * time.Hour, ReauthWindow: 5 * time.Minute,
		SetupTTL: 24 * time.Hour, InviteTTL: 72 * time.Hour, SignInTTL: 5 * time.Minute, MaxFailures: 5, Lockout: 15 * time.Minute}
}

// Service implements the administrator use-cases.
type Service struct {
	store  idgate.Store
	hasher *secret.Hasher
	sealer *secret.Sealer
	now    func() time.Time
	lim    Limits
}

// NewService returns the console service. Zero fields of lim take the
// defaults.
func NewService(store idgate.Store, hasher *secret.Hasher, sealer *secret.Sealer, lim Limits, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	d := DefaultLimits()
	for _, f := range []struct{ v, def *time.Duration }{{&lim.IdleTimeout, &d.IdleTimeout}, {&lim.AbsoluteTimeout, &d.AbsoluteTimeout},
		{&lim.ReauthWindow, &d.ReauthWindow}, {&lim.SetupTTL, &d.SetupTTL}, {&lim.InviteTTL, &d.InviteTTL}, {&lim.SignInTTL, &d.SignInTTL},
		{&lim.Lockout, &d.Lockout}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if lim.MaxFailures <= 0 {
		lim.MaxFailures = d.MaxFailures
	}
	return &Service{store: store, hasher: hasher, sealer: sealer, now: now, lim: lim}
}

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return s.lim }

// Errors the console pages show. They never say whether an email belongs
// to an administrator.
var (
	ErrBadSignIn    = &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "Incorrect email, password or code."}
	ErrLocked       = &idgate.Error{Code: idgate.CodeRateLimited, Description: "Too many failed attempts. Try again in a few minutes."}
	ErrBadCode      = &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "That code is not valid. Enter the current code from your authenticator app."}
	ErrBadLink      = &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "This link is invalid, expired or already used."}
	ErrSetupDone    = &idgate.Error{Code: idgate.CodeConflict, Description: "The console already has an administrator. Sign in, or ask an administrator for an invitation."}
	ErrNoSession    = errors.New("no console session")
	errSealedSecret = idgate.InvalidRequest("enrolment", "the authenticator setup expired; scan the new QR code")
)

// Meta is where a request comes from, for sessions and logs.
type Meta struct {
	IP        string
	UserAgent string
}

// NeedsSetup reports whether the console has no administrator yet.
func (s *Service) NeedsSetup(ctx context.Context) (bool, error) {
	n, err := s.store.CountAdmins(ctx)
	return n == 0, err
}

// IssueSetupToken returns a new one-time setup link token when no
// administrator exists (and "" otherwise). Only its digest is stored; each
// start of the server issues a fresh one, valid SetupTTL.
func (s *Service) IssueSetupToken(ctx context.Context) (string, error) {
	need, err := s.NeedsSetup(ctx)
	if err != nil || !need {
		return "", err
	}
	tok := idgate.NewSecret("igsetup_")
	now := s.now()
	err = s.store.CreateAdminToken(ctx, idgate.AdminToken{Hash: secret.Digest(tok), Purpose: idgate.AdminTokenSetup,
		CreatedAt: now, ExpiresAt: now.Add(s.lim.SetupTTL)})
	if err != nil {
		return "", fmt.Errorf("issue setup token: %w", err)
	}
	return tok, nil
}

// checkToken returns the unused, unexpired token of the purpose.
func (s *Service) checkToken(ctx context.Context, raw, purpose string) (idgate.AdminToken, error) {
	if raw == "" || len(raw) > 200 {
		return idgate.AdminToken{}, ErrBadLink
	}
	t, err := s.store.GetAdminToken(ctx, secret.Digest(raw))
	if errors.Is(err, idgate.ErrNotFound) {
		return t, ErrBadLink
	}
	if err != nil {
		return t, err
	}
	if t.Purpose != purpose || !t.UsedAt.IsZero() || !s.now().Before(t.ExpiresAt) {
		return t, ErrBadLink
	}
	return t, nil
}

// CheckSetup reports whether a setup token can still be used: it is valid
// and no administrator exists.
func (s *Service) CheckSetup(ctx context.Context, raw string) error {
	if _, err := s.checkToken(ctx, raw, idgate.AdminTokenSetup); err != nil {
		return err
	}
	need, err := s.NeedsSetup(ctx)
	if err != nil {
		return err
	}
	if !need {
		return ErrSetupDone
	}
	return nil
}

// Invitation is what an invitation page shows.
type Invitation struct {
	Email     string
	ExpiresAt time.Time
}

// CheckInvitation returns the invitation of a valid invite token.
func (s *Service) CheckInvitation(ctx context.Context, raw string) (Invitation, error) {
	t, err := s.checkToken(ctx, raw, idgate.AdminTokenInvite)
	if err != nil {
		return Invitation{}, err
	}
	return Invitation{Email: t.Email, ExpiresAt: t.ExpiresAt}, nil
}

// Invite creates an invitation for email from an administrator and
// returns its token (shown once, as a link).
func (s *Service) Invite(ctx context.Context, by idgate.Admin, email string) (string, time.Time, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return "", time.Time{}, err
	}
	if _, err := s.store.GetAdminByEmail(ctx, email); err == nil {
		return "", time.Time{}, idgate.ConflictError("an administrator with this email already exists")
	} else if !errors.Is(err, idgate.ErrNotFound) {
		return "", time.Time{}, err
	}
	tok := idgate.NewSecret("iginv_")
	now := s.now()
	exp := now.Add(s.lim.InviteTTL)
	err = s.store.CreateAdminToken(ctx, idgate.AdminToken{Hash: secret.Digest(tok), Purpose: idgate.AdminTokenInvite,
		Email: email, AdminID: by.ID, CreatedAt: now, ExpiresAt: exp})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("invite admin: %w", err)
	}
	return tok, exp, nil
}

// PendingInvitations lists invitations not used and not expired.
func (s *Service) PendingInvitations(ctx context.Context) ([]idgate.AdminToken, error) {
	all, err := s.store.ListAdminTokens(ctx, idgate.AdminTokenInvite)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []idgate.AdminToken
	for _, t := range all {
		if t.UsedAt.IsZero() && now.Before(t.ExpiresAt) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Admins lists every administrator.
func (s *Service) Admins(ctx context.Context) ([]idgate.Admin, error) { return s.store.ListAdmins(ctx) }

func normalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndex(e, "@")
	if len(e) > 254 || at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>\"") {
		return "", idgate.InvalidRequest("email", "is not a valid email address")
	}
	return e, nil
}

// checkPassword applies the administrators' password policy: at least 12
// characters, as for end users by default.
func checkPassword(pw string) error {
	switch {
	case len([]rune(pw)) < 12:
		return idgate.InvalidRequest("password", "must be at least 12 characters")
	case len(pw) > 1024:
		return idgate.InvalidRequest("password", "must be at most 1024 bytes")
	}
	return nil
}

// NewAdmin is the input of CompleteSetup and AcceptInvitation: the
// password, the enrolment being confirmed (sealed, from Enrol) and the
// first code of the authenticator.
type NewAdmin struct {
	Email    string // setup only; an invitation fixes the email
	Password string
	Sealed   string
	Code     string
}

// CompleteSetup creates the first administrator with a setup token, at
// most once: the token is used and the "no administrator yet" check is
// made in the same transaction as the creation. It signs the new
// administrator in and returns the session token.
func (s *Service) CompleteSetup(ctx context.Context, raw string, in NewAdmin, m Meta) (string, error) {
	if err := s.CheckSetup(ctx, raw); err != nil {
		return "", err
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return "", err
	}
	return s.createAdmin(ctx, raw, idgate.AdminTokenSetup, email, "", in, m)
}

// AcceptInvitation creates the invited administrator and signs them in.
func (s *Service) AcceptInvitation(ctx context.Context, raw string, in NewAdmin, m Meta) (string, error) {
	t, err := s.checkToken(ctx, raw, idgate.AdminTokenInvite)
	if err != nil {
		return "", err
	}
	return s.createAdmin(ctx, raw, idgate.AdminTokenInvite, t.Email, t.AdminID, in, m)
}

func (s *Service) createAdmin(ctx context.Context, raw, purpose, email, invitedBy string, in NewAdmin, m Meta) (string, error) {
	if err := checkPassword(in.Password); err != nil {
		return "", err
	}
	secretB32, err := s.openEnrolment(in.Sealed, raw)
	if err != nil {
		return "", err
	}
	step, ok := totp.Match(secretB32, totp.Normalize(in.Code), s.now())
	if !ok {
		return "", ErrBadCode
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return "", err
	}
	now := s.now()
	a := idgate.Admin{ID: idgate.NewID("adm_"), Email: email, PasswordHash: hash, TOTPLastStep: step,
		InvitedBy: invitedBy, CreatedAt: now, LastLoginAt: now}
	a.TOTPSecret = s.sealer.Seal([]byte(secretB32), totpAAD(a.ID))
	var tok string
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if _, err := tx.UseAdminToken(ctx, secret.Digest(raw), now); err != nil {
			if errors.Is(err, idgate.ErrUsed) || errors.Is(err, idgate.ErrNotFound) {
				return ErrBadLink
			}
			return err
		}
		if purpose == idgate.AdminTokenSetup {
			n, err := tx.CountAdmins(ctx)
			if err != nil {
				return err
			}
			if n > 0 {
				return ErrSetupDone
			}
		}
		if err := tx.CreateAdmin(ctx, a); errors.Is(err, idgate.ErrConflict) {
			return idgate.ConflictError("an administrator with this email already exists")
		} else if err != nil {
			return err
		}
		tok, err = s.startSession(ctx, tx, a, m)
		return err
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}
