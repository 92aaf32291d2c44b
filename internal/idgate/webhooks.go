package idgate

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// WebhookEndpoint is a project's HTTPS endpoint subscribed to event types.
type WebhookEndpoint struct {
	ID          string
	ProjectID   string
	URL         string
	Secret      []byte   // the whsec_ secret sealed under the master key
	EventTypes  []string // event types, or ["*"] for all
	Description string
	CreatedAt   time.Time
	DisabledAt  time.Time // zero while active
}

// Wants reports whether the endpoint subscribes to an event type.
func (w WebhookEndpoint) Wants(eventType string) bool {
	return slices.Contains(w.EventTypes, "*") || slices.Contains(w.EventTypes, eventType)
}

// WebhookDelivery is one event to deliver to one endpoint: a row of the
// durable outbox written in the transaction that appends the event. Its ID
// is the webhook-id header, the same on every retry, so receivers can drop
// duplicates.
type WebhookDelivery struct {
	ID          string
	EndpointID  string
	ProjectID   string
	EventID     string
	EventType   string
	Payload     []byte
	URL         string // the endpoint's URL, joined in when claimed
	Secret      []byte // the endpoint's sealed secret, joined in when claimed
	CreatedAt   time.Time
	Attempts    int
	NextAttempt time.Time
	DeliveredAt time.Time
	FailedAt    time.Time
	LastStatus  int
	LastError   string
}

// WebhookPayload is the JSON body of a delivery (Standard Webhooks shape:
// type, timestamp, data).
func WebhookPayload(e Event) ([]byte, error) {
	data, err := CanonicalEventData(e.Data)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = json.RawMessage("{}")
	}
	return json.Marshal(map[string]any{
		"type":      e.Type,
		"timestamp": e.CreatedAt.UTC().Format(time.RFC3339Nano),
		"data": map[string]any{
			"id": e.ID, "seq": e.Seq, "projectId": e.ProjectID, "userPoolId": e.PoolID, "actorType": e.ActorType,
			"actorId": e.ActorID, "sub": e.UserSub, "sid": e.SessionID, "clientId": e.ClientID, "ip": e.IP,
			"userAgent": e.UserAgent, "details": data, "hash": e.Hash,
		},
	})
}

// WebhookStore is the storage webhooks add to Store. AppendEvent enqueues a
// delivery for every active endpoint of the event's project that wants its
// type, in the same transaction.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w WebhookEndpoint) error
	GetWebhook(ctx context.Context, id string) (WebhookEndpoint, error)
	ListWebhooks(ctx context.Context, projectID string) ([]WebhookEndpoint, error)
	// DisableWebhook stops deliveries to the endpoint (pending ones fail).
	DisableWebhook(ctx context.Context, id string, at time.Time) error
	// ClaimDeliveries leases up to limit due deliveries of active endpoints.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error)
	CompleteDelivery(ctx context.Context, id string, at time.Time, status int) error
	// RetryDelivery records a failed attempt; a zero next gives up.
	RetryDelivery(ctx context.Context, id string, at, next time.Time, status int, lastErr string) error
	// ListDeliveries is an endpoint's delivery log, newest first.
	ListDeliveries(ctx context.Context, endpointID string, limit int) ([]WebhookDelivery, error)
	// RedeliverDelivery makes a delivered or failed delivery due again now.
	RedeliverDelivery(ctx context.Context, id string, at time.Time) error
}
