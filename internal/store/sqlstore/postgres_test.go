package sqlstore_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/store/storetest"
)

// postgresDSN returns the DSN of the test server, or skips the test.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("IDGATE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("IDGATE_TEST_POSTGRES_DSN not set: skipping the PostgreSQL conformance suite")
	}
	return dsn
}

// newSchema creates an empty schema with a random name, dropped when the
// test ends, and returns a DSN whose search_path selects it.
func newSchema(t *testing.T) string {
	t.Helper()
	dsn := postgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin.SetMaxOpenConns(1)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

// withSearchPath adds search_path=schema to a URL or keyword/value DSN;
// pgx sends unknown parameters to the server as run-time settings.
func withSearchPath(t *testing.T, dsn, schema string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("IDGATE_TEST_POSTGRES_DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newPostgres opens a store on a fresh schema; the store is closed before
// the schema is dropped (cleanups run last-in, first-out).
func newPostgres(t *testing.T) *sqlstore.Store {
	t.Helper()
	dsn := newSchema(t)
	s, err := sqlstore.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	sqlstore.LimitConns(s, 4)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestPostgres(t *testing.T) {
	postgresDSN(t)
	storetest.Run(t, func(t *testing.T) idgate.Store { return newPostgres(t) })
}

// TestPostgresConcurrentMigrations starts several stores on one empty
// schema at once: the advisory lock lets one migrate and the others find
// the work done.
func TestPostgresConcurrentMigrations(t *testing.T) {
	dsn := newSchema(t)
	const n = 4
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlstore.OpenPostgres(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var count, latest int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&count, &latest); err != nil {
		t.Fatal(err)
	}
	if count != latest {
		t.Fatalf("schema_migrations has %d rows for versions up to %d", count, latest)
	}
}
