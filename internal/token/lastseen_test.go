package token_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/token"
)

// countingStore counts TouchSession calls to prove verification does not
// write per request.
type countingStore struct {
	idgate.Store
	touches int
}

func (c *countingStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	c.touches++
	return c.Store.TouchSession(ctx, id, at)
}

func (c *countingStore) InTx(ctx context.Context, fn func(tx idgate.Store) error) error {
	return c.Store.InTx(ctx, func(tx idgate.Store) error { return fn(&countingStore{Store: tx, touches: 0}) })
}

func TestLastSeenCoalesced(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, _ := secret.NewSealer(secret.NewMasterKey())
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	cs := &countingStore{Store: st}
	keys := token.NewKeys(cs, sealer, clock)
	svc := token.NewService(token.Config{Store: cs, Keys: keys, Sealer: sealer, Now: clock, PublicURL: "http://idgate.test"})

	pool := idgate.Pool{ID: "test_pool00001", ProjectID: "prj_1", Domain: "d", MFAPolicy: idgate.MFAOff, SigningAlg: idgate.AlgES256, CreatedAt: now}
	must(t, st.CreateProject(ctx, idgate.Project{ID: "prj_1", Name: "p", Environment: idgate.EnvSandbox, CreatedAt: now}))
	must(t, st.CreatePool(ctx, pool))
	sk, err := keys.Generate(pool.ID, pool.SigningAlg)
	must(t, err)
	must(t, st.CreateSigningKey(ctx, sk))
	app := idgate.App{ClientID: "client1", PoolID: pool.ID, ProjectID: "prj_1", Name: "a", Type: idgate.AppWeb,
		SecretHash: secret.Digest("s3cret"), CallbackURLs: []string{"https://a.example/cb"}, Validity: idgate.DefaultTokenValidity(), CreatedAt: now}
	must(t, st.CreateApp(ctx, app))
	u := idgate.User{Sub: idgate.NewUUID(), PoolID: pool.ID, Email: "a@example.com", Status: idgate.StatusConfirmed, CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateUser(ctx, u))
	code, err := svc.IssueCode(ctx, token.CodeRequest{App: app, User: u, RedirectURI: "https://a.example/cb", AuthTime: now, AMR: []string{"pwd"}})
	must(t, err)
	resp, err := svc.ExchangeCode(ctx, token.ExchangeRequest{PoolID: pool.ID, Code: code, ClientID: "client1", ClientSecret: "s3cret"})
	must(t, err)

	sid := claimSID(t, svc, pool.ID, resp.AccessToken)
	for range 100 {
		now = now.Add(time.Second)
		v, err := svc.Verify(ctx, pool.ID, resp.AccessToken)
		if err != nil || !v.Active {
			t.Fatalf("verify: %+v %v", v, err)
		}
	}
	if cs.touches != 0 {
		t.Fatalf("verification wrote last-seen %d times", cs.touches)
	}
	n, err := svc.FlushLastSeen(ctx)
	must(t, err)
	if n != 1 {
		t.Fatalf("flushed %d sessions, want 1", n)
	}
	se, err := st.GetSession(ctx, sid)
	must(t, err)
	if !se.LastSeenAt.Equal(now) {
		t.Fatalf("last seen = %v, want %v", se.LastSeenAt, now)
	}
	if n, _ := svc.FlushLastSeen(ctx); n != 0 {
		t.Fatalf("second flush wrote %d", n)
	}
}

func claimSID(t *testing.T, svc *token.Service, poolID, tok string) string {
	t.Helper()
	v, err := svc.Verify(context.Background(), poolID, tok)
	must(t, err)
	return v.Claims.SID
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
