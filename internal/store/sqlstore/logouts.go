package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

const logoutColumns = `id, pool_id, client_id, session_id, user_sub, uri, created_at, attempts,
	next_attempt_at, delivered_at, failed_at, last_error`

func scanLogout(row scanner) (idgate.LogoutNotice, error) {
	var n idgate.LogoutNotice
	err := row.Scan(&n.ID, &n.PoolID, &n.ClientID, &n.SessionID, &n.UserSub, &n.URI, timeScan{&n.CreatedAt},
		&n.Attempts, timeScan{&n.NextAttempt}, timeScan{&n.DeliveredAt}, timeScan{&n.FailedAt}, &n.LastError)
	return n, err
}

const sqlEnqueueLogout = `INSERT INTO logout_outbox (id, pool_id, client_id, session_id, user_sub, uri, created_at, next_attempt_at)
SELECT ?, s.pool_id, s.client_id, s.id, s.user_sub, a.backchannel_logout_uri, ?, ?
FROM sessions s JOIN apps a ON a.client_id = s.client_id
WHERE s.id = ? AND a.backchannel_logout_uri <> ''`

// enqueueLogouts writes a back-channel logout notice for each ended session
// whose app registered a back-channel logout URI. It runs inside the
// transaction that ended the sessions.
func (s *Store) enqueueLogouts(ctx context.Context, at time.Time, sessionIDs ...string) error {
	for _, id := range sessionIDs {
		if _, err := s.tx.ExecContext(ctx, s.q(sqlEnqueueLogout), idgate.NewID("bcl_"), nanos(at), nanos(at), id); err != nil {
			return s.wrap("enqueue back-channel logout", err)
		}
	}
	return nil
}

// The claim picks due, unleased notices and leases them in one statement;
// PostgreSQL skips rows another node is claiming at the same moment.
const (
	sqlClaimLogoutsSQLite = `UPDATE logout_outbox SET lease_until = ?
WHERE id IN (SELECT id FROM logout_outbox
	WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
	ORDER BY next_attempt_at LIMIT ?)
RETURNING ` + logoutColumns
	sqlClaimLogoutsPostgres = `UPDATE logout_outbox SET lease_until = ?
WHERE id IN (SELECT id FROM logout_outbox
	WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
	ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
RETURNING ` + logoutColumns
)

// ClaimLogouts leases up to limit due notices until now+lease.
func (s *Store) ClaimLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]idgate.LogoutNotice, error) {
	const op = "claim back-channel logouts"
	if now.IsZero() {
		return nil, fmt.Errorf("%s: %w", op, errNoTime)
	}
	query := sqlClaimLogoutsSQLite
	if s.dialect == DialectPostgres {
		query = sqlClaimLogoutsPostgres
	}
	var out []idgate.LogoutNotice
	err := s.withTx(ctx, func(tx *Store) error {
		rows, err := tx.tx.QueryContext(ctx, tx.q(query), nanos(now.Add(lease)), nanos(now), nanos(now), limit)
		if err != nil {
			return tx.wrap(op, err)
		}
		out, err = collect(rows, scanLogout)
		return tx.wrap(op, err)
	})
	return out, err
}

const sqlCompleteLogout = `UPDATE logout_outbox SET delivered_at = ?, attempts = attempts + 1, lease_until = NULL WHERE id = ?`

// CompleteLogout marks a notice delivered.
func (s *Store) CompleteLogout(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("complete back-channel logout: %w", errNoTime)
	}
	_, err := s.w().ExecContext(ctx, s.q(sqlCompleteLogout), nanos(at), id)
	return s.wrap("complete back-channel logout", err)
}

const (
	sqlRetryLogout = `UPDATE logout_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_until = NULL
WHERE id = ?`
	sqlFailLogout = `UPDATE logout_outbox SET attempts = attempts + 1, failed_at = ?, last_error = ?, lease_until = NULL
WHERE id = ?`
)

// RetryLogout records a failed attempt and when to try again; a zero next
// gives up on the notice.
func (s *Store) RetryLogout(ctx context.Context, id string, at, next time.Time, lastErr string) error {
	const op = "retry back-channel logout"
	if at.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoTime)
	}
	if len(lastErr) > 500 {
		lastErr = lastErr[:500]
	}
	var err error
	if next.IsZero() {
		_, err = s.w().ExecContext(ctx, s.q(sqlFailLogout), nanos(at), lastErr, id)
	} else {
		_, err = s.w().ExecContext(ctx, s.q(sqlRetryLogout), nanos(next), lastErr, id)
	}
	return s.wrap(op, err)
}

const sqlListLogouts = `SELECT ` + logoutColumns + ` FROM logout_outbox WHERE session_id = ? ORDER BY created_at, id`

// ListLogouts returns a session's notices, oldest first.
func (s *Store) ListLogouts(ctx context.Context, sessionID string) ([]idgate.LogoutNotice, error) {
	return list(ctx, s, "list back-channel logouts", sqlListLogouts, scanLogout, sessionID)
}
