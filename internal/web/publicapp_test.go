package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

func TestPublicAppPKCEAndRotation(t *testing.T) {
	e := newEnv(t)
	c := e.project("spa", "http://localhost:3000/cb")
	if c.ClientSecret != "" {
		t.Fatal("public app got a client secret")
	}
	e.user(c.UserPoolID, "hana@example.com")

	// PKCE is mandatory for public apps: the error goes back to the callback.
	resp, err := noRedirect.Get(e.srv.URL + "/v2/mfa/code/" + c.ClientID + "?state=s1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc.Host != "localhost:3000" || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s1" {
		t.Fatalf("no PKCE: %d %s", resp.StatusCode, loc)
	}

	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	cb := e.login(c.ClientID, "hana@example.com", "correct horse battery staple", loginParams{"code_challenge": pkce(verifier), "code_challenge_method": "S256"})
	code := cb.Query().Get("code")
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID}, 400, "invalid_request")
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID, "codeVerifier": strings.Repeat("x", 43)}, 400, "invalid_grant")

	cb = e.login(c.ClientID, "hana@example.com", "correct horse battery staple", loginParams{"code_challenge": pkce(verifier), "code_challenge_method": "S256"})
	var t0 tokens
	e.session(c.APIKey, "gettokenfromcode", map[string]any{"code": cb.Query().Get("code"), "clientId": c.ClientID, "codeVerifier": verifier, "redirectUri": "http://localhost:3000/cb"}, 200, &t0)

	// Rotation: each refresh returns a new refresh token.
	var t1 tokens
	e.session(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": t0.RefreshToken, "clientId": c.ClientID}, 200, &t1)
	if t1.RefreshToken == "" || t1.RefreshToken == t0.RefreshToken {
		t.Fatalf("public refresh did not rotate: %+v", t1)
	}
	// A retry inside the grace window gets the same successor.
	var retry tokens
	e.session(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": t0.RefreshToken, "clientId": c.ClientID}, 200, &retry)
	if retry.RefreshToken != t1.RefreshToken {
		t.Fatalf("grace retry got %q, want the same successor", retry.RefreshToken)
	}
	// After the window, presenting the old token is reuse: the session ends.
	e.clock.Advance(11 * time.Second)
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": t0.RefreshToken, "clientId": c.ClientID}, 400, "invalid_grant")
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": t1.RefreshToken, "clientId": c.ClientID}, 400, "invalid_grant")
	if v := e.verify(c.APIKey, t1.AccessToken); v.Active || !v.Revoked {
		t.Fatalf("session survived refresh token reuse: %+v", v)
	}
	sid := claims(t, t1.AccessToken)["sid"].(string)
	s, _ := e.store.GetSession(context.Background(), sid)
	if s.EndReason != idgate.EndRefreshTokenReuse {
		t.Fatalf("end reason = %q", s.EndReason)
	}
	evs, _ := e.store.ListEvents(context.Background(), idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventRefreshReuse})
	if len(evs) != 1 {
		t.Fatalf("refresh reuse events = %d", len(evs))
	}
	// Public clients must not send a secret.
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": t1.RefreshToken, "clientId": c.ClientID, "clientSecret": "x"}, 401, "invalid_client")
}

func TestRefreshTokenAbsoluteExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "ivan@example.com")
	tk := e.signIn(c, "ivan@example.com")
	body := map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}
	e.clock.Advance(29 * 24 * time.Hour)
	e.session(c.APIKey, "refreshaccesstoken", body, 200, nil)
	e.clock.Advance(24*time.Hour + time.Second)
	e.sessionErr(c.APIKey, "refreshaccesstoken", body, 400, "invalid_grant")
}

func TestRedirectURIRules(t *testing.T) {
	e := newEnv(t)
	c := e.project("web", "https://app.example/cb1", "https://app.example/cb2")
	e.user(c.UserPoolID, "judy@example.com")
	// Unregistered redirect URI: our own error page, never a redirect.
	resp, err := noRedirect.Get(e.srv.URL + "/v2/mfa/code/" + c.ClientID + "?redirect_uri=" + url.QueryEscape("https://evil.example/cb"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "redirect URI") {
		t.Fatalf("unregistered redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cb := e.login(c.ClientID, "judy@example.com", "correct horse battery staple", loginParams{"redirect_uri": "https://app.example/cb2"})
	if cb.Path != "/cb2" {
		t.Fatalf("callback = %s", cb)
	}
	code := cb.Query().Get("code")
	// Several callbacks: redirectUri is required and must match.
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 400, "invalid_request")
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID, "clientSecret": c.ClientSecret, "redirectUri": "https://app.example/cb1"}, 400, "invalid_grant")
	cb = e.login(c.ClientID, "judy@example.com", "correct horse battery staple", loginParams{"redirect_uri": "https://app.example/cb2"})
	e.session(c.APIKey, "gettokenfromcode", map[string]any{"code": cb.Query().Get("code"), "clientId": c.ClientID, "clientSecret": c.ClientSecret, "redirectUri": "https://app.example/cb2"}, 200, nil)
	// Unknown app.
	resp, _ = noRedirect.Get(e.srv.URL + "/v2/mfa/code/nosuchapp")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown app: %d", resp.StatusCode)
	}
}

func TestHostedLoginForm(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "kate@example.com")
	resp, err := http.Get(e.srv.URL + "/v2/mfa/code/" + c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(html)
	for _, want := range []string{`<label for="email">`, `<label for="password">`, "Demo App", `method="post"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP = %q", csp)
	}
	post := func(email, password string, hdr map[string]string) (int, string) {
		form := url.Values{"client_id": {c.ClientID}, "redirect_uri": {"https://app.example/callback"}, "email": {email}, "password": {password}}
		req, _ := http.NewRequest("POST", e.srv.URL+"/"+c.UserPoolID+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	// Wrong password and unknown email give the same message.
	s1, b1 := post("kate@example.com", "wrong password!!", nil)
	s2, b2 := post("nobody@example.com", "wrong password!!", nil)
	if s1 != 401 || s2 != 401 || !strings.Contains(b1, "incorrect email or password") || !strings.Contains(b2, "incorrect email or password") {
		t.Fatalf("failure pages differ or wrong: %d %d", s1, s2)
	}
	// Cross-site form posts are refused (CSRF).
	if s, _ := post("kate@example.com", "correct horse battery staple", map[string]string{"Sec-Fetch-Site": "cross-site"}); s != 403 {
		t.Fatalf("cross-site POST: %d", s)
	}
	if s, _ := post("kate@example.com", "correct horse battery staple", map[string]string{"Origin": "https://evil.example"}); s != 403 {
		t.Fatalf("foreign-origin POST: %d", s)
	}
	if s, _ := post("kate@example.com", "correct horse battery staple", map[string]string{"Sec-Fetch-Site": "same-origin"}); s != 303 {
		t.Fatalf("same-origin POST: %d", s)
	}
	evs, _ := e.store.ListEvents(context.Background(), idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventLoginFailed})
	if len(evs) != 2 {
		t.Fatalf("login failure events = %d", len(evs))
	}
}

func TestWellKnownAndRotation(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "liam@example.com")
	before := e.signIn(c, "liam@example.com")

	var disc map[string]any
	e.call("GET", "/"+c.UserPoolID+"/.well-known/openid-configuration", nil, nil, 200, &disc)
	if disc["issuer"] != c.Issuer || disc["jwks_uri"] != c.Issuer+"/.well-known/jwks.json" {
		t.Fatalf("discovery = %v", disc)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	e.call("GET", "/"+c.UserPoolID+"/.well-known/jwks.json", nil, nil, 200, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0]["alg"] != "RS256" || jwks.Keys[0]["d"] != nil {
		t.Fatalf("jwks = %v", jwks)
	}
	var rot map[string]any
	e.call("POST", "/admin/api/pools/"+c.UserPoolID+"/keys/rotate", map[string]string{"Authorization": "Bearer " + adminToken}, map[string]any{"alg": "ES256"}, 200, &rot)
	e.call("GET", "/"+c.UserPoolID+"/.well-known/jwks.json", nil, nil, 200, &jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("after rotation the JWKS has %d keys, want current + previous", len(jwks.Keys))
	}
	after := e.signIn(c, "liam@example.com")
	var hdr = func(tok string) string { p := strings.Split(tok, ".")[0]; return p }
	if hdr(after.AccessToken) == hdr(before.AccessToken) {
		t.Fatal("new tokens still signed with the old key")
	}
	if !e.verify(c.APIKey, before.AccessToken).Active || !e.verify(c.APIKey, after.AccessToken).Active {
		t.Fatal("tokens of current or previous key do not verify")
	}
	// A second rotation retires the oldest key and its tokens.
	e.call("POST", "/admin/api/pools/"+c.UserPoolID+"/keys/rotate", map[string]string{"Authorization": "Bearer " + adminToken}, nil, 200, &rot)
	e.call("GET", "/"+c.UserPoolID+"/.well-known/jwks.json", nil, nil, 200, &jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("after two rotations the JWKS has %d keys", len(jwks.Keys))
	}
	if v := e.verify(c.APIKey, before.AccessToken); v.SignatureVerified {
		t.Fatal("a retired key still verifies")
	}
	e.call("GET", "/local_nosuchpool/.well-known/jwks.json", nil, nil, 404, nil)
}
