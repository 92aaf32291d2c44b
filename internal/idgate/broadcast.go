package idgate

import "sync"

// EndedSessions fans out "these sessions just ended" from the services that
// end sessions (token, account) to the parts of this process that react at
// once: the back-channel logout sender, the revocation feed. Listeners must
// not block. Other processes learn of ended sessions from the store
// (outboxes, the revocation table), which is the source of truth; this is
// only the fast path.
type EndedSessions struct {
	mu        sync.RWMutex
	listeners []func(poolID string, ids []string)
}

// Listen adds a listener.
func (b *EndedSessions) Listen(fn func(poolID string, ids []string)) {
	b.mu.Lock()
	b.listeners = append(b.listeners, fn)
	b.mu.Unlock()
}

// Notify tells every listener that the sessions ended (nothing for none).
func (b *EndedSessions) Notify(poolID string, ids []string) {
	if b == nil || len(ids) == 0 {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.listeners {
		fn(poolID, ids)
	}
}
