package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver, test only
	_ "modernc.org/sqlite"             // SQLite driver, test only

	"github.com/idgate/idgate/client"
)

func newKey(t testing.TB) []byte {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	must(t, err)
	return k
}

// sqliteDB opens a fresh SQLite database file.
func sqliteDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresDB opens a fresh schema on IDGATE_TEST_POSTGRES_DSN (returned
// too), or skips.
func postgresDB(t testing.TB) (*sql.DB, string) {
	t.Helper()
	dsn := os.Getenv("IDGATE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("IDGATE_TEST_POSTGRES_DSN not set: skipping the PostgreSQL token store test")
	}
	db, err := sql.Open("pgx", dsn)
	must(t, err)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "sdk_" + hex.EncodeToString(b)
	_, err = db.Exec("CREATE SCHEMA " + schema)
	must(t, err)
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	return db, schema
}

func TestSQLTokenStoreSQLite(t *testing.T) {
	testSQLTokenStore(t, sqliteDB(t), "idgate_tokens", false)
}

func TestSQLTokenStorePostgres(t *testing.T) {
	db, schema := postgresDB(t)
	testSQLTokenStore(t, db, schema+".idgate_tokens", true)
}

func testSQLTokenStore(t *testing.T, db *sql.DB, table string, postgres bool) {
	ctx := context.Background()
	key := newKey(t)
	st, err := client.NewSQLTokenStore(client.SQLTokenStoreConfig{DB: db, Key: key, Table: table})
	must(t, err)
	must(t, st.CreateTable(ctx))
	must(t, st.CreateTable(ctx)) // idempotent

	if _, err := st.Load(ctx, "u1"); !errors.Is(err, client.ErrNoTokens) {
		t.Fatalf("empty store: %v", err)
	}
	tk := client.Tokens{AccessToken: "eyJhbGciOiJSUzI1NiJ9.access-token-payload.sig", IDToken: "eyJhbGciOiJSUzI1NiJ9.id-token-payload.sig",
		RefreshToken: "refresh-token-0123456789abcdefghijklmnopqrstuvwxyz", Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	must(t, st.Save(ctx, "u1", tk))
	must(t, st.Save(ctx, "u2", tk))
	got, err := st.Load(ctx, "u1")
	must(t, err)
	if got != tk {
		t.Fatalf("round trip: %+v, want %+v", got, tk)
	}
	tk.AccessToken = "eyJhbGciOiJSUzI1NiJ9.second-access-token.sig"
	must(t, st.Save(ctx, "u1", tk)) // replaces
	got, err = st.Load(ctx, "u1")
	must(t, err)
	if got.AccessToken != tk.AccessToken {
		t.Fatal("Save did not replace the tokens")
	}

	// Nothing readable at rest: neither the tokens nor any long piece of
	// them, in the column or in its base64 decoding.
	rows, err := db.QueryContext(ctx, "SELECT user_id, sealed FROM "+table)
	must(t, err)
	sealed := map[string]string{}
	for rows.Next() {
		var id, s string
		must(t, rows.Scan(&id, &s))
		sealed[id] = s
	}
	must(t, rows.Err())
	rows.Close()
	if len(sealed) != 2 {
		t.Fatalf("%d rows, want 2", len(sealed))
	}
	for id, s := range sealed {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "v1."))
		for _, secret := range []string{tk.AccessToken, tk.IDToken, tk.RefreshToken, "access-token", "refresh-token", "payload"} {
			if strings.Contains(s, secret) || bytes.Contains(raw, []byte(secret)) {
				t.Fatalf("row %s holds %q in plaintext", id, secret)
			}
		}
	}
	if sealed["u1"] == sealed["u2"] {
		t.Fatal("two rows have the same ciphertext")
	}

	// Another key does not decrypt; a row copied onto another user does not
	// either (the user id is authenticated).
	other, err := client.NewSQLTokenStore(client.SQLTokenStoreConfig{DB: db, Key: newKey(t), Table: table})
	must(t, err)
	if _, err := other.Load(ctx, "u1"); err == nil || errors.Is(err, client.ErrNoTokens) {
		t.Fatalf("load with another key: %v", err)
	}
	q := "UPDATE " + table + " SET sealed = ? WHERE user_id = ?"
	if postgres {
		q = "UPDATE " + table + " SET sealed = $1 WHERE user_id = $2"
	}
	_, err = db.ExecContext(ctx, q, sealed["u1"], "u2")
	must(t, err)
	if _, err := st.Load(ctx, "u2"); err == nil {
		t.Fatal("a row copied onto another user decrypted")
	}

	must(t, st.Delete(ctx, "u1"))
	must(t, st.Delete(ctx, "u1"))
	if _, err := st.Load(ctx, "u1"); !errors.Is(err, client.ErrNoTokens) {
		t.Fatalf("after Delete: %v", err)
	}

	if _, err := client.NewSQLTokenStore(client.SQLTokenStoreConfig{DB: db, Key: key, Table: "x; DROP TABLE y"}); err == nil {
		t.Fatal("an unsafe table name was accepted")
	}
	if _, err := client.NewSQLTokenStore(client.SQLTokenStoreConfig{DB: db, Key: []byte("short")}); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

// TestTokenSourceOverSQLite runs the token source over the SQL store, with
// concurrent callers, against the real server.
func TestTokenSourceOverSQLite(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	f := newFixture(t, s, "web")
	st, err := client.NewSQLTokenStore(client.SQLTokenStoreConfig{DB: sqliteDB(t), Key: newKey(t)})
	must(t, err)
	must(t, st.CreateTable(ctx))
	clk := newClock()
	ts, err := client.NewTokenSource(client.TokenSourceConfig{Client: f.cl, Store: st, ClientID: f.c.ClientID, ClientSecret: f.c.ClientSecret, Now: clk.Now})
	must(t, err)
	code, err := s.code(f.c.ClientID, f.email, nil)
	must(t, err)
	first, err := ts.Exchange(ctx, "user-42", client.CodeExchange{Code: code})
	must(t, err)
	clk.Advance(24 * time.Hour)
	errs := make(chan error, 50)
	for range 50 {
		go func() {
			_, err := ts.AccessToken(ctx, "user-42")
			errs <- err
		}()
	}
	for range 50 {
		must(t, <-errs)
	}
	got, err := st.Load(ctx, "user-42")
	must(t, err)
	if got.AccessToken == first.AccessToken || s.count(refreshPath) != 1 {
		t.Fatalf("refreshes: %d", s.count(refreshPath))
	}
}
