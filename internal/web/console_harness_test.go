package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
	"github.com/idgate/idgate/internal/web"
)

// The admin console's test harness: a complete idgate over a real SQLite
// store with the console enabled, a settable clock (TOTP codes, session
// lifetimes), and a cookie-keeping HTTP client that drives the console's
// forms as a browser without JavaScript would.

// consoleEnv is idgate with its admin console, served by httptest.
type consoleEnv struct {
	t        *testing.T
	srv      *httptest.Server
	store    idgate.Store
	clock    *clock
	outbox   *notify.Outbox
	console  *console.Service
	tenants  *tenant.Service
	accounts *account.Service
}

// consoleHasher keeps tests fast: real argon2id with small parameters.
var consoleHasher = secret.NewHasher(secret.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32}, 4)

// consolePassword is the password of every administrator and user the
// console tests create.
const consolePassword = "correct horse battery staple"

func newConsoleEnv(t *testing.T) *consoleEnv {
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
	var logw io.Writer = io.Discard
	if os.Getenv("IDGATE_TEST_LOG") != "" {
		logw = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logw, nil))
	outbox := notify.NewOutbox(100, logger)
	emails, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	mailer := notify.NewRouter(nil, outbox, func(context.Context, string) bool { return true })
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	keys := token.NewKeys(st, sealer, clk.Now)
	tokens := token.NewService(token.Config{Store: st, Keys: keys, Sealer: sealer, Now: clk.Now, PublicURL: srv.URL})
	e := &consoleEnv{t: t, srv: srv, store: st, clock: clk, outbox: outbox,
		console:  console.NewService(st, consoleHasher, sealer, console.Limits{}, clk.Now),
		tenants:  tenant.NewService(st, keys, srv.URL, "test", clk.Now),
		accounts: account.NewService(st, consoleHasher, mailer, emails, clk.Now),
	}
	s := web.New(web.Deps{Tokens: tokens, Accounts: e.accounts, Tenants: e.tenants, Webhooks: tenant.NewWebhooks(st, sealer, clk.Now),
		Store: st, AdminTokenDigest: secret.Digest("unused-admin-token-0123456789abcdef"), PublicURL: srv.URL, Logger: logger,
		Now: clk.Now, Sealer: sealer, Console: e.console, Outbox: outbox}, nil)
	mux.Handle("/", s.Handler())
	return e
}

// setupToken issues the one-time setup token serve prints.
func (e *consoleEnv) setupToken() string {
	e.t.Helper()
	tok, err := e.console.IssueSetupToken(e.t.Context())
	if err != nil || tok == "" {
		e.t.Fatalf("IssueSetupToken = %q, %v", tok, err)
	}
	return tok
}

// code returns the current TOTP code of a secret and moves the clock to
// the next time step, so the next call gives a code not used before.
func (e *consoleEnv) code(secretB32 string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secretB32, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	return c
}

// project creates a sandbox project with MFA off (password-only hosted
// login) through the tenant service.
func (e *consoleEnv) project(name string) tenant.Credentials {
	e.t.Helper()
	c, err := e.tenants.CreateProject(e.t.Context(), tenant.NewProject{Name: name, Environment: "sandbox", AppType: "web",
		MFA: idgate.MFAOff, CallbackURLs: []string{"https://app.example/callback"}}, idgate.Actor{Type: idgate.ActorSystem})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// user creates a confirmed user, as `idgate user create` does.
func (e *consoleEnv) user(pool, email string) idgate.User {
	e.t.Helper()
	u, err := e.accounts.CreateUser(e.t.Context(), account.NewUser{PoolID: pool, Email: email, Password: consolePassword, Confirmed: true},
		idgate.Actor{Type: idgate.ActorSystem})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// consoleClient is a browser without JavaScript: it keeps cookies and
// does not follow redirects.
type consoleClient struct {
	e      *consoleEnv
	c      *http.Client
	secret string // the administrator's TOTP secret
	header http.Header
}

func (e *consoleEnv) client() *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}, header: http.Header{}}
}

// page is a response with its body read.
type consolePage struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (c *consoleClient) do(method, path string, form url.Values) consolePage {
	c.e.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = c.e.srv.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return consolePage{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"), header: resp.Header}
}

func (c *consoleClient) get(path string) consolePage { return c.do(http.MethodGet, path, nil) }
func (c *consoleClient) post(path string, form url.Values) consolePage {
	return c.do(http.MethodPost, path, form)
}

// want fails the test unless the page has the status.
func (p consolePage) want(t *testing.T, status int, what string) consolePage {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d; location %q; body:\n%s", what, p.status, status, p.location, p.body)
	}
	return p
}

// contains fails the test unless the page's HTML contains every text.
func (p consolePage) contains(t *testing.T, what string, texts ...string) consolePage {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s: the page lacks %q; body:\n%s", what, s, p.body)
		}
	}
	return p
}

var (
	consoleHiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	consoleSecretRe = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	consoleIDRe     = regexp.MustCompile(`<span class="v" id="([A-Za-z-]+)">([^<]*)</span>`)
)

// hidden returns the page's hidden form fields (the first of each name).
func (p consolePage) hidden() url.Values {
	v := url.Values{}
	for _, m := range consoleHiddenRe.FindAllStringSubmatch(p.body, -1) {
		if v.Get(m[1]) == "" {
			v.Set(m[1], consoleUnescape(m[2]))
		}
	}
	return v
}

// values returns the values a credentials or shown-once page lists by id.
func (p consolePage) values() map[string]string {
	out := map[string]string{}
	for _, m := range consoleIDRe.FindAllStringSubmatch(p.body, -1) {
		out[m[1]] = consoleUnescape(m[2])
	}
	return out
}

func consoleUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&#43;", "+").Replace(s)
}

// csrf is the signed-in client's CSRF token, read from a console page.
func (c *consoleClient) csrf() string {
	c.e.t.Helper()
	tok := c.get("/admin/projects").want(c.e.t, http.StatusOK, "projects page").hidden().Get("csrf")
	if tok == "" {
		c.e.t.Fatal("no CSRF token on the projects page")
	}
	return tok
}

// setup completes the first-run setup with a fresh setup token and signs
// the client in as that administrator.
func (c *consoleClient) setup(email string) {
	t := c.e.t
	t.Helper()
	page := c.get("/admin/setup?token="+url.QueryEscape(c.e.setupToken())).want(t, http.StatusOK, "setup page")
	m := consoleSecretRe.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no TOTP secret on the setup page:\n%s", page.body)
	}
	c.secret = m[1]
	form := page.hidden()
	form.Set("email", email)
	form.Set("password", consolePassword)
	form.Set("code", c.e.code(c.secret))
	r := c.post("/admin/setup", form).want(t, http.StatusSeeOther, "setup")
	if r.location != "/admin" {
		t.Fatalf("setup went to %q, want /admin", r.location)
	}
}

// signIn signs an administrator in with a password and a TOTP code.
func (c *consoleClient) signIn(email string) consolePage {
	t := c.e.t
	t.Helper()
	form := c.get("/admin/signin").want(t, http.StatusOK, "sign-in page").hidden()
	form.Set("email", email)
	form.Set("password", consolePassword)
	mfa := c.post("/admin/signin", form).want(t, http.StatusOK, "sign-in password step")
	form = mfa.hidden()
	form.Set("code", c.e.code(c.secret))
	return c.post("/admin/signin/mfa", form).want(t, http.StatusSeeOther, "sign-in code step")
}

// hostedLogin runs the hosted login of an MFA-off pool over plain HTTP,
// from the code URL to the callback, and returns the authorization code.
func (e *consoleEnv) hostedLogin(codeURL, email string) string {
	e.t.Helper()
	b := e.client()
	r := b.get(codeURL)
	for i := 0; r.status == http.StatusFound || r.status == http.StatusSeeOther; i++ {
		if i > 5 {
			e.t.Fatal("too many redirects before the login page")
		}
		r = b.get(r.location)
	}
	r.want(e.t, http.StatusOK, "hosted login page")
	form := r.hidden()
	form.Set("email", email)
	form.Set("password", consolePassword)
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(r.body)
	if action == nil {
		e.t.Fatalf("no form on the hosted login page:\n%s", r.body)
	}
	r = b.post(consoleUnescape(action[1]), form)
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		e.t.Fatalf("hosted login: status %d; body:\n%s", r.status, r.body)
	}
	cb, err := url.Parse(r.location)
	if err != nil || cb.Host != "app.example" || cb.Query().Get("code") == "" {
		e.t.Fatalf("hosted login ended at %q, want the callback with a code", r.location)
	}
	return cb.Query().Get("code")
}

// sessionAPI calls a session API endpoint and decodes the JSON answer.
func (e *consoleEnv) sessionAPI(key, endpoint string, body map[string]any) map[string]any {
	e.t.Helper()
	out, status := consoleJSON(e.t, e.srv.URL+"/v2/sessionmgt/"+endpoint, key, body)
	if status != http.StatusOK {
		e.t.Fatalf("%s: status %d: %v", endpoint, status, out)
	}
	return out
}

// consoleJSON posts a JSON body with an x-api-key and decodes the answer.
func consoleJSON(t *testing.T, target, key string, body map[string]any) (map[string]any, int) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return out, resp.StatusCode
}

// consoleRoute is one console route of routes.go.
type consoleRoute struct{ method, pattern string }

var consoleRouteRe = regexp.MustCompile(`mux\.Handle(?:Func)?\(\s*"(GET|POST) (/admin(?:/[^"]*)?)"`)

// consoleRoutes reads the console's routes from the route table
// (routes.go), so a route added later is checked without editing the tests.
// The JSON admin API (/admin/api/) is not part of the console.
func consoleRoutes(t *testing.T) []consoleRoute {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []consoleRoute
	for _, m := range consoleRouteRe.FindAllStringSubmatch(string(src), -1) {
		if !strings.HasPrefix(m[2], "/admin/api/") {
			out = append(out, consoleRoute{m[1], m[2]})
		}
	}
	if len(out) < 30 {
		t.Fatalf("found only %d console routes in routes.go", len(out))
	}
	return out
}

var consoleWildcardRe = regexp.MustCompile(`\{[A-Za-z]+\}`)

// path fills the route's wildcards with values of vals, or "x".
func (r consoleRoute) path(vals map[string]string) string {
	return consoleWildcardRe.ReplaceAllStringFunc(r.pattern, func(w string) string {
		if v, ok := vals[strings.Trim(w, "{}")]; ok {
			return v
		}
		return "x"
	})
}

// public reports whether the route is served before sign-in.
func (r consoleRoute) public() bool {
	for _, p := range []string{"/admin/setup", "/admin/join", "/admin/signin", "/admin/static/"} {
		if r.pattern == p || strings.HasPrefix(r.pattern, p+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(r.pattern, p)) {
			return true
		}
	}
	return false
}
