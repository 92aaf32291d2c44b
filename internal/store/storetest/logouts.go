package storetest

import (
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var logoutTests = []test{
	{"LogoutOutbox", testLogoutOutbox},
	{"LogoutOutboxRollback", testLogoutOutboxRollback},
}

// logoutFixture creates an app with a back-channel logout URI and one
// without, and a session of each for the same user.
func logoutFixture(t *testing.T, s idgate.Store) (fixture, string) {
	t.Helper()
	ctx := t.Context()
	f := newFixture(t, s)
	with := idgate.App{ClientID: "client-bcl", PoolID: f.Pool.ID, ProjectID: f.Project.ID, Name: "with", Type: idgate.AppWeb,
		CallbackURLs: []string{"https://a.example/cb"}, Validity: idgate.DefaultTokenValidity(),
		BackchannelLogoutURI: "https://a.example/bcl", CreatedAt: t0}
	without := with
	without.ClientID, without.BackchannelLogoutURI = "client-plain", ""
	must(t, s.CreateApp(ctx, with))
	must(t, s.CreateApp(ctx, without))
	sub := idgate.NewUUID()
	for _, x := range []struct{ id, client string }{{"sid_a", "client-bcl"}, {"sid_b", "client-bcl"}, {"sid_c", "client-plain"}} {
		se := newSession(f, sub, x.id, t0)
		se.ClientID = x.client
		must(t, s.CreateSession(ctx, se))
	}
	return f, sub
}

func testLogoutOutbox(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, sub := logoutFixture(t, s)
	ok, err := s.EndSession(ctx, "sid_a", at(time.Minute), idgate.EndLogout)
	must(t, err)
	if !ok {
		t.Fatal("EndSession reported false")
	}
	ids, err := s.EndUserSessions(ctx, f.Pool.ID, sub, at(2*time.Minute), idgate.EndGlobalSignOut, "")
	must(t, err)
	equal(t, "ended ids", ids, []string{"sid_b", "sid_c"})
	// Ending an ended session enqueues nothing more.
	_, err = s.EndSession(ctx, "sid_a", at(3*time.Minute), idgate.EndLogout)
	must(t, err)

	for sid, want := range map[string]int{"sid_a": 1, "sid_b": 1, "sid_c": 0} {
		got, err := s.ListLogouts(ctx, sid)
		must(t, err)
		if len(got) != want {
			t.Fatalf("%s: %d notices, want %d", sid, len(got), want)
		}
		if want == 1 && (got[0].URI != "https://a.example/bcl" || got[0].UserSub != sub || got[0].ClientID != "client-bcl" || got[0].PoolID != f.Pool.ID) {
			t.Fatalf("%s: notice %+v", sid, got[0])
		}
	}

	// Claim leases: a second claim inside the lease gets nothing.
	now := at(10 * time.Minute)
	claimed, err := s.ClaimLogouts(ctx, now, 30*time.Second, 10)
	must(t, err)
	if len(claimed) != 2 {
		t.Fatalf("claimed %d, want 2", len(claimed))
	}
	again, err := s.ClaimLogouts(ctx, now.Add(time.Second), 30*time.Second, 10)
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("claimed %d notices under lease", len(again))
	}
	// One delivered, one retried later, then given up.
	must(t, s.CompleteLogout(ctx, claimed[0].ID, now.Add(time.Second)))
	must(t, s.RetryLogout(ctx, claimed[1].ID, now.Add(time.Second), now.Add(time.Hour), "503 from the app"))
	due, err := s.ClaimLogouts(ctx, now.Add(31*time.Second), 30*time.Second, 10)
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("claimed %d notices before their next attempt", len(due))
	}
	due, err = s.ClaimLogouts(ctx, now.Add(time.Hour), 30*time.Second, 10)
	must(t, err)
	if len(due) != 1 || due[0].ID != claimed[1].ID || due[0].Attempts != 1 || due[0].LastError != "503 from the app" {
		t.Fatalf("retry claim = %+v", due)
	}
	must(t, s.RetryLogout(ctx, due[0].ID, now.Add(time.Hour), time.Time{}, "gave up"))
	due, err = s.ClaimLogouts(ctx, now.Add(48*time.Hour), 30*time.Second, 10)
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("claimed %d delivered or failed notices", len(due))
	}
	done, err := s.ListLogouts(ctx, claimed[0].SessionID)
	must(t, err)
	if done[0].DeliveredAt.IsZero() {
		t.Fatalf("delivered notice = %+v", done[0])
	}
}

func testLogoutOutboxRollback(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	logoutFixture(t, s)
	err := s.InTx(ctx, func(tx idgate.Store) error {
		if _, err := tx.EndSession(ctx, "sid_a", at(time.Minute), idgate.EndLogout); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, err, errBoom)
	got, err := s.ListLogouts(ctx, "sid_a")
	must(t, err)
	se, err := s.GetSession(ctx, "sid_a")
	must(t, err)
	if len(got) != 0 || !se.EndedAt.IsZero() {
		t.Fatalf("rolled-back end left %d notices, session %+v", len(got), se)
	}
}
