package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating test schemas

	"github.com/idgate/idgate/internal/bench"
)

// Every node of a test shares these, as nodes of one deployment must.
const (
	// publicURL is the issuer base of every node: tokens minted by one node
	// (or before a restart on another port) verify on all of them.
	publicURL  = "http://idgate-e2e.invalid"
	masterKey  = "6f1c0e8a4b2d9f7e3a5c1b0d8e6f4a2c9b7d5e3f1a0c8e6b4d2f0a9c7e5b3d1f"
	adminToken = "e2e-admin-token-4b7c9d2e1f0a3b5c7d9e1f3a5b7c9d1e"
)

// binary is the idgate executable built by TestMain, or "" with buildErr.
var (
	binary   string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "idgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, buildErr = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles cmd/idgate into dir.
func build(dir string) (string, error) {
	out := filepath.Join(dir, "idgate")
	cmd := exec.Command("go", "build", "-o", out, "github.com/idgate/idgate/cmd/idgate")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, msg)
	}
	return out, nil
}

func needBinary(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Skipf("cannot build the idgate binary, skipping end-to-end test: %v", buildErr)
	}
}

// node is one running `idgate serve` process.
type node struct {
	t       *testing.T
	url     string
	env     []string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// nodeConfig selects the storage of a node: a data dir (SQLite) or a
// PostgreSQL URL (then dataDir only holds nothing of value).
type nodeConfig struct {
	dataDir     string
	databaseURL string
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode runs idgate serve with cfg on a free port and waits until it
// answers /readyz. The process is killed when the test ends.
func startNode(t *testing.T, cfg nodeConfig) *node {
	t.Helper()
	needBinary(t)
	addr := freeAddr(t)
	n := &node{t: t, url: "http://" + addr, exited: make(chan struct{})}
	n.env = append(os.Environ(), "IDGATE_ADDR="+addr, "IDGATE_PUBLIC_URL="+publicURL, "IDGATE_DATA_DIR="+cfg.dataDir, "IDGATE_MASTER_KEY="+masterKey,
		"IDGATE_ADMIN_TOKEN="+adminToken, "IDGATE_LOG_LEVEL=warn", "IDGATE_TRUST_PROXY=true", "IDGATE_DATABASE_URL="+cfg.databaseURL)
	n.logPath = filepath.Join(t.TempDir(), "idgate.log")
	logf, err := os.Create(n.logPath)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(binary, "serve")
	n.cmd.Env = n.env
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = n.cmd.Wait()
		logf.Close()
		close(n.exited)
	}()
	t.Cleanup(n.kill)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		select {
		case <-n.exited:
			t.Fatalf("idgate exited before it was ready:\n%s", n.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("idgate not ready after 30 s:\n%s", n.logTail())
		}
	}
}

// kill ends the process with SIGKILL (no chance to flush or clean up) and
// waits for it to be gone.
func (n *node) kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

func (n *node) logTail() string {
	b, _ := os.ReadFile(n.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// newSchema creates a fresh PostgreSQL schema, dropped when the test ends,
// and returns a database URL selecting it; it skips the test without
// IDGATE_TEST_POSTGRES_DSN.
func newSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("IDGATE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("IDGATE_TEST_POSTGRES_DSN not set: skipping the PostgreSQL end-to-end test")
	}
	if !strings.Contains(dsn, "://") {
		t.Skip("IDGATE_TEST_POSTGRES_DSN must be a postgres:// URL for the end-to-end tests")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "e2e_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		// The nodes are killed first (cleanups run last-in, first-out only
		// for those registered later), so retry while connections linger.
		for range 20 {
			if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err == nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("could not drop schema %s", schema)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// api is a session API client for assertions: unlike bench.Client it
// returns the status and decoded body of any answer.
type api struct {
	base string
	key  string
	http *http.Client
}

func newAPI(base, key string) *api {
	return &api{base: base, key: key, http: bench.NewHTTPClient(32)}
}

// post calls a session API endpoint; out receives the JSON body.
func (a *api) post(ctx context.Context, endpoint string, body, out any) (int, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/v2/sessionmgt/"+endpoint, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", a.key)
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: status %d, body %q: %w", endpoint, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, nil
}

// verdict is the part of verifyaccesstoken's answer the tests check.
type verdict struct {
	Active  bool   `json:"active"`
	Revoked bool   `json:"revoked"`
	Error   string `json:"error"`
}

func (a *api) verify(ctx context.Context, accessToken string) (int, verdict, error) {
	var v verdict
	status, err := a.post(ctx, "verifyaccesstoken", map[string]string{"accessToken": accessToken}, &v)
	return status, v, err
}

// mustVerify verifies a token and fails the test unless it gets a 200.
func (a *api) mustVerify(t *testing.T, accessToken string) verdict {
	t.Helper()
	status, v, err := a.verify(context.Background(), accessToken)
	if err != nil || status != http.StatusOK {
		t.Fatalf("verify: status %d, %v", status, err)
	}
	return v
}

// sandbox is a project made for a test, with users signed in.
type sandbox struct {
	creds bench.Credentials
	c     *bench.Client
	api   *api
	users []string // emails; password bench password
}

const password = "e2e-password-correct-horse-9"

// newSandbox creates a project (MFA off) and n users on node n0.
func newSandbox(t *testing.T, n0 *node, users int) *sandbox {
	t.Helper()
	ctx := context.Background()
	// Sign-ins come from made-up client addresses (the nodes trust
	// X-Forwarded-For): the tests sign in more often than the per-IP
	// limit of the hosted login allows one browser.
	c := &bench.Client{BaseURL: n0.url, HTTP: bench.NewHTTPClient(32), ForwardedFor: true}
	creds, err := c.CreateSandbox(ctx, adminToken, "e2e "+t.Name(), "ES256")
	if err != nil {
		t.Fatal(err)
	}
	s := &sandbox{creds: creds, c: c, api: newAPI(n0.url, creds.APIKey)}
	for i := range users {
		email := fmt.Sprintf("user%d@e2e.invalid", i)
		if err := c.CreateUser(ctx, adminToken, creds.UserPoolID, email, password); err != nil {
			t.Fatal(err)
		}
		s.users = append(s.users, email)
	}
	return s
}

// on returns the sandbox's clients pointed at another node.
func (s *sandbox) on(n *node) (*bench.Client, *api) {
	c := *s.c
	c.BaseURL = n.url
	return &c, newAPI(n.url, s.creds.APIKey)
}

// signIn logs a user in and exchanges the code.
func (s *sandbox) signIn(t *testing.T, email string) bench.Tokens {
	t.Helper()
	tk, err := s.c.SignIn(context.Background(), email, password)
	if err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	return tk
}

var errStop = errors.New("stopped")

// syncLog is a goroutine-safe list of things acknowledged by the server.
type syncLog[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *syncLog[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

func (l *syncLog[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}
