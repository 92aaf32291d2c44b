package console_test

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	svc   *console.Service
	store idgate.Store
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "idgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	hasher := secret.NewHasher(secret.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32}, 2)
	return &env{t: t, svc: console.NewService(st, hasher, sealer, console.Limits{}, clk.Now), store: st, clock: clk}
}

const password = "a long admin passphrase"

// code returns the current TOTP code of a secret and moves the clock to
// the next step, so that the next code differs (codes work once).
func (e *env) code(sec string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(sec, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	return c
}

// setup creates the first administrator and returns the session token and
// the TOTP secret.
func (e *env) setup(email string) (string, string) {
	e.t.Helper()
	raw, err := e.svc.IssueSetupToken(e.t.Context())
	if err != nil || raw == "" {
		e.t.Fatalf("IssueSetupToken = %q, %v", raw, err)
	}
	en, err := e.svc.Enrol(raw, email)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.HasPrefix(en.QR, "data:image/png;base64,") || !strings.Contains(en.URI, en.Secret) {
		e.t.Fatalf("enrolment %+v lacks a QR code or URI", en)
	}
	tok, err := e.svc.CompleteSetup(e.t.Context(), raw, console.NewAdmin{Email: email, Password: password, Sealed: en.Sealed, Code: e.code(en.Secret)}, console.Meta{})
	if err != nil {
		e.t.Fatalf("CompleteSetup: %v", err)
	}
	return tok, en.Secret
}

func TestSetupIsSingleUse(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	raw, err := e.svc.IssueSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	en, _ := e.svc.Enrol(raw, "root@example.com")
	in := console.NewAdmin{Email: "root@example.com", Password: password, Sealed: en.Sealed, Code: "000000"}
	if _, err := e.svc.CompleteSetup(ctx, raw, in, console.Meta{}); !errors.Is(err, console.ErrBadCode) {
		t.Fatalf("wrong first code: %v, want ErrBadCode", err)
	}
	in.Code = e.code(en.Secret)
	if _, err := e.svc.CompleteSetup(ctx, raw, in, console.Meta{}); err != nil {
		t.Fatal(err)
	}
	in.Email, in.Code = "second@example.com", e.code(en.Secret)
	if _, err := e.svc.CompleteSetup(ctx, raw, in, console.Meta{}); !errors.Is(err, console.ErrBadLink) {
		t.Fatalf("second use of the setup token: %v, want ErrBadLink", err)
	}
	if tok, err := e.svc.IssueSetupToken(ctx); err != nil || tok != "" {
		t.Fatalf("IssueSetupToken with an administrator = %q, %v; want none", tok, err)
	}
	if n, _ := e.store.CountAdmins(ctx); n != 1 {
		t.Fatalf("%d administrators, want 1", n)
	}
}

func TestSetupRefusesAnotherToken(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	raw2, _ := e.svc.IssueSetupToken(ctx) // a second start before anyone set up
	e.setup("root@example.com")
	if err := e.svc.CheckSetup(ctx, raw2); !errors.Is(err, console.ErrSetupDone) {
		t.Fatalf("CheckSetup of an older token after setup: %v, want ErrSetupDone", err)
	}
}

func TestSetupSealedSecretIsBoundToToken(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	raw, _ := e.svc.IssueSetupToken(ctx)
	other, _ := e.svc.Enrol("another-token", "x@example.com")
	_, err := e.svc.CompleteSetup(ctx, raw, console.NewAdmin{Email: "root@example.com", Password: password, Sealed: other.Sealed, Code: e.code(other.Secret)}, console.Meta{})
	var ie *idgate.Error
	if !errors.As(err, &ie) || ie.Field != "enrolment" {
		t.Fatalf("enrolment of another token accepted: %v", err)
	}
}

func TestSignInWithTOTP(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	_, sec := e.setup("root@example.com")
	if _, err := e.svc.SignIn(ctx, "nobody@example.com", password, console.Meta{}); !errors.Is(err, console.ErrBadSignIn) {
		t.Fatalf("unknown email: %v", err)
	}
	if _, err := e.svc.SignIn(ctx, "root@example.com", "wrong password!!", console.Meta{}); !errors.Is(err, console.ErrBadSignIn) {
		t.Fatalf("wrong password: %v", err)
	}
	ch, err := e.svc.SignIn(ctx, "ROOT@example.com", password, console.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	code := e.code(sec)
	tok, err := e.svc.CompleteSignIn(ctx, ch, code, console.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := e.svc.Session(ctx, tok)
	if err != nil || cur.Admin.Email != "root@example.com" || cur.CSRF == "" || !cur.CheckCSRF(cur.CSRF) || cur.CheckCSRF("x") {
		t.Fatalf("session = %+v, %v", cur, err)
	}
	// The challenge and the code were both single use.
	ch2, _ := e.svc.SignIn(ctx, "root@example.com", password, console.Meta{})
	e.clock.t = e.clock.Now().Add(-30 * time.Second) // the same step as code
	if _, err := e.svc.CompleteSignIn(ctx, ch2, code, console.Meta{}); !errors.Is(err, console.ErrBadCode) {
		t.Fatalf("replayed code: %v, want ErrBadCode", err)
	}
	e.clock.Advance(30 * time.Second)
	if _, err := e.svc.CompleteSignIn(ctx, ch, e.code(sec), console.Meta{}); !errors.Is(err, console.ErrBadSignIn) {
		t.Fatalf("reused challenge: %v, want ErrBadSignIn", err)
	}
}

func TestSignInLockout(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	_, sec := e.setup("root@example.com")
	var err error
	for range e.svc.Limits().MaxFailures {
		_, err = e.svc.SignIn(ctx, "root@example.com", "wrong password!!", console.Meta{})
	}
	if !errors.Is(err, console.ErrLocked) {
		t.Fatalf("after %d failures: %v, want ErrLocked", e.svc.Limits().MaxFailures, err)
	}
	if _, err := e.svc.SignIn(ctx, "root@example.com", password, console.Meta{}); !errors.Is(err, console.ErrLocked) {
		t.Fatalf("right password while locked: %v, want ErrLocked", err)
	}
	e.clock.Advance(e.svc.Limits().Lockout)
	ch, err := e.svc.SignIn(ctx, "root@example.com", password, console.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CompleteSignIn(ctx, ch, e.code(sec), console.Meta{}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tok, sec := e.setup("root@example.com")
	lim := e.svc.Limits()
	// Idle: activity keeps it alive, a pause of IdleTimeout ends it.
	e.clock.Advance(lim.IdleTimeout - time.Minute)
	if _, err := e.svc.Session(ctx, tok); err != nil {
		t.Fatalf("session before the idle timeout: %v", err)
	}
	e.clock.Advance(lim.IdleTimeout)
	if _, err := e.svc.Session(ctx, tok); !errors.Is(err, console.ErrNoSession) {
		t.Fatalf("idle session: %v, want ErrNoSession", err)
	}
	// Absolute: a session used every 20 minutes still ends after 8 hours.
	ch, _ := e.svc.SignIn(ctx, "root@example.com", password, console.Meta{})
	tok, err := e.svc.CompleteSignIn(ctx, ch, e.code(sec), console.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	start := e.clock.Now()
	for e.clock.Now().Sub(start) < lim.AbsoluteTimeout-20*time.Minute {
		e.clock.Advance(20 * time.Minute)
		if _, err := e.svc.Session(ctx, tok); err != nil {
			t.Fatalf("active session after %s: %v", e.clock.Now().Sub(start), err)
		}
	}
	e.clock.Advance(20 * time.Minute)
	if _, err := e.svc.Session(ctx, tok); !errors.Is(err, console.ErrNoSession) {
		t.Fatalf("session after %s: %v, want ErrNoSession", e.clock.Now().Sub(start), err)
	}
	if err := e.svc.SignOut(ctx, tok); err != nil {
		t.Fatal(err)
	}
}

func TestReauthWindow(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tok, sec := e.setup("root@example.com")
	cur, _ := e.svc.Session(ctx, tok)
	if !e.svc.Fresh(cur) {
		t.Fatal("a session just signed in with TOTP is not fresh")
	}
	e.clock.Advance(e.svc.Limits().ReauthWindow)
	cur, _ = e.svc.Session(ctx, tok)
	if e.svc.Fresh(cur) {
		t.Fatal("fresh after the re-authentication window")
	}
	if err := e.svc.Reauthenticate(ctx, &cur, "123456"); !errors.Is(err, console.ErrBadCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := e.svc.Reauthenticate(ctx, &cur, e.code(sec)); err != nil {
		t.Fatal(err)
	}
	cur, _ = e.svc.Session(ctx, tok)
	if !e.svc.Fresh(cur) {
		t.Fatal("not fresh after re-authentication")
	}
	if err := e.svc.SignOut(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Session(ctx, tok); !errors.Is(err, console.ErrNoSession) {
		t.Fatalf("signed-out session: %v", err)
	}
}

func TestInvitation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tok, _ := e.setup("root@example.com")
	cur, _ := e.svc.Session(ctx, tok)
	if _, _, err := e.svc.Invite(ctx, cur.Admin, "root@example.com"); err == nil {
		t.Fatal("invited an existing administrator")
	}
	raw, _, err := e.svc.Invite(ctx, cur.Admin, "Second@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := e.svc.CheckInvitation(ctx, raw)
	if err != nil || inv.Email != "second@example.com" {
		t.Fatalf("invitation = %+v, %v", inv, err)
	}
	pending, _ := e.svc.PendingInvitations(ctx)
	if len(pending) != 1 {
		t.Fatalf("%d pending invitations, want 1", len(pending))
	}
	en, _ := e.svc.Enrol(raw, inv.Email)
	if _, err := e.svc.AcceptInvitation(ctx, raw, console.NewAdmin{Password: "short", Sealed: en.Sealed, Code: e.code(en.Secret)}, console.Meta{}); err == nil {
		t.Fatal("accepted a short password")
	}
	if _, err := e.svc.AcceptInvitation(ctx, raw, console.NewAdmin{Password: password, Sealed: en.Sealed, Code: e.code(en.Secret)}, console.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CheckInvitation(ctx, raw); !errors.Is(err, console.ErrBadLink) {
		t.Fatalf("used invitation: %v", err)
	}
	admins, _ := e.svc.Admins(ctx)
	if len(admins) != 2 || admins[1].InvitedBy != cur.Admin.ID {
		t.Fatalf("admins = %+v", admins)
	}
}
