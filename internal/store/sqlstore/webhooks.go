package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

const webhookColumns = `id, project_id, url, secret, event_types, description, created_at, disabled_at`

func scanWebhook(row scanner) (idgate.WebhookEndpoint, error) {
	var w idgate.WebhookEndpoint
	err := row.Scan(&w.ID, &w.ProjectID, &w.URL, bytesScan{&w.Secret}, listScan{&w.EventTypes}, &w.Description,
		timeScan{&w.CreatedAt}, timeScan{&w.DisabledAt})
	return w, err
}

const sqlCreateWebhook = `INSERT INTO webhook_endpoints (` + webhookColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateWebhook stores an endpoint; ErrConflict when the id is taken,
// ErrNotFound when the project does not exist.
func (s *Store) CreateWebhook(ctx context.Context, w idgate.WebhookEndpoint) error {
	const op = "create webhook"
	if w.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateWebhook, w.ID, w.ProjectID, w.URL, nullBytes(w.Secret), jsonList(w.EventTypes),
		w.Description, nanos(w.CreatedAt), nanos(w.DisabledAt))
}

const sqlGetWebhook = `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE id = ?`

// GetWebhook returns an endpoint; ErrNotFound when unknown.
func (s *Store) GetWebhook(ctx context.Context, id string) (idgate.WebhookEndpoint, error) {
	w, err := scanWebhook(s.r().QueryRowContext(ctx, s.q(sqlGetWebhook), id))
	return w, s.wrap("get webhook", err)
}

const sqlListWebhooks = `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE project_id = ? ORDER BY created_at, id`

// ListWebhooks returns a project's endpoints, oldest first, disabled ones
// included.
func (s *Store) ListWebhooks(ctx context.Context, projectID string) ([]idgate.WebhookEndpoint, error) {
	return list(ctx, s, "list webhooks", sqlListWebhooks, scanWebhook, projectID)
}

const (
	sqlDisableWebhook = `UPDATE webhook_endpoints SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL`
	sqlWebhookExists  = `SELECT 1 FROM webhook_endpoints WHERE id = ?`
)

// DisableWebhook stops deliveries to an endpoint; ErrNotFound when unknown.
func (s *Store) DisableWebhook(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("disable webhook: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "disable webhook", sqlDisableWebhook, sqlWebhookExists, id, nanos(at), id)
}

const (
	sqlActiveWebhooks  = `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE project_id = ? AND disabled_at IS NULL`
	sqlEnqueueDelivery = `INSERT INTO webhook_deliveries (id, endpoint_id, project_id, event_id, event_type, payload,
	created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
)

// enqueueDeliveries writes one delivery per active endpoint of the event's
// project that wants its type. It runs inside AppendEvent's transaction.
func (s *Store) enqueueDeliveries(ctx context.Context, e idgate.Event) error {
	const op = "enqueue webhook deliveries"
	rows, err := s.tx.QueryContext(ctx, s.q(sqlActiveWebhooks), e.ProjectID)
	if err != nil {
		return s.wrap(op, err)
	}
	endpoints, err := collect(rows, scanWebhook)
	if err != nil {
		return s.wrap(op, err)
	}
	var payload []byte
	for _, w := range endpoints {
		if !w.Wants(e.Type) {
			continue
		}
		if payload == nil {
			if payload, err = idgate.WebhookPayload(e); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		if _, err := s.tx.ExecContext(ctx, s.q(sqlEnqueueDelivery), idgate.NewID("msg_"), w.ID, e.ProjectID, e.ID, e.Type,
			string(payload), nanos(e.CreatedAt), nanos(e.CreatedAt)); err != nil {
			return s.wrap(op, err)
		}
	}
	return nil
}

const deliveryColumns = `d.id, d.endpoint_id, d.project_id, d.event_id, d.event_type, d.payload, w.url, w.secret,
	d.created_at, d.attempts, d.next_attempt_at, d.delivered_at, d.failed_at, d.last_status, d.last_error`

func scanDelivery(row scanner) (idgate.WebhookDelivery, error) {
	var d idgate.WebhookDelivery
	var payload string
	err := row.Scan(&d.ID, &d.EndpointID, &d.ProjectID, &d.EventID, &d.EventType, &payload, &d.URL, bytesScan{&d.Secret},
		timeScan{&d.CreatedAt}, &d.Attempts, timeScan{&d.NextAttempt}, timeScan{&d.DeliveredAt}, timeScan{&d.FailedAt},
		&d.LastStatus, &d.LastError)
	d.Payload = []byte(payload)
	return d, err
}

// The claim leases due deliveries of active endpoints in one statement and
// reads them back with their endpoint's URL and secret.
const (
	sqlLeaseDeliveriesSQLite = `UPDATE webhook_deliveries SET lease_until = ?
WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
	WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND w.disabled_at IS NULL AND d.next_attempt_at <= ?
	AND (d.lease_until IS NULL OR d.lease_until <= ?) ORDER BY d.next_attempt_at LIMIT ?)
RETURNING id`
	sqlLeaseDeliveriesPostgres = `UPDATE webhook_deliveries SET lease_until = ?
WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
	WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND w.disabled_at IS NULL AND d.next_attempt_at <= ?
	AND (d.lease_until IS NULL OR d.lease_until <= ?) ORDER BY d.next_attempt_at LIMIT ? FOR UPDATE OF d SKIP LOCKED)
RETURNING id`
	sqlGetDelivery = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
WHERE d.id = ?`
)

// ClaimDeliveries leases up to limit due deliveries until now+lease.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]idgate.WebhookDelivery, error) {
	const op = "claim webhook deliveries"
	if now.IsZero() {
		return nil, fmt.Errorf("%s: %w", op, errNoTime)
	}
	query := sqlLeaseDeliveriesSQLite
	if s.dialect == DialectPostgres {
		query = sqlLeaseDeliveriesPostgres
	}
	var out []idgate.WebhookDelivery
	err := s.withTx(ctx, func(tx *Store) error {
		rows, err := tx.tx.QueryContext(ctx, tx.q(query), nanos(now.Add(lease)), nanos(now), nanos(now), limit)
		if err != nil {
			return tx.wrap(op, err)
		}
		ids, err := collect(rows, func(row scanner) (string, error) {
			var id string
			return id, row.Scan(&id)
		})
		if err != nil {
			return tx.wrap(op, err)
		}
		for _, id := range ids {
			d, err := scanDelivery(tx.tx.QueryRowContext(ctx, tx.q(sqlGetDelivery), id))
			if err != nil {
				return tx.wrap(op, err)
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

const sqlCompleteDelivery = `UPDATE webhook_deliveries SET delivered_at = ?, attempts = attempts + 1, last_status = ?,
	last_error = '', lease_until = NULL WHERE id = ?`

// CompleteDelivery marks a delivery delivered with the receiver's status.
func (s *Store) CompleteDelivery(ctx context.Context, id string, at time.Time, status int) error {
	if at.IsZero() {
		return fmt.Errorf("complete webhook delivery: %w", errNoTime)
	}
	_, err := s.w().ExecContext(ctx, s.q(sqlCompleteDelivery), nanos(at), status, id)
	return s.wrap("complete webhook delivery", err)
}

const (
	sqlRetryDelivery = `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_status = ?,
	last_error = ?, lease_until = NULL WHERE id = ?`
	sqlFailDelivery = `UPDATE webhook_deliveries SET attempts = attempts + 1, failed_at = ?, last_status = ?,
	last_error = ?, lease_until = NULL WHERE id = ?`
)

// RetryDelivery records a failed attempt and when to retry; a zero next
// gives up.
func (s *Store) RetryDelivery(ctx context.Context, id string, at, next time.Time, status int, lastErr string) error {
	const op = "retry webhook delivery"
	if at.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoTime)
	}
	if len(lastErr) > 500 {
		lastErr = lastErr[:500]
	}
	var err error
	if next.IsZero() {
		_, err = s.w().ExecContext(ctx, s.q(sqlFailDelivery), nanos(at), status, lastErr, id)
	} else {
		_, err = s.w().ExecContext(ctx, s.q(sqlRetryDelivery), nanos(next), status, lastErr, id)
	}
	return s.wrap(op, err)
}

const sqlListDeliveries = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
WHERE d.endpoint_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ?`

// ListDeliveries returns an endpoint's delivery log, newest first.
func (s *Store) ListDeliveries(ctx context.Context, endpointID string, limit int) ([]idgate.WebhookDelivery, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return list(ctx, s, "list webhook deliveries", sqlListDeliveries, scanDelivery, endpointID, limit)
}

const (
	sqlRedeliver      = `UPDATE webhook_deliveries SET next_attempt_at = ?, delivered_at = NULL, failed_at = NULL, lease_until = NULL WHERE id = ?`
	sqlDeliveryExists = `SELECT 1 FROM webhook_deliveries WHERE id = ?`
)

// RedeliverDelivery makes a delivery due again at `at` (manual retry from
// the delivery log); ErrNotFound when unknown.
func (s *Store) RedeliverDelivery(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("redeliver webhook: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "redeliver webhook", sqlRedeliver, sqlDeliveryExists, id, nanos(at), id)
}
