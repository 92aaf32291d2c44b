package storetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var consoleTests = []test{
	{"Admins", testAdmins},
	{"AdminTOTPStep", testAdminTOTPStep},
	{"AdminTokens", testAdminTokens},
	{"AdminTokenConcurrentUse", testAdminTokenConcurrentUse},
	{"AdminSessions", testAdminSessions},
	{"RecentEvents", testRecentEvents},
	{"CountEvents", testCountEvents},
	{"CountActiveSessions", testCountActiveSessions},
	{"SearchUsers", testSearchUsers},
}

func newAdmin(email string) idgate.Admin {
	return idgate.Admin{ID: idgate.NewID("adm_"), Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		TOTPSecret: []byte{9, 8, 7}, CreatedAt: t0}
}

func testAdmins(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	n, err := s.CountAdmins(ctx)
	must(t, err)
	equal(t, "admins in an empty store", n, 0)
	a := newAdmin("Root@Example.com")
	must(t, s.CreateAdmin(ctx, a))
	a.Email = "root@example.com"
	got, err := s.GetAdmin(ctx, a.ID)
	must(t, err)
	equal(t, "admin", got, a)
	got, err = s.GetAdminByEmail(ctx, "ROOT@example.com")
	must(t, err)
	equal(t, "admin by email", got, a)
	dup := newAdmin("root@EXAMPLE.com")
	wantErr(t, s.CreateAdmin(ctx, dup), idgate.ErrConflict)
	_, err = s.GetAdmin(ctx, "adm_unknown")
	wantErr(t, err, idgate.ErrNotFound)

	b := newAdmin("second@example.com")
	b.CreatedAt, b.InvitedBy = at(time.Minute), a.ID
	must(t, s.CreateAdmin(ctx, b))
	all, err := s.ListAdmins(ctx)
	must(t, err)
	equal(t, "admins", all, []idgate.Admin{a, b})
	n, err = s.CountAdmins(ctx)
	must(t, err)
	equal(t, "admin count", n, 2)

	updated, err := s.UpdateAdmin(ctx, a.ID, func(old idgate.Admin) (idgate.Admin, error) {
		old.FailedLogins, old.LockedUntil, old.LastLoginAt, old.PasswordHash = 3, at(time.Hour), at(time.Second), "new-hash"
		old.TOTPSecret = []byte{1}
		return old, nil
	})
	must(t, err)
	want := a
	want.FailedLogins, want.LockedUntil, want.LastLoginAt, want.PasswordHash, want.TOTPSecret = 3, at(time.Hour), at(time.Second), "new-hash", []byte{1}
	equal(t, "updated admin", updated, want)
	_, err = s.UpdateAdmin(ctx, a.ID, func(idgate.Admin) (idgate.Admin, error) { return idgate.Admin{}, errBoom })
	wantErr(t, err, errBoom)
	got, err = s.GetAdmin(ctx, a.ID)
	must(t, err)
	equal(t, "admin after an aborted update", got, want)
	_, err = s.UpdateAdmin(ctx, "adm_unknown", func(a idgate.Admin) (idgate.Admin, error) { return a, nil })
	wantErr(t, err, idgate.ErrNotFound)
}

func testAdminTOTPStep(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	a := newAdmin("totp@example.com")
	must(t, s.CreateAdmin(ctx, a))
	must(t, s.UseAdminTOTPStep(ctx, a.ID, 100))
	wantErr(t, s.UseAdminTOTPStep(ctx, a.ID, 100), idgate.ErrUsed)
	wantErr(t, s.UseAdminTOTPStep(ctx, a.ID, 99), idgate.ErrUsed)
	must(t, s.UseAdminTOTPStep(ctx, a.ID, 101))
	wantErr(t, s.UseAdminTOTPStep(ctx, "adm_unknown", 1), idgate.ErrNotFound)
	got, err := s.GetAdmin(ctx, a.ID)
	must(t, err)
	equal(t, "last step", got.TOTPLastStep, int64(101))

	var ok atomic.Int32
	parallel(8, func(int) {
		if s.UseAdminTOTPStep(ctx, a.ID, 200) == nil {
			ok.Add(1)
		}
	})
	equal(t, "concurrent uses of one step that succeeded", ok.Load(), int32(1))
}

func testAdminTokens(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	setup := idgate.AdminToken{Hash: "setup-hash", Purpose: idgate.AdminTokenSetup, CreatedAt: t0, ExpiresAt: at(24 * time.Hour)}
	invite := idgate.AdminToken{Hash: "invite-hash", Purpose: idgate.AdminTokenInvite, Email: "new@example.com",
		AdminID: "adm_1", CreatedAt: at(time.Minute), ExpiresAt: at(72 * time.Hour)}
	must(t, s.CreateAdminToken(ctx, setup))
	must(t, s.CreateAdminToken(ctx, invite))
	wantErr(t, s.CreateAdminToken(ctx, setup), idgate.ErrConflict)
	got, err := s.GetAdminToken(ctx, invite.Hash)
	must(t, err)
	equal(t, "invite", got, invite)

	used, err := s.UseAdminToken(ctx, setup.Hash, at(time.Hour))
	must(t, err)
	want := setup
	want.UsedAt = at(time.Hour)
	equal(t, "used token", used, want)
	again, err := s.UseAdminToken(ctx, setup.Hash, at(2*time.Hour))
	wantErr(t, err, idgate.ErrUsed)
	equal(t, "token returned with ErrUsed", again, want)
	_, err = s.UseAdminToken(ctx, "unknown", at(time.Hour))
	wantErr(t, err, idgate.ErrNotFound)

	invites, err := s.ListAdminTokens(ctx, idgate.AdminTokenInvite)
	must(t, err)
	equal(t, "invitations", invites, []idgate.AdminToken{invite})

	n, err := s.PurgeAdminRecords(ctx, at(48*time.Hour))
	must(t, err)
	equal(t, "purged", n, int64(1))
	_, err = s.GetAdminToken(ctx, setup.Hash)
	wantErr(t, err, idgate.ErrNotFound)
}

func testAdminTokenConcurrentUse(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	must(t, s.CreateAdminToken(ctx, idgate.AdminToken{Hash: "once", Purpose: idgate.AdminTokenSetup, CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	var ok atomic.Int32
	parallel(8, func(i int) {
		if _, err := s.UseAdminToken(ctx, "once", at(time.Duration(i+1)*time.Second)); err == nil {
			ok.Add(1)
		}
	})
	equal(t, "concurrent uses that succeeded", ok.Load(), int32(1))
}

func testAdminSessions(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	a := newAdmin("sess@example.com")
	must(t, s.CreateAdmin(ctx, a))
	sess := idgate.AdminSession{Hash: "sess-hash", AdminID: a.ID, IP: "192.0.2.1", UserAgent: "Firefox",
		CreatedAt: t0, LastSeenAt: t0, ExpiresAt: at(8 * time.Hour)}
	must(t, s.CreateAdminSession(ctx, sess))
	wantErr(t, s.CreateAdminSession(ctx, sess), idgate.ErrConflict)
	orphan := sess
	orphan.Hash, orphan.AdminID = "orphan", "adm_unknown"
	wantErr(t, s.CreateAdminSession(ctx, orphan), idgate.ErrNotFound)

	must(t, s.TouchAdminSession(ctx, sess.Hash, at(time.Minute)))
	must(t, s.TouchAdminSession(ctx, sess.Hash, at(time.Second))) // never backward
	must(t, s.SetAdminReauth(ctx, sess.Hash, at(2*time.Minute)))
	must(t, s.EndAdminSession(ctx, sess.Hash, at(3*time.Minute), "signed_out"))
	must(t, s.EndAdminSession(ctx, sess.Hash, at(4*time.Minute), "expired")) // the first end stays
	got, err := s.GetAdminSession(ctx, sess.Hash)
	must(t, err)
	want := sess
	want.LastSeenAt, want.ReauthAt, want.EndedAt, want.EndReason = at(time.Minute), at(2*time.Minute), at(3*time.Minute), "signed_out"
	equal(t, "session", got, want)
	wantErr(t, s.TouchAdminSession(ctx, "unknown", at(time.Hour)), idgate.ErrNotFound)
	wantErr(t, s.SetAdminReauth(ctx, "unknown", at(time.Hour)), idgate.ErrNotFound)
	wantErr(t, s.EndAdminSession(ctx, "unknown", at(time.Hour), "x"), idgate.ErrNotFound)
	n, err := s.PurgeAdminRecords(ctx, at(9*time.Hour))
	must(t, err)
	equal(t, "purged sessions", n, int64(1))
}

func appendEvents(t *testing.T, s idgate.Store, f fixture, sub string, types ...string) []idgate.Event {
	t.Helper()
	var out []idgate.Event
	for i, typ := range types {
		e := idgate.Event{ID: idgate.NewID("evt_"), ProjectID: f.Project.ID, PoolID: f.Pool.ID, Type: typ,
			ActorType: idgate.ActorSystem, UserSub: sub, CreatedAt: at(time.Duration(i) * time.Hour)}
		must(t, s.AppendEvent(t.Context(), &e))
		out = append(out, e)
	}
	return out
}

func testRecentEvents(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, g := newFixture(t, s), newFixture(t, s)
	evs := appendEvents(t, s, f, "sub-1", idgate.EventLoginSucceeded, idgate.EventLoginFailed, idgate.EventLockout, idgate.EventLoginSucceeded)
	other := appendEvents(t, s, g, "sub-2", idgate.EventRefreshReuse)

	got, err := s.RecentEvents(ctx, idgate.RecentEventFilter{ProjectID: f.Project.ID})
	must(t, err)
	equal(t, "newest first", seqs(got), []int64{evs[3].Seq, evs[2].Seq, evs[1].Seq, evs[0].Seq})
	got, err = s.RecentEvents(ctx, idgate.RecentEventFilter{Types: []string{idgate.EventLockout, idgate.EventRefreshReuse}})
	must(t, err)
	equal(t, "alerts of every project", seqs(got), []int64{other[0].Seq, evs[2].Seq})
	got, err = s.RecentEvents(ctx, idgate.RecentEventFilter{ProjectID: f.Project.ID, BeforeSeq: evs[3].Seq, Limit: 2})
	must(t, err)
	equal(t, "second page", seqs(got), []int64{evs[2].Seq, evs[1].Seq})
	got, err = s.RecentEvents(ctx, idgate.RecentEventFilter{ProjectID: f.Project.ID, Since: at(time.Hour), Until: at(3 * time.Hour)})
	must(t, err)
	equal(t, "time window", seqs(got), []int64{evs[2].Seq, evs[1].Seq})
	got, err = s.RecentEvents(ctx, idgate.RecentEventFilter{UserSub: "sub-2"})
	must(t, err)
	equal(t, "by user", seqs(got), []int64{other[0].Seq})
	equal(t, "event read back", got[0], other[0])
}

func seqs(evs []idgate.Event) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func testCountEvents(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, g := newFixture(t, s), newFixture(t, s)
	// Hours 0..4 of t0: ok, fail, ok, ok, fail; another project: ok at hour 0.
	appendEvents(t, s, f, "", idgate.EventLoginSucceeded, idgate.EventLoginFailed, idgate.EventLoginSucceeded,
		idgate.EventLoginSucceeded, idgate.EventLoginFailed)
	appendEvents(t, s, g, "", idgate.EventLoginSucceeded)
	types := []string{idgate.EventLoginSucceeded, idgate.EventLoginFailed}

	got, err := s.CountEvents(ctx, "", types, t0, 2*time.Hour, 2)
	must(t, err)
	equal(t, "counts of every project, two 2-hour buckets", got, []idgate.EventCount{
		{Type: idgate.EventLoginFailed, Bucket: 0, Count: 1}, {Type: idgate.EventLoginSucceeded, Bucket: 0, Count: 2},
		{Type: idgate.EventLoginSucceeded, Bucket: 1, Count: 2},
	})
	got, err = s.CountEvents(ctx, f.Project.ID, types, at(time.Hour), time.Hour, 4)
	must(t, err)
	equal(t, "counts of one project from hour 1", got, []idgate.EventCount{
		{Type: idgate.EventLoginFailed, Bucket: 0, Count: 1}, {Type: idgate.EventLoginSucceeded, Bucket: 1, Count: 1},
		{Type: idgate.EventLoginSucceeded, Bucket: 2, Count: 1}, {Type: idgate.EventLoginFailed, Bucket: 3, Count: 1},
	})
	if _, err := s.CountEvents(ctx, "", nil, t0, time.Hour, 1); err == nil {
		t.Fatal("CountEvents without types succeeded")
	}
}

func testCountActiveSessions(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, g := newFixture(t, s), newFixture(t, s)
	mk := func(fx fixture, id string, expires time.Time) {
		must(t, s.CreateSession(ctx, idgate.Session{ID: id, PoolID: fx.Pool.ID, UserSub: "u", ClientID: "c",
			AuthTime: t0, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: expires}))
	}
	mk(f, "s-active", at(time.Hour))
	mk(f, "s-expired", at(time.Minute))
	mk(f, "s-ended", at(time.Hour))
	mk(g, "s-other", at(time.Hour))
	_, err := s.EndSession(ctx, "s-ended", at(time.Second), idgate.EndLogout)
	must(t, err)
	n, err := s.CountActiveSessions(ctx, "", at(2*time.Minute))
	must(t, err)
	equal(t, "active sessions of every pool", n, 2)
	n, err = s.CountActiveSessions(ctx, f.Pool.ID, at(2*time.Minute))
	must(t, err)
	equal(t, "active sessions of one pool", n, 1)
}

func testSearchUsers(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, g := newFixture(t, s), newFixture(t, s)
	alice := newUser(f, "alice@example.com", t0)
	alfred := newUser(f, "al_fred@example.com", t0)
	bob := newUser(f, "bob@example.com", t0)
	elsewhere := newUser(g, "alice2@example.com", t0)
	for _, u := range []idgate.User{alice, alfred, bob, elsewhere} {
		must(t, s.CreateUser(ctx, u))
	}
	emails := func(us []idgate.User) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.Email)
		}
		return out
	}
	got, err := s.SearchUsers(ctx, f.Pool.ID, "AL", 10)
	must(t, err)
	equal(t, "prefix, case-insensitive", emails(got), []string{"al_fred@example.com", "alice@example.com"})
	got, err = s.SearchUsers(ctx, f.Pool.ID, "al_", 10)
	must(t, err)
	equal(t, "underscore is literal", emails(got), []string{"al_fred@example.com"})
	got, err = s.SearchUsers(ctx, f.Pool.ID, "%", 10)
	must(t, err)
	equal(t, "percent is literal", emails(got), []string{})
	got, err = s.SearchUsers(ctx, f.Pool.ID, bob.Sub, 10)
	must(t, err)
	equal(t, "by sub", emails(got), []string{"bob@example.com"})
	got, err = s.SearchUsers(ctx, f.Pool.ID, "a", 1)
	must(t, err)
	equal(t, "limit", len(got), 1)
}
