package storetest

import (
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var txTests = []test{
	{"InTxCommit", testInTxCommit},
	{"InTxRollback", testInTxRollback},
	{"InTxNested", testInTxNested},
	{"InTxUpdateFails", testInTxUpdateFails},
}

func testInTxCommit(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	p := idgate.Project{ID: idgate.NewID("prj_"), Name: "Tx", Environment: idgate.EnvSandbox, CreatedAt: t0}
	var appended idgate.Event
	err := s.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		got, err := tx.GetProject(ctx, p.ID) // a transaction reads its own writes
		if err != nil {
			return err
		}
		equal(t, "project read inside the transaction", got, p)
		appended = newEvent(p.ID, idgate.EventProjectCreated, t0)
		return tx.AppendEvent(ctx, &appended)
	})
	must(t, err)

	got, err := s.GetProject(ctx, p.ID)
	must(t, err)
	equal(t, "committed project", got, p)
	events, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: p.ID})
	must(t, err)
	if len(events) != 1 {
		t.Fatalf("committed events = %d, want 1", len(events))
	}
	sameEvent(t, "committed event", events[0], appended)
}

func testInTxRollback(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	p := idgate.Project{ID: idgate.NewID("prj_"), Name: "Gone", Environment: idgate.EnvSandbox, CreatedAt: t0}
	u := newUser(f, "rolled@example.com", t0)
	err := s.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.UpdatePool(ctx, f.Pool.ID, func(x idgate.Pool) (idgate.Pool, error) {
			x.Domain = "rolled-back"
			return x, nil
		}); err != nil {
			return err
		}
		e := newEvent(f.Project.ID, idgate.EventUserCreated, t0)
		if err := tx.AppendEvent(ctx, &e); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, err, errBoom)

	_, err = s.GetProject(ctx, p.ID)
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetUser(ctx, f.Pool.ID, u.Sub)
	wantErr(t, err, idgate.ErrNotFound)
	pool, err := s.GetPool(ctx, f.Pool.ID)
	must(t, err)
	equal(t, "pool after rollback", pool, f.Pool)
	events, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: f.Project.ID})
	must(t, err)
	if len(events) != 0 {
		t.Fatalf("a rolled-back transaction left %d events", len(events))
	}
	// The chain continues from before the rolled-back event.
	e := newEvent(f.Project.ID, idgate.EventUserCreated, at(time.Second))
	must(t, s.AppendEvent(ctx, &e))
	if e.PrevHash != "" {
		t.Fatalf("first committed event has PrevHash %q, want empty", e.PrevHash)
	}
}

func testInTxNested(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	proj := func(name string) idgate.Project {
		return idgate.Project{ID: idgate.NewID("prj_"), Name: name, Environment: idgate.EnvSandbox, CreatedAt: t0}
	}
	outer, inner := proj("outer"), proj("inner")
	must(t, s.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateProject(ctx, outer); err != nil {
			return err
		}
		return tx.InTx(ctx, func(tx2 idgate.Store) error {
			if _, err := tx2.GetProject(ctx, outer.ID); err != nil { // same transaction
				return err
			}
			return tx2.CreateProject(ctx, inner)
		})
	}))
	for _, p := range []idgate.Project{outer, inner} {
		_, err := s.GetProject(ctx, p.ID)
		must(t, err)
	}

	// The outer function fails after the inner one succeeded: nothing stays.
	outer2, inner2 := proj("outer2"), proj("inner2")
	err := s.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateProject(ctx, outer2); err != nil {
			return err
		}
		if err := tx.InTx(ctx, func(tx2 idgate.Store) error { return tx2.CreateProject(ctx, inner2) }); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, err, errBoom)
	// The inner function fails and the outer returns its error: nothing stays.
	outer3, inner3 := proj("outer3"), proj("inner3")
	err = s.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateProject(ctx, outer3); err != nil {
			return err
		}
		return tx.InTx(ctx, func(tx2 idgate.Store) error {
			if err := tx2.CreateProject(ctx, inner3); err != nil {
				return err
			}
			return errBoom
		})
	})
	wantErr(t, err, errBoom)
	for _, p := range []idgate.Project{outer2, inner2, outer3, inner3} {
		_, err := s.GetProject(ctx, p.ID)
		wantErr(t, err, idgate.ErrNotFound)
	}
}

// testInTxUpdateFails: an UpdateUser whose fn fails inside a transaction
// returns fn's error; the transaction returning it leaves nothing behind.
func testInTxUpdateFails(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	u := newUser(f, "ada@example.com", t0)
	must(t, s.CreateUser(ctx, u))
	err := s.InTx(ctx, func(tx idgate.Store) error {
		if _, err := tx.UpdateUser(ctx, f.Pool.ID, u.Sub, func(x idgate.User) (idgate.User, error) {
			x.Username = "first"
			return x, nil
		}); err != nil {
			return err
		}
		_, err := tx.UpdateUser(ctx, f.Pool.ID, u.Sub, func(x idgate.User) (idgate.User, error) {
			if x.Username != "first" {
				t.Errorf("second update saw username %q, want the first update's", x.Username)
			}
			return x, errBoom
		})
		return err
	})
	wantErr(t, err, errBoom)
	got, err := s.GetUser(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "user after the rolled-back transaction", got, u)
}
