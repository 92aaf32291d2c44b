package web_test

import (
	"bytes"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pquerna/otp/totp"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/web"
)

// hostedOpts configures newHostedEnv.
type hostedOpts struct {
	smtp   bool          // deliver non-sandbox mail through SMTP to a go-smtp server in the test
	rate   web.RateLimit // per-IP limit of the hosted form posts (zero: the default)
	limits account.HostedLimits
}

// hostedEnv is a complete idgate (like newEnv) whose hosted login can be
// tuned, with an app callback served by the same httptest server and,
// optionally, a real SMTP server receiving the emails.
type hostedEnv struct {
	*env
	smtp     *mailbox
	callback string          // <server>/app/callback
	seen     map[string]bool // outbox messages outboxCode returned
}

func newHostedEnv(t *testing.T, o hostedOpts) *hostedEnv {
	t.Helper()
	h := &hostedEnv{seen: map[string]bool{}}
	var smtpMailer notify.Mailer
	if o.smtp {
		var addr string
		h.smtp, addr = startMailbox(t)
		m, err := notify.NewSMTPMailer("smtp://"+addr, "idgate <no-reply@idgate.test>")
		if err != nil {
			t.Fatal(err)
		}
		smtpMailer = m
	}
	h.env = newEnvWith(t, envOpts{mailer: smtpMailer, limits: o.limits, rate: o.rate, routes: func(mux *http.ServeMux) {
		// The app: its callback shows the code it received.
		mux.HandleFunc("GET /app/callback", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			q := r.URL.Query()
			io.WriteString(w, `<!doctype html><title>App</title><h1 id="app">Signed in to the app</h1><p id="code">`+
				q.Get("code")+`</p><p id="error">`+q.Get("error")+`</p>`)
		})
	}})
	h.callback = h.srv.URL + "/app/callback"
	return h
}

// hostedProject creates a project whose app calls back to the env's app.
func (h *hostedEnv) hostedProject(environment, mfa string, callbacks ...string) tenant.Credentials {
	h.t.Helper()
	if len(callbacks) == 0 {
		callbacks = []string{h.callback}
	}
	var c tenant.Credentials
	h.call("POST", "/admin/api/projects", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"name": "Acme Notes", "environment": environment, "appType": "web", "callbackUrls": callbacks, "mfa": mfa}, 201, &c)
	return c
}

// secondApp registers another app in the project's pool.
func (h *hostedEnv) secondApp(c tenant.Credentials, survives bool) tenant.Credentials {
	h.t.Helper()
	var out tenant.Credentials
	h.call("POST", "/admin/api/pools/"+c.UserPoolID+"/apps", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"name": "Acme Calendar", "appType": "web", "callbackUrls": []string{h.callback}}, 201, &out)
	if survives {
		h.call("PATCH", "/admin/api/apps/"+out.ClientID, map[string]string{"Authorization": "Bearer " + adminToken},
			map[string]any{"hostedSessionSurvivesGlobalSignOut": true}, 200, nil)
	}
	out.APIKey = c.APIKey
	return out
}

// browser is a cookie-keeping HTTP client that does not follow redirects:
// a browser without JavaScript, step by step.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
	header http.Header // sent with every request
}

func (h *hostedEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: h.t, base: h.srv.URL, header: http.Header{},
		client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// resp is a response with its body read.
type resp struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(method, target string, form url.Values) resp {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer r.Body.Close()
	raw, _ := io.ReadAll(r.Body)
	return resp{status: r.StatusCode, location: r.Header.Get("Location"), header: r.Header, body: string(raw)}
}

func (b *browser) get(target string) resp { return b.do(http.MethodGet, target, nil) }
func (b *browser) post(target string, form url.Values) resp {
	return b.do(http.MethodPost, target, form)
}

// follow GETs redirects on idgate until a page, or a redirect elsewhere.
func (b *browser) follow(r resp) resp {
	b.t.Helper()
	for i := 0; r.status >= 300 && r.status < 400 && i < 10; i++ {
		if !strings.HasPrefix(r.location, "/") && !strings.HasPrefix(r.location, b.base) {
			return r
		}
		r = b.get(r.location)
	}
	return r
}

// want fails unless the response has the status.
func (r resp) want(t *testing.T, status int, what string) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; location %q; body:\n%s", what, r.status, status, r.location, r.body)
	}
	return r
}

// callbackQuery parses the query of a redirect to the app's callback.
func (r resp) callbackQuery(t *testing.T, callback string) url.Values {
	t.Helper()
	if !strings.HasPrefix(r.location, callback) {
		t.Fatalf("redirect to %q, want the callback %s; body %s", r.location, callback, r.body)
	}
	return mustParse(t, r.location).Query()
}

// form returns the hidden fields of the page's first form.
func (r resp) form() url.Values {
	f := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(r.body, -1) {
		f.Set(m[1], htmlUnescape(m[2]))
	}
	return f
}

// with returns a copy of v with the key/value pairs set.
func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

var secretRe = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7 ]+)</code>`)
var recoveryRe = regexp.MustCompile(`<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>`)

// totpSecret reads the manual-entry secret from the enrolment page.
func totpSecret(t *testing.T, page string) string {
	t.Helper()
	m := secretRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no TOTP secret on the page:\n%s", page)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// totpCode computes the code of the secret at t.
func totpCode(t *testing.T, secretB32 string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secretB32, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var codeRe = regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)

// outboxCode waits (up to 5 s: reset codes are sent in the background)
// for an email to the address it has not returned before, in the sandbox
// outbox, and returns its 6-digit code.
func (h *hostedEnv) outboxCode(to string) string {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, ok := h.outbox.Latest(to); ok && !h.seen[c.ID] {
			h.seen[c.ID] = true
			m := codeRe.FindStringSubmatch(c.Message.Text)
			if m == nil {
				h.t.Fatalf("no code in the email: %s", c.Message.Text)
			}
			return m[1]
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no new email to %s", to)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mailbox is a real SMTP server (github.com/emersion/go-smtp) that keeps
// what it receives.
type mailbox struct {
	mu   sync.Mutex
	msgs []*mail.Message
	text []string
	got  chan struct{}
}

func startMailbox(t *testing.T) (*mailbox, string) {
	t.Helper()
	mb := &mailbox{got: make(chan struct{}, 100)}
	s := smtp.NewServer(mb)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return mb, ln.Addr().String()
}

// NewSession implements smtp.Backend.
func (mb *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }

type mailSession struct{ mb *mailbox }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }
func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	text := plainText(msg)
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, msg)
	s.mb.text = append(s.mb.text, text)
	s.mb.mu.Unlock()
	s.mb.got <- struct{}{}
	return nil
}

// plainText returns the decoded text/plain part of a message.
func plainText(msg *mail.Message) string {
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	decode := func(enc string, r io.Reader) string {
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, _ := io.ReadAll(r)
		return string(b)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return decode(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt == "text/plain" {
			return decode(p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}

// code waits for the next email to the address and returns its code.
func (mb *mailbox) code(t *testing.T, to string, after int) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		mb.mu.Lock()
		for i := after; i < len(mb.msgs); i++ {
			if strings.EqualFold(strings.Trim(mb.msgs[i].Header.Get("To"), "<>"), to) || strings.Contains(mb.msgs[i].Header.Get("To"), to) {
				if m := codeRe.FindStringSubmatch(mb.text[i]); m != nil {
					mb.mu.Unlock()
					return m[1]
				}
			}
		}
		mb.mu.Unlock()
		select {
		case <-mb.got:
		case <-deadline:
			t.Fatalf("no email with a code reached the SMTP server for %s", to)
		}
	}
}

// count returns how many messages the server received.
func (mb *mailbox) count() int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return len(mb.msgs)
}
