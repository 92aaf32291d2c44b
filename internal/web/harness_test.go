package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
	"github.com/idgate/idgate/internal/web"
)

const adminToken = "test-admin-token-0123456789abcdef0123456789"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a complete idgate over a real SQLite store, served by httptest.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	store    idgate.Store
	clock    *clock
	outbox   *notify.Outbox
	tenants  *tenant.Service
	accounts *account.Service
	tokens   *token.Service
	webhooks *tenant.Webhooks
	ended    *idgate.EndedSessions
	// userAgent, when set, is the browser's User-Agent in hosted logins.
	userAgent string
}

// browse sends a browser request of the hosted login (no redirects
// followed), with the env's User-Agent.
func (e *env) browse(method, target string, form url.Values) *http.Response {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if e.userAgent != "" {
		req.Header.Set("User-Agent", e.userAgent)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// fastHasher keeps tests quick: real argon2id with small parameters.
var fastHasher = secret.NewHasher(secret.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32}, 4)

func newEnv(t *testing.T) *env { return newEnvWith(t, envOpts{}) }

// envOpts tunes newEnvWith.
type envOpts struct {
	// mailer delivers the mail of non-sandbox projects (nil: everything
	// goes to the outbox).
	mailer notify.Mailer
	limits account.HostedLimits
	rate   web.RateLimit
	// routes adds handlers beside idgate's on the test server's mux.
	routes func(mux *http.ServeMux)
}

// newEnvWith builds a complete idgate over a real SQLite store, served by
// an httptest server, with a settable clock.
func newEnvWith(t *testing.T, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "idgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	outbox := notify.NewOutbox(100, logger)
	emails, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	mailer := notify.NewRouter(o.mailer, outbox, func(ctx context.Context, projectID string) bool {
		p, err := st.GetProject(ctx, projectID)
		return err != nil || p.Environment == idgate.EnvSandbox
	})
	e := &env{t: t, store: st, clock: clk, outbox: outbox}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	keys := token.NewKeys(st, sealer, clk.Now)
	e.tokens = token.NewService(token.Config{Store: st, Keys: keys, Sealer: sealer, Now: clk.Now, PublicURL: e.srv.URL})
	e.accounts = account.NewService(st, fastHasher, mailer, emails, clk.Now)
	e.tenants = tenant.NewService(st, keys, e.srv.URL, "test", clk.Now)
	e.webhooks = tenant.NewWebhooks(st, sealer, clk.Now)
	e.ended = &idgate.EndedSessions{}
	e.tokens.OnSessionsEnded = e.ended.Notify
	e.accounts.OnSessionsEnded = e.ended.Notify
	s := web.New(web.Deps{EndedSessions: e.ended, Tokens: e.tokens, Accounts: e.accounts, Tenants: e.tenants, Webhooks: e.webhooks, Store: st,
		AdminTokenDigest: secret.Digest(adminToken), PublicURL: e.srv.URL, Logger: logger, Now: clk.Now, Sealer: sealer,
		HostedLimits: o.limits, LoginRateLimit: o.rate}, nil)
	if o.routes != nil {
		o.routes(mux)
	}
	mux.Handle("/", s.Handler())
	return e
}

// project creates a project through the admin API.
func (e *env) project(appType string, callbacks ...string) tenant.Credentials {
	e.t.Helper()
	if len(callbacks) == 0 {
		callbacks = []string{"https://app.example/callback"}
	}
	var c tenant.Credentials
	// MFA optional: the password-only helpers (login, signIn) sign in
	// users created without an authenticator; hosted_*_test.go cover MFA.
	e.call("POST", "/admin/api/projects", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"name": "Demo App", "environment": "sandbox", "appType": appType, "callbackUrls": callbacks, "mfa": "optional"}, 201, &c)
	return c
}

// user creates a confirmed user in the pool.
func (e *env) user(pool, email string) web.UserView {
	e.t.Helper()
	var u web.UserView
	e.call("POST", "/admin/api/pools/"+pool+"/users", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"email": email, "password": "correct horse battery staple", "confirmed": true}, 201, &u)
	return u
}

// call sends a JSON request and checks the status; out (if non-nil)
// receives the decoded body. It returns the raw body.
func (e *env) call(method, path string, headers map[string]string, body any, want int, out any) []byte {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return raw
}

// session calls a session API endpoint with an API key.
func (e *env) session(key, endpoint string, body any, want int, out any) []byte {
	e.t.Helper()
	return e.call("POST", "/v2/sessionmgt/"+endpoint, map[string]string{"x-api-key": key}, body, want, out)
}

// apiErr is the error body.
type apiErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	RequestID   string `json:"request_id"`
}

func (e *env) sessionErr(key, endpoint string, body any, want int, code string) apiErr {
	e.t.Helper()
	var ae apiErr
	e.session(key, endpoint, body, want, &ae)
	if ae.Error != code || ae.RequestID == "" {
		e.t.Fatalf("%s: error %+v, want code %q with a request id", endpoint, ae, code)
	}
	return ae
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// loginParams are extra code URL parameters.
type loginParams map[string]string

// login runs the hosted login through plain HTTP (as a browser without
// JavaScript would) and returns the callback URL it ends on.
func (e *env) login(clientID, email, password string, params loginParams) *url.URL {
	e.t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return e.loginFrom(e.srv.URL+"/v2/mfa/code/"+clientID+"?"+q.Encode(), email, password)
}

// loginFrom starts at an authorization URL (the code URL or the OIDC
// authorize endpoint), fills in the hosted login form and returns the
// callback URL the browser is sent to.
func (e *env) loginFrom(start, email, password string) *url.URL {
	e.t.Helper()
	resp := e.browse("GET", start, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorization URL: status %d", resp.StatusCode)
	}
	loginURL, _ := url.Parse(e.srv.URL)
	loginURL = loginURL.ResolveReference(mustParse(e.t, resp.Header.Get("Location")))
	page := e.browse("GET", loginURL.String(), nil)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	form := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(string(html), -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	form.Set("email", email)
	form.Set("password", password)
	resp = e.browse("POST", e.srv.URL+loginURL.Path, form)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login POST: status %d, body %s", resp.StatusCode, body)
	}
	return mustParse(e.t, resp.Header.Get("Location"))
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&#43;", "+")
	return r.Replace(s)
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// tokens is a token response.
type tokens struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// signIn logs the user in and exchanges the code: a full session.
func (e *env) signIn(c tenant.Credentials, email string) tokens {
	e.t.Helper()
	cb := e.login(c.ClientID, email, "correct horse battery staple", nil)
	var tk tokens
	e.session(c.APIKey, "gettokenfromcode", map[string]any{"code": cb.Query().Get("code"), "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 200, &tk)
	return tk
}

// claims decodes a JWT's payload without verifying it.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// verify calls verifyaccesstoken.
func (e *env) verify(key, tok string) web.VerifyResponse {
	e.t.Helper()
	var v web.VerifyResponse
	e.session(key, "verifyaccesstoken", map[string]any{"accessToken": tok}, 200, &v)
	return v
}
