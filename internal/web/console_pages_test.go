package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// TestConsoleProjectPages: create a project from the form (errors keep
// the input), see every credential once, add an app, edit its URLs and
// token validity (ranges enforced as in the session API), create an API
// key with chosen permissions and see its last use.
func TestConsoleProjectPages(t *testing.T) {
	e := newConsoleEnv(t)
	b := e.client()
	b.setup("root@example.com")
	csrf := b.csrf()
	b.get("/admin/projects/new").want(t, http.StatusOK, "new project form").contains(t, "form", `for="callbackUrl"`, `value="off"`)

	bad := url.Values{"csrf": {csrf}, "name": {"Shop"}, "environment": {"development"}, "appType": {"web"}, "callbackUrl": {"ftp://x"}, "mfa": {"off"}}
	b.post("/admin/projects", bad).want(t, http.StatusBadRequest, "bad callback").contains(t, "bad callback", "callbackUrls", `value="Shop"`)
	good := url.Values{"csrf": {csrf}, "name": {"Shop"}, "environment": {"production"}, "appType": {"web"},
		"callbackUrl": {"https://shop.example/cb"}, "mfa": {"optional"}}
	page := b.post("/admin/projects", good).want(t, http.StatusCreated, "create project")
	creds := page.values()
	for _, k := range []string{"projectId", "userPoolId", "userPoolDomain", "clientId", "clientSecret", "apiKey", "codeURL", "issuer"} {
		if creds[k] == "" {
			t.Fatalf("credentials page lacks %s: %v", k, creds)
		}
	}
	if page.header.Get("Cache-Control") != "no-store" {
		t.Fatal("the credentials page may be cached")
	}
	project := b.get("/admin/projects/"+creds["projectId"]).want(t, http.StatusOK, "project page")
	project.contains(t, "project page", creds["clientId"], creds["userPoolId"], `action="/admin/projects/`+creds["projectId"]+`/apikeys"`)
	if strings.Contains(project.body, creds["clientSecret"]) || strings.Contains(project.body, creds["apiKey"]) {
		t.Fatal("the project page shows a secret again")
	}

	// Another app: a public one, without a secret.
	once := b.post("/admin/projects/"+creds["projectId"]+"/apps", url.Values{"csrf": {csrf}, "name": {"Mobile"}, "appType": {"native"},
		"callbackUrl": {"com.shop.app:/cb"}}).want(t, http.StatusOK, "add app").values()
	if once["clientId"] == "" || once["clientSecret"] != "" {
		t.Fatalf("new public app: %v", once)
	}

	// App settings.
	app := "/admin/apps/" + creds["clientId"]
	b.get(app).want(t, http.StatusOK, "app page").contains(t, "ranges", "5 minutes to 1 days", "1 hours to 3650 days")
	b.post(app+"/urls", url.Values{"csrf": {csrf}, "callbackUrls": {"https://shop.example/cb\nhttps://shop.example/cb2"}, "logoutUrls": {"https://shop.example/bye"}}).
		want(t, http.StatusSeeOther, "save URLs")
	a, _ := e.store.GetApp(t.Context(), creds["clientId"])
	if len(a.CallbackURLs) != 2 || a.LogoutURLs[0] != "https://shop.example/bye" {
		t.Fatalf("app URLs = %v / %v", a.CallbackURLs, a.LogoutURLs)
	}
	validity := url.Values{"csrf": {csrf}, "idTokenValidity": {"2"}, "idUnit": {"days"}, "accessTokenValidity": {"30"}, "accessUnit": {"minutes"},
		"refreshTokenValidity": {"7"}, "refreshUnit": {"days"}}
	b.post(app+"/validity", validity).want(t, http.StatusBadRequest, "ID token of 2 days").contains(t, "range error", "idTokenValidity: must be between 5 minutes and 1 days")
	validity.Set("idTokenValidity", "1")
	b.post(app+"/validity", validity).want(t, http.StatusSeeOther, "valid lifetimes")
	a, _ = e.store.GetApp(t.Context(), creds["clientId"])
	if a.Validity.AccessToken != 30*time.Minute || a.Validity.RefreshToken != 7*24*time.Hour {
		t.Fatalf("validity = %+v", a.Validity)
	}

	// API keys: chosen permissions, shown once, last use listed.
	key := b.post("/admin/projects/"+creds["projectId"]+"/apikeys", url.Values{"csrf": {csrf}, "permissions": {"session:read", "users:delete"}}).
		want(t, http.StatusOK, "create API key").values()
	k, err := e.store.GetAPIKey(t.Context(), key["apiKeyId"])
	if err != nil || !k.Has(idgate.PermUsersDelete) || k.Has(idgate.PermSessionWrite) {
		t.Fatalf("new key %+v, %v", k, err)
	}
	b.post("/admin/projects/"+creds["projectId"]+"/apikeys", url.Values{"csrf": {csrf}}).want(t, http.StatusBadRequest, "key without permissions")
	consoleJSON(t, e.srv.URL+"/v2/sessionmgt/verifyaccesstoken", key["apiKey"], map[string]any{"accessToken": "x.y.z"})
	used, _ := e.store.GetAPIKey(t.Context(), key["apiKeyId"])
	if used.LastUsedAt.IsZero() {
		t.Fatal("the key's use was not recorded")
	}
	b.get("/admin/projects/"+creds["projectId"]).contains(t, "last used", used.LastUsedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// TestConsoleUserPages: search by email prefix and by sub, edit attributes
// with the API's validation, revoke one session, sign out everywhere,
// disable and enable, export.
func TestConsoleUserPages(t *testing.T) {
	e := newConsoleEnv(t)
	b := e.client()
	b.setup("root@example.com")
	csrf := b.csrf()
	c := e.project("People")
	u := e.user(c.UserPoolID, "grace@example.com")
	e.user(c.UserPoolID, "alan@example.com")
	users := "/admin/projects/" + c.ProjectID + "/users"
	b.get(users+"?q=GRA").want(t, http.StatusOK, "search by prefix").contains(t, "search", "grace@example.com")
	if p := b.get(users + "?q=" + u.Sub); !strings.Contains(p.body, "grace@example.com") || strings.Contains(p.body, "alan@example.com") {
		t.Fatalf("search by sub:\n%s", p.body)
	}
	b.get(users+"?q=nobody").contains(t, "no match", "No user matches")

	base := "/admin/pools/" + c.UserPoolID + "/users/" + u.Sub
	b.get(base).want(t, http.StatusOK, "user page").contains(t, "user page", u.Sub, `name="phone_number"`)
	b.post(base+"/attributes", url.Values{"csrf": {csrf}, "phone_number": {"12345"}, "roles": {"admin"}}).
		want(t, http.StatusBadRequest, "bad phone").contains(t, "bad phone", "phone_number: must be an E.164", `value="12345"`)
	if got, _ := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub); len(got.Roles) != 0 {
		t.Fatal("an invalid update changed the roles")
	}
	b.post(base+"/attributes", url.Values{"csrf": {csrf}, "phone_number": {"+14255551212"}, "roles": {"admin, billing"}, "email": {u.Email}}).
		want(t, http.StatusSeeOther, "good attributes")
	got, _ := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub)
	if got.Profile.PhoneNumber != "+14255551212" || strings.Join(got.Roles, ",") != "admin,billing" || !got.EmailVerified {
		t.Fatalf("attributes: %+v", got)
	}

	// Two sessions: revoke one, then sign out everywhere.
	for range 2 {
		code := e.hostedLogin(c.CodeURL, u.Email)
		e.sessionAPI(c.APIKey, "gettokenfromcode", map[string]any{"code": code, "clientId": c.ClientID, "clientSecret": c.ClientSecret})
	}
	sessions, _ := e.store.ListSessions(t.Context(), c.UserPoolID, u.Sub)
	if len(sessions) != 2 {
		t.Fatalf("%d sessions", len(sessions))
	}
	b.get(base).contains(t, "sessions", "Revoke session "+sessions[0].ID, "Revoke session "+sessions[1].ID)
	b.post(base+"/sessions/"+sessions[0].ID+"/revoke", url.Values{"csrf": {csrf}}).want(t, http.StatusSeeOther, "revoke")
	b.get(base+"?done=revoked").contains(t, "history", "The session was revoked.", "(admin_revoked)")
	b.post(base+"/signout", url.Values{"csrf": {csrf}}).want(t, http.StatusSeeOther, "global sign-out")
	if n, _ := e.store.CountActiveSessions(t.Context(), c.UserPoolID, e.clock.Now()); n != 0 {
		t.Fatalf("%d active sessions after the global sign-out", n)
	}

	b.post(base+"/disable", url.Values{"csrf": {csrf}, "totp": {e.code(b.secret)}}).want(t, http.StatusSeeOther, "disable")
	b.get(base).contains(t, "disabled", "DISABLED", base+"/enable")
	b.post(base+"/enable", url.Values{"csrf": {csrf}}).want(t, http.StatusSeeOther, "enable")
	if got, _ := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub); got.Status != idgate.StatusConfirmed {
		t.Fatalf("status after enable: %s", got.Status)
	}

	exp := b.get(base+"/export").want(t, http.StatusOK, "export")
	var data struct {
		User     map[string]any   `json:"user"`
		Sessions []map[string]any `json:"sessions"`
		Events   []map[string]any `json:"events"`
	}
	if err := json.Unmarshal([]byte(exp.body), &data); err != nil || data.User["sub"] != u.Sub || len(data.Sessions) != 2 || len(data.Events) == 0 {
		t.Fatalf("export: %v\n%s", err, exp.body)
	}
	if !strings.Contains(exp.header.Get("Content-Disposition"), "attachment") {
		t.Fatal("the export is not a download")
	}

	// Deletion refuses a mistyped email and a missing reason.
	b.get(base+"/delete").want(t, http.StatusOK, "delete page").contains(t, "summary", "2 in total")
	form := url.Values{"csrf": {csrf}, "confirmEmail": {"someone@example.com"}, "reason": {"gdpr"}, "totp": {e.code(b.secret)}}
	b.post(base+"/delete", form).want(t, http.StatusBadRequest, "wrong email").contains(t, "wrong email", "email address exactly")
	form.Set("confirmEmail", "GRACE@example.com")
	form.Set("reason", " ")
	form.Set("totp", e.code(b.secret))
	b.post(base+"/delete", form).want(t, http.StatusBadRequest, "no reason").contains(t, "no reason", "Give a reason")
	if _, err := e.store.GetUser(t.Context(), c.UserPoolID, u.Sub); err != nil {
		t.Fatal("a refused deletion deleted the user")
	}
	form.Set("reason", "closed the account")
	form.Set("totp", e.code(b.secret))
	b.post(base+"/delete", form).want(t, http.StatusSeeOther, "delete")
	b.get(base).want(t, http.StatusNotFound, "deleted user's page")
	b.get("/admin/outbox").want(t, http.StatusOK, "outbox").contains(t, "outbox", "grace@example.com")
}

// TestConsoleMonitoring: the dashboard counts sign-ins and failures and
// lists lockouts and refresh reuse; the audit page filters, exports and
// reports the chain; webhooks show their secret once and their log.
func TestConsoleMonitoring(t *testing.T) {
	e := newConsoleEnv(t)
	b := e.client()
	b.setup("root@example.com")
	csrf := b.csrf()
	c := e.project("Watched")
	u := e.user(c.UserPoolID, "watched@example.com")
	ctx := t.Context()
	for _, ev := range []idgate.Event{
		{Type: idgate.EventLoginSucceeded, UserSub: u.Sub}, {Type: idgate.EventLoginFailed, UserSub: u.Sub},
		{Type: idgate.EventLoginFailed}, {Type: idgate.EventLockout, UserSub: u.Sub, IP: "203.0.113.9"},
	} {
		ev.ID, ev.ProjectID, ev.PoolID, ev.ActorType, ev.CreatedAt = idgate.NewID("evt_"), c.ProjectID, c.UserPoolID, idgate.ActorSystem, e.clock.Now()
		if err := e.store.AppendEvent(ctx, &ev); err != nil {
			t.Fatal(err)
		}
	}
	dash := b.get("/admin").want(t, http.StatusOK, "dashboard")
	dash.contains(t, "dashboard", `<svg class="chart" id="chart-24h"`, `<svg class="chart" id="chart-7d"`,
		"1 successful sign-ins and 2 failed sign-ins over the last 24 hours", "Account locked after failed sign-ins", "203.0.113.9")
	if strings.Contains(dash.body, "<script>") || strings.Contains(dash.body, "style=") {
		t.Fatal("the dashboard has inline script or style (the CSP forbids them)")
	}

	audit := "/admin/projects/" + c.ProjectID + "/audit"
	b.get(audit).want(t, http.StatusOK, "audit").contains(t, "audit", "Chain verified", "project.created", "login.lockout")
	filtered := b.get(audit+"?type=login.failed&user="+u.Sub).want(t, http.StatusOK, "filtered audit")
	if strings.Count(filtered.body, "<code>login.failed</code>") != 1 || strings.Contains(filtered.body, "<code>login.lockout</code>") {
		t.Fatalf("filter by type and user:\n%s", filtered.body)
	}
	later := e.clock.Now().Add(time.Hour).Format("2006-01-02T15:04")
	if p := b.get(audit + "?since=" + later); !strings.Contains(p.body, "No events match") {
		t.Fatal("filter by time shows events")
	}
	b.get(audit+"?since=yesterday").want(t, http.StatusBadRequest, "bad time")
	csv := b.get(audit+"/export?format=csv&type=login.failed").want(t, http.StatusOK, "CSV export")
	if lines := strings.Split(strings.TrimSpace(csv.body), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "seq,") {
		t.Fatalf("CSV export:\n%s", csv.body)
	}
	jsonl := b.get(audit+"/export").want(t, http.StatusOK, "JSONL export")
	if !strings.Contains(jsonl.body, `"type":"login.lockout"`) {
		t.Fatalf("JSONL export:\n%s", jsonl.body)
	}

	hooks := "/admin/projects/" + c.ProjectID + "/webhooks"
	b.post(hooks, url.Values{"csrf": {csrf}, "url": {"http://evil.example/hook"}}).want(t, http.StatusBadRequest, "http webhook").contains(t, "http", "must use https")
	created := b.post(hooks, url.Values{"csrf": {csrf}, "url": {"https://hooks.example/idgate"}, "eventTypes": {"user.deleted, login.failed"}}).
		want(t, http.StatusOK, "create webhook").values()
	if !strings.HasPrefix(created["webhookSecret"], "whsec_") {
		t.Fatalf("webhook: %v", created)
	}
	list := b.get(hooks).want(t, http.StatusOK, "webhooks").contains(t, "webhooks", "https://hooks.example/idgate", "user.deleted, login.failed")
	if strings.Contains(list.body, created["webhookSecret"]) {
		t.Fatal("the webhook list shows the secret")
	}
	ev := idgate.Event{ID: idgate.NewID("evt_"), ProjectID: c.ProjectID, PoolID: c.UserPoolID, Type: idgate.EventLoginFailed, ActorType: idgate.ActorSystem, CreatedAt: e.clock.Now()}
	if err := e.store.AppendEvent(ctx, &ev); err != nil {
		t.Fatal(err)
	}
	ds, _ := e.store.ListDeliveries(ctx, created["webhookId"], 10)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries", len(ds))
	}
	if err := e.store.RetryDelivery(ctx, ds[0].ID, e.clock.Now(), time.Time{}, 500, "server error"); err != nil {
		t.Fatal(err)
	}
	log := b.get("/admin/webhooks/"+created["webhookId"]).want(t, http.StatusOK, "delivery log").contains(t, "log", "failed", "server error", "Retry")
	retry := log.hidden()
	b.post("/admin/webhook-deliveries/"+ds[0].ID+"/retry", url.Values{"csrf": {csrf}, "webhookId": {retry.Get("webhookId")}}).
		want(t, http.StatusSeeOther, "retry")
	ds, _ = e.store.ListDeliveries(ctx, created["webhookId"], 10)
	if !ds[0].FailedAt.IsZero() {
		t.Fatal("the retried delivery is still failed")
	}
	b.post("/admin/webhooks/"+created["webhookId"]+"/disable", url.Values{"csrf": {csrf}}).want(t, http.StatusSeeOther, "disable webhook")
	if w, _ := e.store.GetWebhook(ctx, created["webhookId"]); w.DisabledAt.IsZero() {
		t.Fatal("the webhook is still active")
	}
}
