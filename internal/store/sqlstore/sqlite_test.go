package sqlstore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/store/storetest"
)

// newSQLite opens a store on a fresh file in the test's temporary
// directory and closes it when the test ends.
func newSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "idgate.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idgate.Store { return newSQLite(t) })
}

// TestSQLiteReopen opens a file, writes, closes and opens it again: the
// data is kept and the migrations are not applied a second time.
func TestSQLiteReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "idgate.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p := idgate.Project{ID: "prj_kept", Name: "Kept", Environment: idgate.EnvProduction,
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	before := appliedMigrations(t, path)
	if len(before) == 0 {
		t.Fatal("no migration recorded in schema_migrations")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetProject(ctx, p.ID)
	if err != nil {
		t.Fatalf("project after reopen: %v", err)
	}
	if got != p {
		t.Fatalf("project after reopen = %+v, want %+v", got, p)
	}
	after := appliedMigrations(t, path)
	if len(after) != len(before) {
		t.Fatalf("migrations recorded: %v before reopening, %v after", before, after)
	}
	for v, when := range before {
		if after[v] != when {
			t.Fatalf("migration %d re-applied: applied_at %d, then %d", v, when, after[v])
		}
	}
}

// appliedMigrations reads schema_migrations (version → applied_at) through
// a connection of its own.
func appliedMigrations(t *testing.T, path string) map[int64]int64 {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT version, applied_at FROM schema_migrations")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var v, at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSQLiteFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idgate.db")
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("database file mode = %o, want 600", mode)
	}
}

// TestSQLitePragmas checks the connection settings of both pools.
func TestSQLitePragmas(t *testing.T) {
	s := newSQLite(t)
	for _, c := range []struct{ pragma, writer, reader string }{
		{"journal_mode", "wal", "wal"},
		{"busy_timeout", "10000", "10000"},
		{"foreign_keys", "1", "1"},
		{"query_only", "0", "1"},
	} {
		w, r, err := sqlstore.Pragma(s, c.pragma)
		if err != nil {
			t.Fatalf("%s: %v", c.pragma, err)
		}
		if w != c.writer || r != c.reader {
			t.Errorf("%s: writer %q, reader %q; want %q, %q", c.pragma, w, r, c.writer, c.reader)
		}
	}
}

// TestSQLiteImmediateTransactions: transactions take the write lock when
// they begin, so a second process's transaction waits at BEGIN instead of
// failing later on a lock upgrade. Two stores on one file stand in for two
// processes.
func TestSQLiteImmediateTransactions(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "idgate.db")
	a, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	started, release, bDone := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		_ = a.InTx(ctx, func(idgate.Store) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	var entered time.Time
	go func() {
		bDone <- b.InTx(ctx, func(idgate.Store) error {
			entered = time.Now()
			return nil
		})
	}()
	time.Sleep(200 * time.Millisecond)
	releasedAt := time.Now()
	close(release)
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	if entered.Before(releasedAt) {
		t.Fatal("a second transaction began while the first held the database")
	}
}

func TestSQLiteRejectsNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory", "x.db?_pragma=foo"} {
		if s, err := sqlstore.OpenSQLite(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%q) succeeded", path)
		}
	}
}
