package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idgate/idgate/internal/idgate"
)

// decodeNumbers decodes JSON keeping numbers as json.Number.
func decodeNumbers(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// dataScan reads an event's data column: NULL as nil, numbers as
// json.Number (lossless, so EventHash of the read event matches).
type dataScan struct{ m *map[string]any }

// Scan implements sql.Scanner.
func (s dataScan) Scan(src any) error {
	raw, err := textOf(src)
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	*s.m = nil
	if len(raw) == 0 {
		return nil
	}
	v, err := decodeNumbers(raw)
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	switch m := v.(type) {
	case nil:
	case map[string]any:
		if len(m) > 0 {
			*s.m = m
		}
	default:
		return fmt.Errorf("event data: not an object but %T", v)
	}
	return nil
}

const eventColumns = `seq, id, project_id, pool_id, type, actor_type, actor_id, user_sub, session_id, client_id,
	ip, user_agent, data, created_at, prev_hash, hash`

func scanEvent(row scanner) (idgate.Event, error) {
	var e idgate.Event
	err := row.Scan(&e.Seq, &e.ID, &e.ProjectID, &e.PoolID, &e.Type, &e.ActorType, &e.ActorID, &e.UserSub,
		&e.SessionID, &e.ClientID, &e.IP, &e.UserAgent, dataScan{&e.Data}, timeScan{&e.CreatedAt},
		&e.PrevHash, &e.Hash)
	return e, err
}

const (
	// sqlLockProjectEventsPG serialises appends to one project's chain
	// until the transaction ends. (The migration lock uses a key outside the
	// int4 range of hashtext, so the two never collide.)
	sqlLockProjectEventsPG = `SELECT pg_advisory_xact_lock(hashtext(?))`
	sqlLastEventHash       = `SELECT hash FROM event_heads WHERE project_id = ?`
	sqlSetEventHead        = `INSERT INTO event_heads (project_id, seq, hash) VALUES (?, ?, ?)
ON CONFLICT (project_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`
	sqlInsertEvent = `INSERT INTO events (id, project_id, pool_id, type, actor_type, actor_id, user_sub,
	session_id, client_id, ip, user_agent, data, created_at, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING seq`
)

// AppendEvent chains e to its project's latest event and stores it. It
// sets e.ID (when empty, to a new "evt_" id), e.Seq, e.PrevHash ("" for a
// project's first event) and e.Hash (see idgate.EventHash), and normalises
// e.CreatedAt, which is required, to UTC; e is left untouched on failure.
//
// Reading the latest hash and inserting happen in one transaction (the
// caller's, when called inside InTx, so the event commits or rolls back
// with the change it records). Appends to one project are serialised: by
// the single writer on SQLite, by a transaction-scoped advisory lock on
// PostgreSQL. ErrConflict when the id is taken.
func (s *Store) AppendEvent(ctx context.Context, e *idgate.Event) error {
	const op = "append event"
	if e == nil {
		return fmt.Errorf("%s: nil event", op)
	}
	if e.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	ev := *e
	if ev.ID == "" {
		ev.ID = idgate.NewID("evt_")
	}
	ev.CreatedAt = ev.CreatedAt.UTC()
	data, err := idgate.CanonicalEventData(ev.Data)
	if err != nil {
		return fmt.Errorf("%s: data: %w", op, err)
	}
	err = s.withTx(ctx, func(tx *Store) error {
		if tx.dialect == DialectPostgres {
			if _, err := tx.tx.ExecContext(ctx, tx.q(sqlLockProjectEventsPG), ev.ProjectID); err != nil {
				return tx.wrap(op, err)
			}
		}
		err := tx.tx.QueryRowContext(ctx, tx.q(sqlLastEventHash), ev.ProjectID).Scan(&ev.PrevHash)
		if errors.Is(err, sql.ErrNoRows) {
			ev.PrevHash = ""
		} else if err != nil {
			return tx.wrap(op, err)
		}
		ev.Hash = idgate.EventHash(ev)
		var stored any // NULL when there is no data
		if data != nil {
			stored = string(data)
		}
		err = tx.tx.QueryRowContext(ctx, tx.q(sqlInsertEvent), ev.ID, ev.ProjectID, ev.PoolID, ev.Type,
			ev.ActorType, ev.ActorID, ev.UserSub, ev.SessionID, ev.ClientID, ev.IP, ev.UserAgent, stored,
			nanos(ev.CreatedAt), ev.PrevHash, ev.Hash).Scan(&ev.Seq)
		if errors.Is(err, sql.ErrNoRows) { // ON CONFLICT DO NOTHING skipped it
			return fmt.Errorf("%s: %w: event id %s is taken, or the chain moved", op, idgate.ErrConflict, ev.ID)
		}
		if err != nil {
			return tx.wrap(op, err)
		}
		if _, err = tx.tx.ExecContext(ctx, tx.q(sqlSetEventHead), ev.ProjectID, ev.Seq, ev.Hash); err != nil {
			return tx.wrap(op, err)
		}
		return tx.enqueueDeliveries(ctx, ev)
	})
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// Page sizes of ListEvents.
const (
	defaultEventPage = 100
	maxEventPage     = 1000
)

// ListEvents builds its WHERE clause from these fragments, one per set
// filter field, in this order.
const (
	sqlListEvents         = `SELECT ` + eventColumns + ` FROM events WHERE seq > ?`
	sqlEventsOfProject    = ` AND project_id = ?`
	sqlEventsOfUser       = ` AND user_sub = ?`
	sqlEventsOfType       = ` AND type = ?`
	sqlEventsSince        = ` AND created_at >= ?`
	sqlEventsUntil        = ` AND created_at < ?`
	sqlEventsOrderedLimit = ` ORDER BY seq LIMIT ?`
)

// ListEvents returns the events f selects in ascending Seq order: those
// with Seq > f.AfterSeq and, for each non-zero field, of the project, of the
// user, of the type, created at or after Since, created before Until. Limit
// defaults to 100 and is capped at 1000; to page, pass the last Seq as the
// next AfterSeq.
func (s *Store) ListEvents(ctx context.Context, f idgate.EventFilter) ([]idgate.Event, error) {
	var q strings.Builder
	q.WriteString(sqlListEvents)
	args := []any{f.AfterSeq}
	add := func(fragment string, arg any) {
		q.WriteString(fragment)
		args = append(args, arg)
	}
	if f.ProjectID != "" {
		add(sqlEventsOfProject, f.ProjectID)
	}
	if f.UserSub != "" {
		add(sqlEventsOfUser, f.UserSub)
	}
	if f.Type != "" {
		add(sqlEventsOfType, f.Type)
	}
	if !f.Since.IsZero() {
		add(sqlEventsSince, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add(sqlEventsUntil, nanos(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultEventPage
	}
	add(sqlEventsOrderedLimit, min(limit, maxEventPage))
	return list(ctx, s, "list events", q.String(), scanEvent, args...)
}
