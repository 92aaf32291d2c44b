package notify

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
)

const testPassword = "hunter2-s3cret"

func testMessage() Message {
	return Message{
		To:        "Ada Lovelace <ada@example.com>",
		Subject:   "Verify your email address for Acme",
		Text:      "Your code is 123456.\n",
		HTML:      "<p>Your code is <strong>123456</strong>.</p>",
		Template:  TemplateVerifyEmail,
		ProjectID: "prj_1",
	}
}

func TestNewSMTPMailer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url         string
		host        string
		port        int
		implicitTLS bool
		policy      gomail.TLSPolicy
		skipVerify  bool
		user        string
		str         string
	}{
		{url: "smtp://mail.example.com", host: "mail.example.com", port: 587, policy: gomail.TLSOpportunistic,
			str: "smtp://mail.example.com:587"},
		{url: "smtp://user:" + testPassword + "@mail.example.com:2525", host: "mail.example.com", port: 2525,
			policy: gomail.TLSOpportunistic, user: "user", str: "smtp://user@mail.example.com:2525"},
		{url: "smtp://u%40x.com:p%2Fw%3F@h:25/?starttls=required", host: "h", port: 25,
			policy: gomail.TLSMandatory, user: "u@x.com", str: "smtp://u%40x.com@h:25"},
		{url: "smtp://localhost:1025?starttls=opportunistic&insecure_skip_verify=1", host: "localhost", port: 1025,
			policy: gomail.TLSOpportunistic, skipVerify: true, str: "smtp://localhost:1025"},
		{url: "SMTP://@mail.example.com:25/", host: "mail.example.com", port: 25, policy: gomail.TLSOpportunistic,
			str: "smtp://mail.example.com:25"},
		{url: "smtps://user:pw@[::1]", host: "::1", port: 465, implicitTLS: true, user: "user",
			str: "smtps://user@[::1]:465"},
	}
	for _, tt := range tests {
		m, err := NewSMTPMailer(tt.url, "Acme <no-reply@acme.example>")
		if err != nil {
			t.Errorf("NewSMTPMailer(%q): %v", tt.url, err)
			continue
		}
		if m.host != tt.host || m.port != tt.port || m.implicitTLS != tt.implicitTLS ||
			(!tt.implicitTLS && m.tlsPolicy != tt.policy) || m.tlsConfig.InsecureSkipVerify != tt.skipVerify ||
			m.username != tt.user {
			t.Errorf("NewSMTPMailer(%q) = host %q port %d implicit %v policy %v skip %v user %q",
				tt.url, m.host, m.port, m.implicitTLS, m.tlsPolicy, m.tlsConfig.InsecureSkipVerify, m.username)
		}
		if got := m.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		if m.fromDomain != "acme.example" {
			t.Errorf("fromDomain = %q", m.fromDomain)
		}
	}
}

func TestNewSMTPMailerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, from string
		want      string // in the error
	}{
		{"", "a@b.c", "no scheme"},
		{"mail.example.com:25", "a@b.c", "not supported"}, // parsed as scheme "mail.example.com"
		{"http://user:" + testPassword + "@h", "a@b.c", `scheme "http" is not supported`},
		{"smtp://user:" + testPassword + "@", "a@b.c", "no host"},
		{"smtp:h", "a@b.c", "no host"},
		{"smtp://user:" + testPassword + "@h:0", "a@b.c", `port "0"`},
		{"smtp://user:" + testPassword + "@h:99999", "a@b.c", `port "99999"`},
		{"smtp://user:" + testPassword + "@h:x", "a@b.c", "cannot be parsed"},
		{"smtp://user:" + testPassword + "@h/inbox", "a@b.c", "path"},
		{"smtp://user:" + testPassword + "@h#frag", "a@b.c", "fragment"},
		{"smtp://user@h", "a@b.c", "no password"},
		{"smtp://:" + testPassword + "@h", "a@b.c", "no user name"},
		{"smtp://user:" + testPassword + "@h?starttls=always", "a@b.c", `starttls="always"`},
		{"smtps://user:" + testPassword + "@h?starttls=required", "a@b.c", "does not apply to smtps"},
		{"smtp://user:" + testPassword + "@h?insecure_skip_verify=yes", "a@b.c", "insecure_skip_verify"},
		{"smtp://user:" + testPassword + "@h?tls=1", "a@b.c", `option "tls" is unknown`},
		{"smtp://user:" + testPassword + "@h?a=%zz", "a@b.c", "query"},
		{"smtp://user:" + testPassword + "@h?starttls=required&starttls=opportunistic", "a@b.c", "more than once"},
		{"smtp://user:" + testPassword + "@h?zz=1&aa=1", "a@b.c", `option "aa" is unknown`}, // always the first, sorted
		// Unescaped '/', '?' or '#' in a password end the authority early; the
		// parser must not quote what it then mistakes for host and port.
		{"smtp://user:hunter2/" + testPassword + "@h", "a@b.c", "cannot be parsed"},
		{"smtp://user:hunter2?" + testPassword + "@h", "a@b.c", "cannot be parsed"},
		{"smtp://user:" + testPassword + "#x@h", "a@b.c", "cannot be parsed"},
		{"smtp://user:" + testPassword + "@h", "not an address", "From"},
		{"smtp://user:" + testPassword + "@h", "", "From"},
	}
	for _, tt := range tests {
		_, err := NewSMTPMailer(tt.url, tt.from)
		if err == nil {
			t.Errorf("NewSMTPMailer(%q, %q) succeeded", tt.url, tt.from)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewSMTPMailer(%q) = %q, want it to mention %q", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewSMTPMailer(%q) error leaks the password: %q", tt.url, err)
		}
	}
}

func newTestMailer(t *testing.T, url string) *SMTPMailer {
	t.Helper()
	m, err := NewSMTPMailer(url, "Acme <no-reply@acme.example>")
	if err != nil {
		t.Fatal(err)
	}
	m.Timeout = 10 * time.Second
	return m
}

func TestSMTPMailerSend(t *testing.T) {
	t.Parallel()
	be, addr := startSMTPServer(t, serverConfig{})
	m := newTestMailer(t, "smtp://"+addr)
	msg := testMessage()
	msg.Subject = "Vérifiez votre adresse — Acme" // non-ASCII goes through encoded-words

	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := be.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "no-reply@acme.example" || len(r.To) != 1 || r.To[0] != "ada@example.com" {
		t.Errorf("envelope = from %q to %q", r.From, r.To)
	}
	p := parseMail(t, r.Data)
	if p.Subject != msg.Subject {
		t.Errorf("Subject = %q, want %q", p.Subject, msg.Subject)
	}
	if p.MediaType != "multipart/alternative" {
		t.Errorf("Content-Type = %q, want multipart/alternative", p.MediaType)
	}
	if strings.TrimSpace(p.Text) != strings.TrimSpace(msg.Text) {
		t.Errorf("text part = %q, want %q", p.Text, msg.Text)
	}
	if strings.TrimSpace(p.HTML) != msg.HTML {
		t.Errorf("HTML part = %q, want %q", p.HTML, msg.HTML)
	}
	if from := p.Header.Get("From"); !strings.Contains(from, "no-reply@acme.example") {
		t.Errorf("From header = %q", from)
	}
	if to := p.Header.Get("To"); !strings.Contains(to, "ada@example.com") {
		t.Errorf("To header = %q", to)
	}
	if id := p.Header.Get("Message-Id"); !strings.HasSuffix(id, "@acme.example>") {
		t.Errorf("Message-ID = %q, want one on the sender's domain", id)
	}
	if v := p.Header.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", v)
	}
	if p.Header.Get("Date") == "" {
		t.Error("no Date header")
	}
}

func TestSMTPMailerTextOnly(t *testing.T) {
	t.Parallel()
	be, addr := startSMTPServer(t, serverConfig{})
	msg := testMessage()
	msg.HTML = ""
	if err := newTestMailer(t, "smtp://"+addr).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := be.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	p := parseMail(t, got[0].Data)
	if p.MediaType != "text/plain" || strings.TrimSpace(p.Text) != strings.TrimSpace(msg.Text) || p.HTML != "" {
		t.Errorf("got %s text %q html %q, want text/plain only", p.MediaType, p.Text, p.HTML)
	}
}

func TestSMTPMailerAuthPlain(t *testing.T) {
	t.Parallel()
	be, addr := startSMTPServer(t, serverConfig{user: "mailer", pass: testPassword})
	m := newTestMailer(t, "smtp://mailer:"+testPassword+"@"+addr)
	if err := m.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := be.Messages()
	if len(got) != 1 || got[0].AuthUser != "mailer" {
		t.Fatalf("received %+v, want one message from an authenticated session", got)
	}
}

func TestSMTPMailerBadPassword(t *testing.T) {
	t.Parallel()
	for _, echo := range []bool{false, true} {
		be, addr := startSMTPServer(t, serverConfig{user: "mailer", pass: "the-right-one", echoPassword: echo})
		m := newTestMailer(t, "smtp://mailer:"+testPassword+"@"+addr)
		err := m.Send(context.Background(), testMessage())
		if err == nil {
			t.Fatalf("echo=%v: Send with a wrong password succeeded", echo)
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("echo=%v: error contains the password: %q", echo, err)
		}
		if !strings.Contains(err.Error(), "AUTH") {
			t.Errorf("echo=%v: error %q does not say authentication failed", echo, err)
		}
		if n := len(be.Messages()); n != 0 {
			t.Errorf("echo=%v: server received %d messages", echo, n)
		}
	}
}

func TestSMTPMailerSTARTTLS(t *testing.T) {
	t.Parallel()
	serverTLS := selfSignedTLS(t)

	t.Run("opportunistic upgrade", func(t *testing.T) {
		t.Parallel()
		be, addr := startSMTPServer(t, serverConfig{tls: serverTLS, user: "mailer", pass: testPassword})
		m := newTestMailer(t, "smtp://mailer:"+testPassword+"@"+addr+"?insecure_skip_verify=1")
		if err := m.Send(context.Background(), testMessage()); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := be.Messages(); len(got) != 1 || !got[0].TLS {
			t.Fatalf("received %d messages (TLS %v), want one over TLS", len(got), len(got) == 1 && got[0].TLS)
		}
	})
	t.Run("opportunistic without server support", func(t *testing.T) {
		t.Parallel()
		be, addr := startSMTPServer(t, serverConfig{})
		if err := newTestMailer(t, "smtp://"+addr).Send(context.Background(), testMessage()); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := be.Messages(); len(got) != 1 || got[0].TLS {
			t.Fatalf("want one message in the clear, got %+v", got)
		}
	})
	t.Run("required without server support", func(t *testing.T) {
		t.Parallel()
		be, addr := startSMTPServer(t, serverConfig{})
		err := newTestMailer(t, "smtp://"+addr+"?starttls=required").Send(context.Background(), testMessage())
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("Send = %v, want an error about STARTTLS", err)
		}
		if n := len(be.Messages()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
	t.Run("certificate is verified", func(t *testing.T) {
		t.Parallel()
		be, addr := startSMTPServer(t, serverConfig{tls: serverTLS})
		err := newTestMailer(t, "smtp://"+addr).Send(context.Background(), testMessage())
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send = %v, want a certificate error", err)
		}
		if n := len(be.Messages()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
}

func TestSMTPMailerImplicitTLS(t *testing.T) {
	t.Parallel()
	be, addr := startSMTPServer(t, serverConfig{tls: selfSignedTLS(t), implicitTLS: true, user: "mailer", pass: testPassword})
	m := newTestMailer(t, "smtps://mailer:"+testPassword+"@"+addr+"?insecure_skip_verify=true")
	if err := m.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := be.Messages()
	if len(got) != 1 || !got[0].TLS || got[0].AuthUser != "mailer" {
		t.Fatalf("received %+v, want one authenticated message over TLS", got)
	}
}

func TestSMTPMailerIPv6(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	be, addr := startSMTPServer(t, serverConfig{listen: "[::1]:0", user: "mailer", pass: testPassword})
	if err := newTestMailer(t, "smtp://mailer:"+testPassword+"@"+addr).Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(be.Messages()); n != 1 {
		t.Fatalf("server received %d messages, want 1", n)
	}
}

// TestSMTPMailerPasswordOnlyOverTLS uses 127.0.0.2, a loopback address
// that go-mail does not treat as localhost, to stand for a remote server:
// the password may travel over STARTTLS or implicit TLS, never in the clear.
func TestSMTPMailerPasswordOnlyOverTLS(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	} else {
		ln.Close()
	}
	serverTLS := selfSignedTLS(t)
	tests := []struct {
		name   string
		cfg    serverConfig
		scheme string
		sent   bool
	}{
		{"cleartext", serverConfig{}, "smtp", false},
		{"STARTTLS", serverConfig{tls: serverTLS}, "smtp", true},
		{"implicit TLS", serverConfig{tls: serverTLS, implicitTLS: true}, "smtps", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.listen, tt.cfg.user, tt.cfg.pass = "127.0.0.2:0", "mailer", testPassword
			be, addr := startSMTPServer(t, tt.cfg)
			m := newTestMailer(t, tt.scheme+"://mailer:"+testPassword+"@"+addr+"?insecure_skip_verify=1")
			err := m.Send(context.Background(), testMessage())
			if tt.sent && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if !tt.sent && err == nil {
				t.Fatal("Send succeeded over a cleartext connection with a password")
			}
			if n := len(be.Messages()); n != map[bool]int{true: 1}[tt.sent] {
				t.Errorf("server received %d messages", n)
			}
			be.mu.Lock()
			defer be.mu.Unlock()
			if !tt.sent && be.auths != 0 {
				t.Errorf("the client sent AUTH %d times over cleartext", be.auths)
			}
		})
	}
}

// stallingServer accepts connections and never answers, like a server
// behind a black-holing firewall or one that hangs after connect.
func stallingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

func TestSMTPMailerHonorsContext(t *testing.T) {
	t.Parallel()
	addr := stallingServer(t)

	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		m := newTestMailer(t, "smtp://"+addr)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := m.Send(ctx, testMessage())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send returned after %s, long after the deadline", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		m := newTestMailer(t, "smtp://"+addr)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if err := m.Send(ctx, testMessage()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		t.Parallel()
		m := newTestMailer(t, "smtp://"+addr)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := m.Send(ctx, testMessage()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
	})
	t.Run("mailer timeout", func(t *testing.T) {
		t.Parallel()
		m := newTestMailer(t, "smtp://"+addr)
		m.Timeout = 100 * time.Millisecond
		if err := m.Send(context.Background(), testMessage()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestSMTPMailerRejectsInvalidMessages(t *testing.T) {
	t.Parallel()
	be, addr := startSMTPServer(t, serverConfig{})
	m := newTestMailer(t, "smtp://"+addr)
	for _, mutate := range []func(*Message){
		func(m *Message) { m.To = "" },
		func(m *Message) { m.To = "not an address" },
		func(m *Message) { m.To = "a@b.c\r\nBcc: x@y.z" },
		func(m *Message) { m.Subject = "" },
		func(m *Message) { m.Subject = "a\r\nBcc: x@y.z" },
		func(m *Message) { m.Text = "" },
	} {
		msg := testMessage()
		mutate(&msg)
		if err := m.Send(context.Background(), msg); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Send(%+v) = %v, want ErrInvalidMessage", msg, err)
		}
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.conns != 0 || len(be.msgs) != 0 {
		t.Errorf("invalid messages reached the server: %d sessions, %d messages", be.conns, len(be.msgs))
	}
}

// FuzzNewSMTPMailer checks that no URL panics the parser, and that what
// it reports (errors, String) does not depend on the password: two URLs that
// differ only in their password give the same text.
func FuzzNewSMTPMailer(f *testing.F) {
	for _, s := range []string{
		"smtp://user:pass@host:25", "smtps://u:p@[::1]:465", "smtp://u:p@h?starttls=required",
		"smtp://user:pa/ss@host", "smtp://user:p%zzss@host", "smtp:opaque", "://", "smtp://:@",
		"smtp://u:p@h:99999", "smtp://u:p@h?x=1",
	} {
		f.Add(s)
	}
	const from = "a@b.example"
	f.Fuzz(func(t *testing.T, raw string) {
		NewSMTPMailer(raw, from) // must not panic

		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			return
		}
		pw, ok := u.User.Password()
		if !ok || pw == "" {
			return
		}
		u1, u2 := *u, *u
		u1.User = url.UserPassword(u.User.Username(), pw)
		u2.User = url.UserPassword(u.User.Username(), "other-"+pw)
		m1, err1 := NewSMTPMailer(u1.String(), from)
		m2, err2 := NewSMTPMailer(u2.String(), from)
		switch {
		case (err1 == nil) != (err2 == nil):
			t.Fatalf("the password decides success: %v vs %v", err1, err2)
		case err1 != nil && err1.Error() != err2.Error():
			t.Fatalf("error text depends on the password: %q vs %q", err1, err2)
		case err1 == nil && m1.String() != m2.String():
			t.Fatalf("String() depends on the password: %q vs %q", m1, m2)
		}
	})
}
