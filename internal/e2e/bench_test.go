package e2e

import (
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/idgate/idgate/internal/bench"
)

// TestBenchCommand runs `idgate bench` briefly against a node, once with
// its own sandbox project and once as users made by `idgate bench seed`,
// and checks every operation completed requests without errors.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	needBinary(t)
	dir := t.TempDir()
	seed := exec.Command(binary, "bench", "seed", "--data-dir", dir, "--master-key", masterKey, "--users", "40", "--sessions-per-user", "2")
	out, err := seed.Output()
	if err != nil {
		t.Fatalf("bench seed: %v", err)
	}
	var creds bench.Credentials
	if err := json.Unmarshal(out, &creds); err != nil || creds.APIKey == "" || creds.ClientSecret == "" {
		t.Fatalf("bench seed printed %q: %v", out, err)
	}
	n := startNode(t, nodeConfig{dataDir: dir})

	run := func(ops string, args ...string) bench.Report {
		t.Helper()
		base := []string{"bench", "--url", n.url, "--op", ops, "--concurrency", "2", "--duration", "300ms",
			"--warmup", "0s", "--sessions", "2", "--forwarded-for", "--json", "--quiet"}
		cmd := exec.Command(binary, append(base, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bench %v: %v", args, err)
		}
		var r bench.Report
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("bench --json printed %q: %v", out, err)
		}
		return r
	}
	check := func(r bench.Report, want ...string) {
		t.Helper()
		if len(r.Results) != len(want) {
			t.Fatalf("results %+v, want operations %v", r.Results, want)
		}
		for i, res := range r.Results {
			if res.Operation != want[i] || res.Requests == 0 || res.Errors != 0 || res.Concurrency != 2 {
				t.Errorf("result %d: %+v (errors %v), want %s with requests and no errors", i, res, res.ErrorKinds, want[i])
			}
		}
	}
	check(run("baseline,verify,userinfo,refresh,mixed,code", "--admin-token", adminToken, "--alg", "EdDSA"),
		"baseline", "verify", "userinfo", "refresh", "code", "mixed")
	check(run("login,verify", "--api-key", creds.APIKey, "--client-id", creds.ClientID, "--client-secret", creds.ClientSecret,
		"--seeded-users", "40"), "verify", "login")
}
