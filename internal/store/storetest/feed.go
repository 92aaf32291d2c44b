package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var feedTests = []test{
	{"FeedRecordsEndedSessions", testFeedRecords},
	{"FeedRollback", testFeedRollback},
	{"FeedConcurrentWritersNoSkippedWatermark", testFeedConcurrent},
	{"FeedPrune", testFeedPrune},
}

func testFeedRecords(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	other := newFixture(t, s)
	sub, otherSub := idgate.NewUUID(), idgate.NewUUID()
	for _, id := range []string{"sid_1", "sid_2", "sid_3"} {
		must(t, s.CreateSession(ctx, newSession(f, sub, id, t0)))
	}
	must(t, s.CreateSession(ctx, newSession(other, otherSub, "sid_other", t0)))

	wm, err := s.RevocationWatermark(ctx, f.Pool.ID)
	must(t, err)
	if wm != 0 {
		t.Fatalf("empty feed watermark = %d, want 0", wm)
	}
	_, err = s.EndSession(ctx, "sid_2", at(time.Minute), idgate.EndLogout)
	must(t, err)
	_, err = s.EndSession(ctx, "sid_other", at(time.Minute), idgate.EndLogout)
	must(t, err)
	_, err = s.EndUserSessions(ctx, f.Pool.ID, sub, at(2*time.Minute), idgate.EndGlobalSignOut, "")
	must(t, err)
	// Ending an ended session records nothing more.
	_, err = s.EndSession(ctx, "sid_2", at(3*time.Minute), idgate.EndAdminRevoked)
	must(t, err)

	got, err := s.ListRevocations(ctx, f.Pool.ID, 0, 0)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("%d revocations, want 3: %s", len(got), dump(got))
	}
	want := []struct{ sid, reason string }{{"sid_2", idgate.EndLogout}, {"sid_1", idgate.EndGlobalSignOut}, {"sid_3", idgate.EndGlobalSignOut}}
	for i, r := range got {
		if r.SessionID != want[i].sid || r.Reason != want[i].reason || r.PoolID != f.Pool.ID || r.UserSub != sub || r.ClientID != "client-1" {
			t.Fatalf("revocation %d = %+v, want %+v", i, r, want[i])
		}
		if i > 0 && r.Seq <= got[i-1].Seq {
			t.Fatalf("seq not increasing: %s", dump(got))
		}
	}
	equal(t, "first ended at", got[0].EndedAt, at(time.Minute))
	equal(t, "global sign-out ended at", got[2].EndedAt, at(2*time.Minute))

	wm, err = s.RevocationWatermark(ctx, f.Pool.ID)
	must(t, err)
	if wm != got[2].Seq {
		t.Fatalf("watermark = %d, want %d", wm, got[2].Seq)
	}
	page, err := s.ListRevocations(ctx, f.Pool.ID, got[0].Seq, 1)
	must(t, err)
	if len(page) != 1 || page[0].Seq != got[1].Seq {
		t.Fatalf("page after %d = %s", got[0].Seq, dump(page))
	}
	rest, err := s.ListRevocations(ctx, f.Pool.ID, wm, 0)
	must(t, err)
	if len(rest) != 0 {
		t.Fatalf("revocations after the watermark: %s", dump(rest))
	}
	theirs, err := s.ListRevocations(ctx, other.Pool.ID, 0, 0)
	must(t, err)
	if len(theirs) != 1 || theirs[0].SessionID != "sid_other" {
		t.Fatalf("other pool's feed = %s", dump(theirs))
	}
}

func testFeedRollback(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sub := idgate.NewUUID()
	must(t, s.CreateSession(ctx, newSession(f, sub, "sid_a", t0)))
	err := s.InTx(ctx, func(tx idgate.Store) error {
		if _, err := tx.EndUserSessions(ctx, f.Pool.ID, sub, at(time.Minute), idgate.EndGlobalSignOut, ""); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, err, errBoom)
	got, err := s.ListRevocations(ctx, f.Pool.ID, 0, 0)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("rolled-back end left revocations: %s", dump(got))
	}
}

// testFeedConcurrent ends sessions from many goroutines while a reader
// follows the feed by watermark only: the reader must see every
// revocation exactly once, which fails if a seq ever became visible after
// a larger one (the reader would have moved past it for good).
func testFeedConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	const n = 40
	for i := range n {
		must(t, s.CreateSession(ctx, newSession(f, idgate.NewUUID(), fmt.Sprintf("sid_%02d", i), t0)))
	}
	seen := map[string]int{}
	var last int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		parallel(n, func(i int) {
			_, err := s.EndSession(ctx, fmt.Sprintf("sid_%02d", i), at(time.Minute), idgate.EndLogout)
			if err != nil {
				t.Errorf("end session %d: %v", i, err)
			}
		})
		close(done)
	})
	finished := false
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < n && time.Now().Before(deadline) {
		select {
		case <-done:
			finished = true
		default:
		}
		rs, err := s.ListRevocations(ctx, f.Pool.ID, last, 7)
		must(t, err)
		for _, r := range rs {
			if r.Seq <= last {
				t.Fatalf("seq %d after watermark %d", r.Seq, last)
			}
			last = r.Seq
			seen[r.SessionID]++
		}
		if finished && len(rs) == 0 {
			break
		}
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("the reader saw %d of %d revocations: it skipped some", len(seen), n)
	}
	for sid, c := range seen {
		if c != 1 {
			t.Fatalf("%s seen %d times", sid, c)
		}
	}
}

func testFeedPrune(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	sub := idgate.NewUUID()
	for _, id := range []string{"sid_old", "sid_new", "sid_later"} {
		must(t, s.CreateSession(ctx, newSession(f, sub, id, t0)))
	}
	_, err := s.EndSession(ctx, "sid_old", at(time.Hour), idgate.EndLogout)
	must(t, err)
	_, err = s.EndSession(ctx, "sid_new", at(3*time.Hour), idgate.EndLogout)
	must(t, err)
	n, err := s.PruneRevocations(ctx, at(2*time.Hour))
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d, want 1", n)
	}
	got, err := s.ListRevocations(ctx, f.Pool.ID, 0, 0)
	must(t, err)
	if len(got) != 1 || got[0].SessionID != "sid_new" {
		t.Fatalf("after prune: %s", dump(got))
	}
	// Pruning never lets a watermark be reused.
	_, err = s.EndSession(ctx, "sid_later", at(4*time.Hour), idgate.EndLogout)
	must(t, err)
	after, err := s.ListRevocations(ctx, f.Pool.ID, got[0].Seq, 0)
	must(t, err)
	if len(after) != 1 || after[0].SessionID != "sid_later" {
		t.Fatalf("after the pruned watermark: %s", dump(after))
	}
	if _, err := s.PruneRevocations(ctx, time.Time{}); err == nil {
		t.Fatal("PruneRevocations accepted a zero time")
	}
}
