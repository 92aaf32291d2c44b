package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the idgate command built once for every test.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "idgate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "idgate")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the environment without any IDGATE_* variable, plus extra.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDGATE_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a goroutine-safe buffer for a child's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// server is a running `idgate serve`.
type server struct {
	url    string
	data   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// startServe runs `idgate serve` with args and env and waits for /readyz.
func startServe(t *testing.T, addr string, env []string, args ...string) *server {
	t.Helper()
	s := &server{url: "http://" + addr, stderr: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	s.cmd.Env = env
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server output:\n%s", s.stderr.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("idgate serve exited early (%v):\n%s", err, s.stderr.String())
		default:
		}
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("idgate serve not ready after 60 s:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run executes the idgate command and returns stdout, stderr and the error.
func run(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// runJSON runs an idgate command that must succeed and print JSON.
func runJSON(t *testing.T, env []string, out any, args ...string) {
	t.Helper()
	stdout, stderr, err := run(t, env, args...)
	if err != nil {
		t.Fatalf("idgate %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("idgate %s: output is not JSON (%v):\n%s", strings.Join(args, " "), err, stdout)
	}
}

func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %d, not JSON (%v): %s", url, resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, url, apiKey string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: %d, not JSON: %s", url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

// jwksCount polls the pool's JWKS until it lists want keys (or 6 s pass)
// and returns the last count and kids seen.
func jwksCount(t *testing.T, base, pool string, want int, mustHave string) (int, []string) {
	t.Helper()
	var kids []string
	deadline := time.Now().Add(6 * time.Second)
	for {
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		if code := getJSON(t, base+"/"+pool+"/.well-known/jwks.json", &set); code != http.StatusOK {
			t.Fatalf("JWKS: status %d", code)
		}
		kids = kids[:0]
		for _, k := range set.Keys {
			kids = append(kids, k.Kid)
		}
		has := mustHave == ""
		for _, k := range kids {
			has = has || k == mustHave
		}
		if (len(kids) == want && has) || time.Now().After(deadline) {
			return len(kids), kids
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServeHealthReadyOpenAPIAndFiles(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data") // does not exist yet: serve creates it
	addr := freeAddr(t)
	s := startServe(t, addr, cleanEnv(), "--data-dir", data, "--addr", addr)

	var health map[string]any
	if code := getJSON(t, s.url+"/healthz", &health); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	if code := getJSON(t, s.url+"/readyz", nil); code != http.StatusOK {
		t.Fatalf("/readyz: %d", code)
	}
	var doc map[string]any
	if code := getJSON(t, s.url+"/openapi.json", &doc); code != http.StatusOK {
		t.Fatalf("/openapi.json: %d", code)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi version %q, want 3.1.x", doc["openapi"])
	}
	if paths, _ := doc["paths"].(map[string]any); len(paths) == 0 {
		t.Fatal("OpenAPI document has no paths")
	}

	st, err := os.Stat(data)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir mode %o, want 700", perm)
	}
	for _, name := range []string{"master.key", "admin.token", "idgate.db"} {
		st, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %o, want 600", name, perm)
		}
	}
	// Every other file there (SQLite's -wal and -shm) is private too.
	_ = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %o: readable by others", p, info.Mode().Perm())
		}
		return nil
	})
	key, _ := os.ReadFile(filepath.Join(data, "master.key"))
	if len(strings.TrimSpace(string(key))) != 64 {
		t.Errorf("master.key holds %q, want 64 hex characters", strings.TrimSpace(string(key)))
	}
	tok, _ := os.ReadFile(filepath.Join(data, "admin.token"))
	if len(strings.TrimSpace(string(tok))) < 32 {
		t.Errorf("admin.token holds %d characters", len(strings.TrimSpace(string(tok))))
	}
}

// projectJSON is the output of `idgate project create --json`.
type projectJSON struct {
	ProjectID      string `json:"projectId"`
	UserPoolID     string `json:"userPoolId"`
	UserPoolDomain string `json:"userPoolDomain"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	APIKey         string `json:"apiKey"`
	APIKeyID       string `json:"apiKeyId"`
	CodeURL        string `json:"codeURL"`
	Issuer         string `json:"issuer"`
}

func checkProject(t *testing.T, p projectJSON, publicURL string) {
	t.Helper()
	for name, v := range map[string]string{"projectId": p.ProjectID, "userPoolId": p.UserPoolID, "userPoolDomain": p.UserPoolDomain,
		"clientId": p.ClientID, "clientSecret": p.ClientSecret, "apiKey": p.APIKey, "codeURL": p.CodeURL, "issuer": p.Issuer} {
		if v == "" {
			t.Errorf("project create --json: %s missing: %+v", name, p)
		}
	}
	if p.Issuer != publicURL+"/"+p.UserPoolID {
		t.Errorf("issuer %q, want %s/%s", p.Issuer, publicURL, p.UserPoolID)
	}
	if p.CodeURL != publicURL+"/v2/mfa/code/"+p.ClientID {
		t.Errorf("codeURL %q", p.CodeURL)
	}
}

// TestCLIWithRunningServer runs the administration commands on the data
// directory of a running server (local mode) and through its admin API
// (--server), and checks the server sees what they did.
func TestCLIWithRunningServer(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	s := startServe(t, addr, cleanEnv(), "--data-dir", data, "--addr", addr)
	env := cleanEnv()
	local := []string{"--data-dir", data, "--public-url", s.url, "--json"}

	var p projectJSON
	runJSON(t, env, &p, append([]string{"project", "create", "--name", "CLI Demo", "--env", "sandbox", "--callback-url", "https://app.example/cb"}, local...)...)
	checkProject(t, p, s.url)

	// The server accepts the API key the CLI created.
	var verdict map[string]any
	if code := postJSON(t, s.url+"/v2/sessionmgt/verifyaccesstoken", p.APIKey, map[string]string{"accessToken": "not.a.token"}, &verdict); code != http.StatusOK {
		t.Fatalf("verifyaccesstoken with the CLI-created key: %d %v", code, verdict)
	}
	if verdict["signatureVerified"] != false {
		t.Fatalf("verdict %v", verdict)
	}

	// A users:delete key.
	var key struct {
		APIKeyID    string   `json:"apiKeyId"`
		APIKey      string   `json:"apiKey"`
		Permissions []string `json:"permissions"`
	}
	runJSON(t, env, &key, append([]string{"apikey", "create", "--project", p.ProjectID, "--permissions", "users:delete"}, local...)...)
	if key.APIKeyID == "" || key.APIKey == "" || strings.Join(key.Permissions, ",") != "users:delete" {
		t.Fatalf("apikey create: %+v", key)
	}
	var e map[string]any
	if code := postJSON(t, s.url+"/v2/sessionmgt/verifyaccesstoken", key.APIKey, map[string]string{"accessToken": "x.y.z"}, &e); code != http.StatusForbidden || e["error"] != "insufficient_permissions" {
		t.Fatalf("users:delete key on verify: %d %v, want 403 insufficient_permissions", code, e)
	}
	if code := postJSON(t, s.url+"/v2/sessionmgt/deleteuser", key.APIKey, map[string]any{"email": "nobody@example.com", "userPoolId": p.UserPoolID, "reason": "test"}, &e); code != http.StatusNotFound {
		t.Fatalf("users:delete key on deleteuser: %d %v, want 404 for an unknown user (key accepted)", code, e)
	}

	// keys rotate on the data dir: the running server's JWKS shows both keys within 6 s.
	if n, _ := jwksCount(t, s.url, p.UserPoolID, 1, ""); n != 1 {
		t.Fatalf("new pool JWKS has %d keys", n)
	}
	var rot struct {
		Kid string `json:"kid"`
	}
	runJSON(t, env, &rot, append([]string{"keys", "rotate", "--pool", p.UserPoolID}, local...)...)
	if rot.Kid == "" {
		t.Fatalf("keys rotate printed no kid")
	}
	if n, kids := jwksCount(t, s.url, p.UserPoolID, 2, rot.Kid); n != 2 {
		t.Fatalf("JWKS after a CLI rotation: %v, want 2 keys including %s within 6 s", kids, rot.Kid)
	}

	// The same commands through the admin API.
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	remote := []string{"--server", s.url, "--admin-token", strings.TrimSpace(string(tok)), "--json"}
	var rp projectJSON
	runJSON(t, env, &rp, append([]string{"project", "create", "--name", "Remote Demo", "--env", "sandbox", "--callback-url", "https://app.example/cb"}, remote...)...)
	checkProject(t, rp, s.url)
	if code := postJSON(t, s.url+"/v2/sessionmgt/verifyaccesstoken", rp.APIKey, map[string]string{"accessToken": "x.y.z"}, nil); code != http.StatusOK {
		t.Fatalf("verify with the remotely created key: %d", code)
	}
	runJSON(t, env, &key, append([]string{"apikey", "create", "--project", rp.ProjectID, "--permissions", "users:delete,session:read"}, remote...)...)
	if key.APIKey == "" || strings.Join(key.Permissions, ",") != "users:delete,session:read" {
		t.Fatalf("remote apikey create: %+v", key)
	}
	if code := postJSON(t, s.url+"/v2/sessionmgt/verifyaccesstoken", key.APIKey, map[string]string{"accessToken": "x.y.z"}, nil); code != http.StatusOK {
		t.Fatalf("verify with the remote users:delete,session:read key: %d", code)
	}
	runJSON(t, env, &rot, append([]string{"keys", "rotate", "--pool", rp.UserPoolID}, remote...)...)
	if n, kids := jwksCount(t, s.url, rp.UserPoolID, 2, rot.Kid); n != 2 {
		t.Fatalf("JWKS after a remote rotation: %v", kids)
	}

	// A wrong admin token is refused with a message.
	_, stderr, err := run(t, env, "keys", "rotate", "--pool", rp.UserPoolID, "--server", s.url, "--admin-token", strings.Repeat("x", 40))
	if err == nil || !strings.Contains(stderr, "unauthorized") {
		t.Fatalf("wrong admin token: err %v, stderr %q", err, stderr)
	}
	// Revoke the local key through the CLI: the server refuses it at once.
	if _, stderr, err := run(t, env, "apikey", "revoke", p.APIKeyID, "--data-dir", data); err != nil {
		t.Fatalf("apikey revoke: %v %s", err, stderr)
	}
	if code := postJSON(t, s.url+"/v2/sessionmgt/verifyaccesstoken", p.APIKey, map[string]string{"accessToken": "x.y.z"}, nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d, want 401", code)
	}
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	s := startServe(t, addr, cleanEnv(), "--data-dir", filepath.Join(t.TempDir(), "d"), "--addr", addr)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", err, s.stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after SIGTERM\n%s", s.stderr.String())
	}
	if _, err := http.Get(s.url + "/healthz"); err == nil {
		t.Fatal("still answering after exit")
	}
}

func TestEnvAddr(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	data := filepath.Join(t.TempDir(), "d")
	s := startServe(t, addr, cleanEnv("IDGATE_ADDR="+addr, "IDGATE_DATA_DIR="+data))
	if code := getJSON(t, s.url+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("/healthz on IDGATE_ADDR: %d", code)
	}
	if _, err := os.Stat(filepath.Join(data, "idgate.db")); err != nil {
		t.Fatalf("IDGATE_DATA_DIR not used: %v", err)
	}
	// The default public URL follows the address.
	var disc map[string]any
	var p projectJSON
	runJSON(t, cleanEnv("IDGATE_ADDR="+addr, "IDGATE_DATA_DIR="+data), &p, "project", "create", "--name", "Env", "--callback-url", "https://app.example/cb", "--json")
	if code := getJSON(t, s.url+"/"+p.UserPoolID+"/.well-known/openid-configuration", &disc); code != http.StatusOK || disc["issuer"] != "http://"+addr+"/"+p.UserPoolID {
		t.Fatalf("discovery %d %v, want issuer http://%s/%s", code, disc["issuer"], addr, p.UserPoolID)
	}
}

func TestBadFlagValue(t *testing.T) {
	t.Parallel()
	cases := [][]string{
		{"serve", "--log-level", "loud"},
		{"serve", "--addr", "nonsense"},
		{"serve", "--public-url", "ftp://x"},
	}
	for _, args := range cases {
		data := filepath.Join(t.TempDir(), "d")
		_, stderr, err := run(t, cleanEnv(), append(args, "--data-dir", data)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("idgate %v: err %v, want a non-zero exit", args, err)
		}
		name := strings.TrimPrefix(args[1], "--")
		if !strings.Contains(stderr, name) {
			t.Errorf("idgate %v: message %q does not name %s", args, stderr, name)
		}
	}
	_, stderr, err := run(t, cleanEnv("IDGATE_LOG_LEVEL=loud"), "serve", "--data-dir", filepath.Join(t.TempDir(), "d"))
	if err == nil || !strings.Contains(stderr, "log-level") {
		t.Errorf("IDGATE_LOG_LEVEL=loud: err %v, stderr %q", err, stderr)
	}
}

// specFlags are the settings SPEC §8 requires `idgate --help` to document.
var specFlags = []string{"--data-dir", "--addr", "--public-url", "--database-url", "--smtp-url", "IDGATE_MASTER_KEY",
	"IDGATE_DATA_DIR", "IDGATE_ADDR", "IDGATE_PUBLIC_URL", "IDGATE_DATABASE_URL", "IDGATE_SMTP_URL"}

func TestRootHelpDocumentsConfiguration(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := run(t, cleanEnv(), "--help")
	if err != nil {
		t.Fatalf("idgate --help: %v %s", err, stderr)
	}
	help := stdout + stderr
	for _, f := range specFlags {
		if !strings.Contains(help, f) {
			t.Errorf("`idgate --help` does not mention %s", f)
		}
	}
}

func TestServeHelpDocumentsConfiguration(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := run(t, cleanEnv(), "serve", "--help")
	if err != nil {
		t.Fatalf("idgate serve --help: %v %s", err, stderr)
	}
	for _, f := range specFlags {
		if !strings.Contains(stdout+stderr, f) {
			t.Errorf("`idgate serve --help` does not mention %s", f)
		}
	}
}

// TestSIGTERMRightAfterReady sends SIGTERM the moment /readyz first answers
// 200 (polling without pause), several times: a server that reports ready
// must stop cleanly (status 0) whenever the signal comes, not fail because
// some start-up step was still running on the cancelled context.
func TestSIGTERMRightAfterReady(t *testing.T) {
	t.Parallel()
	for i := 0; i < 5; i++ {
		addr := freeAddr(t)
		var out syncBuffer
		cmd := exec.Command(binary, "serve", "--data-dir", filepath.Join(t.TempDir(), "d"), "--addr", addr)
		cmd.Env = cleanEnv()
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		client := &http.Client{Timeout: time.Second}
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := client.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("not ready after 60 s:\n%s", out.String())
			}
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("attempt %d: exit after SIGTERM right after ready: %v, want status 0\n%s", i, err, out.String())
			}
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("attempt %d: still running 5 s after SIGTERM\n%s", i, out.String())
		}
	}
}
