package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// allowedAlgs is the explicit algorithm allow-list: the algorithms idgate
// signs with. "none" and the HMAC algorithms are refused before any key is
// looked up.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// errUnknownKey means no key of the pool's JWKS has the token's kid, even
// after a refetch.
var errUnknownKey = errors.New("unknown signing key")

// jwk is one usable verification key.
type jwk struct {
	alg jose.SignatureAlgorithm
	key any
}

// jwksCache holds the pool's public keys. A kid it does not know triggers
// a refetch, at most one per minRefetch however many requests carry
// unknown kids: requests that arrive while a refetch is due wait for it and
// share it. Keys older than maxAge are refetched in the background of the
// next lookup (a key retired by rotation stops verifying then).
type jwksCache struct {
	url        string
	hc         *http.Client
	minRefetch time.Duration
	maxAge     time.Duration

	mu        sync.RWMutex
	keys      map[string]jwk
	fetchedAt time.Time // last successful fetch
	gen       uint64    // successful fetches so far

	refreshing atomic.Bool // a background refresh of a stale set is running

	fetchMu   sync.Mutex // one fetch at a time
	attemptAt time.Time  // last fetch attempt, for the rate limit
	fetches   int        // fetch attempts, for tests
}

// lookup returns the key for kid, refetching the set (rate-limited) when
// kid is unknown or the set is older than maxAge.
func (c *jwksCache) lookup(ctx context.Context, kid string) (jwk, error) {
	c.mu.RLock()
	k, ok := c.keys[kid]
	stale := time.Since(c.fetchedAt) > c.maxAge
	gen := c.gen
	c.mu.RUnlock()
	if ok && !stale {
		return k, nil
	}
	if ok { // stale but usable: refresh without making the caller wait
		if !c.refreshing.CompareAndSwap(false, true) {
			return k, nil
		}
		go func() {
			defer c.refreshing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = c.refetch(ctx, gen)
		}()
		return k, nil
	}
	if err := c.refetch(ctx, gen); err != nil {
		return jwk{}, err
	}
	c.mu.RLock()
	k, ok = c.keys[kid]
	c.mu.RUnlock()
	if !ok {
		return jwk{}, errUnknownKey
	}
	return k, nil
}

// refetch fetches the set unless a fetch succeeded since generation seen
// (then the caller just looks again). It waits out the rate limit.
func (c *jwksCache) refetch(ctx context.Context, seen uint64) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	c.mu.RLock()
	done := c.gen > seen
	c.mu.RUnlock()
	if done {
		return nil
	}
	if wait := c.minRefetch - time.Since(c.attemptAt); wait > 0 {
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	return c.fetch(ctx)
}

// fetch downloads and installs the key set; the caller holds fetchMu.
func (c *jwksCache) fetch(ctx context.Context) error {
	c.attemptAt = time.Now()
	c.fetches++
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("idgate: fetch JWKS: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("idgate: fetch JWKS: %w: %w", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("idgate: fetch JWKS: %w", apiError(resp, raw))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return fmt.Errorf("idgate: fetch JWKS: %w", err)
	}
	keys := make(map[string]jwk, len(set.Keys))
	for _, k := range set.Keys {
		alg := jose.SignatureAlgorithm(k.Algorithm)
		if k.KeyID == "" || !k.IsPublic() || (k.Use != "" && k.Use != "sig") || !slices.Contains(allowedAlgs, alg) {
			continue
		}
		keys[k.KeyID] = jwk{alg: alg, key: k.Key}
	}
	c.mu.Lock()
	c.keys, c.fetchedAt = keys, time.Now()
	c.gen++
	c.mu.Unlock()
	return nil
}

// fetchCount returns how many fetches were attempted (tests).
func (c *jwksCache) fetchCount() int {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	return c.fetches
}
