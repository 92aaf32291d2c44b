package token

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// Defaults of the token lifecycle.
const (
	CodeTTL            = 5 * time.Minute
	DefaultGraceWindow = 10 * time.Second
)

// Service is the token core shared by the session API and the OIDC provider.
type Service struct {
	store  idgate.Store
	keys   *Keys
	sealer *secret.Sealer
	now    func() time.Time
	base   string // public URL; a pool's issuer is base + "/" + poolID
	grace  time.Duration
	seen   lastSeen
	// verified remembers tokens whose signature already checked out.
	verified verifiedCache
	// OnSessionsEnded, when set, is told the ids of sessions that ended
	// (after the change committed), for caches and revocation feeds.
	OnSessionsEnded func(poolID string, ids []string)
}

// Config configures a Service.
type Config struct {
	Store       idgate.Store
	Keys        *Keys
	Sealer      *secret.Sealer
	Now         func() time.Time
	PublicURL   string
	GraceWindow time.Duration // refresh retry window for public apps; 0 means 10 s
}

// NewService returns the token service.
func NewService(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.GraceWindow == 0 {
		c.GraceWindow = DefaultGraceWindow
	}
	return &Service{store: c.Store, keys: c.Keys, sealer: c.Sealer, now: c.Now, base: c.PublicURL, grace: c.GraceWindow}
}

// Issuer returns the issuer URL of a pool.
func (s *Service) Issuer(poolID string) string { return s.base + "/" + poolID }

// Keys returns the key manager.
func (s *Service) Keys() *Keys { return s.keys }

// Response is a token endpoint answer. RefreshToken is empty when a refresh
// did not rotate it.
type Response struct {
	IDToken      string `json:"id_token,omitempty"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
}

// AuthenticateClient checks that clientID is an app of the pool and, for
// confidential apps, that secret is its secret. Public apps must not send
// one.
func (s *Service) AuthenticateClient(ctx context.Context, poolID, clientID, clientSecret string) (idgate.App, error) {
	if clientID == "" {
		return idgate.App{}, idgate.InvalidRequest("clientId", "is required")
	}
	app, err := s.store.GetApp(ctx, clientID)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && app.PoolID != poolID) {
		return idgate.App{}, idgate.InvalidClient("unknown client or wrong client secret")
	}
	if err != nil {
		return idgate.App{}, err
	}
	if app.Type.Confidential() {
		if clientSecret == "" || !secret.DigestEqual(clientSecret, app.SecretHash) {
			return idgate.App{}, idgate.InvalidClient("unknown client or wrong client secret")
		}
	} else if clientSecret != "" {
		return idgate.App{}, idgate.InvalidClient("public clients have no secret; use PKCE")
	}
	return app, nil
}

// CodeRequest is a successful sign-in turned into an authorization code.
type CodeRequest struct {
	App                 idgate.App
	User                idgate.User
	RedirectURI         string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	Scope               string
	AuthTime            time.Time
	AMR                 []string
	IP, UserAgent       string
}

// IssueCode stores a single-use code (valid CodeTTL) and returns it.
func (s *Service) IssueCode(ctx context.Context, r CodeRequest) (string, error) {
	code := idgate.NewSecret("")
	now := s.now()
	err := s.store.CreateAuthCode(ctx, idgate.AuthCode{
		Hash: secret.Digest(code), ClientID: r.App.ClientID, PoolID: r.App.PoolID, UserSub: r.User.Sub,
		RedirectURI: r.RedirectURI, CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		Nonce: r.Nonce, Scope: r.Scope, AuthTime: r.AuthTime, AMR: r.AMR, IP: r.IP, UserAgent: r.UserAgent,
		CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	})
	if err != nil {
		return "", fmt.Errorf("store authorization code: %w", err)
	}
	return code, nil
}

// ExchangeRequest is the code grant.
type ExchangeRequest struct {
	PoolID       string
	Code         string
	ClientID     string
	ClientSecret string
	RedirectURI  string
	CodeVerifier string
	Actor        idgate.Actor
}

// VerifyPKCE checks an RFC 7636 S256 code verifier against its challenge.
func VerifyPKCE(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// ExchangeCode redeems an authorization code: it starts a session and
// returns its ID, access and refresh tokens. A second use of a code fails
// with invalid_grant and ends the session the first use started
// (RFC 6749 §4.1.2).
func (s *Service) ExchangeCode(ctx context.Context, r ExchangeRequest) (Response, error) {
	if r.Code == "" {
		return Response{}, idgate.InvalidRequest("code", "is required")
	}
	app, err := s.AuthenticateClient(ctx, r.PoolID, r.ClientID, r.ClientSecret)
	if err != nil {
		return Response{}, err
	}
	now := s.now()
	hash := secret.Digest(r.Code)
	code, err := s.store.RedeemAuthCode(ctx, hash, now)
	switch {
	case errors.Is(err, idgate.ErrNotFound):
		return Response{}, idgate.InvalidGrant("the code is invalid, expired or already used")
	case errors.Is(err, idgate.ErrUsed):
		if code.ClientID == app.ClientID {
			s.codeReused(ctx, code, r.Actor)
		}
		return Response{}, idgate.InvalidGrant("the code is invalid, expired or already used")
	case err != nil:
		return Response{}, err
	}
	if code.ClientID != app.ClientID || !now.Before(code.ExpiresAt) {
		return Response{}, idgate.InvalidGrant("the code is invalid, expired or already used")
	}
	switch {
	case r.RedirectURI != "" && r.RedirectURI != code.RedirectURI:
		return Response{}, idgate.InvalidGrant("redirectUri does not match the one used to get the code")
	case r.RedirectURI == "" && len(app.CallbackURLs) > 1:
		return Response{}, idgate.InvalidRequest("redirectUri", "is required when the app has several callback URLs")
	}
	if code.CodeChallenge != "" {
		if r.CodeVerifier == "" {
			return Response{}, idgate.InvalidRequest("codeVerifier", "is required: the code was issued with a PKCE challenge")
		}
		if !VerifyPKCE(r.CodeVerifier, code.CodeChallenge) {
			return Response{}, idgate.InvalidGrant("codeVerifier does not match the code challenge")
		}
	} else if r.CodeVerifier != "" {
		return Response{}, idgate.InvalidGrant("codeVerifier sent but the code was issued without a PKCE challenge")
	}
	pool, err := s.store.GetPool(ctx, app.PoolID)
	if err != nil {
		return Response{}, err
	}
	user, err := s.store.GetUser(ctx, pool.ID, code.UserSub)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && user.Status == idgate.StatusDisabled) {
		return Response{}, idgate.InvalidGrant("the user can no longer sign in")
	}
	if err != nil {
		return Response{}, err
	}
	v := app.Validity
	sess := idgate.Session{
		ID: idgate.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 24), PoolID: pool.ID, UserSub: user.Sub,
		ClientID: app.ClientID, AuthTime: code.AuthTime, AMR: code.AMR, IP: code.IP, UserAgent: code.UserAgent,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(v.RefreshToken),
	}
	refresh := idgate.NewSecret("")
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		if err := tx.CreateRefreshToken(ctx, idgate.RefreshToken{
			Hash: secret.Digest(refresh), SessionID: sess.ID, ClientID: app.ClientID, PoolID: pool.ID,
			UserSub: user.Sub, Scope: code.Scope, CreatedAt: now, ExpiresAt: sess.ExpiresAt,
		}); err != nil {
			return err
		}
		if err := tx.SetAuthCodeSession(ctx, hash, sess.ID); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, pool, idgate.EventTokenIssued, r.Actor, user.Sub, sess.ID, app.ClientID,
			map[string]any{"grant": "authorization_code", "amr": sess.AMR})
	})
	if err != nil {
		return Response{}, err
	}
	m, err := s.mint(ctx, mintInput{pool: pool, app: app, user: user, session: sess, scope: code.Scope, nonce: code.Nonce, now: now, validity: v})
	if err != nil {
		return Response{}, err
	}
	return Response{IDToken: m.id, AccessToken: m.access, RefreshToken: refresh, ExpiresIn: m.expiresIn, TokenType: "Bearer", Scope: code.Scope}, nil
}

// codeReused ends the session a reused code had started.
func (s *Service) codeReused(ctx context.Context, code idgate.AuthCode, actor idgate.Actor) {
	pool, err := s.store.GetPool(ctx, code.PoolID)
	if err != nil {
		return
	}
	var ended bool
	_ = s.store.InTx(ctx, func(tx idgate.Store) error {
		if code.SessionID != "" {
			if ended, err = tx.EndSession(ctx, code.SessionID, s.now(), idgate.EndCodeReuse); err != nil {
				return err
			}
		}
		return s.appendEvent(ctx, tx, pool, idgate.EventCodeReuse, actor, code.UserSub, code.SessionID, code.ClientID, nil)
	})
	if ended {
		s.sessionsEnded(pool.ID, []string{code.SessionID})
	}
}

func (s *Service) sessionsEnded(poolID string, ids []string) {
	if s.OnSessionsEnded != nil && len(ids) > 0 {
		s.OnSessionsEnded(poolID, ids)
	}
}

// appendEvent records an audit event for the pool's project in tx.
func (s *Service) appendEvent(ctx context.Context, tx idgate.Store, pool idgate.Pool, typ string, actor idgate.Actor, sub, sid, clientID string, data map[string]any) error {
	return tx.AppendEvent(ctx, &idgate.Event{
		ProjectID: pool.ProjectID, PoolID: pool.ID, Type: typ, ActorType: actor.Type, ActorID: actor.ID,
		UserSub: sub, SessionID: sid, ClientID: clientID, IP: actor.IP, UserAgent: actor.UserAgent,
		Data: data, CreatedAt: s.now(),
	})
}
