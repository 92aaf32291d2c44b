package idgate

import (
	"context"
	"time"
)

// Purposes of a LoginFlow: what the person on the hosted pages set out to do.
const (
	FlowSignUp = "signup" // create an account, verify the email, enrol MFA
	FlowLogin  = "login"  // password accepted; MFA (or its enrolment) to come
	FlowReset  = "reset"  // forgot password: emailed code, then a new password
	FlowEnrol  = "enrol"  // enrolment of an authenticator from the account page
)

// Steps of a LoginFlow: the page the flow is waiting on.
const (
	StepVerifyEmail = "verify_email" // the 6-digit code sent to the address
	StepMFA         = "mfa"          // a TOTP or a recovery code
	StepEnrolTOTP   = "enrol_totp"   // scan the QR code, confirm a first code
	StepOfferMFA    = "offer_mfa"    // optional policy: enrol now or skip
	StepResetCode   = "reset_code"   // the emailed code and the new password
)

// LoginFlow is the server-side state of a multi-step hosted page flow (sign
// up, password then MFA, password reset). The browser holds only a random
// handle to it; Hash is the digest of that handle, so a database reader
// cannot resume someone's flow. Everything that says who the person is
// lives here, never in form fields.
type LoginFlow struct {
	Hash    string
	PoolID  string
	Purpose string // FlowSignUp, FlowLogin, FlowReset, FlowEnrol
	Step    string // StepVerifyEmail, StepMFA, …
	// UserSub is the user the flow is about. It is empty for a decoy flow
	// (a reset or sign-up for an address that cannot proceed), which runs
	// exactly like a real one so that pages do not reveal who is registered.
	UserSub string
	Email   string
	// Request is the authorization request being served (URL-encoded
	// parameters), re-validated when the flow finishes.
	Request string
	// CodeHash is the digest of the emailed code (bound to the flow), with
	// its expiry and when it was last sent (for the resend cooldown).
	CodeHash      string
	CodeExpiresAt time.Time
	CodeSentAt    time.Time
	// Attempts counts wrong codes (email or MFA) entered in this flow.
	Attempts int
	// PendingSecret is a value sealed under the master key and bound to the
	// flow: the new account's password hash until its email is verified,
	// then the TOTP secret being enrolled; nil otherwise.
	PendingSecret []byte
	// AuthTime and AMR record the authentication done so far in the flow.
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// HostedSession is the browser session of the hosted login: single sign-on
// between the apps of one pool. The cookie holds a random value; Hash is its
// digest.
type HostedSession struct {
	Hash      string
	PoolID    string
	UserSub   string
	AuthTime  time.Time
	AMR       []string
	IP        string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
	EndedAt   time.Time // zero while active
	EndReason string
	// StartSeq is the Seq of the event that recorded its start: a global
	// sign-out recorded after it (a higher Seq) ends it for the apps that
	// did not opt into HostedSessionSurvivesGlobalSignOut.
	StartSeq int64
}

// Active reports whether the hosted session has not ended and not expired.
func (h HostedSession) Active(now time.Time) bool {
	return h.EndedAt.IsZero() && now.Before(h.ExpiresAt)
}

// KnownDevice records that a browser (identified by the digest of its
// long-lived device cookie) completed a sign-in of the user. Throttling
// after failed attempts spares known devices (SPEC §6).
type KnownDevice struct {
	Hash       string
	PoolID     string
	UserSub    string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// LoginThrottle is the failure record of one sign-in identity of a pool
// (Key is the digest of the lower-cased email, so unknown addresses are
// throttled exactly like registered ones). Failures counts failures from
// unknown devices since the last success; LockedUntil is when attempts
// from unknown devices are accepted again.
type LoginThrottle struct {
	PoolID        string
	Key           string
	Failures      int
	LockedUntil   time.Time
	LastFailureAt time.Time
}

// HostedStore is the storage the hosted login adds to Store: multi-step
// flows, hosted sessions, TOTP replay protection, recovery codes, known
// devices and per-account throttling.
//
// Rows tied to a user (hosted sessions, recovery codes, TOTP state, known
// devices) go away with the user row (DeleteUser erases MFA data).
type HostedStore interface {
	// CreateLoginFlow stores a new flow; ErrConflict when the hash is taken.
	CreateLoginFlow(ctx context.Context, f LoginFlow) error
	// GetLoginFlow returns a flow by hash, expired or not; ErrNotFound when
	// unknown.
	GetLoginFlow(ctx context.Context, hash string) (LoginFlow, error)
	// UpdateLoginFlow reads the flow, passes it to fn and stores what fn
	// returns, atomically (only Step, UserSub, Email, CodeHash,
	// CodeExpiresAt, CodeSentAt, Attempts, PendingSecret, AuthTime, AMR and
	// ExpiresAt change). An error from fn is returned as is.
	UpdateLoginFlow(ctx context.Context, hash string, fn func(LoginFlow) (LoginFlow, error)) (LoginFlow, error)
	// DeleteLoginFlow removes a finished flow; deleting an unknown flow is
	// not an error.
	DeleteLoginFlow(ctx context.Context, hash string) error

	CreateHostedSession(ctx context.Context, h HostedSession) error
	// GetHostedSession returns a hosted session by hash, ended or not.
	GetHostedSession(ctx context.Context, hash string) (HostedSession, error)
	// EndHostedSession ends one hosted session (the first end stays);
	// ErrNotFound when unknown.
	EndHostedSession(ctx context.Context, hash string, at time.Time, reason string) error
	// EndUserHostedSessions ends every active hosted session of the user
	// and returns how many it ended.
	EndUserHostedSessions(ctx context.Context, poolID, sub string, at time.Time, reason string) (int, error)
	// EndOtherHostedSessions ends every active hosted session of the user
	// but the one with exceptHash ("sign out all other sessions").
	EndOtherHostedSessions(ctx context.Context, poolID, sub, exceptHash string, at time.Time, reason string) (int, error)

	// UseTOTPStep records that the user's TOTP code of time step `step` was
	// accepted. It fails with ErrUsed, changing nothing, when a code of
	// that step or a later one was accepted before (replay protection).
	UseTOTPStep(ctx context.Context, poolID, sub string, step int64) error

	// ReplaceRecoveryCodes makes hashes the user's only recovery codes.
	ReplaceRecoveryCodes(ctx context.Context, poolID, sub string, hashes []string, at time.Time) error
	// UseRecoveryCode marks the user's code with that hash used. ErrNotFound
	// when the user has no such code, ErrUsed when it was used before.
	UseRecoveryCode(ctx context.Context, poolID, sub, hash string, at time.Time) error
	// CountRecoveryCodes returns how many of the user's codes are unused.
	CountRecoveryCodes(ctx context.Context, poolID, sub string) (int, error)

	// RememberDevice records (or refreshes) a known device of the user.
	RememberDevice(ctx context.Context, d KnownDevice) error
	// GetKnownDevice returns the user's device with that hash; ErrNotFound
	// when the device is not known for this user.
	GetKnownDevice(ctx context.Context, poolID, sub, hash string) (KnownDevice, error)

	// GetLoginThrottle returns the throttle record of a key; a key without
	// failures reads as ErrNotFound.
	GetLoginThrottle(ctx context.Context, poolID, key string) (LoginThrottle, error)
	// UpdateLoginThrottle passes the key's record (the zero record with
	// PoolID and Key set when there is none) to fn and stores what it
	// returns, atomically. A result with no failures deletes the record.
	UpdateLoginThrottle(ctx context.Context, poolID, key string, fn func(LoginThrottle) (LoginThrottle, error)) (LoginThrottle, error)

	// PurgeHosted deletes flows, hosted sessions, known devices and
	// throttle records that expired (or were last touched) before `before`,
	// and returns how many rows it removed.
	PurgeHosted(ctx context.Context, before time.Time) (int64, error)
}
