package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// consoleChromiumPath is Debian's Chromium, which the end-to-end test drives.
const consoleChromiumPath = "/usr/bin/chromium"

// consoleBrowser is a headless Chromium on a fresh profile that saves a
// screenshot of the page when a step fails.
type consoleBrowser struct {
	t    *testing.T
	ctx  context.Context
	shot string // directory of failure screenshots
	n    int
}

func newConsoleBrowser(t *testing.T) *consoleBrowser {
	t.Helper()
	if _, err := os.Stat(consoleChromiumPath); err != nil {
		t.Skipf("end-to-end console test needs Chromium at %s (apt-get install -y chromium): %v", consoleChromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(consoleChromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Skipf("Chromium at %s does not start: %v", consoleChromiumPath, err)
	}
	return &consoleBrowser{t: t, ctx: ctx}
}

// run runs the actions of one step; on failure it saves a screenshot and
// fails the test.
func (b *consoleBrowser) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.n++
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot(step)
		b.t.Fatalf("step %d (%s): %v", b.n, step, err)
	}
}

// screenshot saves the current page under a temporary directory and logs
// where.
func (b *consoleBrowser) screenshot(step string) {
	if b.shot == "" {
		dir, err := os.MkdirTemp("", "idgate-console-e2e-")
		if err != nil {
			b.t.Logf("no screenshot: %v", err)
			return
		}
		b.shot = dir
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("no screenshot of %q: %v", step, err)
		return
	}
	name := filepath.Join(b.shot, strings.NewReplacer(" ", "-", "/", "-").Replace(step)+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the failed step: %s", name)
}

// text reads the text of the element matching sel.
func (b *consoleBrowser) text(step, sel string) string {
	b.t.Helper()
	b.run(step, chromedp.WaitVisible(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.screenshot(step)
		b.t.Fatalf("%s: %v", step, err)
	}
	return strings.TrimSpace(s)
}

// TestConsoleEndToEnd walks the documents' path in Chromium: first-run
// setup, create a project, copy its credentials from the page, use them
// for a hosted login and the session API, find the user in the console,
// revoke their session, delete them with the confirmations, and see the
// audit entries.
func TestConsoleEndToEnd(t *testing.T) {
	e := newConsoleEnv(t)
	b := newConsoleBrowser(t)
	t.Cleanup(func() {
		if t.Failed() && b.n > 0 {
			b.screenshot("at-failure")
		}
	})
	base := e.srv.URL

	// First-run setup: the link serve prints, email, password, TOTP.
	b.run("open the setup link", chromedp.Navigate(base+"/admin/setup?token="+e.setupToken()),
		chromedp.WaitVisible(chromedp.CSS(`img.qr`)))
	secretB32 := b.text("read the TOTP key", "#totp-secret")
	b.run("set up the first administrator",
		chromedp.SendKeys(chromedp.CSS("#email"), "root@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), consolePassword),
		chromedp.SendKeys(chromedp.CSS("#code"), e.code(secretB32)),
		chromedp.Submit(chromedp.CSS("#code")),
		chromedp.WaitVisible(chromedp.CSS("#active-sessions")),
		chromedp.WaitVisible(chromedp.CSS("#chart-24h")))

	// Create a project: the documents' three fields, callback, MFA off.
	b.run("create a project",
		chromedp.Navigate(base+"/admin/projects/new"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Demo Shop"),
		chromedp.SetValue(chromedp.CSS("#environment"), "sandbox"),
		chromedp.SetValue(chromedp.CSS("#appType"), "web"),
		chromedp.SendKeys(chromedp.CSS("#callbackUrl"), "https://app.example/callback"),
		chromedp.SetValue(chromedp.CSS("#mfa"), "off"),
		chromedp.Submit(chromedp.CSS("#name")),
		chromedp.WaitVisible(chromedp.CSS("#clientSecret")))

	// Copy the credentials from the page.
	creds := map[string]string{}
	for _, id := range []string{"projectId", "userPoolId", "userPoolDomain", "clientId", "clientSecret", "apiKey", "codeURL", "issuer"} {
		creds[id] = b.text("read "+id, "#"+id)
		if creds[id] == "" {
			t.Fatalf("credential %s is empty on the page", id)
		}
	}
	testLogin := b.attr("read the test login link", "#test-login", "href")
	if testLogin != creds["codeURL"] || creds["codeURL"] != base+"/v2/mfa/code/"+creds["clientId"] || creds["issuer"] != base+"/"+creds["userPoolId"] {
		t.Fatalf("credentials %v, test login %q", creds, testLogin)
	}

	pool, err := e.store.GetPool(t.Context(), creds["userPoolId"])
	if p, _ := e.store.GetProject(t.Context(), creds["projectId"]); err != nil || p.Environment != "sandbox" || p.Name != "Demo Shop" || pool.MFAPolicy != "off" {
		t.Fatalf("project %+v, pool %+v (%v): not what the form asked for", p, pool, err)
	}

	// Use them: a user, a hosted login over HTTP, the session API.
	user := e.user(creds["userPoolId"], "ada@example.com")
	code := e.hostedLogin(testLogin, user.Email)
	tok := e.sessionAPI(creds["apiKey"], "gettokenfromcode", map[string]any{"code": code, "clientId": creds["clientId"], "clientSecret": creds["clientSecret"]})
	access, _ := tok["access_token"].(string)
	if v := e.sessionAPI(creds["apiKey"], "verifyaccesstoken", map[string]any{"accessToken": access}); v["active"] != true || v["sub"] != user.Sub {
		t.Fatalf("verify before revocation: %v", v)
	}

	// Find the user in the console and revoke the session.
	b.run("search the user",
		chromedp.Navigate(base+"/admin/projects/"+creds["projectId"]+"/users"),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "ada@"),
		chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitVisible(chromedp.CSS(`#users a`)),
		chromedp.Click(chromedp.CSS(`#users a`)),
		chromedp.WaitVisible(chromedp.CSS("#sessions")))
	if got := b.text("read the sub", "#user-sub"); got != user.Sub {
		t.Fatalf("user page of %q, want %q", got, user.Sub)
	}
	b.run("revoke the session",
		chromedp.Click(chromedp.CSS(`#sessions button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if n := b.text("read the notice", "p.notice"); !strings.Contains(n, "revoked") {
		t.Fatalf("notice after revoking: %q", n)
	}
	if v := e.sessionAPI(creds["apiKey"], "verifyaccesstoken", map[string]any{"accessToken": access}); v["revoked"] != true || v["active"] != false {
		t.Fatalf("verify after the console revoked the session: %v", v)
	}

	// Delete the user: type the email, give a reason, enter a TOTP code.
	b.run("open the deletion page",
		chromedp.Click(chromedp.CSS("#delete-link")),
		chromedp.WaitVisible(chromedp.CSS("#confirmEmail")),
		chromedp.SendKeys(chromedp.CSS("#confirmEmail"), user.Email),
		chromedp.SendKeys(chromedp.CSS("#reason"), "the user asked to be forgotten"),
		chromedp.SendKeys(chromedp.CSS("#totp"), e.code(secretB32)),
		chromedp.Click(chromedp.CSS("#confirm-delete")),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if n := b.text("read the deletion notice", "p.notice"); !strings.Contains(n, "deleted") {
		t.Fatalf("notice after deleting: %q", n)
	}
	if _, err := e.store.GetUser(t.Context(), creds["userPoolId"], user.Sub); err == nil {
		t.Fatal("the user still exists after the console deleted them")
	}

	// The audit page shows what happened, and the chain verifies.
	b.run("open the audit log",
		chromedp.Navigate(base+"/admin/projects/"+creds["projectId"]+"/audit"),
		chromedp.WaitVisible(chromedp.CSS("#events")))
	events := b.text("read the events", "#events")
	for _, want := range []string{"project.created", "user.created", "login.succeeded", "session.revoked", "user.deletion_requested", "user.deleted", "the user asked to be forgotten"} {
		if !strings.Contains(events, want) {
			t.Errorf("the audit page lacks %q:\n%s", want, events)
		}
	}
	if s := b.text("read the chain status", "#chain-status"); !strings.Contains(s, "Chain verified") {
		t.Errorf("chain status: %q", s)
	}
}

// attr reads an attribute of the element matching sel.
func (b *consoleBrowser) attr(step, sel, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !v.Exists {
		b.screenshot(step)
		b.t.Fatalf("%s: %v (attribute present: %v)", step, err, v.Exists)
	}
	return v.Value
}
