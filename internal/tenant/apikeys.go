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

// Authenticate resolves an x-api-key value and checks it carries perm.
// A key lacking the permission is refused with insufficient_permissions and
// the refusal is an event.
func (s *Service) Authenticate(ctx context.Context, raw, perm string, actor idgate.Actor) (Caller, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 200 {
		return Caller{}, ErrBadAPIKey
	}
	key, err := s.store.GetAPIKeyByHash(ctx, secret.Digest(raw))
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && !key.RevokedAt.IsZero()) {
		return Caller{}, ErrBadAPIKey
	}
	if err != nil {
		return Caller{}, err
	}
	pool, err := s.store.GetPoolByProject(ctx, key.ProjectID)
	if err != nil {
		return Caller{}, err
	}
	now := s.now()
	if !key.Has(perm) {
		actor.Type, actor.ID = idgate.ActorAPIKey, key.ID
		_ = s.store.InTx(ctx, func(tx idgate.Store) error {
			return event(ctx, tx, pool, idgate.EventAPIKeyDenied, actor, now, map[string]any{"permission": perm})
		})
		return Caller{}, idgate.Forbidden("this API key lacks the " + perm + " permission")
	}
	s.touch(ctx, key.ID, now)
	return Caller{Key: key, Pool: pool}, nil
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
