package storetest

import (
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var sessionTests = []test{
	{"Sessions", testSessions},
	{"EndSession", testEndSession},
	{"EndSessionConcurrent", testEndSessionConcurrent},
	{"EndUserSessions", testEndUserSessions},
	{"TouchSession", testTouchSession},
	{"ScrubUserSessions", testScrubUserSessions},
}

// newSession returns an active session of the user with every field set
// (except the end).
func newSession(f fixture, sub, id string, created time.Time) idgate.Session {
	return idgate.Session{
		ID: id, PoolID: f.Pool.ID, UserSub: sub, ClientID: "client-1", AuthTime: created.Add(-time.Second),
		AMR: []string{"pwd", "otp"}, IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
		CreatedAt: created, LastSeenAt: created.Add(time.Minute), ExpiresAt: created.Add(30 * 24 * time.Hour),
	}
}

func testSessions(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sub := idgate.NewUUID()
	older := newSession(f, sub, "sid_older", at(time.Hour))
	ended := newSession(f, sub, "sid_ended", at(2*time.Hour))
	ended.EndedAt = at(3 * time.Hour)
	ended.EndReason = idgate.EndLogout
	bare := idgate.Session{ID: "sid_bare", PoolID: f.Pool.ID, UserSub: sub, CreatedAt: at(4 * time.Hour)}
	for _, x := range []idgate.Session{older, ended, bare, newSession(f, idgate.NewUUID(), "sid_other", t0)} {
		must(t, s.CreateSession(ctx, x))
	}

	for _, want := range []idgate.Session{older, ended, bare} {
		got, err := s.GetSession(ctx, want.ID)
		must(t, err)
		equal(t, "GetSession "+want.ID, got, want)
	}
	list, err := s.ListSessions(ctx, f.Pool.ID, sub)
	must(t, err)
	equal(t, "ListSessions (newest first, ended included, this user only)", list, []idgate.Session{bare, ended, older})

	wantErr(t, s.CreateSession(ctx, newSession(f, sub, older.ID, t0)), idgate.ErrConflict)
	_, err = s.GetSession(ctx, "sid_missing")
	wantErr(t, err, idgate.ErrNotFound)
	list, err = s.ListSessions(ctx, f.Pool.ID, idgate.NewUUID())
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("ListSessions of a user without sessions = %d sessions", len(list))
	}
}

func testEndSession(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	x := newSession(f, idgate.NewUUID(), "sid_1", t0)
	must(t, s.CreateSession(ctx, x))

	ended, err := s.EndSession(ctx, x.ID, at(time.Hour), idgate.EndLogout)
	must(t, err)
	if !ended {
		t.Fatal("EndSession of an active session reported false")
	}
	ended, err = s.EndSession(ctx, x.ID, at(2*time.Hour), idgate.EndAdminRevoked)
	must(t, err)
	if ended {
		t.Fatal("EndSession of an ended session reported true")
	}
	got, err := s.GetSession(ctx, x.ID)
	must(t, err)
	want := x
	want.EndedAt = at(time.Hour)
	want.EndReason = idgate.EndLogout
	equal(t, "session after two ends (the first stays)", got, want)
	if got.Active(at(time.Hour)) {
		t.Fatal("an ended session is still active")
	}

	_, err = s.EndSession(ctx, "sid_missing", t0, idgate.EndLogout)
	wantErr(t, err, idgate.ErrNotFound)
}

func testEndSessionConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	x := newSession(f, idgate.NewUUID(), "sid_1", t0)
	must(t, s.CreateSession(ctx, x))
	const n = 10
	ended := make([]bool, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		ended[i], errs[i] = s.EndSession(ctx, x.ID, at(time.Duration(i+1)*time.Minute), idgate.EndLogout)
	})
	winners := 0
	for i := range n {
		must(t, errs[i])
		if ended[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d concurrent EndSession calls reported true, want exactly 1", winners)
	}
}

func testEndUserSessions(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sub, otherSub := idgate.NewUUID(), idgate.NewUUID()
	a := newSession(f, sub, "sid_a", at(time.Minute))
	keep := newSession(f, sub, "sid_keep", at(2*time.Minute))
	done := newSession(f, sub, "sid_done", at(3*time.Minute))
	done.EndedAt = at(4 * time.Minute)
	done.EndReason = idgate.EndLogout
	b := newSession(f, sub, "sid_b", at(5*time.Minute))
	other := newSession(f, otherSub, "sid_other", at(6*time.Minute))
	for _, x := range []idgate.Session{a, keep, done, b, other} {
		must(t, s.CreateSession(ctx, x))
	}

	ids, err := s.EndUserSessions(ctx, f.Pool.ID, sub, at(time.Hour), idgate.EndGlobalSignOut, keep.ID)
	must(t, err)
	equal(t, "ids ended (ascending)", ids, []string{a.ID, b.ID})

	for _, x := range []idgate.Session{a, b} {
		want := x
		want.EndedAt = at(time.Hour)
		want.EndReason = idgate.EndGlobalSignOut
		got, err := s.GetSession(ctx, x.ID)
		must(t, err)
		equal(t, "ended session "+x.ID, got, want)
	}
	for _, want := range []idgate.Session{keep, done, other} { // the exception, the already ended, another user's
		got, err := s.GetSession(ctx, want.ID)
		must(t, err)
		equal(t, "untouched session "+want.ID, got, want)
	}

	ids, err = s.EndUserSessions(ctx, f.Pool.ID, sub, at(2*time.Hour), idgate.EndPasswordChanged, "")
	must(t, err)
	equal(t, "ids ended by the second call (no exception)", ids, []string{keep.ID})
	ids, err = s.EndUserSessions(ctx, f.Pool.ID, sub, at(3*time.Hour), idgate.EndUserDeleted, "")
	must(t, err)
	if len(ids) != 0 {
		t.Fatalf("third call ended %v, want none", ids)
	}
}

func testTouchSession(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	x := newSession(f, idgate.NewUUID(), "sid_1", t0)
	x.LastSeenAt = time.Time{}
	must(t, s.CreateSession(ctx, x))

	check := func(want time.Time) {
		t.Helper()
		got, err := s.GetSession(ctx, x.ID)
		must(t, err)
		if !got.LastSeenAt.Equal(want) {
			t.Fatalf("LastSeenAt = %v, want %v", got.LastSeenAt, want)
		}
	}
	must(t, s.TouchSession(ctx, x.ID, at(time.Hour)))
	check(at(time.Hour))
	must(t, s.TouchSession(ctx, x.ID, at(time.Minute))) // backward: ignored
	check(at(time.Hour))
	must(t, s.TouchSession(ctx, x.ID, at(time.Hour+time.Nanosecond)))
	check(at(time.Hour + time.Nanosecond))
	wantErr(t, s.TouchSession(ctx, "sid_missing", t0), idgate.ErrNotFound)
}

func testScrubUserSessions(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sub := idgate.NewUUID()
	a := newSession(f, sub, "sid_a", t0)
	b := newSession(f, sub, "sid_b", at(time.Hour))
	b.EndedAt = at(2 * time.Hour)
	b.EndReason = idgate.EndLogout
	other := newSession(f, idgate.NewUUID(), "sid_other", t0)
	for _, x := range []idgate.Session{a, b, other} {
		must(t, s.CreateSession(ctx, x))
	}

	must(t, s.ScrubUserSessions(ctx, f.Pool.ID, sub))
	for _, x := range []idgate.Session{a, b} {
		want := x
		want.IP, want.UserAgent = "", ""
		got, err := s.GetSession(ctx, x.ID)
		must(t, err)
		equal(t, "scrubbed session "+x.ID, got, want)
	}
	got, err := s.GetSession(ctx, other.ID)
	must(t, err)
	equal(t, "another user's session", got, other)
	must(t, s.ScrubUserSessions(ctx, f.Pool.ID, idgate.NewUUID())) // nothing to scrub is fine
}
