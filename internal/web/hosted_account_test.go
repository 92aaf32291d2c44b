package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idgate/idgate/internal/idgate"
)

func TestHostedOptionalMFAAndAccountPage(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOptional)
	b := h.browser()
	signup := b.get("/"+c.UserPoolID+"/signup?client_id="+c.ClientID).want(t, 200, "sign-up page")
	b.post("/"+c.UserPoolID+"/signup", with(signup.form(), "email", "abe@example.com", "password", testPassword,
		"password_confirm", testPassword)).want(t, http.StatusSeeOther, "sign-up")
	r := b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {h.outboxCode("abe@example.com")}}).want(t, http.StatusSeeOther, "verify")
	offer := b.follow(r).want(t, 200, "MFA offer")
	if !strings.Contains(offer.body, `value="skip"`) {
		t.Fatalf("offer page:\n%s", offer.body)
	}
	// Not now: straight to the app, password only.
	q := b.post("/"+c.UserPoolID+"/mfa/offer", url.Values{"choice": {"skip"}}).want(t, http.StatusSeeOther, "skip").callbackQuery(t, h.callback)
	if got := amr(t, h.exchange(c, q.Get("code")).IDToken); len(got) != 1 || got[0] != "pwd" {
		t.Fatalf("amr = %v", got)
	}

	// The account page (behind the hosted session) offers enrolment.
	acct := b.get("/"+c.UserPoolID+"/account").want(t, 200, "account page")
	if !strings.Contains(acct.body, "abe@example.com") || !strings.Contains(acct.body, "Set up an authenticator app") {
		t.Fatalf("account page:\n%s", acct.body)
	}
	enrol := b.follow(b.post("/"+c.UserPoolID+"/account/mfa", url.Values{})).want(t, 200, "enrolment from the account page")
	secret := totpSecret(t, enrol.body)
	rec := b.post("/"+c.UserPoolID+"/mfa/setup", url.Values{"code": {totpCode(t, secret, h.clock.Now())}}).want(t, 200, "enrolled")
	if len(recoveryRe.FindAllStringSubmatch(rec.body, -1)) != 10 || !strings.Contains(rec.body, `href="/`+c.UserPoolID+`/account"`) {
		t.Fatalf("recovery page:\n%s", rec.body)
	}
	acct = b.get("/"+c.UserPoolID+"/account").want(t, 200, "account page")
	if !strings.Contains(acct.body, "On (10 recovery codes left)") {
		t.Fatalf("account page after enrolment:\n%s", acct.body)
	}
	renewed := b.post("/"+c.UserPoolID+"/account/recovery-codes", url.Values{}).want(t, 200, "new recovery codes")
	if codes := recoveryRe.FindAllStringSubmatch(renewed.body, -1); len(codes) != 10 {
		t.Fatalf("renewed codes page:\n%s", renewed.body)
	}

	// Enrolled users of an optional pool are asked for a code.
	h.nextStep()
	b2 := h.browser()
	r = h.passwordStep(b2, codeURL(c), "abe@example.com", testPassword).want(t, http.StatusSeeOther, "password")
	if !strings.HasSuffix(r.location, "/login/mfa") {
		t.Fatalf("enrolled user of an optional pool went to %q", r.location)
	}

	// Signed out, the account page offers to sign in (for the account).
	b.post("/"+c.UserPoolID+"/account/logout", url.Values{}).want(t, 200, "sign-out")
	out := b.get("/"+c.UserPoolID+"/account").want(t, 200, "account page signed out")
	if !strings.Contains(out.body, "You are not signed in") {
		t.Fatalf("signed-out account page:\n%s", out.body)
	}
	login := b.get("/"+c.UserPoolID+"/login").want(t, 200, "account sign-in")
	r = b.post("/"+c.UserPoolID+"/login", with(login.form(), "email", "abe@example.com", "password", testPassword)).want(t, http.StatusSeeOther, "password")
	b.get(r.location).want(t, 200, "MFA page")
	h.nextStep()
	r = b.post("/"+c.UserPoolID+"/login/mfa", url.Values{"code": {totpCode(t, secret, h.clock.Now())}}).want(t, http.StatusSeeOther, "TOTP")
	if r.location != "/"+c.UserPoolID+"/account" {
		t.Fatalf("account sign-in ended at %q", r.location)
	}
}

func TestHostedRequiredMFAEnrolsExistingUsers(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFARequired)
	h.user(c.UserPoolID, "bea@example.com") // created by an administrator, no authenticator
	b := h.browser()
	r := h.passwordStep(b, codeURL(c, "state", "s2"), "bea@example.com", testPassword).want(t, http.StatusSeeOther, "password")
	if !strings.HasSuffix(r.location, "/mfa/setup") {
		t.Fatalf("user without an authenticator went to %q, want enrolment", r.location)
	}
	enrol := b.get(r.location).want(t, 200, "enrolment page")
	secret := totpSecret(t, enrol.body)
	b.post("/"+c.UserPoolID+"/mfa/setup", url.Values{"code": {"12345"}}).want(t, http.StatusUnauthorized, "wrong first code")
	rec := b.post("/"+c.UserPoolID+"/mfa/setup", url.Values{"code": {totpCode(t, secret, h.clock.Now())}}).want(t, 200, "enrolled")
	q := b.get(htmlUnescape(attr(t, rec.body, `id="continue" href="`))).want(t, http.StatusFound, "continue").callbackQuery(t, h.callback)
	if q.Get("state") != "s2" {
		t.Fatalf("callback = %v", q)
	}
	if got := amr(t, h.exchange(c, q.Get("code")).IDToken); len(got) != 2 || got[1] != "otp" {
		t.Fatalf("amr = %v", got)
	}
	if got := reasons(h.events(c, idgate.EventMFAFailed)); len(got) != 1 || got[0] != "wrong_enrolment_code" {
		t.Fatalf("mfa.failed = %v", got)
	}
}
