package token

import (
	"context"
	"sync"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// lastSeen coalesces "this session was just used" marks from verification
// and userinfo: they go to memory and are written in one transaction per
// flush, so a busy resource server does not cause a database write per
// request. Refreshes still write at once.
type lastSeen struct {
	mu      sync.Mutex
	pending map[string]time.Time
}

func (l *lastSeen) mark(sid string, at time.Time) {
	l.mu.Lock()
	if l.pending == nil {
		l.pending = map[string]time.Time{}
	}
	if at.After(l.pending[sid]) {
		l.pending[sid] = at
	}
	l.mu.Unlock()
}

func (l *lastSeen) take() map[string]time.Time {
	l.mu.Lock()
	p := l.pending
	l.pending = nil
	l.mu.Unlock()
	return p
}

// FlushLastSeen writes the coalesced last-seen times and returns how many
// sessions it touched.
func (s *Service) FlushLastSeen(ctx context.Context) (int, error) {
	p := s.seen.take()
	if len(p) == 0 {
		return 0, nil
	}
	err := s.store.InTx(ctx, func(tx idgate.Store) error {
		for sid, at := range p {
			if err := tx.TouchSession(ctx, sid, at); err != nil && !isNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for sid, at := range p { // keep them for the next flush
			s.seen.mark(sid, at)
		}
		return 0, err
	}
	return len(p), nil
}

// RunLastSeen flushes every interval until ctx ends, then once more.
func (s *Service) RunLastSeen(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = s.FlushLastSeen(flushCtx)
			cancel()
			return
		case <-t.C:
			_, _ = s.FlushLastSeen(ctx)
		}
	}
}
