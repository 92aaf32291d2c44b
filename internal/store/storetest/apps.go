package storetest

import (
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var appTests = []test{
	{"Apps", testApps},
	{"UpdateApp", testUpdateApp},
	{"APIKeys", testAPIKeys},
	{"RevokeAndTouchAPIKey", testRevokeAndTouchAPIKey},
}

// newApp returns a web app of the fixture's pool with every field set.
func newApp(f fixture, created time.Time) idgate.App {
	return idgate.App{
		ClientID: idgate.NewClientID(), PoolID: f.Pool.ID, ProjectID: f.Project.ID, Name: "Web shop",
		Type: idgate.AppWeb, SecretHash: "argon2id$hash",
		CallbackURLs:                       []string{"https://shop.example/cb", "https://shop.example/cb2"},
		LogoutURLs:                         []string{"https://shop.example/bye"},
		Scopes:                             []string{"openid", "email", "profile"},
		Validity:                           idgate.DefaultTokenValidity(),
		HostedSessionSurvivesGlobalSignOut: true,
		BackchannelLogoutURI:               "https://shop.example/bcl",
		CreatedAt:                          created,
		UpdatedAt:                          created.Add(time.Minute),
	}
}

func testApps(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	web := newApp(f, at(time.Hour))
	spa := idgate.App{ // minimal: public, no lists, never updated
		ClientID: idgate.NewClientID(), PoolID: f.Pool.ID, ProjectID: f.Project.ID, Name: "SPA",
		Type: idgate.AppSPA, Validity: idgate.TokenValidity{IDToken: time.Hour, AccessToken: 5 * time.Minute},
		CreatedAt: at(2 * time.Hour),
	}
	must(t, s.CreateApp(ctx, spa))
	must(t, s.CreateApp(ctx, web))
	other := newFixture(t, s)
	must(t, s.CreateApp(ctx, newApp(other, t0)))

	for _, want := range []idgate.App{web, spa} {
		got, err := s.GetApp(ctx, want.ClientID)
		must(t, err)
		equal(t, "GetApp "+want.Name, got, want)
	}
	apps, err := s.ListApps(ctx, f.Pool.ID)
	must(t, err)
	equal(t, "ListApps (oldest first, this pool only)", apps, []idgate.App{web, spa})

	dup := newApp(f, t0)
	dup.ClientID = web.ClientID
	wantErr(t, s.CreateApp(ctx, dup), idgate.ErrConflict)
	_, err = s.GetApp(ctx, "missing")
	wantErr(t, err, idgate.ErrNotFound)
	apps, err = s.ListApps(ctx, "eu_nothing00")
	must(t, err)
	if len(apps) != 0 {
		t.Fatalf("ListApps of an unknown pool = %d apps", len(apps))
	}
}

func testUpdateApp(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	app := newApp(f, t0)
	must(t, s.CreateApp(ctx, app))

	want := app
	want.Name = "Renamed"
	want.Type = idgate.AppNative
	want.SecretHash = ""
	want.CallbackURLs = []string{"com.example.app:/cb"}
	want.LogoutURLs = nil
	want.Scopes = []string{"openid"}
	want.Validity = idgate.TokenValidity{IDToken: time.Hour, AccessToken: 10 * time.Minute, RefreshToken: 48 * time.Hour,
		IDUnit: "minutes", AccessUnit: "minutes", RefreshUnit: "hours"}
	want.HostedSessionSurvivesGlobalSignOut = false
	want.BackchannelLogoutURI = ""
	want.UpdatedAt = at(time.Hour)
	got, err := s.UpdateApp(ctx, app.ClientID, func(old idgate.App) (idgate.App, error) {
		equal(t, "UpdateApp fn argument", old, app)
		return want, nil
	})
	must(t, err)
	equal(t, "UpdateApp result", got, want)
	stored, err := s.GetApp(ctx, app.ClientID)
	must(t, err)
	equal(t, "app after UpdateApp", stored, want)

	_, err = s.UpdateApp(ctx, app.ClientID, func(a idgate.App) (idgate.App, error) {
		a.Name = "never"
		return a, errBoom
	})
	wantErr(t, err, errBoom)
	stored, err = s.GetApp(ctx, app.ClientID)
	must(t, err)
	equal(t, "app after a failed fn", stored, want)

	_, err = s.UpdateApp(ctx, "missing", func(a idgate.App) (idgate.App, error) {
		t.Error("UpdateApp called fn for an unknown app")
		return a, nil
	})
	wantErr(t, err, idgate.ErrNotFound)
}

func newAPIKey(f fixture, created time.Time) idgate.APIKey {
	return idgate.APIKey{
		ID: idgate.NewID("key_"), ProjectID: f.Project.ID, Hash: idgate.NewSecret("sha256_"),
		Permissions: idgate.DefaultKeyPermissions, CreatedAt: created,
	}
}

func testAPIKeys(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	a := newAPIKey(f, at(time.Hour))
	a.LastUsedAt = at(2 * time.Hour)
	a.RevokedAt = at(3 * time.Hour)
	b := newAPIKey(f, at(4*time.Hour))
	b.Permissions = []string{idgate.PermUsersDelete}
	must(t, s.CreateAPIKey(ctx, b))
	must(t, s.CreateAPIKey(ctx, a))
	must(t, s.CreateAPIKey(ctx, newAPIKey(newFixture(t, s), t0)))

	got, err := s.GetAPIKey(ctx, a.ID)
	must(t, err)
	equal(t, "GetAPIKey", got, a)
	got, err = s.GetAPIKeyByHash(ctx, b.Hash)
	must(t, err)
	equal(t, "GetAPIKeyByHash", got, b)
	keys, err := s.ListAPIKeys(ctx, f.Project.ID)
	must(t, err)
	equal(t, "ListAPIKeys (oldest first, this project only)", keys, []idgate.APIKey{a, b})

	sameID := newAPIKey(f, t0)
	sameID.ID = a.ID
	wantErr(t, s.CreateAPIKey(ctx, sameID), idgate.ErrConflict)
	sameHash := newAPIKey(f, t0)
	sameHash.Hash = a.Hash
	wantErr(t, s.CreateAPIKey(ctx, sameHash), idgate.ErrConflict)

	_, err = s.GetAPIKey(ctx, "key_missing")
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetAPIKeyByHash(ctx, "missing")
	wantErr(t, err, idgate.ErrNotFound)
}

func testRevokeAndTouchAPIKey(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	k := newAPIKey(f, t0)
	must(t, s.CreateAPIKey(ctx, k))

	must(t, s.TouchAPIKey(ctx, k.ID, at(2*time.Minute)))
	must(t, s.TouchAPIKey(ctx, k.ID, at(time.Minute))) // earlier: ignored
	must(t, s.RevokeAPIKey(ctx, k.ID, at(time.Hour)))
	must(t, s.RevokeAPIKey(ctx, k.ID, at(2*time.Hour))) // again: the first time stays
	got, err := s.GetAPIKey(ctx, k.ID)
	must(t, err)
	want := k
	want.LastUsedAt = at(2 * time.Minute)
	want.RevokedAt = at(time.Hour)
	equal(t, "key after touches and revocations", got, want)

	wantErr(t, s.RevokeAPIKey(ctx, "key_missing", t0), idgate.ErrNotFound)
	wantErr(t, s.TouchAPIKey(ctx, "key_missing", t0), idgate.ErrNotFound)
}
