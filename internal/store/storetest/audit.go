package storetest

import (
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var auditTests = []test{
	{"EventHeadAndPurge", testEventHeadAndPurge},
}

func testEventHeadAndPurge(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	_, err := s.EventHead(ctx, f.Project.ID)
	wantErr(t, err, idgate.ErrNotFound)
	var evs []idgate.Event
	for i := range 5 {
		e := newEvent(f.Project.ID, idgate.EventLoginFailed, at(time.Duration(i)*time.Hour))
		must(t, s.AppendEvent(ctx, &e))
		evs = append(evs, e)
		h, err := s.EventHead(ctx, f.Project.ID)
		must(t, err)
		if h.Seq != e.Seq || h.Hash != e.Hash {
			t.Fatalf("head after append %d = %+v, want seq %d", i, h, e.Seq)
		}
	}
	// Nothing older than t0: no purge, no checkpoint.
	n, err := s.PurgeEvents(ctx, f.Project.ID, t0, at(10*time.Hour))
	must(t, err)
	if n != 0 {
		t.Fatalf("purged %d events older than the first", n)
	}
	n, err = s.PurgeEvents(ctx, f.Project.ID, at(2*time.Hour), at(10*time.Hour))
	must(t, err)
	if n != 2 {
		t.Fatalf("purged %d, want 2", n)
	}
	left, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: f.Project.ID})
	must(t, err)
	if len(left) != 4 || left[0].ID != evs[2].ID {
		t.Fatalf("left %d events starting with %s", len(left), left[0].ID)
	}
	cp := left[3]
	if cp.Type != idgate.EventCheckpoint || cp.Data["through_hash"] != evs[1].Hash || cp.PrevHash != evs[4].Hash {
		t.Fatalf("checkpoint = %+v", cp)
	}
	h, err := s.EventHead(ctx, f.Project.ID)
	must(t, err)
	if h.Hash != cp.Hash || idgate.EventHash(cp) != cp.Hash {
		t.Fatalf("head %+v, checkpoint hash %s", h, cp.Hash)
	}
	// Rolled back with its transaction.
	err = s.InTx(ctx, func(tx idgate.Store) error {
		if _, err := tx.PurgeEvents(ctx, f.Project.ID, at(9*time.Hour), at(11*time.Hour)); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, err, errBoom)
	again, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: f.Project.ID})
	must(t, err)
	if len(again) != 4 {
		t.Fatalf("rolled-back purge left %d events", len(again))
	}
}
