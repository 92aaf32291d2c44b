package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Back-channel logout delivery schedule.
const (
	logoutLease       = 30 * time.Second
	logoutMaxAttempts = 12
	logoutPoll        = time.Second
	logoutTimeout     = 5 * time.Second
)

// LogoutSender delivers OIDC Back-Channel Logout tokens from the durable
// outbox the store fills when sessions end. Deliveries are claimed with a
// lease (so several nodes can run senders), retried with exponential
// backoff and jitter, and given up after logoutMaxAttempts.
type LogoutSender struct {
	store  idgate.OIDCStore
	sign   func(context.Context, idgate.LogoutNotice) (string, error)
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	wake   chan struct{}
}

// NewLogoutSender returns a sender; sign mints the logout token of a notice.
func NewLogoutSender(store idgate.OIDCStore, sign func(context.Context, idgate.LogoutNotice) (string, error), client *http.Client, logger *slog.Logger) *LogoutSender {
	if client == nil {
		client = &http.Client{Timeout: logoutTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LogoutSender{store: store, sign: sign, client: client, now: time.Now, log: logger, wake: make(chan struct{}, 1)}
}

// Wake asks the sender to look at the outbox now (sessions just ended)
// instead of at its next poll.
func (s *LogoutSender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run drains the outbox until ctx ends.
func (s *LogoutSender) Run(ctx context.Context) {
	t := time.NewTicker(logoutPoll)
	defer t.Stop()
	for {
		s.Drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Drain delivers every notice due now and returns how many it attempted.
func (s *LogoutSender) Drain(ctx context.Context) int {
	total := 0
	for ctx.Err() == nil {
		batch, err := s.store.ClaimLogouts(ctx, s.now(), logoutLease, 20)
		if err != nil {
			s.log.WarnContext(ctx, "back-channel logout: claim failed", "err", err.Error())
			return total
		}
		if len(batch) == 0 {
			return total
		}
		for _, n := range batch {
			s.deliver(ctx, n)
		}
		total += len(batch)
	}
	return total
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
	var next time.Time
	if n.Attempts+1 < logoutMaxAttempts {
		next = now.Add(backoff(n.Attempts))
	}
	s.log.WarnContext(ctx, "back-channel logout failed", "id", n.ID, "client_id", n.ClientID, "attempt", n.Attempts+1, "err", err.Error(), "gave_up", next.IsZero())
	if err := s.store.RetryLogout(ctx, n.ID, now, next, err.Error()); err != nil {
		s.log.WarnContext(ctx, "back-channel logout: record failure", "id", n.ID, "err", err.Error())
	}
}

// backoff is 5 s × 2^attempts capped at an hour, with ±20 % jitter so a
// recovering app is not hit by every node at once.
func backoff(attempts int) time.Duration {
	d := 5 * time.Second << min(attempts, 10)
	d = min(d, time.Hour)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return d + jitter
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
