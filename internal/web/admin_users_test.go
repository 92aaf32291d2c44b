package web_test

import (
	"strings"
	"testing"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
)

func TestAdminUserSessions(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	u := e.user(c.UserPoolID, "amy@example.com")
	other := e.user(c.UserPoolID, "ben@example.com")
	auth := map[string]string{"Authorization": "Bearer " + adminToken}
	base := "/admin/api/pools/" + c.UserPoolID + "/users/"

	devices := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	}
	var toks []tokens
	for _, ua := range devices {
		e.userAgent = ua
		toks = append(toks, e.signIn(c, "amy@example.com"))
	}
	e.userAgent = ""
	bens := e.signIn(c, "ben@example.com")

	var list struct{ Sessions []account.SessionView }
	e.call("GET", base+u.Sub+"/sessions", auth, nil, 200, &list)
	if len(list.Sessions) != 3 {
		t.Fatalf("%d sessions, want 3", len(list.Sessions))
	}
	want := map[string]bool{"Chrome on Windows": true, "Safari on iOS": true, "Firefox on Linux": true}
	for _, s := range list.Sessions {
		if !s.Active || !want[s.Device] || s.IP == "" {
			t.Fatalf("session = %+v", s)
		}
		delete(want, s.Device)
	}

	// Revoke one: the others live on; the history keeps the reason.
	sid := claims(t, toks[1].AccessToken)["sid"].(string)
	e.call("POST", base+u.Sub+"/sessions/"+sid+"/revoke", auth, nil, 204, nil)
	if e.verify(c.APIKey, toks[1].AccessToken).Active || !e.verify(c.APIKey, toks[0].AccessToken).Active || !e.verify(c.APIKey, toks[2].AccessToken).Active {
		t.Fatal("revoking one session did not end exactly that one")
	}
	e.call("GET", base+u.Sub+"/sessions", auth, nil, 200, &list)
	for _, s := range list.Sessions {
		if s.ID == sid && (s.Active || s.EndReason != idgate.EndAdminRevoked || s.EndedAt == nil) {
			t.Fatalf("revoked session in history = %+v", s)
		}
	}
	// Another user's session id is not found under this user.
	bsid := claims(t, bens.AccessToken)["sid"].(string)
	e.call("POST", base+u.Sub+"/sessions/"+bsid+"/revoke", auth, nil, 404, nil)

	// Disable: every session ends, sign-in refused; enable: back.
	var view struct{ Status string }
	e.call("POST", base+u.Sub+"/disable", auth, nil, 200, &view)
	if view.Status != idgate.StatusDisabled || e.verify(c.APIKey, toks[0].AccessToken).Active || e.verify(c.APIKey, toks[2].AccessToken).Active {
		t.Fatalf("disable: %+v", view)
	}
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": toks[0].RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 400, "invalid_grant")
	e.call("POST", base+u.Sub+"/enable", auth, nil, 200, &view)
	if view.Status != idgate.StatusConfirmed {
		t.Fatalf("enable: %+v", view)
	}
	again := e.signIn(c, "amy@example.com")

	var so map[string]any
	e.call("POST", base+u.Sub+"/signout", auth, nil, 200, &so)
	if so["revokedSessions"] != float64(1) || e.verify(c.APIKey, again.AccessToken).Active || !e.verify(c.APIKey, bens.AccessToken).Active {
		t.Fatalf("signout = %v", so)
	}

	var exp map[string]any
	raw := e.call("GET", base+u.Sub+"/export", auth, nil, 200, &exp)
	if strings.Contains(string(raw), "argon2id") || exp["user"].(map[string]any)["email"] != "amy@example.com" ||
		len(exp["sessions"].([]any)) != 4 || len(exp["events"].([]any)) < 5 {
		t.Fatalf("export = %s", raw)
	}
	e.call("GET", base+"nosuchsub/export", auth, nil, 404, nil)
	_ = other
}
