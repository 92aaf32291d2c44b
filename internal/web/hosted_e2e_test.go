package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idgate/idgate/internal/idgate"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// e2e drives one headless Chromium tab through the hosted login and keeps
// a screenshot of every page it saw (kept only when the test fails).
type e2e struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s is not installed (apt-get install chromium): skipping the browser test", chromiumPath)
	}
	shots, err := os.MkdirTemp("", "idgate-e2e-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots of every page are in %s", shots)
			return
		}
		os.RemoveAll(shots)
	})
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return &e2e{t: t, ctx: ctx, shots: shots}
}

// do runs the steps (20 s at most), then saves a screenshot of the page.
func (x *e2e) do(name string, steps ...chromedp.Action[chromedp.Void]) {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(x.ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, steps...)
	x.shot(name)
	if err != nil {
		x.t.Fatalf("%s: %v (page %s)", name, err, x.location())
	}
}

// shot saves a full-page PNG screenshot.
func (x *e2e) shot(name string) {
	x.n++
	ctx, cancel := context.WithTimeout(x.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(x.shots, fmt.Sprintf("%02d-%s.png", x.n, name)), png, 0o644)
	}
	if err != nil {
		x.t.Logf("screenshot %s: %v", name, err)
	}
}

// text returns the text of the first element matching sel.
func (x *e2e) text(sel string) string {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(x.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		x.t.Fatalf("text of %s: %v (page %s)", sel, err, x.location())
	}
	return strings.TrimSpace(s)
}

func (x *e2e) location() string {
	ctx, cancel := context.WithTimeout(x.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// fill types into the fields (selector, value pairs).
func fill(kv ...string) []chromedp.Action[chromedp.Void] {
	var out []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, chromedp.WaitVisible(chromedp.CSS(kv[i])), chromedp.SendKeys(chromedp.CSS(kv[i]), kv[i+1]))
	}
	return out
}

func steps(groups ...[]chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
	var out []chromedp.Action[chromedp.Void]
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func one(a ...chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] { return a }

// TestHostedBrowserEndToEnd runs the whole "Password-MFA" product in a
// real headless Chromium: sign up, verify the email with the code a real
// SMTP server received, enrol TOTP from the secret on the page, land on the
// app with a code and exchange it, sign out, sign in with password + TOTP,
// with a recovery code (once, not twice), reset the password, and see the
// old session fail.
func TestHostedBrowserEndToEnd(t *testing.T) {
	x := newE2E(t)
	h := newHostedEnv(t, hostedOpts{smtp: true, rate: generous.rate})
	c := h.hostedProject(string(idgate.EnvDevelopment), idgate.MFARequired)
	const email = "ada@example.com"
	start := h.srv.URL + codeURL(c, "state", "e2e-state")
	pool := "/" + c.UserPoolID

	// Sign up.
	x.do("login-page", chromedp.Navigate(start), chromedp.WaitVisible(chromedp.CSS("#signup-link")))
	if !strings.Contains(x.text("main"), "Acme Notes") {
		t.Fatalf("the login page does not say where the user signs in: %q", x.text("main"))
	}
	x.do("signup-page", chromedp.Click(chromedp.CSS("#signup-link")), chromedp.WaitVisible(chromedp.CSS("#password_confirm")))
	mails := h.smtp.count()
	x.do("signup-submitted", steps(fill("#email", email, "#password", testPassword, "#password_confirm", testPassword),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/signup"] button`)), chromedp.WaitVisible(chromedp.CSS("#code"))))...)
	code := h.smtp.code(t, email, mails)
	x.do("verified", steps(fill("#code", code),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/signup/verify"] button`)), chromedp.WaitVisible(chromedp.CSS("#totp-secret"))))...)

	// Enrol TOTP from the secret shown on the page.
	secret := strings.ReplaceAll(x.text("#totp-secret"), " ", "")
	x.do("enrolled", steps(fill("#code", totpCode(t, secret, h.clock.Now())),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/mfa/setup"] button`)), chromedp.WaitVisible(chromedp.CSS("#recovery-codes"))))...)
	codes := regexp.MustCompile(`[a-z2-9]{5}-[a-z2-9]{5}`).FindAllString(x.text("#recovery-codes"), -1)
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	x.do("app-after-signup", chromedp.Click(chromedp.CSS("#continue")), chromedp.WaitVisible(chromedp.CSS("#app")))
	if loc := x.location(); !strings.HasPrefix(loc, h.callback) || !strings.Contains(loc, "state=e2e-state") {
		t.Fatalf("landed on %s", loc)
	}
	first := h.exchange(c, x.text("#code"))
	if got := amr(t, first.IDToken); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr = %v", got)
	}

	// Log out (global sign-out through the session API): the browser's
	// hosted session ends too, so the code URL asks again.
	h.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": first.AccessToken}, 200, nil)
	h.nextStep() // the enrolment code's step is spent: replay protection
	x.do("login-again", chromedp.Navigate(start), chromedp.WaitVisible(chromedp.CSS("#password")))
	x.do("password-entered", steps(fill("#email", email, "#password", testPassword),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/login"] button`)), chromedp.WaitVisible(chromedp.CSS("#code"))))...)
	x.do("totp-entered", steps(fill("#code", totpCode(t, secret, h.clock.Now())),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/login/mfa"] button`)), chromedp.WaitVisible(chromedp.CSS("#app"))))...)
	second := h.exchange(c, x.text("#code"))

	// A recovery code signs in once.
	recovery := func(name, code string, wantApp bool) {
		x.do(name+"-login", chromedp.Navigate(start+"&prompt=login"), chromedp.WaitVisible(chromedp.CSS("#password")))
		x.do(name+"-password", steps(fill("#email", email, "#password", testPassword),
			one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/login"] button`)), chromedp.WaitVisible(chromedp.CSS("summary"))))...)
		wait := chromedp.WaitVisible(chromedp.CSS("#app"))
		if !wantApp {
			wait = chromedp.WaitVisible(chromedp.CSS("#form-error"))
		}
		x.do(name+"-code", steps(one(chromedp.Click(chromedp.CSS("summary"))), fill("#recovery_code", code),
			one(chromedp.Click(chromedp.CSS(`details form button`)), wait))...)
	}
	recovery("recovery", codes[0], true)
	h.exchange(c, x.text("#code"))
	recovery("recovery-again", codes[0], false)
	if msg := x.text("#form-error"); !strings.Contains(msg, "not correct") {
		t.Fatalf("second use of a recovery code: %q", msg)
	}

	// Reset the password: the old sessions end.
	mails = h.smtp.count()
	x.do("forgot-page", chromedp.Navigate(start+"&prompt=login"), chromedp.WaitVisible(chromedp.CSS("#forgot-link")),
		chromedp.Click(chromedp.CSS("#forgot-link")), chromedp.WaitVisible(chromedp.CSS("#email")))
	x.do("reset-requested", steps(fill("#email", email),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/password/forgot"] button`)), chromedp.WaitVisible(chromedp.CSS("#password_confirm"))))...)
	newPassword := "another long passphrase 77"
	x.do("password-reset", steps(fill("#code", h.smtp.code(t, email, mails), "#password", newPassword, "#password_confirm", newPassword),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/password/reset"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice"))))...)
	if !strings.Contains(x.text(".notice"), "password was changed") {
		t.Fatalf("after the reset: %q", x.text("main"))
	}
	h.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": second.RefreshToken, "clientId": c.ClientID,
		"clientSecret": c.ClientSecret}, 400, "invalid_grant")

	// The new password (and the next TOTP code) sign in.
	h.nextStep()
	x.do("new-password", steps(fill("#password", newPassword),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/login"] button`)), chromedp.WaitVisible(chromedp.CSS("#code"))))...)
	x.do("new-password-totp", steps(fill("#code", totpCode(t, secret, h.clock.Now())),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/login/mfa"] button`)), chromedp.WaitVisible(chromedp.CSS("#app"))))...)
	h.exchange(c, x.text("#code"))
}
