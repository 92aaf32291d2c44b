package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOutboxKeepsTheLastMessages(t *testing.T) {
	t.Parallel()
	o := NewOutbox(3, nil)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tick := 0
	o.now = func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Second) }

	for i := 1; i <= 5; i++ {
		m := testMessage()
		m.Subject = fmt.Sprintf("message %d", i)
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}

	got := o.List()
	if len(got) != 3 {
		t.Fatalf("List() has %d messages, want 3", len(got))
	}
	seen := map[string]bool{}
	for i, c := range got {
		if want := fmt.Sprintf("message %d", 5-i); c.Message.Subject != want {
			t.Errorf("List()[%d] = %q, want %q (newest first)", i, c.Message.Subject, want)
		}
		if want := base.Add(time.Duration(5-i) * time.Second); !c.CapturedAt.Equal(want) {
			t.Errorf("List()[%d].CapturedAt = %v, want %v", i, c.CapturedAt, want)
		}
		if !strings.HasPrefix(c.ID, "msg_") || seen[c.ID] {
			t.Errorf("List()[%d].ID = %q: want a fresh msg_ id", i, c.ID)
		}
		seen[c.ID] = true
	}
}

func TestOutboxDefaultCapacity(t *testing.T) {
	t.Parallel()
	o := NewOutbox(0, nil)
	for range DefaultOutboxCapacity + 5 {
		if err := o.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(o.List()); n != DefaultOutboxCapacity {
		t.Errorf("kept %d messages, want %d", n, DefaultOutboxCapacity)
	}
}

func TestOutboxConcurrent(t *testing.T) {
	t.Parallel()
	const capacity, writers, each = 16, 8, 50
	o := NewOutbox(capacity, nil)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m := testMessage()
				m.Subject = fmt.Sprintf("w%d-%d", w, i)
				if err := o.Send(context.Background(), m); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for range each {
				if n := len(o.List()); n > capacity {
					t.Errorf("List() has %d messages, over capacity", n)
				}
				o.Latest("ada@example.com")
			}
		})
	}
	wg.Wait()
	got := o.List()
	if len(got) != capacity {
		t.Fatalf("List() has %d messages, want %d", len(got), capacity)
	}
	ids := map[string]bool{}
	for _, c := range got {
		ids[c.ID] = true
	}
	if len(ids) != capacity {
		t.Errorf("List() holds %d distinct messages, want %d", len(ids), capacity)
	}
}

func TestOutboxLatest(t *testing.T) {
	t.Parallel()
	o := NewOutbox(10, nil)
	for _, to := range []string{"ada@example.com", "bob@example.com", "Ada <ADA@example.com>"} {
		m := testMessage()
		m.To, m.Subject = to, "to "+to
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	c, ok := o.Latest("Ada@Example.com")
	if !ok || c.Message.Subject != "to Ada <ADA@example.com>" {
		t.Errorf("Latest = %q, %v; want the newest message to ada", c.Message.Subject, ok)
	}
	if _, ok := o.Latest("carol@example.com"); ok {
		t.Error("Latest found a message nobody sent")
	}
}

func TestOutboxLogging(t *testing.T) {
	t.Parallel()
	for _, logBodies := range []bool{false, true} {
		var buf bytes.Buffer
		o := NewOutbox(10, slog.New(slog.NewJSONHandler(&buf, nil)))
		o.LogBodies = logBodies
		if err := o.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
		line := buf.String()
		for _, want := range []string{`"to":"Ada Lovelace <ada@example.com>"`, `"subject":"Verify your email address for Acme"`,
			`"template":"verify_email"`, `"project_id":"prj_1"`, `"level":"INFO"`, `"id":"msg_`} {
			if !strings.Contains(line, want) {
				t.Errorf("LogBodies=%v: log %s lacks %s", logBodies, line, want)
			}
		}
		if hasCode := strings.Contains(line, "123456"); hasCode != logBodies {
			t.Errorf("LogBodies=%v: code in the log = %v: %s", logBodies, hasCode, line)
		}
		if strings.Contains(line, "<strong>") {
			t.Errorf("the HTML body was logged: %s", line)
		}
	}
}

func TestOutboxRejectsInvalidMessages(t *testing.T) {
	t.Parallel()
	o := NewOutbox(10, nil)
	m := testMessage()
	m.To = ""
	if err := o.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("Send = %v, want ErrInvalidMessage", err)
	}
	if n := len(o.List()); n != 0 {
		t.Errorf("an invalid message was captured")
	}
}
