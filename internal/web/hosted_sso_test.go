package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/web"
)

func TestHostedThrottleSparesKnownDevice(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	h.user(c.UserPoolID, "vera@example.com")
	owner := h.browser()
	h.passwordStep(owner, codeURL(c), "vera@example.com", testPassword).want(t, http.StatusSeeOther, "first sign-in").callbackQuery(t, h.callback)

	attacker := h.browser()
	for range 5 {
		h.passwordStep(attacker, codeURL(c), "vera@example.com", "guess guess guess").want(t, http.StatusUnauthorized, "guess")
	}
	// Locked for unknown devices, even with the right password.
	r := h.passwordStep(attacker, codeURL(c), "vera@example.com", testPassword).want(t, http.StatusTooManyRequests, "locked")
	if !strings.Contains(r.body, "Too many failed sign-in attempts") || r.header.Get("Retry-After") != "60" {
		t.Fatalf("locked page (Retry-After %q):\n%s", r.header.Get("Retry-After"), r.body)
	}
	// The owner's browser is a known device: it still signs in.
	h.passwordStep(owner, codeURL(c, "prompt", "login"), "vera@example.com", testPassword).want(t, http.StatusSeeOther, "known device").callbackQuery(t, h.callback)
	// An unknown email is throttled the same way (no enumeration).
	for range 5 {
		h.passwordStep(attacker, codeURL(c), "nobody@example.com", "guess guess guess").want(t, http.StatusUnauthorized, "guess")
	}
	h.passwordStep(attacker, codeURL(c), "nobody@example.com", "guess guess guess").want(t, http.StatusTooManyRequests, "unknown email locked")

	// After the lock, one more failure doubles it.
	h.clock.Advance(61 * time.Second)
	h.passwordStep(attacker, codeURL(c), "vera@example.com", "guess guess guess").want(t, http.StatusUnauthorized, "guess after the lock")
	r = h.passwordStep(attacker, codeURL(c), "vera@example.com", testPassword).want(t, http.StatusTooManyRequests, "locked again")
	if r.header.Get("Retry-After") != "120" {
		t.Fatalf("second lock Retry-After = %q, want 120", r.header.Get("Retry-After"))
	}
	h.clock.Advance(121 * time.Second)
	h.passwordStep(attacker, codeURL(c), "vera@example.com", testPassword).want(t, http.StatusSeeOther, "after the lock").callbackQuery(t, h.callback)

	if n := len(h.events(c, idgate.EventLockout)); n != 3 {
		t.Fatalf("%d lockout events, want 3", n)
	}
	if got := reasons(h.events(c, idgate.EventLoginFailed)); slices.Index(got, "throttled") < 0 {
		t.Fatalf("login.failed reasons %v lack throttled", got)
	}
}

func TestHostedPerIPRateLimit(t *testing.T) {
	h := newHostedEnv(t, hostedOpts{rate: web.RateLimit{PerMinute: 6, Burst: 2}})
	c := h.hostedProject("sandbox", idgate.MFAOff)
	b := h.browser()
	form := url.Values{"client_id": {c.ClientID}, "email": {"wes@example.com"}, "password": {"guess guess guess"}}
	b.post("/"+c.UserPoolID+"/login", form).want(t, http.StatusUnauthorized, "first")
	b.post("/"+c.UserPoolID+"/password/forgot", with(form, "email", "wes@example.com")).want(t, http.StatusSeeOther, "second")
	r := b.post("/"+c.UserPoolID+"/login", form).want(t, http.StatusTooManyRequests, "third")
	if r.header.Get("Retry-After") != "10" || !strings.Contains(r.body, "Too many attempts from your network") {
		t.Fatalf("429 page (Retry-After %q):\n%s", r.header.Get("Retry-After"), r.body)
	}
	// GET pages are not limited; posts resume as the bucket refills.
	b.get("/"+c.UserPoolID+"/login?client_id="+c.ClientID).want(t, 200, "login page")
	h.clock.Advance(10 * time.Second)
	b.post("/"+c.UserPoolID+"/login", form).want(t, http.StatusUnauthorized, "after refill")
}

func TestHostedPromptAndMaxAge(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	h.user(c.UserPoolID, "xavi@example.com")
	b := h.browser()

	// prompt=none without a hosted session: login_required at the callback.
	q := b.get(codeURL(c, "prompt", "none", "state", "s0")).want(t, http.StatusFound, "prompt=none").callbackQuery(t, h.callback)
	if q.Get("error") != "login_required" || q.Get("state") != "s0" || q.Get("iss") != c.Issuer {
		t.Fatalf("prompt=none callback = %v", q)
	}
	// login_hint fills in the email.
	page := b.follow(b.get(codeURL(c, "login_hint", "xavi@example.com"))).want(t, 200, "login page")
	if !strings.Contains(page.body, `value="xavi@example.com"`) {
		t.Fatalf("login_hint not used:\n%s", page.body)
	}
	h.passwordStep(b, codeURL(c), "xavi@example.com", testPassword).want(t, http.StatusSeeOther, "sign-in").callbackQuery(t, h.callback)
	signedInAt := h.clock.Now()
	h.clock.Advance(10 * time.Minute)

	// With the hosted session: prompt=none and a plain request get a code.
	for _, start := range []string{codeURL(c, "prompt", "none"), codeURL(c), codeURL(c, "max_age", "3600")} {
		q = b.get(start).want(t, http.StatusFound, start).callbackQuery(t, h.callback)
		tk := h.exchange(c, q.Get("code"))
		if at, _ := claims(t, tk.IDToken)["auth_time"].(float64); int64(at) != signedInAt.Unix() {
			t.Fatalf("%s: auth_time %v, want the original sign-in %d", start, at, signedInAt.Unix())
		}
	}
	// prompt=login and a max_age shorter than the session's age show the form.
	for _, start := range []string{codeURL(c, "prompt", "login"), codeURL(c, "max_age", "60"), codeURL(c, "max_age", "0")} {
		r := b.get(start).want(t, http.StatusFound, start)
		if !strings.HasPrefix(r.location, "/"+c.UserPoolID+"/login?") {
			t.Fatalf("%s redirected to %q, want the login page", start, r.location)
		}
	}
	// max_age too old with prompt=none: login_required.
	q = b.get(codeURL(c, "prompt", "none", "max_age", "60")).want(t, http.StatusFound, "prompt=none max_age").callbackQuery(t, h.callback)
	if q.Get("error") != "login_required" {
		t.Fatalf("prompt=none with an old session = %v", q)
	}
	// A fresh sign-in through prompt=login carries the new auth_time.
	r := h.passwordStep(b, codeURL(c, "prompt", "login"), "xavi@example.com", testPassword).want(t, http.StatusSeeOther, "forced sign-in")
	tk := h.exchange(c, r.callbackQuery(t, h.callback).Get("code"))
	if at, _ := claims(t, tk.IDToken)["auth_time"].(float64); int64(at) != h.clock.Now().Unix() {
		t.Fatalf("auth_time after prompt=login = %v", at)
	}
}

func TestHostedSSOAcrossAppsAndGlobalSignOut(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFARequired)
	second := h.secondApp(c, false)
	survivor := h.secondApp(c, true)
	u := h.signUp(h.browser(), c, "yara@example.com")
	h.nextStep()
	b := h.browser()
	tk := h.exchange(c, h.loginTOTP(b, c, u).Get("code"))

	// The second app of the pool gets a code without a password.
	q := b.get(codeURL(second)).want(t, http.StatusFound, "SSO").callbackQuery(t, h.callback)
	tk2 := h.exchange(second, q.Get("code"))
	if got := amr(t, tk2.IDToken); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("SSO amr = %v", got)
	}
	if claims(t, tk2.IDToken)["sub"] != claims(t, tk.IDToken)["sub"] || claims(t, tk2.IDToken)["aud"] != second.ClientID {
		t.Fatalf("SSO token claims %v", claims(t, tk2.IDToken))
	}
	// The hosted session is no SSO for another pool's app.
	other := h.hostedProject("sandbox", idgate.MFAOff)
	r := b.get(codeURL(other)).want(t, http.StatusFound, "other pool")
	if !strings.HasPrefix(r.location, "/"+other.UserPoolID+"/login") {
		t.Fatalf("other pool redirected to %q", r.location)
	}

	// Global sign-out ends the hosted session for apps that did not opt in.
	var rev struct {
		RevokedSessions int `json:"revokedSessions"`
	}
	h.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": tk.AccessToken}, 200, &rev)
	for _, app := range []string{c.ClientID, second.ClientID} {
		r := b.get("/v2/mfa/code/"+app).want(t, http.StatusFound, "after global sign-out")
		if !strings.HasPrefix(r.location, "/"+c.UserPoolID+"/login") {
			t.Fatalf("app %s after global sign-out redirected to %q", app, r.location)
		}
	}
	// The app that opted in keeps the documents' behaviour.
	q = b.get(codeURL(survivor)).want(t, http.StatusFound, "survivor").callbackQuery(t, h.callback)
	if q.Get("code") == "" {
		t.Fatalf("survivor callback = %v", q)
	}

	// Signing in again starts a new hosted session, valid for every app.
	h.nextStep()
	h.loginTOTP(b, c, u)
	b.get(codeURL(second)).want(t, http.StatusFound, "SSO after new sign-in").callbackQuery(t, h.callback)

	// Signing out on the account page ends it too.
	b.post("/"+c.UserPoolID+"/account/logout", url.Values{}).want(t, 200, "account sign-out")
	r = b.get(codeURL(second)).want(t, http.StatusFound, "after sign-out")
	if !strings.HasPrefix(r.location, "/"+c.UserPoolID+"/login") {
		t.Fatalf("after sign-out redirected to %q", r.location)
	}
}

func TestHostedPasswordResetEndsSessions(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	h.user(c.UserPoolID, "zena@example.com")
	b := h.browser()
	q := h.passwordStep(b, codeURL(c, "state", "s9"), "zena@example.com", testPassword).want(t, http.StatusSeeOther, "sign-in").callbackQuery(t, h.callback)
	old := h.exchange(c, q.Get("code"))

	// Unknown and known addresses get the same page.
	pages := map[string]string{}
	for _, email := range []string{"zena@example.com", "ghost@example.com"} {
		rb := h.browser()
		if email == "zena@example.com" {
			rb = b
		}
		forgot := rb.get("/"+c.UserPoolID+"/password/forgot?client_id="+c.ClientID+"&state=s9").want(t, 200, "forgot page")
		r := rb.follow(rb.post("/"+c.UserPoolID+"/password/forgot", with(forgot.form(), "email", email))).want(t, 200, "reset page")
		pages[email] = strings.ReplaceAll(r.body, email, "X")
	}
	if pages["zena@example.com"] != pages["ghost@example.com"] {
		t.Fatal("the reset page reveals whether the address is registered")
	}
	if _, ok := h.outbox.Latest("ghost@example.com"); ok {
		t.Fatal("a reset code was emailed to an unregistered address")
	}
	newPassword := "a brand new passphrase 42"
	code, wrong := h.outboxCode("zena@example.com"), "000000"
	if code == wrong {
		wrong = "111111"
	}
	r := b.post("/"+c.UserPoolID+"/password/reset", url.Values{"code": {wrong}, "password": {newPassword}, "password_confirm": {newPassword}})
	r.want(t, http.StatusUnauthorized, "wrong reset code")
	r = b.post("/"+c.UserPoolID+"/password/reset", url.Values{"code": {code}, "password": {newPassword}, "password_confirm": {newPassword}})
	r.want(t, http.StatusSeeOther, "reset")
	login := b.get(r.location).want(t, 200, "login after reset")
	if !strings.Contains(login.body, "Your password was changed") || !strings.Contains(login.body, `value="zena@example.com"`) {
		t.Fatalf("login page after reset:\n%s", login.body)
	}

	// Every session ended: the old refresh token is refused.
	h.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": old.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret},
		400, "invalid_grant")
	if v := h.verify(c.APIKey, old.AccessToken); v.Active {
		t.Fatal("access token still active after the reset")
	}
	sessions, err := h.store.ListSessions(t.Context(), c.UserPoolID, claims(t, old.IDToken)["sub"].(string))
	if err != nil || len(sessions) != 1 || sessions[0].EndReason != idgate.EndPasswordChanged {
		t.Fatalf("sessions after reset = %+v (%v)", sessions, err)
	}
	// So did the hosted session: the code URL asks for the new password.
	r = b.get(codeURL(c)).want(t, http.StatusFound, "after reset")
	if !strings.HasPrefix(r.location, "/"+c.UserPoolID+"/login") {
		t.Fatalf("after reset redirected to %q", r.location)
	}
	h.passwordStep(b, codeURL(c), "zena@example.com", testPassword).want(t, http.StatusUnauthorized, "old password")
	h.passwordStep(b, codeURL(c), "zena@example.com", newPassword).want(t, http.StatusSeeOther, "new password").callbackQuery(t, h.callback)
	if n := len(h.events(c, idgate.EventPasswordReset)); n != 1 {
		t.Fatalf("%d password reset events", n)
	}
}

func TestHostedAuthorizeEndpoint(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	other := h.hostedProject("sandbox", idgate.MFAOff)
	b := h.browser()
	base := "/" + c.UserPoolID + "/authorize?client_id=" + c.ClientID + "&state=s1"
	r := b.get(base+"&response_type=code").want(t, http.StatusFound, "authorize")
	if !strings.HasPrefix(r.location, "/"+c.UserPoolID+"/login?") || !strings.Contains(r.location, "response_type=code") {
		t.Fatalf("authorize redirected to %q", r.location)
	}
	q := b.get(base+"&response_type=token").want(t, http.StatusFound, "token flow").callbackQuery(t, h.callback)
	if q.Get("error") != "unsupported_response_type" || q.Get("state") != "s1" || q.Get("iss") != c.Issuer {
		t.Fatalf("response_type=token = %v", q)
	}
	q = b.get(base).want(t, http.StatusFound, "no response_type").callbackQuery(t, h.callback)
	if q.Get("error") != "invalid_request" {
		t.Fatalf("missing response_type = %v", q)
	}
	// A client of another pool is not redirected anywhere.
	b.get("/"+c.UserPoolID+"/authorize?response_type=code&client_id="+other.ClientID).want(t, http.StatusBadRequest, "foreign client")
	b.get("/"+c.UserPoolID+"/authorize?response_type=code&client_id="+c.ClientID+"&redirect_uri=https://evil.example/cb").
		want(t, http.StatusBadRequest, "unregistered redirect")
	q = b.get(base+"&response_type=code&max_age=soon").want(t, http.StatusFound, "bad max_age").callbackQuery(t, h.callback)
	if q.Get("error") != "invalid_request" {
		t.Fatalf("bad max_age = %v", q)
	}
}
