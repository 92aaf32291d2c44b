package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/store/sqlstore"
)

// Tests of this implementation's own promises, beyond the conformance
// suite, run on each dialect.

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func forEachDialect(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newPostgres(t)) })
}

func fixture(t *testing.T, s *sqlstore.Store) (idgate.Project, idgate.Pool) {
	t.Helper()
	ctx := t.Context()
	p := idgate.Project{ID: idgate.NewID("prj_"), Name: "P", Environment: idgate.EnvSandbox, CreatedAt: t0}
	pool := idgate.Pool{ID: idgate.NewPoolID("eu"), ProjectID: p.ID, MFAPolicy: idgate.MFAOff,
		SigningAlg: idgate.AlgEdDSA, CreatedAt: t0}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return p, pool
}

func TestDialect(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		if got, want := s.Dialect(), t.Name()[len("TestDialect/"):]; got != want {
			t.Fatalf("Dialect() = %q, want %q", got, want)
		}
	})
}

// TestEventHash pins the hash formula and checks that events read back
// (numbers beyond float64 precision included) verify.
func TestEventHash(t *testing.T) {
	e := idgate.Event{
		ID: "evt_1", ProjectID: "prj_1", PoolID: "eu_1", Type: "user.created", ActorType: "api_key",
		ActorID: "key_1", UserSub: "sub", SessionID: "sid", ClientID: "cid", IP: "192.0.2.1", UserAgent: "ua",
		Data:      map[string]any{"z": 1, "a": map[string]any{"y": "<b>", "x": []int{2, 1}}},
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 600, time.FixedZone("CET", 3600)), PrevHash: "abc",
		Seq: 7, Hash: "ignored",
	}
	canonical := `{"id":"evt_1","project_id":"prj_1","pool_id":"eu_1","type":"user.created",` +
		`"actor_type":"api_key","actor_id":"key_1","user_sub":"sub","session_id":"sid","client_id":"cid",` +
		`"ip":"192.0.2.1","user_agent":"ua","data":{"a":{"x":[2,1],"y":"\u003cb\u003e"},"z":1},` +
		`"created_at":"2025-01-02T02:04:05.0000006Z","prev_hash":"abc"}`
	sum := sha256.Sum256([]byte("abc\n" + canonical))
	if got, want := idgate.EventHash(e), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("EventHash = %s, want %s", got, want)
	}
	if got := idgate.EventHash(idgate.Event{Data: map[string]any{"f": func() {}}}); got != "" {
		t.Fatalf("EventHash of unencodable data = %q, want empty", got)
	}

	forEachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		for i, data := range []map[string]any{
			nil,
			{"big": int64(1<<62 + 1), "neg": -3, "float": 0.1, "s": "ü<&>", "t": true, "n": nil},
			{"struct": struct{ B, A int }{1, 2}, "list": []any{1.5, "x", map[string]int{"k": 1}}},
		} {
			e := idgate.Event{ProjectID: "prj_h", Type: "t", Data: data, CreatedAt: t0.Add(time.Duration(i))}
			if err := s.AppendEvent(ctx, &e); err != nil {
				t.Fatal(err)
			}
			if got := idgate.EventHash(e); got != e.Hash {
				t.Fatalf("event %d: EventHash(appended) = %s, Hash %s", i, got, e.Hash)
			}
		}
		events, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: "prj_h"})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range events {
			if got := idgate.EventHash(e); got != e.Hash {
				t.Fatalf("event %d read back: EventHash = %s, stored Hash %s", i, got, e.Hash)
			}
		}
		if got := events[1].Data["big"]; got.(interface{ String() string }).String() != "4611686018427387905" {
			t.Fatalf("big number read back as %v", got)
		}
	})
}

func TestRequiredTimes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		if err := s.CreateProject(ctx, idgate.Project{ID: "prj_x"}); err == nil {
			t.Error("CreateProject accepted a zero CreatedAt")
		}
		if err := s.AppendEvent(ctx, &idgate.Event{ProjectID: "prj_x"}); err == nil {
			t.Error("AppendEvent accepted a zero CreatedAt")
		}
		if _, err := s.RedeemAuthCode(ctx, "code", time.Time{}); err == nil {
			t.Error("RedeemAuthCode accepted a zero time")
		}
		if _, err := s.EndSession(ctx, "sid", time.Time{}, idgate.EndLogout); err == nil {
			t.Error("EndSession accepted a zero time")
		}
		far := idgate.Project{ID: "prj_far", CreatedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}
		if err := s.CreateProject(ctx, far); err == nil {
			t.Error("CreateProject accepted a time beyond 2262")
		}
	})
}

func TestMissingParentIsNotFound(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		err := s.CreatePool(t.Context(), idgate.Pool{ID: "eu_orphan", ProjectID: "prj_missing", CreatedAt: t0})
		if !errors.Is(err, idgate.ErrNotFound) {
			t.Fatalf("CreatePool of an unknown project: %v, want ErrNotFound", err)
		}
	})
}

// TestNestedInTxSavepoint: an inner InTx that fails is undone alone when
// the outer function goes on, even after a failed statement (which on
// PostgreSQL would otherwise abort the whole transaction).
func TestNestedInTxSavepoint(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		_, pool := fixture(t, s)
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx idgate.Store) error {
			if err := tx.CreateProject(ctx, idgate.Project{ID: "prj_outer", CreatedAt: t0}); err != nil {
				return err
			}
			err := tx.InTx(ctx, func(tx2 idgate.Store) error {
				if err := tx2.CreateProject(ctx, idgate.Project{ID: "prj_inner", CreatedAt: t0}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("inner InTx = %v, want boom", err)
			}
			err = tx.InTx(ctx, func(tx2 idgate.Store) error { // a foreign-key violation: a failed statement
				return tx2.CreateApp(ctx, idgate.App{ClientID: "c", PoolID: "eu_missing", ProjectID: "prj_outer", CreatedAt: t0})
			})
			if !errors.Is(err, idgate.ErrNotFound) {
				t.Errorf("inner CreateApp = %v, want ErrNotFound", err)
			}
			return tx.CreateUser(ctx, idgate.User{Sub: "sub-after", PoolID: pool.ID, CreatedAt: t0})
		})
		if err != nil {
			t.Fatalf("outer InTx: %v", err)
		}
		if _, err := s.GetProject(ctx, "prj_outer"); err != nil {
			t.Errorf("outer write: %v", err)
		}
		if _, err := s.GetUser(ctx, pool.ID, "sub-after"); err != nil {
			t.Errorf("write after the failed inner transactions: %v", err)
		}
		if _, err := s.GetProject(ctx, "prj_inner"); !errors.Is(err, idgate.ErrNotFound) {
			t.Errorf("inner write after its rollback: %v, want ErrNotFound", err)
		}
	})
}

func TestInTxPanicRollsBack(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic did not propagate")
				}
			}()
			_ = s.InTx(ctx, func(tx idgate.Store) error {
				if err := tx.CreateProject(ctx, idgate.Project{ID: "prj_panic", CreatedAt: t0}); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		if _, err := s.GetProject(ctx, "prj_panic"); !errors.Is(err, idgate.ErrNotFound) {
			t.Fatalf("project after a panic: %v, want ErrNotFound", err)
		}
		// The writer is usable again.
		if err := s.CreateProject(ctx, idgate.Project{ID: "prj_after", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenPostgresUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := sqlstore.OpenPostgres(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, idgate.ErrUnavailable) {
		t.Fatalf("OpenPostgres of a closed port: %v, want ErrUnavailable", err)
	}
}

func TestOpenPostgresRefusesSimpleProtocol(t *testing.T) {
	_, err := sqlstore.OpenPostgres(t.Context(), "postgres://u@127.0.0.1:1/db?default_query_exec_mode=simple_protocol")
	if err == nil || errors.Is(err, idgate.ErrUnavailable) {
		t.Fatalf("OpenPostgres with the simple protocol: %v, want a refusal before connecting", err)
	}
}
