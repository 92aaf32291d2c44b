package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/tenant"
)

// form posts an OAuth form to a pool endpoint, optionally with Basic auth.
func (e *env) form(path string, basic [2]string, v url.Values, want int, out any) http.Header {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic[0] != "" {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("POST %s: status %d, want %d: %s", path, resp.StatusCode, want, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("POST %s: %s: %v", path, raw, err)
		}
	}
	return resp.Header
}

type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (e *env) codeFor(c tenant.Credentials, email string, params loginParams) string {
	e.t.Helper()
	return e.login(c.ClientID, email, "correct horse battery staple", params).Query().Get("code")
}

func TestOIDCTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "rita@example.com")
	tokenPath := "/" + c.UserPoolID + "/token"
	basic := [2]string{c.ClientID, c.ClientSecret}

	// client_secret_basic.
	var tk tokens
	e.form(tokenPath, basic, url.Values{"grant_type": {"authorization_code"}, "code": {e.codeFor(c, "rita@example.com", nil)},
		"redirect_uri": {"https://app.example/callback"}}, 200, &tk)
	if tk.AccessToken == "" || tk.IDToken == "" || tk.RefreshToken == "" || tk.TokenType != "Bearer" {
		t.Fatalf("tokens = %+v", tk)
	}
	// The same tokens work in the session API: one core.
	if v := e.verify(c.APIKey, tk.AccessToken); !v.Active {
		t.Fatalf("OIDC token not active in the session API: %+v", v)
	}
	// client_secret_post.
	e.form(tokenPath, [2]string{}, url.Values{"grant_type": {"authorization_code"}, "code": {e.codeFor(c, "rita@example.com", nil)},
		"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}, 200, &tk)
	// refresh_token grant.
	var rt tokens
	e.form(tokenPath, basic, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}, 200, &rt)
	if rt.AccessToken == "" || rt.IDToken == "" {
		t.Fatalf("refresh = %+v", rt)
	}

	var oe oauthErr
	h := e.form(tokenPath, [2]string{c.ClientID, "wrong"}, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}, 401, &oe)
	if oe.Error != "invalid_client" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("wrong secret: %+v %q", oe, h.Get("WWW-Authenticate"))
	}
	e.form(tokenPath, basic, url.Values{"grant_type": {"password"}}, 400, &oe)
	if oe.Error != "unsupported_grant_type" {
		t.Fatalf("password grant: %+v", oe)
	}
	e.form(tokenPath, basic, url.Values{}, 400, &oe)
	if oe.Error != "invalid_request" || !strings.Contains(oe.Description, "grant_type") {
		t.Fatalf("no grant_type: %+v", oe)
	}
	e.form(tokenPath, basic, url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}}, 400, &oe)
	if oe.Error != "invalid_grant" {
		t.Fatalf("bad code: %+v", oe)
	}
	e.form(tokenPath, basic, url.Values{"grant_type": {"refresh_token", "refresh_token"}}, 400, &oe)
	e.form(tokenPath, [2]string{}, url.Values{"grant_type": {"refresh_token"}}, 401, &oe)
	// Both Basic and client_secret_post at once.
	e.form(tokenPath, basic, url.Values{"grant_type": {"refresh_token"}, "client_secret": {c.ClientSecret}}, 400, &oe)
	// JSON is not a token request.
	e.call("POST", tokenPath, nil, map[string]any{"grant_type": "refresh_token"}, 400, &oe)

	// client_credentials: an app token, no ID or refresh token, verifiable.
	var cc map[string]any
	e.form(tokenPath, basic, url.Values{"grant_type": {"client_credentials"}, "scope": {"email"}}, 200, &cc)
	if cc["access_token"] == nil || cc["id_token"] != nil || cc["refresh_token"] != nil {
		t.Fatalf("client_credentials = %v", cc)
	}
	if v := e.verify(c.APIKey, cc["access_token"].(string)); !v.Active || v.Sub != c.ClientID {
		t.Fatalf("client_credentials token: %+v", v)
	}
	e.form(tokenPath, basic, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, 400, &oe)
	if oe.Error != "invalid_scope" {
		t.Fatalf("cc openid scope: %+v", oe)
	}
	spa := e.project("spa", "http://localhost:3000/cb")
	e.form("/"+spa.UserPoolID+"/token", [2]string{}, url.Values{"grant_type": {"client_credentials"}, "client_id": {spa.ClientID}}, 400, &oe)
	if oe.Error != "unauthorized_client" {
		t.Fatalf("public cc: %+v", oe)
	}
}

func TestOIDCUserInfoRevokeIntrospect(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	u := e.user(c.UserPoolID, "sam@example.com")
	e.session(c.APIKey, "updateuserattribute", map[string]any{"email": "sam@example.com", "userPoolId": c.UserPoolID,
		"name": "Sam Lee", "phone_number": "+15555550100", "roles": "Admin"}, 200, nil)
	basic := [2]string{c.ClientID, c.ClientSecret}
	var tk tokens
	e.form("/"+c.UserPoolID+"/token", basic, url.Values{"grant_type": {"authorization_code"},
		"code": {e.codeFor(c, "sam@example.com", loginParams{"scope": "openid email"})}}, 200, &tk)

	get := func(tok string) (int, map[string]any, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/"+c.UserPoolID+"/userinfo", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m, resp.Header.Get("WWW-Authenticate")
	}
	status, info, _ := get(tk.AccessToken)
	if status != 200 || info["sub"] != u.Sub || info["email"] != "sam@example.com" || info["name"] != nil || info["phone_number"] != nil || info["roles"].([]any)[0] != "Admin" {
		t.Fatalf("userinfo (scope openid email) = %d %v", status, info)
	}
	var posted map[string]any
	e.form("/"+c.UserPoolID+"/userinfo", [2]string{}, url.Values{"access_token": {tk.AccessToken}}, 200, &posted)
	if posted["sub"] != u.Sub {
		t.Fatalf("POST userinfo = %v", posted)
	}
	if status, _, www := get(tk.IDToken); status != 401 || !strings.Contains(www, "invalid_token") {
		t.Fatalf("userinfo with an ID token: %d %q", status, www)
	}
	if status, _, _ := get(""); status != 401 {
		t.Fatalf("userinfo without a token: %d", status)
	}

	intro := func(tok string) map[string]any {
		var m map[string]any
		e.form("/"+c.UserPoolID+"/introspect", basic, url.Values{"token": {tok}}, 200, &m)
		return m
	}
	if m := intro(tk.AccessToken); m["active"] != true || m["sub"] != u.Sub || m["client_id"] != c.ClientID || m["scope"] != "openid email" {
		t.Fatalf("introspect access = %v", m)
	}
	if m := intro(tk.RefreshToken); m["active"] != true || m["token_type"] != "refresh_token" {
		t.Fatalf("introspect refresh = %v", m)
	}
	if m := intro("garbage"); m["active"] != false || len(m) != 1 {
		t.Fatalf("introspect garbage = %v", m)
	}
	spa := e.project("spa", "http://localhost:3000/cb")
	var oe oauthErr
	e.form("/"+spa.UserPoolID+"/introspect", [2]string{}, url.Values{"token": {"x"}, "client_id": {spa.ClientID}}, 401, &oe)

	// Revocation: unknown token is fine; the refresh token ends the session.
	e.form("/"+c.UserPoolID+"/revoke", basic, url.Values{"token": {"unknown"}}, 200, nil)
	other := e.project("web")
	e.form("/"+other.UserPoolID+"/revoke", [2]string{other.ClientID, other.ClientSecret}, url.Values{"token": {tk.RefreshToken}}, 200, nil)
	if m := intro(tk.AccessToken); m["active"] != true {
		t.Fatal("another client's revocation ended the session")
	}
	e.form("/"+c.UserPoolID+"/revoke", basic, url.Values{"token": {tk.RefreshToken}, "token_type_hint": {"refresh_token"}}, 200, nil)
	if m := intro(tk.AccessToken); m["active"] != false {
		t.Fatalf("access token active after revoking the refresh token: %v", m)
	}
	if status, _, _ := get(tk.AccessToken); status != 401 {
		t.Fatalf("userinfo after revoke: %d", status)
	}
}

func TestOIDCEndSession(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "tom@example.com")
	var view tenant.AppView
	e.call("PATCH", "/admin/api/apps/"+c.ClientID, map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"logoutUrls": []string{"https://app.example/bye"}}, 200, &view)
	if len(view.LogoutURLs) != 1 {
		t.Fatalf("app = %+v", view)
	}
	tk := e.signIn(c, "tom@example.com")
	logout := func(q url.Values) (int, string) {
		resp, err := noRedirect.Get(e.srv.URL + "/" + c.UserPoolID + "/logout?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if s, _ := logout(url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"}}); s != 400 {
		t.Fatalf("unregistered post-logout URI: %d", s)
	}
	if s, _ := logout(url.Values{"id_token_hint": {tk.AccessToken}}); s != 400 {
		t.Fatalf("access token as hint: %d", s)
	}
	if !e.verify(c.APIKey, tk.AccessToken).Active {
		t.Fatal("a refused logout ended the session")
	}
	s, loc := logout(url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {"https://app.example/bye"}, "state": {"st"}})
	if s != 302 || loc != "https://app.example/bye?state=st" {
		t.Fatalf("logout: %d %q", s, loc)
	}
	if v := e.verify(c.APIKey, tk.AccessToken); v.Active || !v.Revoked {
		t.Fatalf("session alive after RP-initiated logout: %+v", v)
	}
	// Without a redirect: a page saying so.
	if s, _ := logout(url.Values{"id_token_hint": {tk.IDToken}}); s != 200 {
		t.Fatalf("logout without redirect: %d", s)
	}
}

func TestBackChannelLogout(t *testing.T) {
	e := newEnv(t)
	received := make(chan string, 10)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", 400)
			return
		}
		r.ParseForm()
		received <- r.PostForm.Get("logout_token")
	}))
	defer rp.Close()
	c := e.project("web")
	e.call("PATCH", "/admin/api/apps/"+c.ClientID, map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"backchannelLogoutUri": rp.URL + "/backchannel"}, 200, nil)
	e.user(c.UserPoolID, "uma@example.com")
	tk1 := e.signIn(c, "uma@example.com")
	tk2 := e.signIn(c, "uma@example.com")

	sender := notify.NewLogoutSender(e.store, e.tokens.LogoutToken, nil, nil)
	e.ended.Listen(func(string, []string) { sender.Wake() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sender.Run(ctx)

	start := time.Now()
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": tk1.AccessToken}, 200, nil)
	var jwks jose.JSONWebKeySet
	e.call("GET", "/"+c.UserPoolID+"/.well-known/jwks.json", nil, nil, 200, &jwks)
	sids := map[string]bool{}
	for range 2 {
		select {
		case raw := <-received:
			if d := time.Since(start); d > time.Second {
				t.Errorf("logout token arrived after %v", d)
			}
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			if typ := tok.Headers[0].ExtraHeaders["typ"]; typ != "logout+jwt" {
				t.Errorf("typ = %v", typ)
			}
			keys := jwks.Key(tok.Headers[0].KeyID)
			if len(keys) != 1 {
				t.Fatalf("kid %q not in the JWKS", tok.Headers[0].KeyID)
			}
			var cl map[string]any
			if err := tok.Claims(keys[0].Key, &cl); err != nil {
				t.Fatalf("logout token signature: %v", err)
			}
			events, _ := cl["events"].(map[string]any)
			if cl["iss"] != c.Issuer || cl["aud"] != c.ClientID || cl["iat"] == nil || cl["jti"] == nil || cl["sub"] == nil ||
				cl["nonce"] != nil || events["http://schemas.openid.net/event/backchannel-logout"] == nil {
				t.Fatalf("logout token claims = %v", cl)
			}
			sids[cl["sid"].(string)] = true
		case <-time.After(3 * time.Second):
			t.Fatal("no logout token received")
		}
	}
	for _, tk := range []tokens{tk1, tk2} {
		if sid := claims(t, tk.AccessToken)["sid"].(string); !sids[sid] {
			t.Errorf("no logout token for session %s", sid)
		}
	}
	// Delivered notices are recorded; nothing is sent twice.
	n, _ := e.store.ListLogouts(context.Background(), claims(t, tk1.AccessToken)["sid"].(string))
	if len(n) != 1 || n[0].DeliveredAt.IsZero() {
		t.Fatalf("outbox = %+v", n)
	}
	select {
	case extra := <-received:
		t.Fatalf("duplicate delivery: %s", extra[:20])
	case <-time.After(300 * time.Millisecond):
	}
}

func TestBackChannelLogoutRetries(t *testing.T) {
	e := newEnv(t)
	fail := true
	got := make(chan struct{}, 10)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, "down", 503)
			return
		}
		got <- struct{}{}
	}))
	defer rp.Close()
	c := e.project("web")
	e.call("PATCH", "/admin/api/apps/"+c.ClientID, map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"backchannelLogoutUri": rp.URL}, 200, nil)
	e.user(c.UserPoolID, "vic@example.com")
	tk := e.signIn(c, "vic@example.com")
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": tk.AccessToken}, 200, nil)

	sender := notify.NewLogoutSender(e.store, e.tokens.LogoutToken, nil, nil)
	ctx := context.Background()
	if n := sender.Drain(ctx); n != 1 {
		t.Fatalf("first drain attempted %d", n)
	}
	sid := claims(t, tk.AccessToken)["sid"].(string)
	n, _ := e.store.ListLogouts(ctx, sid)
	if len(n) != 1 || n[0].Attempts != 1 || !n[0].DeliveredAt.IsZero() || !strings.Contains(n[0].LastError, "503") || !n[0].NextAttempt.After(time.Now()) {
		t.Fatalf("after a failure: %+v", n)
	}
	// Not due yet: nothing is attempted.
	if n := sender.Drain(ctx); n != 0 {
		t.Fatalf("retried before the backoff: %d", n)
	}
	// The notice survives (durable); once due and the app is back, it is delivered.
	fail = false
	if err := e.store.RetryLogout(ctx, n[0].ID, time.Now(), time.Now().Add(-time.Second), "forced due for the test"); err != nil {
		t.Fatal(err)
	}
	if k := sender.Drain(ctx); k != 1 {
		t.Fatalf("due retry attempted %d", k)
	}
	select {
	case <-got:
	case <-time.After(2 * time.Second):
		t.Fatal("retry not delivered")
	}
	n, _ = e.store.ListLogouts(ctx, sid)
	if n[0].DeliveredAt.IsZero() || n[0].Attempts != 3 {
		t.Fatalf("after delivery: %+v", n[0])
	}
}

func TestAdminAuditAPI(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "yuri@example.com")
	e.signIn(c, "yuri@example.com")
	auth := map[string]string{"Authorization": "Bearer " + adminToken}
	var page struct {
		Events []struct {
			Seq  int64
			Type string
			Hash string
		}
		Next int64
	}
	e.call("GET", "/admin/api/projects/"+c.ProjectID+"/events?limit=2", auth, nil, 200, &page)
	if len(page.Events) != 2 || page.Events[0].Type != "project.created" || page.Next != page.Events[1].Seq {
		t.Fatalf("page = %+v", page)
	}
	e.call("GET", "/admin/api/projects/"+c.ProjectID+"/events?type=login.succeeded", auth, nil, 200, &page)
	if len(page.Events) != 1 || page.Next != 0 {
		t.Fatalf("filtered = %+v", page)
	}
	var rep struct {
		OK     bool
		Events int
	}
	e.call("GET", "/admin/api/projects/"+c.ProjectID+"/events/verify", auth, nil, 200, &rep)
	if !rep.OK || rep.Events < 4 {
		t.Fatalf("verify = %+v", rep)
	}
	raw := e.call("GET", "/admin/api/projects/"+c.ProjectID+"/events/export?format=csv", auth, nil, 200, nil)
	if lines := strings.Count(string(raw), "\n"); lines != rep.Events+1 {
		t.Fatalf("csv export has %d lines for %d events", lines, rep.Events)
	}
	var ae oauthErr
	e.call("GET", "/admin/api/projects/"+c.ProjectID+"/events?since=yesterday", auth, nil, 400, &ae)
	if !strings.Contains(ae.Description, "since") {
		t.Fatalf("bad since: %+v", ae)
	}
	e.call("GET", "/admin/api/projects/prj_nope/events", auth, nil, 404, nil)
	e.call("GET", "/admin/api/projects/"+c.ProjectID+"/events", nil, nil, 401, nil)
}

func TestMetricsRequireAdminAndCountRoutes(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.session(c.APIKey, "verifyaccesstoken", map[string]any{"accessToken": "x.y.z"}, 200, nil)
	e.call("GET", "/metrics", nil, nil, 401, nil)
	raw := string(e.call("GET", "/metrics", map[string]string{"Authorization": "Bearer " + adminToken}, nil, 200, nil))
	for _, want := range []string{
		`idgate_http_requests_total{code="200",route="POST /v2/sessionmgt/verifyaccesstoken"} 1`,
		`idgate_http_request_duration_seconds_bucket{route="POST /admin/api/projects"`,
		"go_goroutines",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(raw, c.ClientID) || strings.Contains(raw, c.UserPoolID) {
		t.Error("metrics carry ids")
	}
}
