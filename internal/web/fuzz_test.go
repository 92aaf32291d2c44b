package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
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

// The fuzz targets drive the real handler (web.Server over a real SQLite
// store) with httptest recorders. They build their own environment
// because a fuzz target's setup runs on *testing.F, not *testing.T.

const fuzzAdminToken = "fuzz-admin-token-0123456789abcdef0123456789"

const fuzzPublicURL = "http://idgate.test"

var fuzzCallbacks = []string{"https://app.example/callback", "https://app.example/second?x=1"}

type fuzzEnv struct {
	h        http.Handler
	store    idgate.Store
	tokens   *token.Service
	accounts *account.Service
	tenants  *tenant.Service
	web, spa tenant.Credentials
	allKey   string // every permission
	delKey   string // users:delete only
	email    string
	sub      string
	access   token.Response
	// secrets must never appear in any response body.
	secrets []string
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "idgate.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(secret.NewMasterKey())
	if err != nil {
		tb.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC() }
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	emails, err := notify.LoadTemplates()
	if err != nil {
		tb.Fatal(err)
	}
	mailer := notify.NewRouter(nil, notify.NewOutbox(100, logger), func(context.Context, string) bool { return true })
	keys := token.NewKeys(st, sealer, now)
	e := &fuzzEnv{store: st,
		tokens:   token.NewService(token.Config{Store: st, Keys: keys, Sealer: sealer, Now: now, PublicURL: fuzzPublicURL}),
		accounts: account.NewService(st, secret.NewHasher(secret.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32}, 4), mailer, emails, now),
		tenants:  tenant.NewService(st, keys, fuzzPublicURL, "test", now),
	}
	// Wired as cmd/idgate and the test harness wire it.
	ended := &idgate.EndedSessions{}
	e.tokens.OnSessionsEnded = ended.Notify
	e.accounts.OnSessionsEnded = ended.Notify
	s := web.New(web.Deps{EndedSessions: ended, Tokens: e.tokens, Accounts: e.accounts, Tenants: e.tenants, Webhooks: tenant.NewWebhooks(st, sealer, now), Store: st,
		AdminTokenDigest: secret.Digest(fuzzAdminToken), PublicURL: fuzzPublicURL, Logger: logger, Now: now, Sealer: sealer}, nil)
	e.h = s.Handler()

	admin := idgate.Actor{Type: idgate.ActorAdmin, ID: "fuzz"}
	for _, p := range []struct {
		typ string
		dst *tenant.Credentials
	}{{"web", &e.web}, {"spa", &e.spa}} {
		*p.dst, err = e.tenants.CreateProject(ctx, tenant.NewProject{Name: "Fuzz " + p.typ, Environment: "sandbox", AppType: p.typ,
			CallbackURLs: fuzzCallbacks, MFA: idgate.MFAOff}, admin)
		if err != nil {
			tb.Fatal(err)
		}
	}
	all, err := e.tenants.CreateAPIKey(ctx, e.web.ProjectID, idgate.AllPermissions, admin)
	if err != nil {
		tb.Fatal(err)
	}
	del, err := e.tenants.CreateAPIKey(ctx, e.web.ProjectID, []string{idgate.PermUsersDelete}, admin)
	if err != nil {
		tb.Fatal(err)
	}
	e.allKey, e.delKey = all.APIKey, del.APIKey
	u, err := e.accounts.CreateUser(ctx, account.NewUser{PoolID: e.web.UserPoolID, Email: "ada@example.com", Password: "correct horse battery staple", Confirmed: true}, admin)
	if err != nil {
		tb.Fatal(err)
	}
	e.email, e.sub = u.Email, u.Sub
	app, err := st.GetApp(ctx, e.web.ClientID)
	if err != nil {
		tb.Fatal(err)
	}
	code, err := e.tokens.IssueCode(ctx, token.CodeRequest{App: app, User: u, RedirectURI: app.CallbackURLs[0], Scope: "openid email", AuthTime: now(), AMR: []string{"pwd"}})
	if err != nil {
		tb.Fatal(err)
	}
	e.access, err = e.tokens.ExchangeCode(ctx, token.ExchangeRequest{PoolID: e.web.UserPoolID, Code: code, ClientID: e.web.ClientID, ClientSecret: e.web.ClientSecret, RedirectURI: app.CallbackURLs[0]})
	if err != nil {
		tb.Fatal(err)
	}
	e.secrets = []string{e.web.APIKey, e.spa.APIKey, e.allKey, e.delKey, e.web.ClientSecret, fuzzAdminToken, e.access.RefreshToken, e.access.AccessToken}
	return e
}

// requestDeadline bounds one request: far above any legitimate latency, it
// only turns a hang (a deadlock on the single SQLite writer, say) into a
// failure with every goroutine's stack instead of a silent stall.
const requestDeadline = 30 * time.Second

// do sends one request to the handler.
func (e *fuzzEnv) do(t *testing.T, method, path string, header http.Header, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.h.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-time.After(requestDeadline):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("%s %s did not finish in %s (body %q); goroutines:\n%s", method, path, requestDeadline, body, buf[:n])
	}
	return rec
}

// checkAPIResponse asserts the JSON API contract for any input: never a
// 5xx, a JSON body, on failure an object with an error code, and never a
// secret of the environment or a secret the request sent.
func (e *fuzzEnv) checkAPIResponse(t *testing.T, what string, rec *httptest.ResponseRecorder, reqBody []byte, sent []string) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("%s: status %d (a client's input must never cause a 5xx): %s", what, rec.Code, body)
	}
	if rec.Code == http.StatusNoContent {
		return
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Fatalf("%s: status %d with Content-Type %q: %s", what, rec.Code, ct, body)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: status %d, body is not JSON (%v): %q", what, rec.Code, err, body)
	}
	if rec.Code >= 300 {
		var ae struct {
			Error     string `json:"error"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(body, &ae) != nil || ae.Error == "" || ae.RequestID == "" {
			t.Fatalf("%s: status %d without an error code and request id: %s", what, rec.Code, body)
		}
		if strings.Contains(string(body), "goroutine ") || strings.Contains(string(body), ".go:") {
			t.Fatalf("%s: error body looks like a stack trace: %s", what, body)
		}
	}
	for _, s := range e.secrets {
		// A secret the request itself carried in a non-secret field (say,
		// as an attribute value) may legitimately come back; one it did not
		// carry must never appear.
		if bytes.Contains(body, []byte(s)) && !bytes.Contains(reqBody, []byte(s)) {
			t.Fatalf("%s: response reveals a secret of the environment (%.8s...): %s", what, s, body)
		}
	}
	for _, s := range sent {
		if len(s) >= 16 && bytes.Contains(body, []byte(s)) {
			t.Fatalf("%s: response echoes a secret the request sent (%q): %s", what, s, body)
		}
	}
}

// sessionPaths is every session API path, aliases included.
var sessionPaths = []string{
	"gettokenfromcode", "refreshaccesstoken", "verifyaccesstoken", "verifyacccesstoken", "verifyaccessoken",
	"userinfofromaccesstoken", "revokeaccesstoken", "updatetokenvalidity", "updateaccesstokenvaliditytime",
	"updateuserattribute", "deleteuser",
}

// secretFields are the request fields of the session API that carry
// secrets, by endpoint; their values must never come back.
var secretFields = map[string][]string{
	"gettokenfromcode":        {"code", "clientSecret", "codeVerifier"},
	"refreshaccesstoken":      {"refreshToken", "clientSecret"},
	"verifyaccesstoken":       {"accessToken"},
	"verifyacccesstoken":      {"accessToken"},
	"verifyaccessoken":        {"accessToken"},
	"userinfofromaccesstoken": {"accessToken"},
	"revokeaccesstoken":       {"accessToken"},
	"deleteuser":              {"confirmationToken"},
}

// sentSecrets extracts the secret-bearing string fields of a JSON body.
func sentSecrets(endpoint string, body []byte) []string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	var out []string
	for _, f := range secretFields[endpoint] {
		if s, ok := m[f].(string); ok {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

// FuzzSessionAPI sends fuzzed JSON bodies (and content types) to every
// session API endpoint with a valid API key (or a wrong one).
func FuzzSessionAPI(f *testing.F) {
	e := newFuzzEnv(f)
	jsonCT := "application/json"
	seeds := map[string][]string{
		"gettokenfromcode": {
			`{"code":"x","clientId":"` + e.web.ClientID + `","clientSecret":"` + e.web.ClientSecret + `"}`,
			`{"code":"x","clientId":"` + e.spa.ClientID + `","codeVerifier":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk","redirectUri":"https://app.example/callback"}`,
			`{"code":123}`, `{"clientId":null}`, `{"code":"a","extra":1}`, `[]`, `{}{}`, `{"code":"` + strings.Repeat("a", 5000) + `"}`,
		},
		"refreshaccesstoken": {
			`{"refreshToken":"` + e.access.RefreshToken + `","clientId":"` + e.web.ClientID + `","clientSecret":"` + e.web.ClientSecret + `"}`,
			`{"refreshToken":"` + e.access.RefreshToken + `","clientId":"` + e.spa.ClientID + `"}`,
			`{"refreshToken":"","clientId":""}`, `{"refreshToken":["x"]}`,
		},
		"verifyaccesstoken": {
			`{"accessToken":"` + e.access.AccessToken + `"}`, `{"accessToken":"` + e.access.IDToken + `"}`,
			`{"accessToken":"a.b.c"}`, `{"accessToken":""}`, `{"accessToken":"x","scope":"global"}`, `{"accessToken":1e999}`, `null`, `"str"`,
		},
		"userinfofromaccesstoken": {`{"accessToken":"` + e.access.AccessToken + `"}`, `{"accessToken":" eyJ.x.y "}`},
		"revokeaccesstoken":       {`{"accessToken":"a.b.c","scope":"session"}`, `{"accessToken":"a.b.c","scope":"everything"}`},
		"updatetokenvalidity": {
			`{"clientId":"` + e.web.ClientID + `","idTokenValidity":5,"tokenValidityUnits":{"idToken":"minutes"}}`,
			`{"clientId":"` + e.web.ClientID + `","refreshTokenValidity":3650,"accessTokenValidity":24}`,
			`{"clientId":"` + e.web.ClientID + `","accessTokenValidity":9223372036854775807,"tokenValidityUnits":{"accessToken":"days"}}`,
			`{"clientId":"` + e.web.ClientID + `","idTokenValidity":-1}`, `{"clientId":"x","idTokenValidity":1.5}`, `{"tokenValidityUnits":"hours"}`,
		},
		"updateuserattribute": {
			`{"email":"` + e.email + `","userPoolId":"` + e.web.UserPoolID + `","roles":"a, b","action":["x:y"],"name":"Ada"}`,
			`{"email":"` + e.email + `","userPoolId":"` + e.web.UserPoolID + `","address":{"locality":"London"},"email_verified":"true"}`,
			`{"sub":"` + e.sub + `","userPoolId":"` + e.web.UserPoolID + `","birthdate":"1815-12-10","zoneinfo":"Europe/London"}`,
			`{"email":"` + e.email + `","userPoolId":"` + e.web.UserPoolID + `","unknown":1}`,
			`{"email":5,"userPoolId":"x"}`, `{"userPoolId":"` + e.web.UserPoolID + `"}`, `null`, `{"email":"` + e.email + `"}`,
		},
		"deleteuser": {
			`{"email":"nobody@example.com","userPoolId":"` + e.web.UserPoolID + `","reason":"fuzz","dryRun":true}`,
			`{"confirmationToken":"igd_notreal"}`, `{"sub":"x","userPoolId":"y","dryRun":"yes"}`,
		},
	}
	for i, p := range sessionPaths {
		list := seeds[p]
		if strings.HasPrefix(p, "verifyacc") && p != "verifyaccesstoken" {
			list = seeds["verifyaccesstoken"][:2]
		}
		if p == "updateaccesstokenvaliditytime" {
			list = seeds["updatetokenvalidity"][:1]
		}
		for _, b := range list {
			f.Add(uint8(i), uint8(0), jsonCT, []byte(b))
		}
	}
	f.Add(uint8(2), uint8(1), jsonCT, []byte(`{"accessToken":"a.b.c"}`))
	f.Add(uint8(2), uint8(3), jsonCT, []byte(`{"accessToken":"a.b.c"}`))
	f.Add(uint8(10), uint8(2), jsonCT, []byte(`{"email":"nobody@example.com","userPoolId":"x","reason":"r"}`))
	f.Add(uint8(2), uint8(0), "text/plain", []byte(`{"accessToken":"a.b.c"}`))
	f.Add(uint8(2), uint8(0), "application/json; charset=utf-8", []byte(`{"accessToken":"a.b.c"}`))
	f.Add(uint8(2), uint8(0), "application/merge-patch+json", []byte(`{"accessToken":"a.b.c"}`))
	f.Add(uint8(2), uint8(0), "", []byte(`{"accessToken":"a.b.c"}`))
	f.Add(uint8(2), uint8(0), ";;;", []byte(`{"accessToken":"a.b.c"}`))

	f.Fuzz(func(t *testing.T, endpoint, keyChoice uint8, contentType string, body []byte) {
		p := sessionPaths[int(endpoint)%len(sessionPaths)]
		h := http.Header{}
		switch keyChoice % 5 {
		case 0:
			h.Set("x-api-key", e.allKey)
		case 1:
			h.Set("x-api-key", e.web.APIKey)
		case 2:
			h.Set("x-api-key", e.delKey)
		case 3:
			h.Set("x-api-key", e.spa.APIKey)
		case 4:
			h.Set("x-api-key", "igk_wrong")
		}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		rec := e.do(t, http.MethodPost, "/v2/sessionmgt/"+p, h, body)
		e.checkAPIResponse(t, p, rec, body, sentSecrets(p, body))
		if p == "verifyaccesstoken" && rec.Code == http.StatusOK {
			var v web.VerifyResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			var req struct {
				AccessToken string `json:"accessToken"`
			}
			_ = json.Unmarshal(body, &req)
			tok := strings.TrimSpace(req.AccessToken)
			if v.SignatureVerified && tok != e.access.AccessToken && tok != e.access.IDToken && !sameJWS(tok, e.access.AccessToken) && !sameJWS(tok, e.access.IDToken) {
				t.Fatalf("fuzzed token %q verified", tok)
			}
		}
	})
}

// sameJWS reports whether two compact tokens decode to the same bytes
// (base64 and whitespace variants of one token are the same token).
func sameJWS(a, b string) bool {
	strip := func(s string) []string {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' {
				return -1
			}
			return r
		}, s)
		return strings.Split(s, ".")
	}
	pa, pb := strip(a), strip(b)
	if len(pa) != 3 || len(pb) != 3 {
		return false
	}
	for i := range pa {
		x, err1 := b64url(pa[i])
		y, err2 := b64url(pb[i])
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

// FuzzAdminAPI sends fuzzed JSON bodies to the admin API's JSON
// endpoints with the right admin token.
func FuzzAdminAPI(f *testing.F) {
	e := newFuzzEnv(f)
	type ep struct{ method, path string }
	eps := []ep{
		{"POST", "/admin/api/projects"},
		{"POST", "/admin/api/projects/" + e.web.ProjectID + "/apikeys"},
		{"POST", "/admin/api/pools/" + e.web.UserPoolID + "/apps"},
		{"PATCH", "/admin/api/apps/" + e.web.ClientID},
		{"POST", "/admin/api/pools/" + e.web.UserPoolID + "/users"},
		{"POST", "/admin/api/pools/" + e.web.UserPoolID + "/keys/rotate"},
		{"POST", "/admin/api/projects/" + e.web.ProjectID + "/webhooks"},
	}
	seeds := [][]string{
		{`{"name":"Shop","environment":"sandbox","appType":"spa","callbackUrls":["https://shop.example/cb"],"mfa":"off","signingAlg":"ES256"}`,
			`{"name":"","callbackUrls":[]}`, `{"name":"x","callbackUrls":["javascript:alert(1)"]}`, `{"name":"x","signingAlg":"HS256","callbackUrls":["https://a.example/cb"]}`},
		{`{"permissions":["session:read"]}`, `{"permissions":["root"]}`, `{"permissions":"session:read"}`},
		{`{"name":"Second","appType":"native","callbackUrls":["com.example.app:/cb"]}`, `{"name":"x","backchannelLogoutUri":"ftp://x","callbackUrls":["https://a.example/cb"]}`},
		{`{"logoutUrls":["https://app.example/bye"],"hostedSessionSurvivesGlobalSignOut":true}`, `{"callbackUrls":[]}`, `{"backchannelLogoutUri":"https://a.example/bc"}`},
		{`{"email":"new@example.com","password":"correct horse battery staple","confirmed":true}`, `{"email":"x","password":"short"}`, `{"email":"ada@example.com","password":"correct horse battery staple"}`},
		{`{}`, `{"alg":"EdDSA"}`, `{"alg":"none"}`},
		{`{"url":"https://hooks.example/idgate","events":["user.deleted"]}`, `{"url":"http://127.0.0.1/x"}`, `{"url":""}`},
	}
	for i, list := range seeds {
		for _, b := range list {
			f.Add(uint8(i), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		p := eps[int(endpoint)%len(eps)]
		h := http.Header{"Authorization": {"Bearer " + fuzzAdminToken}, "Content-Type": {"application/json"}}
		rec := e.do(t, p.method, p.path, h, body)
		// Creating things returns new secrets on purpose; only the admin
		// token must never come back.
		saved := e.secrets
		e.secrets = []string{fuzzAdminToken}
		defer func() { e.secrets = saved }()
		var m map[string]any
		var sent []string
		if json.Unmarshal(body, &m) == nil {
			if pw, ok := m["password"].(string); ok {
				sent = append(sent, pw)
			}
		}
		e.checkAPIResponse(t, p.method+" "+p.path, rec, body, sent)
	})
}

// FuzzHostedLogin posts fuzzed form bodies to the hosted login. It must
// never answer 5xx, and any redirect must stay on idgate or go to a
// registered callback URL (no open redirect).
func FuzzHostedLogin(f *testing.F) {
	e := newFuzzEnv(f)
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formCT = "application/x-www-form-urlencoded"
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "email", e.email, "password", "correct horse battery staple", "state", "s1"))
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "email", e.email, "password", "wrong password", "redirect_uri", fuzzCallbacks[1]))
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "email", "", "password", ""))
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "redirect_uri", "https://evil.example/cb", "email", e.email, "password", "x"))
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "code_challenge", "short", "code_challenge_method", "S256"))
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method", "plain"))
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "scope", "openid admin", "email", e.email, "password", "x"))
	f.Add(uint8(0), formCT, form("client_id", e.spa.ClientID, "email", e.email, "password", "x"))
	f.Add(uint8(1), formCT, form("client_id", e.spa.ClientID, "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method", "S256", "email", "a@b.c", "password", "p"))
	f.Add(uint8(2), formCT, form("client_id", e.web.ClientID, "email", e.email, "password", "x"))
	f.Add(uint8(0), formCT, "%zz&&==;client_id")
	f.Add(uint8(0), "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na\r\n--x--\r\n")
	f.Add(uint8(0), "", "client_id="+e.web.ClientID)
	f.Add(uint8(0), formCT, form("client_id", e.web.ClientID, "state", strings.Repeat("s", 1025)))
	pools := []string{e.web.UserPoolID, e.spa.UserPoolID, "test_nosuchpl"}
	f.Fuzz(func(t *testing.T, pool uint8, contentType, body string) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		rec := e.do(t, http.MethodPost, "/"+pools[int(pool)%len(pools)]+"/login", h, []byte(body))
		if rec.Code >= 500 {
			t.Fatalf("status %d for form %q (%s): %s", rec.Code, body, contentType, rec.Body.String())
		}
		if rec.Code >= 300 && rec.Code < 400 {
			loc := rec.Header().Get("Location")
			if !safeRedirect(loc) {
				t.Fatalf("redirect to %q for form %q", loc, body)
			}
		}
		for _, s := range e.secrets {
			if strings.Contains(rec.Body.String(), s) && !strings.Contains(body, s) {
				t.Fatalf("login page reveals a secret: %s", rec.Body.String())
			}
		}
		if passwordRefilled.MatchString(rec.Body.String()) {
			t.Fatalf("login page fills the password back in: %s", rec.Body.String())
		}
	})
}

var passwordRefilled = regexp.MustCompile(`<input[^>]*type="password"[^>]*value="[^"]+"|<input[^>]*value="[^"]+"[^>]*type="password"`)

// safeRedirect: a path on idgate itself, or a registered callback.
func safeRedirect(loc string) bool {
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") {
		return true
	}
	if strings.HasPrefix(loc, fuzzPublicURL+"/") {
		return true
	}
	u, err := url.Parse(loc)
	if err != nil {
		return false
	}
	base := u.Scheme + "://" + u.Host + u.Path
	for _, cb := range fuzzCallbacks {
		c, _ := url.Parse(cb)
		if base == c.Scheme+"://"+c.Host+c.Path {
			return true
		}
	}
	return false
}
