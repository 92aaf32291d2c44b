package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// EventHash returns the chain hash of e: the lowercase hex SHA-256 of
//
//	e.PrevHash + "\n" + canonical JSON of e without Seq and Hash
//
// where the canonical JSON is one object with the keys, in this order, id,
// project_id, pool_id, type, actor_type, actor_id, user_sub, session_id,
// client_id, ip, user_agent, data, created_at (RFC 3339 with nanoseconds, in
// UTC) and prev_hash. data is null when e.Data is empty; otherwise it is
// e.Data encoded, decoded and encoded again by encoding/json, which sorts
// the keys of every object and keeps numbers' literal text, so the hash
// depends on the JSON value of Data, not on the Go types that built it.
//
// Recomputing EventHash over an event read back from the store yields its
// Hash, which is how a verifier checks a project's chain. It returns ""
// when e.Data cannot be encoded as JSON (AppendEvent refuses such events).
func EventHash(e idgate.Event) string {
	data, err := canonicalData(e.Data)
	if err != nil {
		return ""
	}
	return eventHash(e, data)
}

// hashedEvent fixes the fields, names and order EventHash covers.
type hashedEvent struct {
	ID        string          `json:"id"`
	ProjectID string          `json:"project_id"`
	PoolID    string          `json:"pool_id"`
	Type      string          `json:"type"`
	ActorType string          `json:"actor_type"`
	ActorID   string          `json:"actor_id"`
	UserSub   string          `json:"user_sub"`
	SessionID string          `json:"session_id"`
	ClientID  string          `json:"client_id"`
	IP        string          `json:"ip"`
	UserAgent string          `json:"user_agent"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
	PrevHash  string          `json:"prev_hash"`
}

func eventHash(e idgate.Event, data json.RawMessage) string {
	if data == nil {
		data = json.RawMessage("null")
	}
	body, err := json.Marshal(hashedEvent{
		ID: e.ID, ProjectID: e.ProjectID, PoolID: e.PoolID, Type: e.Type, ActorType: e.ActorType,
		ActorID: e.ActorID, UserSub: e.UserSub, SessionID: e.SessionID, ClientID: e.ClientID, IP: e.IP,
		UserAgent: e.UserAgent, Data: data, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano),
		PrevHash: e.PrevHash,
	})
	if err != nil { // unreachable: every field is a string or valid JSON
		return ""
	}
	h := sha256.New()
	h.Write([]byte(e.PrevHash + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalData returns the canonical JSON of an event's Data (see
// EventHash), or nil when it is empty. It is also what the store keeps.
func canonicalData(m map[string]any) (json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	first, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	v, err := decodeNumbers(first)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

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
	sqlLastEventHash       = `SELECT hash FROM events WHERE project_id = ? ORDER BY seq DESC LIMIT 1`
	sqlInsertEvent         = `INSERT INTO events (id, project_id, pool_id, type, actor_type, actor_id, user_sub,
	session_id, client_id, ip, user_agent, data, created_at, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING seq`
)

// AppendEvent chains e to its project's latest event and stores it. It
// sets e.ID (when empty, to a new "evt_" id), e.Seq, e.PrevHash ("" for a
// project's first event) and e.Hash (see EventHash), and normalises
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
	data, err := canonicalData(ev.Data)
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
		ev.Hash = eventHash(ev, data)
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
		return tx.wrap(op, err)
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
