package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/tenant"
)

// receiver is a webhook endpoint that checks Standard Webhooks signatures
// and records what it got, by webhook-id.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	down   bool
	got    map[string][]string // webhook-id → event types received (should be one each)
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.down {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	n, _ := strconv.ParseInt(ts, 10, 64)
	want, err := notify.SignWebhook(rc.secret, id, n, body)
	if err != nil || r.Header.Get("webhook-signature") != want || time.Since(time.Unix(n, 0)) > time.Minute {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p struct {
		Type string
		Data map[string]any
	}
	json.Unmarshal(body, &p)
	rc.got[id] = append(rc.got[id], p.Type)
}

func (rc *receiver) types() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for _, ts := range rc.got {
		for _, t := range ts {
			out[t]++
		}
	}
	return out
}

func TestWebhooksDeliveredOnceSignedAndDurable(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	rc := &receiver{t: t, got: map[string][]string{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	auth := map[string]string{"Authorization": "Bearer " + adminToken}

	var bad oauthErr
	e.call("POST", "/admin/api/projects/"+c.ProjectID+"/webhooks", auth, map[string]any{"url": "http://example.com/hook"}, 400, &bad)
	if !strings.Contains(bad.Description, "url") {
		t.Fatalf("http URL accepted: %+v", bad)
	}
	var hook tenant.WebhookView
	e.call("POST", "/admin/api/projects/"+c.ProjectID+"/webhooks", auth, map[string]any{
		"url": srv.URL + "/hook", "eventTypes": []string{"login.succeeded", "session.global_sign_out"}}, 201, &hook)
	if !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("webhook = %+v", hook)
	}
	rc.secret = hook.Secret
	var listed struct{ Webhooks []tenant.WebhookView }
	e.call("GET", "/admin/api/projects/"+c.ProjectID+"/webhooks", auth, nil, 200, &listed)
	if len(listed.Webhooks) != 1 || listed.Webhooks[0].Secret != "" {
		t.Fatalf("list = %+v (secrets must not be listed)", listed)
	}

	e.user(c.UserPoolID, "zoe@example.com")
	tk := e.signIn(c, "zoe@example.com") // login.succeeded (+ token.issued, not subscribed)
	sender := notify.NewWebhookSender(e.store, e.webhooks.OpenSecret, nil, nil)
	ctx := context.Background()
	if n := sender.Drain(ctx); n != 1 {
		t.Fatalf("first drain attempted %d deliveries, want 1", n)
	}
	if got := rc.types(); got["login.succeeded"] != 1 || len(got) != 1 || rc.bad != 0 {
		t.Fatalf("received %v (bad signatures %d)", got, rc.bad)
	}

	// The receiver goes down: the delivery waits in the outbox.
	rc.mu.Lock()
	rc.down = true
	rc.mu.Unlock()
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": tk.AccessToken}, 200, nil)
	sender.Drain(ctx)
	var log struct{ Deliveries []tenant.DeliveryView }
	e.call("GET", "/admin/api/webhooks/"+hook.ID+"/deliveries", auth, nil, 200, &log)
	byType := map[string]tenant.DeliveryView{}
	for _, d := range log.Deliveries {
		byType[d.EventType] = d
	}
	pending, done := byType["session.global_sign_out"], byType["login.succeeded"]
	if len(log.Deliveries) != 2 || pending.LastStatus != 503 || pending.Attempts != 1 || pending.NextAttempt == nil || done.DeliveredAt == nil {
		t.Fatalf("delivery log = %+v", log.Deliveries)
	}

	// "Restart": a new sender (as a new process would have) finds the
	// pending delivery in the database; the receiver is back; a manual
	// retry from the log makes it due now.
	rc.mu.Lock()
	rc.down = false
	rc.mu.Unlock()
	restarted := notify.NewWebhookSender(e.store, e.webhooks.OpenSecret, nil, nil)
	e.call("POST", "/admin/api/webhook-deliveries/"+pending.ID+"/retry", auth, nil, 202, nil)
	if n := restarted.Drain(ctx); n != 1 {
		t.Fatalf("restarted sender attempted %d", n)
	}
	if n := restarted.Drain(ctx); n != 0 {
		t.Fatalf("delivered twice: %d", n)
	}
	got := rc.types()
	if got["login.succeeded"] != 1 || got["session.global_sign_out"] != 1 {
		t.Fatalf("received %v", got)
	}
	for id, types := range rc.got {
		if len(types) != 1 {
			t.Fatalf("webhook-id %s received %d times", id, len(types))
		}
	}

	// Disabled endpoints receive nothing more.
	e.call("DELETE", "/admin/api/webhooks/"+hook.ID, auth, nil, 204, nil)
	e.signIn(c, "zoe@example.com")
	if n := restarted.Drain(ctx); n != 0 {
		t.Fatalf("disabled endpoint got %d deliveries", n)
	}
	e.call("GET", "/admin/api/webhooks/whk_nope/deliveries", auth, nil, 404, nil)
}
