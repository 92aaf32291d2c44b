package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

const sessionColumns = `id, pool_id, user_sub, client_id, auth_time, amr, ip, user_agent, created_at,
	last_seen_at, expires_at, ended_at, end_reason`

func scanSession(row scanner) (idgate.Session, error) {
	var x idgate.Session
	err := row.Scan(&x.ID, &x.PoolID, &x.UserSub, &x.ClientID, timeScan{&x.AuthTime}, listScan{&x.AMR}, &x.IP,
		&x.UserAgent, timeScan{&x.CreatedAt}, timeScan{&x.LastSeenAt}, timeScan{&x.ExpiresAt},
		timeScan{&x.EndedAt}, &x.EndReason)
	return x, err
}

const sqlCreateSession = `INSERT INTO sessions (` + sessionColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateSession stores a new session. ErrConflict when the id is taken;
// ErrNotFound when the pool does not exist.
func (s *Store) CreateSession(ctx context.Context, x idgate.Session) error {
	const op = "create session"
	if x.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateSession, x.ID, x.PoolID, x.UserSub, x.ClientID, nanos(x.AuthTime),
		jsonList(x.AMR), x.IP, x.UserAgent, nanos(x.CreatedAt), nanos(x.LastSeenAt), nanos(x.ExpiresAt),
		nanos(x.EndedAt), x.EndReason)
}

const sqlGetSession = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`

// GetSession returns the session with the id, ended or not; ErrNotFound
// when unknown.
func (s *Store) GetSession(ctx context.Context, id string) (idgate.Session, error) {
	x, err := scanSession(s.r().QueryRowContext(ctx, s.q(sqlGetSession), id))
	return x, s.wrap("get session", err)
}

const sqlListSessions = `SELECT ` + sessionColumns + ` FROM sessions WHERE pool_id = ? AND user_sub = ?
ORDER BY created_at DESC, id DESC`

// ListSessions returns the user's sessions, active and ended, newest first.
func (s *Store) ListSessions(ctx context.Context, poolID, sub string) ([]idgate.Session, error) {
	return list(ctx, s, "list sessions", sqlListSessions, scanSession, poolID, sub)
}

const (
	sqlEndSession    = `UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL`
	sqlSessionExists = `SELECT 1 FROM sessions WHERE id = ?`
)

// EndSession ends the session at `at` for reason and reports true; it
// reports false and changes nothing when the session had ended already (the
// first end time and reason stay). ErrNotFound when unknown. In the same
// transaction it enqueues a back-channel logout notice when the session's
// app registered a back-channel logout URI. A session past
// its expiry that was never ended is ended, so its history gets a reason.
func (s *Store) EndSession(ctx context.Context, id string, at time.Time, reason string) (bool, error) {
	const op = "end session"
	if at.IsZero() {
		return false, fmt.Errorf("%s: %w", op, errNoTime)
	}
	var ended bool
	err := s.withTx(ctx, func(tx *Store) error {
		res, err := tx.tx.ExecContext(ctx, tx.q(sqlEndSession), nanos(at), reason, id)
		if err != nil {
			return tx.wrap(op, err)
		}
		n, err := affected(res)
		if err != nil {
			return tx.wrap(op, err)
		}
		if n > 0 {
			ended = true
			if err := tx.enqueueLogouts(ctx, at, id); err != nil {
				return err
			}
			return tx.recordRevocations(ctx, id)
		}
		ok, err := tx.exists(ctx, sqlSessionExists, id)
		if err != nil {
			return tx.wrap(op, err)
		}
		if !ok {
			return fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
		}
		return nil
	})
	return ended, err
}

const sqlEndUserSessions = `UPDATE sessions SET ended_at = ?, end_reason = ?
WHERE pool_id = ? AND user_sub = ? AND ended_at IS NULL AND id <> ?
RETURNING id`

// EndUserSessions ends, in one statement, every session of the user that
// has not ended, except exceptID (which may be empty), and returns the ids
// it ended in ascending order. Sessions that had ended keep their reason.
// Back-channel logout notices are enqueued in the same transaction.
func (s *Store) EndUserSessions(ctx context.Context, poolID, sub string, at time.Time, reason, exceptID string) ([]string, error) {
	const op = "end user sessions"
	if at.IsZero() {
		return nil, fmt.Errorf("%s: %w", op, errNoTime)
	}
	var ids []string
	err := s.withTx(ctx, func(tx *Store) error {
		rows, err := tx.tx.QueryContext(ctx, tx.q(sqlEndUserSessions), nanos(at), reason, poolID, sub, exceptID)
		if err != nil {
			return tx.wrap(op, err)
		}
		ids, err = collect(rows, func(row scanner) (string, error) {
			var id string
			return id, row.Scan(&id)
		})
		if err != nil {
			return tx.wrap(op, err)
		}
		if err := tx.enqueueLogouts(ctx, at, ids...); err != nil {
			return err
		}
		return tx.recordRevocations(ctx, ids...)
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

const sqlTouchSession = `UPDATE sessions SET last_seen_at = ?
WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`

// TouchSession moves the session's last_seen_at to `at` when that is later
// than the stored value (never backward). ErrNotFound when unknown.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("touch session: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "touch session", sqlTouchSession, sqlSessionExists, id, nanos(at), id, nanos(at))
}

const (
	sqlScrubUserSessions  = `UPDATE sessions SET ip = '', user_agent = '' WHERE pool_id = ? AND user_sub = ?`
	sqlScrubUserAuthCodes = `UPDATE auth_codes SET ip = '', user_agent = '' WHERE pool_id = ? AND user_sub = ?`
)

// ScrubUserSessions erases the IP address and user agent of every session
// of the user, and of its authorization codes, which carry the same data;
// the sessions themselves stay in the history. Both updates commit together.
func (s *Store) ScrubUserSessions(ctx context.Context, poolID, sub string) error {
	const op = "scrub user sessions"
	return s.withTx(ctx, func(tx *Store) error {
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlScrubUserSessions), poolID, sub); err != nil {
			return tx.wrap(op, err)
		}
		_, err := tx.tx.ExecContext(ctx, tx.q(sqlScrubUserAuthCodes), poolID, sub)
		return tx.wrap(op, err)
	})
}
