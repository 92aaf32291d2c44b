package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// webhookTimeout bounds one webhook POST.
const webhookTimeout = 10 * time.Second

// WebhookSecretPrefix starts every webhook signing secret (Standard
// Webhooks: "whsec_" + base64 of the key).
const WebhookSecretPrefix = "whsec_"

// SignWebhook returns the Standard Webhooks signature header value of a
// delivery: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." +
// body)), where key is the base64 part of the whsec_ secret.
func SignWebhook(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, WebhookSecretPrefix))
	if err != nil || !strings.HasPrefix(secret, WebhookSecretPrefix) || len(key) < 16 {
		return "", errors.New("webhook secret must be whsec_ followed by base64 of at least 16 bytes")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// WebhookSender delivers webhook deliveries from the durable outbox the
// store fills with every event: signed per Standard Webhooks, claimed with
// a lease, retried with exponential backoff and jitter, recorded in the
// delivery log.
type WebhookSender struct {
	*outboxLoop[idgate.WebhookDelivery]
	store  idgate.WebhookStore
	open   func(endpointID string, sealed []byte) (string, error)
	client *http.Client
}

// NewWebhookSender returns a sender; open decrypts an endpoint's sealed
// secret.
func NewWebhookSender(store idgate.WebhookStore, open func(endpointID string, sealed []byte) (string, error), client *http.Client, logger *slog.Logger) *WebhookSender {
	if client == nil {
		client = &http.Client{Timeout: webhookTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	s := &WebhookSender{store: store, open: open, client: client}
	s.outboxLoop = newOutboxLoop("webhook", func(ctx context.Context, now time.Time) ([]idgate.WebhookDelivery, error) {
		return store.ClaimDeliveries(ctx, now, outboxLease, outboxBatch)
	}, s.deliver, logger)
	return s
}

func (s *WebhookSender) deliver(ctx context.Context, d idgate.WebhookDelivery) {
	status, err := s.post(ctx, d)
	now := s.now()
	if err == nil {
		if err := s.store.CompleteDelivery(ctx, d.ID, now, status); err != nil {
			s.log.WarnContext(ctx, "webhook: record delivery", "id", d.ID, "err", err.Error())
		}
		return
	}
	next := nextAttempt(now, d.Attempts)
	s.log.WarnContext(ctx, "webhook delivery failed", "id", d.ID, "endpoint", d.EndpointID, "attempt", d.Attempts+1,
		"status", status, "err", err.Error(), "gave_up", next.IsZero())
	if err := s.store.RetryDelivery(ctx, d.ID, now, next, status, err.Error()); err != nil {
		s.log.WarnContext(ctx, "webhook: record failure", "id", d.ID, "err", err.Error())
	}
}

func (s *WebhookSender) post(ctx context.Context, d idgate.WebhookDelivery) (int, error) {
	secret, err := s.open(d.EndpointID, d.Secret)
	if err != nil {
		return 0, fmt.Errorf("open webhook secret: %w", err)
	}
	ts := s.now().Unix()
	sig, err := SignWebhook(secret, d.ID, ts, d.Payload)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "idgate-webhooks/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
