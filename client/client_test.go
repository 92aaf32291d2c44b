package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgate/idgate/client"
)

const refreshPath = "/v2/sessionmgt/refreshaccesstoken"

// TestFullFlow drives every session API endpoint through the SDK against
// a real server: sign-in, code exchange into the token store, verify,
// userinfo, attribute update carried by a refreshed token, token validity,
// the middleware's RBAC checks, and a two-phase deletion after which the
// user must log in again.
func TestFullFlow(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	ts, err := client.NewTokenSource(client.TokenSourceConfig{Client: f.cl, Store: newMemStore(), ClientID: f.c.ClientID, ClientSecret: f.c.ClientSecret})
	must(t, err)

	code, err := s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	tk, err := ts.Exchange(ctx, "user-1", client.CodeExchange{Code: code})
	must(t, err)
	if tk.AccessToken == "" || tk.IDToken == "" || tk.RefreshToken == "" || time.Until(tk.Expiry) < time.Hour {
		t.Fatalf("stored tokens = %+v", tk)
	}
	// A code works once (a second use also ends the session the first
	// started, so try it on another sign-in).
	code2, err := s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	ex := client.CodeExchange{Code: code2, ClientID: f.c.ClientID, ClientSecret: f.c.ClientSecret}
	_, err = f.cl.GetTokenFromCode(ctx, ex)
	must(t, err)
	_, err = f.cl.GetTokenFromCode(ctx, ex)
	var apiErr *client.Error
	if !errors.Is(err, client.ErrInvalidGrant) || !errors.As(err, &apiErr) || apiErr.RequestID == "" || apiErr.StatusCode != 400 {
		t.Fatalf("second code use: %v", err)
	}

	at, err := ts.AccessToken(ctx, "user-1")
	must(t, err)
	if at != tk.AccessToken {
		t.Fatal("a fresh access token was refreshed")
	}
	v, err := f.cl.VerifyAccessToken(ctx, at)
	must(t, err)
	if !v.Active || !v.SignatureVerified || v.Sub != f.sub || v.ClientID != f.c.ClientID || v.TokenUse != "access" {
		t.Fatalf("verify = %+v", v)
	}
	info, err := f.cl.UserInfo(ctx, at)
	must(t, err)
	if info.Sub != f.sub || info.Email != f.email || info.Raw["email"] != f.email {
		t.Fatalf("userinfo = %+v", info)
	}

	m := newMiddleware(t, f, nil)
	api := http.NewServeMux()
	api.Handle("GET /orders", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := client.ClaimsFrom(r.Context())
		if !ok || c.Subject != f.sub || c.SessionID == "" {
			t.Errorf("claims in the handler: %+v", c)
		}
		w.WriteHeader(204)
	})))
	api.Handle("POST /orders", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }),
		client.RequireRole("App01AdministrationRole"), client.RequireAction("App01:Update")))
	call := func(method, tok string) int {
		req := httptest.NewRequest(method, "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := call("GET", at); got != 204 {
		t.Fatalf("GET with a valid token: %d", got)
	}
	if got := call("POST", at); got != 403 {
		t.Fatalf("POST without the role: %d, want 403", got)
	}

	// Attributes: the refreshed token carries the new RBAC values.
	attrs, err := f.cl.UpdateUserAttributes(ctx, client.AttributeUpdate{UserPoolID: f.c.UserPoolID, Email: f.email,
		Attributes: map[string]any{"roles": "App01AdministrationRole", "action": []string{"App01:Update", "App01:Read"}, "given_name": "Ada"}})
	must(t, err)
	if attrs["given_name"] != "Ada" {
		t.Fatalf("attributes = %v", attrs)
	}
	_, err = f.cl.UpdateUserAttributes(ctx, client.AttributeUpdate{UserPoolID: f.c.UserPoolID, Email: f.email,
		Attributes: map[string]any{"no_such_attribute": "x"}})
	if !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("unknown attribute: %v", err)
	}
	tk2, err := ts.Refresh(ctx, "user-1")
	must(t, err)
	if tk2.RefreshToken != tk.RefreshToken {
		t.Fatal("a confidential app's refresh token changed")
	}
	if got := call("POST", tk2.AccessToken); got != 204 {
		t.Fatalf("POST with the role and action: %d", got)
	}

	// Token validity applies to tokens issued afterwards.
	tv, err := f.cl.UpdateTokenValidity(ctx, client.TokenValidity{ClientID: f.c.ClientID, AccessTokenValidity: client.Int64(10),
		Units: client.ValidityUnits{AccessToken: "minutes"}})
	must(t, err)
	if *tv.AccessTokenValidity != 10 || tv.Units.AccessToken != "minutes" {
		t.Fatalf("validity = %+v", tv)
	}
	tk3, err := ts.Refresh(ctx, "user-1")
	must(t, err)
	if d := time.Until(tk3.Expiry); d > 10*time.Minute || d < 9*time.Minute {
		t.Fatalf("access token expires in %s after setting 10 minutes", d)
	}

	// Permissions and bad keys are typed.
	badKey, err := client.New(s.URL, "igk_wrong")
	must(t, err)
	if _, err := badKey.VerifyAccessToken(ctx, at); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("wrong API key: %v", err)
	}
	if _, err := f.cl.DeleteUser(ctx, client.DeleteUserRequest{UserPoolID: f.c.UserPoolID, Email: f.email, Reason: "test"}); !errors.Is(err, client.ErrInsufficientPermissions) {
		t.Fatalf("delete with the project key: %v", err)
	}

	// Two-phase deletion with a key made for it; the user must log in again.
	delKey, err := s.apiKey(f.c.ProjectID, "users:delete")
	must(t, err)
	del, err := client.New(s.URL, delKey)
	must(t, err)
	first, err := del.DeleteUser(ctx, client.DeleteUserRequest{UserPoolID: f.c.UserPoolID, Email: f.email, Reason: "user asked"})
	must(t, err)
	if first.ConfirmationToken == "" || first.Summary == nil || first.Summary.Sub != f.sub || first.Summary.ActiveSessions != 1 {
		t.Fatalf("deletion phase one = %+v", first)
	}
	done, err := del.DeleteUser(ctx, client.DeleteUserRequest{ConfirmationToken: first.ConfirmationToken})
	must(t, err)
	if !done.Deleted || done.DeletedSub != f.sub || done.RevokedSessions != 1 {
		t.Fatalf("deletion phase two = %+v", done)
	}
	if _, err := f.cl.UserInfo(ctx, tk3.AccessToken); !errors.Is(err, client.ErrInvalidToken) {
		t.Fatalf("userinfo of a deleted user: %v", err)
	}
	if _, err := ts.Refresh(ctx, "user-1"); !errors.Is(err, client.ErrLoginRequired) || !errors.Is(err, client.ErrInvalidGrant) {
		t.Fatalf("refresh after deletion: %v", err)
	}
}

// TestTokenSourceRefreshesAheadOfExpiry uses an injected clock: the token
// is handed out as is until it comes within the skew of its expiry.
func TestTokenSourceRefreshesAheadOfExpiry(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	clk := newClock()
	ts, err := client.NewTokenSource(client.TokenSourceConfig{Client: f.cl, Store: newMemStore(), ClientID: f.c.ClientID,
		ClientSecret: f.c.ClientSecret, Skew: 2 * time.Minute, Now: clk.Now})
	must(t, err)
	code, err := s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	tk, err := ts.Exchange(ctx, "u", client.CodeExchange{Code: code})
	must(t, err)
	if want := clk.Now().Add(24 * time.Hour); !tk.Expiry.Equal(want) {
		t.Fatalf("expiry %s, want %s (now + expires_in on the injected clock)", tk.Expiry, want)
	}

	clk.Advance(24*time.Hour - 2*time.Minute - time.Second) // just outside the skew
	at, err := ts.AccessToken(ctx, "u")
	must(t, err)
	if at != tk.AccessToken || s.count(refreshPath) != 0 {
		t.Fatalf("refreshed %d times before the skew", s.count(refreshPath))
	}
	clk.Advance(2 * time.Second) // inside the skew
	at, err = ts.AccessToken(ctx, "u")
	must(t, err)
	if at == tk.AccessToken || s.count(refreshPath) != 1 {
		t.Fatalf("token not refreshed inside the skew (refreshes: %d)", s.count(refreshPath))
	}
	again, err := ts.AccessToken(ctx, "u")
	must(t, err)
	if again != at || s.count(refreshPath) != 1 {
		t.Fatal("the refreshed token was not stored")
	}
}

// TestTokenSourceSingleFlight: 100 concurrent callers of an expiring
// token cause exactly one refresh request, and all get its result.
func TestTokenSourceSingleFlight(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	clk := newClock()
	ts, err := client.NewTokenSource(client.TokenSourceConfig{Client: f.cl, Store: newMemStore(), ClientID: f.c.ClientID,
		ClientSecret: f.c.ClientSecret, Now: clk.Now})
	must(t, err)
	code, err := s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	old, err := ts.Exchange(ctx, "u", client.CodeExchange{Code: code})
	must(t, err)
	clk.Advance(24 * time.Hour)

	var wg sync.WaitGroup
	got := make([]string, 100)
	var failures atomic.Int32
	start := make(chan struct{})
	for i := range got {
		wg.Go(func() {
			<-start
			at, err := ts.AccessToken(ctx, "u")
			if err != nil {
				failures.Add(1)
				t.Error(err)
			}
			got[i] = at
		})
	}
	close(start)
	wg.Wait()
	if n := s.count(refreshPath); n != 1 {
		t.Fatalf("%d refresh requests for 100 concurrent callers, want 1", n)
	}
	for i, at := range got {
		if at == old.AccessToken || at != got[0] {
			t.Fatalf("caller %d got a different token", i)
		}
	}
}

// TestTokenSourceRotatesPublicRefreshTokens: a public (PKCE) app's refresh
// token changes on every refresh and the source keeps the latest.
func TestTokenSourceRotatesPublicRefreshTokens(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "spa")
	store := newMemStore()
	ts, err := client.NewTokenSource(client.TokenSourceConfig{Client: f.cl, Store: store, ClientID: f.c.ClientID})
	must(t, err)
	verifier := "a-very-long-code-verifier-of-at-least-43-characters-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	code, err := s.code(f.c.ClientID, f.email, url.Values{"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}})
	must(t, err)
	first, err := ts.Exchange(ctx, "u", client.CodeExchange{Code: code, CodeVerifier: verifier})
	must(t, err)
	second, err := ts.Refresh(ctx, "u")
	must(t, err)
	third, err := ts.Refresh(ctx, "u")
	must(t, err)
	if second.RefreshToken == first.RefreshToken || third.RefreshToken == second.RefreshToken {
		t.Fatal("a public app's refresh token was not rotated")
	}
	stored, err := store.Load(ctx, "u")
	must(t, err)
	if stored.RefreshToken != third.RefreshToken {
		t.Fatal("the rotated refresh token was not stored")
	}
}

// TestTokenSourceLoginRequiredAfterGlobalSignOut: once the user signed out
// everywhere (here from another device), the next refresh fails with
// ErrLoginRequired and the stored tokens are gone.
func TestTokenSourceLoginRequiredAfterGlobalSignOut(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	clk := newClock()
	store := newMemStore()
	ts, err := client.NewTokenSource(client.TokenSourceConfig{Client: f.cl, Store: store, ClientID: f.c.ClientID,
		ClientSecret: f.c.ClientSecret, Now: clk.Now})
	must(t, err)
	code, err := s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	_, err = ts.Exchange(ctx, "u", client.CodeExchange{Code: code})
	must(t, err)

	other := f.signIn(t) // the same user on another device
	n, err := f.cl.RevokeAccessToken(ctx, other.AccessToken, client.RevokeGlobal)
	must(t, err)
	if n != 2 {
		t.Fatalf("global sign-out ended %d sessions, want 2", n)
	}
	clk.Advance(24 * time.Hour)
	_, err = ts.AccessToken(ctx, "u")
	if !errors.Is(err, client.ErrLoginRequired) {
		t.Fatalf("after global sign-out: %v, want ErrLoginRequired", err)
	}
	if _, err := store.Load(ctx, "u"); !errors.Is(err, client.ErrNoTokens) {
		t.Fatalf("stored tokens after ErrLoginRequired: %v", err)
	}
	if _, err := ts.AccessToken(ctx, "u"); !errors.Is(err, client.ErrLoginRequired) {
		t.Fatalf("without tokens: %v", err)
	}

	// SignOut revokes on the server and forgets the tokens.
	code, err = s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	tk, err := ts.Exchange(ctx, "u", client.CodeExchange{Code: code})
	must(t, err)
	must(t, ts.SignOut(ctx, "u", client.RevokeSession))
	if v, err := f.cl.VerifyAccessToken(ctx, tk.AccessToken); err != nil || v.Active {
		t.Fatalf("after SignOut the token verifies: %+v, %v", v, err)
	}
	if _, err := store.Load(ctx, "u"); !errors.Is(err, client.ErrNoTokens) {
		t.Fatal("SignOut kept the tokens")
	}
}

// TestRetries runs the client against a fake server: idempotent calls are
// retried on 503 and 429 (honouring Retry-After), calls that change state
// are not, and a Retry-After beyond the cap is returned at once.
func TestRetries(t *testing.T) {
	var calls atomic.Int32
	var script []func(w http.ResponseWriter)
	var mu sync.Mutex
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		step := script[0]
		if len(script) > 1 {
			script = script[1:]
		}
		mu.Unlock()
		step(w)
	}))
	defer fake.Close()
	fail := func(status int, retryAfter string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(status)
			w.Write([]byte(`{"error":"` + map[int]string{429: "rate_limited", 503: "unavailable"}[status] + `","error_description":"x","request_id":"r1"}`))
		}
	}
	ok := func(w http.ResponseWriter) { w.Write([]byte(`{"active":true,"signatureVerified":true}`)) }
	setScript := func(steps ...func(w http.ResponseWriter)) {
		mu.Lock()
		script = steps
		mu.Unlock()
		calls.Store(0)
	}
	c, err := client.New(fake.URL, "k", client.WithBackoff(time.Millisecond, 5*time.Millisecond), client.WithMaxRetryAfter(2*time.Second))
	must(t, err)
	ctx := context.Background()

	setScript(fail(503, ""), fail(429, "1"), ok)
	start := time.Now()
	v, err := c.VerifyAccessToken(ctx, "t")
	if err != nil || !v.Active || calls.Load() != 3 || time.Since(start) < time.Second {
		t.Fatalf("verify after 503, 429: %v %+v, %d calls in %s", err, v, calls.Load(), time.Since(start))
	}

	setScript(fail(503, ""))
	_, err = c.RefreshAccessToken(ctx, client.RefreshRequest{RefreshToken: "r", ClientID: "c"})
	var e *client.Error
	if !errors.Is(err, client.ErrUnavailable) || !errors.As(err, &e) || e.RequestID != "r1" || calls.Load() != 1 {
		t.Fatalf("refresh on 503: %v after %d calls, want one call", err, calls.Load())
	}

	setScript(fail(429, "120"))
	_, err = c.UserInfo(ctx, "t")
	if !errors.Is(err, client.ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != 2*time.Minute || calls.Load() != 1 {
		t.Fatalf("429 with a long Retry-After: %v after %d calls", err, calls.Load())
	}

	setScript(fail(503, ""))
	_, err = c.VerifyAccessToken(ctx, "t")
	if !errors.Is(err, client.ErrUnavailable) || calls.Load() != 4 {
		t.Fatalf("verify against a down server: %v after %d calls, want 4 (1 + 3 retries)", err, calls.Load())
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.VerifyAccessToken(cctx, "t"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}
