package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

const appColumns = `client_id, pool_id, project_id, name, type, secret_hash, callback_urls, logout_urls, scopes,
	id_token_validity, access_token_validity, refresh_token_validity, id_token_unit, access_token_unit,
	refresh_token_unit, hosted_session_survives_gso, backchannel_logout_uri, created_at, updated_at`

func scanApp(row scanner) (idgate.App, error) {
	var a idgate.App
	err := row.Scan(&a.ClientID, &a.PoolID, &a.ProjectID, &a.Name, &a.Type, &a.SecretHash,
		listScan{&a.CallbackURLs}, listScan{&a.LogoutURLs}, listScan{&a.Scopes},
		durationScan{&a.Validity.IDToken}, durationScan{&a.Validity.AccessToken}, durationScan{&a.Validity.RefreshToken},
		&a.Validity.IDUnit, &a.Validity.AccessUnit, &a.Validity.RefreshUnit,
		&a.HostedSessionSurvivesGlobalSignOut, &a.BackchannelLogoutURI,
		timeScan{&a.CreatedAt}, timeScan{&a.UpdatedAt})
	return a, err
}

const sqlCreateApp = `INSERT INTO apps (` + appColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateApp stores a new app client. ErrConflict when the client id is
// taken; ErrNotFound when its pool or project does not exist.
func (s *Store) CreateApp(ctx context.Context, a idgate.App) error {
	const op = "create app"
	if a.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateApp, a.ClientID, a.PoolID, a.ProjectID, a.Name, string(a.Type), a.SecretHash,
		jsonList(a.CallbackURLs), jsonList(a.LogoutURLs), jsonList(a.Scopes),
		int64(a.Validity.IDToken), int64(a.Validity.AccessToken), int64(a.Validity.RefreshToken),
		a.Validity.IDUnit, a.Validity.AccessUnit, a.Validity.RefreshUnit,
		a.HostedSessionSurvivesGlobalSignOut, a.BackchannelLogoutURI, nanos(a.CreatedAt), nanos(a.UpdatedAt))
}

const sqlGetApp = `SELECT ` + appColumns + ` FROM apps WHERE client_id = ?`

// GetApp returns the app with the client id; ErrNotFound when unknown.
func (s *Store) GetApp(ctx context.Context, clientID string) (idgate.App, error) {
	a, err := scanApp(s.r().QueryRowContext(ctx, s.q(sqlGetApp), clientID))
	return a, s.wrap("get app", err)
}

const sqlListApps = `SELECT ` + appColumns + ` FROM apps WHERE pool_id = ? ORDER BY created_at, client_id`

// ListApps returns the pool's apps, oldest first.
func (s *Store) ListApps(ctx context.Context, poolID string) ([]idgate.App, error) {
	return list(ctx, s, "list apps", sqlListApps, scanApp, poolID)
}

const (
	sqlLockAppSQLite = sqlGetApp
	sqlLockAppPG     = sqlGetApp + ` FOR UPDATE`
	sqlUpdateApp     = `UPDATE apps SET name = ?, type = ?, secret_hash = ?, callback_urls = ?, logout_urls = ?,
	scopes = ?, id_token_validity = ?, access_token_validity = ?, refresh_token_validity = ?, id_token_unit = ?,
	access_token_unit = ?, refresh_token_unit = ?, hosted_session_survives_gso = ?, backchannel_logout_uri = ?,
	updated_at = ? WHERE client_id = ?`
)

// UpdateApp reads the app, passes it to fn and stores what fn returns, in
// one transaction (on PostgreSQL the row is locked meanwhile). The client
// id, pool, project and creation time cannot change; UpdatedAt is stored as
// fn sets it. An error from fn is returned as is and nothing changes.
func (s *Store) UpdateApp(ctx context.Context, clientID string, fn func(idgate.App) (idgate.App, error)) (idgate.App, error) {
	const op = "update app"
	var out idgate.App
	err := s.withTx(ctx, func(tx *Store) error {
		old, err := scanApp(tx.tx.QueryRowContext(ctx, tx.pick(sqlLockAppSQLite, sqlLockAppPG), clientID))
		if err != nil {
			return tx.wrap(op, err)
		}
		a, err := fn(old)
		if err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlUpdateApp), a.Name, string(a.Type), a.SecretHash,
			jsonList(a.CallbackURLs), jsonList(a.LogoutURLs), jsonList(a.Scopes),
			int64(a.Validity.IDToken), int64(a.Validity.AccessToken), int64(a.Validity.RefreshToken),
			a.Validity.IDUnit, a.Validity.AccessUnit, a.Validity.RefreshUnit,
			a.HostedSessionSurvivesGlobalSignOut, a.BackchannelLogoutURI, nanos(a.UpdatedAt), clientID); err != nil {
			return tx.wrap(op, err)
		}
		out, err = scanApp(tx.tx.QueryRowContext(ctx, tx.q(sqlGetApp), clientID))
		return tx.wrap(op, err)
	})
	if err != nil {
		return idgate.App{}, err
	}
	return out, nil
}

const apiKeyColumns = "id, project_id, hash, permissions, created_at, last_used_at, revoked_at"

func scanAPIKey(row scanner) (idgate.APIKey, error) {
	var k idgate.APIKey
	err := row.Scan(&k.ID, &k.ProjectID, &k.Hash, listScan{&k.Permissions},
		timeScan{&k.CreatedAt}, timeScan{&k.LastUsedAt}, timeScan{&k.RevokedAt})
	return k, err
}

const sqlCreateAPIKey = `INSERT INTO api_keys (` + apiKeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateAPIKey stores a new API key. ErrConflict when the id or hash is
// taken; ErrNotFound when the project does not exist.
func (s *Store) CreateAPIKey(ctx context.Context, k idgate.APIKey) error {
	const op = "create api key"
	if k.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateAPIKey, k.ID, k.ProjectID, k.Hash, jsonList(k.Permissions),
		nanos(k.CreatedAt), nanos(k.LastUsedAt), nanos(k.RevokedAt))
}

const sqlGetAPIKeyByHash = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE hash = ?`

// GetAPIKeyByHash returns the key with the hash, revoked or not (the caller
// checks RevokedAt); ErrNotFound when unknown.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (idgate.APIKey, error) {
	k, err := scanAPIKey(s.r().QueryRowContext(ctx, s.q(sqlGetAPIKeyByHash), hash))
	return k, s.wrap("get api key by hash", err)
}

const sqlGetAPIKey = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE id = ?`

// GetAPIKey returns the key with the id; ErrNotFound when unknown.
func (s *Store) GetAPIKey(ctx context.Context, id string) (idgate.APIKey, error) {
	k, err := scanAPIKey(s.r().QueryRowContext(ctx, s.q(sqlGetAPIKey), id))
	return k, s.wrap("get api key", err)
}

const sqlListAPIKeys = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE project_id = ? ORDER BY created_at, id`

// ListAPIKeys returns the project's keys, revoked ones included, oldest
// first.
func (s *Store) ListAPIKeys(ctx context.Context, projectID string) ([]idgate.APIKey, error) {
	return list(ctx, s, "list api keys", sqlListAPIKeys, scanAPIKey, projectID)
}

const (
	sqlRevokeAPIKey = `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`
	sqlAPIKeyExists = `SELECT 1 FROM api_keys WHERE id = ?`
)

// RevokeAPIKey marks the key revoked at `at`. Revoking a revoked key
// changes nothing (the first time stays); ErrNotFound when unknown.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("revoke api key: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "revoke api key", sqlRevokeAPIKey, sqlAPIKeyExists, id, nanos(at), id)
}

const sqlTouchAPIKey = `UPDATE api_keys SET last_used_at = ?
WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`

// TouchAPIKey records a use of the key at `at`; last_used_at only moves
// forward. ErrNotFound when unknown.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("touch api key: %w", errNoTime)
	}
	return s.updateOrExists(ctx, "touch api key", sqlTouchAPIKey, sqlAPIKeyExists, id, nanos(at), id, nanos(at))
}

// updateOrExists runs a conditional UPDATE; when it changes no row it
// checks with existsQuery (and key) that the row exists, so an unmet
// condition is a no-op and a missing row is ErrNotFound.
func (s *Store) updateOrExists(ctx context.Context, op, update, existsQuery, key string, args ...any) error {
	res, err := s.w().ExecContext(ctx, s.q(update), args...)
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := affected(res)
	if err != nil {
		return s.wrap(op, err)
	}
	if n > 0 {
		return nil
	}
	ok, err := s.exists(ctx, existsQuery, key)
	if err != nil {
		return s.wrap(op, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
	}
	return nil
}
