package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

const sqlEventHead = `SELECT seq, hash FROM event_heads WHERE project_id = ?`

// EventHead returns the project's chain head; ErrNotFound without events.
func (s *Store) EventHead(ctx context.Context, projectID string) (idgate.ChainHead, error) {
	var h idgate.ChainHead
	err := s.r().QueryRowContext(ctx, s.q(sqlEventHead), projectID).Scan(&h.Seq, &h.Hash)
	return h, s.wrap("event head", err)
}

const (
	sqlLastPurgeable = `SELECT seq, hash FROM events WHERE project_id = ? AND created_at < ? ORDER BY seq DESC LIMIT 1`
	sqlPurgeEvents   = `DELETE FROM events WHERE project_id = ? AND seq <= ?`
)

// PurgeEvents deletes the project's events older than before and appends
// a checkpoint naming the last one deleted, in one transaction. It is the
// only way events leave the store: retention, recorded in the chain.
func (s *Store) PurgeEvents(ctx context.Context, projectID string, before, at time.Time) (int, error) {
	const op = "purge events"
	if before.IsZero() || at.IsZero() {
		return 0, fmt.Errorf("%s: %w", op, errNoTime)
	}
	var n int64
	err := s.withTx(ctx, func(tx *Store) error {
		if tx.dialect == DialectPostgres {
			if _, err := tx.tx.ExecContext(ctx, tx.q(sqlLockProjectEventsPG), projectID); err != nil {
				return tx.wrap(op, err)
			}
		}
		var last idgate.ChainHead
		err := tx.tx.QueryRowContext(ctx, tx.q(sqlLastPurgeable), projectID, nanos(before)).Scan(&last.Seq, &last.Hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return tx.wrap(op, err)
		}
		res, err := tx.tx.ExecContext(ctx, tx.q(sqlPurgeEvents), projectID, last.Seq)
		if err != nil {
			return tx.wrap(op, err)
		}
		if n, err = affected(res); err != nil {
			return tx.wrap(op, err)
		}
		var poolID string
		if p, err := tx.GetPoolByProject(ctx, projectID); err == nil {
			poolID = p.ID
		}
		return tx.AppendEvent(ctx, &idgate.Event{ProjectID: projectID, PoolID: poolID, Type: idgate.EventCheckpoint,
			ActorType: idgate.ActorSystem, ActorID: "retention", CreatedAt: at,
			Data: map[string]any{"through_seq": last.Seq, "through_hash": last.Hash, "purged": n, "before": before.UTC().Format(time.RFC3339Nano)}})
	})
	return int(n), err
}
