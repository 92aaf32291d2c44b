package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	ID, Event, Data string
}

// feedConn is an open revocation feed.
type feedConn struct {
	t      *testing.T
	events chan sseEvent
	cancel context.CancelFunc
}

// openFeed connects to the pool's revocation feed; lastID, when not empty,
// is sent as Last-Event-ID.
func (e *env) openFeed(key, pool, query, lastID string) *feedConn {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/"+pool+"/revocations"+query, nil)
	req.Header.Set("x-api-key", key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		e.t.Fatalf("feed: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	fc := &feedConn{t: e.t, events: make(chan sseEvent, 100), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(fc.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" {
					fc.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	e.t.Cleanup(cancel)
	return fc
}

// next returns the next event, failing after timeout.
func (fc *feedConn) next(timeout time.Duration) sseEvent {
	fc.t.Helper()
	select {
	case ev, ok := <-fc.events:
		if !ok {
			fc.t.Fatal("feed closed")
		}
		return ev
	case <-time.After(timeout):
		fc.t.Fatalf("no feed event within %s", timeout)
	}
	return sseEvent{}
}

// watermark parses an event id.
func watermark(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("event id %q is not a watermark", id)
	}
	return n
}

func TestRevocationFeed(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "ada@example.com")
	e.user(c.UserPoolID, "bob@example.com")
	ada := e.signIn(c, "ada@example.com")
	bob := e.signIn(c, "bob@example.com")

	feed := e.openFeed(c.APIKey, c.UserPoolID, "", "")
	ready := feed.next(2 * time.Second)
	if ready.Event != "ready" || ready.ID == "" {
		t.Fatalf("first event = %+v, want ready with a watermark", ready)
	}

	start := time.Now()
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": ada.AccessToken}, 200, nil)
	ev := feed.next(time.Second)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("session_ended arrived after %s", took)
	}
	var data struct {
		SID, Sub, ClientID, Reason string
		EndedAt                    time.Time
	}
	if err := json.Unmarshal([]byte(ev.Data), &data); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "session_ended" || data.SID != claims(t, ada.AccessToken)["sid"] || data.Reason != "global_sign_out" ||
		data.Sub == "" || data.ClientID != c.ClientID || data.EndedAt.IsZero() || watermark(t, ev.ID) <= watermark(t, ready.ID) {
		t.Fatalf("event = %+v (data %+v) after ready %+v", ev, data, ready)
	}
	feed.cancel()

	// Resuming after the ready watermark replays the revocation, then
	// says ready again; ?since= does the same.
	for _, resume := range []*feedConn{
		e.openFeed(c.APIKey, c.UserPoolID, "", ready.ID),
		e.openFeed(c.APIKey, c.UserPoolID, "?since="+ready.ID, ""),
	} {
		if got := resume.next(2 * time.Second); got != ev {
			t.Fatalf("replayed %+v, want %+v", got, ev)
		}
		if got := resume.next(2 * time.Second); got.Event != "ready" || got.ID != ev.ID {
			t.Fatalf("after the replay: %+v, want ready at %s", got, ev.ID)
		}
		resume.cancel()
	}

	// Bob's session ends later and arrives on a resumed stream.
	resumed := e.openFeed(c.APIKey, c.UserPoolID, "", ev.ID)
	if got := resumed.next(2 * time.Second); got.Event != "ready" {
		t.Fatalf("resumed at the head: %+v, want ready", got)
	}
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": bob.AccessToken, "scope": "session"}, 200, nil)
	if got := resumed.next(time.Second); got.Event != "session_ended" || !strings.Contains(got.Data, `"reason":"logout"`) {
		t.Fatalf("bob's end: %+v", got)
	}
}

func TestRevocationFeedErrors(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	other := e.project("web")
	get := func(key, path string, header map[string]string, want int, code string) {
		t.Helper()
		h := map[string]string{"x-api-key": key}
		for k, v := range header {
			h[k] = v
		}
		var ae apiErr
		e.call("GET", path, h, nil, want, &ae)
		if ae.Error != code || ae.RequestID == "" {
			t.Fatalf("GET %s: %+v, want %s", path, ae, code)
		}
	}
	get("", "/"+c.UserPoolID+"/revocations", nil, 401, "unauthorized")
	get(other.APIKey, "/"+c.UserPoolID+"/revocations", nil, 404, "not_found")
	get(c.APIKey, "/"+c.UserPoolID+"/revocations?since=-1", nil, 400, "invalid_request")
	get(c.APIKey, "/"+c.UserPoolID+"/revocations", map[string]string{"Last-Event-ID": "x"}, 400, "invalid_request")

	var key struct{ APIKey string }
	e.call("POST", "/admin/api/projects/"+c.ProjectID+"/apikeys", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"permissions": []string{"users:write"}}, 201, &key)
	get(key.APIKey, "/"+c.UserPoolID+"/revocations", nil, 403, "insufficient_permissions")
}

// TestRevocationFeedPollsTheStore: a session ended without this process's
// services knowing (another node sharing the database, the CLI) still
// reaches the stream, through polling by watermark.
func TestRevocationFeedPollsTheStore(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "ada@example.com")
	ada := e.signIn(c, "ada@example.com")
	feed := e.openFeed(c.APIKey, c.UserPoolID, "", "")
	if ev := feed.next(2 * time.Second); ev.Event != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	sid, _ := claims(t, ada.AccessToken)["sid"].(string)
	if _, err := e.store.EndSession(t.Context(), sid, e.clock.Now(), "admin_revoked"); err != nil {
		t.Fatal(err)
	}
	ev := feed.next(time.Second)
	if ev.Event != "session_ended" || !strings.Contains(ev.Data, sid) || !strings.Contains(ev.Data, `"reason":"admin_revoked"`) {
		t.Fatalf("event %+v", ev)
	}
}

// TestRevocationFeedOutlivesWriteTimeout: the server's WriteTimeout (one
// minute in `idgate serve`) does not cut a stream; each write extends the
// deadline.
func TestRevocationFeedOutlivesWriteTimeout(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "ada@example.com")
	ada := e.signIn(c, "ada@example.com")
	short := httptest.NewUnstartedServer(e.srv.Config.Handler)
	short.Config.WriteTimeout = 300 * time.Millisecond
	short.Start()
	defer short.Close()
	other := *e
	other.srv = short
	feed := other.openFeed(c.APIKey, c.UserPoolID, "", "")
	defer feed.cancel()
	if ev := feed.next(2 * time.Second); ev.Event != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	time.Sleep(time.Second)
	e.session(c.APIKey, "revokeaccesstoken", map[string]any{"accessToken": ada.AccessToken}, 200, nil)
	if ev := feed.next(time.Second); ev.Event != "session_ended" {
		t.Fatalf("after the write timeout: %+v", ev)
	}
}
