package notify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file runs a real SMTP server (github.com/emersion/go-smtp) inside
// the tests, so the SMTP mailer is tested against a protocol peer rather
// than a fake.

// serverConfig says how the test SMTP server behaves.
type serverConfig struct {
	user, pass   string      // when set, AUTH PLAIN with these is required
	tls          *tls.Config // offered through STARTTLS, or implicit with implicitTLS
	implicitTLS  bool
	listen       string // address to listen on; 127.0.0.1:0 when empty
	echoPassword bool   // the AUTH failure reply repeats the password it got
}

// received is one message the test server accepted.
type received struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool   // the message arrived over TLS
	AuthUser string // who authenticated, if anyone
}

// testBackend records what the server receives.
type testBackend struct {
	cfg   serverConfig
	mu    sync.Mutex
	msgs  []received
	conns int // sessions opened
	auths int // AUTH attempts
}

func (b *testBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.conns++
	b.mu.Unlock()
	return &testSession{b: b, conn: c}, nil
}

// Messages returns what the server has accepted so far.
func (b *testBackend) Messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type testSession struct {
	b    *testBackend
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *testSession) AuthMechanisms() []string {
	if s.b.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	s.b.mu.Lock()
	s.b.auths++
	s.b.mu.Unlock()
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.b.cfg.user || password != s.b.cfg.pass {
			if s.b.cfg.echoPassword {
				return errors.New("wrong password " + password)
			}
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.cfg.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, received{From: s.from, To: s.to, Data: data, TLS: isTLS, AuthUser: s.user})
	s.b.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.from, s.to = "", nil }
func (s *testSession) Logout() error { return nil }

// startSMTPServer starts a test SMTP server on 127.0.0.1 and returns its
// backend and address; it stops when the test ends.
func startSMTPServer(t *testing.T, cfg serverConfig) (*testBackend, string) {
	t.Helper()
	be := &testBackend{cfg: cfg}
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // AUTH PLAIN without TLS, which go-smtp refuses by default
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)

	if cfg.listen == "" {
		cfg.listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.implicitTLS {
		ln = tls.NewListener(ln, cfg.tls)
	} else {
		s.TLSConfig = cfg.tls // STARTTLS
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return be, ln.Addr().String()
}

// selfSignedTLS returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1 and localhost.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// parsedMail is a received message taken apart.
type parsedMail struct {
	Header    mail.Header
	Subject   string // decoded
	MediaType string
	Text      string
	HTML      string
}

// parseMail reads a received message and decodes its text and HTML parts.
func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading message: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decoding subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	p := parsedMail{Header: msg.Header, Subject: subject, MediaType: mediaType}
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.Text = readPart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable itself
		if err == io.EOF {
			return p
		}
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		body := readPart(t, part.Header.Get("Content-Transfer-Encoding"), part)
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			p.Text = body
		case "text/html":
			p.HTML = body
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
}

func readPart(t *testing.T, encoding string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
