package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/store/sqlstore"
)

// TestSeedUsers seeds users in several batches and reads them back through
// the ordinary Store methods: confirmed, sharing the given hash, each with
// its active sessions.
func TestSeedUsers(t *testing.T) {
	ctx := context.Background()
	st := newSQLite(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	project := idgate.Project{ID: "prj_seed", Name: "seed", Environment: idgate.EnvSandbox, CreatedAt: now}
	pool := idgate.Pool{ID: "test_seed00001", ProjectID: project.ID, Domain: "seed", MFAPolicy: idgate.MFAOff,
		SigningAlg: idgate.AlgES256, PasswordMinLength: 12, HostedSessionTTL: time.Hour, CreatedAt: now}
	app := idgate.App{ClientID: "seedapp", PoolID: pool.ID, ProjectID: project.ID, Name: "seed", Type: idgate.AppWeb,
		SecretHash: "x", CallbackURLs: []string{"https://b.invalid/cb"}, Scopes: []string{"openid"},
		Validity: idgate.DefaultTokenValidity(), CreatedAt: now}
	for _, err := range []error{st.CreateProject(ctx, project), st.CreatePool(ctx, pool), st.CreateApp(ctx, app)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var progress []int
	const n = 5300 // more than one transaction batch
	err := st.SeedUsers(ctx, sqlstore.Seed{PoolID: pool.ID, ClientID: app.ClientID, First: 7, N: n, SessionsPerUser: 2,
		PasswordHash: "$argon2id$shared", Now: now, Progress: func(done int) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) < 2 || progress[len(progress)-1] != n {
		t.Fatalf("progress reports %v, want several ending at %d", progress, n)
	}
	for _, i := range []int{7, 2000, 7 + n - 1} {
		u, err := st.GetUserByEmail(ctx, pool.ID, sqlstore.SeedEmail(i))
		if err != nil {
			t.Fatalf("seeded user %d: %v", i, err)
		}
		if u.Status != idgate.StatusConfirmed || !u.EmailVerified || u.PasswordHash != "$argon2id$shared" || u.Username != u.Sub {
			t.Fatalf("seeded user %d = %+v", i, u)
		}
		ss, err := st.ListSessions(ctx, pool.ID, u.Sub)
		if err != nil || len(ss) != 2 {
			t.Fatalf("sessions of user %d: %v, %v", i, ss, err)
		}
		for _, s := range ss {
			if !s.Active(now) || s.ClientID != app.ClientID {
				t.Fatalf("seeded session %+v is not an active session of the app", s)
			}
		}
	}
	if _, err := st.GetUserByEmail(ctx, pool.ID, sqlstore.SeedEmail(7+n)); err == nil {
		t.Fatalf("user %d exists; only %d were asked for", 7+n, n)
	}
	// Seeding the same range again collides instead of duplicating.
	if err := st.SeedUsers(ctx, sqlstore.Seed{PoolID: pool.ID, First: 7, N: 1, PasswordHash: "h", Now: now}); err == nil {
		t.Fatal("re-seeding an existing email succeeded")
	}
}
