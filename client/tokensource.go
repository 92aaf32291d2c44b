package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// TokenSourceConfig configures NewTokenSource.
type TokenSourceConfig struct {
	Client       *Client // API key with session:write
	Store        TokenStore
	ClientID     string
	ClientSecret string // web (confidential) apps; empty for public apps
	// Skew is how long before expiry an access token is refreshed, so a
	// token handed out still has that long to live; default 1 minute.
	Skew time.Duration
	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
	// RefreshTimeout bounds one refresh, which runs detached from the
	// caller that started it (other callers wait for it too); default 30 s.
	RefreshTimeout time.Duration
}

// TokenSource hands out valid access tokens for the application's users.
// It keeps the tokens in a TokenStore, refreshes them ahead of expiry
// with one refresh per user at a time (concurrent callers share it), stores
// rotated refresh tokens, and reports ErrLoginRequired — after deleting the
// stored tokens — when the user has to sign in again.
//
// The single flight is per process: several processes sharing one store
// may each refresh once, which idgate allows (confidential apps keep their
// refresh token; public apps get the same successor within the grace
// window).
type TokenSource struct {
	c       *Client
	store   TokenStore
	id, sec string
	skew    time.Duration
	now     func() time.Time
	timeout time.Duration

	mu      sync.Mutex
	flights map[string]*flight
}

// flight is one refresh in progress, shared by the callers that need it.
type flight struct {
	done chan struct{}
	t    Tokens
	err  error
}

// NewTokenSource returns a token source.
func NewTokenSource(cfg TokenSourceConfig) (*TokenSource, error) {
	if cfg.Client == nil || cfg.Store == nil || cfg.ClientID == "" {
		return nil, errors.New("idgate: TokenSource needs a Client, a Store and a ClientID")
	}
	if cfg.Skew <= 0 {
		cfg.Skew = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = 30 * time.Second
	}
	return &TokenSource{c: cfg.Client, store: cfg.Store, id: cfg.ClientID, sec: cfg.ClientSecret, skew: cfg.Skew,
		now: cfg.Now, timeout: cfg.RefreshTimeout, flights: map[string]*flight{}}, nil
}

// Exchange redeems the code the hosted login sent to the app's callback
// and stores the user's tokens under userID (the application's own id for
// the user). ClientID and ClientSecret default to the source's.
func (ts *TokenSource) Exchange(ctx context.Context, userID string, in CodeExchange) (Tokens, error) {
	if in.ClientID == "" {
		in.ClientID, in.ClientSecret = ts.id, ts.sec
	}
	resp, err := ts.c.GetTokenFromCode(ctx, in)
	if err != nil {
		return Tokens{}, err
	}
	t := ts.tokens(resp, "")
	if err := ts.store.Save(ctx, userID, t); err != nil {
		return Tokens{}, err
	}
	return t, nil
}

// tokens turns a token answer into Tokens; a refresh that did not rotate
// keeps the refresh token it used.
func (ts *TokenSource) tokens(resp *TokenResponse, oldRefresh string) Tokens {
	t := Tokens{AccessToken: resp.AccessToken, IDToken: resp.IDToken, RefreshToken: resp.RefreshToken}
	if t.RefreshToken == "" {
		t.RefreshToken = oldRefresh
	}
	if resp.ExpiresIn > 0 {
		t.Expiry = ts.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
	} else if exp, ok := unverifiedExpiry(resp.AccessToken); ok {
		t.Expiry = exp
	}
	return t
}

// fresh reports whether the access token lives longer than the skew.
func (ts *TokenSource) fresh(t Tokens) bool {
	return t.AccessToken != "" && ts.now().Add(ts.skew).Before(t.Expiry)
}

// AccessToken returns a valid access token for the user, refreshing it
// first when it expires within the skew. ErrLoginRequired means the user
// must sign in again (no tokens, refresh token expired, session revoked).
func (ts *TokenSource) AccessToken(ctx context.Context, userID string) (string, error) {
	t, err := ts.Tokens(ctx, userID)
	return t.AccessToken, err
}

// Tokens is AccessToken returning all the user's tokens (the ID token
// carries the user's attributes).
func (ts *TokenSource) Tokens(ctx context.Context, userID string) (Tokens, error) {
	t, err := ts.load(ctx, userID)
	if err != nil {
		return Tokens{}, err
	}
	if ts.fresh(t) {
		return t, nil
	}
	return ts.refresh(ctx, userID, false)
}

// Refresh refreshes the user's tokens now, whatever their expiry (say,
// after a resource server refused the access token).
func (ts *TokenSource) Refresh(ctx context.Context, userID string) (Tokens, error) {
	return ts.refresh(ctx, userID, true)
}

func (ts *TokenSource) load(ctx context.Context, userID string) (Tokens, error) {
	t, err := ts.store.Load(ctx, userID)
	if errors.Is(err, ErrNoTokens) {
		return Tokens{}, fmt.Errorf("%w: no tokens stored for user %q", ErrLoginRequired, userID)
	}
	return t, err
}

// refresh joins the user's refresh in flight or starts one.
func (ts *TokenSource) refresh(ctx context.Context, userID string, force bool) (Tokens, error) {
	ts.mu.Lock()
	f, ok := ts.flights[userID]
	if !ok {
		f = &flight{done: make(chan struct{})}
		ts.flights[userID] = f
		go func() {
			// Detached from ctx: the callers that joined must not fail
			// because the first one gave up.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ts.timeout)
			defer cancel()
			f.t, f.err = ts.doRefresh(rctx, userID, force)
			ts.mu.Lock()
			delete(ts.flights, userID)
			ts.mu.Unlock()
			close(f.done)
		}()
	}
	ts.mu.Unlock()
	select {
	case <-f.done:
		return f.t, f.err
	case <-ctx.Done():
		return Tokens{}, ctx.Err()
	}
}

// doRefresh reloads the tokens (a refresh that finished just before may
// have made them fresh) and refreshes them when still needed.
func (ts *TokenSource) doRefresh(ctx context.Context, userID string, force bool) (Tokens, error) {
	t, err := ts.load(ctx, userID)
	if err != nil {
		return Tokens{}, err
	}
	if !force && ts.fresh(t) {
		return t, nil
	}
	if t.RefreshToken == "" {
		_ = ts.store.Delete(ctx, userID)
		return Tokens{}, fmt.Errorf("%w: no refresh token stored", ErrLoginRequired)
	}
	resp, err := ts.c.RefreshAccessToken(ctx, RefreshRequest{RefreshToken: t.RefreshToken, ClientID: ts.id, ClientSecret: ts.sec})
	if errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrInvalidToken) {
		if derr := ts.store.Delete(ctx, userID); derr != nil {
			return Tokens{}, errors.Join(fmt.Errorf("%w: %w", ErrLoginRequired, err), derr)
		}
		return Tokens{}, fmt.Errorf("%w: %w", ErrLoginRequired, err)
	}
	if err != nil {
		return Tokens{}, err
	}
	nt := ts.tokens(resp, t.RefreshToken)
	if err := ts.store.Save(ctx, userID, nt); err != nil {
		return Tokens{}, err
	}
	return nt, nil
}

// SignOut revokes the user's session (RevokeSession) or every session of
// the user (RevokeGlobal, "sign out everywhere") on idgate and deletes the
// stored tokens. A token that is no longer active is not an error: the
// tokens are deleted all the same.
func (ts *TokenSource) SignOut(ctx context.Context, userID string, scope RevokeScope) error {
	// A fresh access token, so that the server accepts the revocation.
	t, err := ts.Tokens(ctx, userID)
	if errors.Is(err, ErrLoginRequired) {
		return nil // nothing stored, or the session had ended already
	}
	if err != nil {
		return err
	}
	if _, err := ts.c.RevokeAccessToken(ctx, t.AccessToken, scope); err != nil && !errors.Is(err, ErrInvalidToken) {
		return err
	}
	return ts.store.Delete(ctx, userID)
}
