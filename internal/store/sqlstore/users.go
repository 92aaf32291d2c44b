package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

const userColumns = `sub, pool_id, username, email, email_verified, password_hash, status, profile, roles,
	user_groups, actions, attributes, totp_secret, created_at, updated_at`

func scanUser(row scanner) (idgate.User, error) {
	var u idgate.User
	err := row.Scan(&u.Sub, &u.PoolID, &u.Username, stringScan{&u.Email}, &u.EmailVerified, &u.PasswordHash,
		&u.Status, jsonScan{&u.Profile}, listScan{&u.Roles}, listScan{&u.Groups}, listScan{&u.Actions},
		listScan{&u.Attributes}, bytesScan{&u.TOTPSecret}, timeScan{&u.CreatedAt}, timeScan{&u.UpdatedAt})
	return u, err
}

const sqlCreateUser = `INSERT INTO users (` + userColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateUser stores a new user, its email lower-cased. ErrConflict when the
// sub is taken or the email is taken in the pool (case-insensitively);
// ErrNotFound when the pool does not exist.
func (s *Store) CreateUser(ctx context.Context, u idgate.User) error {
	const op = "create user"
	if u.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateUser, u.Sub, u.PoolID, u.Username, nullString(strings.ToLower(u.Email)),
		u.EmailVerified, u.PasswordHash, u.Status, jsonValue{u.Profile}, jsonList(u.Roles), jsonList(u.Groups),
		jsonList(u.Actions), jsonList(u.Attributes), nullBytes(u.TOTPSecret), nanos(u.CreatedAt), nanos(u.UpdatedAt))
}

const sqlGetUser = `SELECT ` + userColumns + ` FROM users WHERE pool_id = ? AND sub = ?`

// GetUser returns the pool's user with the sub; ErrNotFound when unknown.
func (s *Store) GetUser(ctx context.Context, poolID, sub string) (idgate.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx, s.q(sqlGetUser), poolID, sub))
	return u, s.wrap("get user", err)
}

const sqlGetUserByEmail = `SELECT ` + userColumns + ` FROM users WHERE pool_id = ? AND email = ?`

// GetUserByEmail returns the pool's user with the email, matched
// case-insensitively; ErrNotFound when unknown.
func (s *Store) GetUserByEmail(ctx context.Context, poolID, email string) (idgate.User, error) {
	const op = "get user by email"
	if email == "" {
		return idgate.User{}, fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
	}
	u, err := scanUser(s.r().QueryRowContext(ctx, s.q(sqlGetUserByEmail), poolID, strings.ToLower(email)))
	return u, s.wrap(op, err)
}

// Page sizes of ListUsers.
const (
	defaultUserPage = 50
	maxUserPage     = 1000
)

const (
	sqlListUsersFirst = `SELECT ` + userColumns + ` FROM users WHERE pool_id = ?
ORDER BY created_at, sub LIMIT ?`
	sqlListUsersAfter = `SELECT ` + userColumns + ` FROM users WHERE pool_id = ? AND (created_at, sub) > (?, ?)
ORDER BY created_at, sub LIMIT ?`
)

// ListUsers returns a page of the pool's users ordered by (creation time,
// sub). cursor is "" for the first page, else the Next of the previous
// page; limit is capped at 1000 and defaults to 50 when not positive. Users
// created after a cursor was issued appear on a later page when they sort
// after it.
func (s *Store) ListUsers(ctx context.Context, poolID, cursor string, limit int) (idgate.UserPage, error) {
	const op = "list users"
	if limit <= 0 {
		limit = defaultUserPage
	}
	limit = min(limit, maxUserPage)
	query, args := sqlListUsersFirst, []any{poolID, limit + 1}
	if cursor != "" {
		at, sub, err := decodeUserCursor(cursor)
		if err != nil {
			return idgate.UserPage{}, fmt.Errorf("%s: %w", op, err)
		}
		query, args = sqlListUsersAfter, []any{poolID, nanos(at), sub, limit + 1}
	}
	users, err := list(ctx, s, op, query, scanUser, args...)
	if err != nil {
		return idgate.UserPage{}, err
	}
	page := idgate.UserPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		last := page.Users[limit-1]
		page.Next = encodeUserCursor(last.CreatedAt, last.Sub)
	}
	return page, nil
}

// errBadCursor is returned by ListUsers for a cursor it did not issue.
var errBadCursor = errors.New("malformed page cursor")

// encodeUserCursor makes the opaque cursor after the user created at `at`
// with the sub: base64url of "<unix nanoseconds>.<sub>".
func encodeUserCursor(at time.Time, sub string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + "." + sub))
}

func decodeUserCursor(cursor string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, "", errBadCursor
	}
	n, sub, ok := strings.Cut(string(raw), ".")
	v, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || sub == "" {
		return time.Time{}, "", errBadCursor
	}
	return time.Unix(0, v).UTC(), sub, nil
}

const (
	sqlLockUserSQLite = sqlGetUser
	sqlLockUserPG     = sqlGetUser + ` FOR UPDATE`
	sqlUpdateUser     = `UPDATE users SET username = ?, email = ?, email_verified = ?, password_hash = ?, status = ?,
	profile = ?, roles = ?, user_groups = ?, actions = ?, attributes = ?, totp_secret = ?, updated_at = ?
WHERE pool_id = ? AND sub = ?`
)

// UpdateUser reads the user, passes it to fn and stores what fn returns, in
// one transaction (on PostgreSQL the row is locked meanwhile, so concurrent
// updates do not lose each other's changes). The sub, pool and creation
// time cannot change; the email is lower-cased, and ErrConflict when it is
// taken. An error from fn is returned as is and nothing changes.
func (s *Store) UpdateUser(ctx context.Context, poolID, sub string, fn func(idgate.User) (idgate.User, error)) (idgate.User, error) {
	const op = "update user"
	var out idgate.User
	err := s.withTx(ctx, func(tx *Store) error {
		old, err := scanUser(tx.tx.QueryRowContext(ctx, tx.pick(sqlLockUserSQLite, sqlLockUserPG), poolID, sub))
		if err != nil {
			return tx.wrap(op, err)
		}
		u, err := fn(old)
		if err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlUpdateUser), u.Username, nullString(strings.ToLower(u.Email)),
			u.EmailVerified, u.PasswordHash, u.Status, jsonValue{u.Profile}, jsonList(u.Roles), jsonList(u.Groups),
			jsonList(u.Actions), jsonList(u.Attributes), nullBytes(u.TOTPSecret), nanos(u.UpdatedAt),
			poolID, sub); err != nil {
			return tx.wrap(op, err)
		}
		out, err = scanUser(tx.tx.QueryRowContext(ctx, tx.q(sqlGetUser), poolID, sub))
		return tx.wrap(op, err)
	})
	if err != nil {
		return idgate.User{}, err
	}
	return out, nil
}

const sqlDeleteUser = `DELETE FROM users WHERE pool_id = ? AND sub = ?`

// DeleteUser erases the user row for good; ErrNotFound when unknown. The
// user's sessions stay (see ScrubUserSessions) so the history keeps the sub.
func (s *Store) DeleteUser(ctx context.Context, poolID, sub string) error {
	const op = "delete user"
	res, err := s.w().ExecContext(ctx, s.q(sqlDeleteUser), poolID, sub)
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := affected(res)
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, idgate.ErrNotFound)
	}
	return nil
}
