package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// logoutTimeout bounds one back-channel logout POST.
const logoutTimeout = 5 * time.Second

// LogoutSender delivers OIDC Back-Channel Logout tokens from the durable
// outbox the store fills when sessions end. Deliveries are claimed with a
// lease (so several nodes can run senders), retried with exponential
// backoff and jitter, and given up after a dozen attempts.
type LogoutSender struct {
	*outboxLoop[idgate.LogoutNotice]
	store  idgate.OIDCStore
	sign   func(context.Context, idgate.LogoutNotice) (string, error)
	client *http.Client
}

// NewLogoutSender returns a sender; sign mints the logout token of a notice.
func NewLogoutSender(store idgate.OIDCStore, sign func(context.Context, idgate.LogoutNotice) (string, error), client *http.Client, logger *slog.Logger) *LogoutSender {
	if client == nil {
		client = &http.Client{Timeout: logoutTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	s := &LogoutSender{store: store, sign: sign, client: client}
	s.outboxLoop = newOutboxLoop("back-channel logout", func(ctx context.Context, now time.Time) ([]idgate.LogoutNotice, error) {
		return store.ClaimLogouts(ctx, now, outboxLease, outboxBatch)
	}, s.deliver, logger)
	return s
}

func (s *LogoutSender) deliver(ctx context.Context, n idgate.LogoutNotice) {
	err := s.post(ctx, n)
	now := s.now()
	if err == nil {
		if err := s.store.CompleteLogout(ctx, n.ID, now); err != nil {
			s.log.WarnContext(ctx, "back-channel logout: record delivery", "id", n.ID, "err", err.Error())
		}
		s.log.InfoContext(ctx, "back-channel logout delivered", "id", n.ID, "client_id", n.ClientID, "sid", n.SessionID)
		return
	}
	next := nextAttempt(now, n.Attempts)
	s.log.WarnContext(ctx, "back-channel logout failed", "id", n.ID, "client_id", n.ClientID, "attempt", n.Attempts+1, "err", err.Error(), "gave_up", next.IsZero())
	if err := s.store.RetryLogout(ctx, n.ID, now, next, err.Error()); err != nil {
		s.log.WarnContext(ctx, "back-channel logout: record failure", "id", n.ID, "err", err.Error())
	}
}

func (s *LogoutSender) post(ctx context.Context, n idgate.LogoutNotice) error {
	tok, err := s.sign(ctx, n)
	if err != nil {
		return fmt.Errorf("sign logout token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, logoutTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the app answered %s", resp.Status)
	}
	return nil
}
