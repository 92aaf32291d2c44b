package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
)

const (
	uaFirefoxLinux  = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	uaChromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
	uaSafariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)

// signInAs runs a password sign-in in browser b and exchanges the code.
func (h *hostedEnv) signInAs(b *browser, c tenant.Credentials, email, password string) tokens {
	h.t.Helper()
	q := h.passwordStep(b, codeURL(c), email, password).want(h.t, http.StatusSeeOther, "password").callbackQuery(h.t, h.callback)
	return h.exchange(c, q.Get("code"))
}

// alerts returns the new-sign-in emails the SMTP server received.
func (mb *mailbox) alerts() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []string
	for i, m := range mb.msgs {
		if strings.Contains(strings.ToLower(m.Header.Get("Subject")), "sign-in") {
			out = append(out, mb.text[i])
		}
	}
	return out
}

var sessionRowRe = regexp.MustCompile(`data-sid="([a-z0-9]+)"`)

func TestAccountSessionsAndNewDeviceAlert(t *testing.T) {
	h := newHostedEnv(t, hostedOpts{smtp: true, rate: generous.rate})
	c := h.hostedProject("development", idgate.MFAOff)
	h.user(c.UserPoolID, "ivy@example.com")

	laptop, pc, phone := h.browser(), h.browser(), h.browser()
	laptop.header.Set("User-Agent", uaFirefoxLinux)
	pc.header.Set("User-Agent", uaChromeWindows)
	phone.header.Set("User-Agent", uaSafariIPhone)

	// The first sign-in ever has nothing to compare with: no alert.
	first := h.signInAs(laptop, c, "ivy@example.com", testPassword)
	if n := len(h.smtp.alerts()); n != 0 {
		t.Fatalf("%d alerts after the first sign-in", n)
	}
	// A new browser: the alert reaches the real SMTP server.
	second := h.signInAs(pc, c, "ivy@example.com", testPassword)
	waitFor(t, func() bool { return len(h.smtp.alerts()) == 1 })
	alert := h.smtp.alerts()[0]
	if !strings.Contains(alert, "Chrome on Windows") || !strings.Contains(alert, "/"+c.UserPoolID+"/account") {
		t.Fatalf("alert text:\n%s", alert)
	}
	if evs := h.events(c, idgate.EventNewDevice); len(evs) != 1 {
		t.Fatalf("new-device events = %d", len(evs))
	}
	// The laptop again, signed out of its hosted session first so the
	// password is asked: a known device, no alert.
	laptop.post("/"+c.UserPoolID+"/account/logout", url.Values{}).want(t, 200, "browser sign-out")
	again := h.signInAs(laptop, c, "ivy@example.com", testPassword)
	third := h.signInAs(phone, c, "ivy@example.com", testPassword)
	waitFor(t, func() bool { return len(h.smtp.alerts()) == 2 })
	if got := len(h.events(c, idgate.EventNewDevice)); got != 2 {
		t.Fatalf("new-device events = %d after a known device and a new one", got)
	}

	// The account page lists the four active sessions, the laptop's two
	// marked as this device.
	page := laptop.get("/"+c.UserPoolID+"/account").want(t, 200, "account page")
	if rows := sessionRowRe.FindAllStringSubmatch(page.body, -1); len(rows) != 4 {
		t.Fatalf("%d session rows:\n%s", len(rows), page.body)
	}
	if strings.Count(page.body, "This device") != 2 || !strings.Contains(page.body, "Chrome on Windows") ||
		!strings.Contains(page.body, "Safari on iOS") || !strings.Contains(page.body, "Acme Notes") {
		t.Fatalf("account page:\n%s", page.body)
	}

	// Sign out the PC's session from the laptop.
	pcSID := claims(t, second.AccessToken)["sid"].(string)
	laptop.post("/"+c.UserPoolID+"/account/sessions/"+pcSID+"/end", url.Values{}).want(t, http.StatusSeeOther, "end one session")
	if h.verify(c.APIKey, second.AccessToken).Active || !h.verify(c.APIKey, third.AccessToken).Active || !h.verify(c.APIKey, first.AccessToken).Active {
		t.Fatal("ending one session ended the wrong ones")
	}
	page = laptop.get("/"+c.UserPoolID+"/account?done=ended").want(t, 200, "account page")
	if !strings.Contains(page.body, "That session is signed out") || !strings.Contains(page.body, "(logout)") {
		t.Fatalf("history after ending a session:\n%s", page.body)
	}
	// A session of someone else is not found.
	h.user(c.UserPoolID, "jon@example.com")
	other := h.signInAs(h.browser(), c, "jon@example.com", testPassword)
	laptop.post("/"+c.UserPoolID+"/account/sessions/"+claims(t, other.AccessToken)["sid"].(string)+"/end", url.Values{}).want(t, 404, "someone else's session")

	// Sign out all others: the phone ends, the laptop's sessions stay.
	laptop.post("/"+c.UserPoolID+"/account/sessions/end-others", url.Values{}).want(t, http.StatusSeeOther, "end others")
	if h.verify(c.APIKey, third.AccessToken).Active || !h.verify(c.APIKey, again.AccessToken).Active || !h.verify(c.APIKey, other.AccessToken).Active {
		t.Fatal("sign out all others ended the wrong sessions")
	}
	// The phone's hosted session ended too: its account page asks to sign in.
	if p := phone.get("/"+c.UserPoolID+"/account").want(t, 200, "phone account page"); !strings.Contains(p.body, "You are not signed in") {
		t.Fatalf("phone still signed in:\n%s", p.body)
	}

	// Password change: wrong current password refused; then changed, the
	// laptop keeps its sessions, others (the PC signs in again) end.
	pc.post("/"+c.UserPoolID+"/account/logout", url.Values{}).want(t, 200, "browser sign-out")
	pcAgain := h.signInAs(pc, c, "ivy@example.com", testPassword)
	r := laptop.post("/"+c.UserPoolID+"/account/password", url.Values{"current": {"not my password"}, "new": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}})
	if r.want(t, http.StatusSeeOther, "wrong current").location != "/"+c.UserPoolID+"/account?error=password-current" {
		t.Fatalf("wrong current password went to %q", r.location)
	}
	laptop.post("/"+c.UserPoolID+"/account/password", url.Values{"current": {testPassword}, "new": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}}).
		want(t, http.StatusSeeOther, "change password")
	if h.verify(c.APIKey, pcAgain.AccessToken).Active || !h.verify(c.APIKey, again.AccessToken).Active {
		t.Fatal("password change did not end the other sessions, or ended this device's")
	}
	h.passwordStep(h.browser(), codeURL(c), "ivy@example.com", testPassword).want(t, http.StatusUnauthorized, "old password")
	page = laptop.get("/"+c.UserPoolID+"/account").want(t, 200, "account page")
	if !strings.Contains(page.body, "Password changed") || !strings.Contains(page.body, "(password_changed)") || !strings.Contains(page.body, "Sign-in from a new device") {
		t.Fatalf("security log / history:\n%s", page.body)
	}

	// Download my data.
	exp := laptop.get("/"+c.UserPoolID+"/account/export").want(t, 200, "export")
	var data struct {
		User     map[string]any
		Sessions []map[string]any
		Events   []map[string]any
	}
	if err := json.Unmarshal([]byte(exp.body), &data); err != nil {
		t.Fatal(err)
	}
	if data.User["email"] != "ivy@example.com" || len(data.Sessions) != 5 || len(data.Events) < 10 || strings.Contains(exp.body, "argon2") {
		t.Fatalf("export: %d sessions, %d events", len(data.Sessions), len(data.Events))
	}
	// Without a hosted session there is nothing to download.
	if p := h.browser().get("/"+c.UserPoolID+"/account/export").want(t, 200, "signed out export"); !strings.Contains(p.body, "You are not signed in") {
		t.Fatal("export without a session")
	}
}

func TestNewDeviceAlertsCanBeTurnedOff(t *testing.T) {
	h := newHostedEnv(t, hostedOpts{smtp: true, rate: generous.rate})
	c := h.hostedProject("development", idgate.MFAOff)
	var pool tenant.PoolView
	h.call("PATCH", "/admin/api/pools/"+c.UserPoolID, map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"newDeviceAlerts": false}, 200, &pool)
	if pool.NewDeviceAlerts {
		t.Fatalf("pool = %+v", pool)
	}
	h.user(c.UserPoolID, "kim@example.com")
	h.signInAs(h.browser(), c, "kim@example.com", testPassword)
	h.signInAs(h.browser(), c, "kim@example.com", testPassword)
	if evs := h.events(c, idgate.EventNewDevice); len(evs) != 1 || evs[0].Data["alerted"] != false {
		t.Fatalf("events = %+v", evs)
	}
	if n := len(h.smtp.alerts()); n != 0 {
		t.Fatalf("%d alerts with alerts off", n)
	}
	var bad apiErr
	h.call("PATCH", "/admin/api/pools/"+c.UserPoolID, map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"hostedSessionTtlSeconds": 10}, 400, &bad)
	if !strings.Contains(bad.Description, "hostedSessionTtlSeconds") {
		t.Fatalf("bad ttl: %+v", bad)
	}
}

// waitFor polls cond for up to five seconds (mail is delivered after the
// response, by the mailer).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
