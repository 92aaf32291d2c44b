package token_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
)

const publicURL = "https://id.example.test"

// clock is a settable test clock.
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

// tenv is the token service over a real SQLite store.
type tenv struct {
	t       testing.TB
	ctx     context.Context
	store   *sqlstore.Store
	sealer  *secret.Sealer
	clock   *clock
	keys    *token.Keys
	tokens  *token.Service
	tenants *tenant.Service
}

func newTenv(t testing.TB) *tenv {
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
	return &tenv{
		t: t, ctx: ctx, store: st, sealer: sealer, clock: clk, keys: keys,
		tokens:  token.NewService(token.Config{Store: st, Keys: keys, Sealer: sealer, Now: clk.Now, PublicURL: publicURL}),
		tenants: tenant.NewService(st, keys, publicURL, "test", clk.Now),
	}
}

var admin = idgate.Actor{Type: idgate.ActorAdmin, ID: "test"}

// project creates a project (web app) signing with alg.
func (e *tenv) project(alg, appType string) tenant.Credentials {
	e.t.Helper()
	c, err := e.tenants.CreateProject(e.ctx, tenant.NewProject{
		Name: "Token Test " + alg, Environment: "sandbox", AppType: appType,
		CallbackURLs: []string{"https://app.example/callback"}, SigningAlg: alg,
	}, admin)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *tenv) app(clientID string) idgate.App {
	e.t.Helper()
	a, err := e.store.GetApp(e.ctx, clientID)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// user stores a confirmed user with some RBAC attributes.
func (e *tenv) user(poolID, email string) idgate.User {
	e.t.Helper()
	now := e.clock.Now()
	u := idgate.User{
		Sub: idgate.NewUUID(), PoolID: poolID, Email: email, EmailVerified: true, Status: idgate.StatusConfirmed,
		Roles: []string{"admin"}, Groups: []string{"staff"}, Actions: []string{"App01:Read"},
		Profile:   idgate.Profile{Name: "Ada Lovelace", Locale: "en-GB"},
		CreatedAt: now, UpdatedAt: now,
	}
	u.Username = u.Sub
	if err := e.store.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// code issues an authorization code for the user.
func (e *tenv) code(app idgate.App, u idgate.User, challenge, nonce string) string {
	e.t.Helper()
	r := token.CodeRequest{
		App: app, User: u, RedirectURI: app.CallbackURLs[0], Nonce: nonce, Scope: "openid email profile",
		AuthTime: e.clock.Now(), AMR: []string{"pwd", "otp"}, IP: "192.0.2.1", UserAgent: "test",
	}
	if challenge != "" {
		r.CodeChallenge, r.CodeChallengeMethod = challenge, "S256"
	}
	code, err := e.tokens.IssueCode(e.ctx, r)
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

// signIn issues a code and exchanges it: a full session.
func (e *tenv) signIn(c tenant.Credentials, u idgate.User) token.Response {
	e.t.Helper()
	app := e.app(c.ClientID)
	resp, err := e.tokens.ExchangeCode(e.ctx, token.ExchangeRequest{
		PoolID: c.UserPoolID, Code: e.code(app, u, "", "n-0S6_WzA2Mj"), ClientID: c.ClientID, ClientSecret: c.ClientSecret,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// currentKey opens the pool's current private signing key.
func (e *tenv) currentKey(poolID string) (kid string, alg jose.SignatureAlgorithm, key crypto.Signer) {
	e.t.Helper()
	ks, err := e.store.ListSigningKeys(e.ctx, poolID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range ks {
		if k.Status != idgate.KeyCurrent {
			continue
		}
		der, err := e.sealer.Open(k.Private, "signing-key:"+k.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			e.t.Fatal(err)
		}
		return k.ID, jose.SignatureAlgorithm(k.Alg), priv.(crypto.Signer)
	}
	e.t.Fatalf("pool %s has no current key", poolID)
	return "", "", nil
}

// sign makes a JWS compact token over claims with key, alg and kid.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var b64 = base64.RawURLEncoding

// parts decodes a compact JWT's header and payload without verifying.
func parts(t testing.TB, tok string) (header, payload map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := b64.DecodeString(p[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

// wantAtHash is at_hash computed independently: the left half of the hash
// of the access token's ASCII, SHA-256 for RS256/ES256 and SHA-512 for
// EdDSA (Ed25519), base64url without padding.
func wantAtHash(alg, accessToken string) string {
	var sum []byte
	if alg == "EdDSA" {
		s := sha512.Sum512([]byte(accessToken))
		sum = s[:]
	} else {
		s := sha256.Sum256([]byte(accessToken))
		sum = s[:]
	}
	return b64.EncodeToString(sum[:len(sum)/2])
}
