package token

import (
	"sync"
)

// verifiedCache remembers tokens whose signature and claims already passed
// parse, so a resource server verifying the same access token on every
// request pays the signature check and the JSON decoding once. Entries are
// keyed by the whole token string (a forged token is a different string),
// and a hit is honoured only while the signing key is still in the pool's
// key set, so a retired key's tokens stop verifying as before. Expiry and
// session liveness are checked on every call by Verify, never cached.
type verifiedCache struct {
	mu      sync.RWMutex
	entries map[string]verifiedEntry
}

type verifiedEntry struct {
	claims Claims
	all    map[string]any // read-only after insertion
	kid    string
	alg    string
}

// verifiedCacheMax bounds memory (about 1 KB an entry); when full the cache
// starts over, which costs one signature check per live token.
const verifiedCacheMax = 50000

func (v *verifiedCache) get(key string) (verifiedEntry, bool) {
	v.mu.RLock()
	e, ok := v.entries[key]
	v.mu.RUnlock()
	return e, ok
}

func (v *verifiedCache) put(key string, e verifiedEntry) {
	v.mu.Lock()
	if v.entries == nil || len(v.entries) >= verifiedCacheMax {
		v.entries = make(map[string]verifiedEntry, 1024)
	}
	v.entries[key] = e
	v.mu.Unlock()
}
