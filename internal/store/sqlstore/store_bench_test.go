package sqlstore_test

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/store/sqlstore"
)

// Benchmarks of the lookups on the request hot paths (verify: API key and
// session; refresh: refresh token, session, user), on SQLite and — when
// IDGATE_TEST_POSTGRES_DSN is set — PostgreSQL, at several table sizes to
// show whether the cost per lookup stays flat. Sizes default to 1,000 and
// 100,000 users (one session each); IDGATE_BENCH_USERS=1000,1000000 changes
// them.
//
//	go test ./internal/store/sqlstore -run '^$' -bench . -benchmem

// benchSizes returns the user counts to benchmark.
func benchSizes(b *testing.B) []int {
	raw := os.Getenv("IDGATE_BENCH_USERS")
	if raw == "" {
		return []int{1000, 100000}
	}
	var out []int
	for _, p := range strings.Split(raw, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			b.Fatalf("IDGATE_BENCH_USERS: bad size %q", p)
		}
		out = append(out, n)
	}
	return out
}

// lookupFixture is a store holding n seeded users and sessions, plus
// known keys to look up.
type lookupFixture struct {
	store    *sqlstore.Store
	pool     string
	apiKey   string   // hash
	sessions []string // ids of seeded sessions spread over the table
	refresh  []string // hashes of refresh tokens
	emails   []string
}

func newLookupFixture(b *testing.B, st *sqlstore.Store, n int) *lookupFixture {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	project := idgate.Project{ID: idgate.NewID("prj_"), Name: "bench", Environment: idgate.EnvSandbox, CreatedAt: now}
	pool := idgate.Pool{ID: idgate.NewPoolID("bench"), ProjectID: project.ID, Domain: "bench", MFAPolicy: idgate.MFAOff,
		SigningAlg: idgate.AlgES256, PasswordMinLength: 12, HostedSessionTTL: time.Hour, CreatedAt: now}
	app := idgate.App{ClientID: idgate.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 26), PoolID: pool.ID,
		ProjectID: project.ID, Name: "bench", Type: idgate.AppWeb, SecretHash: "x", CallbackURLs: []string{"https://b.invalid/cb"},
		Scopes: []string{"openid"}, Validity: idgate.DefaultTokenValidity(), CreatedAt: now}
	key := idgate.APIKey{ID: idgate.NewID("key_"), ProjectID: project.ID, Hash: hexRandom(), Permissions: idgate.DefaultKeyPermissions, CreatedAt: now}
	for _, step := range []func() error{
		func() error { return st.CreateProject(ctx, project) },
		func() error { return st.CreatePool(ctx, pool) },
		func() error { return st.CreateApp(ctx, app) },
		func() error { return st.CreateAPIKey(ctx, key) },
		func() error {
			return st.SeedUsers(ctx, sqlstore.Seed{PoolID: pool.ID, ClientID: app.ClientID, N: n, SessionsPerUser: 1,
				PasswordHash: "$argon2id$bench", Now: now})
		},
	} {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	f := &lookupFixture{store: st, pool: pool.ID, apiKey: key.Hash}
	for range 256 {
		email := sqlstore.SeedEmail(rand.IntN(n))
		f.emails = append(f.emails, email)
		u, err := st.GetUserByEmail(ctx, pool.ID, email)
		if err != nil {
			b.Fatal(err)
		}
		ss, err := st.ListSessions(ctx, pool.ID, u.Sub)
		if err != nil || len(ss) == 0 {
			b.Fatalf("sessions of a seeded user: %v %v", ss, err)
		}
		f.sessions = append(f.sessions, ss[0].ID)
		rt := idgate.RefreshToken{Hash: hexRandom(), SessionID: ss[0].ID, ClientID: app.ClientID, PoolID: pool.ID,
			UserSub: u.Sub, Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateRefreshToken(ctx, rt); err != nil {
			b.Fatal(err)
		}
		f.refresh = append(f.refresh, rt.Hash)
	}
	return f
}

func hexRandom() string {
	b := make([]byte, 32)
	crand.Read(b)
	return hex.EncodeToString(b)
}

// benchBackends runs fn for SQLite and, when configured, PostgreSQL.
func benchBackends(b *testing.B, fn func(b *testing.B, open func(b *testing.B) *sqlstore.Store)) {
	b.Run("sqlite", func(b *testing.B) {
		fn(b, func(b *testing.B) *sqlstore.Store {
			st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "idgate.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		})
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv("IDGATE_TEST_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("IDGATE_TEST_POSTGRES_DSN not set")
		}
		fn(b, func(b *testing.B) *sqlstore.Store {
			st, err := sqlstore.OpenPostgres(context.Background(), benchSchema(b, dsn))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// benchSchema creates a fresh schema, dropped after the benchmark, and
// returns a DSN selecting it.
func benchSchema(b *testing.B, dsn string) string {
	b.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	schema := "bench_" + hexRandom()[:12]
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		defer admin.Close()
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// BenchmarkLookups measures each hot-path read, from GOMAXPROCS goroutines,
// per backend and table size.
func BenchmarkLookups(b *testing.B) {
	benchBackends(b, func(b *testing.B, open func(b *testing.B) *sqlstore.Store) {
		for _, n := range benchSizes(b) {
			b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
				f := newLookupFixture(b, open(b), n)
				ctx := context.Background()
				lookups := []struct {
					name string
					fn   func(i int) error
				}{
					{"GetAPIKeyByHash", func(int) error { _, err := f.store.GetAPIKeyByHash(ctx, f.apiKey); return err }},
					{"GetSession", func(i int) error { _, err := f.store.GetSession(ctx, f.sessions[i%len(f.sessions)]); return err }},
					{"GetRefreshToken", func(i int) error { _, err := f.store.GetRefreshToken(ctx, f.refresh[i%len(f.refresh)]); return err }},
					{"GetUserByEmail", func(i int) error {
						_, err := f.store.GetUserByEmail(ctx, f.pool, f.emails[i%len(f.emails)])
						return err
					}},
				}
				for _, l := range lookups {
					b.Run(l.name, func(b *testing.B) {
						b.ReportAllocs()
						b.RunParallel(func(pb *testing.PB) {
							i := rand.IntN(1 << 20)
							for pb.Next() {
								i++
								if err := l.fn(i); err != nil {
									b.Fatal(err)
								}
							}
						})
					})
				}
			})
		}
	})
}

// BenchmarkSeedUsers measures the batched seeding used by `idgate bench
// seed` (users with one session each), reported per user.
func BenchmarkSeedUsers(b *testing.B) {
	benchBackends(b, func(b *testing.B, open func(b *testing.B) *sqlstore.Store) {
		st := open(b)
		f := newLookupFixture(b, st, 1)
		app, err := st.ListApps(context.Background(), f.pool)
		if err != nil {
			b.Fatal(err)
		}
		first := 1
		for b.Loop() {
			err := st.SeedUsers(context.Background(), sqlstore.Seed{PoolID: f.pool, ClientID: app[0].ClientID, First: first,
				N: 1000, SessionsPerUser: 1, PasswordHash: "$argon2id$bench", Now: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			first += 1000
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/user")
	})
}
