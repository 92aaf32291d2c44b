package web_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idgate/idgate/internal/idgate"
)

// acctRow is one row of the account page's active sessions, as the
// browser shows it.
type acctRow struct {
	SID   string `json:"sid"`
	Badge string `json:"badge"` // text of the .badge, "" without one
	Text  string `json:"text"`
}

// acctRowsJS lists the rows of #active-sessions (none when the list is gone).
const acctRowsJS = `[...document.querySelectorAll("#active-sessions li.session")].map(li => ({
	sid: li.dataset.sid,
	badge: li.querySelector(".badge") ? li.querySelector(".badge").textContent.trim() : "",
	text: li.innerText,
}))`

// acctEval evaluates a script in the page (10 s at most) and decodes its result.
func acctEval[T any](x *e2e, what, script string, opts ...chromedp.EvaluateOption) T {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(x.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script, opts...))
	if err != nil {
		x.shot(what + "-failed")
		x.t.Fatalf("%s: %v (page %s)", what, err, x.location())
	}
	return v
}

// acctMark tags the current document, so that a wait for an element of
// the next page cannot be satisfied by the page being left.
var acctMark = chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.acctOld = "1"`)

const acctNewPage = `html:not([data-acct-old]) `

// TestAccountE2E drives the end-user account page in a real headless
// Chromium: the sessions list with this device marked, signing out another
// session, then all others, and downloading the data.
func TestAccountE2E(t *testing.T) {
	x := newE2E(t)
	h := newHostedEnv(t, generous)
	c := h.hostedProject(string(idgate.EnvSandbox), idgate.MFAOff)
	const email = "una@example.com"
	h.user(c.UserPoolID, email)
	pool := "/" + c.UserPoolID

	// Two other devices, signed in over plain HTTP.
	pc, phone := h.browser(), h.browser()
	pc.header.Set("User-Agent", uaChromeWindows)
	phone.header.Set("User-Agent", uaSafariIPhone)
	bySID := map[string]tokens{}
	sid := func(tk tokens) string { return claims(t, tk.AccessToken)["sid"].(string) }
	for _, b := range []*browser{pc, phone} {
		tk := h.signInAs(b, c, email, testPassword)
		bySID[sid(tk)] = tk
	}

	// This browser signs in through the hosted login.
	x.do("login-page", chromedp.Navigate(h.srv.URL+codeURL(c, "state", "account-e2e")), chromedp.WaitVisible(chromedp.CSS("#password")))
	x.do("signed-in", steps(fill("#email", email, "#password", testPassword),
		one(chromedp.Click(chromedp.CSS(`form[action="`+pool+`/login"] button`)), chromedp.WaitVisible(chromedp.CSS("#app"))))...)
	if loc := x.location(); !strings.HasPrefix(loc, h.callback) || !strings.Contains(loc, "state=account-e2e") {
		t.Fatalf("landed on %s", loc)
	}
	mine := h.exchange(c, x.text("#code"))
	mySID := sid(mine)
	bySID[mySID] = mine

	// The account page: three active sessions, this one marked.
	x.do("account", chromedp.Navigate(h.srv.URL+pool+"/account"), chromedp.WaitVisible(chromedp.CSS("#active-sessions")))
	if got := x.text("#account-email"); got != email {
		t.Fatalf("account page email = %q", got)
	}
	rows := acctEval[[]acctRow](x, "sessions", acctRowsJS)
	if len(rows) != 3 {
		t.Fatalf("%d active sessions shown, want 3: %+v", len(rows), rows)
	}
	var marked []acctRow
	var others []string
	for _, r := range rows {
		if _, ok := bySID[r.SID]; !ok {
			t.Fatalf("row of an unknown session %q: %+v", r.SID, rows)
		}
		if r.Badge != "" {
			marked = append(marked, r)
		} else {
			others = append(others, r.SID)
		}
	}
	if len(marked) != 1 || marked[0].Badge != "This device" || marked[0].SID != mySID {
		t.Fatalf("this device badge on %+v, want only on %s; rows %+v", marked, mySID, rows)
	}
	page := x.text("#active-sessions")
	if !strings.Contains(page, "Chrome on Windows") || !strings.Contains(page, "Safari on iOS") || !strings.Contains(page, "Acme Notes") {
		t.Fatalf("sessions list:\n%s", page)
	}

	// Sign out one of the other sessions with its own button.
	ended, kept := others[0], others[1]
	x.do("ended-one", acctMark, chromedp.Click(chromedp.CSS(`#active-sessions li.session[data-sid="`+ended+`"] button`)),
		chromedp.WaitVisible(chromedp.CSS(acctNewPage+".notice")))
	if loc, notice := x.location(), x.text(".notice"); !strings.HasSuffix(loc, pool+"/account?done=ended") || !strings.Contains(notice, "That session is signed out") {
		t.Fatalf("after ending a session: %s, notice %q", loc, notice)
	}
	rows = acctEval[[]acctRow](x, "sessions-after-end", acctRowsJS)
	if sids := acctSIDs(rows); len(sids) != 2 || slices.Contains(sids, ended) || !slices.Contains(sids, kept) || !slices.Contains(sids, mySID) {
		t.Fatalf("active sessions after ending %s: %+v", ended, rows)
	}
	if hist := x.text(`#session-history li[data-sid="` + ended + `"]`); !strings.Contains(hist, "(logout)") {
		t.Fatalf("history row of the ended session: %q", hist)
	}
	if h.verify(c.APIKey, bySID[ended].AccessToken).Active {
		t.Fatal("the signed-out session's access token still verifies")
	}
	if !h.verify(c.APIKey, bySID[kept].AccessToken).Active || !h.verify(c.APIKey, mine.AccessToken).Active {
		t.Fatal("ending one session ended another")
	}

	// Sign out all the others: only this browser's session remains.
	x.do("ended-others", acctMark, chromedp.Click(chromedp.CSS("#end-others")),
		chromedp.WaitVisible(chromedp.CSS(acctNewPage+".notice")))
	if loc, notice := x.location(), x.text(".notice"); !strings.HasSuffix(loc, pool+"/account?done=others") || !strings.Contains(notice, "All your other sessions are signed out") {
		t.Fatalf("after ending the others: %s, notice %q", loc, notice)
	}
	rows = acctEval[[]acctRow](x, "sessions-after-others", acctRowsJS)
	if len(rows) != 1 || rows[0].SID != mySID || rows[0].Badge != "This device" {
		t.Fatalf("active sessions after ending the others: %+v", rows)
	}
	if h.verify(c.APIKey, bySID[kept].AccessToken).Active || !h.verify(c.APIKey, mine.AccessToken).Active {
		t.Fatal("sign out all others ended the wrong sessions")
	}

	// Download the data. The link has a download attribute, so read its
	// href and fetch it with the browser's cookies instead of using the
	// download manager. The hosted pages' CSP (default-src 'none') forbids
	// fetch, as it should, so fetch from the app's page on the same origin.
	link := acctEval[struct {
		Href     string `json:"href"`
		Download bool   `json:"download"`
	}](x, "download-link", `(a => ({href: a.href, download: a.hasAttribute("download")}))(document.getElementById("download-data"))`)
	if link.Href != h.srv.URL+pool+"/account/export" || !link.Download {
		t.Fatalf("download link = %+v", link)
	}
	x.do("app-page", chromedp.Navigate(h.callback), chromedp.WaitVisible(chromedp.CSS("#app")))
	got := acctEval[struct {
		Status      int    `json:"status"`
		Type        string `json:"type"`
		Disposition string `json:"disposition"`
		Body        string `json:"body"`
	}](x, "download", `fetch(`+acctJSString(link.Href)+`, {credentials: "same-origin"}).then(async r => ({
		status: r.status, type: r.headers.get("Content-Type") || "", disposition: r.headers.get("Content-Disposition") || "", body: await r.text(),
	}))`, chromedp.EvalAwaitPromise)
	if got.Status != 200 || !strings.Contains(got.Type, "application/json") || !strings.Contains(got.Disposition, "attachment") {
		t.Fatalf("export: status %d, type %q, disposition %q; body:\n%s", got.Status, got.Type, got.Disposition, got.Body)
	}
	var data struct {
		User     map[string]any
		Sessions []map[string]any
	}
	if err := json.Unmarshal([]byte(got.Body), &data); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, got.Body)
	}
	if data.User["email"] != email || len(data.Sessions) != 3 || strings.Contains(got.Body, "argon2") {
		t.Fatalf("export: user %v, %d sessions, argon2 %v", data.User["email"], len(data.Sessions), strings.Contains(got.Body, "argon2"))
	}
}

// acctSIDs returns the session IDs of the rows.
func acctSIDs(rows []acctRow) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.SID)
	}
	return out
}

// acctJSString quotes s as a JavaScript string literal.
func acctJSString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
