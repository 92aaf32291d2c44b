package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// The admin console's read models: recent events (newest first), event
// counts per time bucket for the dashboard chart, active sessions, and the
// user search.

// RecentEvents builds its WHERE clause from these fragments, one per set
// filter field, in this order.
const (
	sqlRecentEvents        = `SELECT ` + eventColumns + ` FROM events WHERE seq > 0`
	sqlRecentBefore        = ` AND seq < ?`
	sqlRecentOrderedLimit  = ` ORDER BY seq DESC LIMIT ?`
	maxRecentEventTypes    = 20
	defaultRecentEventPage = 100
)

// placeholders returns n `?` separated by commas (n ≥ 1).
func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// RecentEvents returns the events f selects, newest first.
func (s *Store) RecentEvents(ctx context.Context, f idgate.RecentEventFilter) ([]idgate.Event, error) {
	if len(f.Types) > maxRecentEventTypes {
		return nil, fmt.Errorf("recent events: at most %d types", maxRecentEventTypes)
	}
	var q strings.Builder
	q.WriteString(sqlRecentEvents)
	var args []any
	add := func(fragment string, arg ...any) {
		q.WriteString(fragment)
		args = append(args, arg...)
	}
	if f.BeforeSeq > 0 {
		add(sqlRecentBefore, f.BeforeSeq)
	}
	if f.ProjectID != "" {
		add(sqlEventsOfProject, f.ProjectID)
	}
	if f.UserSub != "" {
		add(sqlEventsOfUser, f.UserSub)
	}
	if len(f.Types) > 0 {
		types := make([]any, len(f.Types))
		for i, t := range f.Types {
			types[i] = t
		}
		add(` AND type IN (`+placeholders(len(types))+`)`, types...)
	}
	if !f.Since.IsZero() {
		add(sqlEventsSince, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add(sqlEventsUntil, nanos(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultRecentEventPage
	}
	add(sqlRecentOrderedLimit, min(limit, maxEventPage))
	return list(ctx, s, "recent events", q.String(), scanEvent, args...)
}

// sqlCountEvents groups the events of a window by type and bucket; the
// bucket is an integer division of nanoseconds, the same in both dialects.
const (
	sqlCountEvents = `SELECT type, (created_at - ?) / ? AS bucket, COUNT(*) FROM events
WHERE created_at >= ? AND created_at < ? AND type IN (%s)`
	sqlCountEventsOfProject = ` AND project_id = ?`
	sqlCountEventsGroup     = ` GROUP BY type, bucket ORDER BY bucket, type`
)

// CountEvents counts events of the types per type and bucket of width,
// over n buckets from since.
func (s *Store) CountEvents(ctx context.Context, projectID string, types []string, since time.Time, width time.Duration, n int) ([]idgate.EventCount, error) {
	const op = "count events"
	switch {
	case len(types) == 0 || len(types) > maxRecentEventTypes:
		return nil, fmt.Errorf("%s: between 1 and %d types", op, maxRecentEventTypes)
	case width <= 0 || n <= 0 || since.IsZero():
		return nil, fmt.Errorf("%s: a start, a positive width and a positive number of buckets are required", op)
	}
	start, w := since.UnixNano(), int64(width)
	args := []any{start, w, start, start + w*int64(n)}
	for _, t := range types {
		args = append(args, t)
	}
	q := fmt.Sprintf(sqlCountEvents, placeholders(len(types)))
	if projectID != "" {
		q += sqlCountEventsOfProject
		args = append(args, projectID)
	}
	q += sqlCountEventsGroup
	return list(ctx, s, op, q, func(row scanner) (idgate.EventCount, error) {
		var c idgate.EventCount
		var bucket int64
		err := row.Scan(&c.Type, &bucket, &c.Count)
		c.Bucket = int(bucket)
		return c, err
	}, args...)
}

const (
	sqlCountActiveSessions       = `SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND expires_at > ?`
	sqlCountActiveSessionsOfPool = sqlCountActiveSessions + ` AND pool_id = ?`
)

// CountActiveSessions counts sessions that have neither ended nor expired.
func (s *Store) CountActiveSessions(ctx context.Context, poolID string, now time.Time) (int, error) {
	var n int
	var err error
	if poolID == "" {
		err = s.r().QueryRowContext(ctx, s.q(sqlCountActiveSessions), nanos(now)).Scan(&n)
	} else {
		err = s.r().QueryRowContext(ctx, s.q(sqlCountActiveSessionsOfPool), nanos(now), poolID).Scan(&n)
	}
	return n, s.wrap("count active sessions", err)
}

const sqlSearchUsers = `SELECT ` + userColumns + ` FROM users
WHERE pool_id = ? AND (sub = ? OR email LIKE ? ESCAPE '\') ORDER BY email, sub LIMIT ?`

// likeEscaper escapes the LIKE wildcards of a literal prefix.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchUsers finds users by exact sub or email prefix (emails are stored
// lower-cased, so the lower-cased query matches case-insensitively).
func (s *Store) SearchUsers(ctx context.Context, poolID, query string, limit int) ([]idgate.User, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	prefix := likeEscaper.Replace(strings.ToLower(query)) + "%"
	return list(ctx, s, "search users", sqlSearchUsers, scanUser, poolID, query, prefix, limit)
}
