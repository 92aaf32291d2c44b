package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
)

// Flows of the hosted login driven over plain HTTP (a browser without
// JavaScript), shared by the error-path tests.

const testPassword = "correct horse battery staple"

// codeURL returns the app's code URL with extra parameters.
func codeURL(c tenant.Credentials, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u := "/v2/mfa/code/" + c.ClientID
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// enrolled is a user signed up through the pages, with an authenticator.
type enrolled struct {
	email, secret string
	codes         []string
	callback      url.Values // where the sign-up ended
}

// signUp signs a new user up through the pages of a pool whose MFA policy
// is required: email + password, the emailed code (from the outbox),
// TOTP enrolment, the recovery codes, and back to the app with a code.
func (h *hostedEnv) signUp(b *browser, c tenant.Credentials, email string) enrolled {
	h.t.Helper()
	t := h.t
	login := b.follow(b.get(codeURL(c, "state", "st-1"))).want(t, 200, "login page")
	signup := b.get(htmlUnescape(attr(t, login.body, `id="signup-link" href="`))).want(t, 200, "sign-up page")
	r := b.post("/"+c.UserPoolID+"/signup", with(signup.form(), "email", email, "password", testPassword, "password_confirm", testPassword))
	verify := b.follow(r.want(t, http.StatusSeeOther, "sign-up")).want(t, 200, "verify page")
	if !strings.Contains(verify.body, email) {
		t.Fatalf("verify page does not name the address:\n%s", verify.body)
	}
	r = b.post("/"+c.UserPoolID+"/signup/verify", url.Values{"code": {h.outboxCode(email)}})
	enrol := b.follow(r.want(t, http.StatusSeeOther, "verify")).want(t, 200, "enrolment page")
	if !strings.Contains(enrol.body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page has no QR code:\n%s", enrol.body)
	}
	secret := totpSecret(t, enrol.body)
	rec := b.post("/"+c.UserPoolID+"/mfa/setup", url.Values{"code": {totpCode(t, secret, h.clock.Now())}}).want(t, 200, "confirm enrolment")
	var codes []string
	for _, m := range recoveryRe.FindAllStringSubmatch(rec.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10:\n%s", len(codes), rec.body)
	}
	cont := htmlUnescape(attr(t, rec.body, `id="continue" href="`))
	cb := b.get(cont).want(t, http.StatusFound, "continue after recovery codes").callbackQuery(t, h.callback)
	if cb.Get("code") == "" || cb.Get("state") != "st-1" || cb.Get("iss") != c.Issuer {
		t.Fatalf("callback after sign-up = %v", cb)
	}
	return enrolled{email: email, secret: secret, codes: codes, callback: cb}
}

// attr returns the text after prefix up to the next quote.
func attr(t *testing.T, body, prefix string) string {
	t.Helper()
	i := strings.Index(body, prefix)
	if i < 0 {
		t.Fatalf("page lacks %q:\n%s", prefix, body)
	}
	rest := body[i+len(prefix):]
	return rest[:strings.IndexByte(rest, '"')]
}

// passwordStep posts email and password from the login page the code URL
// leads to, and returns the response.
func (h *hostedEnv) passwordStep(b *browser, start, email, password string) resp {
	h.t.Helper()
	login := b.follow(b.get(start)).want(h.t, 200, "login page")
	return b.post(strings.TrimPrefix(attr(h.t, login.body, `<form method="post" action="`), h.srv.URL),
		with(login.form(), "email", email, "password", password))
}

// mfaStep answers the MFA page with a code (TOTP or recovery).
func (h *hostedEnv) mfaStep(b *browser, c tenant.Credentials, field, code string) resp {
	h.t.Helper()
	return b.post("/"+c.UserPoolID+"/login/mfa", url.Values{field: {code}})
}

// loginTOTP signs the enrolled user in with password and the TOTP code of
// the current clock, and returns the callback query.
func (h *hostedEnv) loginTOTP(b *browser, c tenant.Credentials, u enrolled) url.Values {
	h.t.Helper()
	r := h.passwordStep(b, codeURL(c), u.email, testPassword).want(h.t, http.StatusSeeOther, "password step")
	if !strings.HasSuffix(r.location, "/login/mfa") {
		h.t.Fatalf("password step went to %q, want the MFA page", r.location)
	}
	b.get(r.location).want(h.t, 200, "MFA page")
	r = h.mfaStep(b, c, "code", totpCode(h.t, u.secret, h.clock.Now()))
	return r.want(h.t, http.StatusSeeOther, "TOTP step").callbackQuery(h.t, h.callback)
}

// exchange redeems a code through the session API.
func (h *hostedEnv) exchange(c tenant.Credentials, code string) tokens {
	h.t.Helper()
	var tk tokens
	h.session(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 200, &tk)
	return tk
}

// amr returns the amr claim of an ID token.
func amr(t *testing.T, idToken string) []string {
	t.Helper()
	var out []string
	list, _ := claims(t, idToken)["amr"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// events returns the pool's events of a type.
func (h *hostedEnv) events(c tenant.Credentials, typ string) []idgate.Event {
	h.t.Helper()
	evs, err := h.store.ListEvents(h.t.Context(), idgate.EventFilter{ProjectID: c.ProjectID, Type: typ, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

// reasons lists the "reason" of each event.
func reasons(evs []idgate.Event) []string {
	var out []string
	for _, e := range evs {
		r, _ := e.Data["reason"].(string)
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// nextStep moves the clock to the next TOTP time step.
func (h *hostedEnv) nextStep() {
	now := h.clock.Now()
	h.clock.Advance(time.Duration(30-now.Unix()%30) * time.Second)
}
