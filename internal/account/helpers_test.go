package account_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
)

// fastHasher is real argon2id with small parameters, for quick tests.
var fastHasher = secret.NewHasher(secret.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32}, 4)

type env struct {
	t        testing.TB
	ctx      context.Context
	store    *sqlstore.Store
	accounts *account.Service
	tenants  *tenant.Service
	creds    tenant.Credentials
}

var admin = idgate.Actor{Type: idgate.ActorAdmin, ID: "test"}

// newEnv opens a SQLite store and creates one project through the tenant
// service.
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
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	emails, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	mailer := notify.NewRouter(nil, notify.NewOutbox(100, logger), func(context.Context, string) bool { return true })
	now := func() time.Time { return time.Now().UTC() }
	e := &env{t: t, ctx: ctx, store: st,
		accounts: account.NewService(st, fastHasher, mailer, emails, now),
		tenants:  tenant.NewService(st, token.NewKeys(st, sealer, now), "https://id.example.test", "test", now),
	}
	e.creds, err = e.tenants.CreateProject(ctx, tenant.NewProject{Name: "Accounts", Environment: "sandbox", CallbackURLs: []string{"https://app.example/cb"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) user(email string) idgate.User {
	e.t.Helper()
	u, err := e.accounts.CreateUser(e.ctx, account.NewUser{PoolID: e.creds.UserPoolID, Email: email, Password: "correct horse battery staple", Confirmed: true}, admin)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) get(sub string) idgate.User {
	e.t.Helper()
	u, err := e.store.GetUser(e.ctx, e.creds.UserPoolID, sub)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// update calls UpdateAttributes for the user identified by email.
func (e *env) update(email string, values map[string]string) (idgate.User, error) {
	raw := map[string]json.RawMessage{}
	for k, v := range values {
		raw[k] = json.RawMessage(v)
	}
	return e.accounts.UpdateAttributes(e.ctx, e.creds.ProjectID, account.AttributeUpdate{PoolID: e.creds.UserPoolID, Email: email, Values: raw}, admin)
}

// claim is the JSON of a user's claim as tokens carry it ("null" when
// absent).
func claim(u idgate.User, name string) string {
	v, ok := token.UserClaims(u)[name]
	if !ok {
		if name == "phone_number_verified" {
			return "false" // omitted when false
		}
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
