package tenant

import (
	"context"
	"errors"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// RotateAppSecret gives a confidential app a new client secret and returns
// it (shown once; only its digest is kept). The old secret stops working at
// once: sessions already open continue, but code exchanges and refreshes
// need the new one.
func (s *Service) RotateAppSecret(ctx context.Context, clientID string, actor idgate.Actor) (string, error) {
	cur, err := s.store.GetApp(ctx, clientID)
	if errors.Is(err, idgate.ErrNotFound) {
		return "", idgate.NotFoundError("no app " + clientID)
	}
	if err != nil {
		return "", err
	}
	if !cur.Type.Confidential() {
		return "", idgate.InvalidRequest("clientId", "%s apps are public and have no secret", cur.Type)
	}
	pool, err := s.store.GetPool(ctx, cur.PoolID)
	if err != nil {
		return "", err
	}
	raw := idgate.NewSecret("igs_")
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if _, err := tx.UpdateApp(ctx, clientID, func(a idgate.App) (idgate.App, error) {
			a.SecretHash, a.UpdatedAt = secret.Digest(raw), s.now()
			return a, nil
		}); err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventAppSecretRotated, actor, s.now(), map[string]any{"client_id": clientID})
	})
	if err != nil {
		return "", err
	}
	return raw, nil
}

// ValidityRange is the allowed range of a token lifetime, for forms.
type ValidityRange struct{ Min, Max string }

// ValidityRanges are the allowed ranges of the ID/access and refresh token
// lifetimes (Cognito's), as UpdateTokenValidity enforces them.
func ValidityRanges() (idAccess, refresh ValidityRange) {
	return ValidityRange{human(minIDAccess), human(maxIDAccess)}, ValidityRange{human(minRefresh), human(maxRefresh)}
}
