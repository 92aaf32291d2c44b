package idgate

import (
	"context"
	"time"
)

// LogoutNotice is a pending OIDC Back-Channel Logout delivery: one ended
// session of an app that registered a back-channel logout URI. The store
// writes it in the same transaction that ends the session, so no ended
// session is forgotten across a crash; a sender delivers it with retries.
type LogoutNotice struct {
	ID          string
	PoolID      string
	ClientID    string
	SessionID   string
	UserSub     string
	URI         string
	CreatedAt   time.Time
	Attempts    int
	NextAttempt time.Time
	DeliveredAt time.Time // zero until delivered
	FailedAt    time.Time // zero unless given up
	LastError   string
}

// OIDCStore is the storage the OIDC provider adds to Store.
//
// EndSession and EndUserSessions enqueue a LogoutNotice for every session
// they end whose app has a BackchannelLogoutURI, in their own transaction.
type OIDCStore interface {
	// ClaimLogouts returns up to limit undelivered notices due at now and
	// leases them until now+lease, so that several nodes draining the same
	// outbox do not deliver a notice twice while one is working on it.
	ClaimLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]LogoutNotice, error)
	// CompleteLogout marks a notice delivered.
	CompleteLogout(ctx context.Context, id string, at time.Time) error
	// RetryLogout records a failed attempt: attempts+1, the error, and the
	// next attempt time; a zero next means give up (FailedAt = at).
	RetryLogout(ctx context.Context, id string, at, next time.Time, lastErr string) error
	// ListLogouts returns the notices of a session, oldest first (for tests
	// and the console's delivery log).
	ListLogouts(ctx context.Context, sessionID string) ([]LogoutNotice, error)
}
