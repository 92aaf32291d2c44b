package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
)

// Service implements the people use-cases over a Store.
type Service struct {
	store  idgate.Store
	hasher *secret.Hasher
	mailer notify.Mailer
	emails *notify.Templates
	now    func() time.Time
	// OnSessionsEnded, when set, is told which sessions a change ended
	// (after commit), for caches and revocation feeds.
	OnSessionsEnded func(poolID string, ids []string)
}

// NewService returns the account service. Emails are rendered from emails
// and sent through mailer.
func NewService(store idgate.Store, hasher *secret.Hasher, mailer notify.Mailer, emails *notify.Templates, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, hasher: hasher, mailer: mailer, emails: emails, now: now}
}

func (s *Service) event(ctx context.Context, tx idgate.Store, pool idgate.Pool, typ string, actor idgate.Actor, sub string, data map[string]any) error {
	return tx.AppendEvent(ctx, &idgate.Event{
		ProjectID: pool.ProjectID, PoolID: pool.ID, Type: typ, ActorType: actor.Type, ActorID: actor.ID,
		UserSub: sub, IP: actor.IP, UserAgent: actor.UserAgent, Data: data, CreatedAt: s.now(),
	})
}

// NewUser is the input of CreateUser.
type NewUser struct {
	PoolID    string
	Email     string
	Password  string
	Confirmed bool
}

// NormalizeEmail lower-cases and trims an address and checks its syntax.
func NormalizeEmail(field, email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if !validEmail(e) {
		return "", idgate.InvalidRequest(field, "is not a valid email address")
	}
	return e, nil
}

// CheckPassword applies the pool's password policy.
func CheckPassword(pool idgate.Pool, password string) error {
	min := pool.PasswordMinLength
	if min <= 0 {
		min = 12
	}
	switch {
	case utf8.RuneCountInString(password) < min:
		return idgate.InvalidRequest("password", "must be at least %d characters", min)
	case len(password) > 1024:
		return idgate.InvalidRequest("password", "must be at most 1024 bytes")
	case commonPassword(password):
		return idgate.InvalidRequest("password", "is too common; choose another")
	}
	return nil
}

// CreateUser adds a user to a pool (administrators: imports, tests,
// support). The email must be free in the pool.
func (s *Service) CreateUser(ctx context.Context, in NewUser, actor idgate.Actor) (idgate.User, error) {
	pool, err := s.store.GetPool(ctx, in.PoolID)
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.User{}, idgate.NotFoundError("no user pool " + in.PoolID)
	}
	if err != nil {
		return idgate.User{}, err
	}
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return idgate.User{}, err
	}
	if err := CheckPassword(pool, in.Password); err != nil {
		return idgate.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return idgate.User{}, err
	}
	now := s.now()
	u := idgate.User{
		Sub: idgate.NewUUID(), PoolID: pool.ID, Email: email, PasswordHash: hash,
		Status: idgate.StatusUnconfirmed, CreatedAt: now, UpdatedAt: now,
	}
	u.Username = u.Sub
	if in.Confirmed {
		u.Status, u.EmailVerified = idgate.StatusConfirmed, true
	}
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.event(ctx, tx, pool, idgate.EventUserCreated, actor, u.Sub, map[string]any{"confirmed": in.Confirmed})
	})
	if errors.Is(err, idgate.ErrConflict) {
		return idgate.User{}, idgate.ConflictError("a user with this email already exists in the pool")
	}
	if err != nil {
		return idgate.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// ErrBadCredentials is the one answer to a failed sign-in, whatever the
// cause, so that it does not reveal whether the email is registered.
var ErrBadCredentials = &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "incorrect email or password"}

// Authenticate checks an email and password for the pool's sign-in. Unknown
// emails cost the same argon2id work as wrong passwords. Every outcome is an
// event.
func (s *Service) Authenticate(ctx context.Context, poolID, email, password string, actor idgate.Actor) (idgate.User, error) {
	pool, err := s.store.GetPool(ctx, poolID)
	if err != nil {
		return idgate.User{}, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.store.GetUserByEmail(ctx, poolID, email)
	if err != nil && !errors.Is(err, idgate.ErrNotFound) {
		return idgate.User{}, err
	}
	ok, verr := s.hasher.Verify(ctx, password, u.PasswordHash) // empty hash: dummy work, false
	if verr != nil && !errors.Is(verr, secret.ErrMalformedHash) {
		return idgate.User{}, verr
	}
	reason := ""
	switch {
	case u.Sub == "":
		reason = "unknown_user"
	case !ok:
		reason = "wrong_password"
	case u.Status == idgate.StatusDisabled:
		reason = "disabled"
	case u.Status == idgate.StatusUnconfirmed:
		reason = "unconfirmed"
	}
	typ, data := idgate.EventLoginSucceeded, map[string]any{"method": "pwd"}
	if reason != "" {
		typ, data = idgate.EventLoginFailed, map[string]any{"reason": reason}
	}
	if err := s.store.InTx(ctx, func(tx idgate.Store) error {
		return s.event(ctx, tx, pool, typ, actor, u.Sub, data)
	}); err != nil {
		return idgate.User{}, err
	}
	switch reason {
	case "":
		return u, nil
	case "unconfirmed":
		return idgate.User{}, &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "this account's email address is not verified yet"}
	case "disabled":
		return idgate.User{}, &idgate.Error{Code: idgate.CodeInvalidGrant, Description: "this account is disabled"}
	}
	return idgate.User{}, ErrBadCredentials
}
