package token

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
)

// Benchmarks of the token hot paths, per signing algorithm, over a real
// SQLite store. Speed is measured here only, never asserted by tests.
//
//	go test ./internal/token -run '^$' -bench . -benchmem
//	go test ./internal/token -run '^$' -bench 'Refresh/ES256' -cpuprofile cpu.out

var benchAlgs = []string{idgate.AlgRS256, idgate.AlgES256, idgate.AlgEdDSA}

// benchFixture is one pool with a confidential app, a user and a signed-in
// session, over a fresh SQLite database.
type benchFixture struct {
	svc     *Service
	store   *sqlstore.Store
	pool    idgate.Pool
	app     idgate.App
	secret  string
	user    idgate.User
	session idgate.Session
	refresh string
	access  string
}

func newBenchFixture(b *testing.B, alg string) *benchFixture {
	b.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "idgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(secret.NewMasterKey())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	keys := NewKeys(st, sealer, time.Now)
	f := &benchFixture{store: st, svc: NewService(Config{Store: st, Keys: keys, Sealer: sealer, PublicURL: "http://bench.invalid"})}
	project := idgate.Project{ID: idgate.NewID("prj_"), Name: "bench", Environment: idgate.EnvSandbox, CreatedAt: now}
	f.pool = idgate.Pool{ID: idgate.NewPoolID("bench"), ProjectID: project.ID, Domain: "bench", MFAPolicy: idgate.MFAOff,
		SigningAlg: alg, PasswordMinLength: 12, HostedSessionTTL: time.Hour, CreatedAt: now}
	f.secret = idgate.NewSecret("")
	f.app = idgate.App{ClientID: idgate.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 26), PoolID: f.pool.ID,
		ProjectID: project.ID, Name: "bench", Type: idgate.AppWeb, SecretHash: secret.Digest(f.secret),
		CallbackURLs: []string{"https://bench.invalid/cb"}, Scopes: []string{"openid", "email", "profile"},
		Validity: idgate.DefaultTokenValidity(), CreatedAt: now}
	sk, err := keys.Generate(f.pool.ID, alg)
	if err != nil {
		b.Fatal(err)
	}
	f.user = idgate.User{Sub: idgate.NewUUID(), PoolID: f.pool.ID, Email: "bench@bench.invalid", EmailVerified: true,
		PasswordHash: "x", Status: idgate.StatusConfirmed, Roles: []string{"admin"}, Groups: []string{"staff"},
		CreatedAt: now, UpdatedAt: now}
	f.user.Username = f.user.Sub
	for _, step := range []func() error{
		func() error { return st.CreateProject(ctx, project) },
		func() error { return st.CreatePool(ctx, f.pool) },
		func() error { return st.CreateApp(ctx, f.app) },
		func() error { return st.CreateSigningKey(ctx, sk) },
		func() error { return st.CreateUser(ctx, f.user) },
	} {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	code, err := f.svc.IssueCode(ctx, CodeRequest{App: f.app, User: f.user, RedirectURI: f.app.CallbackURLs[0],
		Scope: "openid email", AuthTime: now, AMR: []string{"pwd"}})
	if err != nil {
		b.Fatal(err)
	}
	resp, err := f.svc.ExchangeCode(ctx, ExchangeRequest{PoolID: f.pool.ID, Code: code, ClientID: f.app.ClientID, ClientSecret: f.secret})
	if err != nil {
		b.Fatal(err)
	}
	f.refresh, f.access = resp.RefreshToken, resp.AccessToken
	c, _, err := f.svc.parse(ctx, f.pool.ID, f.access)
	if err != nil {
		b.Fatal(err)
	}
	if f.session, err = st.GetSession(ctx, c.SID); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkMint signs one access token and one ID token (what every code
// exchange and refresh does), keys cached: pure signing cost.
func BenchmarkMint(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newBenchFixture(b, alg)
			in := mintInput{pool: f.pool, app: f.app, user: f.user, session: f.session, scope: "openid", now: time.Now(), validity: f.app.Validity}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.svc.mint(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse checks an access token's structure and signature (keys
// cached), without the revocation lookup: pure verification cost.
func BenchmarkParse(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newBenchFixture(b, alg)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := f.svc.parse(ctx, f.pool.ID, f.access); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify is the whole verification: signature, expiry and the
// session lookup that makes revocation immediate.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newBenchFixture(b, alg)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v, err := f.svc.Verify(ctx, f.pool.ID, f.access)
					if err != nil || !v.Active {
						b.Fatalf("verify: %+v %v", v, err)
					}
				}
			})
		})
	}
}

// BenchmarkRefresh is the refresh grant of a confidential app in process
// (client check, four lookups, a transaction touching the session and
// appending an audit event, minting), from GOMAXPROCS goroutines.
func BenchmarkRefresh(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newBenchFixture(b, alg)
			ctx := context.Background()
			req := RefreshRequest{PoolID: f.pool.ID, RefreshToken: f.refresh, ClientID: f.app.ClientID, ClientSecret: f.secret}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := f.svc.Refresh(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkCodeExchange issues a code (what a successful login stores) and
// redeems it (session, refresh token and event in one transaction, then
// minting): the code grant without the argon2id of the login.
func BenchmarkCodeExchange(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newBenchFixture(b, alg)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					code, err := f.svc.IssueCode(ctx, CodeRequest{App: f.app, User: f.user, RedirectURI: f.app.CallbackURLs[0],
						Scope: "openid", AuthTime: time.Now(), AMR: []string{"pwd"}})
					if err != nil {
						b.Fatal(err)
					}
					_, err = f.svc.ExchangeCode(ctx, ExchangeRequest{PoolID: f.pool.ID, Code: code, ClientID: f.app.ClientID, ClientSecret: f.secret})
					if err != nil {
						b.Fatal(fmt.Errorf("exchange: %w", err))
					}
				}
			})
		})
	}
}
