package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// MFA and brute-force records of the hosted login: TOTP replay protection,
// recovery codes, known devices and per-account throttling.

// The upsert only moves last_step forward; a step that is not newer leaves
// the row alone and affects nothing, which is the replay.
const sqlUseTOTPStep = `INSERT INTO totp_steps (user_sub, pool_id, last_step) VALUES (?, ?, ?)
ON CONFLICT (user_sub) DO UPDATE SET last_step = excluded.last_step
WHERE totp_steps.last_step < excluded.last_step AND totp_steps.pool_id = excluded.pool_id`

// UseTOTPStep records an accepted TOTP time step; ErrUsed when that step
// or a later one was accepted before, ErrNotFound when the user does not
// exist.
func (s *Store) UseTOTPStep(ctx context.Context, poolID, sub string, step int64) error {
	const op = "use totp step"
	res, err := s.w().ExecContext(ctx, s.q(sqlUseTOTPStep), sub, poolID, step)
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := affected(res)
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, idgate.ErrUsed)
	}
	return nil
}

const (
	sqlDeleteRecoveryCodes = `DELETE FROM recovery_codes WHERE pool_id = ? AND user_sub = ?`
	sqlInsertRecoveryCode  = `INSERT INTO recovery_codes (user_sub, pool_id, hash, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING`
	sqlUseRecoveryCode = `UPDATE recovery_codes SET used_at = ?
WHERE pool_id = ? AND user_sub = ? AND hash = ? AND used_at IS NULL`
	sqlRecoveryCodeExists = `SELECT 1 FROM recovery_codes WHERE pool_id = ? AND user_sub = ? AND hash = ?`
	sqlCountRecoveryCodes = `SELECT COUNT(*) FROM recovery_codes WHERE pool_id = ? AND user_sub = ? AND used_at IS NULL`
)

// ReplaceRecoveryCodes deletes the user's recovery codes and stores the new
// hashes, in one transaction. ErrNotFound when the user does not exist.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, poolID, sub string, hashes []string, at time.Time) error {
	const op = "replace recovery codes"
	if at.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoTime)
	}
	return s.withTx(ctx, func(tx *Store) error {
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlDeleteRecoveryCodes), poolID, sub); err != nil {
			return tx.wrap(op, err)
		}
		for _, h := range hashes {
			if _, err := tx.tx.ExecContext(ctx, tx.q(sqlInsertRecoveryCode), sub, poolID, h, nanos(at)); err != nil {
				return tx.wrap(op, err)
			}
		}
		return nil
	})
}

// UseRecoveryCode marks a code used: ErrNotFound when the user has no such
// code, ErrUsed when it was used before. Of concurrent uses, one wins.
func (s *Store) UseRecoveryCode(ctx context.Context, poolID, sub, hash string, at time.Time) error {
	const op = "use recovery code"
	if at.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoTime)
	}
	return s.withTx(ctx, func(tx *Store) error {
		res, err := tx.tx.ExecContext(ctx, tx.q(sqlUseRecoveryCode), nanos(at), poolID, sub, hash)
		if err != nil {
			return tx.wrap(op, err)
		}
		n, err := affected(res)
		if err != nil || n > 0 {
			return tx.wrap(op, err)
		}
		ok, err := tx.exists(ctx, sqlRecoveryCodeExists, poolID, sub, hash)
		switch {
		case err != nil:
			return tx.wrap(op, err)
		case ok:
			return fmt.Errorf("%s: %w", op, idgate.ErrUsed)
		}
		return fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
	})
}

// CountRecoveryCodes returns how many of the user's recovery codes are
// unused.
func (s *Store) CountRecoveryCodes(ctx context.Context, poolID, sub string) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, s.q(sqlCountRecoveryCodes), poolID, sub).Scan(&n)
	return n, s.wrap("count recovery codes", err)
}

const (
	deviceColumns     = `hash, pool_id, user_sub, created_at, last_used_at, expires_at`
	sqlRememberDevice = `INSERT INTO known_devices (` + deviceColumns + `) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (user_sub, hash) DO UPDATE SET last_used_at = excluded.last_used_at, expires_at = excluded.expires_at`
	sqlGetDevice = `SELECT ` + deviceColumns + ` FROM known_devices WHERE pool_id = ? AND user_sub = ? AND hash = ?`
)

// RememberDevice records a known device of the user, or moves its last use
// and expiry forward when it is known already. ErrNotFound when the user
// does not exist.
func (s *Store) RememberDevice(ctx context.Context, d idgate.KnownDevice) error {
	const op = "remember device"
	if d.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	_, err := s.w().ExecContext(ctx, s.q(sqlRememberDevice), d.Hash, d.PoolID, d.UserSub, nanos(d.CreatedAt),
		nanos(d.LastUsedAt), nanos(d.ExpiresAt))
	return s.wrap(op, err)
}

// GetKnownDevice returns the user's device with the hash; ErrNotFound when
// that device is not known for the user.
func (s *Store) GetKnownDevice(ctx context.Context, poolID, sub, hash string) (idgate.KnownDevice, error) {
	var d idgate.KnownDevice
	err := s.r().QueryRowContext(ctx, s.q(sqlGetDevice), poolID, sub, hash).Scan(&d.Hash, &d.PoolID, &d.UserSub,
		timeScan{&d.CreatedAt}, timeScan{&d.LastUsedAt}, timeScan{&d.ExpiresAt})
	return d, s.wrap("get known device", err)
}

const (
	throttleColumns     = `pool_id, key_hash, failures, locked_until, last_failure_at`
	sqlGetThrottle      = `SELECT ` + throttleColumns + ` FROM login_throttles WHERE pool_id = ? AND key_hash = ?`
	sqlLockThrottlePG   = sqlGetThrottle + ` FOR UPDATE`
	sqlEnsureThrottle   = `INSERT INTO login_throttles (pool_id, key_hash, failures) VALUES (?, ?, 0) ON CONFLICT DO NOTHING`
	sqlUpdateThrottle   = `UPDATE login_throttles SET failures = ?, locked_until = ?, last_failure_at = ? WHERE pool_id = ? AND key_hash = ?`
	sqlDeleteThrottle   = `DELETE FROM login_throttles WHERE pool_id = ? AND key_hash = ?`
	sqlThrottleNotEmpty = ` AND failures > 0`
)

func scanThrottle(row scanner) (idgate.LoginThrottle, error) {
	var x idgate.LoginThrottle
	err := row.Scan(&x.PoolID, &x.Key, &x.Failures, timeScan{&x.LockedUntil}, timeScan{&x.LastFailureAt})
	return x, err
}

// GetLoginThrottle returns the key's record; ErrNotFound when it has none.
func (s *Store) GetLoginThrottle(ctx context.Context, poolID, key string) (idgate.LoginThrottle, error) {
	x, err := scanThrottle(s.r().QueryRowContext(ctx, s.q(sqlGetThrottle+sqlThrottleNotEmpty), poolID, key))
	return x, s.wrap("get login throttle", err)
}

// UpdateLoginThrottle passes the key's record to fn and stores the result
// in one transaction; the row is created first (and locked on PostgreSQL)
// so that concurrent failures all count. A result without failures and
// without a lock deletes the record.
func (s *Store) UpdateLoginThrottle(ctx context.Context, poolID, key string, fn func(idgate.LoginThrottle) (idgate.LoginThrottle, error)) (idgate.LoginThrottle, error) {
	const op = "update login throttle"
	var out idgate.LoginThrottle
	err := s.withTx(ctx, func(tx *Store) error {
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlEnsureThrottle), poolID, key); err != nil {
			return tx.wrap(op, err)
		}
		old, err := scanThrottle(tx.tx.QueryRowContext(ctx, tx.pick(sqlGetThrottle, sqlLockThrottlePG), poolID, key))
		if err != nil {
			return tx.wrap(op, err)
		}
		x, err := fn(old)
		if err != nil {
			return err
		}
		x.PoolID, x.Key = poolID, key
		if x.Failures <= 0 && x.LockedUntil.IsZero() {
			_, err = tx.tx.ExecContext(ctx, tx.q(sqlDeleteThrottle), poolID, key)
			out = idgate.LoginThrottle{PoolID: poolID, Key: key}
			return tx.wrap(op, err)
		}
		_, err = tx.tx.ExecContext(ctx, tx.q(sqlUpdateThrottle), x.Failures, nanos(x.LockedUntil), nanos(x.LastFailureAt), poolID, key)
		out = x
		return tx.wrap(op, err)
	})
	if err != nil {
		return idgate.LoginThrottle{}, err
	}
	return out, nil
}
