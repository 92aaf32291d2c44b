package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// Session end reasons.
const (
	EndSignedOut = "signed_out"
	EndIdle      = "idle"
	EndExpired   = "expired"
)

// SignIn checks an administrator's email and password, the first step of
// a sign-in. On success it returns a challenge to send back with the TOTP
// code (CompleteSignIn). Unknown emails cost the same argon2id work as
// wrong passwords and get the same answer.
func (s *Service) SignIn(ctx context.Context, email, password string, m Meta) (string, error) {
	a, err := s.store.GetAdminByEmail(ctx, email)
	if err != nil && !errors.Is(err, idgate.ErrNotFound) {
		return "", err
	}
	ok, verr := s.hasher.Verify(ctx, password, a.PasswordHash) // empty hash: dummy work, false
	if verr != nil && !errors.Is(verr, secret.ErrMalformedHash) {
		return "", verr
	}
	if a.ID == "" {
		return "", ErrBadSignIn
	}
	if s.now().Before(a.LockedUntil) {
		return "", ErrLocked
	}
	if !ok {
		return "", s.failed(ctx, a)
	}
	tok := idgate.NewSecret("igsig_")
	now := s.now()
	if err := s.store.CreateAdminToken(ctx, idgate.AdminToken{Hash: secret.Digest(tok), Purpose: idgate.AdminTokenSignIn,
		AdminID: a.ID, CreatedAt: now, ExpiresAt: now.Add(s.lim.SignInTTL)}); err != nil {
		return "", err
	}
	return tok, nil
}

// failed counts a failed sign-in step and locks the account after
// MaxFailures in a row. It returns the error to show.
func (s *Service) failed(ctx context.Context, a idgate.Admin) error {
	locked := false
	_, err := s.store.UpdateAdmin(ctx, a.ID, func(a idgate.Admin) (idgate.Admin, error) {
		a.FailedLogins++
		if a.FailedLogins >= s.lim.MaxFailures {
			a.FailedLogins, a.LockedUntil, locked = 0, s.now().Add(s.lim.Lockout), true
		}
		return a, nil
	})
	switch {
	case err != nil:
		return err
	case locked:
		return ErrLocked
	}
	return ErrBadSignIn
}

// CompleteSignIn checks the TOTP code of a sign-in challenge and starts a
// session; it returns the session token for the cookie.
func (s *Service) CompleteSignIn(ctx context.Context, challenge, code string, m Meta) (string, error) {
	t, err := s.checkToken(ctx, challenge, idgate.AdminTokenSignIn)
	if err != nil {
		return "", ErrBadSignIn
	}
	a, err := s.store.GetAdmin(ctx, t.AdminID)
	if err != nil {
		return "", err
	}
	if s.now().Before(a.LockedUntil) {
		return "", ErrLocked
	}
	if err := s.verifyTOTP(ctx, a, code); errors.Is(err, ErrBadCode) {
		if err := s.failed(ctx, a); errors.Is(err, ErrLocked) {
			return "", err
		}
		return "", ErrBadCode
	} else if err != nil {
		return "", err
	}
	var tok string
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if _, err := tx.UseAdminToken(ctx, t.Hash, s.now()); err != nil {
			if errors.Is(err, idgate.ErrUsed) {
				return ErrBadSignIn
			}
			return err
		}
		if _, err := tx.UpdateAdmin(ctx, a.ID, func(a idgate.Admin) (idgate.Admin, error) {
			a.FailedLogins, a.LockedUntil, a.LastLoginAt = 0, time.Time{}, s.now()
			return a, nil
		}); err != nil {
			return err
		}
		tok, err = s.startSession(ctx, tx, a, m)
		return err
	})
	return tok, err
}

// startSession stores a new session for a; signing in with a TOTP code
// counts as a re-authentication.
func (s *Service) startSession(ctx context.Context, tx idgate.Store, a idgate.Admin, m Meta) (string, error) {
	tok := idgate.NewSecret("igadm_")
	now := s.now()
	ua := m.UserAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	err := tx.CreateAdminSession(ctx, idgate.AdminSession{Hash: secret.Digest(tok), AdminID: a.ID, IP: m.IP, UserAgent: ua,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.lim.AbsoluteTimeout), ReauthAt: now})
	return tok, err
}

// Current is the signed-in administrator of a request.
type Current struct {
	Admin   idgate.Admin
	Session idgate.AdminSession
	// CSRF is the session's anti-forgery token, which every console form
	// carries in a hidden field.
	CSRF string
}

// Actor is the administrator as the audit trail records them.
func (c Current) Actor(m Meta) idgate.Actor {
	return idgate.Actor{Type: idgate.ActorAdmin, ID: c.Admin.ID, IP: m.IP, UserAgent: m.UserAgent}
}

// Session resolves a session token: the session must exist, not have
// ended, and be within both its idle and its absolute lifetime. A session
// past either is ended. Each use moves its idle deadline.
func (s *Service) Session(ctx context.Context, tok string) (Current, error) {
	if tok == "" || len(tok) > 200 {
		return Current{}, ErrNoSession
	}
	sess, err := s.store.GetAdminSession(ctx, secret.Digest(tok))
	if errors.Is(err, idgate.ErrNotFound) {
		return Current{}, ErrNoSession
	}
	if err != nil {
		return Current{}, err
	}
	now := s.now()
	if !sess.EndedAt.IsZero() {
		return Current{}, ErrNoSession
	}
	reason := ""
	switch {
	case !now.Before(sess.ExpiresAt):
		reason = EndExpired
	case now.Sub(sess.LastSeenAt) >= s.lim.IdleTimeout:
		reason = EndIdle
	}
	if reason != "" {
		if err := s.store.EndAdminSession(ctx, sess.Hash, now, reason); err != nil {
			return Current{}, err
		}
		return Current{}, ErrNoSession
	}
	a, err := s.store.GetAdmin(ctx, sess.AdminID)
	if err != nil {
		return Current{}, err
	}
	if err := s.store.TouchAdminSession(ctx, sess.Hash, now); err != nil {
		return Current{}, err
	}
	sess.LastSeenAt = now
	return Current{Admin: a, Session: sess, CSRF: CSRFToken(tok)}, nil
}

// CSRFToken derives a session's anti-forgery token from its cookie value.
// The database holds only the cookie's digest, from which the CSRF token
// cannot be computed.
func CSRFToken(sessionToken string) string { return secret.Digest("console-csrf:" + sessionToken) }

// CheckCSRF compares a posted token with the session's in constant time.
func (c Current) CheckCSRF(posted string) bool {
	posted = strings.TrimSpace(posted)
	return posted != "" && subtle.ConstantTimeCompare([]byte(posted), []byte(c.CSRF)) == 1
}

// Fresh reports whether the administrator re-entered a TOTP code within
// the re-authentication window.
func (s *Service) Fresh(c Current) bool {
	return !c.Session.ReauthAt.IsZero() && s.now().Sub(c.Session.ReauthAt) < s.lim.ReauthWindow
}

// Reauthenticate checks a TOTP code of the signed-in administrator and, if
// it is right, opens the re-authentication window of the session.
func (s *Service) Reauthenticate(ctx context.Context, c *Current, code string) error {
	if err := s.verifyTOTP(ctx, c.Admin, code); err != nil {
		return err
	}
	now := s.now()
	if err := s.store.SetAdminReauth(ctx, c.Session.Hash, now); err != nil {
		return err
	}
	c.Session.ReauthAt = now
	return nil
}

// SignOut ends the session of a token (an unknown token is not an error).
func (s *Service) SignOut(ctx context.Context, tok string) error {
	if tok == "" {
		return nil
	}
	err := s.store.EndAdminSession(ctx, secret.Digest(tok), s.now(), EndSignedOut)
	if errors.Is(err, idgate.ErrNotFound) {
		return nil
	}
	return err
}

// Purge deletes expired sessions and tokens.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	return s.store.PurgeAdminRecords(ctx, s.now().Add(-24*time.Hour))
}
