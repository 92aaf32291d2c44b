package sqlstore

import (
	"context"
	"fmt"

	"github.com/idgate/idgate/internal/idgate"
)

const signingKeyColumns = "id, pool_id, alg, private_key, public_key, status, created_at"

func scanSigningKey(row scanner) (idgate.SigningKey, error) {
	var k idgate.SigningKey
	err := row.Scan(&k.ID, &k.PoolID, &k.Alg, bytesScan{&k.Private}, bytesScan{&k.Public}, &k.Status,
		timeScan{&k.CreatedAt})
	return k, err
}

const sqlCreateSigningKey = `INSERT INTO signing_keys (` + signingKeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateSigningKey stores a new signing key (its private half sealed by
// the caller). ErrConflict when the kid is taken; ErrNotFound when the pool
// does not exist.
func (s *Store) CreateSigningKey(ctx context.Context, k idgate.SigningKey) error {
	const op = "create signing key"
	if k.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	if err := validKeyStatus(k.Status); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return s.insert(ctx, op, sqlCreateSigningKey, k.ID, k.PoolID, k.Alg, k.Private, k.Public, k.Status,
		nanos(k.CreatedAt))
}

const sqlListSigningKeys = `SELECT ` + signingKeyColumns + ` FROM signing_keys
WHERE pool_id = ? AND status <> '` + idgate.KeyRetired + `'
ORDER BY created_at DESC, id DESC`

// ListSigningKeys returns the pool's keys that are not retired, newest
// first.
func (s *Store) ListSigningKeys(ctx context.Context, poolID string) ([]idgate.SigningKey, error) {
	return list(ctx, s, "list signing keys", sqlListSigningKeys, scanSigningKey, poolID)
}

const (
	sqlSetSigningKeyStatus = `UPDATE signing_keys SET status = ? WHERE id = ?`
	sqlSigningKeyExists    = `SELECT 1 FROM signing_keys WHERE id = ?`
)

// SetSigningKeyStatus sets the key's status (current, previous or
// retired); ErrNotFound when the kid is unknown. Rotation changes two keys:
// run both calls in one InTx.
func (s *Store) SetSigningKeyStatus(ctx context.Context, id, status string) error {
	const op = "set signing key status"
	if err := validKeyStatus(status); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return s.updateOrExists(ctx, op, sqlSetSigningKeyStatus, sqlSigningKeyExists, id, status, id)
}

func validKeyStatus(status string) error {
	switch status {
	case idgate.KeyCurrent, idgate.KeyPrevious, idgate.KeyRetired:
		return nil
	}
	return fmt.Errorf("unknown signing key status %q", status)
}
