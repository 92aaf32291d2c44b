package storetest

import (
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var projectTests = []test{
	{"Ping", testPing},
	{"Projects", testProjects},
	{"Pools", testPools},
	{"UpdatePool", testUpdatePool},
	{"TimesAreUTC", testTimesAreUTC},
}

func testPing(t *testing.T, s idgate.Store) {
	must(t, s.Ping(t.Context()))
}

func testProjects(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	a := idgate.Project{ID: idgate.NewID("prj_"), Name: "Acme", Environment: idgate.EnvProduction, CreatedAt: at(time.Hour)}
	b := idgate.Project{ID: idgate.NewID("prj_"), Name: "Beta", Environment: idgate.EnvDevelopment, CreatedAt: at(2 * time.Hour)}
	must(t, s.CreateProject(ctx, b))
	must(t, s.CreateProject(ctx, a))

	got, err := s.GetProject(ctx, a.ID)
	must(t, err)
	equal(t, "GetProject", got, a)

	all, err := s.ListProjects(ctx)
	must(t, err)
	equal(t, "ListProjects (oldest first)", all, []idgate.Project{a, b})

	dup := a
	dup.Name = "Other"
	wantErr(t, s.CreateProject(ctx, dup), idgate.ErrConflict)
	got, err = s.GetProject(ctx, a.ID)
	must(t, err)
	equal(t, "project after a rejected duplicate", got, a)

	_, err = s.GetProject(ctx, "prj_missing")
	wantErr(t, err, idgate.ErrNotFound)
}

func testPools(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)

	got, err := s.GetPool(ctx, f.Pool.ID)
	must(t, err)
	equal(t, "GetPool", got, f.Pool)
	got, err = s.GetPoolByProject(ctx, f.Project.ID)
	must(t, err)
	equal(t, "GetPoolByProject", got, f.Pool)

	dup := f.Pool
	dup.ProjectID = newFixture(t, s).Project.ID
	wantErr(t, s.CreatePool(ctx, dup), idgate.ErrConflict)

	second := f.Pool
	second.ID = idgate.NewPoolID("eu")
	wantErr(t, s.CreatePool(ctx, second), idgate.ErrConflict) // a project owns exactly one pool

	_, err = s.GetPool(ctx, "eu_missing00")
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetPoolByProject(ctx, "prj_missing")
	wantErr(t, err, idgate.ErrNotFound)
}

func testUpdatePool(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)

	want := f.Pool
	want.Domain = "renamed"
	want.MFAPolicy = idgate.MFARequired
	want.SigningAlg = idgate.AlgRS256
	want.PasswordMinLength = 16
	want.HostedSessionTTL = 90 * time.Minute
	got, err := s.UpdatePool(ctx, f.Pool.ID, func(old idgate.Pool) (idgate.Pool, error) {
		equal(t, "UpdatePool fn argument", old, f.Pool)
		return want, nil
	})
	must(t, err)
	equal(t, "UpdatePool result", got, want)
	stored, err := s.GetPool(ctx, f.Pool.ID)
	must(t, err)
	equal(t, "pool after UpdatePool", stored, want)

	_, err = s.UpdatePool(ctx, f.Pool.ID, func(p idgate.Pool) (idgate.Pool, error) {
		p.Domain = "never"
		return p, errBoom
	})
	wantErr(t, err, errBoom)
	stored, err = s.GetPool(ctx, f.Pool.ID)
	must(t, err)
	equal(t, "pool after a failed fn", stored, want)

	called := false
	_, err = s.UpdatePool(ctx, "eu_missing00", func(p idgate.Pool) (idgate.Pool, error) {
		called = true
		return p, nil
	})
	wantErr(t, err, idgate.ErrNotFound)
	if called {
		t.Fatal("UpdatePool called fn for an unknown pool")
	}
}

// testTimesAreUTC stores times given in another zone and expects the same
// instants back, in UTC, with their nanoseconds; zero times stay zero.
func testTimesAreUTC(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	local := time.Date(2030, 1, 2, 3, 4, 5, 6, zone)
	f := newFixture(t, s)
	k := idgate.APIKey{
		ID: idgate.NewID("key_"), ProjectID: f.Project.ID, Hash: idgate.NewSecret("h_"),
		Permissions: idgate.DefaultKeyPermissions, CreatedAt: local,
	}
	must(t, s.CreateAPIKey(ctx, k))
	got, err := s.GetAPIKey(ctx, k.ID)
	must(t, err)
	if !got.CreatedAt.Equal(local) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v (%v), want %v in UTC", got.CreatedAt, got.CreatedAt.Location(), local)
	}
	if !got.LastUsedAt.IsZero() || !got.RevokedAt.IsZero() {
		t.Fatalf("zero times read back as %v, %v", got.LastUsedAt, got.RevokedAt)
	}
	// A time.Now() value carries a monotonic reading; only the wall time is stored.
	now := time.Now()
	must(t, s.TouchAPIKey(ctx, k.ID, now))
	got, err = s.GetAPIKey(ctx, k.ID)
	must(t, err)
	if !got.LastUsedAt.Equal(now) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, now)
	}
}
