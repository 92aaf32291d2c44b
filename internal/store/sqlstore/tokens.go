package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

const refreshTokenColumns = `hash, session_id, client_id, pool_id, user_sub, scope, created_at, expires_at,
	rotated_at, successor_hash, successor_sealed`

func scanRefreshToken(row scanner) (idgate.RefreshToken, error) {
	var t idgate.RefreshToken
	err := row.Scan(&t.Hash, &t.SessionID, &t.ClientID, &t.PoolID, &t.UserSub, &t.Scope, timeScan{&t.CreatedAt},
		timeScan{&t.ExpiresAt}, timeScan{&t.RotatedAt}, &t.SuccessorHash, bytesScan{&t.SuccessorSealed})
	return t, err
}

const sqlCreateRefreshToken = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateRefreshToken stores a new refresh token by hash. ErrConflict when
// the hash is taken; ErrNotFound when the pool does not exist.
func (s *Store) CreateRefreshToken(ctx context.Context, t idgate.RefreshToken) error {
	return s.createRefreshToken(ctx, "create refresh token", t)
}

func (s *Store) createRefreshToken(ctx context.Context, op string, t idgate.RefreshToken) error {
	if t.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateRefreshToken, t.Hash, t.SessionID, t.ClientID, t.PoolID, t.UserSub, t.Scope,
		nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.RotatedAt), t.SuccessorHash, nullBytes(t.SuccessorSealed))
}

const sqlGetRefreshToken = `SELECT ` + refreshTokenColumns + ` FROM refresh_tokens WHERE hash = ?`

// GetRefreshToken returns the token with the hash, rotated or not;
// ErrNotFound when unknown.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (idgate.RefreshToken, error) {
	t, err := scanRefreshToken(s.r().QueryRowContext(ctx, s.q(sqlGetRefreshToken), hash))
	return t, s.wrap("get refresh token", err)
}

const (
	sqlRotateRefreshToken = `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ?, successor_sealed = ?
WHERE hash = ? AND rotated_at IS NULL`
	sqlRefreshTokenExists = `SELECT 1 FROM refresh_tokens WHERE hash = ?`
)

// RotateRefreshToken marks oldHash rotated at `at`, recording the
// successor's hash and sealed value, and stores the successor, atomically:
// inside a caller's transaction it runs under a savepoint, so a failure
// leaves neither change. The update is conditional (rotated_at IS NULL), so
// of concurrent rotations of one token exactly one succeeds and the others
// get ErrConflict. ErrNotFound when oldHash is unknown; ErrConflict also when
// the successor's hash is taken.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, at time.Time, successor idgate.RefreshToken, successorSealed []byte) error {
	const op = "rotate refresh token"
	if at.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoTime)
	}
	if successor.CreatedAt.IsZero() {
		return fmt.Errorf("%s: successor: %w", op, errNoCreatedAt)
	}
	return s.InTx(ctx, func(store idgate.Store) error {
		tx := store.(*Store)
		res, err := tx.tx.ExecContext(ctx, tx.q(sqlRotateRefreshToken), nanos(at), successor.Hash,
			nullBytes(successorSealed), oldHash)
		if err != nil {
			return tx.wrap(op, err)
		}
		n, err := affected(res)
		if err != nil {
			return tx.wrap(op, err)
		}
		if n == 0 {
			ok, err := tx.exists(ctx, sqlRefreshTokenExists, oldHash)
			switch {
			case err != nil:
				return tx.wrap(op, err)
			case !ok:
				return fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
			default:
				return fmt.Errorf("%s: %w: token already rotated", op, idgate.ErrConflict)
			}
		}
		return tx.createRefreshToken(ctx, op+": successor", successor)
	})
}

const authCodeColumns = `hash, client_id, pool_id, user_sub, redirect_uri, code_challenge, code_challenge_method,
	nonce, scope, auth_time, amr, ip, user_agent, created_at, expires_at, used_at, session_id`

func scanAuthCode(row scanner) (idgate.AuthCode, error) {
	var c idgate.AuthCode
	err := row.Scan(&c.Hash, &c.ClientID, &c.PoolID, &c.UserSub, &c.RedirectURI, &c.CodeChallenge,
		&c.CodeChallengeMethod, &c.Nonce, &c.Scope, timeScan{&c.AuthTime}, listScan{&c.AMR}, &c.IP, &c.UserAgent,
		timeScan{&c.CreatedAt}, timeScan{&c.ExpiresAt}, timeScan{&c.UsedAt}, &c.SessionID)
	return c, err
}

const sqlCreateAuthCode = `INSERT INTO auth_codes (` + authCodeColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateAuthCode stores a new authorization code by hash. ErrConflict when
// the hash is taken; ErrNotFound when the pool does not exist.
func (s *Store) CreateAuthCode(ctx context.Context, c idgate.AuthCode) error {
	const op = "create auth code"
	if c.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateAuthCode, c.Hash, c.ClientID, c.PoolID, c.UserSub, c.RedirectURI,
		c.CodeChallenge, c.CodeChallengeMethod, c.Nonce, c.Scope, nanos(c.AuthTime), jsonList(c.AMR), c.IP,
		c.UserAgent, nanos(c.CreatedAt), nanos(c.ExpiresAt), nanos(c.UsedAt), c.SessionID)
}

const (
	sqlRedeemAuthCode = `UPDATE auth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL
RETURNING ` + authCodeColumns
	sqlGetAuthCode = `SELECT ` + authCodeColumns + ` FROM auth_codes WHERE hash = ?`
)

// RedeemAuthCode marks the code used at `at` and returns it, in one
// conditional statement: of any number of concurrent redemptions exactly
// one succeeds. A code used before is returned as stored, with ErrUsed, and
// nothing changes; ErrNotFound when unknown. Expiry is the caller's check.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, at time.Time) (idgate.AuthCode, error) {
	const op = "redeem auth code"
	if at.IsZero() {
		return idgate.AuthCode{}, fmt.Errorf("%s: %w", op, errNoTime)
	}
	c, err := scanAuthCode(s.w().QueryRowContext(ctx, s.q(sqlRedeemAuthCode), nanos(at), hash))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return idgate.AuthCode{}, s.wrap(op, err)
	}
	c, err = scanAuthCode(s.w().QueryRowContext(ctx, s.q(sqlGetAuthCode), hash))
	if err != nil {
		return idgate.AuthCode{}, s.wrap(op, err)
	}
	return c, fmt.Errorf("%s: %w", op, idgate.ErrUsed)
}

const (
	sqlSetAuthCodeSession = `UPDATE auth_codes SET session_id = ? WHERE hash = ?`
	sqlAuthCodeExists     = `SELECT 1 FROM auth_codes WHERE hash = ?`
)

// SetAuthCodeSession records the session the code's redemption created;
// ErrNotFound when the code is unknown.
func (s *Store) SetAuthCodeSession(ctx context.Context, hash, sessionID string) error {
	return s.updateOrExists(ctx, "set auth code session", sqlSetAuthCodeSession, sqlAuthCodeExists, hash, sessionID, hash)
}

const deletionColumns = "hash, pool_id, user_sub, reason, actor_type, actor_id, created_at, expires_at, used_at"

func scanDeletionRequest(row scanner) (idgate.DeletionRequest, error) {
	var d idgate.DeletionRequest
	err := row.Scan(&d.Hash, &d.PoolID, &d.UserSub, &d.Reason, &d.ActorType, &d.ActorID,
		timeScan{&d.CreatedAt}, timeScan{&d.ExpiresAt}, timeScan{&d.UsedAt})
	return d, err
}

const sqlCreateDeletionRequest = `INSERT INTO deletion_requests (` + deletionColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateDeletionRequest stores the first phase of a user deletion by the
// confirmation token's hash. ErrConflict when the hash is taken; ErrNotFound
// when the pool does not exist.
func (s *Store) CreateDeletionRequest(ctx context.Context, d idgate.DeletionRequest) error {
	const op = "create deletion request"
	if d.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateDeletionRequest, d.Hash, d.PoolID, d.UserSub, d.Reason, d.ActorType,
		d.ActorID, nanos(d.CreatedAt), nanos(d.ExpiresAt), nanos(d.UsedAt))
}

const (
	sqlUseDeletionRequest = `UPDATE deletion_requests SET used_at = ? WHERE hash = ? AND used_at IS NULL
RETURNING ` + deletionColumns
	sqlGetDeletionRequest = `SELECT ` + deletionColumns + ` FROM deletion_requests WHERE hash = ?`
)

// UseDeletionRequest marks the request used at `at` and returns it, in one
// conditional statement (exactly one of concurrent uses succeeds). A
// request used before is returned as stored, with ErrUsed; ErrNotFound when
// unknown. Expiry is the caller's check.
func (s *Store) UseDeletionRequest(ctx context.Context, hash string, at time.Time) (idgate.DeletionRequest, error) {
	const op = "use deletion request"
	if at.IsZero() {
		return idgate.DeletionRequest{}, fmt.Errorf("%s: %w", op, errNoTime)
	}
	d, err := scanDeletionRequest(s.w().QueryRowContext(ctx, s.q(sqlUseDeletionRequest), nanos(at), hash))
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return idgate.DeletionRequest{}, s.wrap(op, err)
	}
	d, err = scanDeletionRequest(s.w().QueryRowContext(ctx, s.q(sqlGetDeletionRequest), hash))
	if err != nil {
		return idgate.DeletionRequest{}, s.wrap(op, err)
	}
	return d, fmt.Errorf("%s: %w", op, idgate.ErrUsed)
}
