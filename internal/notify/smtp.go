package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/idgate/idgate/internal/idgate"
)

// DefaultSMTPTimeout bounds one delivery (connect, TLS, AUTH and DATA) when
// the context has no earlier deadline.
const DefaultSMTPTimeout = 30 * time.Second

// Default ports: message submission (RFC 6409) for smtp://, submissions
// with implicit TLS (RFC 8314) for smtps://.
const (
	defaultSMTPPort  = 587
	defaultSMTPSPort = 465
)

// SMTPMailer sends email through an SMTP server, one connection per
// message. It is safe for concurrent use.
//
// Transport security follows the URL it was built from: smtp:// uses
// STARTTLS whenever the server offers it (?starttls=required refuses servers
// that do not), smtps:// uses implicit TLS. Certificates are verified unless
// ?insecure_skip_verify=1, which is for development servers only. Without a
// port, smtp:// uses 587 (submission) and smtps:// 465. Passwords go only
// over TLS or to localhost (localhost, 127.0.0.1, ::1): go-mail's PLAIN and
// LOGIN refuse anything else rather than send them in the clear.
type SMTPMailer struct {
	// Timeout bounds one delivery when the context allows longer;
	// DefaultSMTPTimeout when zero. Set it before the first Send.
	Timeout time.Duration

	host        string
	port        int
	implicitTLS bool
	tlsPolicy   gomail.TLSPolicy
	tlsConfig   *tls.Config
	username    string
	password    string
	from        string // as given, possibly with a display name
	fromDomain  string // for Message-IDs
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer returns a mailer for the server rawURL names
// (smtp://user:pass@host:port or smtps://…, see SMTPMailer) sending from the
// address from (e.g. "Acme <no-reply@acme.example>"). It checks both without
// connecting. Its errors name the problem and never contain the password.
func NewSMTPMailer(rawURL, from string) (*SMTPMailer, error) {
	m, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("notify: invalid From address %q: %w", from, err)
	}
	m.from = from
	m.fromDomain = addr.Address[strings.LastIndexByte(addr.Address, '@')+1:]
	return m, nil
}

// parseSMTPURL checks rawURL and turns it into an SMTPMailer without From.
func parseSMTPURL(rawURL string) (*SMTPMailer, error) {
	// url.Parse's errors quote the whole URL, password included, and even
	// its inner errors can quote part of a password that has an unescaped
	// '/' or '?', so they are replaced by a message of our own.
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("notify: SMTP URL cannot be parsed: expected smtp://user:pass@host:port " +
			"(percent-encode special characters in the user name and password)")
	}
	m := &SMTPMailer{}
	switch u.Scheme {
	case "smtp":
		m.port, m.tlsPolicy = defaultSMTPPort, gomail.TLSOpportunistic
	case "smtps":
		m.port, m.implicitTLS = defaultSMTPSPort, true
	case "":
		return nil, errors.New("notify: SMTP URL has no scheme: expected smtp:// or smtps://")
	default:
		return nil, fmt.Errorf("notify: SMTP URL scheme %q is not supported: use smtp:// or smtps://", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, errors.New("notify: SMTP URL has no host: expected smtp://user:pass@host:port")
	}
	m.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("notify: SMTP URL port %q is not a number from 1 to 65535", p)
		}
		m.port = n
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New("notify: SMTP URL must not have a path")
	}
	if u.Fragment != "" {
		return nil, errors.New("notify: SMTP URL must not have a fragment")
	}
	if u.User != nil {
		m.username = u.User.Username()
		m.password, _ = u.User.Password()
		switch {
		case m.username == "" && m.password != "":
			return nil, errors.New("notify: SMTP URL has a password but no user name")
		case m.username != "" && m.password == "":
			return nil, errors.New("notify: SMTP URL has a user name but no password")
		}
	}

	m.tlsConfig = &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("notify: SMTP URL query cannot be parsed")
	}
	for _, key := range slices.Sorted(maps.Keys(q)) { // sorted: the same URL, the same error
		if len(q[key]) > 1 {
			return nil, fmt.Errorf("notify: SMTP URL option %q is given more than once", key)
		}
		v := q.Get(key)
		switch key {
		case "starttls":
			if m.implicitTLS {
				return nil, errors.New("notify: SMTP URL option starttls does not apply to smtps://, which is always TLS")
			}
			switch v {
			case "opportunistic":
				m.tlsPolicy = gomail.TLSOpportunistic
			case "required":
				m.tlsPolicy = gomail.TLSMandatory
			default:
				return nil, fmt.Errorf("notify: SMTP URL option starttls=%q: want required or opportunistic", v)
			}
		case "insecure_skip_verify":
			skip, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("notify: SMTP URL option insecure_skip_verify=%q: want 1 or 0", v)
			}
			m.tlsConfig.InsecureSkipVerify = skip
		default:
			return nil, fmt.Errorf("notify: SMTP URL option %q is unknown: known options are starttls and insecure_skip_verify", key)
		}
	}
	return m, nil
}

// String describes the server without the password, for logs.
func (m *SMTPMailer) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(m.host, strconv.Itoa(m.port))}
	if m.implicitTLS {
		u.Scheme = "smtps"
	}
	if m.username != "" {
		u.User = url.User(m.username)
	}
	return u.String()
}

// Send delivers msg as multipart/alternative (text and HTML) or as plain
// text when msg has no HTML. It gives up when ctx ends or the delivery
// takes longer than Timeout, closing the connection either way.
func (m *SMTPMailer) Send(ctx context.Context, msg Message) error {
	if err := msg.validate(); err != nil {
		return err
	}
	gm, err := m.build(msg)
	if err != nil {
		return err
	}

	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if ctx.Err() != nil {
		return fmt.Errorf("notify: sending via %s: %w", m, context.Cause(ctx))
	}
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(deadline), time.Millisecond) // go-mail wants > 0
	}

	// go-mail honours ctx only while dialling; closing the connection when
	// ctx ends also interrupts a server that stalls later in the dialogue.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		// go-mail's address is "host:port", wrong for IPv6 literals.
		addr := net.JoinHostPort(m.host, strconv.Itoa(m.port))
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if m.implicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: m.tlsConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { conn.Close() }))
		return conn, nil
	}

	opts := []gomail.Option{
		gomail.WithPort(m.port),
		// go-mail's own per-command deadline is only a backstop: it is set
		// past ctx's, so that when time runs out the error says so.
		gomail.WithTimeout(timeout + time.Second),
		gomail.WithTLSConfig(m.tlsConfig),
		gomail.WithDialContextFunc(dial),
	}
	if m.implicitTLS {
		// The dialler above already speaks TLS; go-mail sees a *tls.Conn,
		// treats the session as encrypted and must not try STARTTLS.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	} else {
		opts = append(opts, gomail.WithTLSPolicy(m.tlsPolicy))
	}
	if m.username != "" {
		opts = append(opts,
			gomail.WithUsername(m.username), gomail.WithPassword(m.password),
			// PLAIN or LOGIN if offered, else go-mail's strongest choice.
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	client, err := gomail.NewClient(m.host, opts...)
	if err != nil {
		return m.redact(fmt.Errorf("notify: SMTP client for %s: %w", m, err))
	}
	if err := client.DialAndSendWithContext(ctx, gm); err != nil {
		if ctxErr := context.Cause(ctx); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return m.redact(fmt.Errorf("notify: sending via %s: %w", m, err))
	}
	return nil
}

// build turns msg into a go-mail message.
func (m *SMTPMailer) build(msg Message) (*gomail.Msg, error) {
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := gm.From(m.from); err != nil {
		return nil, fmt.Errorf("notify: From %q: %w", m.from, err)
	}
	if err := gm.To(msg.To); err != nil {
		return nil, fmt.Errorf("notify: To %q: %w", msg.To, err)
	}
	gm.Subject(msg.Subject)
	gm.SetDate()
	// A Message-ID on the sender's domain, rather than go-mail's default,
	// which would publish this machine's host name.
	gm.SetMessageIDWithValue(idgate.NewID("") + "@" + m.fromDomain)
	// RFC 3834: tells vacation responders not to answer.
	gm.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return gm, nil
}

// redact removes the password from err's text, in case a server or a
// library repeats it; the error chain stays available to errors.Is.
func (m *SMTPMailer) redact(err error) error {
	if m.password == "" || !strings.Contains(err.Error(), m.password) {
		return err
	}
	return &redactedError{err: err, secret: m.password}
}

type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.secret, "xxxxx")
}

func (e *redactedError) Unwrap() error { return e.err }
