package client_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/idgate/idgate/client"
)

// demo is what the examples run against: a real idgate (started in
// process, as in the tests) with a project, a user and a fresh sign-in
// code, standing in for the server and the callback of a real deployment.
type demo struct {
	BaseURL, APIKey, PoolID, ClientID, ClientSecret string
	code                                            func() string
	stop                                            func()
}

func startDemo() *demo {
	dir, err := os.MkdirTemp("", "idgate-example")
	if err != nil {
		log.Fatal(err)
	}
	s, stop, err := startServer(dir)
	if err != nil {
		log.Fatal(err)
	}
	c, err := s.project("web", "")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.user(c.UserPoolID, "ada@example.com"); err != nil {
		log.Fatal(err)
	}
	return &demo{
		BaseURL: s.URL, APIKey: c.APIKey, PoolID: c.UserPoolID, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		code: func() string {
			code, err := s.code(c.ClientID, "ada@example.com", nil)
			if err != nil {
				log.Fatal(err)
			}
			return code
		},
		stop: func() { stop(); os.RemoveAll(dir) },
	}
}

// The application's side of a sign-in: exchange the code the hosted login
// sent to the callback, keep the tokens encrypted in the application's
// database, and get a valid access token whenever it is needed.
func ExampleTokenSource() {
	idgate := startDemo()
	defer idgate.stop()
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "app")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, "app.db")) // your application's database
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	key := make([]byte, 32) // in production: from your secret manager
	rand.Read(key)
	store, err := client.NewSQLTokenStore(client.SQLTokenStoreConfig{DB: db, Key: key})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}

	c, err := client.New(idgate.BaseURL, idgate.APIKey)
	if err != nil {
		log.Fatal(err)
	}
	ts, err := client.NewTokenSource(client.TokenSourceConfig{Client: c, Store: store, ClientID: idgate.ClientID, ClientSecret: idgate.ClientSecret})
	if err != nil {
		log.Fatal(err)
	}

	// In the callback handler: ?code=... arrived for the signed-in user.
	if _, err := ts.Exchange(ctx, "app-user-1", client.CodeExchange{Code: idgate.code()}); err != nil {
		log.Fatal(err)
	}

	// Anywhere later: a valid access token, refreshed when close to expiry.
	at, err := ts.AccessToken(ctx, "app-user-1")
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.VerifyAccessToken(ctx, at)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active:", v.Active)

	// Sign out everywhere: every session ends and the tokens are deleted.
	if err := ts.SignOut(ctx, "app-user-1", client.RevokeGlobal); err != nil {
		log.Fatal(err)
	}
	_, err = ts.AccessToken(ctx, "app-user-1")
	fmt.Println("login required:", errors.Is(err, client.ErrLoginRequired))
	// Output:
	// active: true
	// login required: true
}

// A resource server protects its routes with the middleware: tokens are
// verified locally, routes demand roles or actions, and a signed-out
// user's token is refused within a second through the revocation feed.
func ExampleMiddleware() {
	idgate := startDemo()
	defer idgate.stop()
	ctx := context.Background()

	c, err := client.New(idgate.BaseURL, idgate.APIKey) // the key needs session:read
	if err != nil {
		log.Fatal(err)
	}
	m, err := client.NewMiddleware(client.MiddlewareConfig{Client: c, PoolID: idgate.PoolID, Audience: []string{idgate.ClientID},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /profile", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := client.ClaimsFrom(r.Context())
		fmt.Fprintln(w, "hello", claims.Username != "")
	})))
	mux.Handle("POST /admin", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		client.RequireRole("App01AdministrationRole"), client.RequireAction("App01:Update")))

	tokens, err := c.GetTokenFromCode(ctx, client.CodeExchange{Code: idgate.code(), ClientID: idgate.ClientID, ClientSecret: idgate.ClientSecret})
	if err != nil {
		log.Fatal(err)
	}
	call := func(method, path string) int {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec.Code
	}
	fmt.Println("GET /profile:", call("GET", "/profile"))
	fmt.Println("POST /admin without the role:", call("POST", "/admin"))
	// Output:
	// GET /profile: 200
	// POST /admin without the role: 403
}

// Errors carry the API's error code: match them with errors.Is, read the
// description and request id with errors.As.
func ExampleError() {
	idgate := startDemo()
	defer idgate.stop()
	c, err := client.New(idgate.BaseURL, idgate.APIKey)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.RefreshAccessToken(context.Background(), client.RefreshRequest{RefreshToken: "not-a-refresh-token",
		ClientID: idgate.ClientID, ClientSecret: idgate.ClientSecret})
	var e *client.Error
	fmt.Println(errors.Is(err, client.ErrInvalidGrant), errors.As(err, &e) && e.RequestID != "", e.StatusCode)
	// Output: true true 400
}
