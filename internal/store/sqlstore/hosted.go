package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Hosted login storage: multi-step flows and hosted (SSO) sessions. The MFA
// and throttling records are in mfa.go.

const flowColumns = `hash, pool_id, purpose, step, user_sub, email, request, code_hash, code_expires_at,
	code_sent_at, attempts, pending_secret, auth_time, amr, created_at, expires_at`

func scanFlow(row scanner) (idgate.LoginFlow, error) {
	var f idgate.LoginFlow
	err := row.Scan(&f.Hash, &f.PoolID, &f.Purpose, &f.Step, &f.UserSub, &f.Email, &f.Request, &f.CodeHash,
		timeScan{&f.CodeExpiresAt}, timeScan{&f.CodeSentAt}, &f.Attempts, bytesScan{&f.PendingSecret},
		timeScan{&f.AuthTime}, listScan{&f.AMR}, timeScan{&f.CreatedAt}, timeScan{&f.ExpiresAt})
	return f, err
}

const sqlCreateFlow = `INSERT INTO login_flows (` + flowColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateLoginFlow stores a new flow; ErrConflict when the hash is taken,
// ErrNotFound when the pool does not exist.
func (s *Store) CreateLoginFlow(ctx context.Context, f idgate.LoginFlow) error {
	const op = "create login flow"
	if f.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateFlow, f.Hash, f.PoolID, f.Purpose, f.Step, f.UserSub, f.Email, f.Request,
		f.CodeHash, nanos(f.CodeExpiresAt), nanos(f.CodeSentAt), f.Attempts, nullBytes(f.PendingSecret),
		nanos(f.AuthTime), jsonList(f.AMR), nanos(f.CreatedAt), nanos(f.ExpiresAt))
}

const (
	sqlGetFlow    = `SELECT ` + flowColumns + ` FROM login_flows WHERE hash = ?`
	sqlLockFlowPG = sqlGetFlow + ` FOR UPDATE`
	sqlUpdateFlow = `UPDATE login_flows SET step = ?, user_sub = ?, email = ?, code_hash = ?, code_expires_at = ?,
	code_sent_at = ?, attempts = ?, pending_secret = ?, auth_time = ?, amr = ?, expires_at = ?
WHERE hash = ?`
	sqlDeleteFlow = `DELETE FROM login_flows WHERE hash = ?`
)

// GetLoginFlow returns the flow with the hash; ErrNotFound when unknown.
func (s *Store) GetLoginFlow(ctx context.Context, hash string) (idgate.LoginFlow, error) {
	f, err := scanFlow(s.r().QueryRowContext(ctx, s.q(sqlGetFlow), hash))
	return f, s.wrap("get login flow", err)
}

// UpdateLoginFlow reads the flow, passes it to fn and stores what fn
// returns, in one transaction (the row is locked on PostgreSQL, so two
// concurrent code submissions cannot both count as the first attempt).
func (s *Store) UpdateLoginFlow(ctx context.Context, hash string, fn func(idgate.LoginFlow) (idgate.LoginFlow, error)) (idgate.LoginFlow, error) {
	const op = "update login flow"
	var out idgate.LoginFlow
	err := s.withTx(ctx, func(tx *Store) error {
		old, err := scanFlow(tx.tx.QueryRowContext(ctx, tx.pick(sqlGetFlow, sqlLockFlowPG), hash))
		if err != nil {
			return tx.wrap(op, err)
		}
		f, err := fn(old)
		if err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlUpdateFlow), f.Step, f.UserSub, f.Email, f.CodeHash,
			nanos(f.CodeExpiresAt), nanos(f.CodeSentAt), f.Attempts, nullBytes(f.PendingSecret), nanos(f.AuthTime),
			jsonList(f.AMR), nanos(f.ExpiresAt), hash); err != nil {
			return tx.wrap(op, err)
		}
		out, err = scanFlow(tx.tx.QueryRowContext(ctx, tx.q(sqlGetFlow), hash))
		return tx.wrap(op, err)
	})
	if err != nil {
		return idgate.LoginFlow{}, err
	}
	return out, nil
}

// DeleteLoginFlow removes a flow; an unknown hash is not an error.
func (s *Store) DeleteLoginFlow(ctx context.Context, hash string) error {
	_, err := s.w().ExecContext(ctx, s.q(sqlDeleteFlow), hash)
	return s.wrap("delete login flow", err)
}

const hostedColumns = `hash, pool_id, user_sub, auth_time, amr, ip, user_agent, created_at, expires_at,
	ended_at, end_reason, start_seq`

func scanHosted(row scanner) (idgate.HostedSession, error) {
	var h idgate.HostedSession
	err := row.Scan(&h.Hash, &h.PoolID, &h.UserSub, timeScan{&h.AuthTime}, listScan{&h.AMR}, &h.IP, &h.UserAgent,
		timeScan{&h.CreatedAt}, timeScan{&h.ExpiresAt}, timeScan{&h.EndedAt}, &h.EndReason, &h.StartSeq)
	return h, err
}

const sqlCreateHosted = `INSERT INTO hosted_sessions (` + hostedColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateHostedSession stores a hosted session; ErrConflict when the hash is
// taken, ErrNotFound when the user or pool does not exist.
func (s *Store) CreateHostedSession(ctx context.Context, h idgate.HostedSession) error {
	const op = "create hosted session"
	if h.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateHosted, h.Hash, h.PoolID, h.UserSub, nanos(h.AuthTime), jsonList(h.AMR), h.IP,
		h.UserAgent, nanos(h.CreatedAt), nanos(h.ExpiresAt), nanos(h.EndedAt), h.EndReason, h.StartSeq)
}

const (
	sqlGetHosted     = `SELECT ` + hostedColumns + ` FROM hosted_sessions WHERE hash = ?`
	sqlEndHosted     = `UPDATE hosted_sessions SET ended_at = ?, end_reason = ? WHERE hash = ? AND ended_at IS NULL`
	sqlHostedExists  = `SELECT 1 FROM hosted_sessions WHERE hash = ?`
	sqlEndUserHosted = `UPDATE hosted_sessions SET ended_at = ?, end_reason = ?
WHERE pool_id = ? AND user_sub = ? AND ended_at IS NULL`
)

// GetHostedSession returns the hosted session with the hash, ended or not.
func (s *Store) GetHostedSession(ctx context.Context, hash string) (idgate.HostedSession, error) {
	h, err := scanHosted(s.r().QueryRowContext(ctx, s.q(sqlGetHosted), hash))
	return h, s.wrap("get hosted session", err)
}

// EndHostedSession ends a hosted session; one that ended before keeps its
// first end. ErrNotFound when unknown.
func (s *Store) EndHostedSession(ctx context.Context, hash string, at time.Time, reason string) error {
	const op = "end hosted session"
	if at.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoTime)
	}
	return s.withTx(ctx, func(tx *Store) error {
		res, err := tx.tx.ExecContext(ctx, tx.q(sqlEndHosted), nanos(at), reason, hash)
		if err != nil {
			return tx.wrap(op, err)
		}
		n, err := affected(res)
		if err != nil || n > 0 {
			return tx.wrap(op, err)
		}
		ok, err := tx.exists(ctx, sqlHostedExists, hash)
		if err != nil {
			return tx.wrap(op, err)
		}
		if !ok {
			return fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
		}
		return nil
	})
}

// EndUserHostedSessions ends every active hosted session of the user.
func (s *Store) EndUserHostedSessions(ctx context.Context, poolID, sub string, at time.Time, reason string) (int, error) {
	const op = "end user hosted sessions"
	if at.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, errNoTime)
	}
	res, err := s.w().ExecContext(ctx, s.q(sqlEndUserHosted), nanos(at), reason, poolID, sub)
	if err != nil {
		return 0, s.wrap(op, err)
	}
	n, err := affected(res)
	return int(n), s.wrap(op, err)
}

const sqlEndOtherHosted = `UPDATE hosted_sessions SET ended_at = ?, end_reason = ?
WHERE pool_id = ? AND user_sub = ? AND ended_at IS NULL AND hash <> ?`

// EndOtherHostedSessions ends every active hosted session of the user but
// the one with exceptHash.
func (s *Store) EndOtherHostedSessions(ctx context.Context, poolID, sub, exceptHash string, at time.Time, reason string) (int, error) {
	const op = "end other hosted sessions"
	if at.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, errNoTime)
	}
	res, err := s.w().ExecContext(ctx, s.q(sqlEndOtherHosted), nanos(at), reason, poolID, sub, exceptHash)
	if err != nil {
		return 0, s.wrap(op, err)
	}
	n, err := affected(res)
	return int(n), s.wrap(op, err)
}

const (
	sqlPurgeFlows     = `DELETE FROM login_flows WHERE expires_at < ?`
	sqlPurgeHosted    = `DELETE FROM hosted_sessions WHERE expires_at < ?`
	sqlPurgeDevices   = `DELETE FROM known_devices WHERE expires_at < ?`
	sqlPurgeThrottles = `DELETE FROM login_throttles WHERE last_failure_at < ? AND (locked_until IS NULL OR locked_until < ?)`
)

// PurgeHosted deletes the hosted login records that expired before
// `before`: flows, hosted sessions, known devices, and throttle records
// whose last failure and lock are both older.
func (s *Store) PurgeHosted(ctx context.Context, before time.Time) (int64, error) {
	const op = "purge hosted login records"
	if before.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, errNoTime)
	}
	var total int64
	err := s.withTx(ctx, func(tx *Store) error {
		for _, q := range []string{sqlPurgeFlows, sqlPurgeHosted, sqlPurgeDevices, sqlPurgeThrottles} {
			args := []any{nanos(before)}
			if q == sqlPurgeThrottles {
				args = append(args, nanos(before))
			}
			res, err := tx.tx.ExecContext(ctx, tx.q(q), args...)
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
