package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// MiddlewareConfig configures NewMiddleware.
type MiddlewareConfig struct {
	// Client reaches idgate: its base URL serves the pool's JWKS and
	// revocation feed, and its API key (session:read) authenticates the
	// feed and the verify fallback.
	Client *Client
	// PoolID is the user pool whose tokens are accepted.
	PoolID string
	// Audience lists the client ids (apps) whose access tokens this
	// resource server accepts: a token's aud or client_id must be one of
	// them. Required.
	Audience []string
	// Issuer is the expected iss; default Client.BaseURL() + "/" + PoolID.
	// Set it when the SDK reaches idgate by another URL than its public one.
	Issuer string
	// Leeway tolerates clock differences on exp and iat; default 5 s.
	Leeway time.Duration
	// MaxTokenLifetime is the longest access-token lifetime of the pool
	// (default 24 h, idgate's maximum); ended sessions are remembered that
	// long.
	MaxTokenLifetime time.Duration
	// FailClosed refuses requests (503) when revocation cannot be checked:
	// the feed is down and the verify endpoint does not answer. By default
	// (fail open) a token that verifies locally is then accepted.
	FailClosed bool
	// DisableFeed skips the revocation feed and asks the verify endpoint
	// for every request.
	DisableFeed bool
	// JWKSMinRefetch is the least time between two fetches of the JWKS
	// caused by unknown key ids; default 1 s.
	JWKSMinRefetch time.Duration
	// JWKSMaxAge is how long a fetched JWKS is used before it is fetched
	// again (in the background); default 15 minutes.
	JWKSMaxAge time.Duration
	// FeedIdleTimeout: a feed silent this long is reconnected; default
	// 45 s (the server sends a heartbeat every 15 s).
	FeedIdleTimeout time.Duration
	// FeedMinBackoff and FeedMaxBackoff are the first and the longest
	// pause between feed reconnections; defaults 100 ms and 5 s.
	FeedMinBackoff, FeedMaxBackoff time.Duration
	// Now is the clock for expiry checks; default time.Now.
	Now func() time.Time
	// Logger receives feed disconnections; default slog.Default().
	Logger *slog.Logger
	// ErrorHandler writes the refusal of a request; the default answers
	// JSON {"error", "error_description"} with 401 (ErrInvalidToken), 403
	// (ErrInsufficientPermissions) or 503 (ErrUnavailable) and an RFC 6750
	// WWW-Authenticate header.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Middleware protects a resource server's handlers with idgate access
// tokens. It verifies each token locally (signature against the pool's
// JWKS with an algorithm allow-list, issuer, audience, expiry, token_use,
// and the Requirements of the route) and refuses tokens of ended sessions,
// which it learns from the pool's revocation feed within a second of the
// sign-out, with no call to idgate per request. While the feed is down it
// asks idgate's verify endpoint instead.
//
// Create it with NewMiddleware and stop its feed connection with Close.
type Middleware struct {
	cfg    MiddlewareConfig
	issuer string
	jwks   *jwksCache
	feed   *feedFollower // nil when disabled
	stop   context.CancelFunc
	done   chan struct{}
}

// NewMiddleware returns a middleware for cfg and starts following the
// revocation feed in the background.
func NewMiddleware(cfg MiddlewareConfig) (*Middleware, error) {
	if cfg.Client == nil || cfg.PoolID == "" {
		return nil, errors.New("idgate: Middleware needs a Client and a PoolID")
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("idgate: Middleware needs the Audience (client ids) whose tokens it accepts")
	}
	if strings.ContainsAny(cfg.PoolID, "/?#") {
		return nil, fmt.Errorf("idgate: pool id %q is not valid", cfg.PoolID)
	}
	setDefault(&cfg.Leeway, 5*time.Second)
	setDefault(&cfg.MaxTokenLifetime, 24*time.Hour)
	setDefault(&cfg.JWKSMinRefetch, time.Second)
	setDefault(&cfg.JWKSMaxAge, 15*time.Minute)
	setDefault(&cfg.FeedIdleTimeout, 45*time.Second)
	setDefault(&cfg.FeedMinBackoff, 100*time.Millisecond)
	setDefault(&cfg.FeedMaxBackoff, 5*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = writeRefusal
	}
	base := cfg.Client.BaseURL() + "/" + cfg.PoolID
	m := &Middleware{cfg: cfg, issuer: cfg.Issuer, done: make(chan struct{})}
	if m.issuer == "" {
		m.issuer = base
	}
	m.jwks = &jwksCache{url: base + "/.well-known/jwks.json", hc: cfg.Client.hc, minRefetch: cfg.JWKSMinRefetch, maxAge: cfg.JWKSMaxAge}
	ctx, stop := context.WithCancel(context.Background())
	m.stop = stop
	if cfg.DisableFeed {
		close(m.done)
		return m, nil
	}
	m.feed = &feedFollower{
		url: base + "/revocations", apiKey: cfg.Client.apiKey,
		// The stream stays open: no client timeout, only the idle watchdog.
		hc:          &http.Client{Transport: cfg.Client.hc.Transport},
		set:         newEndedSessions(cfg.MaxTokenLifetime+cfg.Leeway, cfg.Now),
		idleTimeout: cfg.FeedIdleTimeout, minBackoff: cfg.FeedMinBackoff, maxBackoff: cfg.FeedMaxBackoff,
		logger: cfg.Logger,
	}
	go func() {
		defer close(m.done)
		m.feed.run(ctx)
	}()
	return m, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Close stops following the revocation feed and waits for it to end.
func (m *Middleware) Close() {
	m.stop()
	<-m.done
}

// FeedConnected reports whether the revocation feed is connected and
// caught up (revocations are then checked locally).
func (m *Middleware) FeedConnected() bool { return m.feed != nil && m.feed.up.Load() }

// Watermark returns the id of the last revocation feed event received,
// "" before the first.
func (m *Middleware) Watermark() string {
	if m.feed == nil {
		return ""
	}
	return m.feed.watermark()
}

// Requirement is a condition a route puts on a verified token, made by
// RequireScope, RequireRole, RequireGroup or RequireAction.
type Requirement struct {
	what   string
	values []string
	has    func(*Claims, string) bool
}

// RequireScope requires every scope listed.
func RequireScope(scopes ...string) Requirement {
	return Requirement{"scope", scopes, (*Claims).HasScope}
}

// RequireRole requires every role listed (the roles attribute).
func RequireRole(roles ...string) Requirement {
	return Requirement{"role", roles, (*Claims).HasRole}
}

// RequireGroup requires every group listed.
func RequireGroup(groups ...string) Requirement {
	return Requirement{"group", groups, (*Claims).HasGroup}
}

// RequireAction requires every action listed (the actions attribute,
// e.g. "App01:Update").
func RequireAction(actions ...string) Requirement {
	return Requirement{"action", actions, (*Claims).HasAction}
}

func (q Requirement) check(c *Claims) error {
	for _, v := range q.values {
		if !q.has(c, v) {
			return fmt.Errorf("%w: the token lacks the %s %q", ErrInsufficientPermissions, q.what, v)
		}
	}
	return nil
}

// maxTokenBytes caps the size of a token worth parsing.
const maxTokenBytes = 16 << 10

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Verify checks an access token and the requirements, and returns its
// claims. Errors match ErrInvalidToken (refuse with 401),
// ErrInsufficientPermissions (403) or ErrUnavailable (503: revocation or
// keys could not be checked).
func (m *Middleware) Verify(ctx context.Context, raw string, reqs ...Requirement) (*Claims, error) {
	if raw == "" || len(raw) > maxTokenBytes {
		return nil, invalid("missing or oversized token")
	}
	tok, err := jwt.ParseSigned(raw, allowedAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, invalid("not a signed JWT with an allowed algorithm")
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, invalid("not an access token (typ)")
	}
	k, err := m.jwks.lookup(ctx, h.KeyID)
	if errors.Is(err, errUnknownKey) {
		return nil, invalid("signed with an unknown key")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: signing keys: %w", ErrUnavailable, err)
	}
	if string(k.alg) != h.Algorithm {
		return nil, invalid("algorithm does not match the key")
	}
	var w wireClaims
	if err := tok.Claims(k.key, &w); err != nil {
		return nil, invalid("signature does not verify")
	}
	now := m.cfg.Now()
	switch {
	case w.Issuer != m.issuer:
		return nil, invalid("issued by another issuer")
	case w.TokenUse != "access":
		return nil, invalid("not an access token (token_use)")
	case w.Subject == "":
		return nil, invalid("no subject")
	case w.Expiry == nil || !now.Before(w.Expiry.Time().Add(m.cfg.Leeway)):
		return nil, invalid("expired")
	case w.IssuedAt != nil && w.IssuedAt.Time().After(now.Add(m.cfg.Leeway)):
		return nil, invalid("issued in the future")
	case w.NotBefore != nil && w.NotBefore.Time().After(now.Add(m.cfg.Leeway)):
		return nil, invalid("not valid yet")
	case !m.audienceOK(&w):
		return nil, invalid("issued to another client")
	}
	c := w.claims()
	if err := m.checkRevoked(ctx, raw, c); err != nil {
		return nil, err
	}
	for _, q := range reqs {
		if err := q.check(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (m *Middleware) audienceOK(w *wireClaims) bool {
	for _, a := range m.cfg.Audience {
		if w.ClientID == a || slices.Contains(w.Audience, a) {
			return true
		}
	}
	return false
}

// checkRevoked refuses tokens of ended sessions: from the feed's set when
// the feed is up, otherwise from the verify endpoint.
func (m *Middleware) checkRevoked(ctx context.Context, raw string, c *Claims) error {
	if m.FeedConnected() {
		if c.SessionID != "" && m.feed.set.has(c.SessionID) {
			return invalid("the session has ended")
		}
		return nil
	}
	v, err := m.cfg.Client.VerifyAccessToken(ctx, raw)
	if err != nil {
		if m.cfg.FailClosed {
			return fmt.Errorf("%w: revocation cannot be checked: %w", ErrUnavailable, err)
		}
		m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "idgate: revocation not checked (feed down, verify failed); accepting a locally verified token",
			slog.String("err", err.Error()))
		return nil
	}
	if !v.Active {
		return invalid("the session has ended or the token expired")
	}
	return nil
}

// Handler returns next protected by the middleware: requests need an
// "Authorization: Bearer <access token>" that verifies and meets reqs;
// next finds the claims with ClaimsFrom.
func (m *Middleware) Handler(next http.Handler, reqs ...Requirement) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearerToken(r)
		if !ok {
			m.cfg.ErrorHandler(w, r, invalid("missing bearer token"))
			return
		}
		c, err := m.Verify(r.Context(), raw, reqs...)
		if err != nil {
			m.cfg.ErrorHandler(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}

// Require returns Handler as a func(http.Handler) http.Handler, the shape
// router middleware chains take.
func (m *Middleware) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return m.Handler(next, reqs...) }
}

// bearerToken reads the Authorization header (RFC 6750 §2.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// writeRefusal is the default ErrorHandler.
func writeRefusal(w http.ResponseWriter, _ *http.Request, err error) {
	status, code := http.StatusUnauthorized, "invalid_token"
	switch {
	case errors.Is(err, ErrInsufficientPermissions):
		status, code = http.StatusForbidden, "insufficient_scope"
	case errors.Is(err, ErrUnavailable):
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	}
	desc := strings.TrimPrefix(err.Error(), "idgate: ")
	if status != http.StatusServiceUnavailable {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer error=%q, error_description=%q", code, desc))
	} else {
		w.Header().Set("Retry-After", "1")
		desc = "token revocation cannot be checked right now; retry shortly"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
