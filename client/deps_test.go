package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the SDK importable without the server: its
// import graph (tests excluded) must not reach idgate's internal packages
// or the server's drivers and frameworks.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{"github.com/idgate/idgate/internal", "modernc.org", "github.com/jackc", "github.com/spf13", "github.com/wneessen"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("the SDK depends on %s", pkg)
			}
		}
	}
	if !strings.Contains(string(out), "github.com/go-jose/go-jose/v4") {
		t.Error("go list output does not look like a dependency list")
	}
}
