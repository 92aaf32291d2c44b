package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// The revocation feed's watermark must never let a reader skip a row: a
// reader that has seen seq n must already see every row with a smaller
// seq. On SQLite the single writer commits transactions one at a time, so
// seq order is commit order. On PostgreSQL two transactions could draw
// seq 7 and 8 and commit 8 first; a reader would then move past 7 for
// good. Writers therefore take a transaction-scoped advisory lock before
// drawing a seq and hold it until they commit (PostgreSQL releases it
// after the commit is visible): the next writer draws a larger seq only
// after the previous one is visible. The lock is held only from the end of
// a session to the commit of its transaction.
//
// Lock order: every caller ends sessions before appending the audit event
// (which takes the project's event lock); keep that order to avoid
// deadlocks between the two advisory locks.
const (
	sqlLockRevocationsPG = `SELECT pg_advisory_xact_lock(?)`
	pgRevocationLockKey  = int64(0x6964676174657276) // "idgaterv"

	sqlRecordRevocation = `INSERT INTO revocations (pool_id, session_id, user_sub, client_id, reason, ended_at)
SELECT pool_id, id, user_sub, client_id, end_reason, ended_at FROM sessions WHERE id = ? AND ended_at IS NOT NULL`
)

// recordRevocations appends a feed row for each ended session, in id order.
// It runs inside the transaction that ended the sessions.
func (s *Store) recordRevocations(ctx context.Context, sessionIDs ...string) error {
	const op = "record revocation"
	if len(sessionIDs) == 0 {
		return nil
	}
	if s.dialect == DialectPostgres {
		if _, err := s.tx.ExecContext(ctx, s.q(sqlLockRevocationsPG), pgRevocationLockKey); err != nil {
			return s.wrap(op, err)
		}
	}
	ids := slices.Clone(sessionIDs)
	slices.Sort(ids)
	for _, id := range ids {
		if _, err := s.tx.ExecContext(ctx, s.q(sqlRecordRevocation), id); err != nil {
			return s.wrap(op, err)
		}
	}
	return nil
}

const revocationColumns = `seq, pool_id, session_id, user_sub, client_id, reason, ended_at`

func scanRevocation(row scanner) (idgate.Revocation, error) {
	var r idgate.Revocation
	err := row.Scan(&r.Seq, &r.PoolID, &r.SessionID, &r.UserSub, &r.ClientID, &r.Reason, timeScan{&r.EndedAt})
	return r, err
}

const sqlListRevocations = `SELECT ` + revocationColumns + ` FROM revocations
WHERE pool_id = ? AND seq > ? ORDER BY seq LIMIT ?`

// ListRevocations returns up to limit (500 when limit <= 0) revocations of
// the pool after the watermark, oldest first.
func (s *Store) ListRevocations(ctx context.Context, poolID string, after int64, limit int) ([]idgate.Revocation, error) {
	if limit <= 0 {
		limit = 500
	}
	return list(ctx, s, "list revocations", sqlListRevocations, scanRevocation, poolID, after, limit)
}

const sqlRevocationWatermark = `SELECT COALESCE(MAX(seq), 0) FROM revocations WHERE pool_id = ?`

// RevocationWatermark returns the pool's highest revocation seq, 0 when
// it has none.
func (s *Store) RevocationWatermark(ctx context.Context, poolID string) (int64, error) {
	var n int64
	err := s.r().QueryRowContext(ctx, s.q(sqlRevocationWatermark), poolID).Scan(&n)
	return n, s.wrap("revocation watermark", err)
}

const sqlPruneRevocations = `DELETE FROM revocations WHERE ended_at < ?`

// PruneRevocations deletes the revocations of sessions that ended before
// `before`. The sequence is not reset: watermarks stay unique.
func (s *Store) PruneRevocations(ctx context.Context, before time.Time) (int64, error) {
	const op = "prune revocations"
	if before.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, errNoTime)
	}
	res, err := s.w().ExecContext(ctx, s.q(sqlPruneRevocations), nanos(before))
	if err != nil {
		return 0, s.wrap(op, err)
	}
	n, err := affected(res)
	return n, s.wrap(op, err)
}
