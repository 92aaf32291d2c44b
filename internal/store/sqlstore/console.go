package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Admin console storage: administrators, their single-use tokens and
// sessions. The console's read models (dashboard counts, recent events,
// user search) are in console_reports.go.

const adminColumns = `id, email, password_hash, totp_secret, totp_last_step, failed_logins, locked_until,
	invited_by, created_at, last_login_at`

func scanAdmin(row scanner) (idgate.Admin, error) {
	var a idgate.Admin
	err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, bytesScan{&a.TOTPSecret}, &a.TOTPLastStep, &a.FailedLogins,
		timeScan{&a.LockedUntil}, &a.InvitedBy, timeScan{&a.CreatedAt}, timeScan{&a.LastLoginAt})
	return a, err
}

const sqlCreateAdmin = `INSERT INTO admins (` + adminColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateAdmin stores an administrator, the email lower-cased; ErrConflict
// when the id or the email is taken.
func (s *Store) CreateAdmin(ctx context.Context, a idgate.Admin) error {
	const op = "create admin"
	if a.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateAdmin, a.ID, strings.ToLower(a.Email), a.PasswordHash, []byte(a.TOTPSecret),
		a.TOTPLastStep, a.FailedLogins, nanos(a.LockedUntil), a.InvitedBy, nanos(a.CreatedAt), nanos(a.LastLoginAt))
}

const (
	sqlGetAdmin        = `SELECT ` + adminColumns + ` FROM admins WHERE id = ?`
	sqlLockAdminPG     = sqlGetAdmin + ` FOR UPDATE`
	sqlGetAdminByEmail = `SELECT ` + adminColumns + ` FROM admins WHERE email = ?`
	sqlListAdmins      = `SELECT ` + adminColumns + ` FROM admins ORDER BY created_at, id`
	sqlCountAdmins     = `SELECT COUNT(*) FROM admins`
	sqlUpdateAdmin     = `UPDATE admins SET password_hash = ?, totp_secret = ?, failed_logins = ?, locked_until = ?,
	last_login_at = ? WHERE id = ?`
	sqlUseAdminTOTPStep = `UPDATE admins SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`
	sqlAdminExists      = `SELECT 1 FROM admins WHERE id = ?`
)

// GetAdmin returns the administrator with the id; ErrNotFound when unknown.
func (s *Store) GetAdmin(ctx context.Context, id string) (idgate.Admin, error) {
	a, err := scanAdmin(s.r().QueryRowContext(ctx, s.q(sqlGetAdmin), id))
	return a, s.wrap("get admin", err)
}

// GetAdminByEmail returns the administrator with the email, matched
// case-insensitively; ErrNotFound when unknown.
func (s *Store) GetAdminByEmail(ctx context.Context, email string) (idgate.Admin, error) {
	a, err := scanAdmin(s.r().QueryRowContext(ctx, s.q(sqlGetAdminByEmail), strings.ToLower(strings.TrimSpace(email))))
	return a, s.wrap("get admin by email", err)
}

// ListAdmins returns every administrator, oldest first.
func (s *Store) ListAdmins(ctx context.Context) ([]idgate.Admin, error) {
	return list(ctx, s, "list admins", sqlListAdmins, scanAdmin)
}

// CountAdmins returns how many administrators exist.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, s.q(sqlCountAdmins)).Scan(&n)
	return n, s.wrap("count admins", err)
}

// UpdateAdmin reads the administrator, passes it to fn and stores the
// fields fn may change (password hash, TOTP secret, failure counters, last
// login), in one transaction; the row is locked on PostgreSQL.
func (s *Store) UpdateAdmin(ctx context.Context, id string, fn func(idgate.Admin) (idgate.Admin, error)) (idgate.Admin, error) {
	const op = "update admin"
	var out idgate.Admin
	err := s.withTx(ctx, func(tx *Store) error {
		old, err := scanAdmin(tx.tx.QueryRowContext(ctx, tx.pick(sqlGetAdmin, sqlLockAdminPG), id))
		if err != nil {
			return tx.wrap(op, err)
		}
		a, err := fn(old)
		if err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlUpdateAdmin), a.PasswordHash, []byte(a.TOTPSecret), a.FailedLogins,
			nanos(a.LockedUntil), nanos(a.LastLoginAt), id); err != nil {
			return tx.wrap(op, err)
		}
		out, err = scanAdmin(tx.tx.QueryRowContext(ctx, tx.q(sqlGetAdmin), id))
		return tx.wrap(op, err)
	})
	return out, err
}

// UseAdminTOTPStep moves the admin's last accepted TOTP step forward; it
// fails with ErrUsed when step is not later than the stored one, and
// ErrNotFound when the admin is unknown. The conditional update makes
// concurrent uses of one code succeed once.
func (s *Store) UseAdminTOTPStep(ctx context.Context, id string, step int64) error {
	const op = "use admin totp step"
	res, err := s.w().ExecContext(ctx, s.q(sqlUseAdminTOTPStep), step, id, step)
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := affected(res)
	if err != nil || n > 0 {
		return s.wrap(op, err)
	}
	ok, err := s.exists(ctx, sqlAdminExists, id)
	switch {
	case err != nil:
		return s.wrap(op, err)
	case !ok:
		return fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, idgate.ErrUsed)
}

const adminTokenColumns = `hash, purpose, email, admin_id, created_at, expires_at, used_at`

func scanAdminToken(row scanner) (idgate.AdminToken, error) {
	var t idgate.AdminToken
	err := row.Scan(&t.Hash, &t.Purpose, &t.Email, &t.AdminID, timeScan{&t.CreatedAt}, timeScan{&t.ExpiresAt}, timeScan{&t.UsedAt})
	return t, err
}

const (
	sqlCreateAdminToken = `INSERT INTO admin_tokens (` + adminTokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`
	sqlGetAdminToken   = `SELECT ` + adminTokenColumns + ` FROM admin_tokens WHERE hash = ?`
	sqlUseAdminToken   = `UPDATE admin_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL`
	sqlListAdminTokens = `SELECT ` + adminTokenColumns + ` FROM admin_tokens WHERE purpose = ? ORDER BY created_at DESC, hash`
)

// CreateAdminToken stores a token; ErrConflict when the hash is taken.
func (s *Store) CreateAdminToken(ctx context.Context, t idgate.AdminToken) error {
	const op = "create admin token"
	if t.CreatedAt.IsZero() || t.ExpiresAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateAdminToken, t.Hash, t.Purpose, strings.ToLower(t.Email), t.AdminID,
		nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.UsedAt))
}

// GetAdminToken returns a token by hash, used or not.
func (s *Store) GetAdminToken(ctx context.Context, hash string) (idgate.AdminToken, error) {
	t, err := scanAdminToken(s.r().QueryRowContext(ctx, s.q(sqlGetAdminToken), hash))
	return t, s.wrap("get admin token", err)
}

// UseAdminToken marks the token used, once: the conditional update lets
// exactly one of concurrent callers through; the others get the token with
// ErrUsed.
func (s *Store) UseAdminToken(ctx context.Context, hash string, at time.Time) (idgate.AdminToken, error) {
	const op = "use admin token"
	if at.IsZero() {
		return idgate.AdminToken{}, fmt.Errorf("%s: %w", op, errNoTime)
	}
	var out idgate.AdminToken
	err := s.withTx(ctx, func(tx *Store) error {
		res, err := tx.tx.ExecContext(ctx, tx.q(sqlUseAdminToken), nanos(at), hash)
		if err != nil {
			return tx.wrap(op, err)
		}
		n, err := affected(res)
		if err != nil {
			return tx.wrap(op, err)
		}
		out, err = scanAdminToken(tx.tx.QueryRowContext(ctx, tx.q(sqlGetAdminToken), hash))
		if err != nil {
			return tx.wrap(op, err)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", op, idgate.ErrUsed)
		}
		return nil
	})
	if err != nil && !errors.Is(err, idgate.ErrUsed) {
		return idgate.AdminToken{}, err
	}
	return out, err
}

// ListAdminTokens returns the tokens of a purpose, newest first.
func (s *Store) ListAdminTokens(ctx context.Context, purpose string) ([]idgate.AdminToken, error) {
	return list(ctx, s, "list admin tokens", sqlListAdminTokens, scanAdminToken, purpose)
}

const adminSessionColumns = `hash, admin_id, ip, user_agent, created_at, last_seen_at, expires_at, reauth_at,
	ended_at, end_reason`

func scanAdminSession(row scanner) (idgate.AdminSession, error) {
	var a idgate.AdminSession
	err := row.Scan(&a.Hash, &a.AdminID, &a.IP, &a.UserAgent, timeScan{&a.CreatedAt}, timeScan{&a.LastSeenAt},
		timeScan{&a.ExpiresAt}, timeScan{&a.ReauthAt}, timeScan{&a.EndedAt}, &a.EndReason)
	return a, err
}

const (
	sqlCreateAdminSession = `INSERT INTO admin_sessions (` + adminSessionColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlGetAdminSession    = `SELECT ` + adminSessionColumns + ` FROM admin_sessions WHERE hash = ?`
	sqlTouchAdminSession  = `UPDATE admin_sessions SET last_seen_at = ? WHERE hash = ? AND last_seen_at < ?`
	sqlReauthAdminSession = `UPDATE admin_sessions SET reauth_at = ? WHERE hash = ?`
	sqlEndAdminSession    = `UPDATE admin_sessions SET ended_at = ?, end_reason = ? WHERE hash = ? AND ended_at IS NULL`
	sqlAdminSessionExists = `SELECT 1 FROM admin_sessions WHERE hash = ?`
)

// CreateAdminSession stores a session; ErrConflict when the hash is taken,
// ErrNotFound when the admin does not exist.
func (s *Store) CreateAdminSession(ctx context.Context, a idgate.AdminSession) error {
	const op = "create admin session"
	if a.CreatedAt.IsZero() || a.LastSeenAt.IsZero() || a.ExpiresAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateAdminSession, a.Hash, a.AdminID, a.IP, a.UserAgent, nanos(a.CreatedAt),
		nanos(a.LastSeenAt), nanos(a.ExpiresAt), nanos(a.ReauthAt), nanos(a.EndedAt), a.EndReason)
}

// GetAdminSession returns a session by hash, ended or not.
func (s *Store) GetAdminSession(ctx context.Context, hash string) (idgate.AdminSession, error) {
	a, err := scanAdminSession(s.r().QueryRowContext(ctx, s.q(sqlGetAdminSession), hash))
	return a, s.wrap("get admin session", err)
}

// TouchAdminSession moves last_seen_at forward; ErrNotFound when unknown.
func (s *Store) TouchAdminSession(ctx context.Context, hash string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("touch admin session: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "touch admin session", sqlTouchAdminSession, sqlAdminSessionExists, hash, nanos(at), hash, nanos(at))
}

// SetAdminReauth records a TOTP re-entry; ErrNotFound when unknown.
func (s *Store) SetAdminReauth(ctx context.Context, hash string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("reauth admin session: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "reauth admin session", sqlReauthAdminSession, sqlAdminSessionExists, hash, nanos(at), hash)
}

// EndAdminSession ends a session; one that ended before keeps its first
// end. ErrNotFound when unknown.
func (s *Store) EndAdminSession(ctx context.Context, hash string, at time.Time, reason string) error {
	if at.IsZero() {
		return fmt.Errorf("end admin session: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "end admin session", sqlEndAdminSession, sqlAdminSessionExists, hash, nanos(at), reason, hash)
}

const (
	sqlPurgeAdminSessions = `DELETE FROM admin_sessions WHERE expires_at < ?`
	sqlPurgeAdminTokens   = `DELETE FROM admin_tokens WHERE expires_at < ?`
)

// PurgeAdminRecords deletes sessions and tokens that expired before
// `before`.
func (s *Store) PurgeAdminRecords(ctx context.Context, before time.Time) (int64, error) {
	const op = "purge admin records"
	if before.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, errNoTime)
	}
	var total int64
	err := s.withTx(ctx, func(tx *Store) error {
		for _, q := range []string{sqlPurgeAdminSessions, sqlPurgeAdminTokens} {
			res, err := tx.tx.ExecContext(ctx, tx.q(q), nanos(before))
			if err != nil {
				return tx.wrap(op, err)
			}
			n, err := affected(res)
			if err != nil {
				return tx.wrap(op, err)
			}
			total += n
		}
		return nil
	})
	return total, err
}
