package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgate/idgate/client"
	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
	"github.com/idgate/idgate/internal/web"
)

// The harness builds a complete idgate over a real SQLite store, served by
// httptest, the way internal/web's harness does, behind a small control
// layer that counts requests per path and can cut or refuse the revocation
// feed and the verify endpoint (to test reconnection and fallbacks).

const adminToken = "test-admin-token-0123456789abcdef0123456789"

const password = "correct horse battery staple"

// fastHasher keeps tests quick: real argon2id with small parameters.
var fastHasher = secret.NewHasher(secret.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32}, 4)

// server is a running idgate with test controls.
type server struct {
	URL    string
	srv    *httptest.Server
	closed bool

	mu          sync.Mutex
	counts      map[string]int
	feedIDs     []string // Last-Event-ID of each feed request ("" when absent)
	feedCtx     context.Context
	cutFeed     context.CancelFunc
	feedBlocked atomic.Bool
	verifyDown  atomic.Bool
}

// startServer starts idgate; stop closes it. It reports errors instead of
// failing a test so that Example functions can use it too.
func startServer(dir string) (*server, func(), error) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "idgate.db"))
	if err != nil {
		return nil, nil, err
	}
	sealer, err := secret.NewSealer(secret.NewMasterKey())
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	outbox := notify.NewOutbox(100, logger)
	emails, err := notify.LoadTemplates()
	if err != nil {
		return nil, nil, err
	}
	mailer := notify.NewRouter(nil, outbox, func(context.Context, string) bool { return true })
	s := &server{counts: map[string]int{}}
	s.feedCtx, s.cutFeed = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	s.srv = httptest.NewServer(s.control(mux))
	s.URL = s.srv.URL
	keys := token.NewKeys(st, sealer, time.Now)
	tokens := token.NewService(token.Config{Store: st, Keys: keys, Sealer: sealer, Now: time.Now, PublicURL: s.URL})
	accounts := account.NewService(st, fastHasher, mailer, emails, time.Now)
	tenants := tenant.NewService(st, keys, s.URL, "test", time.Now)
	w := web.New(web.Deps{Tokens: tokens, Accounts: accounts, Tenants: tenants, Store: st,
		AdminTokenDigest: secret.Digest(adminToken), PublicURL: s.URL, Logger: logger, Now: time.Now}, nil)
	mux.Handle("/", w.Handler())
	stop := func() {
		s.cutFeed()
		s.srv.CloseClientConnections()
		s.srv.Close()
		st.Close()
	}
	return s, stop, nil
}

// newServer starts idgate for a test.
func newServer(t testing.TB) *server {
	t.Helper()
	s, stop, err := startServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// control wraps idgate with the test controls.
func (s *server) control(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts[r.URL.Path]++
		feedCtx := s.feedCtx
		s.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/revocations"):
			s.mu.Lock()
			s.feedIDs = append(s.feedIDs, r.Header.Get("Last-Event-ID"))
			s.mu.Unlock()
			if s.feedBlocked.Load() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `{"error":"unavailable","error_description":"feed blocked by the test","request_id":"test"}`)
				return
			}
			// The stream ends when the test cuts the feed.
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			stop := context.AfterFunc(feedCtx, cancel)
			defer stop()
			r = r.WithContext(ctx)
		case strings.HasPrefix(r.URL.Path, "/v2/sessionmgt/verify") && s.verifyDown.Load():
			// Unreachable: drop the connection without an answer.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// count returns how many requests reached path.
func (s *server) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// cutFeeds ends every open feed stream (new ones connect normally).
func (s *server) cutFeeds() {
	s.mu.Lock()
	s.cutFeed()
	s.feedCtx, s.cutFeed = context.WithCancel(context.Background())
	s.mu.Unlock()
}

// feedLastEventIDs returns the Last-Event-ID of every feed request so far.
func (s *server) feedLastEventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.feedIDs...)
}

// creds are what project creation returns.
type creds struct {
	ProjectID    string `json:"projectId"`
	UserPoolID   string `json:"userPoolId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	APIKey       string `json:"apiKey"`
	CodeURL      string `json:"codeURL"`
	Issuer       string `json:"issuer"`
}

// admin calls the admin API and decodes the answer into out.
func (s *server) admin(method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// project creates a project; MFA is off so the hosted login is
// password-only. alg may be empty (the default, RS256).
func (s *server) project(appType, alg string) (creds, error) {
	var c creds
	body := map[string]any{"name": "SDK Test", "environment": "sandbox", "appType": appType,
		"callbackUrls": []string{"https://app.example/callback"}, "mfa": "off"}
	if alg != "" {
		body["signingAlg"] = alg
	}
	err := s.admin("POST", "/admin/api/projects", body, &c)
	return c, err
}

// user creates a confirmed user and returns its sub.
func (s *server) user(pool, email string) (string, error) {
	var u struct {
		Sub string `json:"sub"`
	}
	err := s.admin("POST", "/admin/api/pools/"+pool+"/users", map[string]any{"email": email, "password": password, "confirmed": true}, &u)
	return u.Sub, err
}

// apiKey creates an API key of the project with the permissions.
func (s *server) apiKey(projectID string, perms ...string) (string, error) {
	var k struct {
		APIKey string `json:"apiKey"`
	}
	err := s.admin("POST", "/admin/api/projects/"+projectID+"/apikeys", map[string]any{"permissions": perms}, &k)
	return k.APIKey, err
}

var (
	hiddenInput = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`)
	attrName    = regexp.MustCompile(`name="([^"]*)"`)
	attrValue   = regexp.MustCompile(`value="([^"]*)"`)
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
)

// code signs the user in through the hosted login over plain HTTP (as a
// browser without JavaScript) and returns the authorization code sent to
// the callback. params are extra code URL parameters (PKCE, state).
func (s *server) code(clientID, email string, params url.Values) (string, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := s.URL + "/v2/mfa/code/" + clientID
	if len(params) > 0 {
		start += "?" + params.Encode()
	}
	resp, err := hc.Get(start)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("code URL: status %d", resp.StatusCode)
	}
	base, _ := url.Parse(s.URL)
	loginURL, err := resp.Location()
	if err != nil {
		return "", err
	}
	page, err := hc.Get(loginURL.String())
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	form := url.Values{}
	for _, in := range hiddenInput.FindAllString(string(body), -1) {
		n, v := attrName.FindStringSubmatch(in), attrValue.FindStringSubmatch(in)
		if n != nil && v != nil {
			form.Set(html.UnescapeString(n[1]), html.UnescapeString(v[1]))
		}
	}
	form.Set("email", email)
	form.Set("password", password)
	action := loginURL
	if m := formAction.FindStringSubmatch(string(body)); m != nil && m[1] != "" {
		a, err := url.Parse(html.UnescapeString(m[1]))
		if err == nil {
			action = loginURL.ResolveReference(a)
		}
	}
	action = base.ResolveReference(action)
	req, _ := http.NewRequest("POST", action.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	resp, err = hc.Do(req)
	if err != nil {
		return "", err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("login POST: status %d: %.300s", resp.StatusCode, out)
	}
	cb, err := resp.Location()
	if err != nil {
		return "", err
	}
	code := cb.Query().Get("code")
	if code == "" {
		return "", fmt.Errorf("callback %s has no code", cb)
	}
	return code, nil
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture is a project with a user, an SDK client and a token source.
type fixture struct {
	s     *server
	c     creds
	sub   string
	email string
	cl    *client.Client
}

// newFixture creates a project of appType with one user.
func newFixture(t testing.TB, s *server, appType string) *fixture {
	t.Helper()
	c, err := s.project(appType, "")
	must(t, err)
	email := "ada@example.com"
	sub, err := s.user(c.UserPoolID, email)
	must(t, err)
	cl, err := client.New(s.URL, c.APIKey)
	must(t, err)
	return &fixture{s: s, c: c, sub: sub, email: email, cl: cl}
}

// signIn runs a fresh hosted login for the fixture's user and exchanges
// the code: a new session.
func (f *fixture) signIn(t testing.TB) *client.TokenResponse {
	t.Helper()
	code, err := f.s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	tr, err := f.cl.GetTokenFromCode(context.Background(), client.CodeExchange{Code: code, ClientID: f.c.ClientID, ClientSecret: f.c.ClientSecret})
	must(t, err)
	return tr
}

// clock is a settable clock for the SDK.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// memStore is an in-memory TokenStore for tests that are not about
// storage.
type memStore struct {
	mu sync.Mutex
	m  map[string]client.Tokens
}

func newMemStore() *memStore { return &memStore{m: map[string]client.Tokens{}} }

func (s *memStore) Load(_ context.Context, id string) (client.Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[id]
	if !ok {
		return client.Tokens{}, client.ErrNoTokens
	}
	return t, nil
}

func (s *memStore) Save(_ context.Context, id string, t client.Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = t
	return nil
}

func (s *memStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// eventually polls cond every 10 ms until it holds or timeout passes, and
// returns how long it took.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}
