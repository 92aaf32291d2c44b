package idgate

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every Store returns (wrapped or not) so callers can use
// errors.Is without knowing the backend.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint would be violated, or a conditional
	// update lost a race (the row was changed since it was read).
	ErrConflict = errors.New("conflict")
	// ErrUsed: a single-use record (authorization code, confirmation token)
	// was already used. The store still returns the record with it.
	ErrUsed = errors.New("already used")
	// ErrUnavailable: the database cannot be reached.
	ErrUnavailable = errors.New("storage unavailable")
)

// EventFilter selects events for ListEvents. Zero fields do not filter.
type EventFilter struct {
	ProjectID string
	UserSub   string
	Type      string
	Since     time.Time
	Until     time.Time
	AfterSeq  int64 // pagination: only events with Seq > AfterSeq
	Limit     int   // 0 means 100
}

// UserPage is one page of a pool's users, ordered by creation.
type UserPage struct {
	Users []User
	Next  string // cursor for the next page; empty at the end
}

// Store is the single storage contract of idgate. Every backend (SQLite,
// PostgreSQL) implements it and passes the conformance suite in
// internal/store/storetest.
//
// Methods that change a record through a function (UpdateApp, UpdateUser)
// read the row, call fn with it, and write what fn returns, all in one
// transaction; an error from fn aborts the change and is returned as is.
type Store interface {
	OIDCStore
	FeedStore
	HostedStore
	AuditStore
	WebhookStore
	ConsoleStore

	// InTx runs fn with a Store bound to one transaction: everything fn does
	// commits together or not at all. Calling InTx on the Store passed to
	// fn runs the inner function in the same transaction.
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Ping reports whether the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error

	CreateProject(ctx context.Context, p Project) error
	GetProject(ctx context.Context, id string) (Project, error)
	ListProjects(ctx context.Context) ([]Project, error)

	CreatePool(ctx context.Context, p Pool) error
	GetPool(ctx context.Context, id string) (Pool, error)
	GetPoolByProject(ctx context.Context, projectID string) (Pool, error)
	UpdatePool(ctx context.Context, id string, fn func(Pool) (Pool, error)) (Pool, error)

	CreateApp(ctx context.Context, a App) error
	GetApp(ctx context.Context, clientID string) (App, error)
	ListApps(ctx context.Context, poolID string) ([]App, error)
	UpdateApp(ctx context.Context, clientID string, fn func(App) (App, error)) (App, error)

	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	ListAPIKeys(ctx context.Context, projectID string) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKey records a use of the key (last_used_at).
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// CreateUser fails with ErrConflict when the email is taken in the pool.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, poolID, sub string) (User, error)
	// GetUserByEmail matches the email case-insensitively.
	GetUserByEmail(ctx context.Context, poolID, email string) (User, error)
	ListUsers(ctx context.Context, poolID, cursor string, limit int) (UserPage, error)
	UpdateUser(ctx context.Context, poolID, sub string, fn func(User) (User, error)) (User, error)
	// DeleteUser erases the user row (attributes, password hash, MFA
	// secrets) for good.
	DeleteUser(ctx context.Context, poolID, sub string) error

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns the user's sessions, active and ended, newest first.
	ListSessions(ctx context.Context, poolID, sub string) ([]Session, error)
	// EndSession ends an active session; it reports false when it had
	// already ended (the first reason stays).
	EndSession(ctx context.Context, id string, at time.Time, reason string) (bool, error)
	// EndUserSessions ends every active session of the user except the one
	// named by exceptID (may be empty) and returns the ids it ended.
	EndUserSessions(ctx context.Context, poolID, sub string, at time.Time, reason, exceptID string) ([]string, error)
	// TouchSession moves last_seen_at forward (never backward).
	TouchSession(ctx context.Context, id string, at time.Time) error
	// ScrubUserSessions erases the IP and user agent of every session of the
	// user (deletion keeps only the sub).
	ScrubUserSessions(ctx context.Context, poolID, sub string) error

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// RotateRefreshToken marks oldHash rotated (recording the successor) and
	// stores the successor, atomically. ErrConflict when oldHash was
	// already rotated.
	RotateRefreshToken(ctx context.Context, oldHash string, at time.Time, successor RefreshToken, successorSealed []byte) error

	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode marks the code used at `at` and returns it. When it was
	// used before, it returns the stored code with ErrUsed and changes
	// nothing. Exactly one of many concurrent redemptions succeeds.
	RedeemAuthCode(ctx context.Context, hash string, at time.Time) (AuthCode, error)
	// SetAuthCodeSession records the session a redeemed code created.
	SetAuthCodeSession(ctx context.Context, hash, sessionID string) error

	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns the pool's keys that are not retired, newest first.
	ListSigningKeys(ctx context.Context, poolID string) ([]SigningKey, error)
	SetSigningKeyStatus(ctx context.Context, id, status string) error

	// AppendEvent sets e.Seq, e.PrevHash and e.Hash (chaining it to the
	// project's previous event) and stores it. Events are never updated.
	AppendEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)

	CreateDeletionRequest(ctx context.Context, d DeletionRequest) error
	// UseDeletionRequest marks the request used and returns it; ErrUsed when
	// it was used before, ErrNotFound when unknown.
	UseDeletionRequest(ctx context.Context, hash string, at time.Time) (DeletionRequest, error)
}
