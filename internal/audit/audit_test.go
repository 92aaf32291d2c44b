package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/idgate/idgate/internal/audit"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/store/sqlstore"
)

// chain creates a store with one project and n events, and a raw handle
// on the same SQLite file to tamper with it as an attacker with file access
// would.
func chain(t *testing.T, n int) (*sqlstore.Store, *sql.DB, string, []idgate.Event) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idgate.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := idgate.Project{ID: "prj_audit", Name: "Audit", Environment: idgate.EnvSandbox, CreatedAt: base}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	var evs []idgate.Event
	for i := range n {
		e := idgate.Event{ProjectID: p.ID, Type: idgate.EventLoginSucceeded, ActorType: idgate.ActorUser, UserSub: "sub-1",
			IP: "203.0.113.9", Data: map[string]any{"n": i}, CreatedAt: base.Add(time.Duration(i) * time.Hour)}
		if err := s.AppendEvent(ctx, &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return s, raw, p.ID, evs
}

func verify(t *testing.T, s idgate.Store, project string) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), s, project)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyIntactChain(t *testing.T) {
	s, _, p, _ := chain(t, 12)
	if r := verify(t, s, p); !r.OK || r.Events != 12 || len(r.Problems) != 0 {
		t.Fatalf("report = %+v", r)
	}
	if r := verify(t, s, "prj_without_events"); !r.OK || r.Events != 0 {
		t.Fatalf("empty project report = %+v", r)
	}
}

func TestVerifyDetectsUpdate(t *testing.T) {
	s, raw, p, evs := chain(t, 10)
	exec(t, raw, `UPDATE events SET ip = '198.51.100.1' WHERE seq = ?`, evs[4].Seq)
	r := verify(t, s, p)
	if r.OK || len(r.Problems) != 1 || r.Problems[0].Kind != "modified" || r.Problems[0].Seq != evs[4].Seq || r.Problems[0].ID != evs[4].ID {
		t.Fatalf("report = %+v", r)
	}
	// Rewriting the hash too is caught by the next event's link.
	s2, raw2, p2, evs2 := chain(t, 10)
	exec(t, raw2, `UPDATE events SET data = '{"n":99}' WHERE seq = ?`, evs2[4].Seq)
	tampered, _ := s2.ListEvents(context.Background(), idgate.EventFilter{ProjectID: p2, AfterSeq: evs2[4].Seq - 1, Limit: 1})
	exec(t, raw2, `UPDATE events SET hash = ? WHERE seq = ?`, idgate.EventHash(tampered[0]), evs2[4].Seq)
	r = verify(t, s2, p2)
	if r.OK || r.Problems[0].Kind != "deleted" || r.Problems[0].Seq != evs2[5].Seq || !strings.Contains(r.Problems[0].Detail, "rewritten") {
		t.Fatalf("rewritten hash report = %+v", r)
	}
}

func TestVerifyDetectsDelete(t *testing.T) {
	s, raw, p, evs := chain(t, 10)
	exec(t, raw, `DELETE FROM events WHERE seq = ?`, evs[6].Seq)
	r := verify(t, s, p)
	if r.OK || len(r.Problems) != 1 || r.Problems[0].Kind != "deleted" || r.Problems[0].Seq != evs[7].Seq {
		t.Fatalf("middle delete report = %+v", r)
	}
	s, raw, p, evs = chain(t, 10)
	exec(t, raw, `DELETE FROM events WHERE seq = ?`, evs[9].Seq)
	r = verify(t, s, p)
	if r.OK || r.Problems[0].Kind != "truncated" || r.Problems[0].Seq != evs[9].Seq {
		t.Fatalf("newest delete report = %+v", r)
	}
	s, raw, p, evs = chain(t, 10)
	exec(t, raw, `DELETE FROM events WHERE seq <= ?`, evs[2].Seq)
	r = verify(t, s, p)
	if r.OK || r.Problems[0].Kind != "deleted" || r.Problems[0].Seq != evs[3].Seq {
		t.Fatalf("oldest delete report = %+v", r)
	}
}

func TestPurgeKeepsChainVerifiable(t *testing.T) {
	s, raw, p, evs := chain(t, 10)
	ctx := context.Background()
	now := evs[9].CreatedAt.Add(time.Hour)
	n, err := audit.Purge(ctx, s, 6*time.Hour, now) // keeps events created in the last 6 hours
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // created at 0h..3h, before now-6h = 4h
		t.Fatalf("purged %d, want 4", n)
	}
	r := verify(t, s, p)
	if !r.OK || r.Events != 7 { // six kept and the checkpoint
		t.Fatalf("after purge: %+v", r)
	}
	left, _ := s.ListEvents(ctx, idgate.EventFilter{ProjectID: p})
	cp := left[len(left)-1]
	if cp.Type != idgate.EventCheckpoint || cp.Data["through_hash"] != evs[3].Hash {
		t.Fatalf("checkpoint = %+v", cp)
	}
	// A second purge with nothing old enough changes nothing.
	if n, _ := audit.Purge(ctx, s, 6*time.Hour, now); n != 0 {
		t.Fatalf("second purge deleted %d", n)
	}
	// Deleting the oldest remaining event outside retention is caught.
	exec(t, raw, `DELETE FROM events WHERE seq = ?`, evs[4].Seq)
	if r := verify(t, s, p); r.OK {
		t.Fatalf("delete after purge not detected: %+v", r)
	}
}

func TestExportRoundTrip(t *testing.T) {
	s, _, p, evs := chain(t, 1200) // more than a page
	ctx := context.Background()
	var buf bytes.Buffer
	n, err := audit.Export(ctx, s, idgate.EventFilter{ProjectID: p}, audit.FormatJSONL, &buf)
	if err != nil || n != 1200 {
		t.Fatalf("export: %d, %v", n, err)
	}
	sc := bufio.NewScanner(&buf)
	i := 0
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		back := idgate.Event{Seq: r.Seq, ID: r.ID, ProjectID: r.ProjectID, PoolID: r.PoolID, Type: r.Type, ActorType: r.ActorType,
			ActorID: r.ActorID, UserSub: r.UserSub, SessionID: r.SessionID, ClientID: r.ClientID, IP: r.IP, UserAgent: r.UserAgent,
			Data: r.Data, CreatedAt: r.CreatedAt, PrevHash: r.PrevHash, Hash: r.Hash}
		if back.ID != evs[i].ID || idgate.EventHash(back) != evs[i].Hash {
			t.Fatalf("line %d does not round-trip: %s", i, sc.Text())
		}
		i++
	}
	if i != 1200 {
		t.Fatalf("%d lines", i)
	}
	buf.Reset()
	n, err = audit.Export(ctx, s, idgate.EventFilter{ProjectID: p, Since: evs[10].CreatedAt, Until: evs[20].CreatedAt}, audit.FormatCSV, &buf)
	if err != nil || n != 10 {
		t.Fatalf("csv export: %d, %v", n, err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 11 || rows[0][0] != "seq" || rows[1][1] != evs[10].ID || rows[1][15] != evs[10].Hash {
		t.Fatalf("csv rows = %d %v", len(rows), err)
	}
	if _, err := audit.Export(ctx, s, idgate.EventFilter{}, "xml", &buf); err == nil {
		t.Fatal("unknown format accepted")
	}
}
