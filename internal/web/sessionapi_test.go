package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

func TestDocumentsFlow(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	u := e.user(c.UserPoolID, "Alice@Example.com")
	if u.Email != "alice@example.com" || u.Status != idgate.StatusConfirmed {
		t.Fatalf("user = %+v", u)
	}
	cb := e.login(c.ClientID, "alice@example.com", "correct horse battery staple", loginParams{"state": "xyz", "nonce": "n-0S6"})
	if cb.Host != "app.example" || cb.Query().Get("state") != "xyz" || cb.Query().Get("code") == "" {
		t.Fatalf("callback = %s", cb)
	}
	var tk tokens
	e.session(c.APIKey, "gettokenfromcode", map[string]any{"code": cb.Query().Get("code"), "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 200, &tk)
	if tk.TokenType != "Bearer" || tk.ExpiresIn != 86400 || tk.RefreshToken == "" {
		t.Fatalf("tokens = %+v", tk)
	}
	at, id := claims(t, tk.AccessToken), claims(t, tk.IDToken)
	for _, k := range []string{"iss", "sub", "aud", "client_id", "exp", "iat", "jti", "auth_time", "sid", "scope", "username", "token_use", "roles", "groups", "actions"} {
		if _, ok := at[k]; !ok {
			t.Errorf("access token lacks %q", k)
		}
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr", "token_use", "email", "email_verified", "roles", "groups", "actions", "attributes"} {
		if _, ok := id[k]; !ok {
			t.Errorf("id token lacks %q", k)
		}
	}
	if at["iss"] != c.Issuer || at["token_use"] != "access" || id["nonce"] != "n-0S6" || at["sid"] != id["sid"] || at["sub"] != u.Sub {
		t.Fatalf("claims: access %v id %v", at, id)
	}

	v := e.verify(c.APIKey, tk.AccessToken)
	if !v.SignatureVerified || !v.Active || v.Revoked || v.AccessTokenExpired || v.Sub != u.Sub || v.ClientID != c.ClientID || v.TokenUse != "access" {
		t.Fatalf("verify = %+v", v)
	}
	if v := e.verify(c.APIKey, tk.IDToken); !v.Active || v.TokenUse != "id" || v.ClientID != c.ClientID {
		t.Fatalf("verify id token = %+v", v)
	}
	for _, alias := range []string{"verifyacccesstoken", "verifyaccessoken"} {
		var v2 map[string]any
		e.session(c.APIKey, alias, map[string]any{"accessToken": tk.AccessToken}, 200, &v2)
		if v2["active"] != true {
			t.Fatalf("%s = %v", alias, v2)
		}
	}
	var info map[string]any
	e.session(c.APIKey, "userinfofromaccesstoken", map[string]any{"accessToken": tk.AccessToken}, 200, &info)
	if info["sub"] != u.Sub || info["email"] != "alice@example.com" || info["email_verified"] != true || info["exp"] == nil || info["auth_time"] == nil {
		t.Fatalf("userinfo = %v", info)
	}

	// Confidential apps keep their refresh token: no new one in the answer.
	var rt tokens
	e.session(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 200, &rt)
	if rt.AccessToken == "" || rt.IDToken == "" || rt.RefreshToken != "" {
		t.Fatalf("refresh = %+v", rt)
	}
	e.session(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 200, &rt)

	var rv map[string]any
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": rt.AccessToken}, 200, &rv)
	if rv["revokedSessions"] != float64(1) {
		t.Fatalf("revoke = %v", rv)
	}
	for _, tok := range []string{tk.AccessToken, rt.AccessToken, tk.IDToken} {
		if v := e.verify(c.APIKey, tok); !v.SignatureVerified || !v.Revoked || v.Active {
			t.Fatalf("after revoke: verify = %+v", v)
		}
	}
	e.sessionErr(c.APIKey, "userinfofromaccesstoken", map[string]any{"accessToken": tk.AccessToken}, 401, "invalid_token")
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 400, "invalid_grant")
}

func TestCodeReuseRevokesFirstTokens(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "bob@example.com")
	cb := e.login(c.ClientID, "bob@example.com", "correct horse battery staple", nil)
	body := map[string]any{"code": cb.Query().Get("code"), "clientId": c.ClientID, "clientSecret": c.ClientSecret}
	var tk tokens
	e.session(c.APIKey, "gettokenfromcode", body, 200, &tk)
	e.sessionErr(c.APIKey, "gettokenfromcode", body, 400, "invalid_grant")
	if v := e.verify(c.APIKey, tk.AccessToken); !v.Revoked || v.Active {
		t.Fatalf("tokens of a reused code still active: %+v", v)
	}
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 400, "invalid_grant")
}

func TestCodeExpiresAfterFiveMinutes(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "slow@example.com")
	cb := e.login(c.ClientID, "slow@example.com", "correct horse battery staple", nil)
	e.clock.Advance(5*time.Minute + time.Second)
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": cb.Query().Get("code"), "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 400, "invalid_grant")
}

func TestClientAuthentication(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "carol@example.com")
	cb := e.login(c.ClientID, "carol@example.com", "correct horse battery staple", nil)
	code := cb.Query().Get("code")
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID, "clientSecret": "wrong"}, 401, "invalid_client")
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID}, 401, "invalid_client")
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": "nosuchclient", "clientSecret": c.ClientSecret}, 401, "invalid_client")
	// Another project's app cannot be used with this project's key.
	other := e.project("web")
	e.sessionErr(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": other.ClientID, "clientSecret": other.ClientSecret}, 401, "invalid_client")
	// The failed attempts did not burn the code.
	e.session(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 200, nil)
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	tk := map[string]any{"accessToken": "x.y.z"}
	e.sessionErr("", "verifyaccesstoken", tk, 401, "unauthorized")
	e.sessionErr("igk_nonsense", "verifyaccesstoken", tk, 401, "unauthorized")

	var readOnly struct {
		APIKeyID, APIKey string
		Permissions      []string
	}
	e.call("POST", "/admin/api/projects/"+c.ProjectID+"/apikeys", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"permissions": []string{"session:read"}}, 201, &readOnly)
	e.session(readOnly.APIKey, "verifyaccesstoken", tk, 200, nil)
	ae := e.sessionErr(readOnly.APIKey, "revokeaccesstoken", tk, 403, "insufficient_permissions")
	if !strings.Contains(ae.Description, "session:write") {
		t.Fatalf("description %q does not name the permission", ae.Description)
	}
	e.sessionErr(readOnly.APIKey, "updatetokenvalidity", map[string]any{"clientId": c.ClientID}, 403, "insufficient_permissions")
	e.sessionErr(readOnly.APIKey, "updateuserattribute", map[string]any{"email": "a@b.co", "userPoolId": c.UserPoolID}, 403, "insufficient_permissions")
	// The project's default key cannot delete users.
	e.sessionErr(c.APIKey, "deleteuser", map[string]any{"email": "a@b.co", "userPoolId": c.UserPoolID, "reason": "x"}, 403, "insufficient_permissions")
	// Unknown permission is refused by name.
	var bad apiErr
	e.call("POST", "/admin/api/projects/"+c.ProjectID+"/apikeys", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"permissions": []string{"users:everything"}}, 400, &bad)
	if !strings.Contains(bad.Description, "users:everything") {
		t.Fatalf("bad permission error = %+v", bad)
	}
	// Revocation is immediate.
	e.call("DELETE", "/admin/api/apikeys/"+readOnly.APIKeyID, map[string]string{"Authorization": "Bearer " + adminToken}, nil, 204, nil)
	e.sessionErr(readOnly.APIKey, "verifyaccesstoken", tk, 401, "unauthorized")
	// Denials are audited.
	evs, err := e.store.ListEvents(context.Background(), idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventAPIKeyDenied})
	if err != nil || len(evs) < 4 {
		t.Fatalf("denied events = %d, %v", len(evs), err)
	}
}

func TestAdminAPIRequiresToken(t *testing.T) {
	e := newEnv(t)
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": adminToken}} {
		var ae apiErr
		e.call("POST", "/admin/api/projects", h, map[string]any{"name": "x", "callbackUrls": []string{"https://a.example/cb"}}, 401, &ae)
		if ae.Error != "unauthorized" {
			t.Fatalf("error = %+v", ae)
		}
	}
}

func TestGlobalSignOutScope(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "dave@example.com")
	e.user(c.UserPoolID, "erin@example.com")
	d1 := e.signIn(c, "dave@example.com")
	d2 := e.signIn(c, "dave@example.com")
	other := e.signIn(c, "erin@example.com")

	// scope=session ends only that session.
	var rv map[string]any
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": d1.AccessToken, "scope": "session"}, 200, &rv)
	if rv["revokedSessions"] != float64(1) || !e.verify(c.APIKey, d1.AccessToken).Revoked || !e.verify(c.APIKey, d2.AccessToken).Active {
		t.Fatalf("session revoke: %v", rv)
	}
	// A revoked token cannot sign the user out of newer sessions.
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": d1.AccessToken}, 200, &rv)
	if rv["revokedSessions"] != float64(0) || !e.verify(c.APIKey, d2.AccessToken).Active {
		t.Fatalf("revoked token ended sessions: %v", rv)
	}
	d3 := e.signIn(c, "dave@example.com")
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": d2.AccessToken}, 200, &rv)
	if rv["revokedSessions"] != float64(2) {
		t.Fatalf("global revoke = %v", rv)
	}
	for _, tok := range []string{d2.AccessToken, d2.IDToken, d3.AccessToken, d3.IDToken} {
		if v := e.verify(c.APIKey, tok); v.Active || !v.Revoked {
			t.Fatalf("token alive after global sign-out: %+v", v)
		}
	}
	if v := e.verify(c.APIKey, other.AccessToken); !v.Active {
		t.Fatalf("another user's session was ended: %+v", v)
	}
	e.sessionErr(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": d2.AccessToken, "scope": "everything"}, 400, "invalid_request")
	e.sessionErr(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": "garbage"}, 401, "invalid_token")
}

func TestVerifyVerdicts(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "frank@example.com")
	tk := e.signIn(c, "frank@example.com")

	if v := e.verify(c.APIKey, "not-a-token"); v.SignatureVerified || v.Active {
		t.Fatalf("garbage verified: %+v", v)
	}
	// Tampered payload.
	parts := strings.Split(tk.AccessToken, ".")
	tampered := parts[0] + "." + parts[1][:len(parts[1])-2] + "AA." + parts[2]
	if v := e.verify(c.APIKey, tampered); v.SignatureVerified || v.Active {
		t.Fatalf("tampered token verified: %+v", v)
	}
	// Another pool's key does not verify this pool's token.
	other := e.project("web")
	if v := e.verify(other.APIKey, tk.AccessToken); v.SignatureVerified || v.Active {
		t.Fatalf("foreign pool verified the token: %+v", v)
	}
	// Expiry.
	e.clock.Advance(24*time.Hour + time.Second)
	if v := e.verify(c.APIKey, tk.AccessToken); !v.SignatureVerified || !v.AccessTokenExpired || v.Active {
		t.Fatalf("expired token: %+v", v)
	}
	e.sessionErr(c.APIKey, "userinfofromaccesstoken", map[string]any{"accessToken": tk.AccessToken}, 401, "invalid_token")
	e.sessionErr(c.APIKey, "verifyaccesstoken", map[string]any{}, 400, "invalid_request")
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	h := func(ct string) map[string]string { return map[string]string{"x-api-key": c.APIKey, "Content-Type": ct} }
	var ae apiErr
	e.call("POST", "/v2/sessionmgt/verifyaccesstoken", h("text/plain"), `{"accessToken":"a"}`, 415, &ae)
	if ae.Error != "unsupported_media_type" {
		t.Fatalf("415 body = %+v", ae)
	}
	big := `{"accessToken":"` + strings.Repeat("a", 2<<20) + `"}`
	e.call("POST", "/v2/sessionmgt/verifyaccesstoken", h("application/json"), big, 413, &ae)
	e.call("POST", "/v2/sessionmgt/verifyaccesstoken", h("application/json"), `{"accessToken":`, 400, &ae)
	e.call("POST", "/v2/sessionmgt/verifyaccesstoken", h("application/json"), `{"accessToken":"a","extra":1}`, 400, &ae)
	if !strings.Contains(ae.Description, "extra") {
		t.Fatalf("unknown field not named: %+v", ae)
	}
	e.call("POST", "/v2/sessionmgt/verifyaccesstoken", h("application/json"), `{"accessToken":42}`, 400, &ae)
	if !strings.Contains(ae.Description, "accessToken") {
		t.Fatalf("wrong type not named: %+v", ae)
	}
	e.call("POST", "/v2/sessionmgt/verifyaccesstoken", h("application/json"), `[1,2]`, 400, &ae)
	e.call("POST", "/v2/sessionmgt/verifyaccesstoken", h("application/json"), `{"accessToken":"a"} {"b":1}`, 400, &ae)
	e.call("GET", "/v2/sessionmgt/verifyaccesstoken", map[string]string{"x-api-key": c.APIKey}, nil, 405, &ae)
	e.call("POST", "/v2/sessionmgt/nosuch", h("application/json"), `{}`, 404, &ae)
	if ae.Error != "not_found" {
		t.Fatalf("404 body = %+v", ae)
	}
}

func TestConcurrentRefreshAndRevoke(t *testing.T) {
	e := newEnv(t)
	c := e.project("spa")
	e.user(c.UserPoolID, "gina@example.com")
	verifier := strings.Repeat("v", 50)
	cb := e.login(c.ClientID, "gina@example.com", "correct horse battery staple", loginParams{"code_challenge": pkce(verifier), "code_challenge_method": "S256"})
	var tk tokens
	e.session(c.APIKey, "gettokenfromcode", map[string]any{"code": cb.Query().Get("code"), "clientId": c.ClientID, "codeVerifier": verifier}, 200, &tk)

	var wg sync.WaitGroup
	statuses := make(chan int, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, body := "refreshaccesstoken", fmt.Sprintf(`{"refreshToken":%q,"clientId":%q}`, tk.RefreshToken, c.ClientID)
			if i%10 == 9 {
				path, body = "revokeaccesstoken", fmt.Sprintf(`{"accessToken":%q,"scope":"session"}`, tk.AccessToken)
			}
			req, _ := http.NewRequest("POST", e.srv.URL+"/v2/sessionmgt/"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", c.APIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 && s != 400 {
			t.Fatalf("unexpected status %d", s)
		}
	}
	// The end state is consistent: the session ended, and neither the
	// original token nor any successor works any more.
	if v := e.verify(c.APIKey, tk.AccessToken); v.Active {
		t.Fatalf("session still active after revoke: %+v", v)
	}
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID}, 400, "invalid_grant")
	sid := claims(t, tk.AccessToken)["sid"].(string)
	s, err := e.store.GetSession(context.Background(), sid)
	if err != nil || s.EndedAt.IsZero() || s.EndReason != idgate.EndLogout {
		t.Fatalf("session = %+v, %v", s, err)
	}
}
