package tenant

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// apiKeyTouchEvery coalesces last-used updates: a key used many times a
// second is written at most once per this interval per node.
const apiKeyTouchEvery = time.Minute

func newAPIKey(projectID string, perms []string, now time.Time) (idgate.APIKey, string) {
	raw := idgate.NewSecret("igk_")
	return idgate.APIKey{ID: idgate.NewID("key_"), ProjectID: projectID, Hash: secret.Digest(raw), Permissions: slices.Clone(perms), CreatedAt: now}, raw
}

// NewAPIKey is a freshly created key; APIKey is shown once.
type NewAPIKey struct {
	APIKeyID    string   `json:"apiKeyId"`
	APIKey      string   `json:"apiKey"`
	ProjectID   string   `json:"projectId"`
	Permissions []string `json:"permissions"`
}

// CreateAPIKey issues a key for a project with the given permissions.
func (s *Service) CreateAPIKey(ctx context.Context, projectID string, perms []string, actor idgate.Actor) (NewAPIKey, error) {
	if err := checkPermissions(perms); err != nil {
		return NewAPIKey{}, err
	}
	pool, err := s.store.GetPoolByProject(ctx, projectID)
	if errors.Is(err, idgate.ErrNotFound) {
		return NewAPIKey{}, idgate.NotFoundError("no project " + projectID)
	}
	if err != nil {
		return NewAPIKey{}, err
	}
	now := s.now()
	key, raw := newAPIKey(projectID, perms, now)
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventAPIKeyCreated, actor, now, map[string]any{"api_key_id": key.ID, "permissions": perms})
	})
	if err != nil {
		return NewAPIKey{}, err
	}
	return NewAPIKey{APIKeyID: key.ID, APIKey: raw, ProjectID: projectID, Permissions: key.Permissions}, nil
}

// RevokeAPIKey revokes a key at once.
func (s *Service) RevokeAPIKey(ctx context.Context, id string, actor idgate.Actor) error {
	key, err := s.store.GetAPIKey(ctx, id)
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("no API key " + id)
	}
	if err != nil {
		return err
	}
	pool, err := s.store.GetPoolByProject(ctx, key.ProjectID)
	if err != nil {
		return err
	}
	defer s.forgetKey(id)
	return s.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.RevokeAPIKey(ctx, id, s.now()); err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventAPIKeyRevoked, actor, s.now(), map[string]any{"api_key_id": id})
	})
}

// ErrBadAPIKey is the answer for a missing, unknown or revoked key.
var ErrBadAPIKey = &idgate.Error{Code: idgate.CodeUnauthorized, Description: "missing, unknown or revoked x-api-key"}

// Caller is an authenticated API key with its project's pool.
type Caller struct {
	Key  idgate.APIKey
	Pool idgate.Pool
}

// apiKeyCacheTTL is how long a node trusts its memory of an API key (and
// its project's pool) before reading it again. A revocation takes effect
// at once on the node that made it and within this time on the others.
const apiKeyCacheTTL = 2 * time.Second

type cachedKey struct {
	caller Caller
	until  time.Time
}

// lookupKey resolves a key hash to its caller, from memory when fresh.
func (s *Service) lookupKey(ctx context.Context, hash string, now time.Time) (Caller, error) {
	s.keyMu.Lock()
	ck, ok := s.keys[hash]
	s.keyMu.Unlock()
	if ok && now.Before(ck.until) {
		return ck.caller, nil
	}
	key, err := s.store.GetAPIKeyByHash(ctx, hash)
	if err != nil {
		return Caller{}, err
	}
	pool, err := s.store.GetPoolByProject(ctx, key.ProjectID)
	if err != nil {
		return Caller{}, err
	}
	c := Caller{Key: key, Pool: pool}
	s.keyMu.Lock()
	if len(s.keys) >= 10000 { // bounded: forget everything rather than grow
		clear(s.keys)
	}
	s.keys[hash] = cachedKey{caller: c, until: now.Add(apiKeyCacheTTL)}
	s.keyMu.Unlock()
	return c, nil
}

// forgetKey drops a key from this node's memory (after revocation).
func (s *Service) forgetKey(id string) {
	s.keyMu.Lock()
	for h, ck := range s.keys {
		if ck.caller.Key.ID == id {
			delete(s.keys, h)
		}
	}
	s.keyMu.Unlock()
}

// Authenticate resolves an x-api-key value and checks it carries perm.
// A key lacking the permission is refused with insufficient_permissions and
// the refusal is an event.
func (s *Service) Authenticate(ctx context.Context, raw, perm string, actor idgate.Actor) (Caller, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 200 {
		return Caller{}, ErrBadAPIKey
	}
	now := s.now()
	c, err := s.lookupKey(ctx, secret.Digest(raw), now)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && !c.Key.RevokedAt.IsZero()) {
		return Caller{}, ErrBadAPIKey
	}
	if err != nil {
		return Caller{}, err
	}
	if !c.Key.Has(perm) {
		actor.Type, actor.ID = idgate.ActorAPIKey, c.Key.ID
		_ = s.store.InTx(ctx, func(tx idgate.Store) error {
			return event(ctx, tx, c.Pool, idgate.EventAPIKeyDenied, actor, now, map[string]any{"permission": perm})
		})
		return Caller{}, idgate.Forbidden("this API key lacks the " + perm + " permission")
	}
	s.touch(ctx, c.Key.ID, now)
	return c, nil
}

func (s *Service) touch(ctx context.Context, id string, now time.Time) {
	s.touchMu.Lock()
	last, ok := s.touched[id]
	due := !ok || now.Sub(last) >= apiKeyTouchEvery
	if due {
		s.touched[id] = now
	}
	s.touchMu.Unlock()
	if due {
		_ = s.store.TouchAPIKey(ctx, id, now) // best effort: last use is informative
	}
}
