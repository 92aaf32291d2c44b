package notify

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Shared schedule of the durable outboxes (back-channel logouts, webhooks).
const (
	outboxLease       = 30 * time.Second
	outboxMaxAttempts = 12
	outboxPoll        = time.Second
	outboxBatch       = 20
)

// outboxLoop drains a durable outbox: it claims due rows with a lease (so
// several nodes can drain one database), hands each to deliver, and sleeps
// until the next poll or a Wake.
type outboxLoop[T any] struct {
	name    string
	claim   func(ctx context.Context, now time.Time) ([]T, error)
	deliver func(ctx context.Context, item T)
	now     func() time.Time
	log     *slog.Logger
	wake    chan struct{}
}

func newOutboxLoop[T any](name string, claim func(context.Context, time.Time) ([]T, error), deliver func(context.Context, T), logger *slog.Logger) *outboxLoop[T] {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &outboxLoop[T]{name: name, claim: claim, deliver: deliver, now: time.Now, log: logger, wake: make(chan struct{}, 1)}
}

// Wake asks the loop to look at the outbox now instead of at its next poll.
func (l *outboxLoop[T]) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run drains the outbox until ctx ends.
func (l *outboxLoop[T]) Run(ctx context.Context) {
	t := time.NewTicker(outboxPoll)
	defer t.Stop()
	for {
		l.Drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
		}
	}
}

// Drain delivers every item due now and returns how many it attempted.
func (l *outboxLoop[T]) Drain(ctx context.Context) int {
	total := 0
	for ctx.Err() == nil {
		batch, err := l.claim(ctx, l.now())
		if err != nil {
			l.log.WarnContext(ctx, l.name+": claim failed", "err", err.Error())
			return total
		}
		if len(batch) == 0 {
			return total
		}
		for _, item := range batch {
			l.deliver(ctx, item)
		}
		total += len(batch)
	}
	return total
}

// nextAttempt is when to retry after the attempts made so far (zero: give
// up): 5 s × 2^attempts capped at an hour, with ±20 % jitter so a
// recovering receiver is not hit by every node at once.
func nextAttempt(now time.Time, attemptsSoFar int) time.Time {
	if attemptsSoFar+1 >= outboxMaxAttempts {
		return time.Time{}
	}
	d := min(5*time.Second<<min(attemptsSoFar, 10), time.Hour)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return now.Add(d + jitter)
}
