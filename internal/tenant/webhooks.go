package tenant

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// Webhooks manages projects' webhook endpoints. Secrets are sealed under
// the master key and shown once, at creation.
type Webhooks struct {
	store  idgate.Store
	sealer *secret.Sealer
	now    func() time.Time
}

// NewWebhooks returns the webhook use-cases.
func NewWebhooks(store idgate.Store, sealer *secret.Sealer, now func() time.Time) *Webhooks {
	if now == nil {
		now = time.Now
	}
	return &Webhooks{store: store, sealer: sealer, now: now}
}

// WebhookAAD binds a sealed webhook secret to its endpoint.
func WebhookAAD(endpointID string) string { return "webhook-secret:" + endpointID }

// OpenSecret decrypts an endpoint's sealed secret (for the sender).
func (w *Webhooks) OpenSecret(endpointID string, sealed []byte) (string, error) {
	b, err := w.sealer.Open(sealed, WebhookAAD(endpointID))
	return string(b), err
}

// NewWebhook is the input of CreateWebhook.
type NewWebhook struct {
	URL         string   `json:"url"`
	EventTypes  []string `json:"eventTypes"`
	Description string   `json:"description"`
}

// WebhookView is an endpoint as administrators see it. Secret is set only
// in the answer to its creation.
type WebhookView struct {
	ID          string     `json:"id"`
	ProjectID   string     `json:"projectId"`
	URL         string     `json:"url"`
	EventTypes  []string   `json:"eventTypes"`
	Description string     `json:"description"`
	Secret      string     `json:"secret,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	DisabledAt  *time.Time `json:"disabledAt,omitempty"`
}

func viewWebhook(e idgate.WebhookEndpoint) WebhookView {
	v := WebhookView{ID: e.ID, ProjectID: e.ProjectID, URL: e.URL, EventTypes: e.EventTypes, Description: e.Description, CreatedAt: e.CreatedAt}
	if !e.DisabledAt.IsZero() {
		d := e.DisabledAt
		v.DisabledAt = &d
	}
	return v
}

var eventTypeRe = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)

// checkWebhookURL accepts https URLs, and http only for loopback hosts
// (local development and tests).
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil || len(raw) > 2048 {
		return idgate.InvalidRequest("url", "must be an absolute https URL without credentials or fragment")
	}
	h := u.Hostname()
	loopback := h == "localhost" || h == "127.0.0.1" || h == "::1"
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return idgate.InvalidRequest("url", "must use https (http is allowed only for localhost)")
	}
	return nil
}

// CreateWebhook registers an endpoint for a project and returns it with
// its signing secret (shown once).
func (w *Webhooks) CreateWebhook(ctx context.Context, projectID string, in NewWebhook, actor idgate.Actor) (WebhookView, error) {
	if err := checkWebhookURL(in.URL); err != nil {
		return WebhookView{}, err
	}
	if len(in.EventTypes) == 0 {
		in.EventTypes = []string{"*"}
	}
	for _, t := range in.EventTypes {
		if t != "*" && !eventTypeRe.MatchString(t) {
			return WebhookView{}, idgate.InvalidRequest("eventTypes", "%q is not an event type (e.g. login.failed) or *", t)
		}
	}
	if len(in.Description) > 200 {
		return WebhookView{}, idgate.InvalidRequest("description", "must be at most 200 characters")
	}
	pool, err := w.store.GetPoolByProject(ctx, projectID)
	if errors.Is(err, idgate.ErrNotFound) {
		return WebhookView{}, idgate.NotFoundError("no project " + projectID)
	}
	if err != nil {
		return WebhookView{}, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	plain := "whsec_" + base64.StdEncoding.EncodeToString(key)
	id := idgate.NewID("whk_")
	now := w.now()
	ep := idgate.WebhookEndpoint{ID: id, ProjectID: projectID, URL: in.URL, Secret: w.sealer.Seal([]byte(plain), WebhookAAD(id)),
		EventTypes: in.EventTypes, Description: in.Description, CreatedAt: now}
	err = w.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateWebhook(ctx, ep); err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventWebhookCreated, actor, now, map[string]any{"webhook_id": id, "url": in.URL})
	})
	if err != nil {
		return WebhookView{}, err
	}
	v := viewWebhook(ep)
	v.Secret = plain
	return v, nil
}

// ListWebhooks returns a project's endpoints (without secrets).
func (w *Webhooks) ListWebhooks(ctx context.Context, projectID string) ([]WebhookView, error) {
	eps, err := w.store.ListWebhooks(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := []WebhookView{}
	for _, e := range eps {
		out = append(out, viewWebhook(e))
	}
	return out, nil
}

// DisableWebhook stops deliveries to an endpoint.
func (w *Webhooks) DisableWebhook(ctx context.Context, id string, actor idgate.Actor) error {
	ep, err := w.store.GetWebhook(ctx, id)
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("no webhook " + id)
	}
	if err != nil {
		return err
	}
	pool, err := w.store.GetPoolByProject(ctx, ep.ProjectID)
	if err != nil {
		return err
	}
	return w.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.DisableWebhook(ctx, id, w.now()); err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventWebhookDisabled, actor, w.now(), map[string]any{"webhook_id": id})
	})
}

// DeliveryView is one row of an endpoint's delivery log.
type DeliveryView struct {
	ID          string     `json:"id"`
	EventID     string     `json:"eventId"`
	EventType   string     `json:"eventType"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"lastStatus"`
	LastError   string     `json:"lastError,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	NextAttempt *time.Time `json:"nextAttemptAt,omitempty"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
	FailedAt    *time.Time `json:"failedAt,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Deliveries returns an endpoint's delivery log, newest first.
func (w *Webhooks) Deliveries(ctx context.Context, endpointID string, limit int) ([]DeliveryView, error) {
	if _, err := w.store.GetWebhook(ctx, endpointID); errors.Is(err, idgate.ErrNotFound) {
		return nil, idgate.NotFoundError("no webhook " + endpointID)
	} else if err != nil {
		return nil, err
	}
	ds, err := w.store.ListDeliveries(ctx, endpointID, limit)
	if err != nil {
		return nil, err
	}
	out := []DeliveryView{}
	for _, d := range ds {
		v := DeliveryView{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Attempts: d.Attempts, LastStatus: d.LastStatus,
			LastError: d.LastError, CreatedAt: d.CreatedAt, DeliveredAt: optTime(d.DeliveredAt), FailedAt: optTime(d.FailedAt)}
		if d.DeliveredAt.IsZero() && d.FailedAt.IsZero() {
			v.NextAttempt = optTime(d.NextAttempt)
		}
		out = append(out, v)
	}
	return out, nil
}

// Redeliver queues a delivery again now (manual retry from the log).
func (w *Webhooks) Redeliver(ctx context.Context, deliveryID string) error {
	err := w.store.RedeliverDelivery(ctx, deliveryID, w.now())
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("no webhook delivery " + deliveryID)
	}
	return err
}
