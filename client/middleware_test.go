package client_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idgate/idgate/client"
)

const verifyPath = "/v2/sessionmgt/verifyaccesstoken"

// newMiddleware returns a middleware for the fixture's pool and app, with
// quick feed reconnection; it waits for the feed unless the feed is
// disabled or blocked.
func newMiddleware(t testing.TB, f *fixture, mutate func(*client.MiddlewareConfig)) *client.Middleware {
	t.Helper()
	cfg := client.MiddlewareConfig{Client: f.cl, PoolID: f.c.UserPoolID, Audience: []string{f.c.ClientID},
		FeedMinBackoff: 20 * time.Millisecond, FeedMaxBackoff: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := client.NewMiddleware(cfg)
	must(t, err)
	t.Cleanup(m.Close)
	if !cfg.DisableFeed && !f.s.feedBlocked.Load() {
		eventually(t, 5*time.Second, "feed connected", m.FeedConnected)
	}
	return m
}

// status runs one request with the token through the middleware.
func status(m *client.Middleware, tok string, reqs ...client.Requirement) int {
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }), reqs...)
	req := httptest.NewRequest("GET", "/api", nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestMiddlewareRevocationWithinOneSecond: after revokeaccesstoken on the
// server, the middleware refuses the user's token within a second, from
// the feed alone (no verify call), and keeps accepting another user's.
func TestMiddlewareRevocationWithinOneSecond(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	_, err := s.user(f.c.UserPoolID, "bob@example.com")
	must(t, err)
	m := newMiddleware(t, f, nil)
	ada := f.signIn(t)
	bobCode, err := s.code(f.c.ClientID, "bob@example.com", nil)
	must(t, err)
	bob, err := f.cl.GetTokenFromCode(ctx, client.CodeExchange{Code: bobCode, ClientID: f.c.ClientID, ClientSecret: f.c.ClientSecret})
	must(t, err)
	if status(m, ada.AccessToken) != 204 || status(m, bob.AccessToken) != 204 {
		t.Fatal("valid tokens refused")
	}

	start := time.Now()
	_, err = f.cl.RevokeAccessToken(ctx, ada.AccessToken, client.RevokeGlobal)
	must(t, err)
	took := eventually(t, time.Second, "revoked token refused", func() bool { return status(m, ada.AccessToken) == 401 })
	t.Logf("revoked token refused %s after revokeaccesstoken returned (%s after it was sent)", took, time.Since(start))
	if status(m, bob.AccessToken) != 204 {
		t.Fatal("another user's token refused")
	}
	if n := s.count(verifyPath); n != 0 {
		t.Fatalf("%d verify calls: the feed should have done it", n)
	}
}

// TestMiddlewareChecks covers the local verification: audience, token
// use, expiry, signature, algorithm allow-list, requirements.
func TestMiddlewareChecks(t *testing.T) {
	s := newServer(t)
	f := newFixture(t, s, "web")
	tk := f.signIn(t)
	m := newMiddleware(t, f, nil)
	if got := status(m, tk.AccessToken); got != 204 {
		t.Fatalf("valid token: %d", got)
	}
	c, err := m.Verify(context.Background(), tk.AccessToken)
	must(t, err)
	if c.Subject != f.sub || c.ClientID != f.c.ClientID || c.TokenUse != "access" || c.SessionID == "" || c.Issuer != f.c.Issuer {
		t.Fatalf("claims = %+v", c)
	}

	other := newMiddleware(t, f, func(c *client.MiddlewareConfig) { c.Audience = []string{"someotherclient"} })
	late := newMiddleware(t, f, func(c *client.MiddlewareConfig) { c.Now = func() time.Time { return time.Now().Add(25 * time.Hour) } })
	parts := strings.Split(tk.AccessToken, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for name, tc := range map[string]struct {
		m    *client.Middleware
		tok  string
		want int
		reqs []client.Requirement
	}{
		"no token":          {m, "", 401, nil},
		"garbage":           {m, "not-a-jwt", 401, nil},
		"id token":          {m, tk.IDToken, 401, nil},
		"bad signature":     {m, tampered, 401, nil},
		"alg none":          {m, forge(t, tk.AccessToken, "none"), 401, nil},
		"alg HS256":         {m, forge(t, tk.AccessToken, "HS256"), 401, nil},
		"other audience":    {other, tk.AccessToken, 401, nil},
		"expired":           {late, tk.AccessToken, 401, nil},
		"missing scope":     {m, tk.AccessToken, 403, []client.Requirement{client.RequireScope("admin")}},
		"missing role":      {m, tk.AccessToken, 403, []client.Requirement{client.RequireRole("App01AdministrationRole")}},
		"missing group":     {m, tk.AccessToken, 403, []client.Requirement{client.RequireGroup("ops")}},
		"missing action":    {m, tk.AccessToken, 403, []client.Requirement{client.RequireAction("App01:Update")}},
		"scope openid, any": {m, tk.AccessToken, 204, []client.Requirement{client.RequireScope(c.Scopes()...)}},
	} {
		if got := status(tc.m, tc.tok, tc.reqs...); got != tc.want {
			t.Errorf("%s: status %d, want %d", name, got, tc.want)
		}
	}
	if _, err := m.Verify(context.Background(), tk.IDToken); !errors.Is(err, client.ErrInvalidToken) {
		t.Fatalf("ID token: %v", err)
	}
}

// forge re-signs the token's header and payload with alg (none, or HS256
// keyed with a public value): both must be refused by the allow-list.
func forge(t *testing.T, tok, alg string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	var h map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[0])
	must(t, json.Unmarshal(b, &h))
	h["alg"] = alg
	hb, _ := json.Marshal(h)
	head := base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1]
	if alg == "none" {
		return head + "."
	}
	mac := hmac.New(sha256.New, []byte("public-key-bytes"))
	mac.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestMiddlewareKeyRotation: after the pool's keys rotate, tokens signed
// with the new key verify (one refetch of the JWKS) and those signed with
// the previous key still do.
func TestMiddlewareKeyRotation(t *testing.T) {
	s := newServer(t)
	f := newFixture(t, s, "web")
	m := newMiddleware(t, f, nil)
	before := f.signIn(t)
	if status(m, before.AccessToken) != 204 {
		t.Fatal("token refused before the rotation")
	}
	jwksPath := "/" + f.c.UserPoolID + "/.well-known/jwks.json"
	fetches := s.count(jwksPath)
	var rotated struct {
		Kid string `json:"kid"`
	}
	must(t, s.admin("POST", "/admin/api/pools/"+f.c.UserPoolID+"/keys/rotate", nil, &rotated))
	after := f.signIn(t)
	if !strings.Contains(headerOf(t, after.AccessToken), rotated.Kid) {
		t.Fatalf("the new token is not signed with the new key %s", rotated.Kid)
	}
	for range 20 {
		if status(m, after.AccessToken) != 204 {
			t.Fatal("token of the new key refused")
		}
	}
	if status(m, before.AccessToken) != 204 {
		t.Fatal("token of the previous key refused after the rotation")
	}
	if n := s.count(jwksPath) - fetches; n != 1 {
		t.Fatalf("%d JWKS fetches after the rotation, want 1", n)
	}
	// A flood of unknown key ids does not hammer the JWKS endpoint.
	unknown := strings.Replace(after.AccessToken, strings.Split(after.AccessToken, ".")[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"nope","typ":"at+jwt"}`)), 1)
	fetches = s.count(jwksPath)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if status(m, unknown) != 401 {
				t.Error("token with an unknown kid accepted")
			}
		})
	}
	wg.Wait()
	if n := s.count(jwksPath) - fetches; n > 1 {
		t.Fatalf("%d JWKS fetches for 50 concurrent requests with an unknown kid, want at most 1", n)
	}
}

func headerOf(t *testing.T, tok string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	must(t, err)
	return string(b)
}

// TestMiddlewareFeedResumes: the feed breaks; sessions end while it is
// down (the middleware falls back to verify meanwhile); the feed comes
// back with Last-Event-ID and the middleware learns of every one of them,
// refusing the tokens with the verify endpoint unreachable.
func TestMiddlewareFeedResumes(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	m := newMiddleware(t, f, func(c *client.MiddlewareConfig) { c.FailClosed = true })
	a, b, keep := f.signIn(t), f.signIn(t), f.signIn(t)
	wm := m.Watermark()

	s.feedBlocked.Store(true)
	s.cutFeeds()
	eventually(t, 2*time.Second, "feed down", func() bool { return !m.FeedConnected() })
	for _, tk := range []*client.TokenResponse{a, b} {
		if n, err := f.cl.RevokeAccessToken(ctx, tk.AccessToken, client.RevokeSession); err != nil || n != 1 {
			t.Fatalf("revoke: %d, %v", n, err)
		}
	}
	if status(m, a.AccessToken) != 401 || status(m, keep.AccessToken) != 204 || s.count(verifyPath) == 0 {
		t.Fatal("while the feed is down the middleware must ask the verify endpoint")
	}

	s.verifyDown.Store(true)
	s.feedBlocked.Store(false)
	eventually(t, 5*time.Second, "feed back", m.FeedConnected)
	ids := s.feedLastEventIDs()
	if last := ids[len(ids)-1]; last != wm {
		t.Fatalf("reconnected with Last-Event-ID %q, want %q (ids %v)", last, wm, ids)
	}
	for _, tk := range []*client.TokenResponse{a, b} {
		if got := status(m, tk.AccessToken); got != 401 {
			t.Fatalf("token revoked while the feed was down: %d, want 401", got)
		}
	}
	if got := status(m, keep.AccessToken); got != 204 {
		t.Fatalf("live token: %d", got)
	}
}

// TestMiddlewareFallbackToVerify: with the feed endpoint unreachable the
// middleware asks the verify endpoint per request; with that unreachable
// too it fails closed (503) or open (local verification only) as
// configured.
func TestMiddlewareFallbackToVerify(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	s.feedBlocked.Store(true)
	noRetry, err := client.New(s.URL, f.c.APIKey, client.WithRetries(0))
	must(t, err)
	closed := newMiddleware(t, f, func(c *client.MiddlewareConfig) { c.FailClosed = true; c.Client = noRetry })
	open := newMiddleware(t, f, func(c *client.MiddlewareConfig) { c.Client = noRetry })
	live, gone := f.signIn(t), f.signIn(t)
	_, err = f.cl.RevokeAccessToken(ctx, gone.AccessToken, client.RevokeSession)
	must(t, err)

	calls := s.count(verifyPath)
	if status(closed, live.AccessToken) != 204 || status(closed, gone.AccessToken) != 401 || status(open, gone.AccessToken) != 401 {
		t.Fatal("verify fallback gave the wrong verdict")
	}
	if closed.FeedConnected() || s.count(verifyPath)-calls != 3 {
		t.Fatalf("%d verify calls for 3 requests with the feed down", s.count(verifyPath)-calls)
	}

	s.verifyDown.Store(true)
	if got := status(closed, live.AccessToken); got != 503 {
		t.Fatalf("fail-closed without feed and verify: %d, want 503", got)
	}
	if got := status(open, live.AccessToken); got != 204 {
		t.Fatalf("fail-open without feed and verify: %d, want 204", got)
	}
	if got := status(open, "garbage"); got != 401 {
		t.Fatalf("fail-open still verifies locally: %d", got)
	}
}

// BenchmarkMiddleware measures the per-request cost of the middleware
// with the feed connected: local signature verification, claim checks,
// the revocation lookup, and the handler call, for each signing algorithm.
func BenchmarkMiddleware(b *testing.B) {
	s := newServer(b)
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			c, err := s.project("web", alg)
			must(b, err)
			_, err = s.user(c.UserPoolID, "bench@example.com")
			must(b, err)
			cl, err := client.New(s.URL, c.APIKey)
			must(b, err)
			f := &fixture{s: s, c: c, email: "bench@example.com", cl: cl}
			tk := f.signIn(b)
			m := newMiddleware(b, f, nil)
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), client.RequireScope())
			req := httptest.NewRequest("GET", "/api", nil)
			req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
			b.Run("middleware", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
			// The floor: go-jose parsing and signature verification alone,
			// with the key in hand.
			b.Run("signature-only", func(b *testing.B) {
				var set jose.JSONWebKeySet
				must(b, s.admin("GET", "/"+c.UserPoolID+"/.well-known/jwks.json", nil, &set))
				b.ReportAllocs()
				for b.Loop() {
					tok, err := jwt.ParseSigned(tk.AccessToken, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
					must(b, err)
					var claims map[string]any
					must(b, tok.Claims(set.Key(tok.Headers[0].KeyID)[0].Key, &claims))
				}
			})
		})
	}
}
