package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// TestConsoleRoutesRequireSession: without an admin session, every console
// page of the route table redirects to sign-in and every console action is
// refused with 403, changing nothing.
func TestConsoleRoutesRequireSession(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.client()
	admin.setup("root@example.com")
	c := e.project("Guarded")
	u := e.user(c.UserPoolID, "guarded@example.com")
	vals := map[string]string{"projectId": c.ProjectID, "poolId": c.UserPoolID, "sub": u.Sub, "clientId": c.ClientID, "keyId": c.APIKeyID}
	anon := e.client()
	csrf := admin.csrf() // a valid token of another session must not help
	checked := 0
	for _, r := range consoleRoutes(t) {
		if r.public() {
			continue
		}
		path := r.path(vals)
		if r.method == http.MethodGet {
			p := anon.get(path).want(t, http.StatusSeeOther, r.method+" "+r.pattern)
			if !strings.HasPrefix(p.location, "/admin/signin?next=") {
				t.Errorf("%s %s redirects to %q, want the sign-in page", r.method, r.pattern, p.location)
			}
		} else {
			anon.post(path, url.Values{"csrf": {csrf}, "totp": {"123456"}}).want(t, http.StatusForbidden, r.method+" "+r.pattern)
		}
		checked++
	}
	if checked < 30 {
		t.Fatalf("checked %d routes", checked)
	}
	// Nothing changed: the user, key and app are as they were.
	got, err := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub)
	if err != nil || got.Status != idgate.StatusConfirmed {
		t.Fatalf("user after the anonymous posts: %+v, %v", got, err)
	}
	if k, _ := e.store.GetAPIKey(t.Context(), c.APIKeyID); !k.RevokedAt.IsZero() {
		t.Fatal("an anonymous post revoked the API key")
	}
}

// TestConsolePostsNeedCSRF: a signed-in administrator's browser refuses
// every console POST without the session's CSRF token, and every
// cross-origin POST even with it.
func TestConsolePostsNeedCSRF(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.client()
	admin.setup("root@example.com")
	c := e.project("Forgery")
	u := e.user(c.UserPoolID, "victim@example.com")
	vals := map[string]string{"projectId": c.ProjectID, "poolId": c.UserPoolID, "sub": u.Sub, "clientId": c.ClientID, "keyId": c.APIKeyID}
	csrf := admin.csrf()
	for _, r := range consoleRoutes(t) {
		if r.method != http.MethodPost {
			continue
		}
		path := r.path(vals)
		what := r.method + " " + r.pattern
		admin.post(path, url.Values{"name": {"x"}, "totp": {"123456"}}).want(t, http.StatusForbidden, what+" without a CSRF token")
		admin.post(path, url.Values{"csrf": {"forged"}, "name": {"x"}}).want(t, http.StatusForbidden, what+" with a wrong CSRF token")
		admin.header.Set("Sec-Fetch-Site", "cross-site")
		admin.header.Set("Origin", "https://evil.example")
		admin.post(path, url.Values{"csrf": {csrf}, "name": {"x"}}).want(t, http.StatusForbidden, what+" from another site")
		admin.header = http.Header{}
	}
	if ps, _ := e.store.ListProjects(t.Context()); len(ps) != 1 {
		t.Fatalf("%d projects after refused posts, want 1", len(ps))
	}
	if got, _ := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub); got.Status != idgate.StatusConfirmed {
		t.Fatalf("user status %s after refused posts", got.Status)
	}
	// With the token, from the console itself, it works.
	admin.post("/admin/pools/"+c.UserPoolID+"/users/"+u.Sub+"/signout", url.Values{"csrf": {csrf}}).want(t, http.StatusSeeOther, "sign-out with the token")
}

// TestConsoleReauthentication: disabling a user, revoking an API key,
// rotating a client secret and deleting a user need a TOTP code entered
// within the last few minutes; without one the page asks for it and
// nothing changes.
func TestConsoleReauthentication(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.client()
	admin.setup("root@example.com")
	c := e.project("Careful")
	u := e.user(c.UserPoolID, "careful@example.com")
	csrf := admin.csrf()
	base := "/admin/pools/" + c.UserPoolID + "/users/" + u.Sub
	actions := []struct {
		name, path string
		form       url.Values
		changed    func() bool
	}{
		{"disable user", base + "/disable", url.Values{}, func() bool {
			got, _ := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub)
			return got.Status == idgate.StatusDisabled
		}},
		{"revoke API key", "/admin/apikeys/" + c.APIKeyID + "/revoke", url.Values{}, func() bool {
			k, _ := e.store.GetAPIKey(t.Context(), c.APIKeyID)
			return !k.RevokedAt.IsZero()
		}},
		{"rotate secret", "/admin/apps/" + c.ClientID + "/secret", url.Values{}, func() bool {
			a, _ := e.store.GetApp(t.Context(), c.ClientID)
			return a.SecretHash != ""
		}},
		{"delete user", base + "/delete", url.Values{"confirmEmail": {u.Email}, "reason": {"test"}}, func() bool {
			_, err := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub)
			return err != nil
		}},
	}
	app, _ := e.store.GetApp(t.Context(), c.ClientID)
	oldSecret := app.SecretHash
	actions[2].changed = func() bool { a, _ := e.store.GetApp(t.Context(), c.ClientID); return a.SecretHash != oldSecret }
	for _, a := range actions {
		e.clock.Advance(6 * time.Minute) // past the re-authentication window of the last code
		form := url.Values{"csrf": {csrf}}
		for k, v := range a.form {
			form[k] = v
		}
		p := admin.post(a.path, form).want(t, http.StatusForbidden, a.name+" without a recent code")
		p.contains(t, a.name, "Confirm it", `name="totp"`)
		if a.changed() {
			t.Fatalf("%s happened without a TOTP code", a.name)
		}
		// The prompt re-posts the action's fields; a wrong code is refused.
		retry := p.hidden()
		retry.Set("totp", "000000")
		admin.post(a.path, retry).want(t, http.StatusForbidden, a.name+" with a wrong code").contains(t, a.name, "not valid")
		retry.Set("totp", e.code(admin.secret))
		r := admin.post(a.path, retry)
		if r.status != http.StatusSeeOther && r.status != http.StatusOK {
			t.Fatalf("%s with a code: status %d; body:\n%s", a.name, r.status, r.body)
		}
		if !a.changed() {
			t.Fatalf("%s did not happen after the code", a.name)
		}
	}
	// Within the window of the last code, it is not asked again.
	other := e.user(c.UserPoolID, "other@example.com")
	admin.post("/admin/pools/"+c.UserPoolID+"/users/"+other.Sub+"/disable", url.Values{"csrf": {csrf}}).
		want(t, http.StatusSeeOther, "disable within the re-authentication window")
	if got, _ := e.store.GetUser(t.Context(), c.UserPoolID, other.Sub); got.Status != idgate.StatusDisabled {
		t.Fatalf("status %s after disabling within the window", got.Status)
	}
}

// TestConsoleSetupLinkIsSingleUse: the setup link creates one
// administrator, once.
func TestConsoleSetupLinkIsSingleUse(t *testing.T) {
	e := newConsoleEnv(t)
	b := e.client()
	b.get("/admin/setup").want(t, http.StatusForbidden, "setup without a token").contains(t, "no token", "invalid, expired or already used")
	tok := e.setupToken()
	page := b.get("/admin/setup?token="+url.QueryEscape(tok)).want(t, http.StatusOK, "setup page")
	page.contains(t, "setup page", `src="data:image/png;base64,`, `id="totp-secret"`, `autocomplete="one-time-code"`)
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("console CSP = %q", csp)
	}
	secretB32 := consoleSecretRe.FindStringSubmatch(page.body)[1]
	form := page.hidden()
	form.Set("email", "root@example.com")
	form.Set("password", consolePassword)
	form.Set("code", e.code(secretB32))
	r := b.post("/admin/setup", form).want(t, http.StatusSeeOther, "setup")
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "idgate_console=") && (!strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") || !strings.Contains(c, "Path=/admin")) {
			t.Fatalf("session cookie %q lacks HttpOnly, SameSite=Strict or Path=/admin", c)
		}
	}
	b.get("/admin").want(t, http.StatusOK, "dashboard after setup").contains(t, "dashboard", "root@example.com")

	again := e.client()
	again.get("/admin/setup?token="+url.QueryEscape(tok)).want(t, http.StatusForbidden, "used setup link")
	form.Set("email", "intruder@example.com")
	form.Set("code", e.code(secretB32))
	pre := again.get("/admin/signin").hidden().Get("csrf")
	form.Set("csrf", pre)
	again.post("/admin/setup", form).want(t, http.StatusForbidden, "setup with a used token")
	if n, _ := e.store.CountAdmins(t.Context()); n != 1 {
		t.Fatalf("%d administrators, want 1", n)
	}
	if tok, _ := e.console.IssueSetupToken(t.Context()); tok != "" {
		t.Fatal("a setup token was issued although an administrator exists")
	}
}

// TestConsoleSessionExpiry: sessions end after 30 minutes without activity
// and 8 hours after sign-in whatever the activity.
func TestConsoleSessionExpiry(t *testing.T) {
	e := newConsoleEnv(t)
	b := e.client()
	b.setup("root@example.com")
	e.clock.Advance(29 * time.Minute)
	b.get("/admin").want(t, http.StatusOK, "after 29 idle minutes")
	e.clock.Advance(31 * time.Minute)
	p := b.get("/admin/projects").want(t, http.StatusSeeOther, "after 31 idle minutes")
	if p.location != "/admin/signin?next=%2Fadmin%2Fprojects" {
		t.Fatalf("expired session redirects to %q", p.location)
	}
	r := b.signIn("root@example.com")
	if r.location != "/admin" {
		t.Fatalf("sign-in went to %q", r.location)
	}
	start := e.clock.Now()
	for e.clock.Now().Sub(start) < 8*time.Hour-20*time.Minute {
		e.clock.Advance(20 * time.Minute)
		b.get("/admin").want(t, http.StatusOK, "active session")
	}
	e.clock.Advance(20 * time.Minute)
	b.get("/admin").want(t, http.StatusSeeOther, "after 8 hours")
}

// TestConsoleSignInNeedsTOTP: the password alone does not sign in; a wrong
// code is refused; sign-out ends the session.
func TestConsoleSignInNeedsTOTP(t *testing.T) {
	e := newConsoleEnv(t)
	first := e.client()
	first.setup("root@example.com")
	b := e.client()
	b.secret = first.secret
	form := b.get("/admin/signin").hidden()
	form.Set("email", "root@example.com")
	form.Set("password", "not the password")
	b.post("/admin/signin", form).want(t, http.StatusUnauthorized, "wrong password").contains(t, "wrong password", "Incorrect email, password or code.")
	form.Set("password", consolePassword)
	mfa := b.post("/admin/signin", form).want(t, http.StatusOK, "password step")
	b.get("/admin").want(t, http.StatusSeeOther, "dashboard after the password alone")
	code := mfa.hidden()
	code.Set("code", "000000")
	b.post("/admin/signin/mfa", code).want(t, http.StatusUnauthorized, "wrong code")
	code.Set("code", e.code(b.secret))
	b.post("/admin/signin/mfa", code).want(t, http.StatusSeeOther, "right code")
	b.get("/admin").want(t, http.StatusOK, "dashboard")
	b.post("/admin/signout", url.Values{"csrf": {b.csrf()}}).want(t, http.StatusSeeOther, "sign out")
	b.get("/admin").want(t, http.StatusSeeOther, "dashboard after sign-out")
}

// TestConsoleInvitation: an administrator invites another, who joins with
// the link (once) and signs in with their own authenticator.
func TestConsoleInvitation(t *testing.T) {
	e := newConsoleEnv(t)
	root := e.client()
	root.setup("root@example.com")
	p := root.post("/admin/admins/invite", url.Values{"csrf": {root.csrf()}, "email": {"Second@Example.com"}}).want(t, http.StatusOK, "invite")
	link := p.values()["invite-link"]
	if !strings.HasPrefix(link, e.srv.URL+"/admin/join?token=") {
		t.Fatalf("invitation link %q", link)
	}
	second := e.client()
	page := second.get(link).want(t, http.StatusOK, "join page").contains(t, "join page", "second@example.com")
	second.secret = consoleSecretRe.FindStringSubmatch(page.body)[1]
	form := page.hidden()
	form.Set("password", consolePassword)
	form.Set("code", e.code(second.secret))
	second.post("/admin/join", form).want(t, http.StatusSeeOther, "join")
	second.get("/admin/admins").want(t, http.StatusOK, "admins page").contains(t, "admins", "root@example.com", "second@example.com")
	e.client().get(link).want(t, http.StatusForbidden, "used invitation")
	third := e.client()
	third.secret = second.secret
	third.signIn("second@example.com")
	third.get("/admin").want(t, http.StatusOK, "dashboard of the invited administrator")
}
