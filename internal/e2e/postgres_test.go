package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMultiNodeRevocation runs three idgate nodes on one PostgreSQL
// database: a session revoked through one node fails verification and
// refresh on the others at once, and a global sign-out does the same for
// every session of the user.
func TestMultiNodeRevocation(t *testing.T) {
	t.Parallel()
	dbURL := newSchema(t)
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = startNode(t, nodeConfig{dataDir: t.TempDir(), databaseURL: dbURL})
	}
	sb := newSandbox(t, nodes[0], 2)
	cB, _ := sb.on(nodes[1])
	ctx := context.Background()
	signIn := func(email string) (string, string) {
		tk, err := cB.SignIn(ctx, email, password) // sessions are made on node 1
		if err != nil {
			t.Fatal(err)
		}
		return tk.AccessToken, tk.RefreshToken
	}
	s1, r1 := signIn(sb.users[0])
	s2, _ := signIn(sb.users[0])
	other, _ := signIn(sb.users[1])
	apis := make([]*api, len(nodes))
	for i, n := range nodes {
		_, apis[i] = sb.on(n)
		for _, tok := range []string{s1, s2, other} {
			if v := apis[i].mustVerify(t, tok); !v.Active {
				t.Fatalf("node %d: a fresh token verifies as %+v", i, v)
			}
		}
	}

	// One session, revoked through node 0.
	if status, err := apis[0].post(ctx, "revokeaccesstoken", map[string]string{"accessToken": s1, "scope": "session"}, nil); err != nil || status != http.StatusOK {
		t.Fatalf("revoke on node 0: %d %v", status, err)
	}
	for i := 1; i < len(nodes); i++ {
		if v := apis[i].mustVerify(t, s1); v.Active || !v.Revoked {
			t.Errorf("node %d: the session revoked on node 0 verifies as %+v", i, v)
		}
		if v := apis[i].mustVerify(t, s2); !v.Active {
			t.Errorf("node %d: the user's other session verifies as %+v after a session-scoped revocation", i, v)
		}
		var e struct{ Error string }
		if status, _ := apis[i].post(ctx, "refreshaccesstoken", refreshBody(sb.creds, r1), &e); status != http.StatusBadRequest || e.Error != "invalid_grant" {
			t.Errorf("node %d: refresh of the revoked session: %d %q, want 400 invalid_grant", i, status, e.Error)
		}
	}

	// Global sign-out through node 2 ends the user's remaining session
	// everywhere, and only that user's.
	if status, err := apis[2].post(ctx, "revokeaccesstoken", map[string]string{"accessToken": s2}, nil); err != nil || status != http.StatusOK {
		t.Fatalf("global sign-out on node 2: %d %v", status, err)
	}
	for i := range 2 {
		if v := apis[i].mustVerify(t, s2); v.Active || !v.Revoked {
			t.Errorf("node %d: a session ended by a global sign-out on node 2 verifies as %+v", i, v)
		}
		if v := apis[i].mustVerify(t, other); !v.Active {
			t.Errorf("node %d: another user's session verifies as %+v after the global sign-out", i, v)
		}
	}
}

// TestPostgresOutage stops the local PostgreSQL server while a node serves
// verifications: the node answers 503 unavailable (never a 500) while the
// database is down and recovers by itself once it is back. It stops the
// shared server, so it runs only with IDGATE_TEST_PG_RESTART=1 (cluster
// IDGATE_TEST_PG_CLUSTER, default "15 main", managed with pg_ctlcluster).
func TestPostgresOutage(t *testing.T) {
	if os.Getenv("IDGATE_TEST_PG_RESTART") != "1" {
		t.Skip("set IDGATE_TEST_PG_RESTART=1 to let this test stop and start the local PostgreSQL server")
	}
	dbURL := newSchema(t)
	cluster := strings.Fields(os.Getenv("IDGATE_TEST_PG_CLUSTER"))
	if len(cluster) != 2 {
		cluster = []string{"15", "main"}
	}
	pgctl := func(action string) {
		out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", cluster[0], cluster[1], action).CombinedOutput()
		if err != nil {
			t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
		}
	}
	n := startNode(t, nodeConfig{dataDir: t.TempDir(), databaseURL: dbURL})
	sb := newSandbox(t, n, 1)
	tok := sb.signIn(t, sb.users[0]).AccessToken

	// Verifiers run throughout and tally the answers.
	var ok, unavailable, other atomic.Int64
	var otherMu sync.Mutex
	var others []string
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				var v struct {
					Active bool   `json:"active"`
					Error  string `json:"error"`
				}
				status, err := sb.api.post(ctx, "verifyaccesstoken", map[string]string{"accessToken": tok}, &v)
				switch {
				case ctx.Err() != nil:
				case err == nil && status == http.StatusOK && v.Active:
					ok.Add(1)
				case err == nil && status == http.StatusServiceUnavailable && v.Error == "unavailable":
					unavailable.Add(1)
				default:
					other.Add(1)
					otherMu.Lock()
					others = append(others, http.StatusText(status)+" "+v.Error)
					otherMu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(300 * time.Millisecond)

	pgctl("stop")
	stopped := true
	t.Cleanup(func() {
		if stopped {
			pgctl("start")
		}
	})
	waitFor(t, 10*time.Second, "503 unavailable while PostgreSQL is down", func() bool { return unavailable.Load() > 0 })
	resp, err := http.Get(n.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz while PostgreSQL is down: %d, want 503", resp.StatusCode)
	}
	pgctl("start")
	stopped = false
	before := ok.Load()
	waitFor(t, 30*time.Second, "verifications to succeed again after PostgreSQL restarted", func() bool { return ok.Load() > before+20 })
	if other.Load() > 0 {
		otherMu.Lock()
		t.Errorf("%d answers were neither 200 nor 503 unavailable: %q", other.Load(), others[:min(len(others), 5)])
		otherMu.Unlock()
	}
	t.Logf("answers: %d ok, %d unavailable", ok.Load(), unavailable.Load())
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
