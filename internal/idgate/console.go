package idgate

import (
	"context"
	"time"
)

// Admin is an administrator of the admin console. Administrators are
// global (not per project): the first one is created with the one-time
// setup link, later ones by invitation. Every one signs in with a password
// and a TOTP code.
type Admin struct {
	ID           string
	Email        string // lower-cased, unique
	PasswordHash string // argon2id PHC string
	TOTPSecret   []byte // sealed under the master key, bound to the admin id
	// TOTPLastStep is the time step of the last accepted TOTP code: a code
	// of that step or an earlier one is refused (replay protection).
	TOTPLastStep int64
	// FailedLogins counts failed sign-ins since the last success;
	// LockedUntil refuses sign-in until then after too many.
	FailedLogins int
	LockedUntil  time.Time
	InvitedBy    string // admin id; empty for the first administrator
	CreatedAt    time.Time
	LastLoginAt  time.Time
}

// Purposes of an AdminToken.
const (
	AdminTokenSetup  = "setup"  // the first administrator's one-time setup link
	AdminTokenInvite = "invite" // an invitation for a later administrator
	AdminTokenSignIn = "signin" // password accepted, TOTP code to come
)

// AdminToken is a single-use console credential, stored by the digest of
// its value: a setup link, an invitation, or a sign-in waiting for its TOTP
// code.
type AdminToken struct {
	Hash      string
	Purpose   string // AdminTokenSetup, AdminTokenInvite, AdminTokenSignIn
	Email     string // the invited address (invitations)
	AdminID   string // who invited (invitations) or who is signing in (sign-in)
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
}

// AdminSession is a signed-in console browser. The cookie holds a random
// value; Hash is its digest. Sessions end after a period without activity
// (LastSeenAt) or at ExpiresAt, whichever comes first. ReauthAt is when the
// administrator last re-entered a TOTP code in this session: destructive
// actions need it to be recent.
type AdminSession struct {
	Hash       string
	AdminID    string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	ReauthAt   time.Time
	EndedAt    time.Time // zero while active
	EndReason  string
}

// RecentEventFilter selects events for RecentEvents. Zero fields do not
// filter.
type RecentEventFilter struct {
	ProjectID string
	UserSub   string
	Types     []string // any of these types
	Since     time.Time
	Until     time.Time
	BeforeSeq int64 // pagination: only events with Seq < BeforeSeq
	Limit     int   // 0 means 100; at most 1000
}

// EventCount is the number of events of one type in one time bucket.
type EventCount struct {
	Type   string
	Bucket int // index of the bucket: [Since + Bucket*width, Since + (Bucket+1)*width)
	Count  int
}

// ConsoleStore is the storage the admin console adds to Store:
// administrators, their single-use tokens and sessions, and the read models
// of the dashboard, the audit page and the user search.
type ConsoleStore interface {
	// CreateAdmin stores an administrator; ErrConflict when the id or the
	// email (compared lower-cased) is taken.
	CreateAdmin(ctx context.Context, a Admin) error
	GetAdmin(ctx context.Context, id string) (Admin, error)
	// GetAdminByEmail matches the email case-insensitively.
	GetAdminByEmail(ctx context.Context, email string) (Admin, error)
	// ListAdmins returns every administrator, oldest first.
	ListAdmins(ctx context.Context) ([]Admin, error)
	CountAdmins(ctx context.Context) (int, error)
	// UpdateAdmin reads the admin, passes it to fn and stores what fn
	// returns (password hash, TOTP secret, failure counters, last login),
	// atomically. An error from fn is returned as is.
	UpdateAdmin(ctx context.Context, id string, fn func(Admin) (Admin, error)) (Admin, error)
	// UseAdminTOTPStep records that the admin's TOTP code of step was
	// accepted; ErrUsed, changing nothing, when a code of that step or a
	// later one was accepted before.
	UseAdminTOTPStep(ctx context.Context, id string, step int64) error

	// CreateAdminToken stores a token; ErrConflict when the hash is taken.
	CreateAdminToken(ctx context.Context, t AdminToken) error
	// GetAdminToken returns a token by hash, used or not.
	GetAdminToken(ctx context.Context, hash string) (AdminToken, error)
	// UseAdminToken marks the token used at `at` and returns it; ErrUsed
	// (with the token) when it was used before, ErrNotFound when unknown.
	// Exactly one of many concurrent uses succeeds.
	UseAdminToken(ctx context.Context, hash string, at time.Time) (AdminToken, error)
	// ListAdminTokens returns the tokens of a purpose, newest first.
	ListAdminTokens(ctx context.Context, purpose string) ([]AdminToken, error)

	CreateAdminSession(ctx context.Context, s AdminSession) error
	// GetAdminSession returns a session by hash, ended or not.
	GetAdminSession(ctx context.Context, hash string) (AdminSession, error)
	// TouchAdminSession moves last_seen_at forward (never backward).
	TouchAdminSession(ctx context.Context, hash string, at time.Time) error
	// SetAdminReauth records a TOTP re-entry in the session.
	SetAdminReauth(ctx context.Context, hash string, at time.Time) error
	// EndAdminSession ends a session (the first end stays); ErrNotFound
	// when unknown.
	EndAdminSession(ctx context.Context, hash string, at time.Time, reason string) error
	// PurgeAdminRecords deletes sessions and tokens that expired before
	// `before` and returns how many rows it removed.
	PurgeAdminRecords(ctx context.Context, before time.Time) (int64, error)

	// RecentEvents returns the events f selects, newest first.
	RecentEvents(ctx context.Context, f RecentEventFilter) ([]Event, error)
	// CountEvents counts the events of the given types (of every project
	// when projectID is empty) created in [since, since+n*width), per type
	// and bucket of the given width. Buckets without events are absent.
	CountEvents(ctx context.Context, projectID string, types []string, since time.Time, width time.Duration, n int) ([]EventCount, error)
	// CountActiveSessions counts the sessions (of every pool when poolID is
	// empty) that have not ended and not expired at now.
	CountActiveSessions(ctx context.Context, poolID string, now time.Time) (int, error)
	// SearchUsers finds the pool's users whose sub equals query or whose
	// email starts with it (case-insensitively), ordered by email.
	SearchUsers(ctx context.Context, poolID, query string, limit int) ([]User, error)
}

// Event types of the admin console.
const (
	EventAppSecretRotated = "app.secret_rotated"
)
