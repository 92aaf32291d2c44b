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

// generous keeps the per-IP limit out of the way of tests about other
// things (every test browser shares 127.0.0.1).
var generous = hostedOpts{rate: web.RateLimit{PerMinute: 10000, Burst: 1000}}

func TestHostedSignUpEnrolAndSignIn(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFARequired)
	b := h.browser()
	u := h.signUp(b, c, "nora@example.com")
	tk := h.exchange(c, u.callback.Get("code"))
	if got := amr(t, tk.IDToken); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr after sign-up = %v", got)
	}
	if at, _ := claims(t, tk.IDToken)["auth_time"].(float64); int64(at) != h.clock.Now().Unix() {
		t.Fatalf("auth_time = %v, want %d", at, h.clock.Now().Unix())
	}
	for _, typ := range []string{idgate.EventSignUp, idgate.EventEmailVerified, idgate.EventMFAEnrolled, idgate.EventHostedSessionStarted} {
		if len(h.events(c, typ)) != 1 {
			t.Errorf("%d %s events, want 1", len(h.events(c, typ)), typ)
		}
	}
	user, err := h.store.GetUserByEmail(t.Context(), c.UserPoolID, u.email)
	if err != nil || user.Status != idgate.StatusConfirmed || !user.EmailVerified || len(user.TOTPSecret) == 0 ||
		strings.Contains(string(user.TOTPSecret), u.secret) {
		t.Fatalf("user after sign-up = %+v (%v); the TOTP secret must be stored sealed", user, err)
	}

	// A new browser signs in with password + TOTP (the next time step:
	// the enrolment code's step is spent).
	h.nextStep()
	cb := h.loginTOTP(h.browser(), c, u)
	tk = h.exchange(c, cb.Get("code"))
	if got := amr(t, tk.IDToken); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr after TOTP sign-in = %v", got)
	}

	// A recovery code signs in once, not twice.
	b2 := h.browser()
	h.passwordStep(b2, codeURL(c), u.email, testPassword).want(t, http.StatusSeeOther, "password step")
	cb = h.mfaStep(b2, c, "recovery_code", strings.ToUpper(u.codes[3])).want(t, http.StatusSeeOther, "recovery code").callbackQuery(t, h.callback)
	if got := amr(t, h.exchange(c, cb.Get("code")).IDToken); !slices.Equal(got, []string{"pwd", "mfa"}) {
		t.Fatalf("amr after a recovery code = %v", got)
	}
	b3 := h.browser()
	h.passwordStep(b3, codeURL(c), u.email, testPassword).want(t, http.StatusSeeOther, "password step")
	r := h.mfaStep(b3, c, "recovery_code", u.codes[3]).want(t, http.StatusUnauthorized, "reused recovery code")
	if !strings.Contains(r.body, "That code is not correct") {
		t.Fatalf("reused recovery code page:\n%s", r.body)
	}
	if ev := h.events(c, idgate.EventRecoveryCodeUsed); len(ev) != 1 {
		t.Fatalf("%d recovery_code_used events", len(ev))
	}
}

func TestHostedWrongPassword(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFARequired)
	h.signUp(h.browser(), c, "olga@example.com")
	b := h.browser()
	wrong := h.passwordStep(b, codeURL(c), "olga@example.com", "not the password at all").want(t, http.StatusUnauthorized, "wrong password")
	unknown := h.passwordStep(b, codeURL(c), "nobody@example.com", "not the password at all").want(t, http.StatusUnauthorized, "unknown email")
	for _, r := range []resp{wrong, unknown} {
		if !strings.Contains(r.body, "incorrect email or password.") || passwordRefilledRe(r.body) {
			t.Fatalf("failure page:\n%s", r.body)
		}
	}
	// The pages differ only in the email typed back.
	if strings.ReplaceAll(wrong.body, "olga@example.com", "X") != strings.ReplaceAll(unknown.body, "nobody@example.com", "X") {
		t.Fatal("wrong password and unknown email pages differ")
	}
	if got := reasons(h.events(c, idgate.EventLoginFailed)); !slices.Equal(got, []string{"unknown_user", "wrong_password"}) {
		t.Fatalf("login.failed reasons = %v", got)
	}
}

func passwordRefilledRe(body string) bool {
	return strings.Contains(body, `type="password" autocomplete="current-password" required value=`)
}

func TestHostedWrongAndReplayedTOTP(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFARequired)
	u := h.signUp(h.browser(), c, "pia@example.com")
	h.nextStep()

	b := h.browser()
	h.passwordStep(b, codeURL(c), u.email, testPassword).want(t, http.StatusSeeOther, "password step")
	now := h.clock.Now()
	wrong := totpCode(t, u.secret, now.Add(-10*time.Minute))
	r := h.mfaStep(b, c, "code", wrong).want(t, http.StatusUnauthorized, "wrong TOTP")
	if !strings.Contains(r.body, "That code is not correct") {
		t.Fatalf("wrong TOTP page:\n%s", r.body)
	}
	code := totpCode(t, u.secret, now)
	h.mfaStep(b, c, "code", code).want(t, http.StatusSeeOther, "right TOTP").callbackQuery(t, h.callback)

	// The same code (same time step) in another sign-in is a replay.
	b2 := h.browser()
	h.passwordStep(b2, codeURL(c), u.email, testPassword).want(t, http.StatusSeeOther, "password step")
	r = h.mfaStep(b2, c, "code", code).want(t, http.StatusUnauthorized, "replayed TOTP")
	if !strings.Contains(r.body, "already used") {
		t.Fatalf("replayed TOTP page:\n%s", r.body)
	}
	// The previous step's code is older than the last accepted: refused too.
	r = h.mfaStep(b2, c, "code", totpCode(t, u.secret, now.Add(-30*time.Second))).want(t, http.StatusUnauthorized, "older TOTP")
	h.nextStep()
	h.mfaStep(b2, c, "code", totpCode(t, u.secret, h.clock.Now())).want(t, http.StatusSeeOther, "next step's code").callbackQuery(t, h.callback)
	if got := reasons(h.events(c, idgate.EventMFAFailed)); !slices.Equal(got, []string{"replayed_code", "replayed_code", "wrong_code"}) {
		t.Fatalf("mfa.failed reasons = %v", got)
	}

	// Five wrong codes void the step: back to the start.
	b3 := h.browser()
	h.passwordStep(b3, codeURL(c), u.email, testPassword).want(t, http.StatusSeeOther, "password step")
	for range 4 {
		h.mfaStep(b3, c, "code", wrong).want(t, http.StatusUnauthorized, "wrong TOTP")
	}
	r = h.mfaStep(b3, c, "code", wrong).want(t, http.StatusBadRequest, "fifth wrong TOTP")
	if !strings.Contains(r.body, "Too many incorrect codes") {
		t.Fatalf("fifth wrong code page:\n%s", r.body)
	}
	h.nextStep()
	h.mfaStep(b3, c, "code", totpCode(t, u.secret, h.clock.Now())).want(t, http.StatusBadRequest, "code after the step was voided")
}

func TestHostedVerificationCodeExpiresAndResends(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	b := h.browser()
	signup := b.get("/"+c.UserPoolID+"/signup?client_id="+c.ClientID).want(t, 200, "sign-up page")
	b.post("/"+c.UserPoolID+"/signup", with(signup.form(), "email", "quin@example.com", "password", testPassword,
		"password_confirm", testPassword)).want(t, http.StatusSeeOther, "sign-up")
	first := h.outboxCode("quin@example.com")

	// A resend within the cooldown is refused.
	r := b.post("/"+c.UserPoolID+"/code/resend/signup", url.Values{}).want(t, http.StatusTooManyRequests, "early resend")
	if !strings.Contains(r.body, "A code was sent moments ago") || r.header.Get("Retry-After") == "" {
		t.Fatalf("early resend page:\n%s", r.body)
	}
	h.clock.Advance(16 * time.Minute)
	r = b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {first}}).want(t, http.StatusUnauthorized, "expired code")
	if !strings.Contains(r.body, "This code has expired") {
		t.Fatalf("expired code page:\n%s", r.body)
	}
	if got := reasons(h.events(c, idgate.EventEmailCodeFailed)); !slices.Equal(got, []string{"expired"}) {
		t.Fatalf("email code failures = %v", got)
	}
	b.post("/"+c.UserPoolID+"/code/resend/signup", url.Values{}).want(t, http.StatusSeeOther, "resend")
	second := h.outboxCode("quin@example.com")
	if second == first {
		t.Fatal("the resent code is the old one")
	}
	// MFA off: verification completes the sign-up and returns to the app.
	r = b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {second}}).want(t, http.StatusSeeOther, "verify")
	cb := r.callbackQuery(t, h.callback)
	if got := amr(t, h.exchange(c, cb.Get("code")).IDToken); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("amr = %v", got)
	}
}

func TestHostedVerificationTooManyAttempts(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	b := h.browser()
	signup := b.get("/"+c.UserPoolID+"/signup?client_id="+c.ClientID).want(t, 200, "sign-up page")
	b.post("/"+c.UserPoolID+"/signup", with(signup.form(), "email", "rosa@example.com", "password", testPassword,
		"password_confirm", testPassword)).want(t, http.StatusSeeOther, "sign-up")
	code := h.outboxCode("rosa@example.com")
	bad := "000000"
	if code == bad {
		bad = "111111"
	}
	for range 4 {
		r := b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {bad}}).want(t, http.StatusUnauthorized, "wrong code")
		if !strings.Contains(r.body, "That code is not correct") {
			t.Fatalf("wrong code page:\n%s", r.body)
		}
	}
	r := b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {bad}}).want(t, http.StatusBadRequest, "fifth wrong code")
	if !strings.Contains(r.body, "Too many incorrect codes") {
		t.Fatalf("fifth wrong code page:\n%s", r.body)
	}
	b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {code}}).want(t, http.StatusBadRequest, "right code after the limit")
	if _, err := h.store.GetUserByEmail(t.Context(), c.UserPoolID, "rosa@example.com"); err == nil {
		t.Fatal("the account exists although its address was never verified")
	}
}

func TestHostedSignUpPolicyAndTakenEmail(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	h.user(c.UserPoolID, "sam@example.com")
	b := h.browser()
	signup := b.get("/"+c.UserPoolID+"/signup?client_id="+c.ClientID).want(t, 200, "sign-up page")
	for _, tc := range []struct{ pw, confirm, want string }{
		{"short", "short", "Password must be at least 12 characters."},
		{"password1234", "password1234", "Password is too common"},
		{testPassword, testPassword + "!", "The two passwords do not match."},
	} {
		r := b.post("/"+c.UserPoolID+"/signup", with(signup.form(), "email", "tess@example.com", "password", tc.pw, "password_confirm", tc.confirm)).
			want(t, http.StatusBadRequest, "bad password")
		if !strings.Contains(r.body, tc.want) {
			t.Fatalf("password %q: page lacks %q:\n%s", tc.pw, tc.want, r.body)
		}
	}
	// A taken address goes through the same steps; only the mailbox owner
	// learns it is taken.
	r := b.post("/"+c.UserPoolID+"/signup", with(signup.form(), "email", "sam@example.com", "password", testPassword, "password_confirm", testPassword))
	r.want(t, http.StatusSeeOther, "sign-up with a taken email")
	r = b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {h.outboxCode("sam@example.com")}}).want(t, http.StatusBadRequest, "verify taken")
	if !strings.Contains(r.body, "already exists") {
		t.Fatalf("taken email page:\n%s", r.body)
	}
}

func TestHostedCSRF(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOff)
	b := h.browser()
	signup := b.get("/"+c.UserPoolID+"/signup?client_id="+c.ClientID).want(t, 200, "sign-up page")
	form := with(signup.form(), "email", "uma@example.com", "password", testPassword, "password_confirm", testPassword)
	for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		for _, path := range []string{"/signup", "/login", "/password/forgot", "/login/mfa", "/account/logout"} {
			for k, v := range hdr {
				b.header.Set(k, v)
			}
			r := b.post("/"+c.UserPoolID+path, form).want(t, http.StatusForbidden, "cross-site POST "+path)
			if !strings.Contains(r.body, "submitted from another site") {
				t.Fatalf("CSRF page:\n%s", r.body)
			}
			b.header = http.Header{}
		}
	}
	if _, ok := h.outbox.Latest("uma@example.com"); ok {
		t.Fatal("a cross-site sign-up sent an email")
	}
	b.header.Set("Sec-Fetch-Site", "same-origin")
	b.post("/"+c.UserPoolID+"/signup", form).want(t, http.StatusSeeOther, "same-origin POST")
}

func TestHostedPageHeaders(t *testing.T) {
	h := newHostedEnv(t, generous)
	c := h.hostedProject("sandbox", idgate.MFAOptional)
	b := h.browser()
	for _, path := range []string{"/login", "/signup", "/password/forgot"} {
		r := b.get("/"+c.UserPoolID+path+"?client_id="+c.ClientID).want(t, 200, path)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || r.header.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(r.body, "Acme Notes") || strings.Contains(r.body, "<script") || !strings.Contains(r.body, `href="/static/idgate.css"`) {
			t.Fatalf("%s: headers %v body:\n%s", path, r.header, r.body)
		}
		for _, label := range []string{`<label for="email">`} {
			if !strings.Contains(r.body, label) {
				t.Fatalf("%s lacks %s", path, label)
			}
		}
	}
}
