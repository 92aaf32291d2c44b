package idgate

import (
	"context"
	"time"
)

// Revocation is one ended session as the revocation feed publishes it.
// Seq is the feed's watermark: assigned by the store when the session ends,
// unique, and increasing in commit order across every node sharing the
// database, so a reader that has seen Seq n has seen every revocation
// before it.
type Revocation struct {
	Seq       int64
	PoolID    string
	SessionID string
	UserSub   string
	ClientID  string
	Reason    string
	EndedAt   time.Time
}

// FeedStore is the storage of the revocation feed (GET /{poolId}/revocations)
// that resource servers follow to refuse the tokens of ended sessions
// without a call per request.
//
// EndSession and EndUserSessions append a Revocation for every session they
// end, in their own transaction.
type FeedStore interface {
	// ListRevocations returns up to limit revocations of the pool with
	// Seq > after, in Seq order. limit <= 0 means 500.
	ListRevocations(ctx context.Context, poolID string, after int64, limit int) ([]Revocation, error)
	// RevocationWatermark returns the highest Seq of the pool's revocations
	// (0 when there is none): where a reader that wants only what happens
	// from now on starts.
	RevocationWatermark(ctx context.Context, poolID string) (int64, error)
	// PruneRevocations deletes the revocations of sessions that ended before
	// `before` and reports how many it deleted. Tokens of such sessions have
	// expired anyway once before is older than the longest token lifetime.
	PruneRevocations(ctx context.Context, before time.Time) (int64, error)
}
