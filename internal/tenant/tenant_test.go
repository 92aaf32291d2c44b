package tenant_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
)

const publicURL = "https://id.example.test"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	ctx     context.Context
	store   *sqlstore.Store
	clock   *clock
	tenants *tenant.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	keys := token.NewKeys(st, sealer, clk.Now)
	return &env{ctx: ctx, store: st, clock: clk, tenants: tenant.NewService(st, keys, publicURL, "test", clk.Now)}
}

var admin = idgate.Actor{Type: idgate.ActorAdmin, ID: "test"}

func validProject() tenant.NewProject {
	return tenant.NewProject{Name: "Demo", Environment: "sandbox", AppType: "web", CallbackURLs: []string{"https://app.example/callback"}}
}

func (e *env) project(t *testing.T) tenant.Credentials {
	t.Helper()
	c, err := e.tenants.CreateProject(e.ctx, validProject(), admin)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func asError(t *testing.T, err error) *idgate.Error {
	t.Helper()
	var e *idgate.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *idgate.Error", err, err)
	}
	return e
}

func TestCreateProjectCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, err := e.tenants.CreateProject(e.ctx, tenant.NewProject{Name: "  My Shop!  ", CallbackURLs: []string{"https://shop.example/cb"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"projectId":      strings.HasPrefix(c.ProjectID, "prj_"),
		"userPoolId":     regexp.MustCompile(`^test_[a-z0-9]{9}$`).MatchString(c.UserPoolID),
		"userPoolDomain": regexp.MustCompile(`^my-shop-[a-z0-9]{6}$`).MatchString(c.UserPoolDomain),
		"clientId":       regexp.MustCompile(`^[a-z0-9]{26}$`).MatchString(c.ClientID),
		"clientSecret":   len(c.ClientSecret) >= 43,
		"apiKey":         len(c.APIKey) >= 43,
		"codeURL":        c.CodeURL == publicURL+"/v2/mfa/code/"+c.ClientID,
		"issuer":         c.Issuer == publicURL+"/"+c.UserPoolID,
		"permissions":    strings.Join(c.Permissions, ",") == "session:read,session:write,users:write,apps:write",
	}
	for field, ok := range checks {
		if !ok {
			t.Errorf("%s is wrong: %+v", field, c)
		}
	}
	// Defaults: development, web, MFA required, RS256; secrets stored hashed.
	p, _ := e.store.GetProject(e.ctx, c.ProjectID)
	pool, _ := e.store.GetPool(e.ctx, c.UserPoolID)
	app, _ := e.store.GetApp(e.ctx, c.ClientID)
	if p.Environment != idgate.EnvDevelopment || p.Name != "My Shop!" || pool.MFAPolicy != idgate.MFARequired || pool.SigningAlg != "RS256" || app.Type != idgate.AppWeb {
		t.Errorf("defaults: project %+v pool %+v app type %s", p, pool, app.Type)
	}
	if app.SecretHash == c.ClientSecret || !secret.DigestEqual(c.ClientSecret, app.SecretHash) {
		t.Error("client secret is not stored as its digest")
	}
	k, err := e.store.GetAPIKeyByHash(e.ctx, secret.Digest(c.APIKey))
	if err != nil || k.ID != c.APIKeyID {
		t.Errorf("API key not stored by digest: %v", err)
	}
	keys, _ := e.store.ListSigningKeys(e.ctx, c.UserPoolID)
	if len(keys) != 1 || keys[0].Status != idgate.KeyCurrent {
		t.Errorf("signing keys %+v", keys)
	}
	// A public app has no secret.
	spa := validProject()
	spa.AppType = "spa"
	sc, err := e.tenants.CreateProject(e.ctx, spa, admin)
	if err != nil || sc.ClientSecret != "" {
		t.Errorf("spa project: secret %q, err %v", sc.ClientSecret, err)
	}
}

// TestCreateProjectValidation checks every field's error names the field
// and nothing is created.
func TestCreateProjectValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := "https://app.example/" + strings.Repeat("a", 2048)
	many := make([]string, 21)
	for i := range many {
		many[i] = "https://app.example/cb"
	}
	cases := []struct {
		name, field string
		mod         func(*tenant.NewProject)
	}{
		{"empty name", "name", func(p *tenant.NewProject) { p.Name = "" }},
		{"blank name", "name", func(p *tenant.NewProject) { p.Name = "   " }},
		{"long name", "name", func(p *tenant.NewProject) { p.Name = strings.Repeat("n", 101) }},
		{"environment", "environment", func(p *tenant.NewProject) { p.Environment = "staging" }},
		{"environment case", "environment", func(p *tenant.NewProject) { p.Environment = "Production" }},
		{"app type", "appType", func(p *tenant.NewProject) { p.AppType = "desktop" }},
		{"mfa", "mfa", func(p *tenant.NewProject) { p.MFA = "sometimes" }},
		{"signing alg HS256", "signingAlg", func(p *tenant.NewProject) { p.SigningAlg = "HS256" }},
		{"signing alg none", "signingAlg", func(p *tenant.NewProject) { p.SigningAlg = "none" }},
		{"no callback", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = nil }},
		{"relative callback", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = []string{"/callback"} }},
		{"callback with fragment", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = []string{"https://app.example/cb#x"} }},
		{"javascript callback", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = []string{"javascript:alert(1)"} }},
		{"ftp callback", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = []string{"ftp://app.example/cb"} }},
		{"hostless callback", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = []string{"https:///cb"} }},
		{"too long callback", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = []string{long} }},
		{"21 callbacks", "callbackUrls", func(p *tenant.NewProject) { p.CallbackURLs = many }},
		{"bad logout", "logoutUrls", func(p *tenant.NewProject) { p.LogoutURLs = []string{"not a url"} }},
		{"backchannel not http", "backchannelLogoutUri", func(p *tenant.NewProject) { p.BackchannelLogoutURI = "mailto:x@example.com" }},
		{"backchannel fragment", "backchannelLogoutUri", func(p *tenant.NewProject) { p.BackchannelLogoutURI = "https://app.example/bc#f" }},
	}
	for _, c := range cases {
		in := validProject()
		c.mod(&in)
		_, err := e.tenants.CreateProject(e.ctx, in, admin)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		ie := asError(t, err)
		if ie.Code != idgate.CodeInvalidRequest || ie.Field != c.field || !strings.Contains(ie.Description, c.field) {
			t.Errorf("%s: error %+v, want invalid_request naming %s", c.name, ie, c.field)
		}
	}
	if ps, _ := e.store.ListProjects(e.ctx); len(ps) != 0 {
		t.Fatalf("invalid requests created %d projects", len(ps))
	}
	// Accepted URL shapes.
	ok := validProject()
	ok.CallbackURLs = []string{"http://localhost:3000/cb", "com.example.app:/oauth2redirect", "https://app.example/cb?x=1"}
	ok.LogoutURLs = []string{"https://app.example/bye"}
	ok.BackchannelLogoutURI = "https://app.example/backchannel"
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		ok.SigningAlg = alg
		if _, err := e.tenants.CreateProject(e.ctx, ok, admin); err != nil {
			t.Errorf("valid project (%s) refused: %v", alg, err)
		}
	}
}

func i64(v int64) *int64 { return &v }

// TestValidityUpdateBoundaries checks Cognito's ranges at their exact edges.
func TestValidityUpdateBoundaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.project(t)
	type cs struct {
		name  string
		in    tenant.ValidityUpdate
		ok    bool
		field string
	}
	u := func(id, access, refresh *int64, idU, accU, refU string) tenant.ValidityUpdate {
		return tenant.ValidityUpdate{ClientID: c.ClientID, IDTokenValidity: id, AccessTokenValidity: access, RefreshTokenValidity: refresh,
			Units: tenant.ValidityUnits{IDToken: idU, AccessToken: accU, RefreshToken: refU}}
	}
	cases := []cs{
		{"id 5 minutes", u(i64(5), nil, nil, "minutes", "", ""), true, ""},
		{"id 4 minutes", u(i64(4), nil, nil, "minutes", "", ""), false, "idTokenValidity"},
		{"id 300 seconds", u(i64(300), nil, nil, "seconds", "", ""), true, ""},
		{"id 299 seconds", u(i64(299), nil, nil, "seconds", "", ""), false, "idTokenValidity"},
		{"id 1 day", u(i64(1), nil, nil, "days", "", ""), true, ""},
		{"id 1440 minutes", u(i64(1440), nil, nil, "minutes", "", ""), true, ""},
		{"id 1441 minutes", u(i64(1441), nil, nil, "minutes", "", ""), false, "idTokenValidity"},
		{"id 2 days", u(i64(2), nil, nil, "days", "", ""), false, "idTokenValidity"},
		{"access 5 minutes", u(nil, i64(5), nil, "", "minutes", ""), true, ""},
		{"access 4 minutes", u(nil, i64(4), nil, "", "minutes", ""), false, "accessTokenValidity"},
		{"access 24 hours", u(nil, i64(24), nil, "", "hours", ""), true, ""},
		{"access 1441 minutes", u(nil, i64(1441), nil, "", "minutes", ""), false, "accessTokenValidity"},
		{"access 25 hours", u(nil, i64(25), nil, "", "", ""), false, "accessTokenValidity"},
		{"access 0", u(nil, i64(0), nil, "", "hours", ""), false, "accessTokenValidity"},
		{"access negative", u(nil, i64(-1), nil, "", "hours", ""), false, "accessTokenValidity"},
		{"refresh 1 hour", u(nil, nil, i64(1), "", "", "hours"), true, ""},
		{"refresh 60 minutes", u(nil, nil, i64(60), "", "", "minutes"), true, ""},
		{"refresh 59 minutes", u(nil, nil, i64(59), "", "", "minutes"), false, "refreshTokenValidity"},
		{"refresh 3650 days", u(nil, nil, i64(3650), "", "", "days"), true, ""},
		{"refresh 3651 days", u(nil, nil, i64(3651), "", "", "days"), false, "refreshTokenValidity"},
		{"refresh 87600 hours", u(nil, nil, i64(87600), "", "", "hours"), true, ""},
		{"refresh 87601 hours", u(nil, nil, i64(87601), "", "", "hours"), false, "refreshTokenValidity"},
		{"refresh huge", u(nil, nil, i64(1<<62), "", "", "seconds"), false, "refreshTokenValidity"},
		{"refresh max int64 days", u(nil, nil, i64(1<<63-1), "", "", "days"), false, "refreshTokenValidity"},
		{"bad unit", u(i64(1), nil, nil, "weeks", "", ""), false, "tokenValidityUnits.idToken"},
		{"unit case", u(nil, i64(1), nil, "", "Hours", ""), false, "tokenValidityUnits.accessToken"},
		{"nothing to change", u(nil, nil, nil, "hours", "", ""), false, "idTokenValidity"},
	}
	for _, tc := range cases {
		before, _ := e.tenants.GetApp(e.ctx, c.ClientID)
		view, err := e.tenants.UpdateTokenValidity(e.ctx, c.ProjectID, tc.in, admin)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			for _, f := range []struct {
				in      *int64
				unit    string
				got     int64
				gotUnit string
			}{
				{tc.in.IDTokenValidity, tc.in.Units.IDToken, view.IDTokenValidity, view.Units.IDToken},
				{tc.in.AccessTokenValidity, tc.in.Units.AccessToken, view.AccessTokenValidity, view.Units.AccessToken},
				{tc.in.RefreshTokenValidity, tc.in.Units.RefreshToken, view.RefreshTokenValidity, view.Units.RefreshToken},
			} {
				if f.in != nil && (f.got != *f.in || f.gotUnit != f.unit) {
					t.Errorf("%s: view %+v, want %d %s in force", tc.name, view, *f.in, f.unit)
				}
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted (%+v)", tc.name, view)
			continue
		}
		ie := asError(t, err)
		if ie.Code != idgate.CodeInvalidRequest || ie.Field != tc.field || !strings.Contains(ie.Description, tc.field) {
			t.Errorf("%s: error %+v, want invalid_request naming %s", tc.name, ie, tc.field)
		}
		after, _ := e.tenants.GetApp(e.ctx, c.ClientID)
		if after.TokenValidity != before.TokenValidity {
			t.Errorf("%s: a refused update changed the validity: %+v -> %+v", tc.name, before.TokenValidity, after.TokenValidity)
		}
	}
}

func TestValidityUnitsDefaultAndEffect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.project(t)
	// Defaults: 1 day / 1 day / 30 days, in hours, hours, days.
	v := tenant.View(mustApp(t, e, c.ClientID))
	if v.IDTokenValidity != 24 || v.AccessTokenValidity != 24 || v.RefreshTokenValidity != 30 ||
		v.Units != (tenant.ValidityUnits{IDToken: "hours", AccessToken: "hours", RefreshToken: "days"}) {
		t.Fatalf("default validity view %+v", v)
	}
	// Values without units are hours, hours, days.
	view, err := e.tenants.UpdateTokenValidity(e.ctx, c.ProjectID, tenant.ValidityUpdate{ClientID: c.ClientID,
		IDTokenValidity: i64(2), AccessTokenValidity: i64(3), RefreshTokenValidity: i64(10)}, admin)
	if err != nil {
		t.Fatal(err)
	}
	app := mustApp(t, e, c.ClientID)
	if app.Validity.IDToken != 2*time.Hour || app.Validity.AccessToken != 3*time.Hour || app.Validity.RefreshToken != 10*24*time.Hour {
		t.Fatalf("stored validity %+v, want 2h, 3h, 10 days", app.Validity)
	}
	if view.IDTokenValidity != 2 || view.AccessTokenValidity != 3 || view.RefreshTokenValidity != 10 || view.Units.IDToken != "hours" || view.Units.RefreshToken != "days" {
		t.Fatalf("view %+v", view)
	}
	// A subset changes only itself.
	view, err = e.tenants.UpdateTokenValidity(e.ctx, c.ProjectID, tenant.ValidityUpdate{ClientID: c.ClientID,
		AccessTokenValidity: i64(30), Units: tenant.ValidityUnits{AccessToken: "minutes"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	if view.AccessTokenValidity != 30 || view.Units.AccessToken != "minutes" || view.IDTokenValidity != 2 || view.RefreshTokenValidity != 10 {
		t.Fatalf("subset update view %+v", view)
	}
	// Another project's key cannot touch the app.
	other := e.project(t)
	if _, err := e.tenants.UpdateTokenValidity(e.ctx, other.ProjectID, tenant.ValidityUpdate{ClientID: c.ClientID, IDTokenValidity: i64(1)}, admin); asError(t, err).Code != idgate.CodeNotFound {
		t.Fatalf("cross-project update: %v", err)
	}
	if _, err := e.tenants.UpdateTokenValidity(e.ctx, c.ProjectID, tenant.ValidityUpdate{IDTokenValidity: i64(1)}, admin); asError(t, err).Field != "clientId" {
		t.Fatalf("missing clientId: %v", err)
	}
	// The change is an event.
	evs, _ := e.store.ListEvents(e.ctx, idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventAppUpdated})
	if len(evs) != 2 {
		t.Fatalf("%d %s events, want 2", len(evs), idgate.EventAppUpdated)
	}
}

func mustApp(t *testing.T, e *env, clientID string) idgate.App {
	t.Helper()
	a, err := e.store.GetApp(e.ctx, clientID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAPIKeyAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.project(t)
	actor := idgate.Actor{Type: idgate.ActorAPIKey, IP: "192.0.2.7", UserAgent: "test"}

	caller, err := e.tenants.Authenticate(e.ctx, c.APIKey, idgate.PermSessionRead, actor)
	if err != nil {
		t.Fatal(err)
	}
	if caller.Key.ID != c.APIKeyID || caller.Pool.ID != c.UserPoolID || caller.Key.ProjectID != c.ProjectID {
		t.Fatalf("caller %+v", caller)
	}
	if k, _ := e.store.GetAPIKey(e.ctx, c.APIKeyID); k.LastUsedAt.IsZero() {
		t.Error("a use of the key was not recorded")
	}
	if _, err := e.tenants.Authenticate(e.ctx, "  "+c.APIKey+"\n", idgate.PermSessionRead, actor); err != nil {
		t.Errorf("key with surrounding whitespace: %v", err)
	}

	// Missing permission: insufficient_permissions and an api_key.denied event.
	_, err = e.tenants.Authenticate(e.ctx, c.APIKey, idgate.PermUsersDelete, actor)
	if ie := asError(t, err); ie.Code != idgate.CodeInsufficientPermissions || !strings.Contains(ie.Description, "users:delete") {
		t.Fatalf("missing permission: %+v", ie)
	}
	evs, err := e.store.ListEvents(e.ctx, idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventAPIKeyDenied})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ActorType != idgate.ActorAPIKey || evs[0].ActorID != c.APIKeyID || evs[0].Data["permission"] != "users:delete" || evs[0].IP != "192.0.2.7" {
		t.Fatalf("denied events %+v", evs)
	}

	// A key made for deletion has only that permission.
	del, err := e.tenants.CreateAPIKey(e.ctx, c.ProjectID, []string{idgate.PermUsersDelete}, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tenants.Authenticate(e.ctx, del.APIKey, idgate.PermUsersDelete, actor); err != nil {
		t.Fatalf("users:delete key: %v", err)
	}
	if _, err := e.tenants.Authenticate(e.ctx, del.APIKey, idgate.PermSessionRead, actor); asError(t, err).Code != idgate.CodeInsufficientPermissions {
		t.Fatalf("users:delete key used for session:read: %v", err)
	}

	// Revoked, unknown, empty and oversized keys: unauthorized.
	if err := e.tenants.RevokeAPIKey(e.ctx, del.APIKeyID, admin); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"revoked": del.APIKey, "unknown": "igk_" + strings.Repeat("x", 43), "empty": "", "blank": "   ",
		"oversized": c.APIKey + strings.Repeat("x", 300), "prefix of a real key": c.APIKey[:20]} {
		_, err := e.tenants.Authenticate(e.ctx, raw, idgate.PermUsersDelete, actor)
		if ie := asError(t, err); ie.Code != idgate.CodeUnauthorized {
			t.Errorf("%s key: %+v, want unauthorized", name, ie)
		}
	}
	if err := e.tenants.RevokeAPIKey(e.ctx, "key_nosuch", admin); asError(t, err).Code != idgate.CodeNotFound {
		t.Errorf("revoking an unknown key: %v", err)
	}
	// Permissions are validated.
	for _, perms := range [][]string{nil, {}, {"users:read"}, {"session:read", "admin"}} {
		if _, err := e.tenants.CreateAPIKey(e.ctx, c.ProjectID, perms, admin); asError(t, err).Field != "permissions" {
			t.Errorf("CreateAPIKey(%v): %v", perms, err)
		}
	}
	if _, err := e.tenants.CreateAPIKey(e.ctx, "prj_nosuch", []string{"session:read"}, admin); asError(t, err).Code != idgate.CodeNotFound {
		t.Errorf("CreateAPIKey on unknown project: %v", err)
	}
}

func TestRotateKeysValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.project(t)
	if _, err := e.tenants.RotateKeys(e.ctx, c.UserPoolID, "HS256", admin); asError(t, err).Field != "alg" {
		t.Fatalf("rotate to HS256: %v", err)
	}
	if _, err := e.tenants.RotateKeys(e.ctx, "test_nosuchpl", "", admin); asError(t, err).Code != idgate.CodeNotFound {
		t.Fatalf("rotate unknown pool: %v", err)
	}
	k, err := e.tenants.RotateKeys(e.ctx, c.UserPoolID, "EdDSA", admin)
	if err != nil || k.Alg != "EdDSA" {
		t.Fatalf("rotate to EdDSA: %+v, %v", k, err)
	}
	if pool, _ := e.store.GetPool(e.ctx, c.UserPoolID); pool.SigningAlg != "EdDSA" {
		t.Fatalf("pool algorithm %s after switching to EdDSA", pool.SigningAlg)
	}
	if evs, _ := e.store.ListEvents(e.ctx, idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventKeysRotated}); len(evs) != 1 {
		t.Fatalf("%d rotation events", len(evs))
	}
}
