package notify

import (
	"context"
	"testing"
)

type ctxKey struct{}

func TestRouter(t *testing.T) {
	t.Parallel()
	sandboxes := map[string]bool{"prj_sandbox": true}
	isSandbox := func(ctx context.Context, projectID string) bool {
		if ctx.Value(ctxKey{}) != "request" {
			t.Error("isSandbox did not get the caller's context")
		}
		return sandboxes[projectID]
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, "request")

	tests := []struct {
		name       string
		withSMTP   bool
		project    string
		wantSMTP   int
		wantOutbox int
	}{
		{"sandbox project with SMTP is captured, never sent", true, "prj_sandbox", 0, 1},
		{"production project with SMTP is sent", true, "prj_live", 1, 0},
		{"production project without SMTP is captured", false, "prj_live", 0, 1},
		{"sandbox project without SMTP is captured", false, "prj_sandbox", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be, addr := startSMTPServer(t, serverConfig{})
			var smtpMailer *SMTPMailer // a nil *SMTPMailer means "not configured"
			if tt.withSMTP {
				smtpMailer = newTestMailer(t, "smtp://"+addr)
			}
			outbox := NewOutbox(10, nil)
			r := NewRouter(smtpMailer, outbox, isSandbox)

			m := testMessage()
			m.ProjectID = tt.project
			if err := r.Send(ctx, m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if n := len(be.Messages()); n != tt.wantSMTP {
				t.Errorf("SMTP server received %d messages, want %d", n, tt.wantSMTP)
			}
			be.mu.Lock()
			conns := be.conns
			be.mu.Unlock()
			if tt.wantSMTP == 0 && conns != 0 {
				t.Errorf("the router opened %d SMTP sessions for a message it must not send", conns)
			}
			if n := len(outbox.List()); n != tt.wantOutbox {
				t.Errorf("outbox holds %d messages, want %d", n, tt.wantOutbox)
			}
		})
	}
}

func TestRouterSMTPErrorIsReturned(t *testing.T) {
	t.Parallel()
	_, addr := startSMTPServer(t, serverConfig{})
	m := newTestMailer(t, "smtp://"+addr+"?starttls=required") // the server has no STARTTLS
	outbox := NewOutbox(10, nil)
	r := NewRouter(m, outbox, func(context.Context, string) bool { return false })
	if err := r.Send(context.Background(), testMessage()); err == nil {
		t.Fatal("Send succeeded although the SMTP server refused")
	}
	if n := len(outbox.List()); n != 0 {
		t.Errorf("a failed delivery landed in the outbox (%d messages)", n)
	}
}

func TestNewRouterRequiresOutboxAndSandboxFunc(t *testing.T) {
	t.Parallel()
	never := func(context.Context, string) bool { return false }
	for name, build := range map[string]func(){
		"no outbox":      func() { NewRouter(nil, nil, never) },
		"no SandboxFunc": func() { NewRouter(nil, NewOutbox(1, nil), nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewRouter did not panic", name)
				}
			}()
			build()
		}()
	}
}
